from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

from partners import selectors
from partners.models import Stage


@login_required
def partner_list(request):
    """Staff see the partner directory; partner people go straight to their own organisation."""
    membership = request.membership
    if not membership.is_staff_role:
        partner = selectors.partner_for_member(membership)
        if partner is None:
            return render(request, "partners/partner_none.html")
        return redirect("partners:detail", slug=partner.slug)
    partners = selectors.partners_visible_to(membership).order_by("name")
    # ?stage= narrows the directory (the dashboard's stage cards link here); an unknown value is ignored.
    stage = request.GET.get("stage", "")
    if stage in Stage.values:
        partners = partners.filter(stage=stage)
    else:
        stage = ""
    context = {
        "partners": partners,
        "stage": stage,
        "stage_label": Stage(stage).label if stage else "",
        "stages": Stage.choices,
    }
    return render(request, "partners/partner_list.html", context)


@login_required
def partner_detail(request, slug: str):
    partner = selectors.get_partner_for_member(request.membership, slug)
    people = selectors.partner_people(partner)
    return render(request, "partners/partner_detail.html", {"partner": partner, "people": people})
