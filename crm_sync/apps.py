from django.apps import AppConfig
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.utils.module_loading import autodiscover_modules
from django.utils.translation import gettext_lazy as _


def _wake_drain(sender, instance, **kwargs) -> None:
    """After the change commits, wake the tenant's CRM drain (the outbox row is written by a trigger)."""
    from crm_sync.tasks import crm_drain_wake

    tenant_id = instance.tenant_id
    transaction.on_commit(lambda: crm_drain_wake(tenant_id))


class CrmSyncConfig(AppConfig):
    name = "crm_sync"
    verbose_name = _("CRM sync")

    def ready(self) -> None:
        from crm_sync import registry

        # Each app declares what it mirrors in its crm.py (crm_sync.registry.mirror).
        autodiscover_modules("crm")
        for declared in registry.mirrors():
            post_save.connect(
                _wake_drain, sender=declared.model, dispatch_uid=f"crm-wake-save:{declared.key}"
            )
            post_delete.connect(
                _wake_drain, sender=declared.model, dispatch_uid=f"crm-wake-delete:{declared.key}"
            )
