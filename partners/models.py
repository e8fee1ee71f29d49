"""The one shared Partner model, its types and tiers, and the people who belong to each partner."""

from __future__ import annotations

import uuid

import pgtrigger
from django.db import models
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from guardian.managers import GroupObjectPermissionManager, UserObjectPermissionManager
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from prm.models import Membership, domain_validator, slug_validator, user_reference
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
    acting_user = user_reference(_("by"))

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


# ---- Recruitment: applications, the ideal partner profile, program agreements ---------------------------


class Specialisation(TenantOwnedModel):
    """A competence the program looks for (cloud, security, ...); applicants and partners tick it."""

    slug = models.CharField(_("slug"), max_length=40, validators=[slug_validator])
    name = models.CharField(_("name"), max_length=80)

    class Meta:
        ordering = ["name"]
        verbose_name = _("specialisation")
        verbose_name_plural = _("specialisations")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "slug"], name="specialisation_slug_per_tenant"),
        ]

    def __str__(self) -> str:
        return self.name


class QuestionKind(models.TextChoices):
    TEXT = "text", _("Free text")
    YES_NO = "yes_no", _("Yes or no")
    NUMBER = "number", _("Number")
    CHOICE = "choice", _("One of a list")


class QualifyingQuestion(TenantOwnedModel):
    """One of the tenant's own questions on the public application form, for some or all partner types."""

    key = models.CharField(
        _("key"),
        max_length=40,
        validators=[slug_validator],
        help_text=_("Names the answer in the ideal partner profile and exports; keep it stable."),
    )
    text = models.CharField(_("question"), max_length=200)
    help_text = models.CharField(_("help text"), max_length=300, blank=True)
    kind = models.CharField(_("kind of answer"), max_length=10, choices=QuestionKind.choices)
    choices = models.TextField(
        _("choices"), blank=True, help_text=_("For “one of a list”: one choice per line.")
    )
    required = models.BooleanField(_("required"), default=True)
    partner_types = models.ManyToManyField(
        PartnerType,
        blank=True,
        related_name="+",
        verbose_name=_("partner types"),
        help_text=_("Ask applicants of these types only; none asks every applicant."),
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    objects = scoped_manager()

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("qualifying question")
        verbose_name_plural = _("qualifying questions")
        constraints = [models.UniqueConstraint(fields=["tenant", "key"], name="question_key_per_tenant")]

    def __str__(self) -> str:
        return self.text

    def choice_list(self) -> list[str]:
        return [line.strip() for line in self.choices.splitlines() if line.strip()]

    def clean(self):
        from django.core.exceptions import ValidationError

        if self.kind == QuestionKind.CHOICE and len(self.choice_list()) < 2:
            raise ValidationError({"choices": _("Give at least two choices, one per line.")})


class ApplicationStatus(models.TextChoices):
    PENDING = "pending", _("Pending review")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


# A decision is final: an approved or rejected application moves nowhere.
APPLICATION_TRANSITIONS: dict[str, frozenset[str]] = {
    ApplicationStatus.PENDING: frozenset({ApplicationStatus.APPROVED, ApplicationStatus.REJECTED}),
    ApplicationStatus.APPROVED: frozenset(),
    ApplicationStatus.REJECTED: frozenset(),
}


class PartnerApplicationQuerySet(models.QuerySet):
    def pending(self):
        """Applications waiting for a decision."""
        return self.filter(status=ApplicationStatus.PENDING)

    def for_review(self):
        """What the review queue shows about each application."""
        return self.select_related("partner_type")


class PartnerApplication(TenantOwnedModel):
    """An organisation's application to join the program, from the public form, and its decision."""

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    company_name = models.CharField(_("company name"), max_length=160)
    website = models.URLField(_("website"), max_length=300)
    # From the website; one application per company domain and tenant.
    website_domain = models.CharField(_("website domain"), max_length=253, validators=[domain_validator])
    country = models.CharField(_("country"), max_length=2, help_text=_("ISO 3166 code, such as DE or US."))
    region = models.CharField(_("region"), max_length=8, choices=Region.choices)
    partner_type = models.ForeignKey(
        PartnerType, on_delete=models.PROTECT, related_name="applications", verbose_name=_("partner type")
    )
    employee_count = models.PositiveIntegerField(_("employees"))
    specialisations = models.ManyToManyField(
        Specialisation, blank=True, related_name="applications", verbose_name=_("specialisations")
    )
    contact_name = models.CharField(_("contact person"), max_length=150)
    contact_email = models.EmailField(_("contact email"))
    contact_phone = models.CharField(_("contact phone"), max_length=40, blank=True)
    # {question key: answer}, as the form cleaned them (text, "yes"/"no", a number, a choice).
    answers = models.JSONField(_("answers"), default=dict, blank=True)
    fit_score = models.PositiveSmallIntegerField(_("fit score"), null=True, blank=True, editable=False)
    # [{"label": ..., "weight": ..., "met": bool}], one per criterion of the ideal partner profile.
    fit_reasons = models.JSONField(_("fit reasons"), default=list, blank=True, editable=False)
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=ApplicationStatus.choices,
        default=ApplicationStatus.PENDING,
        editable=False,
    )
    submitted_at = models.DateTimeField(_("submitted"), default=timezone.now, editable=False)
    submitted_from = models.GenericIPAddressField(_("submitted from"), null=True, blank=True, editable=False)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True, editable=False)
    decided_by = models.ForeignKey(
        "prm.User",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
        verbose_name=_("decided by"),
    )
    decision_reason = models.TextField(_("reason"), blank=True, editable=False)
    partner = models.OneToOneField(
        Partner,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="application",
        editable=False,
        verbose_name=_("partner"),
    )

    objects = scoped_manager(manager_class=models.Manager.from_queryset(PartnerApplicationQuerySet))

    class Meta:
        ordering = ["-submitted_at"]
        verbose_name = _("partner application")
        verbose_name_plural = _("partner applications")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "website_domain"], name="application_domain_per_tenant"
            ),
        ]
        indexes = [models.Index(fields=["tenant", "status", "submitted_at"])]

    def __str__(self) -> str:
        return self.company_name

    @property
    def decision_time(self):
        """How long the decision took (a timedelta), None while pending."""
        return self.decided_at - self.submitted_at if self.decided_at else None


class CriterionKind(models.TextChoices):
    PARTNER_TYPE = "partner_type", _("Partner type is")
    REGION = "region", _("Region is")
    COUNTRY = "country", _("Country is")
    MIN_EMPLOYEES = "min_employees", _("At least this many employees")
    SPECIALISATION = "specialisation", _("Has the specialisation")
    ANSWER = "answer", _("Answers a qualifying question")


class IdealPartnerCriterion(TenantOwnedModel):
    """One weighted criterion of the tenant's ideal partner profile; an application's fit score is the share
    of the criteria's weight it meets (0-100)."""

    label = models.CharField(
        _("label"), max_length=120, help_text=_("What reviewers read, e.g. “Sells in EMEA”.")
    )
    kind = models.CharField(_("kind"), max_length=16, choices=CriterionKind.choices)
    weight = models.PositiveSmallIntegerField(_("weight"), default=10)
    partner_type = models.ForeignKey(
        PartnerType,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("partner type"),
    )
    region = models.CharField(_("region"), max_length=8, choices=Region.choices, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True)
    specialisation = models.ForeignKey(
        Specialisation,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("specialisation"),
    )
    question = models.ForeignKey(
        QualifyingQuestion,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("question"),
    )
    expected_answer = models.CharField(
        _("expected answer"),
        max_length=200,
        blank=True,
        help_text=_(
            "For a question: the answer that meets it (“yes”, a choice); ignored for number questions."
        ),
    )
    minimum = models.PositiveIntegerField(
        _("minimum"), null=True, blank=True, help_text=_("For employees or a number question: at least this.")
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["-weight", "id"]
        verbose_name = _("ideal partner profile criterion")
        verbose_name_plural = _("ideal partner profile criteria")

    def __str__(self) -> str:
        return self.label

    def clean(self):
        from django.core.exceptions import ValidationError

        needs = {
            CriterionKind.PARTNER_TYPE: ("partner_type", self.partner_type_id),
            CriterionKind.REGION: ("region", self.region),
            CriterionKind.COUNTRY: ("country", self.country),
            CriterionKind.MIN_EMPLOYEES: ("minimum", self.minimum),
            CriterionKind.SPECIALISATION: ("specialisation", self.specialisation_id),
            CriterionKind.ANSWER: ("question", self.question_id),
        }
        field, value = needs.get(self.kind, (None, True))
        if field and value in (None, ""):
            raise ValidationError({field: _("This kind of criterion needs this field.")})
        if self.kind == CriterionKind.ANSWER and self.question_id:
            if self.question.kind == QuestionKind.NUMBER and self.minimum is None:
                raise ValidationError({"minimum": _("A number question needs a minimum.")})
            if self.question.kind != QuestionKind.NUMBER and not self.expected_answer.strip():
                raise ValidationError({"expected_answer": _("Say which answer meets the criterion.")})
        self.country = (self.country or "").upper()


class ProgramAgreementQuerySet(models.QuerySet):
    def published(self):
        """Versions in force from their publication time on."""
        return self.filter(published_at__lte=timezone.now())


class ProgramAgreement(TenantOwnedModel):
    """One version of the program agreement for a partner type (or for every type without one of its own).

    The current version is the published one with the highest version number; a new version asks every
    partner of the type to accept again. Accepted versions are never edited.
    """

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    partner_type = models.ForeignKey(
        PartnerType,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="agreements",
        verbose_name=_("partner type"),
        help_text=_("Empty: the agreement of every partner type that has none of its own."),
    )
    version = models.PositiveIntegerField(_("version"))
    title = models.CharField(_("title"), max_length=160)
    body = models.TextField(_("text"))
    published_at = models.DateTimeField(
        _("in force from"), default=timezone.now, help_text=_("Partners must accept it from this time on.")
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    objects = scoped_manager(manager_class=models.Manager.from_queryset(ProgramAgreementQuerySet))

    class Meta:
        ordering = ["partner_type__name", "-version"]
        verbose_name = _("program agreement")
        verbose_name_plural = _("program agreements")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "partner_type", "version"],
                name="agreement_version_per_type",
                nulls_distinct=False,
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} (v{self.version})"


class AgreementAcceptance(TenantOwnedModel):
    """A partner admin's acceptance of one agreement version for their partner: who, when, from where.

    Never changed after it is written: a database trigger refuses updates.
    """

    agreement = models.ForeignKey(
        ProgramAgreement, on_delete=models.PROTECT, related_name="acceptances", verbose_name=_("agreement")
    )
    partner = models.ForeignKey(
        Partner, on_delete=models.CASCADE, related_name="agreement_acceptances", verbose_name=_("partner")
    )
    user = models.ForeignKey(
        "prm.User", on_delete=models.PROTECT, related_name="+", verbose_name=_("accepted by")
    )
    typed_name = models.CharField(_("typed name"), max_length=150)
    accepted_at = models.DateTimeField(_("accepted"), default=timezone.now)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=500, blank=True)

    class Meta:
        ordering = ["-accepted_at"]
        verbose_name = _("agreement acceptance")
        verbose_name_plural = _("agreement acceptances")
        constraints = [
            models.UniqueConstraint(
                fields=["agreement", "partner"], name="one_acceptance_per_version_partner"
            ),
        ]
        triggers = [
            pgtrigger.Protect(name="acceptance_is_immutable", operation=pgtrigger.Update),
        ]

    def __str__(self) -> str:
        return f"{self.partner}: {self.agreement}"


class PartnerProfile(TenantOwnedModel):
    """What a partner says about itself, kept by its partner admins; complete once every part is filled in."""

    partner = models.OneToOneField(
        Partner, on_delete=models.CASCADE, related_name="profile", verbose_name=_("partner")
    )
    description = models.TextField(_("about the company"), blank=True)
    employee_count = models.PositiveIntegerField(_("employees"), null=True, blank=True)
    specialisations = models.ManyToManyField(
        Specialisation, blank=True, related_name="profiles", verbose_name=_("specialisations")
    )
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("partner profile")
        verbose_name_plural = _("partner profiles")

    def __str__(self) -> str:
        return str(self.partner)
