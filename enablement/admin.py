"""Enablement on the tenant admin: the library's assets, courses with modules, quiz questions, certifications,
and the certificates people earned (read-only)."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import models
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from enablement import services, uploads
from enablement.models import (
    Asset,
    AssetKind,
    Certification,
    CertificationAward,
    Choice,
    Course,
    Module,
    Question,
    QuestionKind,
)
from partners.models import Region
from prm.admin_sites import TenantModelAdmin, tenant_admin_site
from prm.models import STAFF_ROLES

AUDIENCE_FIELDS = ("audience_partner_types", "audience_tiers", "audience_regions")


class AudienceForm(forms.ModelForm):
    audience_regions = forms.TypedMultipleChoiceField(
        label=capfirst(_("regions")),
        choices=Region.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Leave empty for every region."),
    )


class CourseForm(AudienceForm):
    def clean_slug(self):
        slug = self.cleaned_data.get("slug", "")
        if slug and Course.objects.filter(slug=slug).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError(_("Another course has this slug."))
        return slug


class AudienceAdmin(TenantModelAdmin):
    formfield_overrides = {
        models.ManyToManyField: {"widget": forms.CheckboxSelectMultiple},
        models.URLField: {"assume_scheme": "https"},
    }

    @admin.display(description=_("audience"))
    def audience(self, obj):
        return obj.audience_summary()

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("audience_partner_types", "audience_tiers")


class _StoredFile:
    """What the file widget shows of a stored file: its uploaded name, linked to the checked download."""

    def __init__(self, name: str, url: str):
        self.name, self.url = name, url

    def __str__(self) -> str:
        return self.name


class PrivateFileInput(forms.ClearableFileInput):
    """The admin's file input, minus its link to the storage's own URL: private files have none that
    works, and the one way to a file is the download view, which checks tenant and audience."""

    def format_value(self, value):
        asset = getattr(value, "instance", None)
        if value and isinstance(asset, Asset) and asset.pk:
            url = reverse("enablement:asset_download", kwargs={"public_id": asset.public_id})
            return _StoredFile(asset.file_name or value.name, url)
        return super().format_value(value)


# The forms below name no model: the admin builds the model form per request, inside the tenant scope that
# the foreign-key and many-to-many choices are read in.
class AssetForm(AudienceForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "file" in self.fields:
            self.fields["file"].widget = PrivateFileInput()
            self.fields["file"].help_text = _("Allowed: %(types)s; at most %(size)s.") % {
                "types": ", ".join(sorted(uploads.DEFAULT_ALLOWED)),
                "size": filesizeformat(settings.PRM_UPLOAD_MAX_BYTES),
            }

    def clean_file(self):
        upload = self.cleaned_data.get("file")
        # Only a new upload is checked; an unchanged file was checked when it came in.
        if upload and "file" in self.changed_data:
            uploads.validate_upload(upload)
        return upload

    def clean(self):
        cleaned = super().clean()
        kind = cleaned.get("kind")
        if kind == AssetKind.FILE and not cleaned.get("file") and "file" not in self.errors:
            self.add_error("file", _("Upload the file of a file asset."))
        if kind in (AssetKind.LINK, AssetKind.VIDEO) and not cleaned.get("url"):
            self.add_error("url", _("Give the address of a link or video asset."))
        return cleaned


@admin.register(Asset, site=tenant_admin_site)
class AssetAdmin(AudienceAdmin):
    form = AssetForm
    list_display = ["title", "kind", "product", "audience", "is_published", "created_at"]
    list_filter = ["kind", "is_published", "audience_tiers", "audience_partner_types"]
    search_fields = ["title", "description", "product", "tags"]
    readonly_fields = ["public_id", "file_name", "content_type", "file_size", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["title", "kind", "description", "product", "tags", "is_published"]}),
        (_("Content"), {"fields": ["file", "url", "file_name", "content_type", "file_size"]}),
        (_("Audience"), {"fields": list(AUDIENCE_FIELDS)}),
        (None, {"fields": ["public_id", "created_at", "updated_at"]}),
    ]

    def save_model(self, request, obj, form, change):
        upload = form.cleaned_data.get("file") if "file" in form.changed_data else None
        # The form checked the same rules, so the service's ValidationError cannot reach here.
        services.asset_save(asset=obj, upload=upload or None, acting_user=request.user)


class StaffInlineRights:
    """Inlines answer to the same roles as TenantModelAdmin: the tenant's staff edit them. (Django's own
    inline rights read model permissions, which tenant staff do not hold: the inline would not show.)"""

    def _is_staff(self, request) -> bool:
        membership = getattr(request, "membership", None)
        return membership is not None and membership.role in STAFF_ROLES

    def has_view_permission(self, request, obj=None) -> bool:
        return self._is_staff(request)

    def has_add_permission(self, request, obj=None) -> bool:
        return self._is_staff(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return self._is_staff(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self._is_staff(request)


class ModuleForm(forms.ModelForm):
    def clean(self):
        cleaned = super().clean()
        kind = cleaned.get("kind")
        if kind == "asset" and not cleaned.get("asset"):
            self.add_error("asset", _("Choose the asset this module shows."))
        if kind == "video" and not cleaned.get("video_url"):
            self.add_error("video_url", _("Give the video's address."))
        return cleaned


class ModuleInline(StaffInlineRights, admin.StackedInline):
    model = Module
    form = ModuleForm
    fields = ["position", "title", "kind", "body", "asset", "video_url"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    extra = 0
    autocomplete_fields = ["asset"]


@admin.register(Course, site=tenant_admin_site)
class CourseAdmin(AudienceAdmin):
    form = CourseForm
    list_display = ["title", "pass_mark", "max_attempts", "audience", "is_published"]
    list_filter = ["is_published"]
    search_fields = ["title", "summary"]
    readonly_fields = ["public_id", "created_at"]
    fields = [
        "title",
        "slug",
        "summary",
        "pass_mark",
        "max_attempts",
        "is_published",
        *AUDIENCE_FIELDS,
        "public_id",
    ]
    inlines = [ModuleInline]


class ChoiceFormSet(forms.BaseInlineFormSet):
    """A question needs a right answer; a single-choice question exactly one, or nobody could pass it."""

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        kept = [f for f in self.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]
        right = sum(1 for f in kept if f.cleaned_data.get("is_correct"))
        if len(kept) < 2:
            raise ValidationError(_("Give at least two answers."))
        if right == 0:
            raise ValidationError(_("Mark the right answer."))
        if self.instance.kind == QuestionKind.SINGLE and right > 1:
            raise ValidationError(_("A single-choice question has exactly one right answer."))


class ChoiceInline(StaffInlineRights, admin.TabularInline):
    model = Choice
    formset = ChoiceFormSet
    extra = 3


@admin.register(Question, site=tenant_admin_site)
class QuestionAdmin(TenantModelAdmin):
    list_display = ["text", "course", "kind", "position"]
    list_filter = ["course"]
    list_select_related = ["course"]
    search_fields = ["text"]
    autocomplete_fields = ["course"]
    inlines = [ChoiceInline]


@admin.register(Certification, site=tenant_admin_site)
class CertificationAdmin(TenantModelAdmin):
    list_display = ["name", "valid_months"]
    search_fields = ["name"]
    readonly_fields = ["public_id", "created_at"]
    formfield_overrides = {models.ManyToManyField: {"widget": forms.CheckboxSelectMultiple}}


@admin.register(CertificationAward, site=tenant_admin_site)
class CertificationAwardAdmin(TenantModelAdmin):
    """Certificates are earned by passing courses, not typed in: staff look, and may revoke (delete)."""

    list_display = ["certification", "user", "partner", "issued_at", "expires_at"]
    list_filter = ["certification", "partner"]
    list_select_related = ["certification", "user", "partner"]
    search_fields = ["user__email", "user__full_name", "partner__name"]
    readonly_fields = [
        "certification",
        "user",
        "partner",
        "issued_at",
        "expires_at",
        "reminded_30_at",
        "reminded_7_at",
    ]
    fields = readonly_fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
