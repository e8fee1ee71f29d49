"""Reads of dealreg/: who may see which deal, the conflict candidates, and the figures other apps read."""

from __future__ import annotations

import zoneinfo

from django.db.models import Count, F, OuterRef, Q, Subquery, Sum
from django.db.models.functions import TruncDate
from django.http import Http404

from dealreg.conflicts import Match, find_matches
from dealreg.models import CustomerAccount, Deal, DealConflict, DealRegSettings, DealStatus
from partners.models import Partner
from partners.selectors import partner_for_member
from prm import currencies
from prm.tenancy import current_tenant


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


def _converted_total(status: str, day: str):
    """The sum of a partner's deals of `status` in the tenant's currency (at the rate of each deal's `day`),
    as a correlated subquery of a partner query; deals in a currency without any rate are not in it."""
    deals = (
        Deal.objects.filter(partner=OuterRef("pk"), status=status)
        .annotate(close_day=TruncDate(day, tzinfo=_tenant_zone()) if day == "closed_at" else F(day))
        .annotate(rate=currencies.rate_expression(currency="currency", day="close_day"))
        .values("partner")
        .annotate(total=Sum(F("amount") * F("rate"), output_field=currencies.MONEY_FIELD))
        .values("total")
    )
    return Subquery(deals, output_field=currencies.MONEY_FIELD)


def _tenant_zone():
    tenant = current_tenant()
    return zoneinfo.ZoneInfo(tenant.time_zone if tenant is not None else "UTC")


def pipeline_by_partner():
    """Per partner: open, approved and won registrations and their amounts in the tenant's currency (approved
    deals at the rate of their expected close date, won ones at their close date's), and how many approved or
    won deals are left out of the amounts for want of an exchange rate (the managers' pipeline)."""
    convertible = currencies.accepted_currencies()
    counted = Q(deals__status__in=[DealStatus.APPROVED, DealStatus.WON])
    return (
        Partner.objects.filter(deals__isnull=False)
        .annotate(
            submitted=Count("deals", filter=Q(deals__status=DealStatus.SUBMITTED)),
            approved=Count("deals", filter=Q(deals__status=DealStatus.APPROVED)),
            won=Count("deals", filter=Q(deals__status=DealStatus.WON)),
            not_converted=Count("deals", filter=counted & ~Q(deals__currency__in=convertible)),
        )
        .annotate(
            approved_amount=_converted_total(DealStatus.APPROVED, "expected_close_date"),
            won_amount=_converted_total(DealStatus.WON, "closed_at"),
        )
        .order_by("name")
    )
