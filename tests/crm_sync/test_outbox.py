"""The transactional outbox: database triggers record every change of a mirrored record in its transaction."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from crm_sync.models import OutboxEntry, OutboxState
from partners.models import Partner, PartnerMembership, Stage
from prm.tenancy import ScopeError, tenant_scope, unscoped_across_tenants
from tests.factories import PartnerFactory
from tests.test_rls import ordinary_role  # noqa: F401

PARTNER = "partners.partner"
MEMBER = "partners.partnermembership"


@pytest.fixture
def cast_without_outbox(cast):
    """The cast, with the outbox rows its creation wrote cleared."""
    with unscoped_across_tenants():
        OutboxEntry.objects.all().delete()
    return cast


def rows(key: str = PARTNER, record_id: int | None = None, **filters) -> list[OutboxEntry]:
    with unscoped_across_tenants():
        entries = OutboxEntry.objects.filter(object_key=key, **filters)
        if record_id is not None:
            entries = entries.filter(record_id=record_id)
        return list(entries)


class Rollback(Exception):
    pass


def test_saving_a_partner_writes_one_pending_row_in_the_same_transaction(cast_without_outbox):
    partner = cast_without_outbox.acme.partner
    with tenant_scope(partner.tenant):
        with pytest.raises(Rollback), transaction.atomic():
            partner.name = "Rolled back"
            partner.save()
            assert len(rows(record_id=partner.pk)) == 1
            raise Rollback
        assert rows(record_id=partner.pk) == []

        partner.name = "Northwind Renamed"
        partner.save()
    [entry] = rows(record_id=partner.pk)
    assert entry.state == OutboxState.PENDING
    assert entry.attempts == 0
    assert entry.tenant_id == partner.tenant_id
    assert entry.sent_at is None


def test_creating_a_partner_is_captured(cast_without_outbox):
    partner = PartnerFactory(tenant=cast_without_outbox.tenant)
    assert [e.state for e in rows(record_id=partner.pk)] == [OutboxState.PENDING]


def test_a_burst_of_edits_coalesces_into_one_pending_row(cast_without_outbox):
    partner = cast_without_outbox.acme.partner
    with tenant_scope(partner.tenant):
        for n in range(50):
            partner.name = f"Northwind {n}"
            partner.save()
    [entry] = rows(record_id=partner.pk)
    assert entry.state == OutboxState.PENDING
    assert entry.changed_at >= entry.created_at


def test_a_bulk_update_is_captured_row_by_row(cast_without_outbox):
    tenant = cast_without_outbox.tenant
    partners = PartnerFactory.create_batch(30, tenant=tenant, stage=Stage.ACTIVE)
    with unscoped_across_tenants():
        OutboxEntry.objects.all().delete()
    ids = [p.pk for p in partners]
    with tenant_scope(tenant):
        assert Partner.objects.filter(pk__in=ids).update(stage=Stage.DORMANT) == 30
    captured = rows()
    assert sorted(e.record_id for e in captured) == sorted(ids)
    assert {e.state for e in captured} == {OutboxState.PENDING}


def test_raw_sql_is_captured(cast_without_outbox):
    partner = cast_without_outbox.acme.partner
    with tenant_scope(partner.tenant), connection.cursor() as cursor:
        cursor.execute("UPDATE partners_partner SET name = 'Raw' WHERE id = %s", [partner.pk])
    assert len(rows(record_id=partner.pk)) == 1


def test_a_partner_membership_change_is_captured_under_its_own_key(cast_without_outbox):
    acme = cast_without_outbox.acme
    with tenant_scope(acme.tenant):
        member = PartnerMembership.objects.get(membership__user=acme.partner_user)
        member.title = "CTO"
        member.save()
    [entry] = rows(MEMBER)
    assert entry.record_id == member.pk
    assert entry.tenant_id == acme.tenant.pk
    assert rows(PARTNER) == []


def test_a_delete_is_captured(cast_without_outbox):
    partner = PartnerFactory(tenant=cast_without_outbox.tenant)
    partner_id = partner.pk
    with unscoped_across_tenants():
        OutboxEntry.objects.all().delete()
    with tenant_scope(partner.tenant):
        partner.delete()
    assert [e.record_id for e in rows()] == [partner_id]


def test_rows_carry_the_records_tenant_and_each_tenant_sees_only_its_own(cast_without_outbox):
    acme, globex = cast_without_outbox.acme, cast_without_outbox.globex
    # Outside any scope, a bulk update across both tenants.
    with unscoped_across_tenants():
        Partner.objects.filter(pk__in=[acme.partner.pk, globex.partner.pk]).update(country="FR")
    by_record = {e.record_id: e.tenant_id for e in rows()}
    assert by_record == {acme.partner.pk: acme.tenant.pk, globex.partner.pk: globex.tenant.pk}

    for tc in (acme, globex):
        with tenant_scope(tc.tenant):
            assert [e.record_id for e in OutboxEntry.objects.all()] == [tc.partner.pk]
    with pytest.raises(ScopeError):
        list(OutboxEntry.objects.all())


def test_a_new_edit_after_the_row_left_pending_makes_a_new_pending_row(cast_without_outbox):
    partner = cast_without_outbox.acme.partner
    with tenant_scope(partner.tenant):
        partner.save()
        OutboxEntry.objects.filter(record_id=partner.pk).update(state=OutboxState.SENT)
        partner.name = "Northwind Again"
        partner.save()
        partner.save()
    states = sorted(e.state for e in rows(record_id=partner.pk))
    assert states == [OutboxState.PENDING, OutboxState.SENT]


def test_row_level_security_lets_the_trigger_write_inside_and_outside_a_scope(
    cast_without_outbox,
    ordinary_role,  # noqa: F811
):
    acme, globex = cast_without_outbox.acme, cast_without_outbox.globex
    with tenant_scope(acme.tenant):
        acme.partner.name = "Inside acme"
        acme.partner.save()
        Partner.objects.filter(pk=acme.other_partner.pk).update(stage=Stage.DORMANT)
        assert {e.record_id for e in OutboxEntry.objects.all()} == {acme.partner.pk, acme.other_partner.pk}
    with connection.cursor() as cursor:
        cursor.execute("UPDATE partners_partner SET name = 'Outside' WHERE id = %s", [globex.partner.pk])
    with tenant_scope(globex.tenant):
        assert [e.record_id for e in OutboxEntry.objects.all()] == [globex.partner.pk]
