"""Reads of onboarding/: a partner's progress, the staff's lists, stall digests and the stage metrics."""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import Count, F, Min, Q
from django.http import Http404
from django.utils import timezone

from onboarding.models import Onboarding, OnboardingTask, TaskStatus
from partners.models import Partner, PartnerUserObjectPermission, Stage
from partners.selectors import partner_for_member
from prm.models import Membership, Role

# Partners stall detection watches: their onboarding is under way and they have not reached a first deal.
WATCHED_STAGES = (Stage.APPROVED, Stage.ONBOARDING)


@dataclass
class Progress:
    """A partner's onboarding as its home page shows it."""

    onboarding: Onboarding
    tasks: list[OnboardingTask]
    done: int
    total: int
    next_task: OnboardingTask | None
    overdue: list[OnboardingTask]

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 100


def onboarding_progress(partner: Partner | None) -> Progress | None:
    """The partner's onboarding with its tasks in plan order, None before it started."""
    if partner is None:
        return None
    onboarding = Onboarding.objects.filter(partner=partner).first()
    if onboarding is None:
        return None
    tasks = list(onboarding.tasks.all())
    open_tasks = [t for t in tasks if t.status == TaskStatus.OPEN]
    now = timezone.now()
    return Progress(
        onboarding=onboarding,
        tasks=tasks,
        done=sum(1 for t in tasks if t.is_done),
        total=len(tasks),
        next_task=min(open_tasks, key=lambda t: (t.due_at, t.position), default=None),
        overdue=[t for t in tasks if not t.is_done and t.due_at < now],
    )


def get_task_for_partner_member(membership: Membership, public_id) -> OnboardingTask:
    """A task of the member's own partner; 404 for anyone else's (another partner's, another tenant's)."""
    partner = partner_for_member(membership)
    task = (
        OnboardingTask.objects.select_related("onboarding")
        .filter(public_id=public_id, onboarding__partner=partner)
        .first()
        if partner is not None
        else None
    )
    if task is None:
        raise Http404
    return task


def get_task_for_staff(membership: Membership, public_id) -> OnboardingTask:
    """A task of any of the tenant's partners, for its tenant admins and channel managers; 404 otherwise."""
    if membership is None or not membership.is_staff_role:
        raise Http404
    task = OnboardingTask.objects.select_related("onboarding__partner").filter(public_id=public_id).first()
    if task is None:
        raise Http404
    return task


def onboardings_overview():
    """Every onboarding of the tenant with its task counts, for the staff's onboarding page."""
    now = timezone.now()
    return Onboarding.objects.select_related("partner__partner_type", "plan").annotate(
        total=Count("tasks"),
        done=Count("tasks", filter=Q(tasks__status=TaskStatus.DONE)),
        overdue=Count("tasks", filter=~Q(tasks__status=TaskStatus.DONE) & Q(tasks__due_at__lt=now)),
        waiting=Count("tasks", filter=Q(tasks__status=TaskStatus.AWAITING_SIGNOFF)),
    )


def tasks_awaiting_signoff():
    """Ticked tasks waiting for a channel manager, oldest tick first."""
    return (
        OnboardingTask.objects.awaiting_signoff()
        .select_related("onboarding__partner", "ticked_by")
        .order_by("ticked_at", "id")
    )


def onboardings_to_watch():
    """Onboardings stall detection looks at, with their partners and tasks."""
    return (
        Onboarding.objects.in_progress()
        .filter(partner__stage__in=WATCHED_STAGES)
        .select_related("partner")
        .prefetch_related("tasks")
    )


def stall_digests(partners: list[Partner]) -> dict[str, list[Partner]]:
    """Who gets told about which stalled partners: each partner's assigned channel managers (object
    permissions on the partner), or every channel manager of the tenant for a partner nobody is assigned to.
    Returns {email: partners}."""
    managers = {
        m.user_id: m.user.email
        for m in Membership.objects.active().filter(role=Role.CHANNEL_MANAGER).select_related("user")
    }
    assigned: dict[int, set[int]] = defaultdict(set)
    grants = PartnerUserObjectPermission.objects.filter(
        content_object__in=[p.pk for p in partners], user_id__in=list(managers)
    ).values_list("content_object_id", "user_id")
    for partner_id, user_id in grants:
        assigned[partner_id].add(user_id)
    digests: dict[str, list[Partner]] = defaultdict(list)
    for partner in sorted(partners, key=lambda p: p.name):
        for user_id in assigned.get(partner.pk) or managers:
            digests[managers[user_id]].append(partner)
    return dict(digests)


# --- Metrics ---------------------------------------------------------------------------------------------


def _days(delta: timedelta) -> float:
    return delta.total_seconds() / 86400


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def _mean(values: list[float]) -> float | None:
    return round(statistics.fmean(values), 1) if values else None


@dataclass
class Cohort:
    """Partners whose onboarding started in one month."""

    month: date
    started: int = 0
    completed: int = 0
    activated: int = 0
    days_to_first_deal: list[float] = field(default_factory=list)

    @property
    def completion_rate(self) -> float | None:
        return round(100 * self.completed / self.started, 1) if self.started else None

    @property
    def median_days_to_first_deal(self) -> float | None:
        return _median(self.days_to_first_deal)


@dataclass
class Metrics:
    approvals: int
    approval_median_days: float | None
    approval_mean_days: float | None
    started: int
    completed: int
    first_deals: int
    first_deal_median_days: float | None
    cohorts: list[Cohort]

    @property
    def completion_rate(self) -> float | None:
        return round(100 * self.completed / self.started, 1) if self.started else None


def _month(moment: datetime) -> date:
    return timezone.localtime(moment).date().replace(day=1)


def onboarding_metrics() -> Metrics:
    """The stage metrics of the tenant, from the lifecycle history in one query: application-to-approval
    time (applied → approved moves), onboarding completion rate, and the time from onboarding start (else
    approval) to the first deal (the move to activated), per monthly cohort of onboarding start."""
    rows = (
        Partner.objects.annotate(
            applied_at=Min("stage_changes__changed_at", filter=Q(stage_changes__to_stage=Stage.APPLIED)),
            approved_at=Min(
                "stage_changes__changed_at",
                filter=Q(stage_changes__to_stage=Stage.APPROVED, stage_changes__from_stage=Stage.APPLIED),
            ),
            any_approved_at=Min(
                "stage_changes__changed_at", filter=Q(stage_changes__to_stage=Stage.APPROVED)
            ),
            onboarding_at=Min(
                "stage_changes__changed_at", filter=Q(stage_changes__to_stage=Stage.ONBOARDING)
            ),
            activated_at=Min("stage_changes__changed_at", filter=Q(stage_changes__to_stage=Stage.ACTIVATED)),
            started_at=F("onboarding__started_at"),
            completed_at=F("onboarding__completed_at"),
        )
        .values(
            "applied_at",
            "approved_at",
            "any_approved_at",
            "onboarding_at",
            "activated_at",
            "started_at",
            "completed_at",
        )
        .order_by()
    )
    approval_days: list[float] = []
    first_deal_days: list[float] = []
    cohorts: dict[date, Cohort] = {}
    started = completed = 0
    for row in rows:
        if row["applied_at"] and row["approved_at"] and row["approved_at"] >= row["applied_at"]:
            approval_days.append(_days(row["approved_at"] - row["applied_at"]))
        # Approval stands in for the start of a partner that reached a first deal without an onboarding
        # on record; an approved partner whose onboarding has not started belongs to no cohort yet.
        start = row["onboarding_at"] or row["started_at"]
        if start is None and row["activated_at"]:
            start = row["any_approved_at"]
        if start is None:
            continue
        cohort = cohorts.setdefault(_month(start), Cohort(month=_month(start)))
        cohort.started += 1
        started += 1
        if row["completed_at"]:
            cohort.completed += 1
            completed += 1
        if row["activated_at"] and row["activated_at"] >= start:
            cohort.activated += 1
            days = _days(row["activated_at"] - start)
            cohort.days_to_first_deal.append(days)
            first_deal_days.append(days)
    return Metrics(
        approvals=len(approval_days),
        approval_median_days=_median(approval_days),
        approval_mean_days=_mean(approval_days),
        started=started,
        completed=completed,
        first_deals=len(first_deal_days),
        first_deal_median_days=_median(first_deal_days),
        cohorts=sorted(cohorts.values(), key=lambda c: c.month, reverse=True),
    )
