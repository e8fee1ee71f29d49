"""Deal registration in the tenant admin: the queue's bulk decisions and the tenant's settings."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal

import pytest
from django.test import Client

from dealreg.models import Deal, DealRegSettings, DealStatus
from prm.models import ExchangeRate
from prm.tenancy import tenant_scope
from tests.dealreg.conftest import register

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/dealreg/deal/"


def admin_client(user, host="acme.localhost") -> Client:
    client = Client(HTTP_HOST=host)
    client.force_login(user)
    return client


def two_deals(cast):
    with tenant_scope(cast.tenant):
        first = register(
            cast.acme.partner, cast.partner_user, customer_domain="one.example", customer_name="One"
        )
        second = register(
            cast.acme.partner, cast.partner_user, customer_domain="two.example", customer_name="Two"
        )
    return first, second


def statuses(cast, *deals):
    with tenant_scope(cast.tenant):
        return [Deal.objects.get(pk=deal.pk).status for deal in deals]


def test_a_manager_bulk_approves_from_the_admin(cast):
    first, second = two_deals(cast)
    client = admin_client(cast.manager)
    page = client.get(CHANGELIST, {"status__exact": "submitted"})
    assert page.status_code == 200 and "One" in page.content.decode()
    ask = client.post(CHANGELIST, {"action": "approve_selected", "_selected_action": [first.pk, second.pk]})
    assert ask.status_code == 200 and "Confirm" in ask.content.decode()
    client.post(
        CHANGELIST, {"action": "approve_selected", "_selected_action": [first.pk, second.pk], "apply": "1"}
    )
    assert statuses(cast, first, second) == [DealStatus.APPROVED, DealStatus.APPROVED]


def test_a_bulk_rejection_needs_a_reason_and_records_it(cast):
    first, second = two_deals(cast)
    client = admin_client(cast.manager)
    data = {"action": "reject_selected", "_selected_action": [first.pk, second.pk], "apply": "1"}
    again = client.post(CHANGELIST, {**data, "reason": ""})
    assert again.status_code == 200
    assert statuses(cast, first, second) == [DealStatus.SUBMITTED, DealStatus.SUBMITTED]
    client.post(CHANGELIST, {**data, "reason": "Direct account"})
    assert statuses(cast, first, second) == [DealStatus.REJECTED, DealStatus.REJECTED]
    with tenant_scope(cast.tenant):
        assert Deal.objects.get(pk=first.pk).events.last().reason == "Direct account"


def test_only_tenant_admins_change_the_settings(cast):
    with tenant_scope(cast.tenant):
        settings = DealRegSettings.current()
    url = f"/admin/dealreg/dealregsettings/{settings.pk}/change/"
    form = {
        "protection_days": "60",
        "sla_business_days": "3",
        "close_date_tolerance_days": "7",
        "name_match_threshold": "90",
        "auto_approve_max_amount": "",
        "extra_fields": "[]",
    }
    admin_client(cast.manager).post(url, form)
    with tenant_scope(cast.tenant):
        assert DealRegSettings.current().protection_days == 90
    response = admin_client(cast.acme.tenant_admin).post(url, form)
    assert response.status_code == 302
    with tenant_scope(cast.tenant):
        assert DealRegSettings.current().protection_days == 60


def test_the_deal_admin_offers_the_currencies_the_program_can_count(cast):
    with tenant_scope(cast.tenant):
        ExchangeRate.objects.create(
            currency="EUR", rate=Decimal("1.10"), effective_from=datetime.date(2026, 1, 1)
        )
        deal = register(cast.acme.partner, cast.partner_user, customer_domain="one.example")
    page = admin_client(cast.manager).get(f"{CHANGELIST}{deal.pk}/change/").content.decode()
    select = page[page.index('name="currency"') : page.index("</select>", page.index('name="currency"'))]
    assert re.findall(r'<option value="(\w+)"', select) == ["USD", "EUR"]
