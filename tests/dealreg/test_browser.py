"""The issue's story in a browser: a conflicting registration, what each party sees, approval from the queue
into the CRM emulator, and the expiry of an old approval."""

from __future__ import annotations

import datetime
import time

import pytest

from dealreg import services
from dealreg.models import Deal, DealStatus
from dealreg.tasks import deals_sweep
from prm.tenancy import tenant_scope
from tests.browser import sign_in
from tests.crm_sync.conftest import CLIENT_ID, CLIENT_SECRET
from tests.crm_sync.test_connection import save_connection
from tests.dealreg.conftest import register

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
    context.close()  # ends its keep-alive connections, and with them the server threads' database sessions


def test_a_conflicting_registration_is_reviewed_approved_mirrored_and_an_old_one_expires(
    cast, emulator, browser_page, manager_page, portal_url, settings
):
    settings.ACCOUNT_RATE_LIMITS = False
    acme = cast.acme
    save_connection(
        acme.tenant,
        login_url=emulator.url,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        ca_cert_path=str(emulator.ca_path),
    )
    with tenant_scope(acme.tenant):
        register(
            acme.other_partner,
            acme.other_partner_user,
            customer_name="Contoso Ltd",
            customer_domain="contoso.example",
        )

    # The partner registers a deal whose customer another partner registered already.
    partner_page = browser_page
    sign_in(partner_page, portal_url(acme, "/accounts/login/"), acme.partner_user.email)
    partner_page.goto(portal_url(acme, "/deals/new/"))
    partner_page.fill("input[name=customer_name]", "Contoso Limited")
    partner_page.wait_for_selector("#conflict-check:has-text('Possible conflict')")
    partner_page.fill("input[name=customer_domain]", "www.contoso.example")
    partner_page.fill("input[name=customer_country]", "GB")
    partner_page.fill("input[name=name]", "Contoso data platform")
    partner_page.fill("input[name=contact_name]", "Casey Buyer")
    partner_page.fill("input[name=products]", "Data platform")
    partner_page.fill("input[name=amount]", "72000")
    partner_page.fill(
        "input[name=expected_close_date]", (datetime.date.today() + datetime.timedelta(days=60)).isoformat()
    )
    partner_page.click("button:has-text('Register the deal')")
    partner_page.wait_for_selector("text=the channel team will review")
    assert acme.other_partner.name not in partner_page.content()
    with tenant_scope(acme.tenant):
        deal = Deal.objects.get(name="Contoso data platform")

    # The manager sees both registrations side by side and approves from the queue.
    sign_in(manager_page, portal_url(acme, "/accounts/login/"), acme.manager.email)
    manager_page.goto(portal_url(acme, "/deals/queue/"))
    manager_page.click("text=Contoso data platform")
    conflicts = manager_page.locator("section[aria-labelledby=conflicts-heading]")
    assert acme.partner.name in conflicts.inner_text()
    assert acme.other_partner.name in conflicts.inner_text()
    manager_page.fill("textarea[name=reason]", "First to bring a qualified opportunity")
    manager_page.click("button:has-text('Approve')")
    manager_page.wait_for_selector("text=The registration is approved.")

    # Within seconds the CRM holds the Opportunity, linked to the partner's Account.
    opportunity = wait_for(
        lambda: {r[EXT]: r for r in emulator.records("Opportunity")}.get(str(deal.public_id))
    )
    partner_account = {r[EXT]: r for r in emulator.records("Account")}[str(acme.partner.public_id)]
    assert opportunity["PRM_Partner_Account__c"] == partner_account["Id"]

    partner_page.reload()
    assert "Approved" in partner_page.content()
    assert "First to bring a qualified opportunity" in partner_page.content()

    # An old approval expires through the expiry task, and the partner sees it.
    with tenant_scope(acme.tenant):
        old = services.deal_approve(
            deal=register(acme.partner, acme.partner_user, name="Old deal", customer_domain="old.example"),
            acting_user=acme.manager,
        )
        Deal.objects.filter(pk=old.pk).update(
            protection_expires_on=datetime.date.today() - datetime.timedelta(days=1)
        )
    deals_sweep.delay(acme.tenant.pk)
    with tenant_scope(acme.tenant):
        old.refresh_from_db()
    assert old.status == DealStatus.EXPIRED
    partner_page.goto(portal_url(acme, old.get_absolute_url()))
    assert "Expired" in partner_page.content()
