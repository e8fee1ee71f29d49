"""Pages of dealreg/: partners register and follow their deals; channel managers work the approval queue.

Every deal is loaded through selectors.get_deal_for_member, which answers 404 for another tenant's deal, for
another partner's and, for a partner user, for a colleague's."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from dealreg import selectors, services
from dealreg.filters import DealFilter, PipelineFilter, QueueFilter, StaffDealFilter
from dealreg.forms import (
    CloseForm,
    ConflictCheckForm,
    DealForm,
    DecisionForm,
    ExtensionDecisionForm,
    ExtensionForm,
)
from dealreg.models import (
    Deal,
    DealAttachment,
    DealRegSettings,
    DealStatus,
    ExtensionRequest,
    ExtensionStatus,
)
from dealreg.tables import DealTable, PipelineTable, QueueTable
from partners.selectors import partner_for_member
from prm.tables import FilteredTableView


def _staff(request) -> bool:
    return request.membership is not None and request.membership.is_staff_role


def _partner_or_404(request):
    partner = partner_for_member(request.membership)
    if partner is None:
        raise Http404
    return partner


class DealList(LoginRequiredMixin, FilteredTableView):
    """Partner people see their deals (partner admins all of their partner's); staff see every deal."""

    table_class = DealTable
    template_name = "dealreg/deal_list.html"
    export_name = "deals"

    def get_filterset_class(self):
        return StaffDealFilter if _staff(self.request) else DealFilter

    def get_queryset(self):
        return selectors.deals_visible_to(self.request.membership)

    def get_table_kwargs(self):
        kwargs = super().get_table_kwargs()
        if not _staff(self.request):
            kwargs["exclude"] = ("partner",)
        return kwargs


deal_list = DealList.as_view()


class ApprovalQueue(LoginRequiredMixin, FilteredTableView):
    """Submitted registrations for channel managers, the oldest SLA deadline first, with a CSV export."""

    table_class = QueueTable
    filterset_class = QueueFilter
    template_name = "dealreg/deal_queue.html"
    export_name = "deal-queue"

    def get(self, request, *args, **kwargs):
        if not _staff(request):
            raise Http404
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        return Deal.objects.for_lists().filter(status=DealStatus.SUBMITTED).by_sla()


approval_queue = ApprovalQueue.as_view()


class Pipeline(LoginRequiredMixin, FilteredTableView):
    """Registrations per partner, for channel managers."""

    table_class = PipelineTable
    filterset_class = PipelineFilter
    template_name = "dealreg/deal_pipeline.html"
    export_name = "deal-pipeline"

    def get(self, request, *args, **kwargs):
        if not _staff(request):
            raise Http404
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        return selectors.pipeline_by_partner()


pipeline = Pipeline.as_view()


@login_required
def deal_register(request):
    """The registration form, for partner people."""
    partner = _partner_or_404(request)
    settings = DealRegSettings.current()
    form = DealForm(request.POST or None, request.FILES or None, settings=settings, tenant=request.tenant)
    if request.method == "POST" and form.is_valid():
        try:
            deal = services.deal_register(
                partner=partner,
                data=form.deal_input(),
                acting_user=request.user,
                submission_key=form.cleaned_data["submission_key"],
            )
        except ValidationError as invalid:
            for field, errors in invalid.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            if deal.status == DealStatus.APPROVED:
                messages.success(request, _("Your deal is registered and approved."))
            elif deal.has_conflict:
                messages.warning(
                    request, _("Your deal is registered. Possible conflict: the channel team will review it.")
                )
            else:
                messages.success(request, _("Your deal is registered. The channel team will review it."))
            return redirect(deal)
    return render(request, "dealreg/deal_form.html", {"form": form, "partner": partner})


@login_required
def conflict_check(request):
    """The live conflict hint as a partner types (htmx): whether there may be a conflict, never with whom."""
    partner = _partner_or_404(request)
    form = ConflictCheckForm(request.GET)
    conflict = False
    checked = False
    if form.is_valid() and (
        form.cleaned_data["customer_name"].strip() or form.cleaned_data["customer_domain"].strip()
    ):
        checked = True
        conflict = bool(
            selectors.conflict_matches(
                name=form.cleaned_data["customer_name"],
                domain=form.cleaned_data["customer_domain"],
                partner=partner,
            )
        )
    return render(request, "dealreg/_conflict_check.html", {"conflict": conflict, "checked": checked})


@login_required
def deal_detail(request, public_id):
    deal = selectors.get_deal_for_member(request.membership, public_id)
    staff = _staff(request)
    context = {
        "deal": deal,
        "staff": staff,
        "history": selectors.deal_history(deal),
        "extensions": deal.extensions.select_related("requested_by", "decided_by"),
        "attachments": deal.attachments.all(),
    }
    if staff:
        context["conflicts"] = selectors.deal_conflicts(deal)
        context["decision_form"] = DecisionForm()
        context["extension_decision_form"] = ExtensionDecisionForm()
    if deal.status == DealStatus.APPROVED:
        context["close_form"] = CloseForm()
        if not staff:
            context["extension_form"] = ExtensionForm()
    return render(request, "dealreg/deal_detail.html", context)


def _post_only(request):
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    return None


@login_required
def deal_decide(request, public_id):
    """A channel manager approves or rejects a submitted registration (POST)."""
    deal = selectors.get_deal_for_member(request.membership, public_id)
    if not _staff(request):
        raise Http404
    if refused := _post_only(request):
        return refused
    form = DecisionForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            messages.error(request, " ".join(errors))
        return redirect(deal)
    try:
        if form.cleaned_data["decision"] == "approve":
            services.deal_approve(deal=deal, acting_user=request.user, reason=form.cleaned_data["reason"])
            messages.success(request, _("The registration is approved."))
        else:
            services.deal_reject(deal=deal, acting_user=request.user, reason=form.cleaned_data["reason"])
            messages.success(request, _("The registration is rejected."))
    except services.DealTransitionError as refused:
        messages.error(request, str(refused))
    next_url = request.POST.get("next")
    if next_url == "queue":
        return redirect("dealreg:queue")
    return redirect(deal)


@login_required
def deal_close(request, public_id):
    """Mark an approved deal won or lost (POST): the partner's people who see it, or staff."""
    deal = selectors.get_deal_for_member(request.membership, public_id)
    if refused := _post_only(request):
        return refused
    form = CloseForm(request.POST)
    if form.is_valid():
        try:
            services.deal_close(
                deal=deal,
                won=form.cleaned_data["outcome"] == "won",
                acting_user=request.user,
                reason=form.cleaned_data["reason"],
            )
            messages.success(request, _("The deal is closed."))
        except services.DealTransitionError as refused_transition:
            messages.error(request, str(refused_transition))
    return redirect(deal)


@login_required
def deal_extend(request, public_id):
    """A partner person asks for a longer protection of an approved deal (POST)."""
    deal = selectors.get_deal_for_member(request.membership, public_id)
    if _staff(request):
        raise Http404
    if refused := _post_only(request):
        return refused
    form = ExtensionForm(request.POST)
    if form.is_valid():
        try:
            services.extension_request(
                deal=deal,
                days=form.cleaned_data["days"],
                reason=form.cleaned_data["reason"],
                acting_user=request.user,
            )
            messages.success(request, _("Your extension request is sent to the channel team."))
        except ValidationError as invalid:
            messages.error(request, " ".join(invalid.messages))
    else:
        messages.error(request, _("Say how many days and why."))
    return redirect(deal)


@login_required
def extension_decide(request, public_id):
    """A channel manager grants or refuses an extension request (POST)."""
    if not _staff(request):
        raise Http404
    extension = ExtensionRequest.objects.select_related("deal").filter(public_id=public_id).first()
    if extension is None:
        raise Http404
    if refused := _post_only(request):
        return refused
    form = ExtensionDecisionForm(request.POST)
    if form.is_valid() and extension.status == ExtensionStatus.REQUESTED:
        try:
            services.extension_decide(
                extension=extension,
                grant=form.cleaned_data["decision"] == "grant",
                acting_user=request.user,
                reason=form.cleaned_data["reason"],
            )
            messages.success(request, _("The extension request is decided."))
        except services.DealTransitionError as refused_transition:
            messages.error(request, str(refused_transition))
    return redirect(extension.deal)


@login_required
def attachment_download(request, public_id):
    """A registration's file, to the people who may see the deal; 404 for everyone else."""
    attachment = DealAttachment.objects.select_related("deal").filter(public_id=public_id).first()
    if attachment is None:
        raise Http404
    selectors.get_deal_for_member(request.membership, attachment.deal.public_id)
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError as missing:
        raise Http404 from missing
    response = FileResponse(handle, as_attachment=True, filename=attachment.name)
    # Never rendered in the portal's origin, whatever a browser makes of the bytes.
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response
