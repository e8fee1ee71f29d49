"""CRM edits flow back into the portal, through the real simple-salesforce client to the emulator."""

from __future__ import annotations

import datetime
import io
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from crm_sync import inbound, outbox
from crm_sync.models import (
    CRMConnection,
    DriftRun,
    MirrorLink,
    OutboxEntry,
    OutboxState,
    Resolution,
    Watermark,
    Winner,
)
from dealreg import services
from dealreg.models import AccountSource, CustomerAccount, Deal, DealEvent, DealEventKind, DealStatus
from prm.tenancy import tenant_scope
from tests.crm_sync.conftest import CLIENT_ID, CLIENT_SECRET
from tests.crm_sync.test_connection import save_connection
from tests.dealreg.conftest import register

pytestmark = pytest.mark.django_db

EXT = "PRM_External_Id__c"
# The sync-status page: session, user, membership, tenant and the outbox counts, then one per list of the
# inbound half and one per mirrored object naming flagged records.
QUERIES = 19


@pytest.fixture
def acme_crm(cast, emulator):
    return save_connection(
        cast.acme.tenant,
        login_url=emulator.url,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        ca_cert_path=str(emulator.ca_path),
    )


def approved_deal(cast, **fields) -> Deal:
    with tenant_scope(cast.tenant):
        deal = register(cast.acme.partner, cast.partner_user, **fields)
        return services.deal_approve(deal=deal, acting_user=cast.manager, notify=False)


def opportunity(emulator, deal) -> dict:
    return next(r for r in emulator.records("Opportunity") if r[EXT] == str(deal.public_id))


def poll(cast) -> inbound.PollResult:
    return inbound.inbound_poll(tenant=cast.tenant)


def upserts(emulator) -> int:
    return sum(1 for e in emulator.request_log() if e["path"].startswith("/services/data/v62.0/composite"))


def test_closed_won_in_the_crm_marks_the_deal_won_through_the_workflow_and_is_not_bounced(
    cast, acme_crm, emulator, sf
):
    deal = approved_deal(cast)
    outbox.outbox_drain(tenant=cast.tenant)
    poll(cast)  # the portal's own write comes back: nothing to apply
    sf.Opportunity.update(opportunity(emulator, deal)["Id"], {"StageName": "Closed Won"})

    result = poll(cast)

    assert result.applied == 1
    with tenant_scope(cast.tenant):
        deal.refresh_from_db()
        assert deal.status == DealStatus.WON
        won = DealEvent.objects.get(deal=deal, kind=DealEventKind.WON)
        assert won.actor is None
    # The portal now sends its own status (won) once; the stage it sends is the CRM's, so nothing flips.
    outbox.outbox_drain(tenant=cast.tenant)
    crm = opportunity(emulator, deal)
    assert (crm["StageName"], crm["PRM_Deal_Status__c"]) == ("Closed Won", "won")
    again = poll(cast)
    assert again.applied == 0 and again.flagged == 0
    with tenant_scope(cast.tenant):
        assert Deal.objects.get(pk=deal.pk).status == DealStatus.WON


def test_a_crm_amount_and_close_date_are_applied_and_not_sent_back(cast, acme_crm, emulator, sf):
    deal = approved_deal(cast)
    outbox.outbox_drain(tenant=cast.tenant)
    poll(cast)
    sf.Opportunity.update(opportunity(emulator, deal)["Id"], {"Amount": 98765.5, "CloseDate": "2027-03-31"})
    sent_before = upserts(emulator)

    result = poll(cast)
    outbox.outbox_drain(tenant=cast.tenant)

    assert result.applied == 1 and result.echoes == 1
    with tenant_scope(cast.tenant):
        deal.refresh_from_db()
        assert deal.amount == Decimal("98765.50")
        assert str(deal.expected_close_date) == "2027-03-31"
        echo = OutboxEntry.objects.filter(record_id=deal.pk, object_key="dealreg.deal").latest("id")
        assert (echo.state, echo.last_error) == (OutboxState.SENT, inbound.ECHO_NOTE)
    assert upserts(emulator) == sent_before  # the CRM's own value was not bounced back


def test_values_the_portal_cannot_take_flag_the_record_and_the_batch_goes_on(cast, acme_crm, emulator, sf):
    bad_stage = approved_deal(cast, name="Bad stage", customer_domain="one.example")
    negative = approved_deal(cast, name="Negative", customer_domain="two.example")
    fine = approved_deal(cast, name="Fine", customer_domain="three.example")
    outbox.outbox_drain(tenant=cast.tenant)
    poll(cast)
    sf.Opportunity.update(opportunity(emulator, bad_stage)["Id"], {"StageName": "Maybe Someday"})
    sf.Opportunity.update(opportunity(emulator, negative)["Id"], {"Amount": -5})
    sf.Opportunity.update(opportunity(emulator, fine)["Id"], {"Amount": 12})

    result = poll(cast)

    assert (result.flagged, result.applied) == (2, 1)
    with tenant_scope(cast.tenant):
        flags = dict(MirrorLink.objects.exclude(flag="").values_list("record_id", "flag"))
        assert "Maybe Someday" in flags[bad_stage.pk]
        assert "negative" in flags[negative.pk]
        assert Deal.objects.get(pk=negative.pk).amount != Decimal("-5")
        assert Deal.objects.get(pk=fine.pk).amount == Decimal("12.00")
        watermark = Watermark.objects.get(crm_object="Opportunity")
    # The watermark moved past the refused values: the next poll does not read them again.
    assert watermark.modstamp >= inbound.parse_stamp(opportunity(emulator, fine)["SystemModstamp"])
    assert poll(cast).flagged == 0


# Each write in its own transaction, as in production: the trigger stamps a change with its transaction's
# start.
@pytest.mark.django_db(transaction=True)
def test_a_shared_field_edited_on_both_sides_keeps_the_later_write(cast, acme_crm, emulator, sf):
    crm_later = approved_deal(cast, name="CRM later", customer_domain="one.example")
    portal_later = approved_deal(cast, name="Portal later", customer_domain="two.example")
    outbox.outbox_drain(tenant=cast.tenant)
    poll(cast)
    with tenant_scope(cast.tenant):
        Deal.objects.filter(pk=crm_later.pk).update(amount=Decimal("111"))
    sf.Opportunity.update(opportunity(emulator, crm_later)["Id"], {"Amount": 222})
    sf.Opportunity.update(opportunity(emulator, portal_later)["Id"], {"Amount": 333})
    with tenant_scope(cast.tenant):
        Deal.objects.filter(pk=portal_later.pk).update(amount=Decimal("444"))

    poll(cast)
    outbox.outbox_drain(tenant=cast.tenant)
    poll(cast)

    with tenant_scope(cast.tenant):
        assert Deal.objects.get(pk=crm_later.pk).amount == Decimal("222.00")
        assert Deal.objects.get(pk=portal_later.pk).amount == Decimal("444.00")
        winners = dict(Resolution.objects.values_list("record_id", "winner"))
    assert winners == {crm_later.pk: Winner.CRM, portal_later.pk: Winner.PORTAL}
    assert opportunity(emulator, crm_later)["Amount"] == 222
    assert opportunity(emulator, portal_later)["Amount"] == 444


def test_crm_only_accounts_and_open_opportunities_fill_the_customer_accounts_read_only(
    cast, acme_crm, emulator, sf
):
    account_id = sf.Account.create({"Name": "Northwind Traders", "Website": "northwind.example"})["id"]
    sf.Opportunity.create(
        {"Name": "Renewal", "StageName": "Qualification", "CloseDate": "2027-01-31", "AccountId": account_id}
    )

    result = poll(cast)
    outbox.outbox_drain(tenant=cast.tenant)

    assert result.crm_only == 2
    with tenant_scope(cast.tenant):
        account = CustomerAccount.objects.get(crm_id=account_id)
        assert (account.source, account.domain, account.has_open_opportunity) == (
            AccountSource.CRM,
            "northwind.example",
            True,
        )
    # The CRM's own account is not sent back as a second Account.
    assert [a["Name"] for a in emulator.records("Account")].count("Northwind Traders") == 1


def test_a_deal_whose_opportunity_is_deleted_in_the_crm_is_flagged_unlinked_not_deleted(
    cast, acme_crm, emulator, sf
):
    deal = approved_deal(cast)
    outbox.outbox_drain(tenant=cast.tenant)
    poll(cast)
    sf.Opportunity.delete(opportunity(emulator, deal)["Id"])

    result = poll(cast)

    assert result.unlinked == 1
    with tenant_scope(cast.tenant):
        assert Deal.objects.filter(pk=deal.pk).exists()
        assert MirrorLink.objects.get(record_id=deal.pk, object_key="dealreg.deal").unlinked_at is not None


def test_faults_delay_the_inbound_sync_without_losing_a_change(cast, acme_crm, emulator, sf):
    deal = approved_deal(cast)
    outbox.outbox_drain(tenant=cast.tenant)
    poll(cast)
    sf.Opportunity.update(opportunity(emulator, deal)["Id"], {"StageName": "Closed Lost"})
    with tenant_scope(cast.tenant):
        before = Watermark.objects.get(crm_object="Opportunity").modstamp

    emulator.set_faults(error_rate=1.0)
    failed = poll(cast)
    emulator.clear_faults()

    assert failed.halted and failed.errors
    with tenant_scope(cast.tenant):
        assert Watermark.objects.get(crm_object="Opportunity").modstamp == before
        assert Deal.objects.get(pk=deal.pk).status == DealStatus.APPROVED
    emulator.expire_sessions()
    assert poll(cast).applied == 1
    with tenant_scope(cast.tenant):
        assert Deal.objects.get(pk=deal.pk).status == DealStatus.LOST


def verify_command(cast, *args) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("crm_verify", "--tenant", cast.tenant.slug, *args, stdout=out, stderr=err)
    except CommandError as failure:
        return failure.returncode, out.getvalue() + str(failure)
    return 0, out.getvalue()


def test_crm_verify_reports_no_drift_for_a_mirror_in_step(cast, acme_crm, emulator):
    approved_deal(cast)
    outbox.outbox_drain(tenant=cast.tenant)

    code, output = verify_command(cast)

    assert code == 0, output
    assert "No drift." in output
    with tenant_scope(cast.tenant):
        assert DriftRun.objects.get().drift_count == 0


def test_crm_verify_prints_drift_by_field_exits_non_zero_and_fix_repairs_it(cast, acme_crm, emulator, sf):
    deal = approved_deal(cast)
    outbox.outbox_drain(tenant=cast.tenant)
    poll(cast)
    crm_id = opportunity(emulator, deal)["Id"]
    # Behind the inbound sync's back (no poll runs): a portal-owned field and a shared one changed in the CRM.
    sf.Opportunity.update(crm_id, {"Name": "Edited in the CRM", "Amount": 7})

    code, output = verify_command(cast, "--object", "dealreg.deal")

    assert code == 1
    assert "dealreg.deal → Opportunity: 2 differing" in output
    assert "Name (to_crm): 1" in output and "Amount (both): 1" in output
    assert f"{deal.public_id}: portal '{deal.name}', CRM 'Edited in the CRM'" in output

    code, output = verify_command(cast, "--object", "dealreg.deal", "--fix")
    assert code == 1 and "1 queued for the CRM, 1 applied from it" in output
    outbox.outbox_drain(tenant=cast.tenant)
    code, output = verify_command(cast)
    assert code == 0, output
    with tenant_scope(cast.tenant):
        assert Deal.objects.get(pk=deal.pk).amount == Decimal("7.00")
        assert [run.drift_count for run in DriftRun.objects.order_by("ran_at")] == [2, 2, 0]
    assert opportunity(emulator, deal)["Name"] == deal.name


def test_crm_verify_names_an_unknown_object_and_tenant(cast, acme_crm):
    code, output = verify_command(cast, "--object", "nope.nothing")
    assert code == 1 and "Unknown object 'nope.nothing'" in output
    with pytest.raises(CommandError, match="Unknown tenant"):
        call_command("crm_verify", "--tenant", "no-such-tenant")


@pytest.mark.django_db(transaction=True)
def test_a_later_crm_write_of_a_shared_field_is_not_overwritten_by_an_earlier_portal_edit_in_flight(
    cast, acme_crm, emulator, sf
):
    deal = approved_deal(cast)
    outbox.outbox_drain(tenant=cast.tenant)
    poll(cast)
    with tenant_scope(cast.tenant):  # the portal edits first, and its row waits for the drain
        Deal.objects.filter(pk=deal.pk).update(amount=Decimal("500"), description="from the portal")
    sf.Opportunity.update(opportunity(emulator, deal)["Id"], {"Amount": 600})  # then a CRM user, later

    outbox.outbox_drain(tenant=cast.tenant)  # the drain sees the later CRM write and keeps it
    poll(cast)
    outbox.outbox_drain(tenant=cast.tenant)

    crm = opportunity(emulator, deal)
    assert (crm["Amount"], crm["Description"]) == (600, "from the portal")
    with tenant_scope(cast.tenant):
        assert Deal.objects.get(pk=deal.pk).amount == Decimal("600.00")
        assert list(Resolution.objects.values_list("crm_field", "winner")) == [("Amount", Winner.CRM)]
    assert poll(cast).applied == 0


def test_the_sync_status_page_lists_refused_values_unlinked_records_resolutions_and_drift(
    cast, acme_crm, emulator, sf, django_assert_num_queries
):
    flagged = approved_deal(cast, name="Flagged deal", customer_domain="one.example")
    deleted = approved_deal(cast, name="Deleted deal", customer_domain="two.example")
    outbox.outbox_drain(tenant=cast.tenant)
    poll(cast)
    sf.Opportunity.update(opportunity(emulator, flagged)["Id"], {"StageName": "Maybe Someday"})
    sf.Opportunity.delete(opportunity(emulator, deleted)["Id"])
    poll(cast)
    verify_command(cast)
    with tenant_scope(cast.tenant):
        Resolution.objects.create(
            tenant=cast.tenant,
            object_key="dealreg.deal",
            record_id=flagged.pk,
            crm_field="Amount",
            portal_value="5",
            crm_value="6",
            portal_written_at=flagged.decided_at,
            crm_written_at=flagged.decided_at,
            winner=Winner.CRM,
        )
    client = Client(HTTP_HOST=cast.host)
    client.force_login(cast.manager)
    client.get("/crm/")

    with django_assert_num_queries(QUERIES):
        page = client.get("/crm/").content.decode()

    attention = page.split('id="crm-attention"')[1].split("</table>")[0]
    assert "Flagged deal" in attention and "Maybe Someday" in attention
    assert "Deleted deal" in attention and "Deleted in the CRM" in attention
    resolutions = page.split('id="crm-resolutions"')[1].split("</table>")[0]
    assert "Flagged deal" in resolutions and "Amount" in resolutions
    drift = page.split('id="crm-drift"')[1].split("</table>")[0]
    # The deleted deal's Opportunity is missing, and the refused stage still differs.
    assert '<td class="drift-count">2</td>' in drift
    assert "Opportunity" in page.split("Changes read back")[1]


def test_a_first_load_above_the_threshold_goes_through_a_bulk_query_and_pages_are_followed(
    cast, acme_crm, emulator, sf, monkeypatch
):
    deals = [approved_deal(cast, name=f"Deal {n}", customer_domain=f"d{n}.example") for n in range(5)]
    outbox.outbox_drain(tenant=cast.tenant)
    for deal in deals:
        sf.Opportunity.update(opportunity(emulator, deal)["Id"], {"Amount": 42})
    monkeypatch.setattr(inbound, "BULK_THRESHOLD", 3)  # the 2,000 of production, scaled to this test

    result = poll(cast)

    assert result.bulk and result.applied == 5
    paths = [entry["path"] for entry in emulator.request_log()]
    assert any("/jobs/query" in path for path in paths)
    with tenant_scope(cast.tenant):
        assert set(Deal.objects.values_list("amount", flat=True)) == {Decimal("42.00")}


def test_changes_over_several_query_pages_are_all_read(cast, acme_crm, emulator, sf):
    emulator.configure(query_batch_size=200)
    sf.bulk2.Account.insert(
        records=[{"Name": f"CRM customer {n}", "Website": f"c{n}.example"} for n in range(250)], wait=1
    )

    result = poll(cast)

    assert (result.fetched, result.crm_only) == (250, 250)
    assert any(e["path"].startswith("/services/data/v62.0/query/0") for e in emulator.request_log())
    with tenant_scope(cast.tenant):
        assert CustomerAccount.objects.filter(source=AccountSource.CRM).count() == 250


def test_a_resync_recreates_a_record_deleted_in_the_crm_and_links_it_again(cast, acme_crm, emulator, sf):
    deal = approved_deal(cast)
    outbox.outbox_drain(tenant=cast.tenant)
    poll(cast)
    sf.Opportunity.delete(opportunity(emulator, deal)["Id"])
    poll(cast)

    call_command("crm_resync", "--tenant", cast.tenant.slug, "--object", "dealreg.deal", stdout=io.StringIO())
    poll(cast)

    recreated = opportunity(emulator, deal)
    with tenant_scope(cast.tenant):
        link = MirrorLink.objects.get(record_id=deal.pk, object_key="dealreg.deal")
    assert (link.crm_id, link.unlinked_at) == (recreated["Id"], None)


def test_request_limit_exceeded_pauses_the_inbound_sync_and_loses_nothing(cast, acme_crm, emulator, sf):
    deal = approved_deal(cast)
    outbox.outbox_drain(tenant=cast.tenant)
    poll(cast)
    sf.Opportunity.update(opportunity(emulator, deal)["Id"], {"Amount": 77})

    emulator.set_faults(request_limit_exceeded=True)
    limited = poll(cast)
    emulator.clear_faults()

    assert limited.paused and limited.halted
    with tenant_scope(cast.tenant):
        connection = CRMConnection.objects.get()
        assert connection.paused_until is not None and "REQUEST_LIMIT_EXCEEDED" in connection.last_error
        assert poll(cast).paused  # paused: no call until the pause is over
        CRMConnection.objects.update(paused_until=None)
    assert poll(cast).applied == 1
    with tenant_scope(cast.tenant):
        assert Deal.objects.get(pk=deal.pk).amount == Decimal("77.00")


def test_existing_tenants_deal_mappings_become_shared_by_the_data_migration(cast):
    from importlib import import_module

    from django.db import connection

    from crm_sync.models import Direction, FieldMapping

    migration = import_module("crm_sync.migrations.0008_deal_shared_fields")
    with tenant_scope(cast.tenant):
        FieldMapping.objects.filter(object_key="dealreg.deal").delete()
        for portal, crm in (("amount", "Amount"), ("customer.public_id", "AccountId"), ("name", "Name")):
            FieldMapping.objects.create(
                tenant=cast.tenant, object_key="dealreg.deal", portal_field=portal, crm_field=crm
            )
        with connection.cursor() as cursor:
            cursor.execute(migration.FORWARD)
        mapped = set(
            FieldMapping.objects.filter(object_key="dealreg.deal").values_list(
                "crm_field", "portal_field", "direction"
            )
        )
    assert mapped == {
        ("Amount", "amount", Direction.BOTH),
        ("AccountId", "customer.crm_reference", Direction.TO_CRM),
        ("Name", "name", Direction.TO_CRM),
    }


def test_a_crm_currency_is_applied_only_if_the_program_has_a_rate_for_it(cast, acme_crm, emulator, sf):
    from crm_sync.models import Direction, FieldMapping
    from crm_sync.services import mappings_for
    from prm.models import ExchangeRate

    with tenant_scope(cast.tenant):
        mappings_for(cast.tenant, "dealreg.deal")
        FieldMapping.objects.create(
            object_key="dealreg.deal",
            portal_field="currency",
            crm_field="CurrencyIsoCode",
            direction=Direction.BOTH,
        )
        ExchangeRate.objects.create(
            currency="EUR", rate=Decimal("1.1"), effective_from=datetime.date(2026, 1, 1)
        )
    unknown = approved_deal(cast, name="Francs", customer_domain="one.example")
    known = approved_deal(cast, name="Euros", customer_domain="two.example")
    outbox.outbox_drain(tenant=cast.tenant)
    poll(cast)
    sf.Opportunity.update(opportunity(emulator, unknown)["Id"], {"CurrencyIsoCode": "CHF"})
    sf.Opportunity.update(opportunity(emulator, known)["Id"], {"CurrencyIsoCode": "EUR"})

    result = poll(cast)

    assert (result.flagged, result.applied) == (1, 1)
    with tenant_scope(cast.tenant):
        flag = MirrorLink.objects.get(object_key="dealreg.deal", record_id=unknown.pk).flag
        assert "CHF is not a currency of this program" in flag
        assert Deal.objects.get(pk=unknown.pk).currency == "USD"
        assert Deal.objects.get(pk=known.pk).currency == "EUR"
