"""The deal workflow through its services: registration, conflicts, decisions, protection and the sweep."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from dealreg import services
from dealreg.models import CustomerAccount, Deal, DealEventKind, DealRegSettings, DealStatus
from prm import events
from tests.dealreg.conftest import deal_input, register

pytestmark = pytest.mark.django_db


def test_a_registration_starts_submitted_with_an_sla_clock_and_a_history(cast, acme_scope):
    deal = register(cast.acme.partner, cast.partner_user)
    assert deal.status == DealStatus.SUBMITTED
    assert deal.sla_due_at > deal.submitted_at + datetime.timedelta(days=1)
    assert not deal.has_conflict
    assert [(e.kind, e.actor) for e in deal.events.all()] == [(DealEventKind.SUBMITTED, cast.partner_user)]


def test_the_sla_counts_business_days_only():
    friday = datetime.datetime(2026, 11, 27, 15, 0, tzinfo=datetime.UTC)
    assert services.add_business_days(friday, 2, "UTC").date() == datetime.date(2026, 12, 1)
    saturday = datetime.datetime(2026, 11, 28, 15, 0, tzinfo=datetime.UTC)
    assert services.add_business_days(saturday, 1, "UTC").date() == datetime.date(2026, 12, 1)


def test_registering_sends_deal_registered_with_public_ids_on_commit(
    cast, acme_scope, django_capture_on_commit_callbacks
):
    received = []

    def listener(sender, signal, **kwargs):
        received.append(kwargs)

    events.deal_registered.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            deal = register(cast.acme.partner, cast.partner_user)
    finally:
        events.deal_registered.disconnect(listener)
    assert received == [
        {"tenant_id": cast.tenant.pk, "partner_id": cast.acme.partner.public_id, "deal_id": deal.public_id}
    ]


def test_the_same_domain_at_another_partner_is_a_possible_conflict(cast, acme_scope):
    first = register(cast.acme.other_partner, cast.other_partner_user, customer_name="Fabrikam")
    second = register(cast.acme.partner, cast.partner_user, customer_name="Totally Different Name")
    assert second.has_conflict
    conflict = second.conflicts.get()
    assert (conflict.other_deal, conflict.kind, conflict.score) == (first, "domain", 100)


def test_a_similar_name_at_another_partner_is_a_possible_conflict(cast, acme_scope):
    register(
        cast.acme.other_partner, cast.other_partner_user, customer_name="Contoso Ltd", customer_domain=""
    )
    second = register(
        cast.acme.partner, cast.partner_user, customer_name="Contoso Limited", customer_domain=""
    )
    assert second.has_conflict
    assert second.conflicts.get().kind == "name"


def test_different_companies_and_the_partners_own_deals_are_no_conflict(cast, acme_scope):
    register(
        cast.acme.other_partner, cast.other_partner_user, customer_name="Contoso Ltd", customer_domain=""
    )
    register(
        cast.acme.partner,
        cast.partner_user,
        customer_name="Northwind Logistics",
        customer_domain="nwl.example",
    )
    again = register(
        cast.acme.partner,
        cast.partner_user,
        customer_name="Northwind Logistics",
        customer_domain="nwl.example",
    )
    other = register(
        cast.acme.partner, cast.partner_user, customer_name="Contour Labs", customer_domain="contour.example"
    )
    assert not again.has_conflict
    assert not other.has_conflict


def test_a_known_customer_account_is_a_possible_conflict(cast, acme_scope):
    services.customer_account_upsert(
        name="Globex Retail plc", domain="globex-retail.example", acting_user=None
    )
    deal = register(cast.acme.partner, cast.partner_user, customer_name="Globex Retail", customer_domain="")
    assert deal.conflicts.get().customer_account.name == "Globex Retail plc"


def test_another_tenants_registrations_never_conflict(cast):
    from prm.tenancy import tenant_scope

    with tenant_scope(cast.globex.tenant):
        register(cast.globex.partner, cast.globex.partner_user)
    with tenant_scope(cast.tenant):
        assert not register(cast.acme.partner, cast.partner_user).has_conflict


def test_a_resubmitted_form_makes_one_deal(cast, acme_scope):
    key = "3a8a9a6e-1111-4c55-9f0e-1f7c4a1d2b3c"
    first = services.deal_register(
        partner=cast.acme.partner, data=deal_input(), acting_user=cast.partner_user, submission_key=key
    )
    second = services.deal_register(
        partner=cast.acme.partner, data=deal_input(), acting_user=cast.partner_user, submission_key=key
    )
    assert first == second
    assert Deal.objects.count() == 1


def test_bad_values_are_refused_by_field(cast, acme_scope):
    with pytest.raises(ValidationError) as refused:
        register(
            cast.acme.partner,
            cast.partner_user,
            amount=Decimal("-1"),
            expected_close_date=datetime.date.today() - datetime.timedelta(days=3),
        )
    assert set(refused.value.message_dict) == {"amount", "expected_close_date"}
    assert Deal.objects.count() == 0


def test_the_close_date_tolerance_lets_a_recent_date_through(cast, acme_scope):
    settings = DealRegSettings.current()
    settings.close_date_tolerance_days = 5
    settings.save()
    deal = register(
        cast.acme.partner,
        cast.partner_user,
        expected_close_date=datetime.date.today() - datetime.timedelta(days=3),
    )
    assert deal.pk


def test_approving_protects_the_deal_and_links_a_customer_account(
    cast, acme_scope, django_capture_on_commit_callbacks
):
    deal = register(cast.acme.partner, cast.partner_user)
    with django_capture_on_commit_callbacks(execute=True):
        deal = services.deal_approve(deal=deal, acting_user=cast.manager, reason="Clean")
    assert deal.status == DealStatus.APPROVED
    assert deal.protection_expires_on == timezone.localdate() + datetime.timedelta(days=90)
    assert deal.customer.domain == "fabrikam.example"
    assert deal.events.last().actor == cast.manager
    assert "approved" in mail.outbox[-1].subject
    assert mail.outbox[-1].to == [cast.partner_user.email]


def test_rejecting_needs_a_reason_and_a_decided_deal_cannot_be_decided_again(cast, acme_scope):
    deal = register(cast.acme.partner, cast.partner_user)
    with pytest.raises(ValidationError):
        services.deal_reject(deal=deal, acting_user=cast.manager, reason=" ")
    deal = services.deal_reject(deal=deal, acting_user=cast.manager, reason="Direct account")
    assert deal.status == DealStatus.REJECTED
    with pytest.raises(services.DealTransitionError):
        services.deal_approve(deal=deal, acting_user=cast.manager)


def test_auto_approve_takes_clean_small_deals_only(cast, acme_scope):
    settings = DealRegSettings.current()
    settings.auto_approve, settings.auto_approve_max_amount = True, Decimal("50000")
    settings.save()
    small = register(cast.acme.partner, cast.partner_user)
    large = register(
        cast.acme.partner,
        cast.partner_user,
        customer_name="Big Co",
        customer_domain="big.example",
        amount=Decimal("90000"),
    )
    conflicting = register(
        cast.acme.other_partner, cast.other_partner_user, customer_name="Fabrikam Industries"
    )
    assert small.status == DealStatus.APPROVED
    assert small.events.last().kind == DealEventKind.AUTO_APPROVED
    assert large.status == DealStatus.SUBMITTED
    assert conflicting.status == DealStatus.SUBMITTED and conflicting.has_conflict


def test_the_sweep_warns_14_days_ahead_once_then_expires(
    cast, acme_scope, django_capture_on_commit_callbacks
):
    deal = services.deal_approve(
        deal=register(cast.acme.partner, cast.partner_user), acting_user=cast.manager
    )
    ends = deal.protection_expires_on
    with django_capture_on_commit_callbacks(execute=True):
        assert services.deals_expire_due(today=ends - datetime.timedelta(days=20)) == (0, 0)
        assert services.deals_expire_due(today=ends - datetime.timedelta(days=14)) == (0, 1)
        assert services.deals_expire_due(today=ends - datetime.timedelta(days=13)) == (0, 0)
    assert "Protection ends soon" in mail.outbox[-1].subject
    with django_capture_on_commit_callbacks(execute=True):
        assert services.deals_expire_due(today=ends + datetime.timedelta(days=1)) == (1, 0)
    deal.refresh_from_db()
    assert deal.status == DealStatus.EXPIRED


def test_a_granted_extension_moves_the_protection(cast, acme_scope):
    deal = services.deal_approve(
        deal=register(cast.acme.partner, cast.partner_user), acting_user=cast.manager
    )
    ends = deal.protection_expires_on
    extension = services.extension_request(
        deal=deal, days=30, reason="Budget next quarter", acting_user=cast.partner_user
    )
    with pytest.raises(ValidationError):
        services.extension_request(deal=deal, days=10, reason="Again", acting_user=cast.partner_user)
    services.extension_decide(extension=extension, grant=True, acting_user=cast.manager, reason="Fine")
    deal.refresh_from_db()
    assert deal.protection_expires_on == ends + datetime.timedelta(days=30)
    assert [e.kind for e in deal.events.all()][-2:] == [
        DealEventKind.EXTENSION_REQUESTED,
        DealEventKind.EXTENSION_GRANTED,
    ]


def test_a_breached_sla_escalates_to_the_tenant_admins_once(
    cast, acme_scope, django_capture_on_commit_callbacks
):
    deal = register(cast.acme.partner, cast.partner_user)
    later = deal.sla_due_at + datetime.timedelta(hours=1)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.deals_escalate_sla(now=later) == 1
        assert services.deals_escalate_sla(now=later) == 0
    assert mail.outbox[-1].to == [cast.acme.tenant_admin.email]
    assert deal.name in mail.outbox[-1].body


def test_the_import_updates_an_account_with_the_same_domain(cast, acme_scope):
    services.customer_account_upsert(name="Contoso", domain="contoso.example", acting_user=None)
    account, created = services.customer_account_upsert(
        name="Contoso Ltd", domain="www.contoso.example", acting_user=None
    )
    assert not created
    assert CustomerAccount.objects.get().name == "Contoso Ltd"


def test_approving_a_deal_without_a_domain_reuses_the_account_of_the_same_name(cast, acme_scope):
    account, _created = services.customer_account_upsert(name="Wingtip Toys Ltd", domain="", acting_user=None)
    deal = register(cast.acme.partner, cast.partner_user, customer_name="Wingtip Toys", customer_domain="")
    deal = services.deal_approve(deal=deal, acting_user=cast.manager)
    assert deal.customer == account
    assert CustomerAccount.objects.count() == 1


@pytest.mark.parametrize("value", [None, "", "NaN", "Infinity", "-5", "lots"])
def test_a_crm_amount_the_deal_cannot_take_is_refused_and_changes_nothing(cast, acme_scope, value):
    deal = services.deal_approve(
        deal=register(cast.acme.partner, cast.partner_user), acting_user=cast.manager
    )
    before = Deal.objects.get(pk=deal.pk).amount
    with pytest.raises(ValidationError) as refused:
        services.deal_apply_crm_update(record=deal, values={"amount": value})
    assert "amount" in refused.value.message_dict
    assert Deal.objects.get(pk=deal.pk).amount == before
