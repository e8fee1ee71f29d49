"""PostgreSQL row-level security under the ORM's tenant scoping: defense in depth.

Every table of a `TenantOwnedModel` gets a policy that, while a tenant is set on the connection
(`prm.tenant_id`, set by `tenant_scope`), shows and accepts that tenant's rows only. So raw SQL, the unscoped
base manager Django uses for related objects, and bugs in Python still cannot cross tenants inside a request
or task. With no tenant set (platform admin, migrations, commands before they enter a scope) the policy
lets rows through: the fail-closed default there is the scoped manager's, which refuses to query at all.

PostgreSQL skips row-level security for superusers and roles with BYPASSRLS, so the application must
connect as an ordinary role (the embedded server's `prm`); `manage.py check --database default` warns
otherwise. Policies are (re)applied after every `migrate`, so a new tenant-owned model is covered without
anyone remembering to.
"""

from __future__ import annotations

from django.apps import apps
from django.core import checks
from django.db import connections

SETTING = "prm.tenant_id"
POLICY = "prm_tenant_isolation"
_VISIBLE = (
    f"coalesce(current_setting('{SETTING}', true), '') = '' "
    f"OR tenant_id = nullif(current_setting('{SETTING}', true), '')::bigint"
)


def tenant_owned_tables() -> list[str]:
    """Tables of every concrete model with the tenant column of TenantOwnedModel."""
    from prm.tenancy import TenantOwnedModel

    return sorted(
        model._meta.db_table
        for model in apps.get_models()
        if issubclass(model, TenantOwnedModel) and not model._meta.proxy and model._meta.managed
    )


def apply_policies(using: str = "default") -> list[str]:
    """Enable, force and (re)create the isolation policy on every tenant-owned table; returns the tables."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return []
    tables = tenant_owned_tables()
    with connection.cursor() as cursor:
        for table in tables:
            name = connection.ops.quote_name(table)
            # FORCE: the table's owner (the application's own role) is held to the policy too.
            cursor.execute(f"ALTER TABLE {name} ENABLE ROW LEVEL SECURITY")
            cursor.execute(f"ALTER TABLE {name} FORCE ROW LEVEL SECURITY")
            cursor.execute(f"DROP POLICY IF EXISTS {POLICY} ON {name}")
            cursor.execute(f"CREATE POLICY {POLICY} ON {name} USING ({_VISIBLE}) WITH CHECK ({_VISIBLE})")
    return tables


def apply_policies_after_migrate(sender, using="default", **kwargs) -> None:
    apply_policies(using)


def set_connection_tenant(tenant_id: int | None, using: str = "default") -> None:
    """Tell PostgreSQL which tenant this connection works for (None: no tenant)."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    value = "" if tenant_id is None else str(tenant_id)
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config(%s, %s, false)", [SETTING, value])


def on_connection_created(sender, connection, **kwargs) -> None:
    # A connection opened inside a scope (the first query of a request, a reconnect) starts with no tenant.
    from prm.tenancy import current_tenant

    tenant = current_tenant()
    if tenant is not None and connection.vendor == "postgresql" and connection.alias == "default":
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config(%s, %s, false)", [SETTING, str(tenant.pk)])


@checks.register(checks.Tags.database)
def check_role_is_held_to_policies(app_configs, databases=None, **kwargs):
    if not databases or "default" not in databases:
        return []
    connection = connections["default"]
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user")
        row = cursor.fetchone()
    if row and row[0]:
        return [
            checks.Warning(
                "The database role is a superuser or has BYPASSRLS: PostgreSQL row-level security, the "
                "second wall between tenants, is not enforced for it.",
                hint="Connect as an ordinary role that owns the tables (see prm/rls.py).",
                id="prm.W001",
            )
        ]
    return []
