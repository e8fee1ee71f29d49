"""What incentives does when it hears of a lifecycle event: a new tenant gets default tier rules, a won deal
accrues its rebate, a new exchange rate accrues the rebates that waited for it. Event receivers enter the
event's tenant scope themselves and log rather than raise (the sender has committed already)."""

from __future__ import annotations

import logging

from django.db import transaction

from dealreg.models import Deal
from incentives import services
from prm.models import Tenant
from prm.tenancy import tenant_scope

logger = logging.getLogger("prm.incentives")


def add_tenant_defaults(sender, *, tenant, **kwargs) -> None:
    with tenant_scope(tenant):
        services.tier_rules_add_defaults()


def on_exchange_rate_saved(sender, *, instance, **kwargs) -> None:
    """A currency got a rate: the rebates that waited for it accrue (in the saving transaction and scope)."""
    with tenant_scope(instance.tenant):
        services.rebates_accrue_pending(currency=instance.currency)


def on_deal_won(sender, *, tenant_id, partner_id, deal_id, **kwargs) -> None:
    try:
        tenant = Tenant.objects.get(pk=tenant_id)
        with tenant_scope(tenant), transaction.atomic():
            deal = Deal.objects.filter(public_id=deal_id).first()
            if deal is None:
                logger.warning("incentives: deal_won for unknown deal %s", deal_id)
                return
            services.rebate_accrue(deal=deal)
    except Exception:
        logger.exception("incentives: rebate for deal %s failed", deal_id)
