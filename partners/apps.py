from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PartnersConfig(AppConfig):
    name = "partners"
    verbose_name = _("Partners")

    def ready(self) -> None:
        from partners import receivers
        from prm import events

        events.tenant_created.connect(receivers.add_tenant_defaults, dispatch_uid="partners.tenant_defaults")
