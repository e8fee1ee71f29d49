"""Onboarding plans per partner type, each partner's task list built from its plan, the lifecycle events
onboarding has heard of, and the tenant's onboarding settings."""

from __future__ import annotations

import uuid

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from prm.models import user_reference
from prm.tenancy import TenantOwnedModel, scoped_manager


class TaskKind(models.TextChoices):
    """How a task gets done: ticked by the partner, or by the lifecycle event it names."""

    MANUAL = "manual", _("Manual: the partner ticks it")
    AGREEMENT_SIGNED = "agreement_signed", _("Automatic: program agreement signed")
    PROFILE_COMPLETED = "profile_completed", _("Automatic: company profile completed")
    FIRST_LOGIN = "first_login", _("Automatic: first sign-in to the portal")
    COURSE_PASSED = "course_passed", _("Automatic: a named course passed")
    DEAL_REGISTERED = "deal_registered", _("Automatic: first deal registered")


AUTOMATIC_KINDS = frozenset(TaskKind) - {TaskKind.MANUAL}


class OnboardingSettings(TenantOwnedModel):
    """The tenant's onboarding knobs: one row per tenant, made with defaults when first read."""

    stall_after_days = models.PositiveSmallIntegerField(
        _("stalled after days without progress"),
        default=14,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
        help_text=_(
            "A partner in onboarding is flagged as stalled when a task is overdue or when nothing was "
            "done for this many days."
        ),
    )

    class Meta:
        verbose_name = _("onboarding settings")
        verbose_name_plural = _("onboarding settings")
        constraints = [models.UniqueConstraint(fields=["tenant"], name="one_onboarding_settings_per_tenant")]

    def __str__(self) -> str:
        return str(_("Onboarding settings"))


class OnboardingPlan(TenantOwnedModel):
    """The ordered tasks a new partner of one type works through; a plan without a type is the fallback."""

    name = models.CharField(_("name"), max_length=120)
    partner_type = models.OneToOneField(
        "partners.PartnerType",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="onboarding_plan",
        verbose_name=_("partner type"),
        help_text=_("Leave empty for the plan of every partner type that has no plan of its own."),
    )
    description = models.TextField(_("description"), blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("onboarding plan")
        verbose_name_plural = _("onboarding plans")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant"], condition=Q(partner_type__isnull=True), name="one_fallback_plan_per_tenant"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        super().clean()
        # The constraint names the tenant, which no form holds: say it as a field error instead of a 500.
        if self.partner_type_id is None:
            others = OnboardingPlan.objects.filter(partner_type__isnull=True).exclude(pk=self.pk)
            if others.exists():
                message = _("There is a plan for every other partner type already: choose a type.")
                raise ValidationError({"partner_type": message})


class TaskFields(models.Model):
    """What a plan's task and a partner's copy of it share."""

    position = models.PositiveSmallIntegerField(_("order"), default=0)
    title = models.CharField(_("title"), max_length=160)
    description = models.TextField(_("description"), blank=True)
    kind = models.CharField(_("kind"), max_length=24, choices=TaskKind.choices, default=TaskKind.MANUAL)
    course_ref = models.CharField(
        _("course"),
        max_length=80,
        blank=True,
        help_text=_("For a course task: the id or slug of the course whose pass completes it."),
    )
    requires_signoff = models.BooleanField(
        _("needs a channel manager's sign-off"),
        default=False,
        help_text=_("Manual tasks only: the partner's tick waits for a channel manager to sign it off."),
    )

    class Meta:
        abstract = True

    def clean(self):
        super().clean()
        errors = {}
        self.course_ref = (self.course_ref or "").strip()
        if self.kind == TaskKind.COURSE_PASSED and not self.course_ref:
            errors["course_ref"] = _("Name the course whose pass completes this task.")
        if self.kind != TaskKind.COURSE_PASSED and self.course_ref:
            errors["course_ref"] = _("Only course tasks name a course.")
        if self.kind != TaskKind.MANUAL and self.requires_signoff:
            errors["requires_signoff"] = _("Only manual tasks can wait for a sign-off.")
        if errors:
            raise ValidationError(errors)

    @property
    def is_manual(self) -> bool:
        return self.kind == TaskKind.MANUAL


class PlanTask(TaskFields, TenantOwnedModel):
    """One step of a plan; copied onto a partner's task list when their onboarding starts."""

    plan = models.ForeignKey(
        OnboardingPlan, on_delete=models.CASCADE, related_name="tasks", verbose_name=_("plan")
    )
    due_after_days = models.PositiveSmallIntegerField(
        _("due after days"),
        default=7,
        validators=[MaxValueValidator(365)],
        help_text=_("Days after onboarding starts."),
    )

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("plan task")
        verbose_name_plural = _("plan tasks")

    def __str__(self) -> str:
        return self.title


class OnboardingQuerySet(models.QuerySet):
    def in_progress(self):
        """Onboardings that have tasks left."""
        return self.filter(completed_at__isnull=True)


class Onboarding(TenantOwnedModel):
    """A partner's run through its plan: when it started, and when its last task was done."""

    partner = models.OneToOneField(
        "partners.Partner", on_delete=models.CASCADE, related_name="onboarding", verbose_name=_("partner")
    )
    plan = models.ForeignKey(
        OnboardingPlan,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="onboardings",
        verbose_name=_("plan"),
    )
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)

    objects = scoped_manager(manager_class=models.Manager.from_queryset(OnboardingQuerySet))

    class Meta:
        ordering = ["-started_at"]
        verbose_name = _("onboarding")
        verbose_name_plural = _("onboardings")

    def __str__(self) -> str:
        return str(self.partner)


class TaskStatus(models.TextChoices):
    OPEN = "open", _("To do")
    AWAITING_SIGNOFF = "awaiting_signoff", _("Waiting for sign-off")
    DONE = "done", _("Done")


# The one map of task moves: ticked (or completed by its event), waiting for a manager, signed off or
# sent back.
TASK_TRANSITIONS: dict[str, frozenset[str]] = {
    TaskStatus.OPEN: frozenset({TaskStatus.DONE, TaskStatus.AWAITING_SIGNOFF}),
    TaskStatus.AWAITING_SIGNOFF: frozenset({TaskStatus.DONE, TaskStatus.OPEN}),
    TaskStatus.DONE: frozenset(),
}


class OnboardingTaskQuerySet(models.QuerySet):
    def not_done(self):
        """Tasks still to do or waiting for a sign-off."""
        return self.exclude(status=TaskStatus.DONE)

    def overdue(self, now=None):
        """Tasks not done whose due time has passed."""
        return self.not_done().filter(due_at__lt=now or timezone.now())

    def awaiting_signoff(self):
        """Ticked tasks that wait for a channel manager."""
        return self.filter(status=TaskStatus.AWAITING_SIGNOFF)


class OnboardingTask(TaskFields, TenantOwnedModel):
    """One task on a partner's list, with its due time and who did it when (the completion history)."""

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    onboarding = models.ForeignKey(
        Onboarding, on_delete=models.CASCADE, related_name="tasks", verbose_name=_("onboarding")
    )
    due_at = models.DateTimeField(_("due"))
    status = models.CharField(
        _("status"), max_length=20, choices=TaskStatus.choices, default=TaskStatus.OPEN, editable=False
    )
    ticked_at = models.DateTimeField(_("ticked"), null=True, blank=True, editable=False)
    ticked_by = user_reference(_("ticked by"))
    completed_at = models.DateTimeField(_("done"), null=True, blank=True, editable=False)
    completed_by = user_reference(_("done by"))

    objects = scoped_manager(manager_class=models.Manager.from_queryset(OnboardingTaskQuerySet))

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("onboarding task")
        verbose_name_plural = _("onboarding tasks")
        indexes = [models.Index(fields=["tenant", "status", "due_at"])]

    def __str__(self) -> str:
        return self.title

    @property
    def is_done(self) -> bool:
        return self.status == TaskStatus.DONE

    @property
    def is_overdue(self) -> bool:
        return not self.is_done and self.due_at < timezone.now()


class PartnerEvent(TenantOwnedModel):
    """A lifecycle event onboarding heard about a partner, kept so that a task added or started later
    still finds it (an agreement signed before onboarding started completes the task when it starts)."""

    partner = models.ForeignKey(
        "partners.Partner",
        on_delete=models.CASCADE,
        related_name="onboarding_events",
        verbose_name=_("partner"),
    )
    kind = models.CharField(_("event"), max_length=24, choices=TaskKind.choices)
    ref = models.CharField(_("reference"), max_length=80, blank=True)
    occurred_at = models.DateTimeField(_("when"), default=timezone.now)

    class Meta:
        ordering = ["occurred_at", "id"]
        verbose_name = _("partner event")
        verbose_name_plural = _("partner events")
        constraints = [
            models.UniqueConstraint(fields=["partner", "kind", "ref"], name="one_event_per_partner_kind_ref")
        ]

    def __str__(self) -> str:
        return f"{self.partner}: {self.get_kind_display()} {self.ref}".strip()


class FirstSignIn(TenantOwnedModel):
    """When a partner person first signed in on their tenant's host; the row makes the event fire once."""

    user = models.ForeignKey("prm.User", on_delete=models.CASCADE, related_name="+", verbose_name=_("person"))
    partner = models.ForeignKey(
        "partners.Partner", on_delete=models.CASCADE, related_name="+", verbose_name=_("partner")
    )
    signed_in_at = models.DateTimeField(_("when"), default=timezone.now)

    class Meta:
        verbose_name = _("first sign-in")
        verbose_name_plural = _("first sign-ins")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "user"], name="one_first_sign_in_per_tenant")
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.partner}"
