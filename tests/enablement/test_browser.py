"""The issue's walk-through in a browser: a manager uploads an asset for Gold resellers only; a Gold reseller
sees and downloads it while a Silver reseller gets a 404; a partner user passes a course's quiz, sees the
certificate, course_passed is sent, and the onboarding task that names the course is done."""

from __future__ import annotations

import pytest

from enablement.models import Asset
from onboarding import services as onboarding_services
from onboarding.models import OnboardingTask, PlanTask, TaskKind, TaskStatus
from partners.models import PartnerType, Tier
from prm import events
from prm.tenancy import tenant_scope
from tests.browser import sign_in
from tests.enablement.samples import TINY_PDF, sample_content

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def course_passed_events():
    calls = []

    def receiver(sender, **kwargs):
        calls.append(kwargs)

    events.course_passed.connect(receiver, dispatch_uid="browser-course-passed")
    yield calls
    events.course_passed.disconnect(dispatch_uid="browser-course-passed")


@pytest.fixture
def new_page(chromium):
    """new_page() -> a page in a browser context of its own (its own cookies: one person each)."""
    contexts = []

    def make():
        context = chromium.new_context()
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def test_gold_only_asset_and_a_passed_course_end_to_end(
    cast, new_page, portal_url, settings, course_passed_events
):
    settings.ACCOUNT_RATE_LIMITS = False
    acme = cast.acme
    with tenant_scope(cast.tenant):
        content = sample_content(acme)
        gold = Tier.objects.get(slug="gold")
        reseller = PartnerType.objects.get(slug="reseller")

    # A channel manager uploads a price list for Gold resellers only, in the tenant admin.
    manager = new_page()
    sign_in(manager, portal_url(acme, "/accounts/login/"), cast.manager.email)
    manager.goto(portal_url(acme, "/admin/enablement/asset/add/"))
    manager.fill("#id_title", "Gold reseller price list")
    manager.select_option("#id_kind", "file")
    manager.set_input_files(
        "#id_file", files=[{"name": "price-list.pdf", "mimeType": "application/pdf", "buffer": TINY_PDF}]
    )
    manager.check(f"#id_audience_tiers input[value='{gold.pk}']")
    manager.check(f"#id_audience_partner_types input[value='{reseller.pk}']")
    manager.click("input[name=_save]")
    manager.wait_for_url(lambda url: url.endswith("/admin/enablement/asset/"))
    assert "Gold reseller price list" in manager.content()
    with tenant_scope(cast.tenant):
        asset = Asset.objects.get(title="Gold reseller price list")

    # Northwind, a Gold reseller: sees it in the library and downloads the file.
    bob = new_page()
    sign_in(bob, portal_url(acme, "/accounts/login/"), cast.partner_user.email)
    bob.goto(portal_url(acme, "/enablement/"))
    bob.click("text=Gold reseller price list")
    with bob.expect_download() as download_info:
        bob.click("text=Download")
    download = download_info.value
    assert download.suggested_filename == "price-list.pdf"
    with open(download.path(), "rb") as handle:
        assert handle.read() == TINY_PDF

    # Contoso, a Silver reseller: not in their library, and the asset's page and file are 404s.
    charlie = new_page()
    sign_in(charlie, portal_url(acme, "/accounts/login/"), cast.other_partner_user.email)
    charlie.goto(portal_url(acme, "/enablement/"))
    assert "Gold reseller price list" not in charlie.content()
    assert charlie.goto(portal_url(acme, f"/enablement/assets/{asset.public_id}/")).status == 404
    assert charlie.goto(portal_url(acme, f"/enablement/assets/{asset.public_id}/download")).status == 404

    # Northwind's onboarding has a task that passing this course completes.
    with tenant_scope(cast.tenant):
        plan = onboarding_services.plan_for(acme.partner)
        PlanTask.objects.create(
            plan=plan,
            position=99,
            title="Pass the platform course",
            kind=TaskKind.COURSE_PASSED,
            course_ref=str(content.course.public_id),
        )
        onboarding_services.onboarding_start(partner=acme.partner, acting_user=None)
        course_task = OnboardingTask.objects.get(
            onboarding__partner=acme.partner, title="Pass the platform course"
        )
        assert course_task.status == TaskStatus.OPEN
    # Bob takes the course's quiz, passes, and sees his certificate.
    bob.goto(portal_url(acme, "/enablement/courses/"))
    bob.click(f"text={content.course.title}")
    bob.click("button:has-text('Take the quiz')")
    bob.check("label:has-text('Right') input")
    bob.click("button:has-text('Submit answers')")
    bob.wait_for_selector("text=You passed with 100%")
    bob.click(f"text=Your {content.certification.name} certificate")
    bob.wait_for_selector("text=Valid today")
    assert cast.partner_user.full_name in bob.content()
    # Sent on commit of the submit, before its redirect answered.
    assert len(course_passed_events) == 1
    assert course_passed_events[0]["partner_id"] == acme.partner.public_id
    assert course_passed_events[0]["course_id"] == content.course.public_id
    assert course_passed_events[0]["user_id"] == cast.partner_user.pk

    # ... and the onboarding task it names is done.
    course_task.refresh_from_db()
    assert course_task.status == TaskStatus.DONE
    # The share page works for anyone with the link.
    stranger = new_page()
    stranger.goto(bob.url)
    assert "Valid today" in stranger.content()
