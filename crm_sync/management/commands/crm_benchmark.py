"""manage.py crm_benchmark [--records N] [--samples N]: the outbound mirror's figures (crm_sync.benchmark)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, no_translations

from crm_sync import benchmark


class Command(BaseCommand):
    help = (
        "Measure the outbound CRM mirror against a local emulator: records per second, API calls per 1,000 "
        "records, and commit-to-CRM latency through a real worker. Uses a throwaway tenant, removed after."
    )

    def add_arguments(self, parser):
        parser.add_argument("--records", type=int, default=5000, help="partners drained (default 5,000)")
        parser.add_argument("--samples", type=int, default=30, help="latency samples (default 30; 0: none)")

    @no_translations
    def handle(self, *args, records: int, samples: int, **options):
        if records < 1 or samples < 0:
            raise CommandError("--records must be at least 1 and --samples at least 0.")
        try:
            figures = benchmark.run(
                records=records, samples=samples, say=lambda line: self.stderr.write(line)
            )
        except RuntimeError as failure:
            raise CommandError(str(failure)) from failure
        self.stdout.write(f"records drained:          {figures.records:,}")
        self.stdout.write(f"drain time:               {figures.drain_seconds:.2f} s")
        self.stdout.write(f"records per second:       {figures.records_per_second:,.0f}")
        per_thousand = f"{figures.calls_per_thousand:.1f} per 1,000 records"
        self.stdout.write(f"API calls:                {figures.api_calls} ({per_thousand})")
        if figures.latencies:
            self.stdout.write(
                f"commit-to-CRM latency:    p50 {figures.percentile(0.5) * 1000:.0f} ms, "
                f"p95 {figures.percentile(0.95) * 1000:.0f} ms, max {max(figures.latencies) * 1000:.0f} ms "
                f"({len(figures.latencies)} samples)"
            )
