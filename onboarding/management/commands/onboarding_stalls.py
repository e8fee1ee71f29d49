"""manage.py onboarding_stalls --tenant SLUG: run stall detection for one tenant now, and say what it did."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from onboarding import services
from prm.models import Tenant
from prm.tenancy import tenant_scope


class Command(BaseCommand):
    help = (
        "Flag the tenant's partners that stall in onboarding (overdue tasks or no progress for the tenant's "
        "number of days), clear the flag of those who recovered, and email the channel managers their "
        "digests."
    )

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="Slug of the tenant.")
        parser.add_argument(
            "--no-email", action="store_true", help="Flag and clear only; send no digest to the managers."
        )

    def handle(self, *args, tenant: str, no_email: bool, **options):
        found = Tenant.objects.filter(slug=tenant).first()
        if found is None:
            raise CommandError(f"No tenant with the slug {tenant!r}.")
        with tenant_scope(found):
            report = services.onboarding_detect_stalls(tenant=found, notify=not no_email)
            for partner in report.flagged:
                marker = "new" if partner in report.newly_flagged else "still"
                self.stdout.write(f"stalled ({marker}): {partner.name}: {partner.stall_reason}")
            for partner in report.cleared:
                self.stdout.write(f"recovered: {partner.name}")
            for email, partners in report.digests.items():
                verb = "would get" if no_email else "emailed"
                self.stdout.write(f"{email} {verb} a digest of {len(partners)} partner(s)")
        self.stdout.write(
            self.style.SUCCESS(
                f"{found.name}: {len(report.flagged)} stalled, {len(report.newly_flagged)} newly, "
                f"{len(report.cleared)} recovered."
            )
        )
