"""Reads of incentives/: every partner's tier numbers at once, a partner's tier view (what is missing for the
next tier), its ledger and MDF, and the access helpers that 404 for anyone else's rows."""

from __future__ import annotations

import uuid
import zoneinfo
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import Count, Exists, F, OuterRef, Q, Subquery, Sum
from django.db.models.functions import TruncDate
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from dealreg.models import Deal, DealStatus
from enablement.selectors import certified_people_counts
from incentives.models import (
    ZERO,
    LedgerEntry,
    MdfBudget,
    MdfRequest,
    PayoutStatement,
    TierChange,
    TierEvaluation,
    TierRule,
)
from onboarding.models import Onboarding
from partners.models import AgreementAcceptance, Partner, ProgramAgreement, Tier
from partners.selectors import partner_for_member
from prm import currencies
from prm.models import STAFF_ROLES
from prm.money import money
from prm.tenancy import current_tenant

TRAILING_DAYS = 365
CENT = Decimal("0.01")


@dataclass
class Numbers:
    """What the tier rules look at, for one partner."""

    won_revenue: Decimal = ZERO
    deals_won: int = 0
    certified_people: int = 0
    onboarding_complete: bool = False
    agreement_current: bool = False
    # Won deals in a currency without any exchange rate: counted as deals won, left out of the revenue.
    left_out: dict[str, int] = field(default_factory=dict)

    @property
    def left_out_count(self) -> int:
        return sum(self.left_out.values())

    @property
    def left_out_currencies(self) -> str:
        return ", ".join(sorted(self.left_out))


@dataclass
class WonDeals:
    """A partner's won deals of a period: revenue in the tenant's currency, how many, and those left out
    of the revenue (currency -> count) for want of an exchange rate."""

    revenue: Decimal = ZERO
    deals: int = 0
    left_out: dict[str, int] = field(default_factory=dict)


def won_deals_by_partner(*, since: datetime, until: datetime, partners=None) -> dict[int, WonDeals]:
    """Partner id -> its WonDeals from `since` to `until`, in two grouped queries whatever the number of
    deals: the revenue converted to the tenant's currency at each deal's close-date rate (prm.currencies),
    and the deals in currencies without any rate, by currency."""
    tenant = current_tenant()
    won = Deal.objects.filter(status=DealStatus.WON, closed_at__gte=since, closed_at__lte=until)
    if partners is not None:
        won = won.filter(partner__in=partners)
    convertible = currencies.accepted_currencies()
    rows = (
        won.filter(currency__in=convertible)
        .annotate(close_day=TruncDate("closed_at", tzinfo=zoneinfo.ZoneInfo(tenant.time_zone)))
        .annotate(rate=currencies.rate_expression(currency="currency", day="close_day"))
        .values("partner_id")
        .annotate(
            revenue=Sum(F("amount") * F("rate"), output_field=currencies.MONEY_FIELD),
            deals=Count("id"),
        )
        .order_by()
    )
    found = {
        row["partner_id"]: WonDeals(revenue=(row["revenue"] or ZERO).quantize(CENT), deals=row["deals"])
        for row in rows
    }
    left_out = (
        won.exclude(currency__in=convertible)
        .values("partner_id", "currency")
        .annotate(deals=Count("id"))
        .order_by()
    )
    for row in left_out:
        entry = found.setdefault(row["partner_id"], WonDeals())
        entry.deals += row["deals"]
        entry.left_out[row["currency"]] = row["deals"]
    return found


def _with_status_flags(partners):
    """Annotate onboarding complete and agreement current, as correlated subqueries of one query."""
    # The agreement in force for each partner: its type's newest published version, else the newest one for
    # every type (partners.selectors.current_agreement, for many partners at once).
    current = (
        ProgramAgreement.objects.published()
        .filter(Q(partner_type=OuterRef("partner_type_id")) | Q(partner_type__isnull=True))
        .order_by(F("partner_type").asc(nulls_last=True), "-version")
        .values("pk")[:1]
    )
    return partners.annotate(
        onboarding_done=Exists(Onboarding.objects.filter(partner=OuterRef("pk"), completed_at__isnull=False)),
        agreement_id=Subquery(current),
        agreement_ok=Exists(
            AgreementAcceptance.objects.filter(partner=OuterRef("pk"), agreement=OuterRef("agreement_id"))
        ),
    )


def partner_numbers(partners=None, *, now: datetime | None = None) -> dict[int, Numbers]:
    """Partner id -> its Numbers, for every partner in the program (or `partners`), in a fixed number of
    queries whatever their number."""
    now = now or timezone.now()
    queryset = Partner.objects.in_program() if partners is None else partners
    rows = _with_status_flags(queryset).values_list("pk", "onboarding_done", "agreement_id", "agreement_ok")
    deals = won_deals_by_partner(since=now - timedelta(days=TRAILING_DAYS), until=now, partners=partners)
    certified = certified_people_counts(None if partners is None else partners, moment=now)
    numbers = {}
    for pk, onboarding_done, agreement_id, agreement_ok in rows:
        won = deals.get(pk, WonDeals())
        numbers[pk] = Numbers(
            won_revenue=won.revenue,
            deals_won=won.deals,
            left_out=won.left_out,
            certified_people=certified.get(pk, 0),
            onboarding_complete=onboarding_done,
            # A program without an agreement asks nothing of its partners.
            agreement_current=agreement_id is None or agreement_ok,
        )
    return numbers


def deals_left_out() -> dict:
    """What the last evaluation left out of the won revenue, program-wide: deals, partners, currencies."""
    rows = list(
        TierEvaluation.objects.filter(deals_left_out__gt=0).values_list(
            "deals_left_out", "left_out_currencies"
        )
    )
    found = {code.strip() for _n, codes in rows for code in codes.split(",") if code.strip()}
    return {
        "deals": sum(n for n, _codes in rows),
        "partners": len(rows),
        "currencies": ", ".join(sorted(found)),
    }


def rules_by_rank() -> list[TierRule]:
    """The tenant's tier rules, lowest tier first."""
    return list(TierRule.objects.select_related("tier").order_by("tier__rank"))


def meets(rule: TierRule, numbers: Numbers) -> bool:
    """Whether `numbers` meet every criterion of `rule`."""
    return not missing_for(rule, numbers)


def missing_for(rule: TierRule, numbers: Numbers) -> list[str]:
    """What a partner with `numbers` still lacks for `rule`'s tier, in words ("$40,000 more won revenue")."""
    missing = []
    if numbers.won_revenue < rule.min_won_revenue:
        gap = rule.min_won_revenue - numbers.won_revenue
        missing.append(_("%(amount)s more won revenue") % {"amount": money(gap)})
    if numbers.deals_won < rule.min_deals_won:
        gap = rule.min_deals_won - numbers.deals_won
        missing.append(ngettext("%(n)d more deal won", "%(n)d more deals won", gap) % {"n": gap})
    if numbers.certified_people < rule.min_certified_people:
        gap = rule.min_certified_people - numbers.certified_people
        missing.append(
            ngettext("%(n)d more certified person", "%(n)d more certified people", gap) % {"n": gap}
        )
    if rule.requires_onboarding and not numbers.onboarding_complete:
        missing.append(_("onboarding completed"))
    if rule.requires_agreement and not numbers.agreement_current:
        missing.append(_("the current program agreement accepted"))
    return missing


def qualified_rule(rules: list[TierRule], numbers: Numbers) -> TierRule | None:
    """The highest tier whose rule `numbers` meet, None when none."""
    best = None
    for rule in rules:
        if meets(rule, numbers):
            best = rule
    return best


@dataclass
class TierView:
    """The partner's tier page: where it stands, what the next tier asks, and the benefits."""

    partner: Partner
    rule: TierRule | None
    numbers: Numbers
    next_rule: TierRule | None
    missing: list[str] = field(default_factory=list)
    evaluation: TierEvaluation | None = None
    history: list[TierChange] = field(default_factory=list)


def tier_view(partner: Partner) -> TierView:
    """The current tier and its benefits, the next tier up and exactly what is missing to reach it."""
    rules = rules_by_rank()
    numbers = partner_numbers(Partner.objects.filter(pk=partner.pk)).get(partner.pk, Numbers())
    rank = partner.tier.rank if partner.tier_id else -1
    rule = next((r for r in rules if r.tier_id == partner.tier_id), None)
    next_rule = next((r for r in rules if r.tier.rank > rank), None)
    return TierView(
        partner=partner,
        rule=rule,
        numbers=numbers,
        next_rule=next_rule,
        missing=missing_for(next_rule, numbers) if next_rule else [],
        evaluation=TierEvaluation.objects.filter(partner=partner).select_related("qualified_tier").first(),
        history=list(tier_history(partner)),
    )


def tier_history(partner: Partner):
    """The partner's tier moves, newest first."""
    return TierChange.objects.filter(partner=partner).select_related("from_tier", "to_tier", "changed_by")


def current_rule(partner: Partner) -> TierRule | None:
    """The rule (and so the benefits) of the partner's current tier."""
    if partner.tier_id is None:
        return None
    return TierRule.objects.filter(tier=partner.tier_id).first()


def tier_of_tenant(tier_id) -> Tier | None:
    """The active tenant's tier with that id, None for another tenant's or a missing one."""
    return Tier.objects.filter(pk=tier_id).first()


# --- quarters, ledger, MDF --------------------------------------------------------------------------------


def quarter_of(day: date) -> tuple[date, date]:
    """The calendar quarter `day` falls in, first and last day."""
    first_month = 3 * ((day.month - 1) // 3) + 1
    start = date(day.year, first_month, 1)
    end = date(day.year + (first_month + 2) // 12, (first_month + 2) % 12 + 1, 1) - timedelta(days=1)
    return start, end


def ledger_balance(partner: Partner) -> Decimal:
    """The sum of the partner's ledger entries."""
    total = LedgerEntry.objects.filter(partner=partner).aggregate(total=Sum("amount"))["total"]
    return total or ZERO


def ledger_of(partner: Partner):
    """The partner's ledger entries, newest first."""
    return LedgerEntry.objects.filter(partner=partner).select_related("deal")


def budget_for(partner: Partner, day: date) -> MdfBudget | None:
    """The partner's MDF budget of `day`'s quarter, None before anyone asked for funds in it."""
    return MdfBudget.objects.filter(partner=partner, period_start=quarter_of(day)[0]).first()


def mdf_requests_of(partner: Partner):
    """The partner's MDF requests, newest first."""
    return MdfRequest.objects.filter(partner=partner)


def statements_of(partner: Partner):
    """The partner's payout statements, newest first."""
    return PayoutStatement.objects.filter(partner=partner)


def _parse(public_id) -> uuid.UUID:
    try:
        return uuid.UUID(str(public_id))
    except ValueError as bad:
        raise Http404 from bad


def get_mdf_request_for_member(membership, public_id) -> MdfRequest:
    """An MDF request the member may see: staff any of the tenant's, partner people their own; else 404."""
    requests = MdfRequest.objects.select_related("partner", "budget")
    if membership is None:
        raise Http404
    if membership.role not in STAFF_ROLES:
        partner = partner_for_member(membership)
        if partner is None:
            raise Http404
        requests = requests.filter(partner=partner)
    found = requests.filter(public_id=_parse(public_id)).first()
    if found is None:
        raise Http404
    return found


def get_proof_for_member(membership, public_id):
    """A claim proof the member may download (staff, or its partner's people); else 404."""
    from incentives.models import MdfProof

    proofs = MdfProof.objects.select_related("claim__request")
    if membership is None:
        raise Http404
    if membership.role not in STAFF_ROLES:
        partner = partner_for_member(membership)
        if partner is None:
            raise Http404
        proofs = proofs.filter(claim__request__partner=partner)
    found = proofs.filter(public_id=_parse(public_id)).first()
    if found is None:
        raise Http404
    return found
