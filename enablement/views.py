"""Pages of enablement/: the content library and its protected downloads, courses and quizzes, certificates,
and the managers' reports.

Partner people see what their partner's audience allows; staff see everything (to preview it) but take no
courses. Every object is loaded through a selector that answers 404 for what the person may not see.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from enablement import selectors, services
from enablement.filters import AssetReportFilter, CourseReportFilter, LibraryFilter, PartnerReportFilter
from enablement.forms import QuizForm
from enablement.models import AssetKind, QuizAttempt
from enablement.tables import AssetEngagementTable, CourseCompletionTable, PartnerEngagementTable
from partners import selectors as partner_selectors
from prm.tables import FilteredTableView

LIBRARY_PAGE_SIZE = 24


def _partner(request):
    """The signed-in partner person's organisation (None for staff). Partner people without one get a 404."""
    membership = request.membership
    if membership.is_staff_role:
        return None
    partner = partner_selectors.partner_for_member(membership)
    if partner is None:
        raise Http404
    return partner


# --- the content library -----------------------------------------------------------------------------------


@login_required
def library(request):
    partner = _partner(request)
    assets = selectors.assets_visible_to(request.membership, partner).order_by("-created_at", "title")
    if request.membership.is_staff_role:
        assets = assets.prefetch_related("audience_partner_types", "audience_tiers")
    filterset = LibraryFilter(request.GET or None, queryset=assets, request=request)
    page = Paginator(filterset.qs, LIBRARY_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "enablement/library.html",
        {"filter": filterset, "page": page, "partner": partner, "filtered": filterset.is_bound},
    )


@login_required
def asset_detail(request, public_id):
    partner = _partner(request)
    asset = selectors.get_asset_for_member(request.membership, public_id, partner)
    if partner is not None:
        services.asset_record_view(asset=asset, partner=partner, acting_user=request.user)
    return render(request, "enablement/asset_detail.html", {"asset": asset, "partner": partner})


@never_cache
@login_required
def asset_download(request, public_id):
    """The asset's file (or a redirect to its link), for whoever may see the asset; 404 for anyone else."""
    partner = _partner(request)
    asset = selectors.get_asset_for_member(request.membership, public_id, partner)
    if asset.kind != AssetKind.FILE:
        if partner is not None:
            services.asset_record_download(asset=asset, partner=partner, acting_user=request.user)
        return HttpResponseRedirect(asset.url)
    if not asset.file:
        raise Http404
    try:
        handle = asset.file.open("rb")
    except FileNotFoundError as missing:
        raise Http404 from missing
    if partner is not None:
        services.asset_record_download(asset=asset, partner=partner, acting_user=request.user)
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=asset.file_name or f"{asset.public_id}.{asset.file.name.rsplit('.', 1)[-1]}",
        content_type=asset.content_type or "application/octet-stream",
    )
    # Never rendered in the portal's origin, whatever a browser makes of the bytes.
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response


# --- courses and quizzes -----------------------------------------------------------------------------------


@login_required
def course_list(request):
    partner = _partner(request)
    courses = selectors.courses_visible_to(request.membership, partner).prefetch_related("modules")
    progress = selectors.progress_by_course(request.user) if partner else {}
    rows = [(course, progress.get(course.pk)) for course in courses]
    return render(request, "enablement/course_list.html", {"rows": rows, "partner": partner})


def _course_context(request, course, partner):
    progress = selectors.progress_by_course(request.user).get(course.pk) if partner else None
    done = {m.pk for m in progress.completed_modules.all()} if progress else set()
    attempts = list(progress.attempts.all()) if progress else []
    return {
        "course": course,
        "partner": partner,
        "progress": progress,
        "modules": [(module, module.pk in done) for module in course.modules.select_related("asset")],
        "attempts": attempts,
        "open_attempt": next((a for a in attempts if a.submitted_at is None), None),
        "attempts_left": _attempts_left(course, progress, attempts),
        "renewal_open": services.renewal_open(progress) if progress else False,
        "certifications": course.certifications.all(),
        "awards": list(selectors.awards_of(request.user).filter(certification__courses=course))
        if partner
        else [],
        "question_count": course.questions.count(),
    }


def _attempts_left(course, progress, attempts) -> int:
    if progress is None:
        return course.max_attempts
    if progress.passed_at is not None:
        attempts = [a for a in attempts if a.started_at > progress.passed_at]
    return max(course.max_attempts - len(attempts), 0)


@login_required
def course_detail(request, public_id):
    partner = _partner(request)
    course = selectors.get_course_for_member(request.membership, public_id, partner)
    return render(request, "enablement/course_detail.html", _course_context(request, course, partner))


@login_required
def module_complete(request, public_id, module_id):
    """POST: mark a module of the course done for the signed-in partner person."""
    partner = _partner(request)
    course = selectors.get_course_for_member(request.membership, public_id, partner)
    module = course.modules.filter(public_id=selectors.parse_public_id(module_id)).first()
    if module is None or partner is None:
        raise Http404
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    services.module_complete(module=module, partner=partner, acting_user=request.user)
    return redirect(f"{course_url(course)}#module-{module.public_id}")


def course_url(course) -> str:
    return reverse("enablement:course", kwargs={"public_id": course.public_id})


@login_required
def quiz_start(request, public_id):
    """POST: start (or resume) the person's attempt at the course's quiz."""
    partner = _partner(request)
    course = selectors.get_course_for_member(request.membership, public_id, partner)
    if partner is None:
        raise Http404
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        attempt = services.quiz_attempt_start(course=course, partner=partner, acting_user=request.user)
    except services.QuizClosed as closed:
        messages.error(request, str(closed))
        return redirect(course_url(course))
    return redirect("enablement:attempt", public_id=attempt.public_id)


def _get_attempt_for_user(request, public_id) -> QuizAttempt:
    """The signed-in person's own quiz attempt; 404 for anyone else's."""
    attempt = (
        QuizAttempt.objects.select_related("progress__course")
        .filter(public_id=selectors.parse_public_id(public_id), progress__user=request.user)
        .first()
    )
    if attempt is None:
        raise Http404
    return attempt


@login_required
def quiz_attempt(request, public_id):
    """The quiz of one attempt (GET), and its answers (POST). A submitted attempt shows its result."""
    _partner(request)
    attempt = _get_attempt_for_user(request, public_id)
    course = attempt.progress.course
    if attempt.submitted_at is not None and request.method != "POST":
        return redirect(course_url(course))
    form = QuizForm(request.POST if request.method == "POST" else None, attempt=attempt)
    if request.method == "POST" and form.is_valid():
        try:
            attempt = services.quiz_attempt_submit(
                attempt=attempt, answers=form.answers(), acting_user=request.user
            )
        except services.QuizClosed as closed:
            messages.error(request, str(closed))
            return redirect(course_url(course))
        if attempt.passed:
            messages.success(request, _("You passed with %(score)s%%. Well done!") % {"score": attempt.score})
        else:
            messages.warning(
                request,
                _("You scored %(score)s%%; the pass mark is %(mark)s%%.")
                % {"score": attempt.score, "mark": course.pass_mark},
            )
        return redirect(course_url(course))
    if request.method == "POST" and attempt.submitted_at is not None:
        messages.error(request, _("This attempt was submitted already; nothing was changed."))
        return redirect(course_url(course))
    return render(request, "enablement/quiz.html", {"attempt": attempt, "course": course, "form": form})


# --- certifications ----------------------------------------------------------------------------------------


@login_required
def certification_list(request):
    partner = _partner(request)
    awards = list(selectors.awards_of(request.user)) if partner else []
    now = timezone.now()
    return render(
        request,
        "enablement/certification_list.html",
        {
            "partner": partner,
            "awards": [(award, award.is_valid(now)) for award in awards],
            # A course outside the partner's audience is a 404: its title is not listed either.
            "certifications": selectors.certifications_with_courses(
                selectors.courses_visible_to(request.membership, partner)
            ),
        },
    )


def certificate(request, code: str):
    """The shareable certificate page: public, at an unguessable code, on the issuing tenant's host only."""
    award = selectors.get_award_by_code(code)
    response = render(
        request,
        "enablement/certificate.html",
        {"award": award, "valid": award.is_valid(), "today": timezone.localdate()},
    )
    response["X-Robots-Tag"] = "noindex"
    response["Referrer-Policy"] = "no-referrer"
    return response


# --- the managers' reports ---------------------------------------------------------------------------------


class StaffOnly(LoginRequiredMixin):
    def get(self, request, *args, **kwargs):
        # Before any table or export is built: the CSV has the page's rule.
        if not request.membership.is_staff_role:
            raise Http404
        return super().get(request, *args, **kwargs)


class PartnerReport(StaffOnly, FilteredTableView):
    table_class = PartnerEngagementTable
    filterset_class = PartnerReportFilter
    template_name = "enablement/report_partners.html"
    export_name = "enablement-partners"

    def get_queryset(self):
        return selectors.partner_engagement()


class AssetReport(StaffOnly, FilteredTableView):
    table_class = AssetEngagementTable
    filterset_class = AssetReportFilter
    template_name = "enablement/report_assets.html"
    export_name = "enablement-assets"

    def get_queryset(self):
        return selectors.asset_engagement().prefetch_related("audience_partner_types", "audience_tiers")


class CourseReport(StaffOnly, FilteredTableView):
    table_class = CourseCompletionTable
    filterset_class = CourseReportFilter
    template_name = "enablement/report_courses.html"
    export_name = "enablement-courses"

    def get_queryset(self):
        return selectors.course_completion()


report_partners = PartnerReport.as_view()
report_courses = CourseReport.as_view()
report_assets = AssetReport.as_view()
