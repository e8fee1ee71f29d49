"""Incentives: tier rules and benefits, tier evaluations and moves, the rebate/MDF ledger, payout statements,
and MDF budgets, requests and claims.

The history rows (TierChange) and the ledger (LedgerEntry) are append-only: database triggers refuse updates
and deletes, so a correction is always a new row.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import pgtrigger
from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from enablement.storage import private_storage
from partners.models import Partner, Tier
from prm.models import user_reference
from prm.tenancy import TenantOwnedModel, scoped_manager

ZERO = Decimal("0")
MONEY = {"max_digits": 14, "decimal_places": 2}


class IncentiveSettings(TenantOwnedModel):
    """The tenant's incentive knobs (one row per tenant, made on first use)."""

    downgrade_grace_days = models.PositiveIntegerField(
        _("downgrade grace period (days)"),
        default=90,
        help_text=_("How long a partner may fall short of its tier before a downgrade is recommended."),
    )
    mdf_expiry_days = models.PositiveIntegerField(
        _("MDF approval expiry (days)"),
        default=90,
        help_text=_("An approved MDF request that nobody claimed within this many days expires."),
    )

    class Meta:
        verbose_name = _("incentive settings")
        verbose_name_plural = _("incentive settings")
        constraints = [models.UniqueConstraint(fields=["tenant"], name="incentive_settings_once")]

    def __str__(self) -> str:
        return str(_("Incentive settings"))

    @classmethod
    def current(cls) -> IncentiveSettings:
        """The active tenant's settings row, made with the defaults on first use."""
        row = cls.objects.first()
        return row if row is not None else cls.objects.create()


class TierRule(TenantOwnedModel):
    """What a tier asks of a partner (criteria) and what it gives (benefits)."""

    tier = models.OneToOneField(Tier, on_delete=models.CASCADE, related_name="rule", verbose_name=_("tier"))
    min_won_revenue = models.DecimalField(
        _("won revenue, trailing 12 months"), default=ZERO, validators=[MinValueValidator(0)], **MONEY
    )
    min_deals_won = models.PositiveIntegerField(_("deals won, trailing 12 months"), default=0)
    min_certified_people = models.PositiveIntegerField(_("people certified now"), default=0)
    requires_onboarding = models.BooleanField(_("onboarding complete"), default=False)
    requires_agreement = models.BooleanField(_("agreement current"), default=False)
    rebate_percent = models.DecimalField(
        _("rebate %"),
        max_digits=5,
        decimal_places=2,
        default=ZERO,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    mdf_allowance = models.DecimalField(
        _("MDF allowance per quarter"), default=ZERO, validators=[MinValueValidator(0)], **MONEY
    )
    discount_percent = models.DecimalField(
        _("discount %"),
        max_digits=5,
        decimal_places=2,
        default=ZERO,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    content_note = models.CharField(
        _("content"),
        max_length=200,
        blank=True,
        help_text=_("The content this tier opens, as partners read it."),
    )

    class Meta:
        ordering = ["tier__rank"]
        verbose_name = _("tier rule")
        verbose_name_plural = _("tier rules")

    def __str__(self) -> str:
        return str(self.tier)


class Recommendation(models.TextChoices):
    NONE = "none", _("Stays")
    UPGRADE = "upgrade", _("Upgrade")
    DOWNGRADE = "downgrade", _("Downgrade")


class TierEvaluation(TenantOwnedModel):
    """The latest evaluation of a partner: its numbers, the tier they qualify for, and the recommendation."""

    partner = models.OneToOneField(
        Partner, on_delete=models.CASCADE, related_name="tier_evaluation", verbose_name=_("partner")
    )
    evaluated_at = models.DateTimeField(_("evaluated"), default=timezone.now)
    won_revenue = models.DecimalField(_("won revenue, trailing 12 months"), default=ZERO, **MONEY)
    deals_won = models.PositiveIntegerField(_("deals won, trailing 12 months"), default=0)
    certified_people = models.PositiveIntegerField(_("people certified now"), default=0)
    onboarding_complete = models.BooleanField(_("onboarding complete"), default=False)
    agreement_current = models.BooleanField(_("agreement current"), default=False)
    # Won deals in a currency without any exchange rate: not in won_revenue until the currency has a rate.
    deals_left_out = models.PositiveIntegerField(_("won deals left out of the revenue"), default=0)
    left_out_currencies = models.CharField(
        _("currencies without an exchange rate"), max_length=120, blank=True
    )
    qualified_tier = models.ForeignKey(
        Tier,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("qualifies for"),
    )
    recommendation = models.CharField(
        _("recommendation"), max_length=10, choices=Recommendation.choices, default=Recommendation.NONE
    )
    # Since when the partner has qualified for less than its tier: a downgrade waits out the grace period.
    below_since = models.DateTimeField(_("below its tier since"), null=True, blank=True)

    class Meta:
        verbose_name = _("tier evaluation")
        verbose_name_plural = _("tier evaluations")
        indexes = [models.Index(fields=["tenant", "recommendation"])]

    def __str__(self) -> str:
        return f"{self.partner}: {self.get_recommendation_display()}"


class PartnerTier(Partner):
    """Partners as the tier admin lists them (a proxy: moves go through incentives' services)."""

    class Meta:
        proxy = True
        verbose_name = _("partner tier")
        verbose_name_plural = _("partner tiers")


class TierChange(TenantOwnedModel):
    """One tier move of a partner: from, to, who, when, why, and the numbers at the time. Never changed."""

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    partner = models.ForeignKey(
        Partner, on_delete=models.CASCADE, related_name="tier_changes", verbose_name=_("partner")
    )
    from_tier = models.ForeignKey(
        Tier, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("from")
    )
    to_tier = models.ForeignKey(Tier, on_delete=models.PROTECT, related_name="+", verbose_name=_("to"))
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("moved by"),
    )
    changed_at = models.DateTimeField(_("when"), default=timezone.now)
    reason = models.TextField(_("reason"))
    numbers = models.JSONField(_("numbers at the time"), default=dict, blank=True)

    class Meta:
        ordering = ["-changed_at", "-id"]
        verbose_name = _("tier change")
        verbose_name_plural = _("tier changes")
        triggers = [
            pgtrigger.Protect(name="tier_change_is_immutable", operation=pgtrigger.Update | pgtrigger.Delete),
        ]

    def __str__(self) -> str:
        return f"{self.partner}: {self.from_tier or '—'} → {self.to_tier}"


# --- the ledger -----------------------------------------------------------------------------------------


class EntryKind(models.TextChoices):
    REBATE = "rebate", _("Rebate")
    MDF = "mdf", _("MDF claim")
    CORRECTION = "correction", _("Correction")


class LedgerEntryQuerySet(models.QuerySet):
    def in_period(self, start: date, end: date):
        """Entries dated from `start` to `end`, both included."""
        return self.filter(entry_date__gte=start, entry_date__lte=end)


class LedgerEntry(TenantOwnedModel):
    """One amount owed to a partner (negative for a correction down). Never changed or deleted."""

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    partner = models.ForeignKey(
        Partner, on_delete=models.PROTECT, related_name="ledger_entries", verbose_name=_("partner")
    )
    kind = models.CharField(_("kind"), max_length=12, choices=EntryKind.choices)
    amount = models.DecimalField(_("amount"), **MONEY)
    currency = models.CharField(_("currency"), max_length=3)
    entry_date = models.DateField(_("date"))
    deal = models.ForeignKey(
        "dealreg.Deal",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("deal"),
    )
    mdf_claim = models.ForeignKey(
        "MdfClaim",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("MDF claim"),
    )
    # A rebate's basis is the deal's amount in the tenant's currency; the deal's own amount and currency,
    # and the exchange rate that converted them, are kept beside it.
    basis = models.DecimalField(_("basis"), null=True, blank=True, **MONEY)
    rate = models.DecimalField(_("rate %"), max_digits=5, decimal_places=2, null=True, blank=True)
    original_amount = models.DecimalField(_("deal amount"), null=True, blank=True, **MONEY)
    original_currency = models.CharField(_("deal currency"), max_length=3, blank=True)
    exchange_rate = models.DecimalField(
        _("exchange rate"), max_digits=18, decimal_places=8, null=True, blank=True
    )
    exchange_rate_from = models.DateField(_("exchange rate effective from"), null=True, blank=True)
    tier_name = models.CharField(_("tier"), max_length=80, blank=True)
    memo = models.CharField(_("memo"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    created_at = models.DateTimeField(_("recorded"), default=timezone.now, editable=False)

    objects = scoped_manager(manager_class=models.Manager.from_queryset(LedgerEntryQuerySet))

    class Meta:
        ordering = ["-entry_date", "-id"]
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        constraints = [
            # A won deal accrues its rebate once, however often deal_won arrives.
            models.UniqueConstraint(
                fields=["deal"], condition=Q(kind="rebate"), name="incentives_rebate_once_per_deal"
            ),
            models.UniqueConstraint(
                fields=["mdf_claim"], condition=Q(kind="mdf"), name="incentives_mdf_once_per_claim"
            ),
        ]
        indexes = [models.Index(fields=["tenant", "partner", "entry_date"])]
        triggers = [
            pgtrigger.Protect(name="ledger_is_append_only", operation=pgtrigger.Update | pgtrigger.Delete),
        ]

    def __str__(self) -> str:
        return f"{self.partner}: {self.get_kind_display()} {self.amount} {self.currency}"


class PendingRebate(TenantOwnedModel):
    """A won deal whose rebate could not accrue yet, and why (its currency has no exchange rate). It accrues
    as soon as the currency gets a rate (incentives.receivers), at the tier rate of the day it was won."""

    deal = models.OneToOneField(
        "dealreg.Deal", on_delete=models.CASCADE, related_name="+", verbose_name=_("deal")
    )
    partner = models.ForeignKey(
        Partner, on_delete=models.CASCADE, related_name="pending_rebates", verbose_name=_("partner")
    )
    rate = models.DecimalField(_("rate %"), max_digits=5, decimal_places=2)
    tier_name = models.CharField(_("tier"), max_length=80, blank=True)
    reason = models.CharField(_("why it waits"), max_length=300)
    created_at = models.DateTimeField(_("since"), default=timezone.now, editable=False)
    accrued_at = models.DateTimeField(_("accrued"), null=True, blank=True)
    ledger_entry = models.ForeignKey(
        LedgerEntry,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("ledger entry"),
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("rebate waiting for an exchange rate")
        verbose_name_plural = _("rebates waiting for an exchange rate")

    def __str__(self) -> str:
        return f"{self.partner}: {self.deal}"


class StatementStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    APPROVED = "approved", _("Approved")


STATEMENT_TRANSITIONS = {StatementStatus.DRAFT: {StatementStatus.APPROVED}}


class PayoutStatement(TenantOwnedModel):
    """What a partner is paid for a period: the ledger entries dated in it, approved by a tenant admin."""

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    partner = models.ForeignKey(
        Partner, on_delete=models.PROTECT, related_name="payout_statements", verbose_name=_("partner")
    )
    period_start = models.DateField(_("from"))
    period_end = models.DateField(_("to"))
    total = models.DecimalField(_("total"), default=ZERO, **MONEY)
    currency = models.CharField(_("currency"), max_length=3)
    status = models.CharField(
        _("status"), max_length=10, choices=StatementStatus.choices, default=StatementStatus.DRAFT
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("approved by"),
    )
    approved_at = models.DateTimeField(_("approved"), null=True, blank=True)

    class Meta:
        ordering = ["-period_start", "partner__name"]
        verbose_name = _("payout statement")
        verbose_name_plural = _("payout statements")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "partner", "period_start", "period_end"], name="incentives_statement_once"
            ),
            models.CheckConstraint(
                condition=Q(period_end__gte=models.F("period_start")), name="statement_period"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.partner}: {self.period_start} – {self.period_end}"

    def entries(self):
        """The ledger entries the statement pays: the partner's, dated in the period, in its currency."""
        return LedgerEntry.objects.filter(partner=self.partner_id, currency=self.currency).in_period(
            self.period_start, self.period_end
        )


# --- MDF ------------------------------------------------------------------------------------------------


class MdfBudget(TenantOwnedModel):
    """A partner's MDF allowance for a quarter and how much of it approvals hold. Approvals lock this row."""

    partner = models.ForeignKey(
        Partner, on_delete=models.CASCADE, related_name="mdf_budgets", verbose_name=_("partner")
    )
    period_start = models.DateField(_("quarter from"))
    period_end = models.DateField(_("quarter to"))
    allowance = models.DecimalField(_("allowance"), default=ZERO, **MONEY)
    committed = models.DecimalField(_("held by approvals"), default=ZERO, **MONEY)

    class Meta:
        ordering = ["-period_start"]
        verbose_name = _("MDF budget")
        verbose_name_plural = _("MDF budgets")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "partner", "period_start"], name="incentives_budget_once"
            ),
            # The last line of defence: a balance can never go negative.
            models.CheckConstraint(
                condition=Q(committed__gte=0) & Q(committed__lte=models.F("allowance")),
                name="incentives_budget_never_overspent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.partner}: {self.period_start} – {self.period_end}"

    @property
    def remaining(self) -> Decimal:
        return self.allowance - self.committed


class MdfStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    CLAIMED = "claimed", _("Claimed")
    PAID = "paid", _("Claim approved")
    EXPIRED = "expired", _("Expired")


MDF_TRANSITIONS = {
    MdfStatus.REQUESTED: {MdfStatus.APPROVED, MdfStatus.REJECTED},
    MdfStatus.APPROVED: {MdfStatus.CLAIMED, MdfStatus.EXPIRED},
    MdfStatus.CLAIMED: {MdfStatus.PAID, MdfStatus.APPROVED},
}


class MdfRequest(TenantOwnedModel):
    """A partner's request for funds for one marketing activity, and its way to a paid claim."""

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    partner = models.ForeignKey(
        Partner, on_delete=models.PROTECT, related_name="mdf_requests", verbose_name=_("partner")
    )
    budget = models.ForeignKey(
        MdfBudget, on_delete=models.PROTECT, related_name="requests", verbose_name=_("budget")
    )
    title = models.CharField(_("activity"), max_length=160)
    description = models.TextField(_("description"))
    amount = models.DecimalField(_("amount"), validators=[MinValueValidator(Decimal("0.01"))], **MONEY)
    currency = models.CharField(_("currency"), max_length=3)
    starts_on = models.DateField(_("starts"))
    ends_on = models.DateField(_("ends"))
    status = models.CharField(
        _("status"), max_length=10, choices=MdfStatus.choices, default=MdfStatus.REQUESTED
    )
    requested_by = user_reference(_("requested by"))
    requested_at = models.DateTimeField(_("requested"), default=timezone.now)
    decided_by = user_reference(_("decided by"))
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decision_reason = models.TextField(_("reason"), blank=True)
    claim_by = models.DateField(_("claim by"), null=True, blank=True)

    class Meta:
        ordering = ["-requested_at"]
        verbose_name = _("MDF request")
        verbose_name_plural = _("MDF requests")
        constraints = [
            models.CheckConstraint(condition=Q(ends_on__gte=models.F("starts_on")), name="mdf_dates")
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.partner})"


class ClaimStatus(models.TextChoices):
    SUBMITTED = "submitted", _("Submitted")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


CLAIM_TRANSITIONS = {ClaimStatus.SUBMITTED: {ClaimStatus.APPROVED, ClaimStatus.REJECTED}}


class MdfClaim(TenantOwnedModel):
    """The partner's claim for an approved request, after the activity, with proofs."""

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    request = models.ForeignKey(
        MdfRequest, on_delete=models.PROTECT, related_name="claims", verbose_name=_("request")
    )
    amount = models.DecimalField(_("amount"), validators=[MinValueValidator(Decimal("0.01"))], **MONEY)
    note = models.TextField(_("note"), blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=ClaimStatus.choices, default=ClaimStatus.SUBMITTED
    )
    submitted_by = user_reference(_("submitted by"))
    submitted_at = models.DateTimeField(_("submitted"), default=timezone.now)
    decided_by = user_reference(_("decided by"))
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decision_reason = models.TextField(_("reason"), blank=True)

    class Meta:
        ordering = ["-submitted_at"]
        verbose_name = _("MDF claim")
        verbose_name_plural = _("MDF claims")

    def __str__(self) -> str:
        return f"{self.request.title}: {self.amount}"


def proof_path(proof: MdfProof, filename: str) -> str:
    # Generated names under the tenant's own folder: the uploaded name never becomes a path.
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"tenants/{proof.tenant.slug}/incentives/proofs/{uuid.uuid4().hex}.{extension}"


class MdfProof(TenantOwnedModel):
    """A file proving a claimed activity (checked by enablement's upload rules, kept in private storage)."""

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    claim = models.ForeignKey(
        MdfClaim, on_delete=models.CASCADE, related_name="proofs", verbose_name=_("claim")
    )
    file = models.FileField(_("file"), storage=private_storage, upload_to=proof_path)
    name = models.CharField(_("name"), max_length=200)
    content_type = models.CharField(_("content type"), max_length=120)
    size = models.PositiveIntegerField(_("size"))
    uploaded_at = models.DateTimeField(_("uploaded"), default=timezone.now)

    class Meta:
        ordering = ["uploaded_at"]
        verbose_name = _("MDF proof")
        verbose_name_plural = _("MDF proofs")

    def __str__(self) -> str:
        return self.name
