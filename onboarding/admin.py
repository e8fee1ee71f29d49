from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from onboarding import services
from onboarding.models import (
    Onboarding,
    OnboardingPlan,
    OnboardingSettings,
    OnboardingTask,
    PartnerEvent,
    PlanTask,
    TaskStatus,
)
from onboarding.services import OnboardingError
from prm.admin_actions import apply_each, report
from prm.admin_sites import (
    ReadOnlyInline,
    ReadOnlyModelAdmin,
    TenantAdminOnly,
    TenantModelAdmin,
    tenant_admin_site,
)
from prm.models import STAFF_ROLES, Role


class PlanTaskInline(admin.StackedInline):
    """The plan's ordered tasks; like the plan itself, tenant admins edit them and channel managers look."""

    model = PlanTask
    fields = [
        ("position", "title"),
        "description",
        ("kind", "course_ref"),
        ("due_after_days", "requires_signoff"),
    ]
    extra = 0

    def _role(self, request):
        membership = getattr(request, "membership", None)
        return membership.role if membership is not None else None

    def has_view_permission(self, request, obj=None) -> bool:
        return self._role(request) in STAFF_ROLES

    def has_add_permission(self, request, obj=None) -> bool:
        return self._role(request) == Role.TENANT_ADMIN

    def has_change_permission(self, request, obj=None) -> bool:
        return self._role(request) == Role.TENANT_ADMIN

    def has_delete_permission(self, request, obj=None) -> bool:
        return self._role(request) == Role.TENANT_ADMIN


@admin.register(OnboardingPlan, site=tenant_admin_site)
class OnboardingPlanAdmin(TenantAdminOnly):
    """Tenant admins edit the plans; each partner's task list is copied from its plan when it starts."""

    list_display = ["name", "partner_type", "task_count"]
    search_fields = ["name"]
    fields = ["name", "partner_type", "description"]
    inlines = [PlanTaskInline]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("partner_type").prefetch_related("tasks")

    @admin.display(description=_("tasks"))
    def task_count(self, obj):
        return len(obj.tasks.all())


@admin.register(OnboardingSettings, site=tenant_admin_site)
class OnboardingSettingsAdmin(TenantAdminOnly):
    list_display = ["__str__", "stall_after_days"]

    def has_add_permission(self, request) -> bool:
        # One row per tenant, made with the defaults.
        return super().has_add_permission(request) and not OnboardingSettings.objects.exists()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class OnboardingTaskInline(ReadOnlyInline):
    """A partner's tasks; they move through the services (ticks, events, sign-offs) only."""

    model = OnboardingTask
    fields = ["title", "kind", "due_at", "status", "ticked_at", "ticked_by", "completed_at", "completed_by"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("ticked_by", "completed_by")


@admin.register(Onboarding, site=tenant_admin_site)
class OnboardingAdmin(TenantModelAdmin):
    list_display = ["partner", "plan", "started_at", "completed_at"]
    list_filter = ["plan", ("completed_at", admin.EmptyFieldListFilter)]
    search_fields = ["partner__name"]
    list_select_related = ["partner", "plan"]
    fields = ["partner", "plan", "started_at", "completed_at"]
    readonly_fields = fields
    inlines = [OnboardingTaskInline]

    def has_add_permission(self, request) -> bool:
        # Onboarding starts on approval (onboarding.services.onboarding_start).
        return False


@admin.register(OnboardingTask, site=tenant_admin_site)
class OnboardingTaskAdmin(TenantModelAdmin):
    """Where channel managers sign off ticked tasks (or send them back to the partner)."""

    list_display = ["title", "partner", "status", "due_at", "ticked_at", "ticked_by", "completed_at"]
    list_filter = ["status", "kind", "requires_signoff"]
    search_fields = ["title", "onboarding__partner__name"]
    list_select_related = ["onboarding__partner", "ticked_by"]
    fields = [
        "partner",
        "title",
        "description",
        "kind",
        "course_ref",
        "requires_signoff",
        "due_at",
        "status",
        "ticked_at",
        "ticked_by",
        "completed_at",
        "completed_by",
    ]
    readonly_fields = fields
    actions = ["sign_off", "send_back"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description=_("partner"), ordering="onboarding__partner__name")
    def partner(self, obj):
        return obj.onboarding.partner

    def _apply(self, request, queryset, service, done_message):
        waiting = list(queryset.filter(status=TaskStatus.AWAITING_SIGNOFF))
        # A task another manager decided meanwhile is refused by the service and reported; the rest go on.
        done, refusals = apply_each(
            waiting, lambda task: service(task=task, acting_user=request.user), refused=(OnboardingError,)
        )
        report(self, request, done, refusals, done_message=done_message)
        skipped = queryset.count() - len(waiting)
        if skipped:
            self.message_user(
                request,
                ngettext(
                    "%(count)d task was not waiting for a sign-off and was left as it is.",
                    "%(count)d tasks were not waiting for a sign-off and were left as they are.",
                    skipped,
                )
                % {"count": skipped},
                messages.WARNING,
            )

    @admin.action(description=_("Sign off the selected ticked tasks"))
    def sign_off(self, request, queryset):
        self._apply(
            request,
            queryset,
            services.onboarding_task_sign_off,
            lambda n: ngettext("%(count)d task signed off.", "%(count)d tasks signed off.", n) % {"count": n},
        )

    @admin.action(description=_("Send the selected ticked tasks back to the partner"))
    def send_back(self, request, queryset):
        self._apply(
            request,
            queryset,
            services.onboarding_task_send_back,
            lambda n: ngettext("%(count)d task sent back.", "%(count)d tasks sent back.", n) % {"count": n},
        )


@admin.register(PartnerEvent, site=tenant_admin_site)
class PartnerEventAdmin(ReadOnlyModelAdmin):
    """The lifecycle events onboarding heard of; written by the receivers only."""

    list_display = ["partner", "kind", "ref", "occurred_at"]
    list_filter = ["kind"]
    search_fields = ["partner__name", "ref"]
    list_select_related = ["partner"]
    fields = ["partner", "kind", "ref", "occurred_at"]
    readonly_fields = fields
