"""The core: tenants and their domains, people, and their memberships in tenants."""

from __future__ import annotations

import uuid
import zoneinfo

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from prm.tenancy import TenantOwnedModel, scoped_manager

slug_validator = RegexValidator(
    r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$",
    _("Use 1–40 lowercase letters, digits and inner hyphens."),
)
color_validator = RegexValidator(r"^#[0-9a-fA-F]{6}$", _("Use a hex colour such as #1d4ed8."))
domain_validator = RegexValidator(
    r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$",
    _("Enter a host name such as partners.example.com, without scheme or port."),
)

TIME_ZONE_CHOICES = [(name, name) for name in sorted(zoneinfo.available_timezones())]
CURRENCY_CHOICES = [
    ("USD", "USD"), ("EUR", "EUR"), ("GBP", "GBP"), ("CHF", "CHF"), ("CAD", "CAD"),
    ("AUD", "AUD"), ("JPY", "JPY"), ("INR", "INR"), ("BRL", "BRL"), ("SEK", "SEK"),
]  # fmt: skip


def tenant_logo_path(tenant: Tenant, filename: str) -> str:
    # Generated names: an uploaded name never becomes a path.
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else "png"
    return f"tenants/{tenant.slug}/branding/logo-{uuid.uuid4().hex}.{suffix}"


class Tenant(models.Model):
    """A vendor running its partner program on this deployment."""

    slug = models.CharField(_("slug"), max_length=40, unique=True, validators=[slug_validator])
    name = models.CharField(_("name"), max_length=120)
    primary_color = models.CharField(
        _("brand colour"), max_length=7, default="#1d4ed8", validators=[color_validator]
    )
    logo = models.ImageField(_("logo"), upload_to=tenant_logo_path, blank=True)
    default_language = models.CharField(
        _("default language"), max_length=8, choices=settings.LANGUAGES, default="en"
    )
    time_zone = models.CharField(_("time zone"), max_length=64, choices=TIME_ZONE_CHOICES, default="UTC")
    currency = models.CharField(_("currency"), max_length=3, choices=CURRENCY_CHOICES, default="USD")
    require_mfa_for_staff = models.BooleanField(
        _("require two-factor authentication for staff"),
        default=False,
        help_text=_(
            "Tenant admins and channel managers must set up an authenticator app before they can work."
        ),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name = _("tenant")
        verbose_name_plural = _("tenants")

    def __str__(self) -> str:
        return self.name

    @property
    def primary_domain(self) -> str:
        domains = [d for d in self.domains.all() if d.is_primary] or list(self.domains.all())
        return domains[0].domain if domains else f"{self.slug}.{settings.PRM_BASE_DOMAIN}"


class TenantDomain(models.Model):
    """A host name that resolves to a tenant. Platform data: read before any tenant scope exists."""

    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, related_name="domains", verbose_name=_("tenant")
    )
    domain = models.CharField(_("domain"), max_length=253, unique=True, validators=[domain_validator])
    is_primary = models.BooleanField(_("primary"), default=True)

    class Meta:
        ordering = ["domain"]
        verbose_name = _("tenant domain")
        verbose_name_plural = _("tenant domains")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant"], condition=models.Q(is_primary=True), name="one_primary_domain_per_tenant"
            )
        ]

    def __str__(self) -> str:
        return self.domain

    def save(self, *args, **kwargs):
        self.domain = self.domain.strip().lower()
        super().save(*args, **kwargs)


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra):
        if not email:
            raise ValueError("An email address is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person. One row whatever the number of tenants they belong to; email is the login."""

    email = models.EmailField(_("email address"), unique=True)
    full_name = models.CharField(_("full name"), max_length=150, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    # Platform staff only (the base host's admin). Tenant staff are memberships, not this flag.
    is_staff = models.BooleanField(_("platform staff"), default=False)
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_ci_unique")]

    def __str__(self) -> str:
        return self.full_name or self.email

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email


class Role(models.TextChoices):
    TENANT_ADMIN = "tenant_admin", _("Tenant admin")
    CHANNEL_MANAGER = "channel_manager", _("Channel manager")
    PARTNER_ADMIN = "partner_admin", _("Partner admin")
    PARTNER_USER = "partner_user", _("Partner user")


STAFF_ROLES = frozenset({Role.TENANT_ADMIN, Role.CHANNEL_MANAGER})
PARTNER_ROLES = frozenset({Role.PARTNER_ADMIN, Role.PARTNER_USER})


class MembershipQuerySet(models.QuerySet):
    def active(self):
        """Memberships that let their person in."""
        return self.filter(is_active=True, user__is_active=True)

    def staff(self):
        """The vendor's own people: tenant admins and channel managers."""
        return self.filter(role__in=STAFF_ROLES)


class Membership(TenantOwnedModel):
    """A person's place in one tenant: their role there."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("user")
    )
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    objects = scoped_manager(manager_class=models.Manager.from_queryset(MembershipQuerySet))

    class Meta:
        ordering = ["user__email"]
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "user"], name="one_membership_per_tenant_user")
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()})"

    @property
    def is_staff_role(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def is_partner_role(self) -> bool:
        return self.role in PARTNER_ROLES


class UserSession(models.Model):
    """Which sessions a person holds, so that taking their access away can end them all at once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    session_key = models.CharField(max_length=40, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.user_id}: {self.session_key[:8]}…"


class ParkedTask(models.Model):
    """A task message that killed its worker too often: parked here with its error, never dropped."""

    task_id = models.CharField(max_length=255, unique=True)
    task_name = models.CharField(max_length=255)
    tenant = models.ForeignKey(Tenant, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    args = models.JSONField(default=list, blank=True)
    kwargs = models.JSONField(default=dict, blank=True)
    deliveries = models.PositiveIntegerField()
    error = models.TextField()
    parked_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-parked_at"]
        verbose_name = _("parked task")
        verbose_name_plural = _("parked tasks")

    def __str__(self) -> str:
        return f"{self.task_name} {self.task_id}"


class ExchangeRateQuerySet(models.QuerySet):
    def currencies(self) -> set[str]:
        """The currencies that have at least one rate."""
        return set(self.values_list("currency", flat=True).distinct())

    def rate_on(self, currency: str, day) -> ExchangeRate | None:
        """The rate of `currency` on `day`: the latest effective on or before it, else the earliest one."""
        rates = self.filter(currency=currency)
        return (
            rates.filter(effective_from__lte=day).order_by("-effective_from").first()
            or rates.order_by("effective_from").first()
        )


def user_reference(verbose_name) -> models.ForeignKey:
    """Who did something to a record (requested, decided, ticked it): a person the record keeps naming
    while their account exists, and forgets (null) rather than blocking the account's deletion."""
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=verbose_name,
    )


def positive(value) -> None:
    if value is not None and value <= 0:
        raise ValidationError(_("A rate is above zero."), code="not_positive")


class ExchangeRate(TenantOwnedModel):
    """What one unit of another currency is worth in the tenant's currency, from a date on.

    In the core, not in incentives: deal registration (dealreg) offers and accepts only currencies that have
    a rate, and incentives converts won deals with them; dealreg may not read incentives."""

    currency = models.CharField(_("currency"), max_length=3, choices=CURRENCY_CHOICES)
    rate = models.DecimalField(
        _("rate to the program's currency"),
        max_digits=18,
        decimal_places=8,
        validators=[positive],
        help_text=_("What one unit of this currency is worth in the program's currency."),
    )
    effective_from = models.DateField(_("effective from"))
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    objects = scoped_manager(manager_class=models.Manager.from_queryset(ExchangeRateQuerySet))

    class Meta:
        ordering = ["currency", "-effective_from"]
        verbose_name = _("exchange rate")
        verbose_name_plural = _("exchange rates")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "currency", "effective_from"], name="exchange_rate_once_a_day"
            ),
            models.CheckConstraint(condition=models.Q(rate__gt=0), name="exchange_rate_positive"),
        ]
        indexes = [models.Index(fields=["tenant", "currency", "effective_from"])]

    def __str__(self) -> str:
        return (
            f"1 {self.currency} = {self.rate.normalize() if self.rate else self.rate} ({self.effective_from})"
        )

    def clean(self) -> None:
        from prm.tenancy import current_tenant

        tenant = current_tenant() if self.tenant_id is None else self.tenant
        if tenant is not None and self.currency == tenant.currency:
            raise ValidationError(
                {"currency": _("This is the program's own currency: it needs no rate.")}, code="own_currency"
            )
        # The tenant is not on the admin's form, so Django's own uniqueness check skips the constraint.
        if self.currency and self.effective_from:
            taken = ExchangeRate.objects.filter(currency=self.currency, effective_from=self.effective_from)
            if taken.exclude(pk=self.pk).exists():
                raise ValidationError(
                    {"effective_from": _("This currency has a rate from this date already.")}, code="taken"
                )
