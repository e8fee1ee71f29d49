"""Enablement content for a tenant cast: what the isolation harness and the enablement tests point at.

Built once per tenant (found again by title on later calls), inside the tenant's scope.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.files.base import ContentFile

from enablement import services
from enablement.models import (
    Asset,
    AssetKind,
    Certification,
    CertificationAward,
    Choice,
    Course,
    Module,
    Question,
    QuestionKind,
    QuizAttempt,
)

# The smallest file `filetype` recognises as a PDF, and a valid-looking one for a download.
TINY_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


@dataclass
class Content:
    asset: Asset
    course: Course
    question: Question
    certification: Certification


def sample_content(tc) -> Content:
    """An asset for everyone (a PDF), a course with a module and a one-question quiz, and a certification."""
    title = f"{tc.tenant.slug} overview deck"
    asset = Asset.objects.filter(title=title).first()
    if asset is None:
        asset = services.asset_save(
            asset=Asset(kind=AssetKind.FILE, title=title, product="Platform"),
            upload=ContentFile(TINY_PDF, name="overview.pdf"),
            acting_user=tc.manager,
        )
        course = Course.objects.create(title=f"{tc.tenant.slug} foundations", pass_mark=100, max_attempts=2)
        Module.objects.create(course=course, position=1, title="Why us", body="<p>Because.</p>")
        question = Question.objects.create(course=course, text="Pick the right one", kind=QuestionKind.SINGLE)
        Choice.objects.create(question=question, text="Right", is_correct=True)
        Choice.objects.create(question=question, text="Wrong", is_correct=False)
        certification = Certification.objects.create(
            name=f"{tc.tenant.slug} certified seller", valid_months=12
        )
        certification.courses.add(course)
    course = Course.objects.get(title=f"{tc.tenant.slug} foundations")
    return Content(
        asset=asset,
        course=course,
        question=course.questions.get(),
        certification=Certification.objects.get(name=f"{tc.tenant.slug} certified seller"),
    )


def sample_attempt(tc) -> QuizAttempt:
    """The cast's partner user's open attempt at the sample course's quiz."""
    content = sample_content(tc)
    return services.quiz_attempt_start(course=content.course, partner=tc.partner, acting_user=tc.partner_user)


def sample_award(tc) -> CertificationAward:
    """A certificate of the cast's partner user (issued directly; passing courses is tested elsewhere)."""
    content = sample_content(tc)
    award = CertificationAward.objects.filter(user=tc.partner_user).first()
    if award is None:
        from django.utils import timezone

        now = timezone.now()
        award = CertificationAward.objects.create(
            certification=content.certification,
            partner=tc.partner,
            user=tc.partner_user,
            issued_at=now,
            expires_at=services.certification_expiry(content.certification, now),
        )
    return award
