"""manage.py crm_verify --tenant SLUG [--object KEY] [--fix]: compare the mirrored records with the CRM."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, no_translations

from crm_sync import registry, verify
from crm_sync.management.commands.crm_status import tenants_for
from crm_sync.models import CRMConnection
from prm.tenancy import tenant_scope


class Command(BaseCommand):
    help = (
        "Compare every mirrored record of a tenant with its CRM, field by field; print the drift by object "
        "and field with examples, and exit non-zero when there is any. --fix re-sends portal-owned drift, "
        "applies CRM-owned drift and deletes CRM records no portal record has."
    )

    def add_arguments(self, parser):
        parser.add_argument("--tenant", metavar="SLUG", required=True, help="The tenant to verify.")
        parser.add_argument(
            "--object", metavar="KEY", help="Only this mirrored object, such as dealreg.deal."
        )
        parser.add_argument("--fix", action="store_true", help="Repair the drift found.")

    @no_translations
    def handle(self, *args, tenant, object=None, fix=False, **options):  # noqa: A002
        (current,) = tenants_for(tenant)
        if object is not None:
            try:
                registry.get(object)
            except KeyError:
                valid = ", ".join(m.key for m in registry.mirrors())
                raise CommandError(f"Unknown object {object!r}. Mirrored objects: {valid}.") from None
        with tenant_scope(current):
            if not CRMConnection.objects.exists():
                raise CommandError(f"Tenant {current.slug} has no CRM connection; set one up first.")
        report = verify.verify(tenant=current, object_key=object, fix=fix)
        if report.error:
            raise CommandError(f"Could not read the CRM: {report.error}")
        for line in verify.drift_lines(report):
            self.stdout.write(line)
        in_flight = f", {report.in_flight:,} in flight (not yet sent)" if report.in_flight else ""
        self.stdout.write(f"{current.slug}: {report.checked:,} records compared{in_flight}.")
        if fix:
            self.stdout.write(
                f"Fixed: {report.fixed_sent:,} queued for the CRM, {report.fixed_applied:,} applied from it"
                + (f", {report.fixed_deleted:,} deleted from the CRM" if report.fixed_deleted else "")
                + (f", {report.refused:,} refused (see the sync-status page)" if report.refused else "")
                + "."
            )
        if report.drift:
            raise CommandError(f"Drift: {len(report.drift):,} differing values.", returncode=1)
        self.stdout.write(self.style.SUCCESS("No drift."))
