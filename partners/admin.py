from django import forms
from django.contrib import admin, messages
from django.db import models
from django.db.models import Count, F
from django.utils.html import format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from partners import services
from partners.models import (
    AgreementAcceptance,
    ApplicationStatus,
    IdealPartnerCriterion,
    Partner,
    PartnerApplication,
    PartnerMembership,
    PartnerProfile,
    PartnerType,
    ProgramAgreement,
    QualifyingQuestion,
    Specialisation,
    StageChange,
    Tier,
)
from prm.admin_actions import action_with_form
from prm.admin_sites import (
    ReadOnlyInline,
    ReadOnlyModelAdmin,
    TenantAdminOnly,
    TenantModelAdmin,
    tenant_admin_site,
)


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


class StageChangeInline(ReadOnlyInline):
    """The partner's lifecycle history; written by services only, never edited."""

    model = StageChange
    fields = ["changed_at", "from_stage", "to_stage", "reason", "acting_user"]
    verbose_name_plural = _("lifecycle history")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("acting_user")


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


# ---- Recruitment ----------------------------------------------------------------------------------------


APPROVE_INTRO = _(
    "Approving creates each partner, invites its contact person as partner admin and emails them."
)


def _describe_application(application: PartnerApplication) -> str:
    text = f"{application.company_name} ({application.get_status_display()}"
    if application.fit_score is not None:
        text += ", " + gettext("fit %(score)s") % {"score": application.fit_score}
    return text + ")"


class PartnerApplicationForm(forms.ModelForm):
    # No Meta: the admin builds the fields. A corrected website must not name a company that applied.

    def clean_website(self):
        website = self.cleaned_data.get("website", "")
        domain = services.website_domain_of(website)
        others = PartnerApplication.objects.filter(website_domain=domain).exclude(pk=self.instance.pk)
        if domain and (others.exists() or Partner.objects.filter(website_domain=domain).exists()):
            raise forms.ValidationError(_("Another application or partner has this company's domain."))
        return website


@admin.register(PartnerApplication, site=tenant_admin_site)
class PartnerApplicationAdmin(TenantModelAdmin):
    """The review queue in the admin: fit score, filters, and approve/reject actions with a reason."""

    form = PartnerApplicationForm

    list_display = [
        "company_name",
        "partner_type",
        "region",
        "country",
        "fit_score",
        "submitted_at",
        "status",
    ]
    list_filter = ["status", "partner_type", "region"]
    search_fields = ["company_name", "website_domain", "contact_email"]
    list_select_related = ["partner_type"]
    ordering = ["status", F("fit_score").desc(nulls_last=True), "submitted_at"]
    actions = ["approve_selected", "reject_selected", "rescore_selected"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    readonly_fields = [
        "public_id",
        "website_domain",
        "status",
        "fit_score",
        "fit_reasons_display",
        "answers_display",
        "submitted_at",
        "submitted_from",
        "decided_at",
        "decided_by",
        "decision_reason",
        "partner",
    ]
    fieldsets = [
        (None, {"fields": ["public_id", "status", "fit_score", "fit_reasons_display"]}),
        (
            _("Company"),
            {
                "fields": [
                    "company_name",
                    "website",
                    "website_domain",
                    "partner_type",
                    "country",
                    "region",
                    "employee_count",
                    "specialisations",
                    "answers_display",
                ]
            },
        ),
        (_("Contact person"), {"fields": ["contact_name", "contact_email", "contact_phone"]}),
        (
            _("Decision"),
            {
                "fields": [
                    "submitted_at",
                    "submitted_from",
                    "decided_at",
                    "decided_by",
                    "decision_reason",
                    "partner",
                ]
            },
        ),
    ]

    def has_add_permission(self, request) -> bool:
        # Applications come from the public form.
        return False

    def save_model(self, request, obj, form, change):
        obj.website_domain = services.website_domain_of(obj.website)
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        # A corrected answer, size or specialisation changes the fit.
        super().save_related(request, form, formsets, change)
        services.application_rescore(application=form.instance)

    def has_change_permission(self, request, obj=None) -> bool:
        # A decided application is a record; a pending one may have a typo fixed.
        if obj is not None and obj.status != ApplicationStatus.PENDING:
            return False
        return super().has_change_permission(request, obj)

    def get_actions(self, request):
        # Deleting goes one application at a time, so that no decided one goes along with spam.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def has_delete_permission(self, request, obj=None) -> bool:
        # Pending spam may go; a decision is kept (it holds the application-to-approval time).
        if obj is not None and obj.status != ApplicationStatus.PENDING:
            return False
        return super().has_delete_permission(request, obj)

    @admin.display(description=_("why this score"))
    def fit_reasons_display(self, obj):
        if obj.fit_score is None:
            return _("No ideal partner profile yet.")
        return format_html_join(
            "",
            "<div>{} {} ({})</div>",
            (
                ("✓" if r["met"] else "✗", r["label"], _("weight %(weight)s") % {"weight": r["weight"]})
                for r in obj.fit_reasons
            ),
        )

    @admin.display(description=_("answers"))
    def answers_display(self, obj):
        questions = {q.key: q.text for q in QualifyingQuestion.objects.all()}
        return format_html_join(
            "",
            "<div><strong>{}</strong>: {}</div>",
            ((questions.get(k, k), v) for k, v in obj.answers.items()),
        )

    def _decide(self, request, queryset, decision: str):
        approve = decision == "approve"
        service = services.application_approve if approve else services.application_reject
        done_text = (
            _("%(count)s application(s) approved; each applicant was emailed.")
            if approve
            else _("%(count)s application(s) rejected; each applicant was emailed.")
        )
        return action_with_form(
            self,
            request,
            queryset,
            call=lambda application, data: service(
                application=application, reason=data["reason"], acting_user=request.user
            ),
            title=_("Approve applications") if approve else _("Reject applications"),
            # Optional on the form: rejecting without one is refused per application, by the service.
            reason_required=False,
            reason_help=_("The applicants read it in their email. Required to reject."),
            intro=APPROVE_INTRO if approve else _("Each applicant is emailed the reason."),
            describe=_describe_application,
            submit_label=_("Approve") if approve else _("Reject"),
            done_message=lambda n: done_text % {"count": n},
        )

    @admin.action(description=_("Approve selected applications"))
    def approve_selected(self, request, queryset):
        return self._decide(request, queryset, "approve")

    @admin.action(description=_("Reject selected applications"))
    def reject_selected(self, request, queryset):
        return self._decide(request, queryset, "reject")

    @admin.action(description=_("Recalculate the fit score"))
    def rescore_selected(self, request, queryset):
        for application in queryset:
            services.application_rescore(application=application)
        self.message_user(request, _("Fit scores recalculated."), messages.SUCCESS)


@admin.register(QualifyingQuestion, site=tenant_admin_site)
class QualifyingQuestionAdmin(TenantAdminOnly):
    list_display = ["text", "key", "kind", "required", "position", "is_active"]
    list_filter = ["kind", "is_active", "partner_types"]
    search_fields = ["text", "key"]
    filter_horizontal = ["partner_types"]


@admin.register(Specialisation, site=tenant_admin_site)
class SpecialisationAdmin(TenantAdminOnly):
    list_display = ["name", "slug"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(IdealPartnerCriterion, site=tenant_admin_site)
class IdealPartnerCriterionAdmin(TenantAdminOnly):
    """The ideal partner profile: weighted criteria; the fit score is the share of the weight met."""

    list_display = ["label", "kind", "weight", "is_active"]
    list_filter = ["kind", "is_active"]
    list_editable = ["weight", "is_active"]
    search_fields = ["label"]
    fields = [
        "label",
        "kind",
        "weight",
        "partner_type",
        "region",
        "country",
        "minimum",
        "specialisation",
        "question",
        "expected_answer",
        "is_active",
    ]

    # Pending applications are scored against the profile as it is now; decided ones keep their score.
    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        services.applications_rescore_pending()

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        services.applications_rescore_pending()

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        services.applications_rescore_pending()


class AgreementAcceptanceInline(ReadOnlyInline):
    model = AgreementAcceptance
    fields = ["partner", "user", "typed_name", "accepted_at", "ip_address", "user_agent"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("partner", "user")


@admin.register(ProgramAgreement, site=tenant_admin_site)
class ProgramAgreementAdmin(TenantAdminOnly):
    """Versioned agreement texts. A version someone accepted is frozen: publish a new version instead."""

    list_display = ["title", "partner_type", "version", "published_at", "acceptance_count"]
    list_filter = ["partner_type"]
    search_fields = ["title"]
    fields = ["partner_type", "version", "title", "body", "published_at"]
    inlines = [AgreementAcceptanceInline]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("partner_type")
            .annotate(n_accepted=Count("acceptances"))
        )

    @admin.display(description=_("acceptances"), ordering="n_accepted")
    def acceptance_count(self, obj):
        return obj.n_accepted

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.acceptances.exists():
            return self.fields
        return []

    def has_delete_permission(self, request, obj=None) -> bool:
        if obj is not None and obj.acceptances.exists():
            return False
        return super().has_delete_permission(request, obj)


@admin.register(AgreementAcceptance, site=tenant_admin_site)
class AgreementAcceptanceAdmin(ReadOnlyModelAdmin):
    """Who accepted which version, when and from where: a record, never edited."""

    list_display = ["partner", "agreement", "typed_name", "user", "accepted_at", "ip_address"]
    list_filter = ["agreement"]
    list_select_related = ["partner", "agreement", "user"]
    search_fields = ["partner__name", "typed_name"]
    readonly_fields = [
        "agreement",
        "partner",
        "user",
        "typed_name",
        "accepted_at",
        "ip_address",
        "user_agent",
    ]


@admin.register(PartnerProfile, site=tenant_admin_site)
class PartnerProfileAdmin(TenantModelAdmin):
    list_display = ["partner", "employee_count", "completed_at"]
    list_select_related = ["partner"]
    search_fields = ["partner__name"]
    readonly_fields = ["partner", "completed_at", "updated_at"]
    fields = [
        "partner",
        "description",
        "employee_count",
        "specialisations",
        "phone",
        "completed_at",
        "updated_at",
    ]

    def has_add_permission(self, request) -> bool:
        # A profile comes with the approval of the partner's application, or its partner admin's first save.
        return False
