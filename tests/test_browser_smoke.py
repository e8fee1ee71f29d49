"""The browser harness itself: a partner person signs in on their tenant's host and sees their partner."""

from __future__ import annotations

import pytest

from tests.browser import sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_partner_admin_signs_in_on_the_tenants_host_and_sees_their_partner(
    cast, browser_page, portal_url, settings
):
    settings.ACCOUNT_RATE_LIMITS = False
    sign_in(browser_page, portal_url(cast.acme, "/accounts/login/"), cast.partner_admin.email)
    assert cast.acme.partner.name in browser_page.content()
    assert cast.globex.partner.name not in browser_page.content()
