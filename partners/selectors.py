"""Reads of partners/ that other apps and the dashboards use."""

from __future__ import annotations

from django.db.models import Count
from django.http import Http404

from partners.models import Partner, PartnerMembership, Stage


def partner_for_member(membership) -> Partner | None:
    """The partner organisation a partner-role membership belongs to."""
    if membership is None or not membership.is_partner_role:
        return None
    link = (
        PartnerMembership.objects.select_related("partner__partner_type", "partner__tier")
        .filter(membership=membership)
        .first()
    )
    return link.partner if link else None


def partners_visible_to(membership):
    """Partners a member may see: every partner for the vendor's staff, their own for partner people."""
    qs = Partner.objects.with_people()
    if membership is None:
        return qs.none()
    if membership.is_staff_role:
        return qs
    return qs.filter(memberships__membership=membership)


def get_partner_for_member(membership, slug: str) -> Partner:
    """The partner with this slug if `membership` may see it; 404 otherwise (another tenant's included)."""
    partner = partners_visible_to(membership).filter(slug=slug).first()
    if partner is None:
        raise Http404
    return partner


def stage_counts() -> list[tuple[str, str, int]]:
    """How many of the tenant's partners are in each lifecycle stage, in stage order."""
    counts = dict(Partner.objects.values_list("stage").annotate(n=Count("id")).order_by())
    return [(stage.value, stage.label, counts.get(stage.value, 0)) for stage in Stage]


def partner_people(partner: Partner):
    """The people of a partner organisation with their roles."""
    return (
        PartnerMembership.objects.filter(partner=partner)
        .select_related("membership__user")
        .order_by("membership__role", "membership__user__email")
    )
