"""manage.py crm_resync --tenant SLUG [--object KEY] [--since DATE] [--async]: re-send mirrored records."""

from __future__ import annotations

import datetime

from django.core.management.base import BaseCommand, CommandError, no_translations
from django.db import connection as db
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from crm_sync import outbox, registry
from crm_sync.management.commands.crm_status import tenants_for
from crm_sync.models import CRMConnection, OutboxEntry, OutboxState
from prm.models import Tenant
from prm.tenancy import tenant_scope

SINCE_FIELDS = ("updated_at", "created_at")  # the first a model has is what --since compares with


def parse_since(value: str) -> datetime.datetime:
    """An aware datetime from YYYY-MM-DD or an ISO date-time (the current time zone when none given)."""
    try:
        parsed = parse_datetime(value)
        if parsed is None:
            day = parse_date(value)
            if day is not None:
                parsed = datetime.datetime.combine(day, datetime.time.min)
    except ValueError:
        parsed = None
    if parsed is None:
        raise CommandError(f"--since: {value!r} is not a date. Use YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS].")
    return timezone.make_aware(parsed) if timezone.is_naive(parsed) else parsed


def since_field(declared: registry.Mirror) -> str | None:
    names = {f.name for f in declared.model._meta.concrete_fields}
    return next((name for name in SINCE_FIELDS if name in names), None)


def queue(tenant: Tenant, declared: registry.Mirror, since: datetime.datetime | None) -> int:
    """Write (or refresh) a pending outbox row for each of the tenant's records of `declared`, in one
    INSERT ... SELECT through the triggers' ON CONFLICT target; the number of rows queued."""
    meta = declared.model._meta
    # Only the rows the mirror's condition lets through (a submitted deal is no Opportunity yet).
    where, params = ['"tenant_id" = %s', declared.row_condition(meta.db_table)], [declared.key, tenant.pk]
    if since is not None:
        where.append(f'"{meta.get_field(since_field(declared)).column}" >= %s')
        params.append(since)
    sql = f"""
        INSERT INTO "{registry.OUTBOX_TABLE}"
            (tenant_id, object_key, record_id, state, attempts, last_error, created_at, changed_at)
        SELECT "tenant_id", %s, "{meta.pk.column}", 'pending', 0, '', now(), now()
        FROM "{meta.db_table}" WHERE {" AND ".join(where)}
        ON CONFLICT (tenant_id, object_key, record_id) WHERE state = 'pending'
        DO UPDATE SET changed_at = now(), next_attempt_at = NULL
    """
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


class Command(BaseCommand):
    help = (
        "Re-send a tenant's mirrored records to its CRM: queue a pending outbox row for each (optionally "
        "only one object, or only records changed since a date), then send them, or leave that to a worker "
        "with --async."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--tenant", metavar="SLUG", required=True, help="The tenant whose records to send."
        )
        parser.add_argument(
            "--object", metavar="KEY", help="Only this mirrored object, such as partners.partner."
        )
        parser.add_argument(
            "--since", metavar="DATE", help="Only records changed (or created) since DATE, YYYY-MM-DD or ISO."
        )
        parser.add_argument(
            "--async", dest="run_async", action="store_true", help="Enqueue the drain for a worker instead."
        )

    @no_translations
    def handle(self, *args, tenant, object=None, since=None, run_async=False, **options):  # noqa: A002
        # Every check before anything is written.
        (current,) = tenants_for(tenant)
        if object is None:
            selected = registry.mirrors()
        else:
            try:
                selected = [registry.get(object)]
            except KeyError:
                valid = ", ".join(m.key for m in registry.mirrors())
                raise CommandError(f"Unknown object {object!r}. Mirrored objects: {valid}.") from None
        since_at = parse_since(since) if since is not None else None
        if since_at is not None:
            lacking = [m.key for m in selected if since_field(m) is None]
            if lacking:
                raise CommandError(
                    f"--since cannot be used for {', '.join(lacking)}: it has no updated_at or created_at "
                    "field. Leave out --since, or choose another --object."
                )
        with tenant_scope(current):
            connection = CRMConnection.objects.first()
        if connection is None:
            raise CommandError(f"Tenant {current.slug} has no CRM connection; set one up first.")
        if not connection.is_enabled:
            raise CommandError(f"Sync is disabled for tenant {current.slug}; enable it first.")

        queued: dict[str, int] = {}
        with tenant_scope(current), transaction.atomic():
            with db.cursor() as cursor:  # the transaction's now(): what the queued rows' changed_at is
                cursor.execute("SELECT now()")
                (marker,) = cursor.fetchone()
            for declared in selected:
                queued[declared.key] = queue(current, declared, since_at)
        for key, count in queued.items():
            self.stdout.write(f"{key}: {count:,} queued")
        if run_async:
            from crm_sync.tasks import crm_drain

            crm_drain.delay(current.pk)
            self.stdout.write(self.style.SUCCESS(f"Drain enqueued for {current.slug}."))
            return

        failed: set[str] = set()  # records failing in a job: their children wait for them
        for key, count in queued.items():
            if count > outbox.BULK_THRESHOLD:
                # Thousands of records: Bulk API 2.0 jobs of up to 10,000, instead of a call per 200.
                self.stdout.write(f"{key}: {count:,} records through Bulk API 2.0")
                result = outbox.outbox_bulk_send(tenant=current, object_key=key, failed=failed)
                self.progress(current, {key: count}, marker)
                if result.paused or result.halted:
                    self.stopped(current, connection, result)
        while True:
            result = outbox.outbox_drain(tenant=current, max_batches=5)
            self.progress(current, queued, marker)
            if result.paused or result.halted:
                self.stopped(current, connection, result)
            if not result.claimed:
                break
        self.stdout.write(self.style.SUCCESS("Done."))

    def stopped(self, tenant: Tenant, connection: CRMConnection, result: outbox.DrainResult):
        with tenant_scope(tenant):
            connection.refresh_from_db()
        why = connection.pause_reason if result.paused else connection.last_error
        raise CommandError(
            f"Sync {'paused' if result.paused else 'stopped'}: {why} The remaining rows stay pending "
            "and go out when the CRM is reachable again."
        )

    def progress(self, tenant: Tenant, queued: dict[str, int], marker: datetime.datetime) -> None:
        with tenant_scope(tenant):
            rows = (
                OutboxEntry.objects.filter(object_key__in=list(queued), changed_at__gte=marker)
                .values("object_key")
                .annotate(
                    sent=Count("id", filter=Q(state=OutboxState.SENT)),
                    dead=Count("id", filter=Q(state=OutboxState.DEAD)),
                    pending=Count("id", filter=Q(state=OutboxState.PENDING)),
                )
            )
            done = {row["object_key"]: row for row in rows}
        for key, total in queued.items():
            row = done.get(key, {"sent": 0, "dead": 0, "pending": 0})
            extra = f", {row['dead']:,} dead" if row["dead"] else ""
            extra += f", {row['pending']:,} pending" if row["pending"] else ""
            self.stdout.write(f"{key}: sent {min(row['sent'], total):,}/{total:,}{extra}")
