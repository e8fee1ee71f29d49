"""Approved deals reach the CRM as Opportunities linked to both Accounts; submitted ones stay out."""

from __future__ import annotations

import pytest

from crm_sync import outbox, registry
from crm_sync.emulator.schema import OBJECTS
from crm_sync.models import OutboxEntry
from dealreg import services
from dealreg.models import CustomerAccount, Deal
from prm.tenancy import tenant_scope, unscoped_across_tenants
from tests.crm_sync.conftest import CLIENT_ID, CLIENT_SECRET
from tests.crm_sync.test_connection import save_connection
from tests.dealreg.conftest import register

pytestmark = pytest.mark.django_db

EXT = "PRM_External_Id__c"


@pytest.fixture
def acme_crm(cast, emulator):
    return save_connection(
        cast.acme.tenant,
        login_url=emulator.url,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        ca_cert_path=str(emulator.ca_path),
    )


def deal_rows(tenant) -> list[OutboxEntry]:
    with unscoped_across_tenants():
        return list(OutboxEntry.objects.filter(tenant=tenant, object_key="dealreg.deal"))


@pytest.mark.parametrize("key", ["dealreg.customeraccount", "dealreg.deal"])
def test_every_declared_field_exists_on_both_sides(key):
    declared = registry.get(key)
    crm_fields = OBJECTS[declared.crm_object]
    for path, crm_field in declared.fields.items():
        assert registry.path_exists(declared.model, path), path
        assert crm_fields[crm_field].writable, crm_field


def test_deals_go_after_both_accounts_they_point_at():
    keys = [m.key for m in registry.mirrors()]
    assert keys.index("dealreg.customeraccount") < keys.index("dealreg.deal")
    assert keys.index("partners.partner") < keys.index("dealreg.deal")


def test_a_submitted_deal_writes_no_outbox_row_and_its_approval_does(cast, acme_scope):
    deal = register(cast.acme.partner, cast.partner_user)
    Deal.objects.filter(pk=deal.pk).update(name="Renamed in bulk")
    assert deal_rows(cast.tenant) == []
    services.deal_approve(deal=deal, acting_user=cast.manager)
    assert [row.record_id for row in deal_rows(cast.tenant)] == [deal.pk]


def test_an_approved_deal_becomes_an_opportunity_linked_to_the_partner_and_the_customer(
    cast, acme_crm, emulator
):
    with tenant_scope(cast.tenant):
        rejected = register(
            cast.acme.partner, cast.partner_user, customer_domain="nope.example", name="Rejected"
        )
        services.deal_reject(deal=rejected, acting_user=cast.manager, reason="Direct")
        deal = services.deal_approve(
            deal=register(cast.acme.partner, cast.partner_user), acting_user=cast.manager
        )
        customer = CustomerAccount.objects.get()
    outbox.outbox_drain(tenant=cast.tenant)
    accounts = {record[EXT]: record for record in emulator.records("Account")}
    opportunities = emulator.records("Opportunity")
    assert len(opportunities) == 1
    opportunity = opportunities[0]
    partner_account = accounts[str(cast.acme.partner.public_id)]
    customer_account = accounts[str(customer.public_id)]
    assert opportunity[EXT] == str(deal.public_id)
    assert opportunity["AccountId"] == customer_account["Id"]
    assert opportunity["PRM_Partner_Account__c"] == partner_account["Id"]
    assert opportunity["PRM_Partner_External_Id__c"] == str(cast.acme.partner.public_id)
    assert (opportunity["StageName"], opportunity["Amount"]) == ("Prospecting", 48000.0)
    assert customer_account["Website"] == "fabrikam.example"

    with tenant_scope(cast.tenant):
        services.deal_close(deal=deal, won=True, acting_user=cast.partner_user)
    outbox.outbox_drain(tenant=cast.tenant)
    assert emulator.records("Opportunity")[0]["StageName"] == "Closed Won"


def test_without_the_lead_mode_no_registration_becomes_a_lead(cast, acme_crm, emulator):
    with tenant_scope(cast.tenant):
        register(cast.acme.partner, cast.partner_user)
    outbox.outbox_drain(tenant=cast.tenant)
    assert emulator.records("Lead") == []
    with unscoped_across_tenants():
        assert not OutboxEntry.objects.filter(object_key="dealreg.deallead").exists()


def test_with_the_lead_mode_a_registration_is_a_lead_converted_on_approval(cast, acme_crm, emulator):
    from dealreg.models import DealRegSettings

    with tenant_scope(cast.tenant):
        settings = DealRegSettings.current()
        settings.lead_mode = True
        settings.save()
        deal = register(cast.acme.partner, cast.partner_user, contact_name="Fiona Q. Buyer")
    outbox.outbox_drain(tenant=cast.tenant)
    [lead] = emulator.records("Lead")
    assert (lead[EXT], lead["Company"], lead["LastName"], lead["FirstName"]) == (
        str(deal.public_id),
        "Fabrikam Industries",
        "Buyer",
        "Fiona Q.",
    )
    assert lead["Status"] == "Open - Not Contacted"
    assert lead["PRM_Partner_External_Id__c"] == str(cast.acme.partner.public_id)
    assert emulator.records("Opportunity") == []

    with tenant_scope(cast.tenant):
        services.deal_approve(deal=deal, acting_user=cast.manager)
    outbox.outbox_drain(tenant=cast.tenant)
    assert emulator.records("Lead")[0]["Status"] == "Closed - Converted"
    assert emulator.records("Opportunity")[0][EXT] == str(deal.public_id)


def test_the_lead_mirror_has_a_trigger_of_its_own_on_the_deals_table():
    from dealreg.models import DealLead

    assert registry.outbox_trigger(DealLead).name == "crm_outbox_deallead"
    assert registry.outbox_trigger(Deal).name == "crm_outbox"


def test_a_resync_sends_approved_deals_and_never_submitted_or_rejected_ones(cast, acme_crm, emulator):
    from django.core.management import call_command

    with tenant_scope(cast.tenant):
        register(cast.acme.partner, cast.partner_user, customer_domain="waiting.example", name="Waiting")
        rejected = register(cast.acme.partner, cast.partner_user, customer_domain="no.example", name="No")
        services.deal_reject(deal=rejected, acting_user=cast.manager, reason="Direct")
        approved = services.deal_approve(
            deal=register(cast.acme.partner, cast.partner_user), acting_user=cast.manager
        )
    outbox.outbox_drain(tenant=cast.tenant)
    emulator.reset()  # the CRM lost everything
    call_command("crm_resync", "--tenant", "acme", stdout=__import__("io").StringIO())
    assert [o[EXT] for o in emulator.records("Opportunity")] == [str(approved.public_id)]
