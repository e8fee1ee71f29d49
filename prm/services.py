"""Writes of the core: tenants and memberships."""

from __future__ import annotations

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext as _

from prm import events, tasks
from prm.models import Membership, Role, Tenant, TenantDomain, User, UserSession
from prm.tenancy import tenant_scope


def user_get_or_invite(*, email: str, full_name: str = "") -> User:
    """The person with this email, created without a password (they sign in by emailed code) if new."""
    email = User.objects.normalize_email(email.strip()).lower()
    try:
        validate_email(email)
    except ValidationError as invalid:
        raise ValidationError({"email": _("Enter a valid email address.")}) from invalid
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        user = User.objects.create_user(email=email, password=None, full_name=full_name)
        EmailAddress.objects.create(user=user, email=email, primary=True, verified=False)
    elif full_name and not user.full_name:
        user.full_name = full_name
        user.save(update_fields=["full_name"])
    return user


@transaction.atomic
def tenant_create(
    *,
    slug: str,
    name: str,
    domain: str | None = None,
    admin_email: str,
    admin_name: str = "",
    acting_user: User | None = None,
    send_invitation: bool = True,
) -> Tenant:
    """Create a tenant with its domain, its default partner types and tiers, and its first tenant admin."""
    domain = (domain or f"{slug}.{settings.PRM_BASE_DOMAIN}").strip().lower()
    tenant_check_available(slug=slug, domain=domain)
    tenant = Tenant(slug=slug, name=name)
    tenant.full_clean()
    domain_row = TenantDomain(tenant=tenant, domain=domain, is_primary=True)
    domain_row.full_clean(exclude=["tenant"])
    if domain == settings.PRM_BASE_DOMAIN:
        raise ValidationError({"domain": _("The platform's base domain cannot belong to a tenant.")})
    tenant.save()
    domain_row.tenant = tenant
    domain_row.save()
    with tenant_scope(tenant):
        events.tenant_created.send(sender=Tenant, tenant=tenant)
        membership_add(
            tenant=tenant,
            email=admin_email,
            full_name=admin_name,
            role=Role.TENANT_ADMIN,
            acting_user=acting_user,
            send_invitation=send_invitation,
        )
    return tenant


@transaction.atomic
def membership_add(
    *,
    tenant: Tenant,
    email: str,
    role: str,
    full_name: str = "",
    acting_user: User | None = None,
    send_invitation: bool = True,
) -> Membership:
    """Give a person (created if new) a role in `tenant`, and email them an invitation on commit."""
    if role not in Role.values:
        raise ValidationError({"role": _("Unknown role %(role)s.") % {"role": role}})
    user = user_get_or_invite(email=email, full_name=full_name)
    if Membership.objects.filter(user=user).exists():
        raise ValidationError(
            {
                "email": _("%(email)s is already a member of %(tenant)s.")
                % {"email": user.email, "tenant": tenant.name}
            }
        )
    membership = Membership.objects.create(tenant=tenant, user=user, role=role)
    if send_invitation:
        invited_by = acting_user.pk if acting_user else None
        transaction.on_commit(
            lambda: tasks.membership_invite_send.delay(tenant.pk, membership.pk, invited_by)
        )
    return membership


@transaction.atomic
def membership_set_role(*, membership: Membership, role: str, acting_user: User | None) -> Membership:
    """Change a member's role."""
    if role not in Role.values:
        raise ValidationError({"role": _("Unknown role %(role)s.") % {"role": role}})
    membership.role = role
    membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def membership_deactivate(*, membership: Membership, acting_user: User | None) -> Membership:
    """Take a member's access away and end their sessions on this deployment."""
    membership.is_active = False
    membership.save(update_fields=["is_active"])
    user_end_sessions(user=membership.user)
    return membership


def user_end_sessions(*, user: User) -> int:
    """End every session `user` holds, on every host; returns how many ended."""
    from django.contrib.sessions.models import Session

    keys = list(UserSession.objects.filter(user=user).values_list("session_key", flat=True))
    ended, _ = Session.objects.filter(session_key__in=keys).delete()
    UserSession.objects.filter(user=user).delete()
    return ended


def tenant_check_available(*, slug: str, domain: str | None = None) -> None:
    """Raise ValidationError, naming the slug and/or the domain, when another tenant already holds them.

    tenant_create's full_clean() checks the same; callers ask first for a message that names the value.
    """
    domain = (domain or f"{slug}.{settings.PRM_BASE_DOMAIN}").strip().lower()  # as tenant_create does
    errors = {}
    if Tenant.objects.filter(slug=slug).exists():
        errors["slug"] = _("A tenant with the slug '%(slug)s' already exists.") % {"slug": slug}
    taken = TenantDomain.objects.select_related("tenant").filter(domain=domain).first()
    if taken is not None:
        errors["domain"] = _("The domain '%(domain)s' already belongs to the tenant '%(tenant)s'.") % {
            "domain": domain,
            "tenant": taken.tenant.slug,
        }
    if errors:
        raise ValidationError(errors)


TENANT_SETTINGS = frozenset(
    {"name", "primary_color", "logo", "default_language", "time_zone", "currency", "require_mfa_for_staff"}
)


@transaction.atomic
def tenant_update(*, tenant: Tenant, acting_user: User | None, **changes) -> Tenant:
    """Change a tenant's name, branding or regional settings (the fields in TENANT_SETTINGS), validated."""
    unknown = set(changes) - TENANT_SETTINGS
    if unknown:
        raise TypeError(f"tenant_update() cannot change {', '.join(sorted(unknown))}")
    for field, value in changes.items():
        setattr(tenant, field, value)
    tenant.full_clean()
    tenant.save(update_fields=list(changes))
    return tenant
