from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from partners.models import Partner, PartnerMembership, PartnerType, StageChange, Tier
from prm.admin_sites import TenantAdminOnly, TenantModelAdmin, tenant_admin_site


class PartnerMembershipInline(admin.TabularInline):
    model = PartnerMembership
    fields = ["person", "role", "title"]
    readonly_fields = ["person", "role"]
    extra = 0
    can_delete = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("membership__user")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description=_("person"))
    def person(self, obj):
        return obj.membership.user.email

    @admin.display(description=_("role"))
    def role(self, obj):
        return obj.membership.get_role_display()


class StageChangeInline(admin.TabularInline):
    """The partner's lifecycle history; written by services only, never edited."""

    model = StageChange
    fields = ["changed_at", "from_stage", "to_stage", "reason", "acting_user"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = _("lifecycle history")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("acting_user")

    def has_view_permission(self, request, obj=None) -> bool:
        # Whoever may open the partner (the parent admin decides by role) may read its history.
        return True

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Partner, site=tenant_admin_site)
class PartnerAdmin(TenantModelAdmin):
    list_display = ["name", "partner_type", "tier", "stage", "region", "country", "created_at"]
    list_filter = ["stage", "partner_type", "tier", "region"]
    search_fields = ["name", "slug", "website_domain"]
    list_select_related = ["partner_type", "tier"]
    prepopulated_fields = {"slug": ["name"]}
    # The stage moves through partners.services.partner_change_stage only, so every move is recorded.
    readonly_fields = ["stage", "public_id", "created_at", "updated_at"]
    fields = [
        "name",
        "slug",
        "partner_type",
        "tier",
        "stage",
        "country",
        "region",
        "website_domain",
        "public_id",
        "created_at",
        "updated_at",
    ]
    inlines = [PartnerMembershipInline, StageChangeInline]
    autocomplete_fields = ["partner_type", "tier"]


@admin.register(PartnerType, site=tenant_admin_site)
class PartnerTypeAdmin(TenantAdminOnly):
    list_display = ["name", "slug"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Tier, site=tenant_admin_site)
class TierAdmin(TenantAdminOnly):
    list_display = ["name", "rank", "slug"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
