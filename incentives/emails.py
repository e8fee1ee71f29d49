"""One function per email of incentives/. Each renders templates/incentives/emails/<name>_subject.txt,
_body.txt and _body.html in the tenant's language, and goes out through the email task."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from partners.selectors import partner_people
from prm.emails import tenant_url
from prm.tenancy import tenant_scope


def _send(name: str, *, to: list[str], tenant, context: dict) -> None:
    if not to:
        return
    context = {"tenant": tenant, **context}
    with translation.override(tenant.default_language or settings.LANGUAGE_CODE):
        subject = render_to_string(f"incentives/emails/{name}_subject.txt", context).strip()
        text = render_to_string(f"incentives/emails/{name}_body.txt", context)
        html = render_to_string(f"incentives/emails/{name}_body.html", context)
    message = EmailMultiAlternatives(subject=f"[{tenant.name}] {subject}", body=text, to=to)
    message.attach_alternative(html, "text/html")
    message.send()


def _people(partner) -> list[str]:
    return [
        link.membership.user.email
        for link in partner_people(partner)
        if link.membership.is_active and link.membership.user.is_active
    ]


def _tier_url(tenant) -> str:
    return tenant_url(tenant, reverse("incentives:tier", urlconf="prm.urls"))


def tier_changed(*, tenant, change_id: int) -> None:
    """Tell a partner's people that their partner moved to another tier, why, and where the benefits are."""
    from incentives.models import TierChange

    with tenant_scope(tenant):
        change = TierChange.objects.select_related("partner", "from_tier", "to_tier").get(pk=change_id)
        context = {"change": change, "url": _tier_url(tenant)}
        _send("tier_changed", to=_people(change.partner), tenant=tenant, context=context)


def mdf_decided(*, tenant, request_id: int) -> None:
    """Tell the person who asked for funds that the request was approved (claim by when) or rejected."""
    from incentives.models import MdfRequest

    with tenant_scope(tenant):
        request = MdfRequest.objects.select_related("requested_by").get(pk=request_id)
        to = [request.requested_by.email] if request.requested_by and request.requested_by.is_active else []
        url = tenant_url(
            tenant,
            reverse("incentives:mdf_detail", kwargs={"public_id": request.public_id}, urlconf="prm.urls"),
        )
        _send("mdf_decided", to=to, tenant=tenant, context={"request": request, "url": url})


def mdf_claim_decided(*, tenant, request_id: int) -> None:
    """Tell the person who claimed that the claim was approved (paid through the ledger) or sent back."""
    from incentives.models import MdfRequest

    with tenant_scope(tenant):
        request = MdfRequest.objects.select_related("requested_by").get(pk=request_id)
        claim = request.claims.order_by("-submitted_at", "-id").select_related("submitted_by").first()
        person = claim.submitted_by if claim and claim.submitted_by else request.requested_by
        to = [person.email] if person and person.is_active else []
        url = tenant_url(
            tenant,
            reverse("incentives:mdf_detail", kwargs={"public_id": request.public_id}, urlconf="prm.urls"),
        )
        _send(
            "mdf_claim_decided",
            to=to,
            tenant=tenant,
            context={"request": request, "claim": claim, "url": url},
        )
