"""Writes of partners/."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify
from django.utils.translation import gettext as _

from partners.models import Partner, PartnerMembership, PartnerType, Stage, Tier
from prm import services as core_services
from prm.models import PARTNER_ROLES, Membership, Role, User


def _unique_slug(name: str) -> str:
    base = slugify(name)[:50] or "partner"
    slug, n = base, 2
    while Partner.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


@transaction.atomic
def partner_create(
    *,
    name: str,
    partner_type: PartnerType,
    country: str,
    region: str,
    website_domain: str = "",
    tier: Tier | None = None,
    stage: str = Stage.APPLIED,
    acting_user: User | None,
) -> Partner:
    """Create a partner organisation in the active tenant."""
    partner = Partner(
        name=name,
        slug=_unique_slug(name),
        partner_type=partner_type,
        country=country,
        region=region,
        website_domain=website_domain,
        tier=tier,
        stage=stage,
    )
    partner.tenant = partner_type.tenant
    partner.full_clean()
    partner.save()
    return partner


@transaction.atomic
def partner_member_add(
    *,
    partner: Partner,
    email: str,
    role: str = Role.PARTNER_USER,
    full_name: str = "",
    title: str = "",
    acting_user: User | None,
    send_invitation: bool = True,
) -> PartnerMembership:
    """Give a person a partner role in the partner's tenant, tied to `partner`."""
    if role not in PARTNER_ROLES:
        raise ValidationError({"role": _("People of a partner are partner admins or partner users.")})
    membership: Membership = core_services.membership_add(
        tenant=partner.tenant,
        email=email,
        role=role,
        full_name=full_name,
        acting_user=acting_user,
        send_invitation=send_invitation,
    )
    return PartnerMembership.objects.create(
        tenant=partner.tenant, membership=membership, partner=partner, title=title
    )
