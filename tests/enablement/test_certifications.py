"""Certificates: earned by passing every named course, valid for N months, reminders 30 and 7 days before
expiry (once each), renewal, the certified-people counts for the tier rules, and the share page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from enablement import selectors, services, tasks
from enablement.models import CertificationAward, Course, CourseProgress
from partners.models import Tier
from prm.tenancy import tenant_scope
from tests.enablement.conftest import signed_in
from tests.enablement.samples import sample_award


def pass_course(tc, course, user, partner):
    attempt = services.quiz_attempt_start(course=course, partner=partner, acting_user=user)
    question = course.questions.get()
    right = question.choices.get(is_correct=True)
    return services.quiz_attempt_submit(attempt=attempt, answers={question.pk: {right.pk}}, acting_user=user)


def test_a_certificate_needs_every_named_course_and_lasts_its_months(cast, content):
    tc = cast.acme
    with tenant_scope(cast.tenant):
        second = Course.objects.create(title="Advanced", pass_mark=100)
        q = second.questions.create(text="Sure?")
        q.choices.create(text="Yes", is_correct=True)
        content.certification.courses.add(second)
        content.certification.valid_months = 6
        content.certification.save()
        pass_course(tc, content.course, cast.partner_user, tc.partner)
        assert not CertificationAward.objects.exists()
        pass_course(tc, second, cast.partner_user, tc.partner)
        award = CertificationAward.objects.get()
        assert award.expires_at.month == ((award.issued_at.month + 5) % 12) + 1
        assert award.is_valid()


def test_certified_people_counts_count_valid_certificates_per_partner_in_one_query(
    cast, content, django_assert_num_queries
):
    tc = cast.acme
    with tenant_scope(cast.tenant):
        pass_course(tc, content.course, cast.partner_user, tc.partner)
        pass_course(tc, content.course, tc.partner_admin, tc.partner)
        pass_course(tc, content.course, tc.other_partner_user, tc.other_partner)
        # An expired certificate does not count.
        CertificationAward.objects.filter(user=tc.other_partner_user).update(
            expires_at=timezone.now() - timedelta(days=1)
        )
        with django_assert_num_queries(1):
            counts = selectors.certified_people_counts()
        assert counts == {tc.partner.pk: 2}
        assert selectors.certified_people_count(tc.partner) == 2
        assert selectors.certified_people_count(tc.other_partner) == 0


@pytest.fixture
def expiring(cast, content):
    """The cast's partner user's certificate, to expire in 40 days."""
    with tenant_scope(cast.tenant):
        award = sample_award(cast.acme)
        award.expires_at = timezone.now() + timedelta(days=40)
        award.save()
        return award


def run_reminders(cast, now):
    with tenant_scope(cast.tenant):
        return services.certification_reminders_send(now=now)


def test_reminders_go_out_30_and_7_days_before_expiry_once_each(cast, expiring, mailoutbox):
    now = timezone.now()
    assert run_reminders(cast, now) == 0
    assert run_reminders(cast, now + timedelta(days=11)) == 1
    assert run_reminders(cast, now + timedelta(days=12)) == 0
    assert run_reminders(cast, now + timedelta(days=34)) == 1
    assert run_reminders(cast, now + timedelta(days=35)) == 0
    assert run_reminders(cast, now + timedelta(days=41)) == 0  # expired: no more mail
    assert [m.to for m in mailoutbox] == [[cast.partner_user.email]] * 2
    assert mailoutbox[0].subject == "[Acme] Your acme certified seller certificate expires in 29 days"
    assert "expires in 6 days" in mailoutbox[1].subject
    assert f"http://acme.localhost/enablement/certificates/{expiring.code}/" in mailoutbox[0].body


def test_a_certificate_first_seen_inside_7_days_gets_one_reminder(cast, expiring, mailoutbox):
    assert run_reminders(cast, timezone.now() + timedelta(days=35)) == 1
    assert run_reminders(cast, timezone.now() + timedelta(days=36)) == 0
    assert len(mailoutbox) == 1


def test_the_beat_task_sends_each_tenants_reminders(cast, expiring, mailoutbox):
    with tenant_scope(cast.tenant):
        CertificationAward.objects.filter(pk=expiring.pk).update(
            expires_at=timezone.now() + timedelta(days=20)
        )
    tasks.certification_reminders_all.delay()
    tasks.certification_reminders_all.delay()
    assert [m.to for m in mailoutbox] == [[cast.partner_user.email]]


def test_a_certificate_about_to_expire_is_renewed_by_passing_again(cast, content):
    tc = cast.acme
    with tenant_scope(cast.tenant):
        pass_course(tc, content.course, cast.partner_user, tc.partner)
        with pytest.raises(services.QuizClosed):
            services.quiz_attempt_start(
                course=content.course, partner=tc.partner, acting_user=cast.partner_user
            )
        old = CertificationAward.objects.get()
        CertificationAward.objects.filter(pk=old.pk).update(expires_at=timezone.now() + timedelta(days=10))
        # The passing moment moves on: the renewal's attempts start after it.
        CourseProgress.objects.update(passed_at=timezone.now() - timedelta(seconds=1))
        pass_course(tc, content.course, cast.partner_user, tc.partner)
        assert CertificationAward.objects.count() == 2
        assert (
            CertificationAward.objects.valid_on()
            .filter(expires_at__gt=timezone.now() + timedelta(days=300))
            .exists()
        )


def test_the_share_page_is_public_and_says_whether_the_certificate_is_valid_today(cast, content):
    with tenant_scope(cast.tenant):
        award = sample_award(cast.acme)
    anonymous = Client(HTTP_HOST=cast.host)
    page = anonymous.get(f"/enablement/certificates/{award.code}/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "Valid today" in body
    assert cast.partner_user.full_name in body and "acme certified seller" in body
    assert page["X-Robots-Tag"] == "noindex"
    with tenant_scope(cast.tenant):
        CertificationAward.objects.filter(pk=award.pk).update(expires_at=timezone.now() - timedelta(days=1))
    assert "Not valid today" in anonymous.get(f"/enablement/certificates/{award.code}/").content.decode()


def test_the_share_page_is_a_404_on_another_tenants_host_and_for_a_wrong_code(cast, content):
    with tenant_scope(cast.tenant):
        award = sample_award(cast.acme)
    for client in (Client(HTTP_HOST=cast.globex.host), signed_in(cast.globex.manager, cast.globex.host)):
        response = client.get(f"/enablement/certificates/{award.code}/")
        assert response.status_code == 404
        assert cast.partner_user.full_name not in response.content.decode()
    assert Client(HTTP_HOST=cast.host).get("/enablement/certificates/not-a-code/").status_code == 404


def test_share_codes_are_long_and_random(cast, content):
    with tenant_scope(cast.tenant):
        award = sample_award(cast.acme)
    assert len(award.code) >= 22


def test_the_certifications_page_lists_the_persons_certificates(cast, content):
    with tenant_scope(cast.tenant):
        award = sample_award(cast.acme)
    body = signed_in(cast.partner_user).get("/enablement/certifications/").content.decode()
    assert f"/enablement/certificates/{award.code}/" in body
    assert "Valid until" in body
    other = signed_in(cast.other_partner_user).get("/enablement/certifications/").content.decode()
    assert award.code not in other


def test_the_reminder_speaks_the_tenants_language(cast, expiring, mailoutbox):
    cast.tenant.default_language = "de"
    cast.tenant.save(update_fields=["default_language"])
    soon = timezone.now() + timedelta(days=20)
    with tenant_scope(cast.tenant):
        CertificationAward.objects.filter(pk=expiring.pk).update(expires_at=soon)
    assert run_reminders(cast, timezone.now()) == 1
    assert mailoutbox[0].subject == "[Acme] Ihr Zertifikat acme certified seller läuft in 20 Tagen ab"
    assert "Bestehen Sie seine Kurse erneut" in mailoutbox[0].body


def test_the_certifications_page_names_only_courses_the_partner_may_open(cast, content):
    with tenant_scope(cast.tenant):
        course = Course.objects.get(title="acme foundations")
        hidden = Course.objects.create(title="Platinum-only masterclass", is_published=True)
        hidden.audience_tiers.set([Tier.objects.get(slug="platinum")])
        course.certifications.first().courses.add(hidden)
    partner_page = signed_in(cast.partner_user).get("/enablement/certifications/").content.decode()
    assert "acme foundations" in partner_page and "Platinum-only masterclass" not in partner_page
    staff_page = signed_in(cast.manager).get("/enablement/certifications/").content.decode()
    assert "Platinum-only masterclass" in staff_page
