"""manage.py seed_demo: the demo tenants, partners and people (prm/demo.py), then the logins to try."""

from __future__ import annotations

import json
import os
from itertools import groupby

from django.core.management.base import BaseCommand, CommandError, no_translations
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
        # `./run demo` starts the CRM emulator and hands its address and the tenants' clients over here.
        parser.add_argument(
            "--crm-url",
            default=os.environ.get("PRM_DEMO_CRM_URL", ""),
            help="URL of the demo's CRM emulator (default: $PRM_DEMO_CRM_URL).",
        )
        parser.add_argument(
            "--crm-ca",
            default=os.environ.get("PRM_DEMO_CRM_CA", ""),
            help="The emulator's CA certificate (default: $PRM_DEMO_CRM_CA).",
        )
        parser.add_argument(
            "--crm-clients",
            default=os.environ.get("PRM_DEMO_CRM_CLIENTS", ""),
            help=(
                'Each tenant\'s connected app in the emulator, as JSON {"acme": ["client id", "secret"]}, '
                'or with the tenant\'s own emulator: ["client id", "secret", "url", "CA file"] '
                "(default: $PRM_DEMO_CRM_CLIENTS)."
            ),
        )

    @no_translations
    def handle(self, *args, password, crm_url, crm_ca, crm_clients, **options):
        crm = self.demo_crm(crm_url, crm_ca, crm_clients)
        # Demo people get a password and a verified address instead of an invitation: no email leaves.
        with transaction.atomic():
            logins = [demo.seed_platform_admin(password=password)]
        for spec in demo.TENANTS:
            with transaction.atomic():
                seeded = demo.seed_tenant(spec)
                with tenant_scope(seeded.tenant):
                    demo.seed_program(spec, seeded, password=password)
                    demo.seed_recruitment(spec, seeded)
                    demo.seed_onboarding(spec, seeded)
                    crm_outcome = demo.seed_crm_connection(seeded.tenant, crm) if crm else None
            logins += seeded.logins
            self.stdout.write(self.summary(seeded))
            if crm_outcome:
                url = crm.address(spec.slug)[0]
                self.stdout.write(f"  CRM connection to {url}: {self.CRM_OUTCOMES[crm_outcome]}")
        if crm is None:
            self.stdout.write("No CRM emulator given (PRM_DEMO_CRM_URL is unset): no CRM connections made.")
        self.print_logins(logins, password)

    CRM_OUTCOMES = {
        "created": "created",
        "updated": "updated to the emulator's current address",
        "unchanged": "already set",
        "kept": "kept as it is: it points at another CRM",
    }

    def demo_crm(self, url: str, ca_path: str, clients: str) -> demo.DemoCRM | None:
        if not url:
            return None
        if not clients:
            raise CommandError("--crm-url needs --crm-clients (PRM_DEMO_CRM_CLIENTS) as well")
        try:
            entries = json.loads(clients)
            parsed = {slug: (entry[0], entry[1]) for slug, entry in entries.items()}
            orgs = {slug: (entry[2], entry[3]) for slug, entry in entries.items() if len(entry) >= 4}
        except (ValueError, AttributeError, IndexError, TypeError, KeyError) as bad:
            raise CommandError(
                "--crm-clients is not JSON like {slug: [id, secret]} or {slug: [id, secret, url, ca]}: "
                f"{bad}"
            ) from bad
        missing = [spec.slug for spec in demo.TENANTS if spec.slug not in parsed]
        if missing:
            raise CommandError(f"--crm-clients has no connected app for: {', '.join(missing)}")
        return demo.DemoCRM(url=url, ca_path=ca_path, clients=parsed, orgs=orgs)

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
