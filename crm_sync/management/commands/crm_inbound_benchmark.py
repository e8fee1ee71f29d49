"""manage.py crm_inbound_benchmark [--records N] [--samples N] [--poll-interval S]: inbound figures."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, no_translations

from crm_sync import inbound_benchmark


class Command(BaseCommand):
    help = (
        "Measure the inbound CRM sync against a local emulator: records per second read back (first load) "
        "and applied (changes), and the latency from a CRM edit to the portal. Uses a throwaway tenant."
    )

    def add_arguments(self, parser):
        parser.add_argument("--records", type=int, default=5000, help="partners mirrored (default 5,000)")
        parser.add_argument("--samples", type=int, default=20, help="latency samples (default 20; 0: none)")
        parser.add_argument(
            "--poll-interval", type=int, default=15, help="the tenant's poll interval in seconds (default 15)"
        )

    @no_translations
    def handle(self, *args, records: int, samples: int, poll_interval: int, **options):
        if records < 1 or samples < 0 or poll_interval < 5:
            raise CommandError(
                "--records must be at least 1, --samples at least 0, --poll-interval at least 5."
            )
        try:
            figures = inbound_benchmark.run(
                records=records,
                samples=samples,
                poll_interval=poll_interval,
                say=lambda line: self.stderr.write(line),
            )
        except RuntimeError as failure:
            raise CommandError(str(failure)) from failure
        first = " (Bulk API 2.0 query)" if figures.first_load_bulk else ""
        changed = " (Bulk API 2.0 query)" if figures.changes_bulk else ""
        self.stdout.write(f"records:                   {figures.records:,}")
        self.stdout.write(
            f"first load:                {figures.first_load_seconds:.2f} s, "
            f"{figures.per_second(figures.first_load_seconds):,.0f} records/s{first}"
        )
        self.stdout.write(
            f"changes applied:           {figures.changes_seconds:.2f} s, "
            f"{figures.per_second(figures.changes_seconds):,.0f} records/s{changed}"
        )
        if figures.latencies:
            self.stdout.write(
                f"CRM-edit-to-portal latency: p50 {figures.percentile(0.5):.2f} s, "
                f"p95 {figures.percentile(0.95):.2f} s, max {max(figures.latencies):.2f} s "
                f"({len(figures.latencies)} samples, poll interval {figures.poll_interval} s)"
            )
