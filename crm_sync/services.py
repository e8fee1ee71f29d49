"""Writes of the CRM mirror: saving a tenant's CRM connection and testing it, and its field mappings."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm_sync import registry
from crm_sync.client import CRMError, with_fresh_session
from crm_sync.models import AuthFlow, CRMConnection, Direction, FieldMapping
from prm.models import Tenant, User
from prm.tenancy import tenant_scope

# Every mirrored object must have the external-ID field holding the portal's id; the connection test checks
# these objects, and every object the tenant's field mappings name, with describe.
EXTERNAL_ID_FIELD = "PRM_External_Id__c"
REQUIRED_OBJECTS = ("Account", "Contact")


def crm_connection_apply(
    *, connection: CRMConnection, client_secret: str | None = None, password: str | None = None
) -> None:
    """Put new secrets (encrypted) on the connection and validate it; writes nothing.

    A secret of None or "" keeps the stored one. Raises ValidationError for a row that cannot work, and
    ImproperlyConfigured when a secret is given but PRM_CRM_ENCRYPTION_KEYS holds no key.
    """
    if client_secret:
        connection.client_secret = client_secret
    if password:
        connection.password = password
    errors: dict[str, list[str]] = {}
    if connection.auth_flow == AuthFlow.CLIENT_CREDENTIALS:
        if not connection.client_id:
            errors["client_id"] = [_("Client credentials need the connected app's client ID.")]
        if not connection.client_secret_encrypted:
            errors["client_secret"] = [_("Client credentials need the connected app's client secret.")]
    if connection.auth_flow == AuthFlow.PASSWORD:
        if not connection.username:
            errors["username"] = [_("Sign-in with username and password needs a username.")]
        if not connection.password_encrypted:
            errors["password"] = [_("Sign-in with username and password needs a password.")]
    try:
        connection.full_clean(exclude=["tenant"])
    except ValidationError as invalid:
        for name, messages in invalid.message_dict.items():
            errors.setdefault(name, []).extend(messages)
    if errors:
        raise ValidationError(errors)


def crm_connection_save(
    *,
    connection: CRMConnection,
    acting_user: User | None,
    client_secret: str | None = None,
    password: str | None = None,
) -> CRMConnection:
    """Validate and save a new or changed connection of the scope's tenant (see crm_connection_apply).

    Secrets are encrypted before anything is written, so a missing key saves nothing.
    """
    crm_connection_apply(connection=connection, client_secret=client_secret, password=password)
    with transaction.atomic():
        connection.save()
        mapping_defaults_ensure(connection.tenant)
    return connection


def mapping_defaults_ensure(tenant: Tenant) -> None:
    """Give `tenant` the registry's default field mappings of every mirrored object it has none of yet.

    An object the tenant has edited mappings of (even down to none left but one) is left as it is.
    """
    with tenant_scope(tenant), transaction.atomic():
        mapped = set(FieldMapping.objects.values_list("object_key", flat=True).distinct())
        FieldMapping.objects.bulk_create(
            FieldMapping(
                tenant=tenant,
                object_key=declared.key,
                portal_field=portal,
                crm_field=crm,
                direction=declared.directions.get(crm, Direction.TO_CRM),
            )
            for declared in registry.mirrors()
            if declared.key not in mapped
            for portal, crm in declared.fields.items()
        )


def mappings_for(tenant: Tenant, key: str) -> list[FieldMapping]:
    """The tenant's field mappings of mirrored object `key`, its defaults created on first use."""
    registry.get(key)  # KeyError for an object nobody mirrors
    mapping_defaults_ensure(tenant)
    with tenant_scope(tenant):
        return list(FieldMapping.objects.filter(object_key=key))


@dataclass
class ConnectionTestResult:
    """What a connection test found: ok, and the messages to show, in order."""

    ok: bool
    messages: list[str] = field(default_factory=list)


def crm_connection_test(*, connection: CRMConnection, acting_user: User | None) -> ConnectionTestResult:
    """Sign in, read the API limits, check the required objects and fields; record the outcome on the row."""
    messages: list[str] = []

    mapping_defaults_ensure(connection.tenant)
    with tenant_scope(connection.tenant):
        mappings = list(FieldMapping.objects.order_by("object_key", "crm_field"))
    by_object: dict[str, list[FieldMapping]] = {}
    for mapping in mappings:
        try:
            crm_object = registry.get(mapping.object_key).crm_object
        except KeyError:
            continue
        by_object.setdefault(crm_object, []).append(mapping)

    def check(sf) -> tuple[int, int]:
        limits = sf.limits()["DailyApiRequests"]
        used, limit = limits["Max"] - limits["Remaining"], limits["Max"]
        for name in dict.fromkeys([*REQUIRED_OBJECTS, *by_object]):
            fields = {f["name"]: f for f in getattr(sf, name).describe()["fields"]}
            # Describe-based validation: every mapped field exists, and the ones the portal writes are
            # writable, so a mapping mistake shows here rather than as dead letters later.
            for mapping in by_object.get(name, []):
                described = fields.get(mapping.crm_field)
                if described is None:
                    messages.append(
                        _("The mapping %(object)s.%(field)s names a field the CRM does not have.")
                        % {"object": name, "field": mapping.crm_field}
                    )
                elif mapping.direction != Direction.FROM_CRM and not (
                    described.get("createable") and described.get("updateable")
                ):
                    messages.append(
                        _("The mapping %(object)s.%(field)s sends to a field the CRM does not let us write.")
                        % {"object": name, "field": mapping.crm_field}
                    )
            external_id = fields.get(EXTERNAL_ID_FIELD)
            if external_id is None:
                messages.append(
                    _("%(object)s has no field %(field)s.") % {"object": name, "field": EXTERNAL_ID_FIELD}
                )
            elif not external_id.get("externalId"):
                messages.append(
                    _("%(object)s.%(field)s is not marked as an External ID.")
                    % {"object": name, "field": EXTERNAL_ID_FIELD}
                )
        connection.instance_url = sf.base_url.split("/services/")[0]
        return used, limit

    now = timezone.now()
    connection.last_checked_at = now
    try:
        used, limit = with_fresh_session(connection, check)
    except CRMError as failure:
        messages.insert(0, str(failure))
    else:
        connection.api_usage, connection.api_limit = used, limit
    ok = not messages
    connection.last_error = "" if ok else " ".join(messages)
    if ok:
        connection.last_success_at = now
        messages.append(
            _("Connected to %(url)s: %(used)s of %(limit)s daily API requests used; %(objects)s are ready.")
            % {
                "url": connection.instance_url,
                "used": connection.api_usage,
                "limit": connection.api_limit,
                "objects": ", ".join(REQUIRED_OBJECTS),
            }
        )
    connection.save(
        update_fields=[
            "last_checked_at",
            "last_success_at",
            "last_error",
            "api_usage",
            "api_limit",
            "instance_url",
            "updated_at",
        ]
    )
    return ConnectionTestResult(ok=ok, messages=messages)
