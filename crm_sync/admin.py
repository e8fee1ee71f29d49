"""The tenant admin's CRM connection (settings with write-only secrets, its status, a connection test) and
field mappings."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.db import models, transaction
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from crm_sync import outbox, registry, services
from crm_sync.models import CRMConnection, FieldMapping, OutboxEntry
from prm.admin_sites import TenantAdminOnly, tenant_admin_site

SECRET_HELP = _("Stored encrypted and never shown. Leave empty to keep the stored value.")


def https_formfield(db_field, **kwargs):
    # The CRM is reached over TLS only: a URL typed without a scheme means https.
    if isinstance(db_field, models.URLField):
        kwargs["assume_scheme"] = "https"
    return db_field.formfield(**kwargs)


class CRMConnectionForm(forms.ModelForm):
    # Write-only: the widget never renders the stored value, and an empty field keeps it.
    client_secret = forms.CharField(
        label=_("client secret"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=SECRET_HELP,
    )
    password = forms.CharField(
        label=_("password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=SECRET_HELP,
    )

    class Meta:
        model = CRMConnection
        formfield_callback = https_formfield
        fields = [
            "login_url",
            "auth_flow",
            "client_id",
            "username",
            "api_version",
            "ca_cert_path",
            "is_enabled",
            "pause_at_usage",
        ]

    def _post_clean(self):
        # The service's checks (secrets included) as form errors; save_model then writes through the service.
        super()._post_clean()
        if self.errors:
            return
        connection = self.instance
        try:
            services.crm_connection_apply(
                connection=connection,
                client_secret=self.cleaned_data.get("client_secret"),
                password=self.cleaned_data.get("password"),
            )
        except forms.ValidationError as invalid:
            self._update_errors(invalid)
        except ImproperlyConfigured as no_key:
            # The server lacks PRM_CRM_ENCRYPTION_KEYS: say so on the form rather than with a server error.
            self.add_error(None, str(no_key))


STATUS_FIELDS = [
    "instance_url",
    "last_checked_at",
    "last_success_at",
    "last_error",
    "api_usage",
    "api_limit",
    "paused_until",
    "pause_reason",
]


@admin.register(CRMConnection, site=tenant_admin_site)
class CRMConnectionAdmin(TenantAdminOnly):
    form = CRMConnectionForm
    change_form_template = "admin/crm_sync/crmconnection/change_form.html"
    list_display = ["login_url", "auth_flow", "is_enabled", "last_checked_at", "last_success_at", "api_usage"]
    readonly_fields = STATUS_FIELDS
    actions = ["test_connection"]
    fieldsets = [
        (
            _("Salesforce"),
            {"fields": ["login_url", "api_version", "ca_cert_path", "is_enabled", "pause_at_usage"]},
        ),
        (_("Sign-in"), {"fields": ["auth_flow", "client_id", "client_secret", "username", "password"]}),
        (_("Status"), {"fields": STATUS_FIELDS}),
    ]

    def get_fieldsets(self, request, obj=None):
        # Viewers get the read-only page, which cannot show the form-only secret fields (nor should it).
        if self.has_change_permission(request, obj):
            return self.fieldsets
        hidden = {"client_secret", "password"}
        return [
            (name, {"fields": [f for f in opts["fields"] if f not in hidden]})
            for name, opts in self.fieldsets
        ]

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if isinstance(db_field, models.URLField):
            kwargs["assume_scheme"] = "https"  # as in https_formfield
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def has_add_permission(self, request) -> bool:
        # One connection per tenant.
        return super().has_add_permission(request) and not CRMConnection.objects.exists()

    def save_model(self, request, obj, form, change):
        # The form put the new secrets on obj and validated it; this is the write.
        services.crm_connection_save(connection=obj, acting_user=request.user)

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        urls = [
            path(
                "<path:object_id>/test/",
                self.admin_site.admin_view(self.test_view),
                name=f"{info[0]}_{info[1]}_test",
            )
        ]
        return urls + super().get_urls()

    def test_view(self, request, object_id):
        # The scoped queryset first: another tenant's id is a 404 whatever the method or the role.
        obj = self.get_object(request, object_id)
        if not self.has_change_permission(request, obj):
            raise PermissionDenied
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        self._test(request, obj)
        info = self.opts.app_label, self.opts.model_name
        return HttpResponseRedirect(reverse(f"admin:{info[0]}_{info[1]}_change", args=[obj.pk]))

    @admin.action(description=_("Test connection"), permissions=["change"])
    def test_connection(self, request, queryset):
        for connection in queryset:
            self._test(request, connection)

    def _test(self, request, connection: CRMConnection) -> None:
        result = services.crm_connection_test(connection=connection, acting_user=request.user)
        level = messages.SUCCESS if result.ok else messages.ERROR
        for message in result.messages:
            self.message_user(request, message, level)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["can_test_connection"] = bool(obj) and self.has_change_permission(request, obj)
        return super().render_change_form(request, context, add, change, form_url, obj)


class FieldMappingForm(forms.ModelForm):
    class Meta:
        model = FieldMapping
        fields = ["object_key", "portal_field", "crm_field", "direction"]

    def clean(self):
        cleaned = super().clean()
        key, path, crm_field = (cleaned.get(name) for name in ("object_key", "portal_field", "crm_field"))
        if key and path and not registry.path_exists(registry.get(key).model, path):
            self.add_error("portal_field", _("The mirrored object has no field %(path)s.") % {"path": path})
        # The tenant is not on the form, so Django's own uniqueness check skips the constraint: here it is.
        taken = FieldMapping.objects.filter(object_key=key, crm_field=crm_field).exclude(pk=self.instance.pk)
        if key and crm_field and taken.exists():
            self.add_error("crm_field", _("This CRM field is already mapped for this object."))
        return cleaned


@admin.register(FieldMapping, site=tenant_admin_site)
class FieldMappingAdmin(TenantAdminOnly):
    form = FieldMappingForm
    list_display = ["object_key", "portal_field", "crm_field", "direction"]
    list_filter = ["object_key", "direction"]
    search_fields = ["portal_field", "crm_field"]
    fields = ["object_key", "portal_field", "crm_field", "direction"]


@admin.register(OutboxEntry, site=tenant_admin_site)
class OutboxEntryAdmin(TenantAdminOnly):
    """The outbox, read-only: what is waiting, sent or dead, and a retry for dead letters."""

    list_display = ["object_key", "record_id", "state", "attempts", "changed_at", "sent_at", "last_error"]
    list_filter = ["state", "object_key"]
    fields = [
        "object_key",
        "record_id",
        "external_id",
        "state",
        "attempts",
        "last_error",
        "created_at",
        "changed_at",
        "claimed_at",
        "next_attempt_at",
        "sent_at",
    ]
    readonly_fields = fields
    actions = ["retry"]

    def has_add_permission(self, request) -> bool:
        return False  # rows are written by the database triggers only

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description=_("Retry the selected dead letters"), permissions=["change"])
    def retry(self, request, queryset):
        from crm_sync.tasks import crm_drain_wake

        retried = outbox.outbox_retry(entries=queryset)
        if retried:
            tenant_id = request.tenant.pk
            transaction.on_commit(lambda: crm_drain_wake(tenant_id))
        self.message_user(
            request,
            _("%(count)s dead letters will be sent again.") % {"count": retried},
            messages.SUCCESS,
        )
