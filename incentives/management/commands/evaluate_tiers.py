"""manage.py evaluate_tiers [--tenant SLUG]: evaluate every partner against the tier rules now (all active
tenants, or one), store the results with their numbers, and say what is recommended. Moves nobody."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from incentives import services
from prm.models import Tenant
from prm.tenancy import tenant_scope


class Command(BaseCommand):
    help = (
        "Evaluate every partner against its program's tier rules, set-based, and store the results. "
        "Upgrades and downgrades (after the grace period) become recommendations; nobody is moved."
    )

    def add_arguments(self, parser):
        parser.add_argument("--tenant", help="Slug of one tenant (default: every active tenant).")

    def handle(self, *args, tenant: str | None = None, **options):
        if tenant is not None:
            found = Tenant.objects.filter(slug=tenant).first()
            if found is None:
                raise CommandError(f"No tenant with the slug {tenant!r}.")
            tenants = [found]
        else:
            tenants = list(Tenant.objects.filter(is_active=True).order_by("slug"))
        for each in tenants:
            started = time.perf_counter()
            with tenant_scope(each):
                summary = services.tiers_evaluate()
            seconds = time.perf_counter() - started
            self.stdout.write(
                f"{each.name}: {summary.partners} partners evaluated in {seconds:.2f} s; "
                f"{summary.upgrades} upgrades and {summary.downgrades} downgrades recommended, "
                f"{summary.in_grace} below their tier within the grace period."
            )
            if summary.left_out_deals:
                self.stdout.write(
                    f"  {summary.left_out_deals} won deals left out of the revenue: "
                    "their currency has no exchange rate."
                )
