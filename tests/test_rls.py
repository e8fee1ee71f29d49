"""The second wall: row-level security keeps a scope's SQL inside its tenant, whatever the ORM does.

PostgreSQL lets superusers through every policy. When the tests connect as one (DATABASE_URL of a
machine's own server), these tests step down to an ordinary role for the transaction, as the application's
own role is in the demo and in production.
"""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from partners.models import Partner
from prm import rls
from prm.tenancy import tenant_scope, unscoped_across_tenants

PROBE_ROLE = "prm_rls_probe"


@pytest.fixture
def ordinary_role(db):
    """Run the test's SQL as a role that row-level security applies to."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user")
        exempt = cursor.fetchone()[0]
        if exempt:
            # Roles are cluster-wide and parallel test processes share the cluster: create it at most once.
            cursor.execute(
                f"""DO $$ BEGIN CREATE ROLE {PROBE_ROLE} NOLOGIN;
                EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"""
            )
            for table in rls.tenant_owned_tables():
                cursor.execute(f'GRANT SELECT, INSERT, UPDATE, DELETE ON "{table}" TO {PROBE_ROLE}')
            cursor.execute("GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO " + PROBE_ROLE)
            cursor.execute(f"SET LOCAL ROLE {PROBE_ROLE}")
    yield
    if exempt:
        with connection.cursor() as cursor:
            cursor.execute("RESET ROLE")


def names(sql: str, params=()) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return sorted(row[0] for row in cursor.fetchall())


def test_every_tenant_owned_table_has_the_policy_forced(db):
    tables = rls.tenant_owned_tables()
    assert "partners_partner" in tables and "prm_membership" in tables
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT c.relname FROM pg_class c
               WHERE c.relname = ANY(%s) AND c.relrowsecurity AND c.relforcerowsecurity
                 AND EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid AND p.polname = %s)""",
            [tables, rls.POLICY],
        )
        covered = {row[0] for row in cursor.fetchall()}
    assert covered == set(tables)


def test_raw_sql_in_a_scope_reads_only_its_tenants_rows(cast, ordinary_role):
    with tenant_scope(cast.tenant):
        assert names("SELECT name FROM partners_partner") == sorted(
            [cast.acme.partner.name, cast.acme.other_partner.name]
        )
    with tenant_scope(cast.globex.tenant):
        assert cast.acme.partner.name not in names("SELECT name FROM partners_partner")


def test_the_unscoped_base_manager_cannot_reach_another_tenant_in_a_scope(cast, ordinary_role):
    with tenant_scope(cast.tenant):
        assert not Partner._base_manager.filter(pk=cast.globex.partner.pk).exists()
        assert Partner._base_manager.filter(pk=cast.acme.partner.pk).exists()


def test_raw_sql_in_a_scope_cannot_write_into_another_tenant(cast, ordinary_role):
    globex_partner = cast.globex.partner
    with tenant_scope(cast.tenant):
        with connection.cursor() as cursor:
            cursor.execute("UPDATE partners_partner SET name = 'gone' WHERE id = %s", [globex_partner.pk])
            assert cursor.rowcount == 0
        with pytest.raises(DatabaseError, match="row-level security"):
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    "UPDATE partners_partner SET tenant_id = %s WHERE id = %s",
                    [globex_partner.tenant_id, cast.acme.partner.pk],
                )
    with unscoped_across_tenants():
        assert names("SELECT name FROM partners_partner WHERE id = %s", [globex_partner.pk]) == [
            globex_partner.name
        ]


def test_leaving_a_scope_clears_the_connections_tenant(cast, ordinary_role):
    with tenant_scope(cast.tenant):
        pass
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting(%s, true)", [rls.SETTING])
        assert cursor.fetchone()[0] == ""
    with tenant_scope(cast.tenant), tenant_scope(cast.globex.tenant):
        pass
    with tenant_scope(cast.tenant):
        with tenant_scope(cast.globex.tenant):
            pass
        # Back in the outer scope: acme's rows again.
        assert cast.acme.partner.name in names("SELECT name FROM partners_partner")
