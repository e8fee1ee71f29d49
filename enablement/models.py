"""Enablement: the segmented content library, courses with quizzes, and certifications that expire."""

from __future__ import annotations

import secrets
import uuid

import nh3
from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.validators import URLValidator
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from enablement.storage import private_storage
from partners.models import Partner, PartnerType, Region, Tier
from prm.tenancy import TenantOwnedModel, scoped_manager

# Links partners follow from the portal: web addresses only (no ftp:, and never javascript: or data:).
WEB_ONLY = URLValidator(schemes=["http", "https"])

# --- audience rules ----------------------------------------------------------------------------------------


class AudienceQuerySet(models.QuerySet):
    def for_partner(self, partner: Partner):
        """Rows whose audience rules let `partner` in: each rule that is set must match (empty = everyone)."""
        through_types = self.model.audience_partner_types.through
        through_tiers = self.model.audience_tiers.through
        own = self.model._meta.model_name
        any_type = Exists(through_types.objects.filter(**{f"{own}_id": OuterRef("pk")}))
        any_tier = Exists(through_tiers.objects.filter(**{f"{own}_id": OuterRef("pk")}))
        type_match = Exists(
            through_types.objects.filter(
                **{f"{own}_id": OuterRef("pk"), "partnertype_id": partner.partner_type_id}
            )
        )
        tier_match = Exists(
            through_tiers.objects.filter(**{f"{own}_id": OuterRef("pk"), "tier_id": partner.tier_id})
        )
        # A partner without a tier passes only a row with no tier rule.
        tier_rule = (~any_tier | tier_match) if partner.tier_id else ~any_tier
        return self.filter(
            ~any_type | type_match,
            tier_rule,
            Q(audience_regions=[]) | Q(audience_regions__contains=[partner.region]),
        )

    def published(self):
        """Rows partners may see at all."""
        return self.filter(is_published=True)


class Audience(TenantOwnedModel):
    """Who a row is for: partner types, tiers and regions; a rule left empty lets everyone in."""

    audience_partner_types = models.ManyToManyField(
        PartnerType,
        blank=True,
        related_name="+",
        verbose_name=_("partner types"),
        help_text=_("Leave empty for every partner type."),
    )
    audience_tiers = models.ManyToManyField(
        Tier,
        blank=True,
        related_name="+",
        verbose_name=_("tiers"),
        help_text=_("Leave empty for every tier."),
    )
    audience_regions = ArrayField(
        models.CharField(max_length=8, choices=Region.choices),
        blank=True,
        default=list,
        verbose_name=_("regions"),
        help_text=_("Leave empty for every region."),
    )
    is_published = models.BooleanField(
        _("published"), default=True, help_text=_("Unpublished rows are hidden from partners.")
    )

    class Meta:
        abstract = True

    def audience_allows(self, partner: Partner | None) -> bool:
        """Whether `partner` is in this row's audience (one query per rule that is set)."""
        if partner is None or not self.is_published:
            return False
        return type(self).objects.filter(pk=self.pk).published().for_partner(partner).exists()

    def audience_summary(self) -> str:
        parts = [
            ", ".join(t.name for t in self.audience_partner_types.all()),
            ", ".join(t.name for t in self.audience_tiers.all()),
            ", ".join(str(Region(r).label) for r in self.audience_regions),
        ]
        return " · ".join(p for p in parts if p) or str(_("Everyone"))


# --- the content library -----------------------------------------------------------------------------------


class AssetKind(models.TextChoices):
    FILE = "file", _("File")
    LINK = "link", _("Link")
    VIDEO = "video", _("Video link")


def asset_file_path(asset: Asset, filename: str) -> str:
    # Generated names under the tenant's own folder: the uploaded name never becomes a path.
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"tenants/{asset.tenant.slug}/enablement/assets/{uuid.uuid4().hex}.{extension}"


class AssetQuerySet(AudienceQuerySet):
    def search(self, text: str):
        """Assets whose title, description, product or a tag contains `text`."""
        return self.filter(
            Q(title__icontains=text)
            | Q(description__icontains=text)
            | Q(product__icontains=text)
            | Q(tags__icontains=text)
        )


class Asset(Audience):
    """A piece of the content library: an uploaded file, a link or a video link."""

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(_("kind"), max_length=8, choices=AssetKind.choices, default=AssetKind.FILE)
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    product = models.CharField(_("product"), max_length=120, blank=True)
    tags = models.CharField(_("tags"), max_length=400, blank=True, help_text=_("Separated by commas."))
    file = models.FileField(_("file"), storage=private_storage, upload_to=asset_file_path, blank=True)
    file_name = models.CharField(_("file name"), max_length=200, blank=True, editable=False)
    content_type = models.CharField(_("content type"), max_length=100, blank=True, editable=False)
    file_size = models.PositiveBigIntegerField(_("file size"), null=True, blank=True, editable=False)
    url = models.URLField(_("link"), max_length=500, blank=True, validators=[WEB_ONLY])
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = scoped_manager(manager_class=models.Manager.from_queryset(AssetQuerySet))

    class Meta:
        ordering = ["-created_at", "title"]
        verbose_name = _("asset")
        verbose_name_plural = _("assets")

    def __str__(self) -> str:
        return self.title

    @property
    def tag_list(self) -> list[str]:
        return [tag.strip() for tag in self.tags.split(",") if tag.strip()]


class AssetActivity(TenantOwnedModel):
    """How often one person of a partner viewed and downloaded one asset: the engagement figures' source."""

    asset = models.ForeignKey(
        Asset, on_delete=models.CASCADE, related_name="activity", verbose_name=_("asset")
    )
    partner = models.ForeignKey(
        Partner, on_delete=models.CASCADE, related_name="+", verbose_name=_("partner")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("person")
    )
    views = models.PositiveIntegerField(_("views"), default=0)
    downloads = models.PositiveIntegerField(_("downloads"), default=0)
    first_at = models.DateTimeField(_("first seen"), default=timezone.now)
    last_at = models.DateTimeField(_("last seen"), default=timezone.now)

    class Meta:
        verbose_name = _("asset activity")
        verbose_name_plural = _("asset activity")
        constraints = [models.UniqueConstraint(fields=["asset", "user"], name="asset_activity_per_person")]

    def __str__(self) -> str:
        return f"{self.asset} / {self.user}"


# --- courses and quizzes -----------------------------------------------------------------------------------


class Course(Audience):
    """Ordered modules and a quiz; passing the quiz passes the course."""

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    title = models.CharField(_("title"), max_length=200)
    slug = models.SlugField(
        _("slug"),
        max_length=80,
        blank=True,
        help_text=_(
            "Optional: a short name onboarding tasks may use for this course instead of its id, for "
            "example sales-fundamentals (the standard onboarding plan's course task names that one)."
        ),
    )
    summary = models.TextField(_("summary"), blank=True)
    pass_mark = models.PositiveSmallIntegerField(
        _("pass mark (%)"), default=80, help_text=_("Share of questions to answer right, in percent.")
    )
    max_attempts = models.PositiveSmallIntegerField(_("attempts allowed"), default=3)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    objects = scoped_manager(manager_class=models.Manager.from_queryset(AudienceQuerySet))

    class Meta:
        ordering = ["title"]
        verbose_name = _("course")
        verbose_name_plural = _("courses")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "slug"], condition=~models.Q(slug=""), name="course_slug_per_tenant"
            )
        ]

    def __str__(self) -> str:
        return self.title


class ModuleKind(models.TextChoices):
    TEXT = "text", _("Text")
    ASSET = "asset", _("Asset from the library")
    VIDEO = "video", _("Video link")


# What a module's rich text may hold; everything else (scripts, styles, event handlers) is removed on save.
RICH_TEXT_TAGS = {
    "p", "br", "strong", "em", "b", "i", "u", "ul", "ol", "li", "h2", "h3", "h4",
    "blockquote", "code", "pre", "a", "table", "thead", "tbody", "tr", "th", "td", "hr",
}  # fmt: skip
RICH_TEXT_ATTRIBUTES = {"a": {"href", "title"}, "th": {"scope"}}


def sanitise_rich_text(html: str) -> str:
    """`html` with only the tags and attributes a course module may show."""
    return nh3.clean(
        html or "",
        tags=RICH_TEXT_TAGS,
        attributes=RICH_TEXT_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )


class Module(TenantOwnedModel):
    """One step of a course: rich text, an asset of the library, or a video link."""

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    course = models.ForeignKey(
        Course, on_delete=models.CASCADE, related_name="modules", verbose_name=_("course")
    )
    position = models.PositiveSmallIntegerField(_("position"), default=1)
    title = models.CharField(_("title"), max_length=200)
    kind = models.CharField(_("kind"), max_length=8, choices=ModuleKind.choices, default=ModuleKind.TEXT)
    body = models.TextField(_("text"), blank=True, help_text=_("HTML; scripts and styles are removed."))
    asset = models.ForeignKey(
        Asset, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("asset")
    )
    video_url = models.URLField(_("video link"), max_length=500, blank=True, validators=[WEB_ONLY])

    class Meta:
        ordering = ["course", "position", "id"]
        verbose_name = _("module")
        verbose_name_plural = _("modules")

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs):
        # Sanitised on the way in, whoever writes it (admin, demo, a service), so templates can show it as is.
        self.body = sanitise_rich_text(self.body)
        super().save(*args, **kwargs)


class QuestionKind(models.TextChoices):
    SINGLE = "single", _("Single choice")
    MULTIPLE = "multiple", _("Multiple choice")


class Question(TenantOwnedModel):
    """A quiz question of a course. A multiple-choice answer is right when it picks exactly the right
    choices."""

    course = models.ForeignKey(
        Course, on_delete=models.CASCADE, related_name="questions", verbose_name=_("course")
    )
    position = models.PositiveSmallIntegerField(_("position"), default=1)
    text = models.CharField(_("question"), max_length=500)
    kind = models.CharField(
        _("kind"), max_length=8, choices=QuestionKind.choices, default=QuestionKind.SINGLE
    )

    class Meta:
        ordering = ["course", "position", "id"]
        verbose_name = _("question")
        verbose_name_plural = _("questions")

    def __str__(self) -> str:
        return self.text


class Choice(TenantOwnedModel):
    question = models.ForeignKey(
        Question, on_delete=models.CASCADE, related_name="choices", verbose_name=_("question")
    )
    text = models.CharField(_("answer"), max_length=300)
    is_correct = models.BooleanField(_("correct"), default=False)

    class Meta:
        ordering = ["question", "id"]
        verbose_name = _("choice")
        verbose_name_plural = _("choices")

    def __str__(self) -> str:
        return self.text


class CourseProgress(TenantOwnedModel):
    """One person's progress through one course: the modules done, and when they passed."""

    course = models.ForeignKey(
        Course, on_delete=models.CASCADE, related_name="progress", verbose_name=_("course")
    )
    partner = models.ForeignKey(
        Partner, on_delete=models.CASCADE, related_name="+", verbose_name=_("partner")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("person")
    )
    completed_modules = models.ManyToManyField(Module, blank=True, related_name="+")
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    passed_at = models.DateTimeField(_("passed"), null=True, blank=True)
    best_score = models.PositiveSmallIntegerField(_("best score (%)"), null=True, blank=True)

    class Meta:
        verbose_name = _("course progress")
        verbose_name_plural = _("course progress")
        constraints = [models.UniqueConstraint(fields=["course", "user"], name="course_progress_per_person")]

    def __str__(self) -> str:
        return f"{self.course} / {self.user}"


class QuizAttempt(TenantOwnedModel):
    """One go at a course's quiz, in the shuffled question order it was shown in."""

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    progress = models.ForeignKey(
        CourseProgress, on_delete=models.CASCADE, related_name="attempts", verbose_name=_("progress")
    )
    number = models.PositiveSmallIntegerField(_("attempt"))
    question_order = ArrayField(models.BigIntegerField(), default=list, blank=True)
    answers = models.JSONField(_("answers"), default=dict, blank=True)
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    score = models.PositiveSmallIntegerField(_("score (%)"), null=True, blank=True)
    passed = models.BooleanField(_("passed"), default=False)

    class Meta:
        ordering = ["progress", "number"]
        verbose_name = _("quiz attempt")
        verbose_name_plural = _("quiz attempts")
        # The attempt limit holds under double submits: a second row with the same number cannot exist.
        constraints = [models.UniqueConstraint(fields=["progress", "number"], name="quiz_attempt_number")]

    def __str__(self) -> str:
        return f"{self.progress} #{self.number}"


# --- certifications ----------------------------------------------------------------------------------------


class Certification(TenantOwnedModel):
    """Earned by passing every one of its courses; valid for a number of months."""

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    courses = models.ManyToManyField(Course, related_name="certifications", verbose_name=_("courses to pass"))
    valid_months = models.PositiveSmallIntegerField(_("valid for (months)"), default=12)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name = _("certification")
        verbose_name_plural = _("certifications")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="certification_name_per_tenant")
        ]

    def __str__(self) -> str:
        return self.name


def certificate_code() -> str:
    # 128 bits from the OS's generator: the share URL is the only key to the page.
    return secrets.token_urlsafe(16)


class AwardQuerySet(models.QuerySet):
    def valid_on(self, day=None):
        """Awards valid at `day`'s moment (now by default)."""
        moment = day or timezone.now()
        return self.filter(issued_at__lte=moment, expires_at__gt=moment)


class CertificationAward(TenantOwnedModel):
    """A person's certificate: who, which certification, for which partner, valid until when."""

    certification = models.ForeignKey(
        Certification, on_delete=models.PROTECT, related_name="awards", verbose_name=_("certification")
    )
    partner = models.ForeignKey(
        Partner, on_delete=models.CASCADE, related_name="+", verbose_name=_("partner")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("person")
    )
    code = models.CharField(_("share code"), max_length=32, default=certificate_code, editable=False)
    issued_at = models.DateTimeField(_("issued"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"))
    reminded_30_at = models.DateTimeField(_("30-day reminder sent"), null=True, blank=True, editable=False)
    reminded_7_at = models.DateTimeField(_("7-day reminder sent"), null=True, blank=True, editable=False)

    objects = scoped_manager(manager_class=models.Manager.from_queryset(AwardQuerySet))

    class Meta:
        ordering = ["-issued_at"]
        verbose_name = _("certificate")
        verbose_name_plural = _("certificates")
        indexes = [models.Index(fields=["tenant", "expires_at"])]
        constraints = [models.UniqueConstraint(fields=["tenant", "code"], name="certificate_code_per_tenant")]

    def __str__(self) -> str:
        return f"{self.certification} / {self.user}"

    def is_valid(self, moment=None) -> bool:
        moment = moment or timezone.now()
        return self.issued_at <= moment < self.expires_at
