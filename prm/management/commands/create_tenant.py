"""manage.py create_tenant SLUG NAME --admin-email EMAIL: a new tenant with its domain and first admin."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.management.base import BaseCommand, CommandError, no_translations
from django.core.validators import validate_email
from django.db import IntegrityError
from django.urls import reverse

from prm import services
from prm.emails import tenant_url


def describe(error: ValidationError) -> str:
    """One line per problem, each naming the argument it is about."""
    if not hasattr(error, "error_dict"):
        return " ".join(error.messages)
    lines = []
    for field, messages in error.message_dict.items():
        label = "" if field == NON_FIELD_ERRORS else f"{field.replace('_', ' ')}: "
        lines += [f"{label}{message}" for message in messages]
    return "\n".join(lines)


class Command(BaseCommand):
    help = (
        "Create a tenant with its domain, default partner types and tiers, and its first tenant admin, "
        "who is invited by email."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug", help="Short lowercase name, such as acme; also the default subdomain.")
        parser.add_argument("name", help="The vendor's display name, such as 'Acme Cloud'.")
        parser.add_argument(
            "--domain", help=f"Host name of the portal (default: <slug>.{settings.PRM_BASE_DOMAIN})."
        )
        parser.add_argument("--admin-email", required=True, help="Email address of the first tenant admin.")
        parser.add_argument("--admin-name", default="", help="Full name of the first tenant admin.")
        parser.add_argument("--no-invite", action="store_true", help="Do not email the admin an invitation.")

    @no_translations  # plain English, whatever language a request left active
    def handle(self, *args, slug, name, domain, admin_email, admin_name, no_invite, **options):
        admin_email = admin_email.strip()
        try:
            # tenant_create does not check the address itself: refuse a bad one before anything is written.
            validate_email(admin_email)
        except ValidationError as error:
            raise CommandError(f"admin email: {admin_email!r} is not valid. {describe(error)}") from error
        try:
            services.tenant_check_available(slug=slug, domain=domain)
            tenant = services.tenant_create(
                slug=slug,
                name=name,
                domain=domain,
                admin_email=admin_email,
                admin_name=admin_name,
                send_invitation=not no_invite,
            )
        except ValidationError as error:
            raise CommandError(describe(error)) from error
        except IntegrityError as error:
            # Another process took the slug, the domain or the admin's address between the check and the
            # insert. tenant_create is one transaction, so nothing of ours was written.
            detail = str(error).strip().splitlines()[-1].removeprefix("DETAIL:").strip()
            raise CommandError(
                f"A conflicting record was written by another process at the same moment: {detail} "
                "Nothing was created; run the command again."
            ) from error

        admin = admin_email.lower()  # as stored
        self.stdout.write(self.style.SUCCESS(f"Created tenant {tenant.name} ({tenant.slug})."))
        self.stdout.write(f"  URL:   {tenant_url(tenant, '/')}")
        if no_invite:
            code_login = tenant_url(tenant, reverse("account_request_login_code", urlconf="prm.urls"))
            self.stdout.write(f"  Admin: {admin} (not invited; they can sign in with an emailed code)")
            self.stdout.write(f"  Sign in: {code_login}")
        else:
            self.stdout.write(f"  Admin: {admin} (invitation emailed)")
