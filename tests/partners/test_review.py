"""Reviewing applications: approval provisions the partner, rejection tells why, a decision is final; the
review queue page and the admin's actions."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from partners import services
from partners.models import (
    ApplicationStatus,
    IdealPartnerCriterion,
    Partner,
    PartnerApplication,
    PartnerMembership,
    PartnerProfile,
    PartnerType,
    Region,
    Stage,
    StageChange,
)
from prm.models import Membership, Role
from prm.tenancy import tenant_scope
from tests.partners.conftest import signed_in, submit


def test_approval_provisions_the_partner_its_admin_and_its_history(
    program, received, django_capture_on_commit_callbacks
):
    application = submit(program)
    with tenant_scope(program.tenant):
        PartnerApplication.objects.filter(pk=application.pk).update(
            submitted_at=timezone.now() - timedelta(days=3)
        )
        application.refresh_from_db()
        with django_capture_on_commit_callbacks(execute=True):
            partner = services.application_approve(
                application=application, reason="Strong EMEA fit", acting_user=program.manager
            )
        application.refresh_from_db()
        assert application.status == ApplicationStatus.APPROVED
        assert application.partner == partner
        assert application.decided_by == program.manager
        assert application.decision_time >= timedelta(days=3)
        partner = Partner.objects.get(pk=partner.pk)
        # Approval moves the partner to approved; onboarding, hearing partner_approved, starts at once.
        assert (partner.name, partner.stage, partner.website_domain) == (
            "Fjord Systems",
            Stage.ONBOARDING,
            "fjord-systems.example",
        )
        history = list(StageChange.objects.filter(partner=partner).values_list("from_stage", "to_stage"))
        assert history == [
            ("", Stage.APPLIED),
            (Stage.APPLIED, Stage.APPROVED),
            (Stage.APPROVED, Stage.ONBOARDING),
        ]
        applied, approved, _onboarding = StageChange.objects.filter(partner=partner)
        assert applied.changed_at == application.submitted_at
        assert approved.acting_user == program.manager and approved.reason == "Strong EMEA fit"
        link = PartnerMembership.objects.select_related("membership__user").get(partner=partner)
        assert link.membership.role == Role.PARTNER_ADMIN
        assert link.membership.user.email == "ingrid@fjord-systems.example"
        assert link.membership.user.full_name == "Ingrid Berg"
        profile = PartnerProfile.objects.get(partner=partner)
        assert profile.employee_count == 80
    assert (
        "partner_approved",
        {"tenant_id": program.tenant.pk, "partner_id": str(partner.public_id)},
    ) in received
    welcome = mail.outbox[-1]
    assert welcome.to == ["ingrid@fjord-systems.example"]
    assert "approved" in welcome.body
    assert "/accounts/password/reset/" in welcome.body and "/accounts/login/code/" in welcome.body


def test_approving_a_rejected_application_says_so_and_changes_nothing(program):
    application = submit(program)
    with tenant_scope(program.tenant):
        services.application_reject(
            application=application, reason="Out of region", acting_user=program.manager
        )
        partners_before = Partner.objects.count()
        with pytest.raises(services.RecruitmentError, match="already rejected"):
            services.application_approve(application=application, acting_user=program.manager)
        application.refresh_from_db()
        assert application.status == ApplicationStatus.REJECTED
        assert Partner.objects.count() == partners_before


def test_approving_twice_says_so_and_provisions_once(program):
    application = submit(program)
    with tenant_scope(program.tenant):
        services.application_approve(application=application, acting_user=program.manager)
        with pytest.raises(services.RecruitmentError, match="already approved"):
            services.application_approve(application=application, acting_user=program.manager)
        assert Partner.objects.filter(name="Fjord Systems").count() == 1


def test_rejection_needs_a_reason_and_emails_it(program, django_capture_on_commit_callbacks):
    application = submit(program)
    mail.outbox.clear()
    with tenant_scope(program.tenant):
        with pytest.raises(services.RecruitmentError):
            services.application_reject(application=application, reason="  ", acting_user=program.manager)
        with django_capture_on_commit_callbacks(execute=True):
            services.application_reject(
                application=application,
                reason="We have enough resellers in Norway.",
                acting_user=program.manager,
            )
        application.refresh_from_db()
        assert application.status == ApplicationStatus.REJECTED and application.decided_at is not None
    [email] = mail.outbox
    assert email.to == ["ingrid@fjord-systems.example"]
    assert "We have enough resellers in Norway." in email.body


def test_an_applicant_who_already_belongs_to_the_tenant_cannot_be_approved(program):
    application = submit(program, contact_email=program.acme.partner_user.email)
    with tenant_scope(program.tenant):
        with pytest.raises(Exception, match="already a member"):
            services.application_approve(application=application, acting_user=program.manager)
        application.refresh_from_db()
        assert application.status == ApplicationStatus.PENDING
        assert not Partner.objects.filter(name="Fjord Systems").exists()


# ---- The fit score -------------------------------------------------------------------------------------


def test_the_fit_score_weighs_the_criteria_the_application_meets(program):
    best = submit(program)
    partial = submit(
        program,
        website="https://partial.example",
        partner_type="msp",
        region=Region.NORTH_AMERICA,
        employee_count="60",
    )
    assert best.fit_score == 100
    # Misses type (40) and region (30); meets size (20) and the SaaS answer (10).
    assert partial.fit_score == 30
    assert [(r["label"], r["met"]) for r in partial.fit_reasons] == [
        ("Is a reseller", False),
        ("Sells in EMEA", False),
        ("At least 50 employees", True),
        ("Already sells SaaS", True),
    ]


def test_without_an_ideal_partner_profile_there_is_no_score(cast):
    application = submit(cast)
    assert application.fit_score is None and application.fit_reasons == []


# ---- The review queue page ------------------------------------------------------------------------------

ROW = re.compile(r'<th scope="row"><a href="/applications/[^"]+/">([^<]+)</a></th>')


@pytest.fixture
def queue(program):
    submit(program, company_name="Best Fit", website="https://best.example")
    submit(
        program,
        company_name="Half Fit",
        website="https://half.example",
        region=Region.APAC,
        employee_count="5",
    )
    submit(
        program,
        company_name="Poor Fit",
        website="https://poor.example",
        partner_type="referral",
        region=Region.LATIN_AMERICA,
        employee_count="3",
        **{"q_sells-saas": "no"},
    )
    decided = submit(program, company_name="Decided Co", website="https://decided.example")
    with tenant_scope(program.tenant):
        services.application_reject(application=decided, reason="No", acting_user=program.manager)
        # The oldest waits longest.
        PartnerApplication.objects.filter(company_name="Poor Fit").update(
            submitted_at=timezone.now() - timedelta(days=9)
        )
    return program


def test_staff_see_pending_applications_best_fit_first(queue):
    response = signed_in(queue.manager, queue.host).get("/applications/")
    assert response.status_code == 200
    body = response.content.decode()
    assert ROW.findall(body) == ["Best Fit", "Half Fit", "Poor Fit"]
    assert "3 applications" in body


def test_the_queue_sorts_by_age_and_filters_by_type_region_and_status(queue):
    client = signed_in(queue.manager, queue.host)
    oldest_first = ROW.findall(client.get("/applications/?sort=-submitted").content.decode())
    assert oldest_first[0] == "Poor Fit"
    assert ROW.findall(client.get("/applications/?sort=fit_score").content.decode())[0] == "Poor Fit"
    assert ROW.findall(client.get("/applications/?partner_type=referral").content.decode()) == ["Poor Fit"]
    assert ROW.findall(client.get("/applications/?region=APAC").content.decode()) == ["Half Fit"]
    assert ROW.findall(client.get("/applications/?status=rejected").content.decode()) == ["Decided Co"]
    assert len(ROW.findall(client.get("/applications/?status=").content.decode())) == 4


def test_the_queue_exports_csv_with_its_filters(queue):
    response = signed_in(queue.manager, queue.host).get("/applications/?region=EMEA&_export=csv")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:2] == ["Company", "Type"]
    assert [row[0] for row in rows[1:]] == ["Best Fit"]


def test_the_queue_reads_a_fixed_number_of_rows(queue, django_assert_num_queries):
    client = signed_in(queue.manager, queue.host)
    client.get("/applications/")
    with django_assert_num_queries(QUEUE_QUERIES):
        client.get("/applications/")
    for n in range(6):
        submit(queue, company_name=f"More {n}", website=f"https://more{n}.example")
    with django_assert_num_queries(QUEUE_QUERIES):
        client.get("/applications/")


QUEUE_QUERIES = 9


def test_partner_people_and_other_tenants_get_no_queue(queue):
    with tenant_scope(queue.tenant):
        application = PartnerApplication.objects.get(company_name="Best Fit")
    for user in (queue.partner_admin, queue.partner_user):
        client = signed_in(user, queue.host)
        assert client.get("/applications/").status_code == 404
        assert client.get(f"/applications/{application.public_id}/").status_code == 404
    outsider = signed_in(queue.outsider, queue.globex.host)
    response = outsider.get(f"/applications/{application.public_id}/")
    assert response.status_code == 404
    response = outsider.post(f"/applications/{application.public_id}/decide/", {"decision": "approve"})
    assert response.status_code == 404
    with tenant_scope(queue.tenant):
        assert PartnerApplication.objects.get(pk=application.pk).status == ApplicationStatus.PENDING


def test_the_detail_page_shows_the_reasons_and_decides(queue, django_capture_on_commit_callbacks):
    with tenant_scope(queue.tenant):
        application = PartnerApplication.objects.get(company_name="Half Fit")
    client = signed_in(queue.manager, queue.host)
    body = client.get(f"/applications/{application.public_id}/").content.decode()
    # Reseller (40) and the SaaS answer (10); misses the region and the size.
    assert "Fit score: 50 of 100" in body
    reasons = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", body))
    assert "✗ Misses: Sells in EMEA (weight 30)" in reasons
    assert "✓ Meets: Is a reseller (weight 40)" in reasons

    response = client.post(
        f"/applications/{application.public_id}/decide/", {"decision": "reject", "reason": ""}
    )
    assert response.status_code == 302
    with tenant_scope(queue.tenant):
        assert PartnerApplication.objects.get(pk=application.pk).status == ApplicationStatus.PENDING

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/applications/{application.public_id}/decide/", {"decision": "approve"}, follow=True
        )
    assert "Half Fit is approved" in response.content.decode()
    response = client.post(
        f"/applications/{application.public_id}/decide/", {"decision": "reject", "reason": "x"}, follow=True
    )
    assert "already approved" in response.content.decode()


# ---- The admin's review queue ---------------------------------------------------------------------------


def test_the_admin_lists_applications_with_their_fit_score(queue):
    body = signed_in(queue.manager, queue.host).get("/admin/partners/partnerapplication/").content.decode()
    assert "Best Fit" in body and "Fit score" in body.replace("fit score", "Fit score")


def test_the_admin_approves_and_rejects_with_a_reason(queue, django_capture_on_commit_callbacks):
    with tenant_scope(queue.tenant):
        best = PartnerApplication.objects.get(company_name="Best Fit")
        poor = PartnerApplication.objects.get(company_name="Poor Fit")
    client = signed_in(queue.manager, queue.host)
    url = "/admin/partners/partnerapplication/"
    page = client.post(url, {"action": "approve_selected", "_selected_action": [best.pk]})
    assert page.status_code == 200 and "Approving creates each partner" in page.content.decode()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            url,
            {
                "action": "approve_selected",
                "_selected_action": [best.pk],
                "apply": "1",
                "reason": "Welcome",
            },
        )
        client.post(
            url,
            {
                "action": "reject_selected",
                "_selected_action": [poor.pk],
                "apply": "1",
                "reason": "Not a fit",
            },
        )
    with tenant_scope(queue.tenant):
        best.refresh_from_db()
        poor.refresh_from_db()
        assert best.status == ApplicationStatus.APPROVED and best.partner.stage == Stage.ONBOARDING
        assert poor.status == ApplicationStatus.REJECTED and poor.decision_reason == "Not a fit"
        assert Membership.objects.filter(user__email=best.contact_email, role=Role.PARTNER_ADMIN).exists()
    assert sorted(m.to[0] for m in mail.outbox) == sorted([best.contact_email, poor.contact_email])

    # Approving the rejected one now: a clear message, nothing changes.
    response = client.post(
        url,
        {"action": "approve_selected", "_selected_action": [poor.pk], "apply": "1", "reason": ""},
        follow=True,
    )
    assert "already rejected" in response.content.decode()
    with tenant_scope(queue.tenant):
        poor.refresh_from_db()
        assert poor.status == ApplicationStatus.REJECTED and poor.partner is None
        assert PartnerType.objects.exists()


def test_changing_the_ideal_partner_profile_in_the_admin_rescores_pending_applications(queue):
    with tenant_scope(queue.tenant):
        region = IdealPartnerCriterion.objects.get(label="Sells in EMEA")
        decided = PartnerApplication.objects.get(company_name="Decided Co")
    client = signed_in(queue.acme.tenant_admin, queue.host)
    response = client.post(f"/admin/partners/idealpartnercriterion/{region.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    with tenant_scope(queue.tenant):
        # Half Fit met 50 of 100; without the region's 30 it meets 50 of 70.
        assert PartnerApplication.objects.get(company_name="Half Fit").fit_score == 71
        assert PartnerApplication.objects.get(pk=decided.pk).fit_score == decided.fit_score


def test_rescoring_reads_and_writes_in_the_same_number_of_queries_however_many_wait(
    queue, django_assert_num_queries
):
    with tenant_scope(queue.tenant), CaptureQueriesContext(connection) as three:
        assert services.applications_rescore_pending() == 3
    for n in range(7):
        submit(queue, company_name=f"More {n}", website=f"https://more-{n}.example")
    with tenant_scope(queue.tenant), django_assert_num_queries(len(three.captured_queries)):
        assert services.applications_rescore_pending() == 10
    with tenant_scope(queue.tenant):
        assert PartnerApplication.objects.get(company_name="Half Fit").fit_score == 50


def test_the_partner_page_shows_staff_the_application_and_everyone_the_profile(program):
    application = submit(program)
    with tenant_scope(program.tenant):
        partner = services.application_approve(application=application, acting_user=program.manager)
    staff = signed_in(program.manager, program.host).get(f"/partners/{partner.slug}/").content.decode()
    assert f"/applications/{application.public_id}/" in staff and "Fit score: 100 of 100" in staff
    assert "Cloud migration" in staff
    with tenant_scope(program.tenant):
        admin = PartnerMembership.objects.get(partner=partner).membership.user
    own = signed_in(admin, program.host).get(f"/partners/{partner.slug}/").content.decode()
    assert "Cloud migration" in own and "/applications/" not in own


def test_the_queue_says_how_long_an_application_waits_in_the_readers_language(queue):
    client = signed_in(queue.manager, queue.host)
    assert "1 week, 2 days ago" in client.get("/applications/").content.decode().replace("\xa0", " ")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "de"
    assert "1 Woche, 2 Tage her" in client.get("/applications/").content.decode().replace("\xa0", " ")


def test_a_double_submit_that_passes_the_check_twice_still_makes_one_application(program, monkeypatch):
    submit(program, company_name="Twice", website="https://twice.example")
    # The second request checked before the first had saved: the database's constraint decides.
    monkeypatch.setattr(services, "application_domain_taken", lambda domain: False)
    monkeypatch.setattr(PartnerApplication, "validate_constraints", lambda self, exclude=None: None)
    with pytest.raises(services.RecruitmentError, match="already exists"):
        submit(program, company_name="Twice", website="https://twice.example")
    with tenant_scope(program.tenant):
        assert PartnerApplication.objects.filter(website_domain="twice.example").count() == 1
