"""manage.py tiers_benchmark [--partners N] [--deals N]: time evaluate_tiers on a large program
(incentives.benchmark)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, no_translations

from incentives import benchmark


class Command(BaseCommand):
    help = (
        "Time the tier evaluation on a throwaway tenant with many partners and won deals (bulk-inserted), "
        "print the time, and remove the tenant."
    )

    def add_arguments(self, parser):
        parser.add_argument("--partners", type=int, default=10_000, help="partners (default 10,000)")
        parser.add_argument("--deals", type=int, default=200_000, help="won deals (default 200,000)")

    @no_translations
    def handle(self, *args, partners: int, deals: int, **options):
        if partners < 1 or deals < 0:
            raise CommandError("--partners must be at least 1 and --deals at least 0.")
        try:
            figures = benchmark.run(partners=partners, deals=deals, say=lambda line: self.stderr.write(line))
        except RuntimeError as failure:
            raise CommandError(str(failure)) from failure
        summary = figures.summary
        self.stdout.write(f"partners evaluated:   {figures.partners:,}")
        self.stdout.write(f"won deals:            {figures.deals:,}")
        self.stdout.write(f"evaluation time:      {figures.seconds:.2f} s")
        self.stdout.write(
            f"recommended:          {summary.upgrades:,} upgrades, {summary.downgrades:,} downgrades "
            f"({summary.in_grace:,} below their tier, within the grace period)"
        )
        self.stdout.write(f"left out (no rate):   {summary.left_out_deals:,} won deals")
