"""Scenarios for onboarding's tests, set up through the real services and events."""

from __future__ import annotations

from partners import services as partner_services
from partners.models import PartnerType, Region, Stage
from prm import events


def approved_partner(name: str = "Fabrikam Solutions", type_slug: str = "reseller"):
    """A partner just approved by the recruitment side (call inside the tenant's scope)."""
    return partner_services.partner_create(
        name=name,
        partner_type=PartnerType.objects.get(slug=type_slug),
        country="DE",
        region=Region.EMEA,
        website_domain=f"{name.split()[0].lower()}.example",
        stage=Stage.APPROVED,
        acting_user=None,
    )


def send(signal, partner, **kwargs):
    """Deliver a lifecycle event the way the sending app does after its commit."""
    signal.send(sender=None, tenant_id=partner.tenant_id, partner_id=partner.public_id, **kwargs)


def approve(partner):
    send(events.partner_approved, partner)
