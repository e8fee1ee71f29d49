"""Writes of incentives/: tier evaluation and moves, rebates and corrections in the ledger, payout statements,
and MDF requests, approvals, claims and expiry.

Each status field has one transition map in models.py and one function here that applies it. Emails leave on
commit. Errors a user can make raise IncentiveError with a message saying what is wrong; nothing is written.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from dealreg.models import Deal, DealStatus
from enablement import uploads
from incentives import emails, selectors
from incentives.models import (
    CLAIM_TRANSITIONS,
    MDF_TRANSITIONS,
    STATEMENT_TRANSITIONS,
    ZERO,
    ClaimStatus,
    EntryKind,
    IncentiveSettings,
    LedgerEntry,
    MdfBudget,
    MdfClaim,
    MdfProof,
    MdfRequest,
    MdfStatus,
    PayoutStatement,
    PendingRebate,
    Recommendation,
    StatementStatus,
    TierChange,
    TierEvaluation,
    TierRule,
)
from partners.models import Partner, Tier
from prm import currencies
from prm.models import User
from prm.money import money
from prm.tenancy import current_tenant

CENT = Decimal("0.01")


class IncentiveError(ValidationError):
    """A request the rules refuse; the message says why. Nothing was written."""


def _transition(obj, field: str, to: str, transitions: dict) -> None:
    current = getattr(obj, field)
    if to not in transitions.get(current, set()):
        labels = dict(obj._meta.get_field(field).choices)
        raise IncentiveError(
            _("This cannot go from “%(from)s” to “%(to)s”.") % {"from": labels[current], "to": labels[to]}
        )
    setattr(obj, field, to)


def mdf_transition(request: MdfRequest, to: str) -> None:
    """Move an MDF request to status `to`, or raise IncentiveError; the only place its status is set."""
    _transition(request, "status", to, MDF_TRANSITIONS)


def claim_transition(claim: MdfClaim, to: str) -> None:
    """Move a claim to status `to`, or raise IncentiveError; the only place its status is set."""
    _transition(claim, "status", to, CLAIM_TRANSITIONS)


def statement_transition(statement: PayoutStatement, to: str) -> None:
    """Move a payout statement to status `to`, or raise IncentiveError."""
    _transition(statement, "status", to, STATEMENT_TRANSITIONS)


# --- defaults -------------------------------------------------------------------------------------------

# slug -> (revenue, deals, certified, onboarding, agreement, rebate %, MDF per quarter, discount %, content)
DEFAULT_RULES = {
    "registered": (0, 0, 0, False, False, "0", 0, "0", "Public sales content"),
    "silver": (25000, 2, 1, True, True, "2", 2500, "5", "Silver sales playbooks"),
    "gold": (100000, 5, 2, True, True, "4", 10000, "10", "Gold playbooks and roadmap briefings"),
    "platinum": (500000, 15, 5, True, True, "6", 25000, "15", "Everything, with early access"),
}


def tier_rules_add_defaults() -> int:
    """Give the active tenant's tiers without a rule the default criteria and benefits; returns how many."""
    IncentiveSettings.current()
    made = 0
    for tier in Tier.objects.filter(rule__isnull=True):
        revenue, deals, certified, onboarding, agreement, rebate, mdf, discount, note = DEFAULT_RULES.get(
            tier.slug, (0, 0, 0, False, False, "0", 0, "0", "")
        )
        TierRule.objects.create(
            tier=tier,
            min_won_revenue=Decimal(revenue),
            min_deals_won=deals,
            min_certified_people=certified,
            requires_onboarding=onboarding,
            requires_agreement=agreement,
            rebate_percent=Decimal(rebate),
            mdf_allowance=Decimal(mdf),
            discount_percent=Decimal(discount),
            content_note=note,
        )
        made += 1
    return made


# --- evaluation -----------------------------------------------------------------------------------------


@dataclass
class EvaluationSummary:
    partners: int = 0
    upgrades: int = 0
    downgrades: int = 0
    in_grace: int = 0
    left_out_deals: int = 0


@transaction.atomic
def tiers_evaluate(*, now=None) -> EvaluationSummary:
    """Evaluate every partner in the program of the active tenant, set-based: read everyone's numbers in a
    handful of queries, decide in memory, write all evaluations with one upsert. Moves nobody: upgrades and
    downgrades (after the grace period) become recommendations."""
    now = now or timezone.now()
    tenant = current_tenant()
    grace = timedelta(days=IncentiveSettings.current().downgrade_grace_days)
    rules = selectors.rules_by_rank()
    rank_of = {rule.tier_id: rule.tier.rank for rule in rules}
    tier_rank = dict(Tier.objects.values_list("pk", "rank"))
    numbers = selectors.partner_numbers(now=now)
    current = dict(Partner.objects.filter(pk__in=numbers.keys()).values_list("pk", "tier_id"))
    below = dict(
        TierEvaluation.objects.filter(below_since__isnull=False).values_list("partner_id", "below_since")
    )
    summary = EvaluationSummary(partners=len(numbers))
    rows = []
    for partner_id, figures in numbers.items():
        best = selectors.qualified_rule(rules, figures)
        summary.left_out_deals += figures.left_out_count
        qualified_rank = rank_of[best.tier_id] if best else None
        tier_id = current.get(partner_id)
        current_rank = tier_rank.get(tier_id) if tier_id else None
        recommendation, below_since = Recommendation.NONE, None
        if best is not None and (current_rank is None or qualified_rank > current_rank):
            recommendation = Recommendation.UPGRADE
            summary.upgrades += 1
        elif best is not None and current_rank is not None and qualified_rank < current_rank:
            below_since = below.get(partner_id) or now
            if now - below_since >= grace:
                recommendation = Recommendation.DOWNGRADE
                summary.downgrades += 1
            else:
                summary.in_grace += 1
        rows.append(
            TierEvaluation(
                tenant=tenant,
                partner_id=partner_id,
                evaluated_at=now,
                won_revenue=figures.won_revenue,
                deals_won=figures.deals_won,
                certified_people=figures.certified_people,
                onboarding_complete=figures.onboarding_complete,
                agreement_current=figures.agreement_current,
                deals_left_out=figures.left_out_count,
                left_out_currencies=figures.left_out_currencies,
                qualified_tier_id=best.tier_id if best else None,
                recommendation=recommendation,
                below_since=below_since,
            )
        )
    TierEvaluation.objects.bulk_create(
        rows,
        batch_size=2000,
        update_conflicts=True,
        unique_fields=["partner"],
        update_fields=[
            "evaluated_at",
            "won_revenue",
            "deals_won",
            "certified_people",
            "onboarding_complete",
            "agreement_current",
            "deals_left_out",
            "left_out_currencies",
            "qualified_tier",
            "recommendation",
            "below_since",
        ],
    )
    return summary


# --- tier moves -----------------------------------------------------------------------------------------


@transaction.atomic
def partner_move_tier(
    *, partner: Partner, to_tier: Tier, reason: str, acting_user: User | None
) -> TierChange:
    """Move a partner to `to_tier` with a reason: a TierChange with the numbers at the time, the partner saved
    (its CRM Account's tier follows through the outbox trigger), the partner's people emailed on commit."""
    reason = (reason or "").strip()
    if not reason:
        raise IncentiveError(_("Say why the partner moves."))
    tier = selectors.tier_of_tenant(getattr(to_tier, "pk", None))
    if tier is None or tier.tenant_id != partner.tenant_id:
        raise IncentiveError(_("That tier is not one of this program's tiers."))
    locked = Partner.objects.select_for_update(of=("self",)).select_related("tier").get(pk=partner.pk)
    if locked.tier_id == tier.pk:
        raise IncentiveError(
            _("%(partner)s is in %(tier)s already.") % {"partner": locked.name, "tier": tier.name}
        )
    figures = selectors.partner_numbers(Partner.objects.filter(pk=locked.pk)).get(
        locked.pk, selectors.Numbers()
    )
    change = TierChange.objects.create(
        partner=locked,
        from_tier=locked.tier,
        to_tier=tier,
        changed_by=acting_user,
        reason=reason,
        numbers={
            "won_revenue": str(figures.won_revenue),
            "deals_won": figures.deals_won,
            "certified_people": figures.certified_people,
            "onboarding_complete": figures.onboarding_complete,
            "agreement_current": figures.agreement_current,
        },
    )
    locked.tier = tier
    locked.save(update_fields=["tier", "updated_at"])
    partner.tier = tier
    # The recommendation is acted on: it stands again only if the next evaluation finds it.
    TierEvaluation.objects.filter(partner=locked).update(recommendation=Recommendation.NONE, below_since=None)
    tenant, change_id = current_tenant() or partner.tenant, change.pk
    transaction.on_commit(lambda: emails.tier_changed(tenant=tenant, change_id=change_id))
    return change


def recommendation_accept(
    *, evaluation: TierEvaluation, acting_user: User | None, reason: str = ""
) -> TierChange:
    """Move the partner to the tier its evaluation recommends."""
    if evaluation.recommendation == Recommendation.NONE or evaluation.qualified_tier_id is None:
        raise IncentiveError(
            _("There is no recommendation to accept for %(partner)s.") % {"partner": evaluation.partner}
        )
    kind = evaluation.get_recommendation_display()
    return partner_move_tier(
        partner=evaluation.partner,
        to_tier=evaluation.qualified_tier,
        reason=reason.strip() or _("%(kind)s recommended by the tier evaluation.") % {"kind": kind},
        acting_user=acting_user,
    )


# --- rebates and the ledger -----------------------------------------------------------------------------


def _close_date(deal: Deal) -> date:
    tenant = current_tenant()
    if deal.closed_at is None:
        return deal.expected_close_date
    return deal.closed_at.astimezone(zoneinfo.ZoneInfo(tenant.time_zone if tenant else "UTC")).date()


def rebate_accrue(*, deal: Deal) -> LedgerEntry | None:
    """Accrue a won deal's rebate at its partner's current tier rate, dated on the close date, in the tenant's
    currency: the deal's amount converted at the rate effective on the close date (prm.currencies), the
    deal's own amount, currency and that rate kept on the entry. Once per deal: a second call (deal_won
    delivered twice) returns None and writes nothing. A deal in a currency without any exchange rate
    accrues nothing yet: it waits as a PendingRebate (with the tier rate of today) until a rate is added."""
    if deal.status != DealStatus.WON:
        raise IncentiveError(_("Only a won deal earns a rebate."))
    partner = Partner.objects.select_related("tier").get(pk=deal.partner_id)
    rule = selectors.current_rule(partner)
    rate = rule.rebate_percent if rule else ZERO
    return _accrue(
        deal=deal, partner=partner, rate=rate, tier_name=partner.tier.name if partner.tier_id else ""
    )


def _accrue(*, deal: Deal, partner: Partner, rate: Decimal, tier_name: str) -> LedgerEntry | None:
    day = _close_date(deal)
    conversion = currencies.convert(deal.amount, deal.currency, day)
    if conversion is None:
        PendingRebate.objects.get_or_create(
            deal=deal,
            defaults={
                "partner": partner,
                "rate": rate,
                "tier_name": tier_name,
                "reason": _(
                    "%(currency)s has no exchange rate to %(home)s: add one under Exchange rates and the "
                    "rebate accrues."
                )
                % {"currency": deal.currency, "home": currencies.home_currency()},
            },
        )
        return None
    basis = conversion.amount.quantize(CENT, rounding=ROUND_HALF_UP)
    try:
        with transaction.atomic():
            entry = LedgerEntry.objects.create(
                partner=partner,
                kind=EntryKind.REBATE,
                amount=(basis * rate / 100).quantize(CENT, rounding=ROUND_HALF_UP),
                currency=currencies.home_currency(),
                entry_date=day,
                deal=deal,
                basis=basis,
                rate=rate,
                original_amount=deal.amount,
                original_currency=deal.currency,
                exchange_rate=conversion.rate,
                exchange_rate_from=conversion.rate_from,
                tier_name=tier_name,
                memo=_("Rebate on %(deal)s") % {"deal": deal.name},
            )
    except IntegrityError:
        return None
    PendingRebate.objects.filter(deal=deal, accrued_at__isnull=True).update(
        accrued_at=timezone.now(), ledger_entry=entry
    )
    return entry


def rebates_accrue_pending(*, currency: str | None = None) -> int:
    """Accrue the waiting rebates (of `currency`, or all) whose currency has a rate now, at the tier rate
    they waited with; returns how many accrued."""
    waiting = PendingRebate.objects.filter(accrued_at__isnull=True).select_related("deal", "partner")
    if currency is not None:
        waiting = waiting.filter(deal__currency=currency)
    accrued = 0
    for pending in waiting:
        if pending.deal.status != DealStatus.WON:
            continue
        with transaction.atomic():
            if _accrue(
                deal=pending.deal, partner=pending.partner, rate=pending.rate, tier_name=pending.tier_name
            ):
                accrued += 1
    return accrued


def correction_check(*, partner: Partner, amount: Decimal | None, memo: str) -> None:
    """Raise IncentiveError for a correction the ledger refuses: no reason, no amount, or one that would
    take the partner's balance below zero."""
    if not (memo or "").strip():
        raise IncentiveError(_("Say what the correction is for."))
    if not amount:
        raise IncentiveError(_("A correction needs an amount other than zero."))
    balance = selectors.ledger_balance(partner)
    if balance + amount < 0:
        raise IncentiveError(
            _("This correction would take the balance below zero: it is %(balance)s.")
            % {"balance": money(balance)}
        )


@transaction.atomic
def ledger_correct(
    *, partner: Partner, amount: Decimal, memo: str, acting_user: User | None, entry_date: date | None = None
) -> LedgerEntry:
    """Record a correction as a new entry (the ledger is never edited)."""
    Partner.objects.select_for_update().filter(pk=partner.pk).first()  # one correction at a time per partner
    correction_check(partner=partner, amount=amount, memo=memo)
    tenant = current_tenant()
    return LedgerEntry.objects.create(
        partner=partner,
        kind=EntryKind.CORRECTION,
        amount=amount,
        currency=tenant.currency,
        entry_date=entry_date or timezone.localdate(),
        memo=memo.strip(),
        created_by=acting_user,
    )


def statement_check(*, partner: Partner, period_start: date, period_end: date) -> None:
    """Raise IncentiveError for a period a statement may not cover: backwards, or overlapping one of the
    partner's statements (an entry would be paid twice)."""
    if period_end < period_start:
        raise IncentiveError(_("The period ends before it starts."))
    overlapping = PayoutStatement.objects.filter(
        partner=partner, period_start__lte=period_end, period_end__gte=period_start
    )
    if overlapping.filter(period_start=period_start, period_end=period_end).exists():
        raise IncentiveError(_("A statement for this partner and period exists already."))
    if overlapping.exists():
        raise IncentiveError(
            _(
                "A statement of this partner covers part of this period already: its entries would be paid "
                "twice."
            )
        )


@transaction.atomic
def statement_create(
    *, partner: Partner, period_start: date, period_end: date, acting_user: User | None
) -> PayoutStatement:
    """A draft payout statement of a partner's ledger entries dated in the period."""
    Partner.objects.select_for_update().filter(pk=partner.pk).first()  # one statement at a time per partner
    statement_check(partner=partner, period_start=period_start, period_end=period_end)
    statement = PayoutStatement(
        partner=partner, period_start=period_start, period_end=period_end, currency=current_tenant().currency
    )
    statement.total = _entries_total(statement)
    statement.save()
    return statement


def _entries_total(statement: PayoutStatement) -> Decimal:
    from django.db.models import Sum

    return statement.entries().aggregate(total=Sum("amount"))["total"] or ZERO


@transaction.atomic
def statement_approve(*, statement: PayoutStatement, acting_user: User) -> PayoutStatement:
    """A tenant admin approves a statement; its total is taken again from the ledger at that moment."""
    statement = PayoutStatement.objects.select_for_update().get(pk=statement.pk)
    statement_transition(statement, StatementStatus.APPROVED)
    statement.total = _entries_total(statement)
    statement.approved_by = acting_user
    statement.approved_at = timezone.now()
    statement.save()
    return statement


# --- MDF ------------------------------------------------------------------------------------------------


def _budget(partner: Partner, day: date) -> MdfBudget:
    """The partner's budget row of `day`'s quarter, made from its tier's allowance on first use."""
    start, end = selectors.quarter_of(day)
    rule = selectors.current_rule(partner)
    budget, _made = MdfBudget.objects.get_or_create(
        partner=partner,
        period_start=start,
        defaults={"period_end": end, "allowance": rule.mdf_allowance if rule else ZERO},
    )
    return budget


@transaction.atomic
def mdf_request_submit(
    *,
    partner: Partner,
    title: str,
    description: str,
    amount: Decimal,
    starts_on: date,
    ends_on: date,
    acting_user: User,
) -> MdfRequest:
    """A partner asks for funds for an activity; refused above what is left of the quarter's allowance."""
    if amount is None or amount <= 0:
        raise IncentiveError(_("Ask for an amount above zero."))
    if ends_on < starts_on:
        raise IncentiveError(_("The activity ends before it starts."))
    budget = _budget(partner, starts_on)
    if amount > budget.remaining:
        raise IncentiveError(
            _("That is more than the %(remaining)s left of this quarter's MDF allowance.")
            % {"remaining": money(budget.remaining)}
        )
    return MdfRequest.objects.create(
        partner=partner,
        budget=budget,
        title=title.strip(),
        description=description.strip(),
        amount=amount,
        currency=current_tenant().currency,
        starts_on=starts_on,
        ends_on=ends_on,
        requested_by=acting_user,
    )


def _locked_request(request: MdfRequest) -> MdfRequest:
    return MdfRequest.objects.select_for_update(of=("self",)).select_related("partner").get(pk=request.pk)


@transaction.atomic
def mdf_request_approve(
    *, request: MdfRequest, acting_user: User, reason: str = "", notify: bool = True
) -> MdfRequest:
    """Approve a request: its amount is held on the quarter's budget. The budget row is locked first, so two
    approvals at once cannot together hold more than the allowance."""
    budget = MdfBudget.objects.select_for_update().get(pk=request.budget_id)
    request = _locked_request(request)
    mdf_transition(request, MdfStatus.APPROVED)
    if request.amount > budget.remaining:
        raise IncentiveError(
            _("Approving %(amount)s would overspend the budget: %(remaining)s is left.")
            % {"amount": money(request.amount), "remaining": money(budget.remaining)}
        )
    budget.committed += request.amount
    budget.save(update_fields=["committed"])
    request.decided_by = acting_user
    request.decided_at = timezone.now()
    request.decision_reason = reason.strip()
    request.claim_by = timezone.localdate() + timedelta(days=IncentiveSettings.current().mdf_expiry_days)
    request.save()
    if notify:
        _notify(emails.mdf_decided, request)
    return request


@transaction.atomic
def mdf_request_reject(*, request: MdfRequest, acting_user: User, reason: str) -> MdfRequest:
    """Reject a request, with a reason."""
    if not (reason or "").strip():
        raise IncentiveError(_("Say why the request is rejected."))
    request = _locked_request(request)
    mdf_transition(request, MdfStatus.REJECTED)
    request.decided_by = acting_user
    request.decided_at = timezone.now()
    request.decision_reason = reason.strip()
    request.save()
    _notify(emails.mdf_decided, request)
    return request


@transaction.atomic
def mdf_claim_submit(
    *, request: MdfRequest, amount: Decimal, note: str, files: list, acting_user: User
) -> MdfClaim:
    """Claim an approved request after the activity, with at least one proof. Refused above the approved
    amount, after the claim deadline, or with a file enablement's upload rules refuse."""
    request = _locked_request(request)
    today = timezone.localdate()
    if request.status == MdfStatus.EXPIRED or (
        request.status == MdfStatus.APPROVED and request.claim_by and today > request.claim_by
    ):
        raise IncentiveError(
            _("The approval expired on %(date)s; it can no longer be claimed.") % {"date": request.claim_by}
        )
    if amount is None or amount <= 0:
        raise IncentiveError(_("Claim an amount above zero."))
    if amount > request.amount:
        raise IncentiveError(
            _("The claim is above the approved %(amount)s.") % {"amount": money(request.amount)}
        )
    if today < request.ends_on:
        raise IncentiveError(
            _("Claim once the activity is over (it ends on %(date)s).") % {"date": request.ends_on}
        )
    if not files:
        raise IncentiveError(_("Add at least one proof of the activity."))
    checked = [(upload, uploads.validate_upload(upload)) for upload in files]
    mdf_transition(request, MdfStatus.CLAIMED)
    request.save()
    claim = MdfClaim.objects.create(
        request=request, amount=amount, note=(note or "").strip(), submitted_by=acting_user
    )
    for upload, info in checked:
        proof = MdfProof(
            tenant=claim.tenant,
            claim=claim,
            name=info.original_name,
            content_type=info.content_type,
            size=info.size,
        )
        proof.file.save(f"proof.{info.extension}", upload, save=False)
        proof.save()
    return claim


@transaction.atomic
def mdf_claim_approve(
    *, claim: MdfClaim, acting_user: User, reason: str = "", notify: bool = True
) -> LedgerEntry:
    """Approve a claim: it posts to the ledger, and what the activity did not use goes back to the budget.
    A claim is approved once; a second approval says so and writes nothing."""
    claim = MdfClaim.objects.select_for_update().get(pk=claim.pk)
    if claim.status == ClaimStatus.APPROVED:
        raise IncentiveError(_("This claim was approved already."))
    claim_transition(claim, ClaimStatus.APPROVED)
    request = _locked_request(claim.request)
    budget = MdfBudget.objects.select_for_update().get(pk=request.budget_id)
    mdf_transition(request, MdfStatus.PAID)
    budget.committed -= request.amount - claim.amount
    budget.save(update_fields=["committed"])
    request.save()
    claim.decided_by = acting_user
    claim.decided_at = timezone.now()
    claim.decision_reason = reason.strip()
    claim.save()
    entry = LedgerEntry.objects.create(
        partner=request.partner,
        kind=EntryKind.MDF,
        amount=claim.amount,
        currency=request.currency,
        entry_date=timezone.localdate(),
        mdf_claim=claim,
        memo=_("MDF: %(activity)s") % {"activity": request.title},
        created_by=acting_user,
    )
    if notify:
        _notify(emails.mdf_claim_decided, request)
    return entry


@transaction.atomic
def mdf_claim_reject(*, claim: MdfClaim, acting_user: User, reason: str) -> MdfClaim:
    """Send a claim back with a reason: the request is approved again and may be claimed anew until expiry."""
    if not (reason or "").strip():
        raise IncentiveError(_("Say why the claim is rejected."))
    claim = MdfClaim.objects.select_for_update().get(pk=claim.pk)
    claim_transition(claim, ClaimStatus.REJECTED)
    request = _locked_request(claim.request)
    mdf_transition(request, MdfStatus.APPROVED)
    request.save()
    claim.decided_by = acting_user
    claim.decided_at = timezone.now()
    claim.decision_reason = reason.strip()
    claim.save()
    _notify(emails.mdf_claim_decided, request)
    return claim


def mdf_expire_due(*, today: date | None = None) -> int:
    """Expire approved requests nobody claimed by their deadline; their amounts go back to the budget."""
    today = today or timezone.localdate()
    expired = 0
    for request in MdfRequest.objects.filter(status=MdfStatus.APPROVED, claim_by__lt=today):
        with transaction.atomic():
            budget = MdfBudget.objects.select_for_update().get(pk=request.budget_id)
            request = _locked_request(request)
            if request.status != MdfStatus.APPROVED:
                continue
            mdf_transition(request, MdfStatus.EXPIRED)
            request.save()
            budget.committed -= request.amount
            budget.save(update_fields=["committed"])
            expired += 1
    return expired


def _notify(func, request: MdfRequest) -> None:
    tenant, request_id = current_tenant(), request.pk
    transaction.on_commit(lambda: func(tenant=tenant, request_id=request_id))
