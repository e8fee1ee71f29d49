"""Writes of enablement/: assets and their engagement, course progress and quizzes, certificates."""

from __future__ import annotations

import math
import random
from datetime import timedelta

from dateutil.relativedelta import relativedelta
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from enablement import emails, uploads
from enablement.models import (
    Asset,
    AssetActivity,
    AssetKind,
    Certification,
    CertificationAward,
    Course,
    CourseProgress,
    Module,
    QuestionKind,
    QuizAttempt,
)
from partners.models import Partner
from prm import events
from prm.models import User


class QuizClosed(Exception):
    """The quiz cannot be taken or submitted now; the message says why. Nothing was changed."""


# --- assets ------------------------------------------------------------------------------------------------


@transaction.atomic
def asset_save(*, asset: Asset, upload=None, acting_user: User | None) -> Asset:
    """Save an asset of the library; an uploaded file is checked (uploads.validate_upload) before anything
    is stored, and stored under a generated name in the tenant's private folder."""
    if upload is not None:
        checked = uploads.validate_upload(upload)
        asset.file = upload  # named by asset_file_path on save, from the checked extension
        asset.file_name = checked.original_name
        asset.content_type = checked.content_type
        asset.file_size = checked.size
    if asset.kind == AssetKind.FILE and not asset.file:
        raise ValidationError({"file": _("Upload the file of a file asset.")})
    if asset.kind != AssetKind.FILE and not asset.url:
        raise ValidationError({"url": _("Give the address of a link or video asset.")})
    if asset.pk is None and acting_user is not None:
        asset.created_by = acting_user
    # The file was checked above; the tenant comes from the scope on save.
    asset.full_clean(exclude=["tenant", "file", "created_by"])
    asset.save()
    return asset


def _record(asset: Asset, *, partner: Partner, user: User, field: str) -> None:
    now = timezone.now()
    activity, created = AssetActivity.objects.get_or_create(
        asset=asset, user=user, defaults={"partner": partner, field: 1, "first_at": now, "last_at": now}
    )
    if not created:
        # One UPDATE with F(): two tabs opening the asset at once both count.
        AssetActivity.objects.filter(pk=activity.pk).update(**{field: F(field) + 1, "last_at": now})


@transaction.atomic
def asset_record_view(*, asset: Asset, partner: Partner, acting_user: User) -> None:
    """Count that a person of `partner` opened the asset's page."""
    _record(asset, partner=partner, user=acting_user, field="views")


@transaction.atomic
def asset_record_download(*, asset: Asset, partner: Partner, acting_user: User) -> None:
    """Count that a person of `partner` downloaded the asset's file (or followed its link)."""
    _record(asset, partner=partner, user=acting_user, field="downloads")


# --- courses -----------------------------------------------------------------------------------------------


def _progress(course: Course, partner: Partner, user: User) -> CourseProgress:
    progress, _created = CourseProgress.objects.get_or_create(
        course=course, user=user, defaults={"partner": partner}
    )
    return progress


@transaction.atomic
def module_complete(*, module: Module, partner: Partner, acting_user: User) -> CourseProgress:
    """Mark a module of a course done for the person; their progress is saved."""
    progress = _progress(module.course, partner, acting_user)
    progress.completed_modules.add(module)
    return progress


@transaction.atomic
def quiz_attempt_start(*, course: Course, partner: Partner, acting_user: User) -> QuizAttempt:
    """The person's open attempt at the course's quiz, or a new one with the questions shuffled.

    Raises QuizClosed when the person passed already or used every attempt.
    """
    progress = _progress(course, partner, acting_user)
    progress = CourseProgress.objects.select_for_update().get(pk=progress.pk)
    renewing = progress.passed_at is not None
    if renewing and not renewal_open(progress):
        raise QuizClosed(_("You passed this course already."))
    open_attempt = progress.attempts.filter(submitted_at__isnull=True).first()
    if open_attempt is not None:
        return open_attempt
    # A renewal is a fresh round: only the attempts since the last pass count against the limit.
    round_attempts = (
        progress.attempts.filter(started_at__gt=progress.passed_at) if renewing else progress.attempts
    )
    used = round_attempts.count()
    if used >= course.max_attempts:
        raise QuizClosed(
            _("You have used all %(count)s attempts at this quiz.") % {"count": course.max_attempts}
        )
    question_ids = list(course.questions.values_list("pk", flat=True))
    if not question_ids:
        raise QuizClosed(_("This course has no quiz yet."))
    random.SystemRandom().shuffle(question_ids)
    number = progress.attempts.count() + 1
    return QuizAttempt.objects.create(progress=progress, number=number, question_order=question_ids)


RENEWAL_WINDOW = timedelta(days=30)


def renewal_open(progress: CourseProgress) -> bool:
    """Whether a person who passed the course may take its quiz again: it leads to a certification of
    theirs that has expired or expires within 30 days (and none of it is valid for longer)."""
    if progress.passed_at is None:
        return False
    certifications = progress.course.certifications.all()
    awards = CertificationAward.objects.filter(certification__in=certifications, user_id=progress.user_id)
    if not awards.exists():
        return False
    return not awards.filter(expires_at__gt=timezone.now() + RENEWAL_WINDOW).exists()


def _score(attempt: QuizAttempt, answers: dict[int, set[int]]) -> int:
    questions = attempt.progress.course.questions.prefetch_related("choices")
    right = 0
    total = 0
    for question in questions:
        if question.pk not in attempt.question_order:
            continue
        total += 1
        correct = {choice.pk for choice in question.choices.all() if choice.is_correct}
        given = answers.get(question.pk, set())
        if question.kind == QuestionKind.SINGLE and len(given) > 1:
            continue
        if given == correct:
            right += 1
    return round(100 * right / total) if total else 0


@transaction.atomic
def quiz_attempt_submit(
    *, attempt: QuizAttempt, answers: dict[int, set[int]], acting_user: User
) -> QuizAttempt:
    """Score a quiz attempt; passing passes the course, may earn certificates and sends course_passed.

    `answers` maps question ids to the chosen choice ids. A submitted attempt is never scored again: a
    second submit raises QuizClosed and changes nothing.
    """
    attempt = QuizAttempt.objects.select_for_update().select_related("progress__course").get(pk=attempt.pk)
    progress = attempt.progress
    if progress.user_id != acting_user.pk:
        raise QuizClosed(_("This attempt is not yours."))
    if attempt.submitted_at is not None:
        raise QuizClosed(_("This attempt was submitted already; nothing was changed."))
    course = progress.course
    attempt.score = _score(attempt, answers)
    attempt.passed = attempt.score >= course.pass_mark
    attempt.answers = {str(q): sorted(c) for q, c in answers.items()}
    attempt.submitted_at = timezone.now()
    attempt.save()
    progress.best_score = max(progress.best_score or 0, attempt.score)
    renewing = progress.passed_at is not None and attempt.started_at > progress.passed_at
    if attempt.passed and (progress.passed_at is None or renewing):
        progress.passed_at = attempt.submitted_at
        progress.save(update_fields=["best_score", "passed_at"])
        partner = progress.partner
        events.send_on_commit(
            events.course_passed,
            sender=Course,
            tenant_id=course.tenant_id,
            partner_id=partner.public_id,
            user_id=acting_user.pk,
            course_id=course.public_id,
            course_slug=course.slug,
        )
        certifications_award_earned(course=course, partner=partner, user=acting_user)
    else:
        progress.save(update_fields=["best_score"])
    return attempt


# --- certifications ----------------------------------------------------------------------------------------


def certification_expiry(certification: Certification, issued_at):
    """When a certificate of `certification` issued at `issued_at` stops being valid."""
    return issued_at + relativedelta(months=certification.valid_months)


@transaction.atomic
def certifications_award_earned(*, course: Course, partner: Partner, user: User) -> list[CertificationAward]:
    """Issue every certificate the person has now earned: each certification of `course` whose courses they
    have all passed, unless they hold a valid certificate of it already."""
    passed = set(
        CourseProgress.objects.filter(user=user, passed_at__isnull=False).values_list("course_id", flat=True)
    )
    awarded = []
    now = timezone.now()
    for certification in course.certifications.prefetch_related("courses"):
        needed = {c.pk for c in certification.courses.all()}
        if not needed <= passed:
            continue
        # A certificate valid beyond the renewal window stands; one about to expire is renewed.
        held = CertificationAward.objects.filter(certification=certification, user=user)
        if held.filter(expires_at__gt=now + RENEWAL_WINDOW).exists():
            continue
        awarded.append(
            CertificationAward.objects.create(
                certification=certification,
                partner=partner,
                user=user,
                issued_at=now,
                expires_at=certification_expiry(certification, now),
            )
        )
    return awarded


REMINDER_DAYS = (30, 7)


def certification_reminders_send(*, now=None) -> int:
    """Email each person whose certificate expires within 30 days, and again within 7: once each.

    Runs in the active tenant's scope (the beat's task enters it). Returns the number of emails sent.
    """
    now = now or timezone.now()
    sent = 0
    # The 7-day reminder first: a certificate found inside 7 days for the first time gets that one only.
    for days in sorted(REMINDER_DAYS):
        field = f"reminded_{days}_at"
        due = (
            CertificationAward.objects.valid_on(now)
            .filter(expires_at__lte=now + timedelta(days=days), **{f"{field}__isnull": True})
            .select_related("certification", "user", "partner", "tenant")
        )
        for award in due:
            with transaction.atomic():
                # Claim the reminder before sending: a second run (or worker) finds it taken.
                later = {f"reminded_{d}_at": now for d in REMINDER_DAYS if d >= days}
                claimed = CertificationAward.objects.filter(pk=award.pk, **{f"{field}__isnull": True}).update(
                    **later
                )
                if claimed:
                    days_left = math.ceil((award.expires_at - now).total_seconds() / 86400)
                    emails.certification_expiring(award=award, days_left=days_left)
                    sent += 1
    return sent
