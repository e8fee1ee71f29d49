"""manage.py crm_status [--tenant SLUG]: the CRM mirror's state per tenant and mirrored object."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, no_translations
from django.utils import timezone

from crm_sync.models import CRMConnection
from crm_sync.selectors import STATES, connection_of, is_paused, outbox_counts
from prm.models import Tenant


def age(delta) -> str:
    """A short human age: 45s, 12m, 3h, 2d."""
    seconds = max(int(delta.total_seconds()), 0)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def tenants_for(slug: str | None) -> list[Tenant]:
    """Every tenant by slug, or the one named; CommandError naming an unknown slug."""
    if slug is None:
        return list(Tenant.objects.order_by("slug"))
    tenant = Tenant.objects.filter(slug=slug).first()
    if tenant is None:
        known = ", ".join(Tenant.objects.order_by("slug").values_list("slug", flat=True)) or "none"
        raise CommandError(f"Unknown tenant {slug!r}. Known tenants: {known}.")
    return [tenant]


class Command(BaseCommand):
    help = (
        "Show the CRM mirror's state per tenant and mirrored object: pending, sending, sent and dead outbox "
        "rows, the oldest pending row's age, and the connection's last success, last error, pause and API "
        "usage."
    )

    def add_arguments(self, parser):
        parser.add_argument("--tenant", metavar="SLUG", help="Only this tenant.")

    @no_translations
    def handle(self, *args, tenant=None, **options):
        now = timezone.now()
        for current in tenants_for(tenant):
            connection = connection_of(current)
            self.stdout.write(self.style.MIGRATE_HEADING(f"{current.slug} ({current.name})"))
            self.stdout.write("  " + "\n  ".join(self.connection_lines(connection, now)))
            header = ("object", "pending", "sending", "sent", "dead", "oldest pending")
            table = [header]
            for row in outbox_counts(current):
                oldest = row["oldest_pending"]
                table.append(
                    (
                        row["object_key"],
                        *(f"{row[state.value]:,}" for state in STATES),
                        age(now - oldest) if oldest else "-",
                    )
                )
            widths = [max(len(line[n]) for line in table) for n in range(len(header))]
            for line in table:
                cells = [line[0].ljust(widths[0])] + [
                    c.rjust(w) for c, w in zip(line[1:], widths[1:], strict=True)
                ]
                self.stdout.write("  " + "  ".join(cells).rstrip())
            self.stdout.write("")

    @staticmethod
    def connection_lines(connection: CRMConnection | None, now) -> list[str]:
        if connection is None:
            return ["No CRM connection: nothing is sent until one is set up."]
        lines = [
            f"connection:   {connection.login_url} ({'enabled' if connection.is_enabled else 'DISABLED'})",
            "last success: "
            + (
                connection.last_success_at.isoformat(timespec="seconds")
                if connection.last_success_at
                else "never"
            ),
            f"last error:   {connection.last_error or '-'}",
        ]
        if is_paused(connection, now):
            until = connection.paused_until.isoformat(timespec="seconds")
            lines.append(f"paused until: {until} ({connection.pause_reason})")
        else:
            lines.append("paused:       no")
        if connection.api_limit:
            share = (connection.api_usage or 0) / connection.api_limit
            lines.append(
                f"API usage:    {connection.api_usage or 0:,}/{connection.api_limit:,} ({share:.0%})"
            )
        else:
            lines.append("API usage:    unknown")
        return lines
