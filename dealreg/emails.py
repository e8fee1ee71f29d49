"""One function per email of dealreg/. Each renders templates/dealreg/emails/<name>_subject.txt, _body.txt
and _body.html with the tenant's branding, in the tenant's language, and goes out through the email task."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from prm.emails import tenant_url
from prm.models import Membership, Role
from prm.tenancy import tenant_scope


def _send(name: str, *, to: list[str], tenant, context: dict) -> None:
    if not to:
        return
    context = {"tenant": tenant, **context}
    with translation.override(tenant.default_language or settings.LANGUAGE_CODE):
        subject = render_to_string(f"dealreg/emails/{name}_subject.txt", context).strip()
        text = render_to_string(f"dealreg/emails/{name}_body.txt", context)
        html = render_to_string(f"dealreg/emails/{name}_body.html", context)
    message = EmailMultiAlternatives(subject=f"[{tenant.name}] {subject}", body=text, to=to)
    message.attach_alternative(html, "text/html")
    message.send()


def _deal(deal_id: int):
    from dealreg.models import Deal

    return Deal.objects.select_related("partner", "registered_by").get(pk=deal_id)


def _deal_url(tenant, deal) -> str:
    return tenant_url(
        tenant, reverse("dealreg:detail", kwargs={"public_id": deal.public_id}, urlconf="prm.urls")
    )


def _registrant(deal) -> list[str]:
    return [deal.registered_by.email] if deal.registered_by and deal.registered_by.is_active else []


def deal_decided(*, tenant, deal_id: int) -> None:
    """Tell the partner person who registered a deal that it was approved or rejected, and why."""
    with tenant_scope(tenant):
        deal = _deal(deal_id)
        last = deal.events.order_by("-created_at", "-id").first()
        context = {"deal": deal, "reason": last.reason if last else "", "url": _deal_url(tenant, deal)}
        _send("deal_decided", to=_registrant(deal), tenant=tenant, context=context)


def deal_expiring(*, tenant, deal_id: int) -> None:
    """Warn the registrant that a deal's protection ends soon, and that they may ask for an extension."""
    with tenant_scope(tenant):
        deal = _deal(deal_id)
        _send(
            "deal_expiring",
            to=_registrant(deal),
            tenant=tenant,
            context={"deal": deal, "url": _deal_url(tenant, deal)},
        )


def deal_expired(*, tenant, deal_id: int) -> None:
    """Tell the registrant that a deal's protection has ended."""
    with tenant_scope(tenant):
        deal = _deal(deal_id)
        _send(
            "deal_expired",
            to=_registrant(deal),
            tenant=tenant,
            context={"deal": deal, "url": _deal_url(tenant, deal)},
        )


def extension_decided(*, tenant, deal_id: int, extension) -> None:
    """Tell the person who asked for an extension whether it was granted."""
    with tenant_scope(tenant):
        deal = _deal(deal_id)
        extension.refresh_from_db()
        to = [extension.requested_by.email] if extension.requested_by else []
        context = {"deal": deal, "extension": extension, "url": _deal_url(tenant, deal)}
        _send("extension_decided", to=to, tenant=tenant, context=context)


def sla_breached(*, tenant, deal_ids: list[int]) -> None:
    """Escalate registrations past their approval SLA to the tenant admins."""
    from dealreg.models import Deal

    with tenant_scope(tenant):
        deals = list(Deal.objects.filter(pk__in=deal_ids).select_related("partner").by_sla())
        admins = list(
            Membership.objects.active().filter(role=Role.TENANT_ADMIN).values_list("user__email", flat=True)
        )
        queue = tenant_url(tenant, reverse("dealreg:queue", urlconf="prm.urls"))
        _send("sla_breached", to=admins, tenant=tenant, context={"deals": deals, "url": queue})
