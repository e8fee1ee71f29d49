"""Deletes in the portal reach the CRM: through the triggers, the drain and the real simple-salesforce client
to the emulator over HTTPS."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection as db
from django.utils import timezone

from crm_sync import inbound, outbox
from crm_sync.models import MirrorLink, OutboxEntry, OutboxState
from dealreg import services
from dealreg.models import AccountSource, CustomerAccount, Deal
from partners.models import Partner, PartnerMembership
from prm.tenancy import tenant_scope, unscoped_across_tenants
from tests.crm_sync.conftest import api_calls
from tests.crm_sync.test_drain import EXT, MEMBER, PARTNER, accounts, acme, add_partners, contacts, make_due
from tests.dealreg.conftest import register

pytestmark = pytest.mark.django_db

__all__ = ["acme"]  # the fixture, shared with test_drain


def drain(cast) -> outbox.DrainResult:
    return outbox.outbox_drain(tenant=cast.tenant)


def deletes(emulator) -> list[dict]:
    return [
        c
        for c in api_calls(emulator)
        if c["method"] == "DELETE" and c["path"].endswith("/composite/sobjects")
    ]


def queries(emulator) -> list[dict]:
    return [c for c in api_calls(emulator) if c["path"].startswith("/services/data/v62.0/query")]


def rows_of(key: str, record_id: int) -> list[OutboxEntry]:
    with unscoped_across_tenants():
        return list(OutboxEntry.objects.filter(object_key=key, record_id=record_id).order_by("id"))


def approved_deal(cast) -> Deal:
    with tenant_scope(cast.tenant):
        deal = register(cast.acme.partner, cast.partner_user)
        return services.deal_approve(deal=deal, acting_user=cast.manager, notify=False)


def opportunities(emulator) -> dict[str, dict]:
    return {record[EXT]: record for record in emulator.records("Opportunity")}


def test_a_partner_member_deleted_in_the_portal_loses_its_crm_contact(cast, acme, emulator, sf):
    drain(cast)
    with tenant_scope(cast.tenant):
        member = PartnerMembership.objects.get(membership__user=cast.partner_user)
        external_id = str(member.membership.public_id)
        crm_id = contacts(emulator)[external_id]["Id"]
        member_id = member.pk
        member.delete()
    emulator.clear_request_log()

    result = drain(cast)

    assert result.sent == 1
    assert external_id not in contacts(emulator)
    assert len(contacts(emulator)) == 3
    assert str(cast.acme.partner.public_id) in accounts(emulator)  # the parent stays
    assert [(e.state, e.external_id) for e in rows_of(MEMBER, member_id)][-1] == (
        OutboxState.SENT,
        external_id,
    )
    assert (len(queries(emulator)), len(deletes(emulator))) == (1, 1)
    # The CRM lists it among its deleted records, as getDeleted does.
    now = timezone.now()
    listed = sf.Contact.deleted(now - timedelta(minutes=5), now + timedelta(minutes=1))["deletedRecords"]
    assert [record["id"] for record in listed] == [crm_id]


def test_a_deal_and_its_customer_account_deleted_in_the_portal_leave_the_crm(cast, acme, emulator):
    deal = approved_deal(cast)
    drain(cast)
    customer = deal.customer
    assert str(deal.public_id) in opportunities(emulator)
    assert str(customer.public_id) in accounts(emulator)

    with tenant_scope(cast.tenant):
        Deal.objects.filter(pk=deal.pk).delete()
        CustomerAccount.objects.filter(pk=customer.pk).delete()
    result = drain(cast)

    assert result.sent == 2
    assert str(deal.public_id) not in opportunities(emulator)
    assert str(customer.public_id) not in accounts(emulator)
    # Children before parents: the Opportunity went first.
    assert [c["object"] for c in deletes(emulator)] == ["Opportunity", "Account"]


def test_deals_never_approved_and_crm_only_accounts_are_not_deleted_in_the_crm(cast, acme, emulator, sf):
    drain(cast)
    crm_account = sf.Account.create({"Name": "Contoso (from the CRM)"})["id"]
    with tenant_scope(cast.tenant):
        submitted = register(cast.acme.partner, cast.partner_user, name="Still submitted")
        copy = CustomerAccount.objects.create(
            tenant=cast.tenant, name="Contoso (from the CRM)", source=AccountSource.CRM, crm_id=crm_account
        )
    drain(cast)
    emulator.clear_request_log()

    with tenant_scope(cast.tenant):
        Deal.objects.filter(pk=submitted.pk).delete()
        CustomerAccount.objects.filter(pk=copy.pk).delete()

    assert [e.external_id for e in rows_of("dealreg.deal", submitted.pk)] == []
    assert all(not e.external_id for e in rows_of("dealreg.customeraccount", copy.pk))
    assert drain(cast).claimed == 0
    assert api_calls(emulator) == []
    assert crm_account in {record["Id"] for record in emulator.records("Account")}


def test_a_record_deleted_before_it_was_ever_sent_sends_nothing_and_ends_sent(cast, acme, emulator):
    drain(cast)
    with tenant_scope(cast.tenant):
        partner = Partner.objects.create(
            tenant=cast.tenant,
            slug="gone",
            name="Gone",
            partner_type=cast.acme.partner.partner_type,
            country="DE",
            region=cast.acme.partner.region,
            stage=cast.acme.partner.stage,
        )
        partner_id = partner.pk
        partner.delete()
    emulator.clear_request_log()

    result = drain(cast)

    assert result.sent == 0
    [entry] = rows_of(PARTNER, partner_id)
    assert (entry.state, entry.last_error) == (OutboxState.SENT, outbox.NOT_IN_CRM_NOTE)
    assert deletes(emulator) == []
    assert len(emulator.records("Account")) == 2


def test_edits_then_a_delete_go_out_as_one_delete(cast, acme, emulator):
    drain(cast)
    partner = cast.acme.other_partner
    with tenant_scope(cast.tenant):
        for name in ("Renamed once", "Renamed twice"):
            partner.name = name
            partner.save()
        PartnerMembership.objects.filter(partner=partner).delete()
        Partner.objects.filter(pk=partner.pk).delete()
    [entry] = [e for e in rows_of(PARTNER, partner.pk) if e.state == OutboxState.PENDING]
    assert entry.external_id == str(partner.public_id)
    emulator.clear_request_log()

    drain(cast)

    calls = api_calls(emulator)
    assert not [c for c in calls if c["method"] == "PATCH"]  # no upsert of the edits
    assert [c["object"] for c in deletes(emulator)] == ["Contact", "Account"]
    assert set(accounts(emulator)) == {str(cast.acme.partner.public_id)}
    assert states_of(cast) == {OutboxState.SENT}


def states_of(cast) -> set[str]:
    with unscoped_across_tenants():
        return set(OutboxEntry.objects.filter(tenant=cast.tenant).values_list("state", flat=True))


def test_a_bulk_delete_of_250_records_takes_two_delete_calls(cast, acme, emulator):
    add_partners(cast.tenant, 250)
    drain(cast)
    assert len(accounts(emulator)) == 252
    with tenant_scope(cast.tenant):
        Partner.objects.filter(slug__startswith="bulk-").delete()
    emulator.clear_request_log()

    drain(cast)

    assert len(deletes(emulator)) <= 2
    assert len(queries(emulator)) <= 2
    assert len(api_calls(emulator)) == len(deletes(emulator)) + len(queries(emulator))
    assert set(accounts(emulator)) == {
        str(cast.acme.partner.public_id),
        str(cast.acme.other_partner.public_id),
    }
    assert states_of(cast) == {OutboxState.SENT}


def test_a_delete_in_raw_sql_is_mirrored_too(cast, acme, emulator):
    add_partners(cast.tenant, 1)
    drain(cast)
    with tenant_scope(cast.tenant), db.cursor() as cursor:
        cursor.execute("DELETE FROM partners_partner WHERE slug = 'bulk-0'")
    drain(cast)
    assert len(accounts(emulator)) == 2


def test_server_errors_during_deletes_are_retried_until_the_crm_matches(cast, acme, emulator):
    add_partners(cast.tenant, 120)
    drain(cast)
    with tenant_scope(cast.tenant):
        Partner.objects.filter(slug__startswith="bulk-").delete()
    emulator.set_faults(error_rate=0.4, lock_rate=0.1, seed=5)
    first = outbox.outbox_drain(tenant=cast.tenant, batch_size=40)
    assert first.retried > 0 or first.halted
    for _round in range(40):
        make_due()
        outbox.outbox_drain(tenant=cast.tenant, batch_size=40)
        if states_of(cast) == {OutboxState.SENT}:
            break
    emulator.clear_faults()

    assert states_of(cast) == {OutboxState.SENT}  # no dead letter: 5xx and locks are transient
    assert len(accounts(emulator)) == 2


def verify_command(cast, *args) -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command("crm_verify", "--tenant", cast.tenant.slug, *args, stdout=out, stderr=io.StringIO())
    except CommandError as failure:
        return failure.returncode, out.getvalue() + str(failure)
    return 0, out.getvalue()


def test_crm_verify_reports_a_record_in_the_crm_only_and_fix_deletes_it(cast, acme, emulator, sf):
    drain(cast)
    orphan = str(uuid.uuid4())
    crm_id = sf.Contact.create({"LastName": "Left Behind", EXT: orphan})["id"]
    sf.Account.create({"Name": "Not mirrored, no external ID"})

    code, output = verify_command(cast)

    assert code == 1
    assert "Contact: 1 in the CRM only (no portal record)" in output
    assert f"{orphan}: CRM record {crm_id}" in output
    assert "Account" not in output  # a CRM record without an external ID is not the portal's

    code, output = verify_command(cast, "--fix")
    assert "1 deleted from the CRM" in output
    assert orphan not in contacts(emulator)
    code, output = verify_command(cast)
    assert code == 0, output


def test_a_delete_still_in_the_outbox_is_in_flight_not_drift(cast, acme, emulator):
    drain(cast)
    with tenant_scope(cast.tenant):
        PartnerMembership.objects.filter(membership__user=cast.partner_user).delete()

    code, output = verify_command(cast, "--object", MEMBER)

    assert code == 0, output
    assert "1 in flight" in output


def test_the_inbound_poll_after_a_portal_delete_flags_nothing(cast, acme, emulator):
    deal = approved_deal(cast)
    drain(cast)
    inbound.inbound_poll(tenant=cast.tenant)
    with tenant_scope(cast.tenant):
        assert MirrorLink.objects.filter(object_key="dealreg.deal", record_id=deal.pk).exists()
        Deal.objects.filter(pk=deal.pk).delete()
    drain(cast)

    result = inbound.inbound_poll(tenant=cast.tenant)

    assert (result.unlinked, result.errors, result.halted) == (0, [], False)
    with tenant_scope(cast.tenant):
        assert not MirrorLink.objects.filter(unlinked_at__isnull=False).exists()
        assert not MirrorLink.objects.filter(object_key="dealreg.deal", record_id=deal.pk).exists()
