"""The issue's story in a browser: a manager moves a partner from Silver to Gold in the admin with a reason;
the partner sees the new tier and its benefits; the history and the CRM Account's tier follow; a won deal
accrues its rebate at the Gold rate."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from incentives.models import LedgerEntry, TierChange
from prm.money import money
from prm.tenancy import tenant_scope
from tests.browser import sign_in
from tests.crm_sync.conftest import CLIENT_ID, CLIENT_SECRET
from tests.crm_sync.test_connection import save_connection
from tests.incentives.conftest import rule, win_deal

pytestmark = pytest.mark.django_db(transaction=True)

EXT = "PRM_External_Id__c"


def wait_for(condition, *, seconds: float = 10.0):
    """The condition's value once it is truthy; fails after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"not met within {seconds} s")


@pytest.fixture
def manager_page(chromium):
    """A second browser, with cookies of its own, for the channel manager."""
    context = chromium.new_context()
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def test_a_manager_moves_a_partner_to_gold_and_the_partner_sees_it_and_earns_gold_rebates(
    cast, emulator, browser_page, manager_page, portal_url, settings
):
    settings.ACCOUNT_RATE_LIMITS = False
    acme = cast.acme
    partner = acme.other_partner  # Silver
    save_connection(
        acme.tenant,
        login_url=emulator.url,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        ca_cert_path=str(emulator.ca_path),
    )

    # The manager moves the partner in the admin, with a reason.
    sign_in(manager_page, portal_url(acme, "/accounts/login/"), acme.manager.email)
    manager_page.goto(portal_url(acme, "/admin/incentives/partnertier/"))
    manager_page.check(f"input[name=_selected_action][value='{partner.pk}']")
    manager_page.select_option("select[name=action]", "move_to_tier")
    manager_page.click("button[name=index]")
    manager_page.select_option("select[name=tier]", label="Gold")
    manager_page.fill("textarea[name=reason]", "Three strong quarters and two new certifications")
    manager_page.click("input[name=apply]")
    manager_page.wait_for_selector("text=1 done.")

    with tenant_scope(acme.tenant):
        change = TierChange.objects.select_related("from_tier", "to_tier").get(partner=partner)
        gold_rate = rule("gold").rebate_percent
    assert (change.from_tier.name, change.to_tier.name, change.changed_by) == ("Silver", "Gold", acme.manager)
    assert change.reason == "Three strong quarters and two new certifications"

    # The CRM Account's tier field follows.
    def account_tier():
        accounts = {record[EXT]: record for record in emulator.records("Account")}
        return accounts.get(str(partner.public_id), {}).get("PRM_Tier__c")

    assert wait_for(lambda: account_tier() == "Gold")

    # The partner sees the new tier and its benefits, and the move in its history.
    sign_in(browser_page, portal_url(acme, "/accounts/login/"), acme.other_partner_admin.email)
    browser_page.goto(portal_url(acme, "/incentives/"))
    assert "Current tier: Gold" in browser_page.inner_text("#current-heading")
    benefits = browser_page.inner_text("#benefits")
    assert f"{gold_rate} %" in benefits
    assert "Three strong quarters" in browser_page.inner_text("section[aria-labelledby=history-heading]")

    # A won deal accrues its rebate at the Gold rate.
    with tenant_scope(acme.tenant):
        deal = win_deal(partner, acme.other_partner_user, acme.manager, amount=Decimal("50000"))
        entry = wait_for(lambda: LedgerEntry.objects.filter(deal=deal).first())
    assert entry.rate == gold_rate
    assert entry.amount == (Decimal("50000") * gold_rate / 100).quantize(Decimal("0.01"))
    browser_page.reload()
    assert money(entry.amount, "USD", language="en") in browser_page.inner_text("#ledger")
