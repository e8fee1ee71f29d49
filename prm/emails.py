"""One function per email the core sends. Each renders templates/emails/<name>_subject.txt, _body.txt and
_body.html with the tenant's branding, and goes out through the email task."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation


def tenant_url(tenant, path: str) -> str:
    scheme = "https" if settings.SESSION_COOKIE_SECURE else "http"
    port = settings.PRM_PUBLIC_PORT
    host = tenant.primary_domain + (f":{port}" if port else "")
    return f"{scheme}://{host}{path}"


def send(name: str, *, to: list[str], tenant, context: dict) -> None:
    context = {"tenant": tenant, **context}
    with translation.override(tenant.default_language if tenant else settings.LANGUAGE_CODE):
        subject = render_to_string(f"emails/{name}_subject.txt", context).strip()
        text = render_to_string(f"emails/{name}_body.txt", context)
        html = render_to_string(f"emails/{name}_body.html", context)
    if tenant is not None:
        subject = f"[{tenant.name}] {subject}"
    message = EmailMultiAlternatives(subject=subject, body=text, to=to)
    message.attach_alternative(html, "text/html")
    message.send()


def invitation(*, membership_id: int, tenant, invited_by=None) -> None:
    """Tell a new member where their portal is and how to sign in: by emailed code, or with a new password."""
    from prm.models import Membership
    from prm.tenancy import tenant_scope

    with tenant_scope(tenant):
        membership = Membership.objects.select_related("user").get(pk=membership_id)
    send(
        "invitation",
        to=[membership.user.email],
        tenant=tenant,
        context={
            "membership": membership,
            "invited_by": invited_by,
            "login_url": tenant_url(tenant, reverse("account_request_login_code", urlconf="prm.urls")),
            "reset_url": tenant_url(tenant, reverse("account_reset_password", urlconf="prm.urls")),
        },
    )
