from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.shortcuts import redirect, render

from partners import selectors
from partners.filters import PartnerFilter
from partners.tables import PartnerTable
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
    return render(request, "partners/partner_detail.html", {"partner": partner, "people": people})
