"""manage.py seed_demo: the demo tenants, partners and people (prm/demo.py), then the logins to try."""

from __future__ import annotations

from itertools import groupby

from django.core.management.base import BaseCommand, no_translations
from django.db import transaction

from prm import demo
from prm.tenancy import tenant_scope


class Command(BaseCommand):
    help = (
        "Create the demo: tenants acme and globex with their partner programs, six logins each, and a "
        "platform superuser. Safe to run again: it adds only what is missing and sets the passwords."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--password",
            default=demo.DEFAULT_PASSWORD,
            help=f"Password of every demo login (default: {demo.DEFAULT_PASSWORD}).",
        )

    @no_translations
    def handle(self, *args, password, **options):
        # Demo people get a password and a verified address instead of an invitation: no email leaves.
        with transaction.atomic():
            logins = [demo.seed_platform_admin(password=password)]
        for spec in demo.TENANTS:
            with transaction.atomic():
                seeded = demo.seed_tenant(spec)
                with tenant_scope(seeded.tenant):
                    demo.seed_program(spec, seeded, password=password)
            logins += seeded.logins
            self.stdout.write(self.summary(seeded))
        self.print_logins(logins, password)

    def summary(self, seeded: demo.Seeded) -> str:
        tenant = seeded.tenant
        if not (seeded.tenant_created or seeded.partners_created or seeded.people_created):
            return f"{tenant.name} ({tenant.primary_domain}): already seeded, nothing to add."
        action = "created" if seeded.tenant_created else "completed"
        return (
            f"{tenant.name} ({tenant.primary_domain}): {action}, with {seeded.partners_created} new partners "
            f"and {seeded.people_created} new people."
        )

    def print_logins(self, logins: list[demo.Login], password: str) -> None:
        email_width = max(len(login.email) for login in logins)
        role_width = max(len(login.role) for login in logins)
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"Demo logins. Password for all of them: {password}"))
        for (url, site), group in groupby(logins, key=lambda login: (login.url, login.site)):
            self.stdout.write("")
            self.stdout.write(self.style.MIGRATE_HEADING(f"{url}  ({site})"))
            for login in group:
                row = f"  {login.email:<{email_width}}  {login.role:<{role_width}}  {login.partner}"
                self.stdout.write(row.rstrip())
