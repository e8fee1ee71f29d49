from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class CrmSyncConfig(AppConfig):
    name = "crm_sync"

    def ready(self) -> None:
        # Each app declares what it mirrors in its crm.py (crm_sync.registry.mirror).
        autodiscover_modules("crm")
