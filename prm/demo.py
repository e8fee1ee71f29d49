"""The demo: two vendors with realistic partner programs and people who can sign in at once.

`manage.py seed_demo` creates it through the services and prints the logins; running it again adds only
what is missing. Websites and email addresses use the reserved .example and .test names only.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.files.base import ContentFile
from PIL import Image, ImageDraw, ImageFont

from crm_sync import crypto
from crm_sync import services as crm_services
from crm_sync.models import AuthFlow, CRMConnection
from partners import services as partner_services
from partners.models import Partner, PartnerMembership, PartnerType, Region, Stage, Tier
from prm import services
from prm.emails import tenant_url
from prm.models import Membership, Role, Tenant, User

DEFAULT_PASSWORD = "demo-pass-2026"


@dataclass(frozen=True)
class Person:
    email: str
    full_name: str
    role: Role
    title: str = ""  # job title, for people of a partner


@dataclass(frozen=True)
class DemoPartner:
    name: str
    partner_type: str  # slug of a default partner type
    country: str
    region: Region
    website_domain: str
    stage: Stage
    tier: str | None  # slug of a default tier; None before approval
    people: tuple[Person, ...] = ()


@dataclass(frozen=True)
class DemoTenant:
    slug: str
    name: str
    domain: str
    primary_color: str
    time_zone: str
    currency: str
    default_language: str
    admin: Person
    manager: Person
    partners: tuple[DemoPartner, ...]
    # Exchange rates to the tenant's currency: (currency, rate a year ago, rate now).
    rates: tuple[tuple[str, str, str], ...] = ()


PLATFORM_ADMIN_EMAIL, PLATFORM_ADMIN_NAME = "platform@prm.example", "Paula Platform"

NA, LATAM, EMEA, APAC = Region.NORTH_AMERICA, Region.LATIN_AMERICA, Region.EMEA, Region.APAC
ADMIN, USER = Role.PARTNER_ADMIN, Role.PARTNER_USER

# Each partner: name, type, country, region, website; then stage, tier and the people who sign in.
ACME = DemoTenant(
    slug="acme",
    name="Acme Cloud",
    domain="acme.localhost",
    primary_color="#1d4ed8",
    time_zone="America/New_York",
    currency="USD",
    rates=(("EUR", "1.0850", "1.1620"), ("GBP", "1.2710", "1.3390")),
    default_language="en",
    admin=Person("admin@acme.example", "Olivia Bennett", Role.TENANT_ADMIN),
    manager=Person("manager@acme.example", "Marcus Reed", Role.CHANNEL_MANAGER),
    partners=(
        DemoPartner(
            "Northwind Traders",
            "reseller",
            "US",
            NA,
            "northwind.example",
            Stage.ACTIVE,
            "gold",
            people=(
                Person("ana.lopez@northwind.example", "Ana López", ADMIN, "Alliance Director"),
                Person("james.carter@northwind.example", "James Carter", USER, "Account Executive"),
            ),
        ),
        DemoPartner(
            "Blue Harbor IT",
            "msp",
            "US",
            NA,
            "blueharbor-it.example",
            Stage.ONBOARDING,
            "registered",
            people=(
                Person("priya.shah@blueharbor-it.example", "Priya Shah", ADMIN, "Managing Partner"),
                Person("tom.becker@blueharbor-it.example", "Tom Becker", USER, "Solutions Engineer"),
            ),
        ),
        DemoPartner(
            "Summit Integration Group",
            "systems-integrator",
            "CA",
            NA,
            "summit-integration.example",
            Stage.ACTIVE,
            "platinum",
        ),
        DemoPartner(
            "Lumen Data Partners", "technology", "GB", EMEA, "lumendata.example", Stage.ACTIVE, "gold"
        ),
        DemoPartner(
            "Harborview Systems", "reseller", "US", NA, "harborview.example", Stage.ACTIVATED, "silver"
        ),
        DemoPartner(
            "Brightpath Technologies", "technology", "IN", APAC, "brightpath.example", Stage.ACTIVE, "silver"
        ),
        DemoPartner(
            "Meridian Cloud Services", "msp", "AU", APAC, "meridian-cloud.example", Stage.DORMANT, "silver"
        ),
        DemoPartner(
            "Atlas Managed Services", "msp", "BR", LATAM, "atlas-ms.example", Stage.ONBOARDING, "registered"
        ),
        DemoPartner(
            "Cobalt Ridge Consulting",
            "systems-integrator",
            "US",
            NA,
            "cobaltridge.example",
            Stage.APPROVED,
            "registered",
        ),
        DemoPartner(
            "Keystone Soluciones", "reseller", "MX", LATAM, "keystone-mx.example", Stage.EXITED, "registered"
        ),
        DemoPartner(
            "Redwood Referral Co.", "referral", "US", NA, "redwood-referral.example", Stage.APPLIED, None
        ),
        DemoPartner("Tidewater Digital", "referral", "CA", NA, "tidewater.test", Stage.APPLIED, None),
    ),
)

GLOBEX = DemoTenant(
    slug="globex",
    name="Globex Systems",
    domain="globex.localhost",
    primary_color="#0f766e",
    time_zone="Europe/Berlin",
    currency="EUR",
    rates=(("USD", "0.9220", "0.8610"), ("GBP", "1.1710", "1.1520")),
    default_language="de",
    admin=Person("admin@globex.example", "Katrin Vogel", Role.TENANT_ADMIN),
    manager=Person("manager@globex.example", "Jonas Richter", Role.CHANNEL_MANAGER),
    partners=(
        DemoPartner(
            "Rheinwerk IT GmbH",
            "reseller",
            "DE",
            EMEA,
            "rheinwerk.example",
            Stage.ACTIVE,
            "gold",
            people=(
                Person("lena.schmidt@rheinwerk.example", "Lena Schmidt", ADMIN, "Geschäftsführerin"),
                Person("felix.wagner@rheinwerk.example", "Felix Wagner", USER, "Vertriebsleiter"),
            ),
        ),
        DemoPartner(
            "Alpenblick Systemhaus AG",
            "systems-integrator",
            "AT",
            EMEA,
            "alpenblick.example",
            Stage.ACTIVATED,
            "silver",
            people=(
                Person("maximilian.huber@alpenblick.example", "Maximilian Huber", ADMIN, "Vorstand"),
                Person("sophie.gruber@alpenblick.example", "Sophie Gruber", USER, "Kundenberaterin"),
            ),
        ),
        DemoPartner(
            "Helvetia Integration AG",
            "systems-integrator",
            "CH",
            EMEA,
            "helvetia-int.example",
            Stage.ACTIVE,
            "platinum",
        ),
        DemoPartner(
            "Hanse Cloud Partner GmbH", "msp", "DE", EMEA, "hanse-cloud.example", Stage.ACTIVE, "gold"
        ),
        DemoPartner(
            "Polder Tech B.V.", "technology", "NL", EMEA, "poldertech.example", Stage.ACTIVE, "silver"
        ),
        DemoPartner(
            "Nordlicht Managed Services",
            "msp",
            "DK",
            EMEA,
            "nordlicht.example",
            Stage.ONBOARDING,
            "registered",
        ),
        DemoPartner(
            "Elbe Datentechnik GmbH",
            "reseller",
            "DE",
            EMEA,
            "elbe-daten.example",
            Stage.APPROVED,
            "registered",
        ),
        DemoPartner(
            "Lutetia Conseil SAS",
            "referral",
            "FR",
            EMEA,
            "lutetia-conseil.example",
            Stage.DORMANT,
            "registered",
        ),
        DemoPartner(
            "Lion City Systems Pte. Ltd.",
            "systems-integrator",
            "SG",
            APAC,
            "lioncity.example",
            Stage.ACTIVATED,
            "silver",
        ),
        DemoPartner(
            "Iberia Cloud Soluciones S.L.",
            "msp",
            "ES",
            EMEA,
            "iberia-cloud.example",
            Stage.ONBOARDING,
            "registered",
        ),
        DemoPartner(
            "Danube Digital Kft.",
            "referral",
            "HU",
            EMEA,
            "danube-digital.example",
            Stage.EXITED,
            "registered",
        ),
        DemoPartner(
            "Vistula Software Sp. z o.o.",
            "reseller",
            "PL",
            EMEA,
            "vistula-software.test",
            Stage.APPLIED,
            None,
        ),
        DemoPartner(
            "Laurentian Data Inc.", "technology", "CA", NA, "laurentian-data.test", Stage.APPLIED, None
        ),
    ),
)

TENANTS = (ACME, GLOBEX)


@dataclass(frozen=True)
class Login:
    url: str
    site: str  # the tenant's name, or the platform admin
    email: str
    role: str
    partner: str = ""


@dataclass
class Seeded:
    """What one run did for one tenant, and who can sign in there."""

    tenant: Tenant
    tenant_created: bool = False
    partners_created: int = 0
    people_created: int = 0
    logins: list[Login] = field(default_factory=list)


def render_logo(name: str, color: str) -> bytes:
    """A square PNG mark: the name's initial in white on the brand colour."""
    size = 256
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, size - 1, size - 1), radius=48, fill=color)
    font = ImageFont.load_default(size=160)
    draw.text((size / 2, size / 2), name[:1].upper(), fill="white", font=font, anchor="mm")
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def platform_url(path: str) -> str:
    """An address on the platform's base host, built the way prm.emails.tenant_url builds a tenant's."""
    scheme = "https" if settings.SESSION_COOKIE_SECURE else "http"
    port = settings.PRM_PUBLIC_PORT
    return f"{scheme}://{settings.PRM_BASE_DOMAIN}{f':{port}' if port else ''}{path}"


def ready_to_sign_in(user: User, password: str) -> None:
    """Give a demo person `password` and a verified primary address, so they need no invitation."""
    # Keep the hash of an unchanged password: a new hash would end the sessions they already hold.
    if not user.check_password(password):
        user.set_password(password)
        user.save(update_fields=["password"])
    EmailAddress.objects.update_or_create(
        user=user, email=user.email, defaults={"primary": True, "verified": True}
    )


def seed_platform_admin(*, password: str) -> Login:
    """The superuser of the platform admin on the base host."""
    user = User.objects.filter(email__iexact=PLATFORM_ADMIN_EMAIL).first()
    if user is None:
        user = User.objects.create_superuser(email=PLATFORM_ADMIN_EMAIL, full_name=PLATFORM_ADMIN_NAME)
    ready_to_sign_in(user, password)
    return Login(platform_url("/admin/"), "Platform admin", user.email, "Platform superuser")


def seed_tenant(spec: DemoTenant) -> Seeded:
    """The demo tenant with its settings and logo. A tenant that already has the slug keeps its settings."""
    tenant = Tenant.objects.filter(slug=spec.slug).first()
    created = tenant is None
    if created:
        tenant = services.tenant_create(
            slug=spec.slug,
            name=spec.name,
            domain=spec.domain,
            admin_email=spec.admin.email,
            admin_name=spec.admin.full_name,
            send_invitation=False,
        )
        services.tenant_update(
            tenant=tenant,
            acting_user=None,
            primary_color=spec.primary_color,
            time_zone=spec.time_zone,
            currency=spec.currency,
            default_language=spec.default_language,
        )
    if not tenant.logo:
        logo = ContentFile(render_logo(tenant.name, tenant.primary_color), name="logo.png")
        services.tenant_update(tenant=tenant, acting_user=None, logo=logo)
    # tenant_create made the first admin too.
    return Seeded(tenant=tenant, tenant_created=created, people_created=1 if created else 0)


def seed_program(spec: DemoTenant, seeded: Seeded, *, password: str) -> None:
    """The tenant's staff, partners and their people, each created if missing. Runs in the tenant's scope."""
    tenant = seeded.tenant
    url = tenant_url(tenant, "/")
    for person in (spec.admin, spec.manager):
        membership = (
            Membership.objects.select_related("user").filter(user__email__iexact=person.email).first()
        )
        if membership is None:
            membership = services.membership_add(
                tenant=tenant,
                email=person.email,
                full_name=person.full_name,
                role=person.role,
                send_invitation=False,
            )
            seeded.people_created += 1
        ready_to_sign_in(membership.user, password)
        seeded.logins.append(Login(url, tenant.name, membership.user.email, Role(membership.role).label))

    partner_types = {t.slug: t for t in PartnerType.objects.all()}
    tiers = {t.slug: t for t in Tier.objects.all()}
    for demo_partner in spec.partners:
        partner = Partner.objects.filter(name=demo_partner.name).first()
        if partner is None:
            partner = partner_services.partner_create(
                name=demo_partner.name,
                partner_type=partner_types[demo_partner.partner_type],
                country=demo_partner.country,
                region=demo_partner.region,
                website_domain=demo_partner.website_domain,
                tier=tiers[demo_partner.tier] if demo_partner.tier else None,
                stage=demo_partner.stage,
                acting_user=None,
            )
            seeded.partners_created += 1
        for person in demo_partner.people:
            link = (
                PartnerMembership.objects.select_related("membership__user")
                .filter(membership__user__email__iexact=person.email)
                .first()
            )
            if link is None:
                link = partner_services.partner_member_add(
                    partner=partner,
                    email=person.email,
                    role=person.role,
                    full_name=person.full_name,
                    title=person.title,
                    acting_user=None,
                    send_invitation=False,
                )
                seeded.people_created += 1
            ready_to_sign_in(link.membership.user, password)
            seeded.logins.append(
                Login(url, tenant.name, link.membership.user.email, Role(person.role).label, partner.name)
            )
    seed_enablement(tenant)
    seed_exchange_rates(spec)
    seed_deals(spec)
    seed_incentives(spec)


def seed_exchange_rates(spec: DemoTenant) -> None:
    """Two rates of each of the tenant's other currencies, a year ago and a month ago. Once per tenant."""
    import datetime
    from decimal import Decimal

    from django.utils import timezone

    from prm.models import ExchangeRate

    if ExchangeRate.objects.exists():
        return
    today = timezone.localdate()
    for currency, year_ago, month_ago in spec.rates:
        for days, rate in ((400, year_ago), (30, month_ago)):
            ExchangeRate.objects.create(
                currency=currency, rate=Decimal(rate), effective_from=today - datetime.timedelta(days=days)
            )


def seed_deals(spec: DemoTenant) -> None:
    """dealreg: the tenant's customer accounts and deal registrations (dealreg/demo_data.py), registered
    through the services in order (so the conflict check runs as it would), then decided. Once per tenant."""
    import datetime

    from django.utils import timezone

    from dealreg import demo_data
    from dealreg import services as deal_services
    from dealreg.models import Deal, DealEvent, DealEventKind

    if Deal.objects.exists():
        return
    for account in demo_data.ACCOUNTS.get(spec.slug, ()):
        deal_services.customer_account_upsert(
            name=account.name, domain=account.domain, country=account.country, acting_user=None
        )
    manager = User.objects.get(email__iexact=spec.manager.email)
    partners = {p.name: p for p in Partner.objects.all()}
    people = {
        link.partner_id: link.membership.user
        for link in PartnerMembership.objects.select_related("membership__user").order_by("-membership__role")
    }
    deals = demo_data.DEALS.get(spec.slug, ())
    registered = []
    for position, item in enumerate(deals):
        partner = partners[item.partner]
        deal = deal_services.deal_register(
            partner=partner,
            data=deal_services.DealInput(
                name=f"{item.customer}: {item.products}",
                customer_name=item.customer,
                customer_domain=item.domain,
                customer_country="",
                contact_name="Pat Buyer",
                contact_email="",
                products=item.products,
                amount=item.amount,
                # Every sixth deal in the first of the tenant's other currencies, converted by its rate.
                currency=spec.rates[0][0] if spec.rates and position % 6 == 2 else spec.currency,
                expected_close_date=timezone.localdate() + datetime.timedelta(days=30 + 3 * position),
            ),
            acting_user=people.get(partner.pk),
        )
        # Spread the registrations over the past weeks, oldest first, so the queue has overdue ones.
        submitted = timezone.now() - datetime.timedelta(hours=9 * (len(deals) - position))
        Deal.objects.filter(pk=deal.pk).update(
            submitted_at=submitted,
            sla_due_at=deal_services.add_business_days(submitted, 2, spec.time_zone),
        )
        # Its history says the same: registered then, not when the demo was seeded.
        DealEvent.objects.filter(deal=deal, kind=DealEventKind.SUBMITTED).update(created_at=submitted)
        registered.append((item, deal))
    for item, deal in registered:
        if item.outcome == "rejected":
            deal_services.deal_reject(
                deal=deal, acting_user=manager, reason="Registered first by another partner.", notify=False
            )
        elif item.outcome != "submitted":
            deal = deal_services.deal_approve(
                deal=deal, acting_user=manager, reason="Qualified opportunity.", notify=False
            )
            if item.outcome in ("won", "lost"):
                deal_services.deal_close(deal=deal, won=item.outcome == "won", acting_user=manager)
            if item.outcome == "expiring":
                Deal.objects.filter(pk=deal.pk).update(
                    protection_expires_on=timezone.localdate() + datetime.timedelta(days=9)
                )


@dataclass(frozen=True)
class DemoCRM:
    """The demo's CRM emulators as `./run demo` started them: a URL and CA file, each tenant's client, and
    each tenant's own org (URL and CA file) where it has one."""

    url: str
    ca_path: str
    clients: dict[str, tuple[str, str]]  # tenant slug -> (client id, client secret)
    orgs: dict[str, tuple[str, str]] = field(default_factory=dict)  # tenant slug -> (URL, CA file)

    def address(self, slug: str) -> tuple[str, str]:
        """The URL and CA file of the tenant's org."""
        return self.orgs.get(slug, (self.url, self.ca_path))


EMULATOR_URL_PREFIX = "https://127.0.0.1:"


def seed_crm_connection(tenant: Tenant, crm: DemoCRM) -> str:
    """Point the tenant's CRM connection at the demo's emulator; "created", "updated", "unchanged", or
    "kept" for a connection someone pointed at another CRM. Runs in the tenant's scope."""
    client_id, client_secret = crm.clients[tenant.slug]
    url, ca_path = crm.address(tenant.slug)
    connection = CRMConnection.objects.first()
    if connection is not None and not connection.login_url.startswith(EMULATOR_URL_PREFIX):
        return "kept"
    outcome = "created" if connection is None else "updated"
    if connection is None:
        connection = CRMConnection(auth_flow=AuthFlow.CLIENT_CREDENTIALS)
    else:
        try:
            same_secret = connection.client_secret == client_secret
        except crypto.UndecryptableSecret:
            same_secret = False
        # The emulator's port changes with every start of the demo.
        if same_secret and (connection.login_url, connection.ca_cert_path, connection.client_id) == (
            url,
            ca_path,
            client_id,
        ):
            return "unchanged"
    connection.login_url, connection.ca_cert_path, connection.client_id = url, ca_path, client_id
    crm_services.crm_connection_save(connection=connection, acting_user=None, client_secret=client_secret)
    return outcome


# ---- Recruitment (partners/): the application form's setup, pending applications, program agreements ------


@dataclass(frozen=True)
class DemoApplication:
    company_name: str
    website: str
    country: str
    region: Region
    partner_type: str
    employee_count: int
    contact_name: str
    contact_email: str
    specialisations: tuple[str, ...]
    answers: dict
    days_ago: int


DEMO_SPECIALISATIONS = [
    ("cloud-migration", "Cloud migration"),
    ("security", "Security"),
    ("data-analytics", "Data and analytics"),
    ("managed-backup", "Managed backup"),
]

# (key, text, kind, choices, partner type slugs it is asked of; empty for all)
DEMO_QUESTIONS = [
    ("sells-saas", "Do you already sell SaaS products?", "yes_no", "", ()),
    (
        "certified-engineers",
        "How many certified cloud engineers do you employ?",
        "number",
        "",
        ("msp", "systems-integrator"),
    ),
    (
        "primary-market",
        "Which market do you mainly sell to?",
        "choice",
        "Small business\nMid-market\nEnterprise",
        (),
    ),
]

DEMO_AGREEMENT = (
    "1. The partner promotes and resells the vendor's products in its territory on the program's terms.\n\n"
    "2. Deals are registered in the partner portal before the partner quotes them.\n\n"
    "3. The partner keeps customer data confidential and follows the vendor's brand guidelines.\n\n"
    "4. Either party may end the partnership with 30 days' notice."
)


def _applications(tenant_slug: str, region: Region) -> list[DemoApplication]:
    """Four pending applications per tenant, from a near-perfect fit to a poor one."""
    tld = "test"
    return [
        DemoApplication(
            "Granite Peak Solutions",
            f"https://granitepeak-{tenant_slug}.{tld}",
            "US" if region == NA else "DE",
            region,
            "reseller",
            140,
            "Rosa Delgado",
            f"rosa@granitepeak-{tenant_slug}.{tld}",
            ("cloud-migration", "security"),
            {"sells-saas": "yes", "primary-market": "Mid-market"},
            2,
        ),
        DemoApplication(
            "Cirrus Ops",
            f"https://cirrusops-{tenant_slug}.{tld}",
            "GB",
            EMEA,
            "msp",
            35,
            "Owen Hughes",
            f"owen@cirrusops-{tenant_slug}.{tld}",
            ("managed-backup",),
            {"sells-saas": "yes", "certified-engineers": 4, "primary-market": "Small business"},
            6,
        ),
        DemoApplication(
            "Pampas Digital",
            f"https://pampasdigital-{tenant_slug}.{tld}",
            "AR",
            LATAM,
            "referral",
            8,
            "Lucía Romero",
            f"lucia@pampasdigital-{tenant_slug}.{tld}",
            (),
            {"sells-saas": "no"},
            11,
        ),
        DemoApplication(
            "Kestrel Systems Integration",
            f"https://kestrel-si-{tenant_slug}.{tld}",
            "SG",
            APAC,
            "systems-integrator",
            260,
            "Wei Ling Tan",
            f"weiling@kestrel-si-{tenant_slug}.{tld}",
            ("data-analytics", "cloud-migration"),
            {"sells-saas": "no", "certified-engineers": 12, "primary-market": "Enterprise"},
            4,
        ),
    ]


def seed_recruitment(spec: DemoTenant, seeded: Seeded) -> None:
    """The tenant's application form (specialisations, qualifying questions), its ideal partner profile,
    pending applications with varied fit scores, and a program agreement its demo partners have accepted,
    each created if missing. Runs in the tenant's scope."""


# --- onboarding: plans, and a back-dated lifecycle for the demo partners ----------------------------------

# Days before today a demo partner in each stage applied (the n-th partner of a stage the n-th value):
# spread over eight months, so the metrics page has several monthly cohorts, and every move in the past.
DEMO_APPLIED_DAYS_AGO = {
    Stage.APPLIED: [3, 1, 2],
    Stage.APPROVED: [12, 9],
    Stage.ONBOARDING: [45, 38, 30],
    Stage.ACTIVATED: [110, 85, 95],
    Stage.ACTIVE: [230, 205, 180, 150, 215, 195],
    Stage.DORMANT: [240, 236],
    Stage.EXITED: [140, 125],
}


def seed_onboarding(spec: DemoTenant, seeded: Seeded) -> None:
    """The tenant's default onboarding plans, and for each demo partner that has only the row of its
    creation: its lifecycle history back-dated (applied, approved, onboarding, first deal, ...), its
    onboarding task list with the tasks done by then, and stall detection run once (without email).
    Runs in the tenant's scope; a partner that has more history already is left as it is."""
    from datetime import timedelta

    from django.utils import timezone

    from partners.models import (
        AgreementAcceptance,
        CriterionKind,
        IdealPartnerCriterion,
        PartnerApplication,
        ProgramAgreement,
        QualifyingQuestion,
        Specialisation,
    )

    specialisations = {}
    for slug, name in DEMO_SPECIALISATIONS:
        specialisations[slug], _ = Specialisation.objects.get_or_create(slug=slug, defaults={"name": name})
    partner_types = {t.slug: t for t in PartnerType.objects.all()}
    questions = {}
    for position, (key, text, kind, choices, types) in enumerate(DEMO_QUESTIONS, start=1):
        question, created = QualifyingQuestion.objects.get_or_create(
            key=key, defaults={"text": text, "kind": kind, "choices": choices, "position": position}
        )
        if created and types:
            question.partner_types.set([partner_types[t] for t in types])
        questions[key] = question

    home_region = NA if spec.slug == "acme" else EMEA
    if not IdealPartnerCriterion.objects.exists():
        criteria = [
            (
                "Resells our products",
                25,
                {"kind": CriterionKind.PARTNER_TYPE, "partner_type": partner_types["reseller"]},
            ),
            (f"Sells in {home_region.label}", 25, {"kind": CriterionKind.REGION, "region": home_region}),
            ("At least 50 employees", 15, {"kind": CriterionKind.MIN_EMPLOYEES, "minimum": 50}),
            (
                "Does cloud migrations",
                15,
                {"kind": CriterionKind.SPECIALISATION, "specialisation": specialisations["cloud-migration"]},
            ),
            (
                "Already sells SaaS",
                10,
                {"kind": CriterionKind.ANSWER, "question": questions["sells-saas"], "expected_answer": "yes"},
            ),
            (
                "At least 5 certified engineers",
                10,
                {"kind": CriterionKind.ANSWER, "question": questions["certified-engineers"], "minimum": 5},
            ),
        ]
        for label, weight, fields in criteria:
            IdealPartnerCriterion.objects.create(label=label, weight=weight, **fields)

    for demo in _applications(spec.slug, home_region):
        domain = partner_services.website_domain_of(demo.website)
        if PartnerApplication.objects.filter(website_domain=domain).exists():
            continue
        application = partner_services.application_submit(
            company_name=demo.company_name,
            website=demo.website,
            country=demo.country,
            region=demo.region,
            partner_type=partner_types[demo.partner_type],
            employee_count=demo.employee_count,
            contact_name=demo.contact_name,
            contact_email=demo.contact_email,
            specialisations=[specialisations[s] for s in demo.specialisations],
            answers=demo.answers,
            send_confirmation=False,
        )
        PartnerApplication.objects.filter(pk=application.pk).update(
            submitted_at=timezone.now() - timedelta(days=demo.days_ago)
        )

    agreement = ProgramAgreement.objects.filter(partner_type__isnull=True).order_by("-version").first()
    if agreement is None:
        agreement = ProgramAgreement.objects.create(
            version=1,
            title=f"{spec.name} partner program agreement",
            body=DEMO_AGREEMENT,
            published_at=timezone.now() - timedelta(days=30),
        )
    # Every demo partner with people has accepted it, so the demo logins open the portal at once.
    for demo_partner in spec.partners:
        admin = next((p for p in demo_partner.people if p.role == ADMIN), None)
        partner = Partner.objects.filter(name=demo_partner.name).first()
        if admin is None or partner is None:
            continue
        if AgreementAcceptance.objects.filter(agreement=agreement, partner=partner).exists():
            continue
        AgreementAcceptance.objects.create(
            agreement=agreement,
            partner=partner,
            user=User.objects.get(email__iexact=admin.email),
            typed_name=admin.full_name,
            user_agent="seed_demo",
        )
    from onboarding import services as onboarding_services
    from onboarding.models import Onboarding, OnboardingTask, TaskStatus
    from partners.models import StageChange

    tenant = seeded.tenant
    onboarding_services.onboarding_plans_add_defaults(tenant=tenant)
    now = timezone.now()
    seen: dict[str, int] = {}
    for index, demo_partner in enumerate(spec.partners):
        partner = Partner.objects.filter(name=demo_partner.name).first()
        history = list(StageChange.objects.filter(partner=partner))
        if partner is None or len(history) != 1 or Onboarding.objects.filter(partner=partner).exists():
            continue
        # Varied but repeatable figures, from the partner's place in the list.
        stage = demo_partner.stage
        nth = seen[stage] = seen.get(stage, -1) + 1
        days_ago = DEMO_APPLIED_DAYS_AGO[stage][nth % len(DEMO_APPLIED_DAYS_AGO[stage])]
        applied = now - timedelta(days=days_ago, hours=index)
        approved = min(applied + timedelta(days=2 + (index * 5) % 11, hours=3), now - timedelta(days=1))
        first_deal = approved + timedelta(days=12 + (index * 17) % 40)
        moves = [(Stage.APPLIED, applied, "Application received")]
        if stage != Stage.APPLIED:
            moves.append((Stage.APPROVED, approved, "Approved by the channel team"))
        if stage not in (Stage.APPLIED, Stage.APPROVED):
            moves.append((Stage.ONBOARDING, approved, "Onboarding started"))
        if stage in (Stage.ACTIVATED, Stage.ACTIVE, Stage.DORMANT):
            moves.append((Stage.ACTIVATED, first_deal, "First deal registered"))
        if stage in (Stage.ACTIVE, Stage.DORMANT):
            moves.append((Stage.ACTIVE, first_deal + timedelta(days=30), "Second closed deal"))
        if stage == Stage.DORMANT:
            moves.append((Stage.DORMANT, first_deal + timedelta(days=120), "No deal for 90 days"))
        if stage == Stage.EXITED:
            moves.append((Stage.EXITED, approved + timedelta(days=60), "Left the program"))
        # The creation row becomes the application; the moves since follow it, dated as they happened.
        first, *rest = moves
        StageChange.objects.filter(pk=history[0].pk).update(
            from_stage="", to_stage=first[0], changed_at=first[1], reason=first[2]
        )
        previous = first[0]
        for to_stage, when, reason in rest:
            StageChange.objects.create(
                partner=partner, from_stage=previous, to_stage=to_stage, changed_at=when, reason=reason
            )
            previous = to_stage
        if stage in (Stage.APPLIED, Stage.APPROVED):
            continue
        onboarding = onboarding_services.onboarding_start(partner=partner, acting_user=None, now=approved)
        tasks = list(onboarding.tasks.all())
        if stage == Stage.ONBOARDING:
            done = tasks[: 2 + index % 2]  # under way: the first tasks done, the later ones open or overdue
        elif stage == Stage.EXITED:
            done = tasks[:1]
        elif stage == Stage.ACTIVATED and index % 2:
            done = tasks[:-2]  # activated with a task or two left
        else:
            done = tasks
        # Back-dated by hand: the services stamp the present, and this history happened in the past.
        step = (first_deal - approved) / (len(tasks) or 1)
        for position, task in enumerate(done, start=1):
            OnboardingTask.objects.filter(pk=task.pk).update(
                status=TaskStatus.DONE, completed_at=approved + step * position
            )
        if done and len(done) == len(tasks):
            Onboarding.objects.filter(pk=onboarding.pk).update(completed_at=approved + step * len(tasks))
    onboarding_services.onboarding_detect_stalls(tenant=tenant, notify=False)


# --- enablement: a small library, a course with a quiz, and a certification -------------------------------


def render_pdf(title: str) -> bytes:
    """A one-page PDF that says `title`: enough for the library's download to open in a viewer."""
    text = title.replace("\\", "").replace("(", "").replace(")", "")
    stream = f"BT /F1 24 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def seed_enablement(tenant: Tenant) -> None:
    """The tenant's library (one asset for Gold resellers only), a course with modules and a quiz, and the
    certification it leads to; skipped when the course exists. Runs in the tenant's scope."""
    from enablement import services as enablement_services
    from enablement.models import (
        Asset,
        AssetKind,
        Certification,
        Choice,
        Course,
        Module,
        ModuleKind,
        Question,
    )

    course_title = f"Selling {tenant.name}: foundations"
    if Course.objects.filter(title=course_title).exists():
        return
    tiers = {t.slug: t for t in Tier.objects.all()}
    partner_types = {t.slug: t for t in PartnerType.objects.all()}

    def asset(title, kind, *, description, product="", tags="", url="", tier_slugs=(), type_slugs=()):
        upload = ContentFile(render_pdf(title), name=f"{title}.pdf") if kind == AssetKind.FILE else None
        saved = enablement_services.asset_save(
            asset=Asset(title=title, kind=kind, description=description, product=product, tags=tags, url=url),
            upload=upload,
            acting_user=None,
        )
        saved.audience_tiers.set([tiers[s] for s in tier_slugs if s in tiers])
        saved.audience_partner_types.set([partner_types[s] for s in type_slugs if s in partner_types])
        return saved

    overview = asset(
        f"{tenant.name} platform overview",
        AssetKind.FILE,
        description="What the platform does, for whom, and how it is priced.",
        product="Platform",
        tags="overview, pitch",
    )
    asset(
        "Gold reseller price list",
        AssetKind.FILE,
        description="Discounts and deal-registration margins for Gold resellers.",
        product="Platform",
        tags="pricing",
        tier_slugs=["gold"],
        type_slugs=["reseller"],
    )
    asset(
        "Product demo in ten minutes",
        AssetKind.VIDEO,
        description="A recorded demo to share with prospects.",
        product="Platform",
        tags="demo, video",
        url="https://video.example.com/watch/platform-demo",
    )
    asset(
        "Competitive battlecard",
        AssetKind.LINK,
        description="How we win against the usual alternatives.",
        tags="competition",
        url="https://docs.example.com/battlecard",
    )

    course = Course.objects.create(
        title=course_title,
        slug="sales-fundamentals",  # the standard onboarding plan's course task
        summary="The product, the customers who buy it, and how to register and win a deal.",
        pass_mark=67,
        max_attempts=3,
    )
    Module.objects.create(
        course=course,
        position=1,
        title="Who buys it",
        body="<p>Mid-sized companies with <strong>50 to 500</strong> seats that outgrew spreadsheets.</p>",
    )
    Module.objects.create(
        course=course, position=2, title="The overview deck", kind=ModuleKind.ASSET, asset=overview
    )
    Module.objects.create(
        course=course,
        position=3,
        title="Watch the demo",
        kind=ModuleKind.VIDEO,
        video_url="https://video.example.com/watch/platform-demo",
    )
    quiz = [
        ("Which companies fit best?", "single", [("50 to 500 seats", True), ("Sole traders", False)]),
        (
            "When do you register a deal?",
            "single",
            [("Before the first meeting", True), ("After it closes", False)],
        ),
        (
            "Which are partner benefits?",
            "multiple",
            [("Deal protection", True), ("Margins by tier", True), ("Free hardware", False)],
        ),
    ]
    for position, (text, kind, choices) in enumerate(quiz, start=1):
        question = Question.objects.create(course=course, position=position, text=text, kind=kind)
        for choice_text, correct in choices:
            Choice.objects.create(question=question, text=choice_text, is_correct=correct)
    certification = Certification.objects.create(
        name=f"{tenant.name} Certified Sales Professional",
        description="For partner sellers who know the product and the program.",
        valid_months=12,
    )
    certification.courses.add(course)

    # Some engagement, so the managers' reports show figures: the people of the first active partner (by
    # name) open the overview, and the first of them passes the course and holds the certificate.
    people = list(
        PartnerMembership.objects.select_related("membership__user", "partner")
        .filter(partner__stage=Stage.ACTIVE, membership__is_active=True)
        .order_by("partner__name", "membership__user__email")
    )
    people = [link for link in people if link.partner_id == people[0].partner_id] if people else []
    for link in people:
        person = link.membership.user
        enablement_services.asset_record_view(asset=overview, partner=link.partner, acting_user=person)
    if people:
        first = people[0]
        attempt = enablement_services.quiz_attempt_start(
            course=course, partner=first.partner, acting_user=first.membership.user
        )
        answers = {
            question.pk: {choice.pk for choice in question.choices.all() if choice.is_correct}
            for question in course.questions.prefetch_related("choices")
        }
        enablement_services.quiz_attempt_submit(
            attempt=attempt, answers=answers, acting_user=first.membership.user
        )


# --- incentives ------------------------------------------------------------------------------------------


def seed_incentives(spec: DemoTenant) -> None:
    """incentives: tier rules and benefits, the rebates of the demo's won deals, an MDF request paid through a
    claim with a proof and one waiting for the manager, and an evaluation so recommendations show."""
    import datetime
    from decimal import Decimal

    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.utils import timezone

    from dealreg.models import Deal, DealStatus
    from incentives import services as incentive_services
    from incentives.models import MdfRequest, TierEvaluation

    incentive_services.tier_rules_add_defaults()
    for deal in Deal.objects.filter(status=DealStatus.WON).order_by("pk"):
        incentive_services.rebate_accrue(deal=deal)
    manager = User.objects.get(email__iexact=spec.manager.email)
    first = next((p for p in spec.partners if p.people and p.tier in ("gold", "platinum")), None)
    if first is not None and not MdfRequest.objects.exists():
        partner = Partner.objects.get(name=first.name)
        admin = User.objects.get(email__iexact=first.people[0].email)
        today = timezone.localdate()
        paid = incentive_services.mdf_request_submit(
            partner=partner,
            title="Customer roadshow",
            description="Three half-day sessions with customers in our region.",
            amount=Decimal("3000"),
            starts_on=today,
            ends_on=today,
            acting_user=admin,
        )
        paid = incentive_services.mdf_request_approve(
            request=paid, acting_user=manager, reason="Good fit.", notify=False
        )
        proof = SimpleUploadedFile("roadshow-invoice.pdf", render_pdf("Roadshow invoice"), "application/pdf")
        claim = incentive_services.mdf_claim_submit(
            request=paid, amount=Decimal("2750"), note="Venue and catering.", files=[proof], acting_user=admin
        )
        incentive_services.mdf_claim_approve(claim=claim, acting_user=manager, notify=False)
        incentive_services.mdf_request_submit(
            partner=partner,
            title="Webinar series",
            description="Four webinars on migrating to the cloud.",
            amount=Decimal("2000"),
            starts_on=today,
            ends_on=today + datetime.timedelta(days=30),
            acting_user=admin,
        )
    # The nightly evaluation has run for months: partners that have been below their tier since then are
    # past the grace period, so their downgrades are recommended.
    if not TierEvaluation.objects.exists():
        incentive_services.tiers_evaluate(now=timezone.now() - datetime.timedelta(days=100))
    incentive_services.tiers_evaluate()
