from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IncentivesConfig(AppConfig):
    name = "incentives"
    verbose_name = _("Incentives and tiers")

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from incentives import receivers
        from prm import events
        from prm.models import ExchangeRate

        # After partners' receiver (INSTALLED_APPS order): the rules hang on the tiers it creates.
        events.tenant_created.connect(
            receivers.add_tenant_defaults, dispatch_uid="incentives.tenant_defaults"
        )
        events.deal_won.connect(receivers.on_deal_won, dispatch_uid="incentives.on_deal_won")
        post_save.connect(
            receivers.on_exchange_rate_saved, sender=ExchangeRate, dispatch_uid="incentives.exchange_rate"
        )
