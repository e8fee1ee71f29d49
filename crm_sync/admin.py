"""The tenant admin's CRM connection (settings with write-only secrets, its status, a connection test), field
mappings, the outbox, and the inbound sync's state, read-only (watermarks, links, resolutions, drift runs)."""

from __future__ import annotations

import uuid

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.db import models, transaction
from django.db.models import Q
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from crm_sync import outbox, registry, services
from crm_sync.models import (
    CRMConnection,
    DriftRun,
    FieldMapping,
    MirrorLink,
    OutboxEntry,
    Resolution,
    Watermark,
)
from crm_sync.selectors import name_records
from prm.admin_sites import ReadOnlyModelAdmin, TenantAdminOnly, tenant_admin_site

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


# --- the inbound half, read-only: what the sync read back and what ops should look at ---------------------


class MirroredRecordAdmin(ReadOnlyModelAdmin):
    """Rows about one mirrored portal record (object_key, record_id): a search term that is an external id
    (the record's UUID the CRM holds in PRM_External_Id__c) finds the rows of that record, and the list
    names each record (one query per mirrored object on the page, not one per row)."""

    def get_search_results(self, request, queryset, search_term):
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        by_external_id = Q()
        for term in search_term.split():
            try:
                external_id = uuid.UUID(term)
            except ValueError:
                continue
            for item in registry.mirrors():
                lookup = item.external_id.replace(".", "__")
                ids = list(item.model.objects.filter(**{lookup: external_id}).values_list("pk", flat=True))
                if ids:
                    by_external_id |= Q(object_key=item.key, record_id__in=ids)
        if by_external_id:
            found = found | queryset.filter(by_external_id)
        return found, may_have_duplicates

    def get_changelist_instance(self, request):
        changelist = super().get_changelist_instance(request)
        name_records(list(changelist.result_list))
        return changelist

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is not None:
            name_records([obj])
        return obj

    @admin.display(description=_("record"))
    def record(self, obj):
        return getattr(obj, "record", None) or "—"


@admin.register(Watermark, site=tenant_admin_site)
class WatermarkAdmin(ReadOnlyModelAdmin):
    list_display = ["crm_object", "modstamp", "deleted_until", "last_polled_at", "last_error"]
    search_fields = ["crm_object"]
    fields = ["crm_object", "modstamp", "deleted_until", "last_polled_at", "last_error", "recent"]


class AttentionFilter(admin.SimpleListFilter):
    title = _("needs a look")
    parameter_name = "attention"

    def lookups(self, request, model_admin):
        return [
            ("flagged", _("CRM value refused")),
            ("unlinked", _("Deleted in the CRM")),
            ("in_step", _("In step")),
        ]

    def queryset(self, request, queryset):
        if self.value() == "flagged":
            return queryset.exclude(flag="")
        if self.value() == "unlinked":
            return queryset.filter(unlinked_at__isnull=False)
        if self.value() == "in_step":
            return queryset.filter(flag="", unlinked_at__isnull=True)
        return queryset


@admin.register(MirrorLink, site=tenant_admin_site)
class MirrorLinkAdmin(MirroredRecordAdmin):
    list_display = [
        "object_key",
        "record",
        "crm_id",
        "crm_modstamp",
        "flag",
        "flagged_at",
        "unlinked_at",
    ]
    list_filter = [AttentionFilter, "object_key"]
    search_fields = ["^crm_id", "record_id__exact"]
    fields = [
        "object_key",
        "record_id",
        "record",
        "crm_id",
        "crm_modstamp",
        "flag",
        "flagged_at",
        "unlinked_at",
        "crm_values",
    ]


@admin.register(Resolution, site=tenant_admin_site)
class ResolutionAdmin(MirroredRecordAdmin):
    list_display = [
        "object_key",
        "record",
        "crm_field",
        "portal_value",
        "crm_value",
        "winner",
        "resolved_at",
    ]
    list_filter = ["winner", "object_key", "crm_field"]
    search_fields = ["record_id__exact", "crm_field"]
    date_hierarchy = "resolved_at"
    fields = [
        "object_key",
        "record_id",
        "record",
        "crm_field",
        "portal_value",
        "portal_written_at",
        "crm_value",
        "crm_written_at",
        "winner",
        "resolved_at",
    ]


@admin.register(DriftRun, site=tenant_admin_site)
class DriftRunAdmin(ReadOnlyModelAdmin):
    list_display = ["ran_at", "records_checked", "drift_count", "fixed", "error"]
    list_filter = ["fixed"]
    date_hierarchy = "ran_at"
    fields = ["ran_at", "records_checked", "drift_count", "fixed", "error", "by_field"]
