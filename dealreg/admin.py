from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from dealreg import services
from dealreg.models import (
    CustomerAccount,
    Deal,
    DealAttachment,
    DealConflict,
    DealEvent,
    DealRegSettings,
    DealStatus,
    ExtensionRequest,
)
from prm import currencies
from prm.admin_actions import action_with_form
from prm.admin_sites import ReadOnlyInline, TenantAdminOnly, TenantModelAdmin, tenant_admin_site


@admin.register(DealRegSettings, site=tenant_admin_site)
class DealRegSettingsAdmin(TenantAdminOnly):
    list_display = ["__str__", "protection_days", "sla_business_days", "auto_approve"]
    fields = [
        "protection_days",
        "sla_business_days",
        "close_date_tolerance_days",
        "name_match_threshold",
        "auto_approve",
        "auto_approve_max_amount",
        "lead_mode",
        "extra_fields",
    ]

    def has_add_permission(self, request) -> bool:
        # One row per tenant: the first use creates it.
        return super().has_add_permission(request) and not DealRegSettings.objects.exists()

    def changelist_view(self, request, extra_context=None):
        DealRegSettings.current()
        return super().changelist_view(request, extra_context)


@admin.register(CustomerAccount, site=tenant_admin_site)
class CustomerAccountAdmin(TenantModelAdmin):
    list_display = ["name", "domain", "country", "source", "has_open_opportunity", "created_at"]
    list_filter = ["source", "has_open_opportunity"]
    search_fields = ["name", "domain"]
    readonly_fields = ["public_id", "normalized_name", "normalized_domain", "created_at", "updated_at"]


class ConflictInline(ReadOnlyInline):
    model = DealConflict
    fk_name = "deal"
    fields = ["kind", "score", "other_deal", "other_partner", "customer_account"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("other_deal__partner", "customer_account")

    @admin.display(description=_("partner"))
    def other_partner(self, obj):
        return obj.other_deal.partner.name if obj.other_deal else "—"


class EventInline(ReadOnlyInline):
    model = DealEvent
    fields = ["created_at", "kind", "actor", "reason"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")


class AttachmentInline(ReadOnlyInline):
    model = DealAttachment
    fields = ["name", "extension", "size", "uploaded_at"]


def _decide(modeladmin, request, queryset, *, approve: bool, title: str, required: bool):
    """Ask for the reason on an intermediate page, then decide every selected registration; the ones not
    waiting for a decision are counted and left as they are."""

    def decide(deal, data):
        if deal.status != DealStatus.SUBMITTED:
            raise services.DealTransitionError(deal.status)
        service = services.deal_approve if approve else services.deal_reject
        service(deal=deal, acting_user=request.user, reason=data["reason"])

    return action_with_form(
        modeladmin,
        request,
        queryset.select_related("partner"),
        call=decide,
        title=title,
        reason_required=required,
        describe=lambda deal: (
            f"{deal.name} ({deal.customer_name}), {deal.partner.name} · {deal.get_status_display()}"
        ),
        refused=(services.DealTransitionError, ValidationError),
        done_message=lambda n: (
            ngettext("%(n)d registration decided.", "%(n)d registrations decided.", n) % {"n": n}
        ),
        refused_message=lambda n: (
            ngettext(
                "%(n)d registration was not waiting for a decision and is unchanged.",
                "%(n)d registrations were not waiting for a decision and are unchanged.",
                n,
            )
            % {"n": n}
        ),
    )


@admin.register(Deal, site=tenant_admin_site)
class DealAdmin(TenantModelAdmin):
    list_display = [
        "name",
        "customer_name",
        "partner",
        "amount",
        "currency",
        "status",
        "has_conflict",
        "sla_due_at",
    ]
    list_filter = ["status", "has_conflict", "partner"]
    search_fields = ["name", "customer_name", "customer_domain", "partner__name"]
    list_select_related = ["partner"]
    ordering = ["sla_due_at"]
    actions = ["approve_selected", "reject_selected"]
    inlines = [ConflictInline, AttachmentInline, EventInline]
    readonly_fields = [
        "public_id",
        "partner",
        "registered_by",
        "status",
        "has_conflict",
        "customer",
        "submitted_at",
        "sla_due_at",
        "sla_escalated_at",
        "decided_at",
        "protection_expires_on",
        "closed_at",
    ]
    fields = [
        "public_id",
        "partner",
        "registered_by",
        "status",
        "has_conflict",
        "name",
        "customer_name",
        "customer_domain",
        "customer_country",
        "customer",
        "contact_name",
        "contact_email",
        "products",
        "amount",
        "currency",
        "expected_close_date",
        "description",
        "extra",
        "submitted_at",
        "sla_due_at",
        "sla_escalated_at",
        "decided_at",
        "protection_expires_on",
        "closed_at",
    ]

    def has_add_permission(self, request) -> bool:
        # Partners register deals in the portal; the registration form runs the conflict check.
        return False

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        field = form.base_fields.get("currency")
        if field is not None:
            # As on the registration form: the program's currency and those it has exchange rates for (a deal
            # in another could not count toward tiers nor earn a rebate), and the deal's own as it stands.
            allowed = currencies.accepted_currencies()
            if obj is not None and obj.currency not in allowed:
                allowed.append(obj.currency)
            field.choices = [(code, code) for code in allowed]
        return form

    @admin.action(description=_("Approve the selected registrations"))
    def approve_selected(self, request, queryset):
        return _decide(
            self, request, queryset, approve=True, title=_("Approve registrations"), required=False
        )

    @admin.action(description=_("Reject the selected registrations, with a reason"))
    def reject_selected(self, request, queryset):
        return _decide(self, request, queryset, approve=False, title=_("Reject registrations"), required=True)


@admin.register(ExtensionRequest, site=tenant_admin_site)
class ExtensionRequestAdmin(TenantModelAdmin):
    list_display = ["deal", "days", "status", "requested_by", "requested_at"]
    list_filter = ["status"]
    list_select_related = ["deal", "requested_by"]
    readonly_fields = [
        "deal",
        "days",
        "reason",
        "status",
        "requested_by",
        "requested_at",
        "decided_by",
        "decided_at",
    ]
    fields = [*readonly_fields, "decision_reason"]

    def has_add_permission(self, request) -> bool:
        return False
