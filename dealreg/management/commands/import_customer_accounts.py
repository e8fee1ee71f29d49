"""Import a tenant's customer accounts from a CSV file (for example an export of the CRM's accounts)."""

from __future__ import annotations

import csv

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from dealreg import services
from dealreg.models import AccountSource
from prm.models import Tenant
from prm.tenancy import tenant_scope

TRUE_VALUES = {"1", "true", "yes", "y", "x"}


class Command(BaseCommand):
    help = (
        "Import customer accounts into a tenant from a CSV file with a header row: name (required), and "
        "optionally domain, country, crm_id, open_opportunity (yes/no). An account with the same domain "
        "(else the same name) is updated. Every row is checked first; one bad row imports nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("csv_path", help="The CSV file.")
        parser.add_argument("--tenant", metavar="SLUG", required=True, help="The tenant to import into.")
        parser.add_argument("--source", choices=AccountSource.values, default=AccountSource.IMPORT)

    def handle(self, *args, csv_path, tenant, source, **options):
        found = Tenant.objects.filter(slug=tenant).first()
        if found is None:
            raise CommandError(f"No tenant with the slug {tenant!r}.")
        try:
            with open(csv_path, newline="", encoding="utf-8-sig") as handle:
                rows = list(csv.DictReader(handle))
        except OSError as failure:
            raise CommandError(f"Cannot read {csv_path}: {failure}") from failure
        except UnicodeDecodeError as failure:
            raise CommandError(f"{csv_path} is not UTF-8 text.") from failure
        if rows and "name" not in rows[0]:
            raise CommandError("The CSV file needs a header row with a 'name' column.")
        created = updated = 0
        errors: list[str] = []
        with tenant_scope(found):
            try:
                with transaction.atomic():
                    for line, row in enumerate(rows, start=2):
                        try:
                            with transaction.atomic():
                                _account, was_created = services.customer_account_upsert(
                                    name=(row.get("name") or "").strip(),
                                    domain=(row.get("domain") or "").strip(),
                                    country=(row.get("country") or "").strip()[:2],
                                    crm_id=(row.get("crm_id") or "").strip(),
                                    has_open_opportunity=(row.get("open_opportunity") or "").strip().lower()
                                    in TRUE_VALUES,
                                    source=source,
                                    acting_user=None,
                                )
                        except ValidationError as invalid:
                            messages = "; ".join(
                                f"{k}: {' '.join(v)}" for k, v in invalid.message_dict.items()
                            )
                            errors.append(f"line {line}: {messages}")
                            continue
                        created += was_created
                        updated += not was_created
                    if errors:
                        raise _Rollback
            except _Rollback:
                for error in errors:
                    self.stderr.write(error)
                raise CommandError(f"{len(errors)} bad row(s); nothing was imported.") from None
        self.stdout.write(f"{found.slug}: {created} customer account(s) created, {updated} updated.")


class _Rollback(Exception):
    pass
