"""The recruitment walk in a real browser: apply on acme's host, a channel manager approves in the admin,
the new partner admin sets a password from the emailed invitation, must accept the program agreement,
lands on the home page, sees the onboarding plan there, ticks a manual task and sees the progress move."""

from __future__ import annotations

import re
import time
from urllib.parse import urlsplit

import pytest
from django.core import mail

from onboarding.models import OnboardingTask, TaskKind, TaskStatus
from partners.models import ApplicationStatus, Partner, PartnerApplication, ProgramAgreement, Stage
from prm.tenancy import tenant_scope
from tests.browser import sign_in

pytestmark = pytest.mark.django_db(transaction=True)

NEW_PASSWORD = "quiet-harbour-sunrise-42"


def wait_for_mail(to: str, containing: str, deadline: float = 15.0):
    """The newest email to `to` whose body contains `containing`, waiting for the live server's thread."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        for message in reversed(mail.outbox):
            if to in message.to and containing in message.body:
                return message
        time.sleep(0.05)
    raise AssertionError(f"no email to {to} containing {containing!r}: {[m.subject for m in mail.outbox]}")


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def test_apply_approve_set_a_password_and_accept_the_agreement(cast, chromium, portal_url, settings):
    settings.ACCOUNT_RATE_LIMITS = False
    with tenant_scope(cast.tenant):
        ProgramAgreement.objects.create(
            version=1, title="Acme partner program agreement", body="The partner resells Acme Cloud."
        )

    # 1. An applicant applies on acme's public form.
    applicant = chromium.new_context().new_page()
    applicant.set_default_timeout(15_000)
    applicant.goto(portal_url(cast.acme, "/apply/"))
    applicant.fill("#id_company_name", "Fjord Systems")
    applicant.fill("#id_website", "https://fjord-systems.example")
    applicant.fill("#id_country", "NO")
    applicant.select_option("#id_region", "EMEA")
    applicant.select_option("#id_partner_type", "reseller")
    applicant.fill("#id_employee_count", "80")
    applicant.fill("#id_contact_name", "Ingrid Berg")
    applicant.fill("#id_contact_email", "ingrid@fjord-systems.example")
    applicant.click("button[type=submit]:has-text('Send application')")
    applicant.wait_for_url(re.compile(r"/apply/thanks/$"))
    assert "Thank you for applying" in applicant.content()
    applicant.context.close()

    # 2. A channel manager approves it in the admin, with a reason.
    manager = chromium.new_context().new_page()
    manager.set_default_timeout(15_000)
    sign_in(manager, portal_url(cast.acme, "/accounts/login/"), cast.manager.email)
    manager.goto(portal_url(cast.acme, "/admin/partners/partnerapplication/"))
    row = manager.locator("tr", has_text="Fjord Systems")
    row.locator("input.action-select").check()
    manager.select_option("select[name=action]", "approve_selected")
    manager.click("button[name=index]")
    manager.fill("textarea[name=reason]", "A strong reseller for the Nordics.")
    manager.click("input[type=submit][value=Approve]")
    manager.wait_for_selector("text=1 application(s) approved")
    manager.context.close()
    with tenant_scope(cast.tenant):
        application = PartnerApplication.objects.select_related("partner").get()
        assert application.status == ApplicationStatus.APPROVED
        assert application.partner.stage in (Stage.APPROVED, Stage.ONBOARDING)

    # 3. The new partner admin gets the invitation and chooses a password.
    invitation = wait_for_mail("ingrid@fjord-systems.example", "/accounts/password/reset/")
    reset_url = re.search(r"https?://\S+/accounts/password/reset/", invitation.body).group(0)
    admin = chromium.new_context().new_page()
    admin.set_default_timeout(15_000)
    admin.goto(portal_url(cast.acme, path_of(reset_url)))
    admin.fill("input[name=email]", "ingrid@fjord-systems.example")
    admin.click("button[type=submit]")
    reset = wait_for_mail("ingrid@fjord-systems.example", "/accounts/password/reset/key/")
    key_url = re.search(r"https?://\S+/accounts/password/reset/key/\S+", reset.body).group(0)
    admin.goto(portal_url(cast.acme, path_of(key_url)))
    admin.fill("input[name=password1]", NEW_PASSWORD)
    admin.fill("input[name=password2]", NEW_PASSWORD)
    admin.click("button[type=submit]")
    admin.wait_for_url(re.compile(r"/accounts/password/reset/key/done/$"))

    # 4. Signing in, the portal first asks for the program agreement.
    sign_in(admin, portal_url(cast.acme, "/accounts/login/"), "ingrid@fjord-systems.example", NEW_PASSWORD)
    # Choosing the password from the emailed link proved the address: no second confirmation is asked.
    assert "/accounts/confirm-email/" not in admin.url
    admin.goto(portal_url(cast.acme, "/"))
    admin.wait_for_url(re.compile(r"/agreement/$"))
    assert "The partner resells Acme Cloud." in admin.content()
    admin.fill("#id_typed_name", "Ingrid Berg")
    admin.check("#id_confirm")
    admin.click("button[type=submit]:has-text('Accept the agreement')")

    # 5. ... and then opens: the home page of Fjord Systems, with its onboarding plan.
    admin.wait_for_url(re.compile(r":\d+/$"))
    content = admin.content()
    assert "Welcome, Ingrid" in content
    assert "Fjord Systems" in content
    with tenant_scope(cast.tenant):
        partner = Partner.objects.get(name="Fjord Systems")
        assert partner.stage == Stage.ONBOARDING
        tasks = OnboardingTask.objects.filter(onboarding__partner=partner)
        total = tasks.count()
        # Signing in and accepting the agreement completed their tasks by themselves.
        done = tasks.filter(status=TaskStatus.DONE).count()
        task = tasks.filter(kind=TaskKind.MANUAL, requires_signoff=False, status=TaskStatus.OPEN).first()
    assert done >= 2
    panel = admin.locator("#onboarding-progress")
    panel.get_by_text(f"{done} of {total} tasks done").wait_for()

    # 6. Ticking a manual task moves the progress on.
    panel.get_by_role("button", name=re.compile(re.escape(task.title))).click()
    admin.locator("#onboarding-progress").get_by_text(f"{done + 1} of {total} tasks done").wait_for()
    assert admin.locator("#onboarding-progress progress").get_attribute("value") == str(done + 1)
    admin.context.close()
