"""manage.py crm_rotate_keys: re-encrypt every stored CRM secret with the newest key."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from crm_sync import crypto
from crm_sync.models import CRMConnection
from prm.models import Tenant
from prm.tenancy import tenant_scope

SECRET_COLUMNS = ("client_secret_encrypted", "password_encrypted")


class Command(BaseCommand):
    help = (
        "Re-encrypt every tenant's stored CRM credentials with the newest key of PRM_CRM_ENCRYPTION_KEYS. "
        "Put the new key first, run this, then remove the old key. All or nothing: one transaction."
    )

    def handle(self, *args, **options):
        rotated = 0
        # One transaction for every tenant: a secret no key decrypts leaves every row as it was.
        with transaction.atomic():
            for tenant in Tenant.objects.order_by("slug"):
                with tenant_scope(tenant):
                    for connection in CRMConnection.objects.select_for_update():
                        try:
                            for column in SECRET_COLUMNS:
                                setattr(connection, column, crypto.rotate(getattr(connection, column)))
                        except crypto.UndecryptableSecret as unreadable:
                            raise CommandError(
                                f"Tenant {tenant.slug}: no key in PRM_CRM_ENCRYPTION_KEYS decrypts its CRM "
                                "credentials. Add the key they were encrypted with (after the new one) and "
                                "run this again, or enter the credentials anew. Nothing was changed."
                            ) from unreadable
                        connection.save(update_fields=[*SECRET_COLUMNS, "updated_at"])
                        rotated += 1
                        self.stdout.write(f"{tenant.slug}: CRM credentials re-encrypted with the newest key")
        self.stdout.write(self.style.SUCCESS(f"Done: {rotated} CRM connection(s) re-encrypted."))
