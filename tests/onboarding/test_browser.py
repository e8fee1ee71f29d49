"""In the browser: a partner admin signs in, sees the onboarding plan on the home page, ticks a manual task,
and the progress updates."""

from __future__ import annotations

import re

import pytest

from onboarding.models import OnboardingTask, TaskKind, TaskStatus
from prm.tenancy import tenant_scope
from tests.browser import sign_in
from tests.onboarding.helpers import approve

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_partner_admin_ticks_a_task_and_sees_the_progress_move(cast, browser_page, portal_url, settings):
    settings.ACCOUNT_RATE_LIMITS = False
    with tenant_scope(cast.tenant):
        approve(cast.acme.partner)
        total = OnboardingTask.objects.filter(onboarding__partner=cast.acme.partner).count()
        task = OnboardingTask.objects.filter(
            onboarding__partner=cast.acme.partner, kind=TaskKind.MANUAL, requires_signoff=False
        ).first()
    page = browser_page
    sign_in(page, portal_url(cast.acme, "/accounts/login/"), cast.partner_admin.email)

    panel = page.locator("#onboarding-progress")
    # The first sign-in itself completed the "sign in to the portal" task.
    panel.get_by_text(f"1 of {total} tasks done").wait_for()
    assert panel.locator("progress").get_attribute("value") == "1"
    assert "Next:" in panel.inner_text()

    panel.get_by_role("button", name=re.compile(re.escape(task.title))).click()
    page.locator("#onboarding-progress").get_by_text(f"2 of {total} tasks done").wait_for()
    assert page.locator("#onboarding-progress progress").get_attribute("value") == "2"
    assert f"“{task.title}” is done." in page.locator("#onboarding-progress").inner_text()
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE and task.completed_by == cast.partner_admin

    # Without htmx's swap, a reload shows the same progress.
    page.reload()
    page.locator("#onboarding-progress").get_by_text(f"2 of {total} tasks done").wait_for()
