"""The core's models on both admin sites."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from prm import services
from prm.admin_sites import ReadOnlyModelAdmin, TenantAdminOnly, platform_admin_site, tenant_admin_site
from prm.models import (
    STAFF_ROLES,
    ExchangeRate,
    Membership,
    ParkedTask,
    Role,
    Tenant,
    TenantDomain,
    User,
)

# --- the tenant's own admin -------------------------------------------------------------------------------


@admin.register(Tenant, site=tenant_admin_site)
class ProgramSettingsAdmin(TenantAdminOnly):
    """The tenant's own row: branding, language, time zone, currency, staff MFA."""

    fields = [
        "name",
        "logo",
        "primary_color",
        "default_language",
        "time_zone",
        "currency",
        "require_mfa_for_staff",
    ]
    list_display = ["name", "primary_color", "default_language", "time_zone", "currency"]

    def get_queryset(self, request):
        return Tenant.objects.filter(pk=request.tenant.pk)

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ExchangeRate, site=tenant_admin_site)
class ExchangeRateAdmin(TenantAdminOnly):
    """Rates of other currencies to the program's: won deals in them count converted, rebates accrue
    converted, and the registration form offers them. Tenant admins edit, channel managers look."""

    list_display = ["currency", "rate", "program_currency", "effective_from"]
    list_filter = ["currency"]
    fields = ["currency", "rate", "effective_from"]
    date_hierarchy = "effective_from"

    @admin.display(description=_("in"))
    def program_currency(self, obj):
        return obj.tenant.currency

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("tenant")


class MembershipAddForm(forms.ModelForm):
    email = forms.EmailField(label=_("Email address"))
    full_name = forms.CharField(label=_("Full name"), max_length=150, required=False)

    class Meta:
        model = Membership
        fields = ["role"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Partner people join through their partner (so they are tied to it); here the vendor's own staff.
        self.fields["role"].choices = [(r.value, r.label) for r in Role if r in STAFF_ROLES]

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        if Membership.objects.filter(user__email__iexact=email).exists():
            raise ValidationError(_("This person is already a member of this program."))
        return email


@admin.register(Membership, site=tenant_admin_site)
class MembershipAdmin(TenantAdminOnly):
    list_display = ["user_email", "user_name", "role", "is_active", "created_at"]
    list_filter = ["role", "is_active"]
    search_fields = ["user__email", "user__full_name"]
    list_select_related = ["user"]
    fields = ["user_email", "role", "is_active", "created_at"]
    readonly_fields = ["user_email", "created_at"]

    @admin.display(description=_("email"), ordering="user__email")
    def user_email(self, obj):
        return obj.user.email

    @admin.display(description=_("name"), ordering="user__full_name")
    def user_name(self, obj):
        return obj.user.full_name

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = MembershipAddForm
            kwargs["fields"] = ["email", "full_name", "role"]
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        return ["email", "full_name", "role"] if obj is None else self.fields

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def save_model(self, request, obj, form, change):
        if change:
            if "is_active" in form.changed_data and not obj.is_active:
                services.membership_deactivate(membership=obj, acting_user=request.user)
            obj.save()
            return
        created = services.membership_add(
            tenant=request.tenant,
            email=form.cleaned_data["email"],
            full_name=form.cleaned_data["full_name"],
            role=form.cleaned_data["role"],
            acting_user=request.user,
        )
        obj.pk = created.pk
        obj.user = created.user


@admin.register(TenantDomain, site=tenant_admin_site)
class TenantDomainAdmin(ReadOnlyModelAdmin):
    """Read-only here: which host names serve this portal. The platform admin assigns them."""

    list_display = ["domain", "is_primary"]

    def get_queryset(self, request):
        return TenantDomain.objects.filter(tenant=request.tenant)


# --- the platform admin -----------------------------------------------------------------------------------


class TenantDomainInline(admin.TabularInline):
    model = TenantDomain
    extra = 0


class TenantAddForm(forms.ModelForm):
    """A new tenant comes with its domain and first tenant admin, as `manage.py create_tenant` makes it."""

    domain = forms.CharField(
        label=_("Domain"),
        required=False,
        help_text=_("Leave empty for <slug>.%(base)s.") % {"base": settings.PRM_BASE_DOMAIN},
    )
    admin_email = forms.EmailField(label=_("Tenant admin's email"))
    admin_name = forms.CharField(label=_("Tenant admin's name"), required=False, max_length=150)

    class Meta:
        model = Tenant
        fields = ["name", "slug"]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("slug"):
            try:
                services.tenant_check_available(slug=cleaned["slug"], domain=cleaned.get("domain") or None)
            except ValidationError as taken:
                for field, errors in taken.message_dict.items():
                    self.add_error(field if field in self.fields else None, errors)
        return cleaned


@admin.register(Tenant, site=platform_admin_site)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "primary_domain", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "slug", "domains__domain"]
    inlines = [TenantDomainInline]
    prepopulated_fields = {"slug": ["name"]}

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("domains")

    def get_readonly_fields(self, request, obj=None):
        # The slug names the tenant's default host and its stored files: fixed once created.
        return ["slug"] if obj else []

    def get_prepopulated_fields(self, request, obj=None):
        return {} if obj else self.prepopulated_fields

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = TenantAddForm
            kwargs["fields"] = ["name", "slug", "domain", "admin_email", "admin_name"]
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["name", "slug", "domain", "admin_email", "admin_name"]
        return super().get_fields(request, obj)

    def get_inlines(self, request, obj):
        return self.inlines if obj else []

    def save_model(self, request, obj, form, change):
        if change:
            obj.save()
            return
        created = services.tenant_create(
            slug=form.cleaned_data["slug"],
            name=form.cleaned_data["name"],
            domain=form.cleaned_data["domain"] or None,
            admin_email=form.cleaned_data["admin_email"],
            admin_name=form.cleaned_data["admin_name"],
            acting_user=request.user,
        )
        obj.pk = created.pk


@admin.register(User, site=platform_admin_site)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "full_name", "is_active", "is_superuser", "date_joined"]
    list_filter = ["is_active", "is_superuser"]
    search_fields = ["email", "full_name"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        (_("Person"), {"fields": ["full_name"]}),
        (_("Access"), {"fields": ["is_active", "is_staff", "is_superuser"]}),
        (_("Dates"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]
    filter_horizontal: list[str] = []


@admin.register(ParkedTask, site=platform_admin_site)
class ParkedTaskAdmin(admin.ModelAdmin):
    list_display = ["task_name", "task_id", "tenant", "deliveries", "parked_at"]
    list_filter = ["task_name"]
    readonly_fields = ["task_id", "task_name", "tenant", "args", "kwargs", "deliveries", "error", "parked_at"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
