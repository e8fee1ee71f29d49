"""Rebates on won deals in the append-only ledger, corrections, and payout statements with their CSV."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import InternalError, ProgrammingError, transaction
from django.test import Client

from dealreg.models import Deal
from incentives import services
from incentives.models import EntryKind, LedgerEntry, PayoutStatement, StatementStatus
from incentives.receivers import on_deal_won
from prm.tenancy import tenant_scope
from tests.incentives.conftest import set_rule, win_deal

pytestmark = pytest.mark.django_db


def client_for(user, host="acme.localhost") -> Client:
    client = Client(HTTP_HOST=host)
    client.force_login(user)
    return client


def test_a_won_deal_accrues_the_rebate_at_the_tier_rate_on_the_close_date_once(
    cast, acme_scope, django_capture_on_commit_callbacks
):
    set_rule("gold", rebate_percent=Decimal("4.5"))
    partner = cast.acme.partner  # Gold
    with django_capture_on_commit_callbacks(execute=True):
        deal = win_deal(partner, cast.partner_user, cast.manager, amount=Decimal("48000"))
    entry = LedgerEntry.objects.get(deal=deal)
    assert (entry.kind, entry.amount, entry.rate, entry.tier_name) == (
        EntryKind.REBATE,
        Decimal("2160.00"),
        Decimal("4.50"),
        "Gold",
    )
    assert entry.entry_date == deal.closed_at.date()
    assert entry.currency == "USD"
    # deal_won delivered again: nothing more.
    on_deal_won(
        None, tenant_id=cast.tenant.pk, partner_id=str(partner.public_id), deal_id=str(deal.public_id)
    )
    assert LedgerEntry.objects.filter(deal=deal).count() == 1


def test_the_ledger_is_append_only_and_corrections_are_new_entries(cast, acme_scope):
    services.ledger_correct(
        partner=cast.acme.partner, amount=Decimal("80"), memo="Spiff.", acting_user=cast.acme.tenant_admin
    )
    entry = services.ledger_correct(
        partner=cast.acme.partner,
        amount=Decimal("-50"),
        memo="Duplicate rebate.",
        acting_user=cast.acme.tenant_admin,
    )
    for attempt in (
        lambda: LedgerEntry.objects.filter(pk=entry.pk).update(amount=0),
        lambda: LedgerEntry.objects.filter(pk=entry.pk).delete(),
    ):
        with pytest.raises((InternalError, ProgrammingError)), transaction.atomic():
            attempt()
    assert LedgerEntry.objects.get(pk=entry.pk).amount == Decimal("-50")
    with pytest.raises(services.IncentiveError):
        services.ledger_correct(partner=cast.acme.partner, amount=Decimal("5"), memo="", acting_user=None)


def test_a_statement_sums_the_period_and_a_tenant_admin_approves_and_exports_it(cast):
    with tenant_scope(cast.tenant):
        today = datetime.date.today()
        services.ledger_correct(
            partner=cast.acme.partner,
            amount=Decimal("120"),
            memo="Spiff.",
            acting_user=None,
            entry_date=today,
        )
        services.ledger_correct(
            partner=cast.acme.partner,
            amount=Decimal("999"),
            memo="Last year.",
            acting_user=None,
            entry_date=today - datetime.timedelta(days=400),
        )
    admin = client_for(cast.acme.tenant_admin)
    response = admin.post(
        "/admin/incentives/payoutstatement/add/",
        {"partner": cast.acme.partner.pk, "period_start": today.replace(day=1), "period_end": today},
    )
    assert response.status_code == 302
    with tenant_scope(cast.tenant):
        statement = PayoutStatement.objects.get()
        assert statement.total == Decimal("120")
    manager = client_for(cast.manager)
    manager.post(
        "/admin/incentives/payoutstatement/", {"action": "approve", "_selected_action": [statement.pk]}
    )
    with tenant_scope(cast.tenant):
        assert PayoutStatement.objects.get().status == StatementStatus.DRAFT
    admin.post(
        "/admin/incentives/payoutstatement/", {"action": "approve", "_selected_action": [statement.pk]}
    )
    with tenant_scope(cast.tenant):
        approved = PayoutStatement.objects.get()
        assert (approved.status, approved.approved_by) == (StatementStatus.APPROVED, cast.acme.tenant_admin)
    export = admin.post(
        "/admin/incentives/payoutstatement/", {"action": "export_csv", "_selected_action": [statement.pk]}
    )
    assert export["Content-Type"].startswith("text/csv")
    lines = export.content.decode().strip().splitlines()
    assert len(lines) == 2
    assert "Spiff." in lines[1] and "120" in lines[1]


def test_a_second_statement_for_the_same_period_is_refused(cast, acme_scope):
    today = datetime.date.today()
    services.statement_create(
        partner=cast.acme.partner, period_start=today, period_end=today, acting_user=None
    )
    with pytest.raises(services.IncentiveError, match="exists already"):
        services.statement_create(
            partner=cast.acme.partner, period_start=today, period_end=today, acting_user=None
        )
    assert PayoutStatement.objects.count() == 1


def test_an_overlapping_statement_is_refused_on_the_admins_form_and_nothing_is_written(cast):
    today = datetime.date.today()
    with tenant_scope(cast.tenant):
        services.statement_create(
            partner=cast.acme.partner,
            period_start=today - datetime.timedelta(days=30),
            period_end=today,
            acting_user=None,
        )
    response = client_for(cast.acme.tenant_admin).post(
        "/admin/incentives/payoutstatement/add/",
        {
            "partner": cast.acme.partner.pk,
            "period_start": today,
            "period_end": today + datetime.timedelta(days=9),
        },
    )
    assert response.status_code == 200
    assert "its entries would be paid twice" in response.content.decode()
    with tenant_scope(cast.tenant):
        assert PayoutStatement.objects.count() == 1


def test_a_correction_of_nothing_or_below_a_zero_balance_is_refused_on_the_admins_form(cast):
    admin = client_for(cast.acme.tenant_admin)
    form = {"partner": cast.acme.partner.pk, "entry_date": datetime.date.today(), "memo": "Clawback."}
    for amount, message in (("0", "other than zero"), ("-10", "below zero")):
        response = admin.post("/admin/incentives/ledgerentry/add/", {**form, "amount": amount})
        assert response.status_code == 200 and message in response.content.decode()
    with tenant_scope(cast.tenant):
        assert not LedgerEntry.objects.exists()


def test_a_deal_won_by_another_tenant_never_reaches_this_ledger(cast):
    with tenant_scope(cast.globex.tenant):
        deal = win_deal(cast.globex.partner, cast.globex.partner_user, cast.globex.manager)
        services.rebate_accrue(deal=Deal.objects.get(pk=deal.pk))
    with tenant_scope(cast.tenant):
        assert not LedgerEntry.objects.exists()
