"""Pages of incentives/: a partner's tier (what is missing for the next one, the benefits, the history), its
rebates and MDF; the staff's view of any partner's tier and the program's recommendations.

Partners load through partners.selectors (404 for another tenant's or, for partner people, another
partner's); MDF requests and proofs through incentives.selectors' access helpers."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from incentives import selectors, services
from incentives.forms import ClaimForm, MdfRequestForm
from incentives.models import MdfStatus, Recommendation, TierEvaluation
from partners.selectors import get_partner_for_member, partner_for_member


def _staff(request) -> bool:
    return request.membership is not None and request.membership.is_staff_role


def _partner_or_404(request):
    partner = partner_for_member(request.membership)
    if partner is None:
        raise Http404
    return partner


def _tier_context(partner) -> dict:
    view = selectors.tier_view(partner)
    return {
        "partner": partner,
        "view": view,
        "ledger": list(selectors.ledger_of(partner)[:20]),
        "balance": selectors.ledger_balance(partner),
        "mdf_requests": list(selectors.mdf_requests_of(partner)[:20]),
        "budget": selectors.budget_for(partner, timezone.localdate()),
        "statements": list(selectors.statements_of(partner)[:12]),
    }


@login_required
def tier_page(request):
    """Partner people: their tier. Staff: the program's tiers and the open recommendations."""
    if _staff(request):
        recommended = (
            TierEvaluation.objects.exclude(recommendation=Recommendation.NONE)
            .select_related("partner__tier", "qualified_tier")
            .order_by("partner__name")
        )
        return render(
            request,
            "incentives/program.html",
            {
                "rules": selectors.rules_by_rank(),
                "recommended": recommended,
                "left_out": selectors.deals_left_out(),
            },
        )
    partner = _partner_or_404(request)
    return render(request, "incentives/tier.html", {**_tier_context(partner), "own": True})


@login_required
def partner_tier_page(request, slug):
    """One partner's tier page, for staff (and for the partner's own people)."""
    partner = get_partner_for_member(request.membership, slug)
    return render(request, "incentives/tier.html", {**_tier_context(partner), "own": not _staff(request)})


@login_required
def mdf_new(request):
    """A partner person asks for MDF for an activity."""
    if _staff(request):
        raise Http404
    partner = _partner_or_404(request)
    form = MdfRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            mdf = services.mdf_request_submit(
                partner=partner,
                title=data["title"],
                description=data["description"],
                amount=data["amount"],
                starts_on=data["starts_on"],
                ends_on=data["ends_on"],
                acting_user=request.user,
            )
        except ValidationError as refused:
            form.add_error("amount", refused)
        else:
            messages.success(request, _("Your MDF request is with the channel team."))
            return redirect("incentives:mdf_detail", public_id=mdf.public_id)
    budget = selectors.budget_for(partner, timezone.localdate())
    rule = selectors.current_rule(partner)
    return render(request, "incentives/mdf_form.html", {"form": form, "budget": budget, "rule": rule})


@login_required
def mdf_detail(request, public_id):
    """An MDF request with its claims; the partner claims an approved one here."""
    mdf = selectors.get_mdf_request_for_member(request.membership, public_id)
    claims = mdf.claims.prefetch_related("proofs").order_by("-submitted_at")
    can_claim = not _staff(request) and mdf.status == MdfStatus.APPROVED
    return render(
        request,
        "incentives/mdf_detail.html",
        {
            "mdf": mdf,
            "claims": claims,
            "claim_form": ClaimForm() if can_claim else None,
            "staff": _staff(request),
        },
    )


@login_required
def mdf_claim(request, public_id):
    """Claim an approved request with proofs (POST, partner people)."""
    mdf = selectors.get_mdf_request_for_member(request.membership, public_id)
    if _staff(request):
        raise Http404
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    form = ClaimForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.mdf_claim_submit(
                request=mdf,
                amount=form.cleaned_data["amount"],
                note=form.cleaned_data["note"],
                files=form.cleaned_data["proofs"],
                acting_user=request.user,
            )
        except ValidationError as refused:
            form.add_error(None, refused)
        else:
            messages.success(request, _("Your claim is with the channel team."))
            return redirect("incentives:mdf_detail", public_id=mdf.public_id)
    claims = mdf.claims.prefetch_related("proofs").order_by("-submitted_at")
    return render(
        request,
        "incentives/mdf_detail.html",
        {"mdf": mdf, "claims": claims, "claim_form": form, "staff": False},
        status=400,
    )


@login_required
def proof_download(request, public_id):
    """A claim's proof, for staff and the partner's own people; 404 for anyone else."""
    proof = selectors.get_proof_for_member(request.membership, public_id)
    try:
        handle = proof.file.open("rb")
    except FileNotFoundError as missing:
        raise Http404 from missing
    response = FileResponse(handle, as_attachment=True, filename=proof.name, content_type=proof.content_type)
    # Never rendered in the portal's origin, whatever a browser makes of the bytes.
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response
