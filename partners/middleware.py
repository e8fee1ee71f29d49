"""The agreement gate: a partner's people see nothing beyond the agreement page until its partner admin
has accepted the current program agreement (when the program has one for the partner's type)."""

from __future__ import annotations

from django.shortcuts import redirect
from django.urls import reverse

from partners import selectors


class AgreementGateMiddleware:
    # Signing in and out, account settings, static files, language and branding stay open; the admin is
    # closed to partner people anyway (a 404), so the gate need not stand in front of it.
    open_prefixes = ("/accounts/", "/static/", "/healthz", "/i18n/", "/branding/", "/admin/")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        membership = getattr(request, "membership", None)
        if membership is not None and membership.is_partner_role:
            gate = reverse("recruitment:agreement")
            path = request.path_info
            if path != gate and not path.startswith(self.open_prefixes):
                partner = selectors.partner_for_member(membership)
                if partner is not None and selectors.agreement_pending(partner) is not None:
                    return redirect(gate)
        return self.get_response(request)
