"""Deals in other currencies: exchange rates in the tenant admin, won revenue and rebates converted to the
tenant's currency (USD here), deals in a currency without a rate left out and reported, not lost."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from dealreg.models import Deal
from incentives import services
from incentives.models import LedgerEntry, PendingRebate, TierEvaluation
from prm.models import ExchangeRate
from prm.tenancy import tenant_scope
from tests.dealreg.conftest import register
from tests.incentives.conftest import set_rule, win_deal

pytestmark = pytest.mark.django_db

TODAY = datetime.date.today()


def client_for(user, host="acme.localhost") -> Client:
    client = Client(HTTP_HOST=host)
    client.force_login(user)
    return client


def add_rate(currency: str, rate: str, *, days_ago: int = 30) -> ExchangeRate:
    return ExchangeRate.objects.create(
        currency=currency, rate=Decimal(rate), effective_from=TODAY - datetime.timedelta(days=days_ago)
    )


def win_without_rate(cast, currency: str, amount: str) -> Deal:
    """A deal won in `currency` after its only rate was taken away again (registered while it had one)."""
    rate = add_rate(currency, "1")
    deal = register(cast.acme.partner, cast.partner_user, amount=Decimal(amount), currency=currency)
    rate.delete()
    return win_deal_registered(cast, deal)


def win_deal_registered(cast, deal) -> Deal:
    from dealreg import services as deal_services

    deal = deal_services.deal_approve(deal=deal, acting_user=cast.manager)
    return deal_services.deal_close(deal=deal, won=True, acting_user=cast.manager)


def test_a_eur_deal_counts_converted_and_a_deal_without_a_rate_is_left_out_and_reported(cast, acme_scope):
    add_rate("EUR", "1.10", days_ago=200)
    add_rate("EUR", "1.20", days_ago=10)  # in force on the close date (today)
    ExchangeRate.objects.create(
        currency="EUR", rate=Decimal("9"), effective_from=TODAY + datetime.timedelta(1)
    )
    partner = cast.acme.partner
    win_deal(partner, cast.partner_user, cast.manager, amount=Decimal("10000"), currency="EUR")
    win_deal(partner, cast.partner_user, cast.manager, amount=Decimal("5000"), currency="USD")
    win_without_rate(cast, "CHF", "70000")

    summary = services.tiers_evaluate()

    evaluation = TierEvaluation.objects.get(partner=partner)
    assert evaluation.won_revenue == Decimal("17000.00")  # 10,000 EUR × 1.20 + 5,000 USD; no CHF
    assert evaluation.deals_won == 3
    assert (evaluation.deals_left_out, evaluation.left_out_currencies) == (1, "CHF")
    assert summary.left_out_deals == 1
    page = client_for(cast.partner_user).get(reverse("incentives:tier")).content.decode()
    assert "1 won deal is not in the won revenue: CHF has no exchange rate to USD yet" in page
    program = client_for(cast.manager).get(reverse("incentives:tier")).content.decode()
    assert "left 1 won deal out of the won revenue (1 partners): no exchange rate to USD for CHF" in program
    admin = client_for(cast.manager).get(reverse("admin:incentives_tierevaluation_changelist"))
    assert "1 (no exchange rate for CHF)" in admin.content.decode()


def test_a_deal_closed_before_the_first_rate_counts_at_the_earliest_rate(cast, acme_scope):
    add_rate("EUR", "1.50", days_ago=-5)  # the first EUR rate starts after the close date
    add_rate("EUR", "2.00", days_ago=-50)
    deal = register(cast.acme.partner, cast.partner_user, amount=Decimal("1000"), currency="EUR")
    win_deal_registered(cast, deal)
    services.tiers_evaluate()
    assert TierEvaluation.objects.get(partner=cast.acme.partner).won_revenue == Decimal("1500.00")


def test_a_eur_rebate_accrues_at_the_converted_amount_and_keeps_the_original(
    cast, acme_scope, django_capture_on_commit_callbacks
):
    set_rule("gold", rebate_percent=Decimal("4"))
    add_rate("EUR", "1.10")
    with django_capture_on_commit_callbacks(execute=True):
        deal = win_deal(
            cast.acme.partner, cast.partner_user, cast.manager, amount=Decimal("48000"), currency="EUR"
        )
    entry = LedgerEntry.objects.get(deal=deal)
    assert (entry.amount, entry.currency, entry.basis) == (Decimal("2112.00"), "USD", Decimal("52800.00"))
    assert (entry.original_amount, entry.original_currency, entry.exchange_rate) == (
        Decimal("48000.00"),
        "EUR",
        Decimal("1.10"),
    )
    page = client_for(cast.partner_user).get(reverse("incentives:tier")).content.decode()
    assert "$2,112" in page and "on €48,000 at 1.1" in page
    german = client_for(cast.partner_user)
    german.cookies[settings.LANGUAGE_COOKIE_NAME] = "de"
    page = german.get(reverse("incentives:tier")).content.decode()
    assert "2.112\xa0$" in page and "auf 48.000\xa0€ zum Kurs 1,1" in page


def test_a_rebate_without_a_rate_waits_where_managers_see_it_and_accrues_when_a_rate_is_added(
    cast, acme_scope, django_capture_on_commit_callbacks
):
    set_rule("gold", rebate_percent=Decimal("5"))
    with django_capture_on_commit_callbacks(execute=True):
        deal = win_without_rate(cast, "CHF", "20000")
    assert not LedgerEntry.objects.filter(deal=deal).exists()
    pending = PendingRebate.objects.get(deal=deal)
    assert "CHF has no exchange rate to USD" in pending.reason
    waiting = client_for(cast.manager).get(reverse("admin:incentives_pendingrebate_changelist"))
    assert deal.name in waiting.content.decode() and "CHF has no exchange rate" in waiting.content.decode()

    response = client_for(cast.acme.tenant_admin).post(
        reverse("admin:prm_exchangerate_add"),
        {
            "currency": "CHF",
            "rate": "1.25",
            "effective_from": (TODAY - datetime.timedelta(days=400)).isoformat(),
        },
    )

    assert response.status_code == 302
    entry = LedgerEntry.objects.get(deal=deal)
    assert (entry.amount, entry.currency, entry.rate) == (Decimal("1250.00"), "USD", Decimal("5.00"))
    pending.refresh_from_db()
    assert pending.accrued_at is not None and pending.ledger_entry == entry


def test_a_statement_totals_rebates_of_deals_in_several_currencies_in_the_tenants_currency(cast, acme_scope):
    set_rule("gold", rebate_percent=Decimal("4"))
    add_rate("EUR", "1.10")
    partner = cast.acme.partner
    for currency in ("USD", "EUR"):
        deal = win_deal(partner, cast.partner_user, cast.manager, amount=Decimal("10000"), currency=currency)
        services.rebate_accrue(deal=deal)
    statement = services.statement_create(
        partner=partner,
        period_start=TODAY.replace(day=1),
        period_end=TODAY,
        acting_user=cast.acme.tenant_admin,
    )
    assert (statement.total, statement.currency) == (Decimal("840.00"), "USD")  # 400 + 440


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"rate": "0"}, "rate", "A rate is above zero."),
        ({"rate": "-1.2"}, "rate", "A rate is above zero."),
        ({"currency": "USD"}, "currency", "the program&#x27;s own currency"),
        ({"currency": "XYZ"}, "currency", "Select a valid choice"),
        ({"effective_from": "2026-01-01"}, "effective_from", "has a rate from this date already"),
    ],
)
def test_the_admin_refuses_bad_rates_with_a_message_and_writes_nothing(cast, values, field, message):
    with tenant_scope(cast.tenant):
        ExchangeRate.objects.create(
            currency="EUR", rate=Decimal("1.1"), effective_from=datetime.date(2026, 1, 1)
        )
    data = {"currency": "EUR", "rate": "1.2", "effective_from": "2026-02-01", **values}
    response = client_for(cast.acme.tenant_admin).post(reverse("admin:prm_exchangerate_add"), data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert field in response.context["adminform"].form.errors
    with tenant_scope(cast.tenant):
        assert ExchangeRate.objects.count() == 1


def test_channel_managers_see_the_rates_and_only_tenant_admins_add_them(cast):
    manager = client_for(cast.manager)
    assert manager.get(reverse("admin:prm_exchangerate_changelist")).status_code == 200
    assert manager.get(reverse("admin:prm_exchangerate_add")).status_code == 403
    assert client_for(cast.acme.tenant_admin).get(reverse("admin:prm_exchangerate_add")).status_code == 200


def test_the_registration_form_offers_the_tenants_currency_first_and_those_with_a_rate(cast, post_form):
    client = client_for(cast.partner_user)
    form = client.get(reverse("dealreg:register")).context["form"]
    assert [code for code, _label in form.fields["currency"].choices] == ["USD"]
    with tenant_scope(cast.tenant):
        add_rate("GBP", "1.27")
        add_rate("EUR", "1.10")
    form = client.get(reverse("dealreg:register")).context["form"]
    assert [code for code, _label in form.fields["currency"].choices] == ["USD", "EUR", "GBP"]
    assert form["currency"].value() == "USD"
    refused = client.post(reverse("dealreg:register"), post_form(currency="CHF"))
    assert refused.status_code == 200 and "currency" in refused.context["form"].errors
    with tenant_scope(cast.tenant):
        assert not Deal.objects.exists()
    assert client.post(reverse("dealreg:register"), post_form(currency="EUR")).status_code == 302
    with tenant_scope(cast.tenant):
        assert Deal.objects.get().currency == "EUR"


def test_another_tenants_rates_count_for_nothing_here(cast):
    with tenant_scope(cast.globex.tenant):
        ExchangeRate.objects.create(currency="CHF", rate=Decimal("1.1"), effective_from=TODAY)
    form = client_for(cast.partner_user).get(reverse("dealreg:register")).context["form"]
    assert [code for code, _label in form.fields["currency"].choices] == ["USD"]


def test_the_pipeline_sums_in_the_tenants_currency_and_counts_deals_without_a_rate(cast, acme_scope):
    add_rate("EUR", "1.10")
    win_deal(cast.acme.partner, cast.partner_user, cast.manager, amount=Decimal("1000"), currency="EUR")
    win_deal(cast.acme.partner, cast.partner_user, cast.manager, amount=Decimal("1000"), currency="USD")
    win_without_rate(cast, "CHF", "5000")
    table = client_for(cast.manager).get(reverse("dealreg:pipeline")).context["table"]
    row = next(r for r in table.rows if r.record.pk == cast.acme.partner.pk)
    assert row.get_cell("won") == 3
    assert row.get_cell("won_amount") == "$2,100"
    assert row.get_cell("not_converted") == 1
