from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from partners import selectors, services
from partners.filters import ApplicationFilter, PartnerFilter
from partners.forms import (
    AgreementAcceptForm,
    ApplicationForm,
    ColleagueInviteForm,
    DecisionForm,
    PartnerProfileForm,
)
from partners.models import (
    ApplicationStatus,
    PartnerApplication,
    PartnerProfile,
    ProgramAgreement,
    QualifyingQuestion,
)
from partners.tables import ApplicationTable, PartnerTable
from prm.models import Role
from prm.tables import FilteredTableView


class PartnerDirectory(LoginRequiredMixin, FilteredTableView):
    """Staff see the partner directory and export it; partner people go straight to their own organisation."""

    table_class = PartnerTable
    filterset_class = PartnerFilter
    template_name = "partners/partner_list.html"
    export_name = "partners"

    def get(self, request, *args, **kwargs):
        # Before any table or export is built: the CSV answers to this view, so it has the same rule.
        membership = request.membership
        if not membership.is_staff_role:
            partner = selectors.partner_for_member(membership)
            if partner is None:
                return render(request, "partners/partner_none.html")
            return redirect("partners:detail", slug=partner.slug)
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        return selectors.partners_visible_to(self.request.membership)


partner_list = PartnerDirectory.as_view()


@login_required
def partner_detail(request, slug: str):
    partner = selectors.get_partner_for_member(request.membership, slug)
    people = selectors.partner_people(partner)
    profile = getattr(partner, "profile", None)
    # Staff see how the partner came in: its application, with the fit score it had.
    application = getattr(partner, "application", None) if request.membership.is_staff_role else None
    return render(
        request,
        "partners/partner_detail.html",
        {"partner": partner, "people": people, "profile": profile, "application": application},
    )


# ---- Recruitment ----------------------------------------------------------------------------------------


def client_ip(request) -> str | None:
    # The address the connection came from; behind a reverse proxy, the proxy sets REMOTE_ADDR (gunicorn's
    # --forwarded-allow-ips), never a header the client could forge.
    return request.META.get("REMOTE_ADDR") or None


def application_rate_limited(request) -> bool:
    """Count one application attempt from the client's address; True once it is over the limit."""
    key = f"apply:{request.tenant.pk}:{client_ip(request)}"
    cache.add(key, 0, timeout=settings.PRM_APPLICATION_RATE_WINDOW)
    try:
        attempts = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=settings.PRM_APPLICATION_RATE_WINDOW)
        attempts = 1
    return attempts > settings.PRM_APPLICATION_RATE_LIMIT


@never_cache
def application_apply(request):
    """The public, tenant-branded application form. Shows only the tenant's branding, partner types,
    specialisations and qualifying questions."""
    if request.method == "POST":
        if application_rate_limited(request):
            return render(request, "partners/application_limited.html", status=429)
        form = ApplicationForm(request.POST)
        if form.is_spam:
            return redirect("recruitment:apply_thanks")
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.application_submit(
                    company_name=data["company_name"],
                    website=data["website"],
                    country=data["country"],
                    region=data["region"],
                    partner_type=data["partner_type"],
                    employee_count=data["employee_count"],
                    contact_name=data["contact_name"],
                    contact_email=data["contact_email"],
                    contact_phone=data["contact_phone"],
                    specialisations=data.get("specialisations") or [],
                    answers=data["answers"],
                    submitted_from=client_ip(request),
                )
            except ValidationError as refused:
                _add_errors(form, refused)
            else:
                return redirect("recruitment:apply_thanks")
    else:
        initial = {}
        if request.GET.get("type"):
            initial["partner_type"] = request.GET["type"]
        form = ApplicationForm(initial=initial)
    return render(request, "partners/application_apply.html", {"form": form})


def _add_errors(form, error: ValidationError) -> None:
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return
    for field, field_messages in error.message_dict.items():
        form.add_error(field if field in form.fields else None, field_messages)


def application_thanks(request):
    return render(request, "partners/application_thanks.html")


class ApplicationQueue(LoginRequiredMixin, FilteredTableView):
    """The channel managers' review queue: pending applications by fit score, filterable, exportable."""

    table_class = ApplicationTable
    filterset_class = ApplicationFilter
    template_name = "partners/application_list.html"
    export_name = "applications"

    def get(self, request, *args, **kwargs):
        if not request.membership.is_staff_role:
            raise Http404
        return super().get(request, *args, **kwargs)

    def get_filterset_kwargs(self, filterset_class):
        kwargs = super().get_filterset_kwargs(filterset_class)
        # The queue opens on what waits for a decision; "All statuses" sends status= and shows everything.
        if "status" not in self.request.GET:
            data = self.request.GET.copy()
            data["status"] = ApplicationStatus.PENDING
            kwargs["data"] = data
        return kwargs

    def get_table_kwargs(self):
        # Pending is the queue itself, not a filter that hid rows.
        form = self.filterset.form
        narrowing = {k: v for k, v in form.cleaned_data.items() if v and k != "status"}
        return {"filtered": bool(narrowing) or form.cleaned_data.get("status") != ApplicationStatus.PENDING}

    def get_queryset(self):
        return PartnerApplication.objects.for_review()


application_list = ApplicationQueue.as_view()


@login_required
def application_detail(request, public_id):
    application = selectors.get_application_for_staff(request.membership, public_id)
    questions = {q.key: q.text for q in QualifyingQuestion.objects.all()}
    answers = [(questions.get(key, key), value) for key, value in application.answers.items()]
    form = DecisionForm()
    return render(
        request,
        "partners/application_detail.html",
        {
            "application": application,
            "answers": answers,
            "specialisations": application.specialisations.all(),
            "form": form,
        },
    )


@login_required
def application_decide(request, public_id):
    """Approve or reject from the detail page (POST); a decided application says so and stays as it is."""
    application = selectors.get_application_for_staff(request.membership, public_id)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    form = DecisionForm(request.POST)
    if form.is_valid():
        reason = form.cleaned_data["reason"]
        try:
            if form.cleaned_data["decision"] == "approve":
                partner = services.application_approve(
                    application=application, reason=reason, acting_user=request.user
                )
                messages.success(
                    request,
                    _("%(company)s is approved; %(email)s was emailed how to sign in.")
                    % {"company": partner.name, "email": application.contact_email},
                )
            else:
                services.application_reject(application=application, reason=reason, acting_user=request.user)
                messages.success(
                    request,
                    _("%(company)s is rejected; the applicant was emailed.") % {"company": application},
                )
        except ValidationError as refused:
            for message in refused.messages:
                messages.error(request, message)
    else:
        messages.error(request, _("Choose to approve or to reject."))
    return redirect("recruitment:applications:detail", public_id=application.public_id)


def _partner_of(request):
    """The partner of a signed-in partner person; 404 for anyone else."""
    partner = selectors.partner_for_member(request.membership)
    if partner is None:
        raise Http404
    return partner


@login_required
def agreement(request):
    """The current program agreement: partner admins accept it here; partner users read who must."""
    partner = _partner_of(request)
    current = selectors.current_agreement(partner)
    acceptance = selectors.agreement_acceptance(partner, current) if current else None
    is_partner_admin = request.membership.role == Role.PARTNER_ADMIN
    form = None
    if current and acceptance is None and is_partner_admin:
        if request.method == "POST":
            form = AgreementAcceptForm(request.POST)
            if form.is_valid():
                accepted = ProgramAgreement.objects.filter(public_id=form.cleaned_data["agreement"]).first()
                try:
                    if accepted is None:
                        raise services.RecruitmentError(
                            _(
                                "This version of the agreement is no longer current. "
                                "Read the current version and accept it."
                            )
                        )
                    services.agreement_accept(
                        agreement=accepted,
                        partner=partner,
                        typed_name=form.cleaned_data["typed_name"],
                        ip_address=client_ip(request),
                        user_agent=request.headers.get("User-Agent", ""),
                        acting_user=request.user,
                    )
                except ValidationError as refused:
                    if hasattr(refused, "error_dict"):
                        _add_errors(form, refused)
                    else:
                        for message in refused.messages:
                            messages.error(request, message)
                        return redirect("recruitment:agreement")
                else:
                    messages.success(
                        request, _("Thank you: the agreement is accepted. Welcome to the program.")
                    )
                    return redirect("home")
        else:
            form = AgreementAcceptForm(initial={"agreement": current.public_id})
    return render(
        request,
        "partners/agreement.html",
        {
            "partner": partner,
            "agreement": current,
            "acceptance": acceptance,
            "form": form,
            "is_partner_admin": is_partner_admin,
        },
    )


def _partner_admin_partner(request):
    partner = _partner_of(request)
    if request.membership.role != Role.PARTNER_ADMIN:
        raise Http404
    return partner


@login_required
def team(request):
    """A partner admin's colleagues: invite someone, or take someone's access away."""
    partner = _partner_admin_partner(request)
    if request.method == "POST":
        form = ColleagueInviteForm(request.POST)
        if form.is_valid():
            try:
                services.partner_colleague_invite(
                    partner=partner, acting_user=request.user, **form.cleaned_data
                )
            except ValidationError as refused:
                _add_errors(form, refused)
            else:
                messages.success(
                    request, _("%(email)s is invited and was emailed how to sign in.") % form.cleaned_data
                )
                return redirect("recruitment:team:list")
    else:
        form = ColleagueInviteForm()
    return render(
        request,
        "partners/team.html",
        {"partner": partner, "people": selectors.partner_people(partner), "form": form},
    )


@login_required
def team_deactivate(request, public_id):
    link = selectors.get_colleague_for_partner_admin(request.membership, public_id)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        services.partner_colleague_deactivate(link=link, acting_user=request.user)
    except ValidationError as refused:
        for message in refused.messages:
            messages.error(request, message)
    else:
        messages.success(
            request,
            _("%(name)s no longer has access; their sessions have ended.")
            % {"name": link.membership.user.get_full_name()},
        )
    return redirect("recruitment:team:list")


@login_required
def profile(request):
    """The partner admins keep their organisation's profile."""
    partner = _partner_admin_partner(request)
    current = PartnerProfile.objects.filter(partner=partner).prefetch_related("specialisations").first()
    if request.method == "POST":
        form = PartnerProfileForm(request.POST)
        if form.is_valid():
            services.partner_profile_update(partner=partner, acting_user=request.user, **form.cleaned_data)
            messages.success(request, _("The profile is saved."))
            return redirect("recruitment:profile:edit")
    else:
        initial = {}
        if current is not None:
            initial = {
                "description": current.description,
                "employee_count": current.employee_count,
                "phone": current.phone,
                "specialisations": list(current.specialisations.all()),
            }
        form = PartnerProfileForm(initial=initial)
    return render(request, "partners/profile.html", {"partner": partner, "profile": current, "form": form})
