"""Reads of dealreg/: who may see which deal, the conflict candidates, and the figures other apps read."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.http import Http404

from dealreg.conflicts import Match, find_matches
from dealreg.models import CustomerAccount, Deal, DealConflict, DealRegSettings, DealStatus
from partners.models import Partner
from partners.selectors import partner_for_member


def deals_visible_to(membership):
    """Deals a member may see: all of the tenant's for staff; their partner's for a partner admin; their own
    registrations for a partner user."""
    deals = Deal.objects.for_lists()
    if membership is None:
        return deals.none()
    if membership.is_staff_role:
        return deals
    partner = partner_for_member(membership)
    if partner is None:
        return deals.none()
    deals = deals.filter(partner=partner)
    if membership.role == "partner_admin":
        return deals
    return deals.filter(registered_by=membership.user)


def get_deal_for_member(membership, public_id) -> Deal:
    """The deal with this public id if `membership` may see it; 404 otherwise (another tenant's included)."""
    deal = deals_visible_to(membership).filter(public_id=public_id).first()
    if deal is None:
        raise Http404
    return deal


def conflict_matches(
    *, name: str, domain: str, partner: Partner | None, exclude_deal: Deal | None = None
) -> list[Match]:
    """Possible conflicts of a customer (`name`, `domain`) registered by `partner`: other partners' open
    registrations and the tenant's customer accounts."""
    settings = DealRegSettings.current()
    deals = Deal.objects.open()
    if partner is not None:
        deals = deals.exclude(partner=partner)
    if exclude_deal is not None:
        deals = deals.exclude(pk=exclude_deal.pk)
    candidates = [
        ("deal", pk, n, d) for pk, n, d in deals.values_list("pk", "normalized_name", "normalized_domain")
    ]
    candidates += [
        ("account", pk, n, d)
        for pk, n, d in CustomerAccount.objects.values_list("pk", "normalized_name", "normalized_domain")
    ]
    return find_matches(
        name=name, domain=domain, candidates=candidates, threshold=settings.name_match_threshold
    )


def deal_conflicts(deal: Deal):
    """The conflicts found for `deal`, with the other deals and accounts (for the side-by-side view)."""
    return DealConflict.objects.filter(deal=deal).select_related(
        "other_deal__partner", "other_deal__registered_by", "customer_account"
    )


def deal_history(deal: Deal):
    """Everything that happened to `deal`, oldest first, with who did it."""
    return deal.events.select_related("actor").order_by("created_at", "id")


def pipeline_by_partner():
    """Per partner: open, approved and won registrations and their amounts (the managers' pipeline)."""
    return (
        Partner.objects.filter(deals__isnull=False)
        .annotate(
            submitted=Count("deals", filter=Q(deals__status=DealStatus.SUBMITTED)),
            approved=Count("deals", filter=Q(deals__status=DealStatus.APPROVED)),
            won=Count("deals", filter=Q(deals__status=DealStatus.WON)),
            approved_amount=Sum("deals__amount", filter=Q(deals__status=DealStatus.APPROVED)),
            won_amount=Sum("deals__amount", filter=Q(deals__status=DealStatus.WON)),
        )
        .order_by("name")
    )


def won_revenue(partner: Partner) -> Decimal:
    """The amount of a partner's won deals (for incentives)."""
    total = Deal.objects.filter(partner=partner, status=DealStatus.WON).aggregate(total=Sum("amount"))[
        "total"
    ]
    return total or Decimal("0")
