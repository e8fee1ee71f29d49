"""Writes of onboarding/: default plans, starting a partner's onboarding, completing tasks by hand or by
lifecycle event, sign-offs, and stall detection."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from onboarding.models import (
    TASK_TRANSITIONS,
    Onboarding,
    OnboardingPlan,
    OnboardingSettings,
    OnboardingTask,
    PartnerEvent,
    PlanTask,
    TaskKind,
    TaskStatus,
)
from partners import services as partner_services
from partners.models import Partner, PartnerType, Stage
from prm.models import User

logger = logging.getLogger("prm.onboarding")

M, AGREEMENT, PROFILE, LOGIN, COURSE, DEAL = (
    TaskKind.MANUAL,
    TaskKind.AGREEMENT_SIGNED,
    TaskKind.PROFILE_COMPLETED,
    TaskKind.FIRST_LOGIN,
    TaskKind.COURSE_PASSED,
    TaskKind.DEAL_REGISTERED,
)

# (title, description, kind, due after days, needs sign-off, course). The fallback plan serves every
# partner type without a plan of its own; referral partners get a lighter one.
DEFAULT_PLAN = [
    (
        gettext_lazy("Sign the program agreement"),
        gettext_lazy("Read and accept the partner program agreement."),
        AGREEMENT,
        3,
        False,
        "",
    ),
    (
        gettext_lazy("Sign in to the partner portal"),
        gettext_lazy("Your first visit to the portal."),
        LOGIN,
        3,
        False,
        "",
    ),
    (
        gettext_lazy("Complete your company profile"),
        gettext_lazy("Add your specialisations and regions."),
        PROFILE,
        7,
        False,
        "",
    ),
    (
        gettext_lazy("Hold the kick-off call"),
        gettext_lazy("A call with your channel manager to agree your first 90 days."),
        M,
        10,
        False,
        "",
    ),
    (
        gettext_lazy("Pass the sales fundamentals course"),
        gettext_lazy("In the learning section of the portal."),
        COURSE,
        21,
        False,
        "sales-fundamentals",
    ),
    (
        gettext_lazy("Submit your joint business plan"),
        gettext_lazy("Targets, named accounts and marketing activities for the first two quarters."),
        M,
        30,
        True,
        "",
    ),
    (
        gettext_lazy("Register your first deal"),
        gettext_lazy("Register an opportunity to protect it."),
        DEAL,
        45,
        False,
        "",
    ),
]
REFERRAL_PLAN = [
    (
        gettext_lazy("Sign the program agreement"),
        gettext_lazy("Read and accept the partner program agreement."),
        AGREEMENT,
        3,
        False,
        "",
    ),
    (
        gettext_lazy("Sign in to the partner portal"),
        gettext_lazy("Your first visit to the portal."),
        LOGIN,
        3,
        False,
        "",
    ),
    (
        gettext_lazy("Complete your company profile"),
        gettext_lazy("Add your specialisations and regions."),
        PROFILE,
        7,
        False,
        "",
    ),
    (
        gettext_lazy("Register your first referral"),
        gettext_lazy("Register an opportunity to protect it."),
        DEAL,
        30,
        False,
        "",
    ),
]


class OnboardingError(ValidationError):
    """A task move the transition map does not allow, or a task that is not the actor's to move."""


def onboarding_settings() -> OnboardingSettings:
    """The active tenant's onboarding settings, made with the defaults on first read."""
    settings_row, _created = OnboardingSettings.objects.get_or_create()
    return settings_row


def _plan_with_tasks(*, name: str, partner_type: PartnerType | None, tasks: list) -> OnboardingPlan:
    plan = OnboardingPlan.objects.create(name=name, partner_type=partner_type)
    PlanTask.objects.bulk_create(
        [
            PlanTask(
                tenant=plan.tenant,
                plan=plan,
                position=(index + 1) * 10,
                title=str(title),
                description=str(description),
                kind=kind,
                due_after_days=days,
                requires_signoff=signoff,
                course_ref=course,
            )
            for index, (title, description, kind, days, signoff, course) in enumerate(tasks)
        ]
    )
    return plan


@transaction.atomic
def onboarding_plans_add_defaults(*, tenant) -> list[OnboardingPlan]:
    """Give the tenant (the active scope's) the default plans it lacks, in its language: a fallback plan,
    and a lighter one for referral partners. Returns the plans made."""
    with translation.override(tenant.default_language):
        return _add_default_plans()


def _add_default_plans() -> list[OnboardingPlan]:
    made = []
    if not OnboardingPlan.objects.filter(partner_type__isnull=True).exists():
        made.append(_plan_with_tasks(name=_("Standard onboarding"), partner_type=None, tasks=DEFAULT_PLAN))
    referral = PartnerType.objects.filter(slug="referral").first()
    if referral is not None and not OnboardingPlan.objects.filter(partner_type=referral).exists():
        made.append(
            _plan_with_tasks(
                name=_("Referral partner onboarding"), partner_type=referral, tasks=REFERRAL_PLAN
            )
        )
    onboarding_settings()
    return made


def plan_for(partner: Partner) -> OnboardingPlan | None:
    """The plan of the partner's type, else the tenant's fallback plan."""
    return (
        OnboardingPlan.objects.filter(partner_type_id=partner.partner_type_id).first()
        or OnboardingPlan.objects.filter(partner_type__isnull=True).first()
    )


@transaction.atomic
def onboarding_start(
    *, partner: Partner, acting_user: User | None, now: datetime | None = None
) -> Onboarding:
    """Start the partner's onboarding: its task list from its type's plan with due dates, and the move
    approved → onboarding. A partner whose onboarding started already keeps it as it is."""
    # Lock the partner: the same approval delivered twice at once must not build two task lists.
    Partner.objects.select_for_update().filter(pk=partner.pk).first()
    existing = Onboarding.objects.filter(partner=partner).first()
    if existing is not None:
        return existing
    now = now or timezone.now()
    plan = plan_for(partner)
    onboarding = Onboarding.objects.create(partner=partner, plan=plan, started_at=now)
    plan_tasks = list(plan.tasks.all()) if plan else []
    OnboardingTask.objects.bulk_create(
        [
            OnboardingTask(
                tenant=onboarding.tenant,
                onboarding=onboarding,
                position=task.position,
                title=task.title,
                description=task.description,
                kind=task.kind,
                course_ref=task.course_ref,
                requires_signoff=task.requires_signoff,
                due_at=now + timedelta(days=task.due_after_days),
            )
            for task in plan_tasks
        ]
    )
    if partner.stage == Stage.APPROVED:
        partner_services.partner_change_stage(
            partner=partner,
            to_stage=Stage.ONBOARDING,
            reason=_("Onboarding started"),
            acting_user=acting_user,
        )
    # Events heard before the start (an agreement signed, a first sign-in) count at once.
    events = list(PartnerEvent.objects.filter(partner=partner))
    for event in events:
        _complete_by_event(onboarding, kind=event.kind, ref=event.ref, at=max(event.occurred_at, now))
    _complete_if_done(onboarding, now=now)
    if partner.stage == Stage.ONBOARDING and any(e.kind == TaskKind.DEAL_REGISTERED for e in events):
        partner_services.partner_change_stage(
            partner=partner, to_stage=Stage.ACTIVATED, reason=_("First deal registered"), acting_user=None
        )
    return onboarding


def _move(task: OnboardingTask, to_status: str) -> None:
    if to_status not in TASK_TRANSITIONS[task.status]:
        raise OnboardingError(
            _("This task cannot move from “%(from)s” to “%(to)s”.")
            % {"from": TaskStatus(task.status).label, "to": TaskStatus(to_status).label}
        )
    task.status = to_status


def _complete_by_event(onboarding: Onboarding, *, kind: str, ref: str, at: datetime) -> int:
    tasks = OnboardingTask.objects.select_for_update().filter(
        onboarding=onboarding, kind=kind, status=TaskStatus.OPEN
    )
    if kind == TaskKind.COURSE_PASSED:
        tasks = tasks.filter(course_ref__iexact=ref)
    done = 0
    for task in tasks:
        _move(task, TaskStatus.DONE)
        task.completed_at = at
        task.save(update_fields=["status", "completed_at"])
        done += 1
    return done


def _complete_if_done(onboarding: Onboarding, *, now: datetime | None = None) -> bool:
    if onboarding.completed_at is not None or onboarding.tasks.not_done().exists():
        return False
    onboarding.completed_at = now or timezone.now()
    onboarding.save(update_fields=["completed_at"])
    return True


@transaction.atomic
def onboarding_record_event(*, partner: Partner, kind: str, ref: str = "", at: datetime | None = None) -> int:
    """Note a lifecycle event of the partner and complete its open tasks of that kind (a course task only
    for the course it names); the partner's first deal also moves it onboarding → activated. An event heard
    before is not counted again. Returns the number of tasks completed."""
    at = at or timezone.now()
    ref = (ref or "")[:80]
    _event, created = PartnerEvent.objects.get_or_create(
        partner=partner, kind=kind, ref=ref, defaults={"occurred_at": at}
    )
    if not created:
        return 0
    done = 0
    onboarding = Onboarding.objects.select_for_update().filter(partner=partner).first()
    if onboarding is not None:
        done = _complete_by_event(onboarding, kind=kind, ref=ref, at=at)
        if done:
            _complete_if_done(onboarding, now=at)
    if kind == TaskKind.DEAL_REGISTERED:
        partner.refresh_from_db(fields=["stage"])
        if partner.stage == Stage.ONBOARDING:
            partner_services.partner_change_stage(
                partner=partner, to_stage=Stage.ACTIVATED, reason=_("First deal registered"), acting_user=None
            )
    return done


def get_task_for_update(task: OnboardingTask) -> OnboardingTask:
    return OnboardingTask.objects.select_for_update().select_related("onboarding").get(pk=task.pk)


@transaction.atomic
def onboarding_task_tick(*, task: OnboardingTask, acting_user: User) -> OnboardingTask:
    """A partner person ticks a manual task: done, or waiting for a channel manager if it needs a sign-off."""
    task = get_task_for_update(task)
    if not task.is_manual:
        raise OnboardingError(_("This task is completed by the portal when it happens, not by hand."))
    now = timezone.now()
    _move(task, TaskStatus.AWAITING_SIGNOFF if task.requires_signoff else TaskStatus.DONE)
    task.ticked_at, task.ticked_by = now, acting_user
    if task.status == TaskStatus.DONE:
        task.completed_at, task.completed_by = now, acting_user
    task.save(update_fields=["status", "ticked_at", "ticked_by", "completed_at", "completed_by"])
    _complete_if_done(task.onboarding, now=now)
    return task


@transaction.atomic
def onboarding_task_sign_off(*, task: OnboardingTask, acting_user: User) -> OnboardingTask:
    """A channel manager signs off a ticked task: it is done."""
    task = get_task_for_update(task)
    now = timezone.now()
    if task.status != TaskStatus.AWAITING_SIGNOFF:
        raise OnboardingError(_("Only a ticked task waiting for a sign-off can be signed off."))
    _move(task, TaskStatus.DONE)
    task.completed_at, task.completed_by = now, acting_user
    task.save(update_fields=["status", "completed_at", "completed_by"])
    _complete_if_done(task.onboarding, now=now)
    return task


@transaction.atomic
def onboarding_task_send_back(*, task: OnboardingTask, acting_user: User) -> OnboardingTask:
    """A channel manager declines a ticked task: it is open again for the partner."""
    task = get_task_for_update(task)
    if task.status != TaskStatus.AWAITING_SIGNOFF:
        raise OnboardingError(_("Only a ticked task waiting for a sign-off can be sent back."))
    _move(task, TaskStatus.OPEN)
    task.ticked_at, task.ticked_by = None, None
    task.save(update_fields=["status", "ticked_at", "ticked_by"])
    logger.info("onboarding task %s sent back by %s", task.public_id, acting_user.pk)
    return task


# --- Stall detection -------------------------------------------------------------------------------------


@dataclass
class StallReport:
    """What one run of stall detection did for a tenant."""

    flagged: list[Partner] = field(default_factory=list)  # stalled now, newly or still
    newly_flagged: list[Partner] = field(default_factory=list)
    cleared: list[Partner] = field(default_factory=list)
    digests: dict[str, list[Partner]] = field(default_factory=dict)  # manager email -> partners


def stall_reason(onboarding: Onboarding, *, now: datetime, stall_after_days: int) -> str | None:
    """Why this onboarding is stalled (its overdue tasks, or days without progress), or None."""
    tasks = list(onboarding.tasks.all())
    overdue = [t for t in tasks if not t.is_done and t.due_at < now]
    if overdue:
        return ngettext(
            "%(count)d overdue task: %(titles)s",
            "%(count)d overdue tasks: %(titles)s",
            len(overdue),
        ) % {"count": len(overdue), "titles": ", ".join(t.title for t in overdue)}
    moments = [onboarding.started_at] + [
        t.ticked_at or t.completed_at for t in tasks if t.ticked_at or t.completed_at
    ]
    idle_days = (now - max(moments)).days
    if idle_days >= stall_after_days:
        return ngettext("no progress for %(days)d day", "no progress for %(days)d days", idle_days) % {
            "days": idle_days
        }
    return None


def onboarding_detect_stalls(*, tenant, now: datetime | None = None, notify: bool = True) -> StallReport:
    """Flag the active tenant's partners in onboarding that have overdue tasks or made no progress for the
    tenant's number of days, clear the flag of those who recovered, and email each channel manager a digest
    of their stalled partners (a partner nobody is assigned to goes to every channel manager)."""
    from onboarding import selectors  # selectors read; imported here to keep services free of cycles

    now = now or timezone.now()
    days = onboarding_settings().stall_after_days
    report = StallReport()
    with translation.override(tenant.default_language):
        watched = selectors.onboardings_to_watch()
        watched_partner_ids = set()
        for onboarding in watched:
            partner = onboarding.partner
            watched_partner_ids.add(partner.pk)
            reason = stall_reason(onboarding, now=now, stall_after_days=days)
            with transaction.atomic():
                changed = partner_services.partner_set_stalled(partner=partner, reason=reason)
            if reason is not None:
                report.flagged.append(partner)
                if changed:
                    report.newly_flagged.append(partner)
            elif changed:
                report.cleared.append(partner)
        # Partners flagged before who left onboarding (activated, exited) have recovered, or left.
        for partner in Partner.objects.stalled().exclude(pk__in=watched_partner_ids):
            with transaction.atomic():
                if partner_services.partner_set_stalled(partner=partner, reason=None):
                    report.cleared.append(partner)
    report.digests = selectors.stall_digests(report.flagged)
    if notify:
        from onboarding import emails

        for email, partners in report.digests.items():
            emails.stalled_partners_digest(tenant=tenant, to=email, partners=partners)
    return report
