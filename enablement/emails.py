"""One function per email enablement sends, rendered from templates/enablement/emails/<name>_*.txt/.html in
the tenant's language, and sent through the email task like the core's (prm.emails)."""

from __future__ import annotations

from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from prm.emails import tenant_url


def _send(name: str, *, to: list[str], tenant, context: dict) -> None:
    context = {"tenant": tenant, **context}
    with translation.override(tenant.default_language):
        subject = render_to_string(f"enablement/emails/{name}_subject.txt", context).strip()
        text = render_to_string(f"enablement/emails/{name}_body.txt", context)
        html = render_to_string(f"enablement/emails/{name}_body.html", context)
    message = EmailMultiAlternatives(subject=f"[{tenant.name}] {subject}", body=text, to=to)
    message.attach_alternative(html, "text/html")
    message.send()


def certification_expiring(*, award, days_left: int) -> None:
    """Tell a certified person their certificate expires soon, and where to renew it."""
    _send(
        "certification_expiring",
        to=[award.user.email],
        tenant=award.tenant,
        context={
            "award": award,
            "days_left": max(days_left, 0),
            "certificate_url": tenant_url(
                award.tenant,
                reverse("enablement:certificate", kwargs={"code": award.code}, urlconf="prm.urls"),
            ),
            "courses_url": tenant_url(award.tenant, reverse("enablement:courses", urlconf="prm.urls")),
        },
    )
