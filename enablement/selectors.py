"""Reads of enablement/: what a member may see, progress, certified people, and the managers' reports.

Incentives' tier rules read `certified_people_count(partner)` and `certified_people_counts()`.
"""

from __future__ import annotations

import uuid

from django.db.models import Count, IntegerField, OuterRef, Prefetch, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from enablement.models import (
    Asset,
    AssetActivity,
    Certification,
    CertificationAward,
    Course,
    CourseProgress,
)
from partners import selectors as partner_selectors
from partners.models import Partner


def parse_public_id(value) -> uuid.UUID:
    """`value` as a UUID; 404 when it is not one."""
    try:
        return uuid.UUID(str(value))
    except ValueError as bad:
        raise Http404 from bad


# --- what a member may see ---------------------------------------------------------------------------------


def assets_visible_to(membership, partner: Partner | None = None):
    """Every asset for the vendor's staff; for partner people, the published assets their audience allows."""
    qs = Asset.objects.all()
    if membership is None:
        return qs.none()
    if membership.is_staff_role:
        return qs
    partner = partner or partner_selectors.partner_for_member(membership)
    if partner is None:
        return qs.none()
    return qs.published().for_partner(partner)


def get_asset_for_member(membership, public_id, partner: Partner | None = None) -> Asset:
    """The asset if `membership` may see it; 404 otherwise (outside the audience, another tenant's)."""
    asset = assets_visible_to(membership, partner).filter(public_id=parse_public_id(public_id)).first()
    if asset is None:
        raise Http404
    return asset


def courses_visible_to(membership, partner: Partner | None = None):
    """Every course for staff; the published courses in their audience for partner people."""
    qs = Course.objects.all()
    if membership is None:
        return qs.none()
    if membership.is_staff_role:
        return qs
    partner = partner or partner_selectors.partner_for_member(membership)
    if partner is None:
        return qs.none()
    return qs.published().for_partner(partner)


def get_course_for_member(membership, public_id, partner: Partner | None = None) -> Course:
    """The course if `membership` may see it; 404 otherwise."""
    course = courses_visible_to(membership, partner).filter(public_id=parse_public_id(public_id)).first()
    if course is None:
        raise Http404
    return course


def progress_by_course(user) -> dict[int, CourseProgress]:
    """The person's progress rows keyed by course id, with the modules they completed."""
    rows = CourseProgress.objects.filter(user=user).prefetch_related("completed_modules")
    return {row.course_id: row for row in rows}


def awards_of(user):
    """The person's certificates, newest first."""
    return CertificationAward.objects.filter(user=user).select_related("certification", "partner")


def get_award_by_code(code: str) -> CertificationAward:
    """The certificate with this share code in the active tenant; 404 otherwise."""
    award = (
        CertificationAward.objects.select_related("certification", "user", "partner")
        .filter(code=str(code)[:32])
        .first()
    )
    if award is None:
        raise Http404
    return award


def certifications_with_courses(courses=None):
    """Certifications with their courses: those of `courses` only when given (what the reader may see)."""
    if courses is None:
        return Certification.objects.prefetch_related("courses")
    return Certification.objects.prefetch_related(Prefetch("courses", queryset=courses))


# --- certified people (for tier rules) ---------------------------------------------------------------------


def certified_people_counts(partners=None, *, moment=None) -> dict[int, int]:
    """Partner id -> the number of distinct people holding a certificate valid now, in one query.

    `partners` narrows to a queryset or list of partners; partners with nobody certified are absent.
    """
    awards = CertificationAward.objects.valid_on(moment or timezone.now())
    if partners is not None:
        awards = awards.filter(partner__in=partners)
    rows = awards.values("partner_id").annotate(people=Count("user_id", distinct=True)).order_by()
    return {row["partner_id"]: row["people"] for row in rows}


def certified_people_count(partner: Partner, *, moment=None) -> int:
    """How many of the partner's people hold a certificate valid now."""
    return certified_people_counts([partner], moment=moment).get(partner.pk, 0)


# --- the managers' reports ---------------------------------------------------------------------------------


def _count(qs, field="pk"):
    """A scalar subquery counting `qs` rows per outer partner (0 when none)."""
    return Coalesce(
        Subquery(qs.values("partner_id").annotate(n=Count(field, distinct=True)).values("n")[:1]),
        Value(0),
        output_field=IntegerField(),
    )


def _sum(qs, field):
    return Coalesce(
        Subquery(qs.values("partner_id").annotate(n=Sum(field)).values("n")[:1]),
        Value(0),
        output_field=IntegerField(),
    )


def partner_engagement():
    """Partners with their enablement figures: people, asset views and downloads, courses started and passed,
    and people certified today. One query, whatever the number of partners."""
    now = timezone.now()
    activity = AssetActivity.objects.filter(partner=OuterRef("pk"))
    progress = CourseProgress.objects.filter(partner=OuterRef("pk"))
    awards = CertificationAward.objects.valid_on(now).filter(partner=OuterRef("pk"))
    return (
        Partner.objects.in_program()
        .select_related("partner_type", "tier")
        .annotate(
            people=Count("memberships", distinct=True),
            asset_views=_sum(activity, "views"),
            asset_downloads=_sum(activity, "downloads"),
            assets_reached=_count(activity, "asset_id"),
            courses_started=_count(progress),
            courses_passed=_count(progress.filter(passed_at__isnull=False)),
            certified_people=_count(awards, "user_id"),
        )
    )


def asset_engagement():
    """Assets with their views, downloads, and how many partners and people opened them. One query."""
    return Asset.objects.annotate(
        total_views=Coalesce(Sum("activity__views"), Value(0)),
        total_downloads=Coalesce(Sum("activity__downloads"), Value(0)),
        partners_reached=Count("activity__partner", distinct=True),
        people_reached=Count("activity__user", distinct=True),
    )


def course_completion():
    """Courses with how many people started and passed them."""
    return Course.objects.annotate(
        started=Count("progress", distinct=True),
        passed=Count("progress", filter=Q(progress__passed_at__isnull=False), distinct=True),
    )
