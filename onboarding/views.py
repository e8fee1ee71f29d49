"""Onboarding pages: partner people tick their tasks (on the home page), staff follow every partner's
onboarding, sign off ticked tasks and read the stage metrics."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from onboarding import selectors, services
from onboarding.filters import OnboardingFilter
from onboarding.tables import CohortTable, OnboardingTable
from partners.selectors import partner_for_member
from prm.tables import FilteredTableView


def _require_staff(request) -> None:
    membership = request.membership
    if membership is None or not membership.is_staff_role:
        raise Http404


@login_required
def task_tick(request, public_id):
    """A partner person ticks one of their partner's manual tasks; answers htmx with the progress panel."""
    # The task first: another partner's task is a 404 whatever the method.
    task = selectors.get_task_for_partner_member(request.membership, public_id)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        task = services.onboarding_task_tick(task=task, acting_user=request.user)
    except services.OnboardingError as refused:
        messages.error(request, " ".join(refused.messages))
    else:
        if task.is_done:
            messages.success(request, _("“%(title)s” is done.") % {"title": task.title})
        else:
            messages.info(
                request,
                _("“%(title)s” is ticked and waits for your channel manager.") % {"title": task.title},
            )
    if request.htmx:
        progress = selectors.onboarding_progress(partner_for_member(request.membership))
        return render(request, "onboarding/_progress.html", {"progress": progress, "htmx_swap": True})
    return redirect("home")


class OnboardingOverview(LoginRequiredMixin, FilteredTableView):
    """Staff: every partner's onboarding with its progress, and the ticked tasks waiting for a sign-off."""

    table_class = OnboardingTable
    filterset_class = OnboardingFilter
    template_name = "onboarding/onboarding_overview.html"
    export_name = "onboarding"

    def get(self, request, *args, **kwargs):
        _require_staff(request)
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        return selectors.onboardings_overview()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["awaiting"] = list(selectors.tasks_awaiting_signoff())
        return context


overview = OnboardingOverview.as_view()


def _manager_move(request, public_id, service, done_text):
    _require_staff(request)
    task = selectors.get_task_for_staff(request.membership, public_id)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        service(task=task, acting_user=request.user)
    except services.OnboardingError as refused:
        messages.error(request, " ".join(refused.messages))
    else:
        messages.success(request, done_text % {"title": task.title, "partner": task.onboarding.partner.name})
    return redirect("onboarding:overview")


@login_required
def task_sign_off(request, public_id):
    """A channel manager signs off a ticked task."""
    return _manager_move(
        request, public_id, services.onboarding_task_sign_off, _("Signed off “%(title)s” of %(partner)s.")
    )


@login_required
def task_send_back(request, public_id):
    """A channel manager sends a ticked task back to the partner."""
    return _manager_move(
        request, public_id, services.onboarding_task_send_back, _("Sent “%(title)s” back to %(partner)s.")
    )


@login_required
def metrics(request):
    """Staff: application-to-approval time, onboarding completion rate, time to first deal per cohort."""
    _require_staff(request)
    figures = selectors.onboarding_metrics()
    table = CohortTable(figures.cohorts)
    return render(request, "onboarding/onboarding_metrics.html", {"metrics": figures, "table": table})
