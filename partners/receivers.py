"""What partners/ does when the core announces something."""

from django.utils.translation import gettext as _

from partners.models import PartnerType, Tier

DEFAULT_PARTNER_TYPES = [
    ("reseller", _("Reseller")),
    ("msp", _("Managed service provider")),
    ("systems-integrator", _("Systems integrator")),
    ("referral", _("Referral partner")),
    ("technology", _("Technology partner")),
]
DEFAULT_TIERS = [
    ("registered", _("Registered"), 10),
    ("silver", _("Silver"), 20),
    ("gold", _("Gold"), 30),
    ("platinum", _("Platinum"), 40),
]


def add_tenant_defaults(sender, tenant, **kwargs) -> None:
    """A new tenant starts with the usual partner types and tiers, which its admins can rename or extend."""
    PartnerType.objects.bulk_create(
        [PartnerType(tenant=tenant, slug=s, name=n) for s, n in DEFAULT_PARTNER_TYPES]
    )
    Tier.objects.bulk_create([Tier(tenant=tenant, slug=s, name=n, rank=r) for s, n, r in DEFAULT_TIERS])
