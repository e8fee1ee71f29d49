"""The one shared Partner model, its types and tiers, and the people who belong to each partner."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from guardian.managers import GroupObjectPermissionManager, UserObjectPermissionManager
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from prm.models import Membership, domain_validator, slug_validator
from prm.tenancy import TenantOwnedModel, scoped_manager


class Region(models.TextChoices):
    NORTH_AMERICA = "NA", _("North America")
    LATIN_AMERICA = "LATAM", _("Latin America")
    EMEA = "EMEA", _("Europe, Middle East and Africa")
    APAC = "APAC", _("Asia Pacific")


class Stage(models.TextChoices):
    APPLIED = "applied", _("Applied")
    APPROVED = "approved", _("Approved")
    ONBOARDING = "onboarding", _("Onboarding")
    ACTIVATED = "activated", _("Activated")
    ACTIVE = "active", _("Active")
    DORMANT = "dormant", _("Dormant")
    EXITED = "exited", _("Exited")


# The one map of lifecycle moves: from each stage, the stages a partner may move to (DESIGN.md).
STAGE_TRANSITIONS: dict[str, frozenset[str]] = {
    Stage.APPLIED: frozenset({Stage.APPROVED, Stage.EXITED}),
    Stage.APPROVED: frozenset({Stage.ONBOARDING, Stage.EXITED}),
    Stage.ONBOARDING: frozenset({Stage.ACTIVATED, Stage.EXITED}),
    Stage.ACTIVATED: frozenset({Stage.ACTIVE, Stage.DORMANT, Stage.EXITED}),
    Stage.ACTIVE: frozenset({Stage.DORMANT, Stage.EXITED}),
    Stage.DORMANT: frozenset({Stage.ACTIVE, Stage.EXITED}),
    # A partner who left and comes back starts onboarding again.
    Stage.EXITED: frozenset({Stage.ONBOARDING}),
}


class PartnerType(TenantOwnedModel):
    """A kind of partner the program recruits: reseller, MSP, systems integrator, referral, technology."""

    slug = models.CharField(_("slug"), max_length=40, validators=[slug_validator])
    name = models.CharField(_("name"), max_length=80)
    description = models.TextField(_("description"), blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("partner type")
        verbose_name_plural = _("partner types")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "slug"], name="partner_type_slug_per_tenant"),
            models.UniqueConstraint(fields=["tenant", "name"], name="partner_type_name_per_tenant"),
        ]

    def __str__(self) -> str:
        return self.name


class Tier(TenantOwnedModel):
    """A program level (Registered, Silver, Gold, Platinum). Criteria and evaluation live in incentives."""

    slug = models.CharField(_("slug"), max_length=40, validators=[slug_validator])
    name = models.CharField(_("name"), max_length=80)
    rank = models.PositiveSmallIntegerField(
        _("rank"), help_text=_("Higher is better; partners move up by rank.")
    )
    description = models.TextField(_("description"), blank=True)

    class Meta:
        ordering = ["rank"]
        verbose_name = _("tier")
        verbose_name_plural = _("tiers")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "slug"], name="tier_slug_per_tenant"),
            models.UniqueConstraint(fields=["tenant", "rank"], name="tier_rank_per_tenant"),
        ]

    def __str__(self) -> str:
        return self.name


class PartnerQuerySet(models.QuerySet):
    def in_program(self):
        """Partners that have been approved and have not left."""
        return self.exclude(stage__in=[Stage.APPLIED, Stage.EXITED])

    def stalled(self):
        """Partners that stall detection currently flags."""
        return self.filter(stalled_since__isnull=False)

    def with_people(self):
        """Prefetch what list pages show about each partner."""
        return self.select_related("partner_type", "tier")

    def search(self, text: str):
        """Partners whose name or website domain contains `text`, in any case."""
        return self.filter(Q(name__icontains=text) | Q(website_domain__icontains=text))

    # The orderings below end with the slug, unique per tenant, so that pages of a list never overlap.

    def order_by_stage(self, *, descending: bool = False):
        """In lifecycle order (applied first, exited last), then by name."""
        position = Case(*(When(stage=stage, then=Value(index)) for index, stage in enumerate(Stage)))
        return self.order_by(position.desc() if descending else position.asc(), "name", "slug")

    def order_by_tier(self, *, descending: bool = False):
        """By tier rank, partners without a tier lowest, then by name."""
        rank = F("tier__rank").desc(nulls_last=True) if descending else F("tier__rank").asc(nulls_first=True)
        return self.order_by(rank, "name", "slug")


class Partner(TenantOwnedModel):
    """A partner organisation. Every lifecycle stage hangs off this one model."""

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    slug = models.SlugField(_("slug"), max_length=60)
    name = models.CharField(_("organisation name"), max_length=160)
    partner_type = models.ForeignKey(
        PartnerType, on_delete=models.PROTECT, related_name="partners", verbose_name=_("partner type")
    )
    country = models.CharField(_("country"), max_length=2, help_text=_("ISO 3166 code, such as DE or US."))
    region = models.CharField(_("region"), max_length=8, choices=Region.choices)
    website_domain = models.CharField(
        _("website domain"), max_length=253, blank=True, validators=[domain_validator]
    )
    stage = models.CharField(
        _("lifecycle stage"), max_length=16, choices=Stage.choices, default=Stage.APPLIED
    )
    tier = models.ForeignKey(
        Tier, null=True, blank=True, on_delete=models.PROTECT, related_name="partners", verbose_name=_("tier")
    )
    # Set by onboarding's stall detection (partner_set_stalled): since when, and why, the partner is stuck.
    stalled_since = models.DateTimeField(_("stalled since"), null=True, blank=True, editable=False)
    stall_reason = models.CharField(_("why stalled"), max_length=300, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = scoped_manager(manager_class=models.Manager.from_queryset(PartnerQuerySet))

    class Meta:
        ordering = ["name"]
        verbose_name = _("partner")
        verbose_name_plural = _("partners")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "slug"], name="partner_slug_per_tenant"),
        ]
        indexes = [
            models.Index(fields=["tenant", "stage"]),
            models.Index(fields=["tenant", "website_domain"]),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.country = (self.country or "").upper()
        self.website_domain = (self.website_domain or "").strip().lower()
        super().save(*args, **kwargs)


class StageChange(TenantOwnedModel):
    """One move of a partner through the lifecycle; the stage metrics are computed from these rows."""

    partner = models.ForeignKey(
        Partner, on_delete=models.CASCADE, related_name="stage_changes", verbose_name=_("partner")
    )
    # Empty for the row that records the stage a partner was created in.
    from_stage = models.CharField(_("from"), max_length=16, choices=Stage.choices, blank=True)
    to_stage = models.CharField(_("to"), max_length=16, choices=Stage.choices)
    changed_at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)
    reason = models.CharField(_("why"), max_length=300, blank=True)
    acting_user = models.ForeignKey(
        "prm.User",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("by"),
    )

    class Meta:
        ordering = ["changed_at", "id"]
        verbose_name = _("stage change")
        verbose_name_plural = _("stage changes")
        indexes = [models.Index(fields=["tenant", "to_stage", "changed_at"])]

    def __str__(self) -> str:
        return f"{self.partner}: {self.from_stage or '-'} -> {self.to_stage}"


class PartnerMembership(TenantOwnedModel):
    """Ties a tenant membership with a partner role (partner admin or user) to its partner organisation."""

    membership = models.OneToOneField(
        Membership, on_delete=models.CASCADE, related_name="partner_membership", verbose_name=_("membership")
    )
    partner = models.ForeignKey(
        Partner, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("partner")
    )
    title = models.CharField(_("job title"), max_length=120, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    class Meta:
        ordering = ["membership__user__email"]
        verbose_name = _("partner member")
        verbose_name_plural = _("partner members")

    def __str__(self) -> str:
        return f"{self.membership.user} @ {self.partner}"

    def first_name(self) -> str:
        """The first word of the person's full name (empty for a one-word name)."""
        words = self.membership.user.full_name.split()
        return words[0] if len(words) > 1 else ""

    def last_name(self) -> str:
        """The rest of the person's full name, else the whole name, else the email address."""
        user = self.membership.user
        words = user.full_name.split()
        return " ".join(words[1:] if len(words) > 1 else words) or user.email


# django-guardian object permissions on partners, with a real foreign key to the partner (not a generic
# object id): joins stay indexable and a deleted partner takes its grants with it.
class PartnerUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Partner, on_delete=models.CASCADE)

    objects = scoped_manager("content_object__tenant", manager_class=UserObjectPermissionManager)

    class Meta(UserObjectPermissionBase.Meta):
        abstract = False


class PartnerGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Partner, on_delete=models.CASCADE)

    objects = scoped_manager("content_object__tenant", manager_class=GroupObjectPermissionManager)

    class Meta(GroupObjectPermissionBase.Meta):
        abstract = False
