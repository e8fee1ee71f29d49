"""The emails of recruitment, one function each (templates/emails/application_*), sent through prm.emails."""

from __future__ import annotations

from django.urls import reverse

from prm.emails import send, tenant_url


def application_received(*, application) -> None:
    """Confirm to the applicant that their application arrived."""
    send(
        "application_received",
        to=[application.contact_email],
        tenant=application.tenant,
        context={"application": application},
    )


def application_approved(*, application, membership) -> None:
    """Tell the applicant they are in, and how to sign in: by emailed code or with a new password."""
    tenant = application.tenant
    send(
        "application_approved",
        to=[application.contact_email],
        tenant=tenant,
        context={
            "application": application,
            "membership": membership,
            "login_url": tenant_url(tenant, reverse("account_request_login_code", urlconf="prm.urls")),
            "reset_url": tenant_url(tenant, reverse("account_reset_password", urlconf="prm.urls")),
        },
    )


def application_rejected(*, application) -> None:
    """Tell the applicant the program declined, and why."""
    send(
        "application_rejected",
        to=[application.contact_email],
        tenant=application.tenant,
        context={"application": application},
    )
