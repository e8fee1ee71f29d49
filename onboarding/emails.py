"""One function per email onboarding sends (templates/emails/<name>_subject.txt, _body.txt, _body.html)."""

from __future__ import annotations

from django.urls import reverse

from prm.emails import send, tenant_url


def stalled_partners_digest(*, tenant, to: str, partners) -> None:
    """Tell a channel manager which of their partners are stuck in onboarding, and why."""
    send(
        "stalled_partners_digest",
        to=[to],
        tenant=tenant,
        context={
            "partners": partners,
            "overview_url": tenant_url(tenant, reverse("onboarding:overview", urlconf="prm.urls")),
            "directory_url": tenant_url(
                tenant, reverse("partners:list", urlconf="prm.urls") + "?stalled=true"
            ),
        },
    )
