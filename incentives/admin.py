"""incentives/ in the tenant admin: tier rules and settings, partner tiers with move and accept actions, the
immutable tier history, the ledger (corrections are new entries), payout statements, and MDF decisions."""

from __future__ import annotations

import csv

from django import forms
from django.contrib import admin, messages
from django.http import HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from incentives import services
from incentives.models import (
    ClaimStatus,
    IncentiveSettings,
    LedgerEntry,
    MdfBudget,
    MdfClaim,
    MdfProof,
    MdfRequest,
    MdfStatus,
    PartnerTier,
    PayoutStatement,
    PendingRebate,
    Recommendation,
    TierChange,
    TierEvaluation,
    TierRule,
)
from partners.models import Partner, Tier
from prm.admin_actions import ReasonForm, action_with_form, apply_each, report
from prm.admin_sites import (
    ReadOnlyInline,
    ReadOnlyModelAdmin,
    TenantAdminOnly,
    TenantModelAdmin,
    tenant_admin_site,
)
from prm.models import Role


@admin.register(IncentiveSettings, site=tenant_admin_site)
class IncentiveSettingsAdmin(TenantAdminOnly):
    list_display = ["__str__", "downgrade_grace_days", "mdf_expiry_days"]
    fields = ["downgrade_grace_days", "mdf_expiry_days"]

    def has_add_permission(self, request) -> bool:
        return super().has_add_permission(request) and not IncentiveSettings.objects.exists()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def changelist_view(self, request, extra_context=None):
        IncentiveSettings.current()
        return super().changelist_view(request, extra_context)


@admin.register(TierRule, site=tenant_admin_site)
class TierRuleAdmin(TenantAdminOnly):
    list_display = [
        "tier",
        "min_won_revenue",
        "min_deals_won",
        "min_certified_people",
        "requires_onboarding",
        "requires_agreement",
        "rebate_percent",
        "mdf_allowance",
        "discount_percent",
    ]
    list_select_related = ["tier"]
    fieldsets = [
        (None, {"fields": ["tier"]}),
        (
            _("Criteria"),
            {
                "fields": [
                    "min_won_revenue",
                    "min_deals_won",
                    "min_certified_people",
                    "requires_onboarding",
                    "requires_agreement",
                ]
            },
        ),
        (_("Benefits"), {"fields": ["rebate_percent", "mdf_allowance", "discount_percent", "content_note"]}),
    ]


# --- actions with a form on an intermediate page --------------------------------------------------------


class MoveForm(ReasonForm):
    tier = forms.ModelChoiceField(label=_("Move to"), queryset=Tier.objects.none())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The active tenant's tiers only: another tenant's tier is not a valid choice.
        self.fields["tier"].queryset = Tier.objects.all()
        self.order_fields(["tier", "reason"])


def _each(modeladmin, request, rows, call) -> None:
    done, refusals = apply_each(rows, call)
    report(modeladmin, request, done, refusals)


class TierChangeInline(ReadOnlyInline):
    model = TierChange
    fields = ["changed_at", "from_tier", "to_tier", "changed_by", "reason", "numbers"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("from_tier", "to_tier", "changed_by")


@admin.register(PartnerTier, site=tenant_admin_site)
class PartnerTierAdmin(TenantModelAdmin):
    list_display = [
        "name",
        "tier",
        "qualifies_for",
        "recommendation",
        "won_revenue",
        "deals_won",
        "certified_people",
    ]
    list_filter = ["tier", "tier_evaluation__recommendation"]
    search_fields = ["name", "website_domain"]
    list_select_related = ["tier", "tier_evaluation__qualified_tier"]
    fields = ["name", "tier", "stage"]
    readonly_fields = fields
    inlines = [TierChangeInline]
    actions = ["move_to_tier", "accept_recommendations"]

    def get_queryset(self, request):
        return super().get_queryset(request).in_program()

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def _evaluation(self, obj):
        try:
            return obj.tier_evaluation
        except TierEvaluation.DoesNotExist:
            return None

    @admin.display(description=_("qualifies for"))
    def qualifies_for(self, obj):
        evaluation = self._evaluation(obj)
        return evaluation.qualified_tier if evaluation and evaluation.qualified_tier else "—"

    @admin.display(description=_("recommendation"))
    def recommendation(self, obj):
        evaluation = self._evaluation(obj)
        return evaluation.get_recommendation_display() if evaluation else "—"

    @admin.display(description=_("won revenue, trailing 12 months"))
    def won_revenue(self, obj):
        evaluation = self._evaluation(obj)
        return evaluation.won_revenue if evaluation else "—"

    @admin.display(description=_("deals won"))
    def deals_won(self, obj):
        evaluation = self._evaluation(obj)
        return evaluation.deals_won if evaluation else "—"

    @admin.display(description=_("people certified"))
    def certified_people(self, obj):
        evaluation = self._evaluation(obj)
        return evaluation.certified_people if evaluation else "—"

    @admin.action(description=_("Move the selected partners to a tier, with a reason"))
    def move_to_tier(self, request, queryset):
        return action_with_form(
            self,
            request,
            queryset,
            call=lambda partner, data: services.partner_move_tier(
                partner=partner, to_tier=data["tier"], reason=data["reason"], acting_user=request.user
            ),
            title=gettext("Move partners to a tier"),
            form_class=MoveForm,
        )

    @admin.action(description=_("Accept the recommended tier of the selected partners"))
    def accept_recommendations(self, request, queryset):
        evaluations = TierEvaluation.objects.filter(partner__in=queryset).select_related(
            "partner", "qualified_tier"
        )
        _each(
            self,
            request,
            evaluations,
            lambda evaluation: services.recommendation_accept(
                evaluation=evaluation, acting_user=request.user
            ),
        )
        missing = queryset.count() - len(evaluations)
        if missing:
            text = gettext("%(n)d partner(s) have no evaluation yet.") % {"n": missing}
            self.message_user(request, text, messages.ERROR)


@admin.register(TierEvaluation, site=tenant_admin_site)
class TierEvaluationAdmin(ReadOnlyModelAdmin):
    list_display = [
        "partner",
        "current_tier",
        "qualified_tier",
        "recommendation",
        "won_revenue",
        "deals_won",
        "certified_people",
        "onboarding_complete",
        "agreement_current",
        "left_out",
        "below_since",
        "evaluated_at",
    ]
    list_filter = ["recommendation", "qualified_tier"]
    search_fields = ["partner__name"]
    list_select_related = ["partner__tier", "qualified_tier"]
    actions = ["accept"]

    @admin.display(description=_("tier"))
    def current_tier(self, obj):
        return obj.partner.tier or "—"

    @admin.display(description=_("won deals left out of the revenue"), ordering="deals_left_out")
    def left_out(self, obj):
        if not obj.deals_left_out:
            return "—"
        return gettext("%(n)d (no exchange rate for %(currencies)s)") % {
            "n": obj.deals_left_out,
            "currencies": obj.left_out_currencies,
        }

    @admin.action(description=_("Accept the selected recommendations"))
    def accept(self, request, queryset):
        _each(
            self,
            request,
            queryset.exclude(recommendation=Recommendation.NONE),
            lambda evaluation: services.recommendation_accept(
                evaluation=evaluation, acting_user=request.user
            ),
        )


@admin.register(TierChange, site=tenant_admin_site)
class TierChangeAdmin(ReadOnlyModelAdmin):
    list_display = ["partner", "from_tier", "to_tier", "changed_by", "changed_at", "reason"]
    list_filter = ["to_tier"]
    search_fields = ["partner__name", "reason"]
    list_select_related = ["partner", "from_tier", "to_tier", "changed_by"]
    fields = ["public_id", "partner", "from_tier", "to_tier", "changed_by", "changed_at", "reason", "numbers"]
    readonly_fields = fields


# --- the ledger and payout statements -------------------------------------------------------------------


class CorrectionForm(forms.ModelForm):
    # No Meta: the admin builds the fields inside the request's tenant scope (get_form).

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "memo" in self.fields:
            self.fields["memo"].required = True
            self.fields["entry_date"].initial = timezone.localdate()

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("partner") and cleaned.get("amount") is not None and cleaned.get("memo"):
            services.correction_check(
                partner=cleaned["partner"], amount=cleaned["amount"], memo=cleaned["memo"]
            )
        return cleaned


@admin.register(LedgerEntry, site=tenant_admin_site)
class LedgerEntryAdmin(TenantAdminOnly):
    list_display = [
        "entry_date",
        "partner",
        "kind",
        "amount",
        "currency",
        "rate",
        "tier_name",
        "original",
        "exchange_rate",
        "memo",
    ]
    list_filter = ["kind", "partner"]
    search_fields = ["partner__name", "memo"]
    list_select_related = ["partner"]
    date_hierarchy = "entry_date"
    form = CorrectionForm

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["partner", "amount", "entry_date", "memo"]
        return super().get_fields(request, obj)

    @admin.display(description=_("deal amount"))
    def original(self, obj):
        return f"{obj.original_amount} {obj.original_currency}" if obj.original_amount is not None else ""

    def has_change_permission(self, request, obj=None) -> bool:
        # Append-only: a correction is a new entry.
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return [f.name for f in LedgerEntry._meta.fields if f.name not in ("id", "tenant")]

    def save_model(self, request, obj, form, change):
        entry = services.ledger_correct(
            partner=form.cleaned_data["partner"],
            amount=form.cleaned_data["amount"],
            memo=form.cleaned_data["memo"],
            entry_date=form.cleaned_data["entry_date"],
            acting_user=request.user,
        )
        obj.pk = entry.pk

    def save_form(self, request, form, change):
        return form.save(commit=False)


@admin.register(PendingRebate, site=tenant_admin_site)
class PendingRebateAdmin(ReadOnlyModelAdmin):
    """Rebates of won deals in a currency without an exchange rate: they accrue once a rate is added (or
    with the action, after adding one)."""

    list_display = ["deal", "partner", "deal_amount", "rate", "reason", "created_at", "accrued_at"]
    list_filter = [("accrued_at", admin.EmptyFieldListFilter)]
    search_fields = ["partner__name", "deal__name"]
    list_select_related = ["deal", "partner"]
    fields = ["deal", "partner", "deal_amount", "rate", "tier_name", "reason", "created_at", "accrued_at"]
    readonly_fields = fields
    actions = ["accrue"]

    @admin.display(description=_("deal amount"))
    def deal_amount(self, obj):
        return f"{obj.deal.amount} {obj.deal.currency}"

    @admin.action(description=_("Accrue the selected rebates whose currency has a rate now"))
    def accrue(self, request, queryset):
        done = 0
        for currency in set(
            queryset.filter(accrued_at__isnull=True).values_list("deal__currency", flat=True)
        ):
            done += services.rebates_accrue_pending(currency=currency)
        waiting = queryset.filter(accrued_at__isnull=True).count()
        report(self, request, done, [])
        if waiting:
            self.message_user(
                request,
                gettext("%(n)d still wait: their currency has no exchange rate.") % {"n": waiting},
                messages.WARNING,
            )


class StatementForm(forms.ModelForm):
    # No Meta: the admin builds the fields inside the request's tenant scope (get_form).

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "partner" in self.fields:
            self.fields["partner"].queryset = Partner.objects.in_program()

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("period_start"), cleaned.get("period_end")
        if start and end and cleaned.get("partner"):
            services.statement_check(partner=cleaned["partner"], period_start=start, period_end=end)
        return cleaned


@admin.register(PayoutStatement, site=tenant_admin_site)
class PayoutStatementAdmin(TenantAdminOnly):
    list_display = ["partner", "period_start", "period_end", "total", "currency", "status", "approved_by"]
    list_filter = ["status", "period_start"]
    search_fields = ["partner__name"]
    list_select_related = ["partner", "approved_by"]
    form = StatementForm
    actions = ["approve", "export_csv"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["partner", "period_start", "period_end"]
        return super().get_fields(request, obj)

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return [
            "partner",
            "period_start",
            "period_end",
            "total",
            "currency",
            "status",
            "approved_by",
            "approved_at",
        ]

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change):
        statement = services.statement_create(
            partner=form.cleaned_data["partner"],
            period_start=form.cleaned_data["period_start"],
            period_end=form.cleaned_data["period_end"],
            acting_user=request.user,
        )
        obj.pk = statement.pk

    def save_form(self, request, form, change):
        return form.save(commit=False)

    def get_actions(self, request):
        actions = super().get_actions(request)
        if self._role(request) != Role.TENANT_ADMIN:
            actions.pop("approve", None)
        return actions

    @admin.action(description=_("Approve the selected statements"))
    def approve(self, request, queryset):
        if self._role(request) != Role.TENANT_ADMIN:
            return
        _each(
            self,
            request,
            queryset,
            lambda statement: services.statement_approve(statement=statement, acting_user=request.user),
        )

    @admin.action(description=_("Export the selected statements as CSV"))
    def export_csv(self, request, queryset):
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        tenant = request.tenant.slug if getattr(request, "tenant", None) else "tenant"
        name = f"payout-statements-{tenant}-{timezone.localdate().isoformat()}.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        writer = csv.writer(response)
        writer.writerow(
            [
                "statement",
                "partner",
                "period_start",
                "period_end",
                "status",
                "date",
                "kind",
                "memo",
                "amount",
                "currency",
            ]
        )
        for statement in queryset.select_related("partner"):
            for entry in statement.entries().order_by("entry_date", "id"):
                writer.writerow(
                    [
                        statement.public_id,
                        _safe(statement.partner.name),
                        statement.period_start,
                        statement.period_end,
                        statement.status,
                        entry.entry_date,
                        entry.kind,
                        _safe(entry.memo),
                        entry.amount,
                        entry.currency,
                    ]
                )
        return response


def _safe(text: str) -> str:
    # A cell a spreadsheet would run as a formula starts with a quote.
    return f"'{text}" if text[:1] in ("=", "+", "-", "@") else text


# --- MDF ------------------------------------------------------------------------------------------------


@admin.register(MdfBudget, site=tenant_admin_site)
class MdfBudgetAdmin(ReadOnlyModelAdmin):
    list_display = ["partner", "period_start", "period_end", "allowance", "committed", "remaining"]
    list_select_related = ["partner"]
    search_fields = ["partner__name"]

    @admin.display(description=_("remaining"))
    def remaining(self, obj):
        return obj.remaining


def _decide_with_reason(modeladmin, request, queryset, *, call, title: str, required: bool):
    return action_with_form(
        modeladmin,
        request,
        queryset,
        call=lambda obj, data: call(obj, data["reason"]),
        title=title,
        reason_required=required,
    )


@admin.register(MdfRequest, site=tenant_admin_site)
class MdfRequestAdmin(ReadOnlyModelAdmin):
    list_display = ["title", "partner", "amount", "currency", "starts_on", "ends_on", "status", "claim_by"]
    list_filter = ["status"]
    search_fields = ["title", "partner__name"]
    list_select_related = ["partner"]
    actions = ["approve", "reject"]

    @admin.action(description=_("Approve the selected MDF requests"))
    def approve(self, request, queryset):
        return _decide_with_reason(
            self,
            request,
            queryset.filter(status=MdfStatus.REQUESTED),
            call=lambda obj, reason: services.mdf_request_approve(
                request=obj, acting_user=request.user, reason=reason
            ),
            title=gettext("Approve MDF requests"),
            required=False,
        )

    @admin.action(description=_("Reject the selected MDF requests, with a reason"))
    def reject(self, request, queryset):
        return _decide_with_reason(
            self,
            request,
            queryset.filter(status=MdfStatus.REQUESTED),
            call=lambda obj, reason: services.mdf_request_reject(
                request=obj, acting_user=request.user, reason=reason
            ),
            title=gettext("Reject MDF requests"),
            required=True,
        )


class ProofInline(ReadOnlyInline):
    model = MdfProof
    fields = ["download", "content_type", "size", "uploaded_at"]

    @admin.display(description=_("file"))
    def download(self, obj):
        url = reverse("incentives:proof_download", kwargs={"public_id": obj.public_id})
        return format_html('<a href="{}">{}</a>', url, obj.name)


@admin.register(MdfClaim, site=tenant_admin_site)
class MdfClaimAdmin(ReadOnlyModelAdmin):
    list_display = [
        "request",
        "partner",
        "amount",
        "approved_amount",
        "status",
        "submitted_at",
        "proofs_list",
    ]
    list_filter = ["status"]
    search_fields = ["request__title", "request__partner__name"]
    list_select_related = ["request__partner"]
    inlines = [ProofInline]
    actions = ["approve", "reject"]
    fields = [
        "request",
        "amount",
        "note",
        "status",
        "submitted_by",
        "submitted_at",
        "decided_by",
        "decision_reason",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("proofs")

    @admin.display(description=_("partner"))
    def partner(self, obj):
        return obj.request.partner

    @admin.display(description=_("approved amount"))
    def approved_amount(self, obj):
        return obj.request.amount

    @admin.display(description=_("proofs"))
    def proofs_list(self, obj):
        return format_html_join(
            ", ",
            '<a href="{}">{}</a>',
            (
                (reverse("incentives:proof_download", kwargs={"public_id": proof.public_id}), proof.name)
                for proof in obj.proofs.all()
            ),
        )

    @admin.action(description=_("Approve the selected claims (they post to the ledger)"))
    def approve(self, request, queryset):
        return _decide_with_reason(
            self,
            request,
            queryset,
            call=lambda obj, reason: services.mdf_claim_approve(
                claim=obj, acting_user=request.user, reason=reason
            ),
            title=gettext("Approve MDF claims"),
            required=False,
        )

    @admin.action(description=_("Send the selected claims back, with a reason"))
    def reject(self, request, queryset):
        return _decide_with_reason(
            self,
            request,
            queryset.filter(status=ClaimStatus.SUBMITTED),
            call=lambda obj, reason: services.mdf_claim_reject(
                claim=obj, acting_user=request.user, reason=reason
            ),
            title=gettext("Send MDF claims back"),
            required=True,
        )
