from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IncentivesConfig(AppConfig):
    name = "incentives"
    verbose_name = _("Incentives and tiers")

    def ready(self) -> None:
        from incentives import receivers
        from prm import events

        # After partners' receiver (INSTALLED_APPS order): the rules hang on the tiers it creates.
        events.tenant_created.connect(
            receivers.add_tenant_defaults, dispatch_uid="incentives.tenant_defaults"
        )
        events.deal_won.connect(receivers.on_deal_won, dispatch_uid="incentives.on_deal_won")
