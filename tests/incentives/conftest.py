"""Helpers of incentives' tests: won deals the way a partner gets them (registered, approved, closed won)."""

from __future__ import annotations

from decimal import Decimal

from dealreg import services as deal_services
from incentives.models import TierRule
from partners.models import Tier
from tests.crm_sync.conftest import _fresh_org, emulator  # noqa: F401 - the CRM emulator fixtures
from tests.dealreg.conftest import post_form, register  # noqa: F401 - the form fixture


def win_deal(partner, user, manager, *, amount=Decimal("10000"), **overrides):
    """A deal of `partner` registered by `user`, approved and closed won by `manager`."""
    deal = register(partner, user, amount=amount, **overrides)
    deal = deal_services.deal_approve(deal=deal, acting_user=manager)
    return deal_services.deal_close(deal=deal, won=True, acting_user=manager)


def rule(slug: str) -> TierRule:
    return TierRule.objects.get(tier=Tier.objects.get(slug=slug))


def set_rule(slug: str, **values) -> TierRule:
    found = rule(slug)
    for key, value in values.items():
        setattr(found, key, value)
    found.save()
    return found
