"""Reads of partners/ that other apps and the dashboards use."""

from __future__ import annotations

from django.db.models import Count, Exists, F, OuterRef, Q
from django.http import Http404

from partners.models import (
    AgreementAcceptance,
    Partner,
    PartnerApplication,
    PartnerMembership,
    ProgramAgreement,
    Stage,
)


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
    """The partner with this slug if `membership` may see it; 404 otherwise (another tenant's included).

    Its profile and the application it came from are read in the same query."""
    partner = (
        partners_visible_to(membership).select_related("profile", "application").filter(slug=slug).first()
    )
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


# ---- Recruitment ----------------------------------------------------------------------------------------


def _agreements_for(partner: Partner):
    # The type's own versions first (newest first), then the versions for every type.
    return (
        ProgramAgreement.objects.published()
        .filter(Q(partner_type=partner.partner_type_id) | Q(partner_type__isnull=True))
        .order_by(F("partner_type").asc(nulls_last=True), "-version")
    )


def current_agreement(partner: Partner):
    """The agreement version a partner must have accepted: the newest published one for its type, else the
    newest for every type; None when the program has no agreement for it."""
    return _agreements_for(partner).first()


def agreement_pending(partner: Partner):
    """The current agreement when the partner has not accepted it yet, else None (one query)."""
    accepted = AgreementAcceptance.objects.filter(agreement=OuterRef("pk"), partner=partner)
    agreement = _agreements_for(partner).annotate(accepted=Exists(accepted)).first()
    return agreement if agreement is not None and not agreement.accepted else None


def agreement_acceptance(partner: Partner, agreement):
    """The partner's acceptance of `agreement`, None if it has not accepted it."""
    acceptances = AgreementAcceptance.objects.select_related("user")
    return acceptances.filter(agreement=agreement, partner=partner).first()


def get_application_for_staff(membership, public_id) -> PartnerApplication:
    """The application with this public id for the tenant's staff; 404 for anyone else or another tenant's."""
    if membership is None or not membership.is_staff_role:
        raise Http404
    application = PartnerApplication.objects.for_review().filter(public_id=public_id).first()
    if application is None:
        raise Http404
    return application


def get_colleague_for_partner_admin(membership, public_id) -> PartnerMembership:
    """A person of the partner admin's own partner, by their membership's public id; 404 otherwise."""
    partner = partner_for_member(membership)
    if partner is None or membership.role != "partner_admin":
        raise Http404
    link = (
        PartnerMembership.objects.select_related("membership__user", "partner")
        .filter(partner=partner, membership__public_id=public_id)
        .first()
    )
    if link is None:
        raise Http404
    return link
