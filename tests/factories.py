"""factory-boy factories for every model. Tenant-owned rows take their tenant from a SubFactory, and
related rows share it (`tenant=SelfAttribute("..tenant")`)."""

from __future__ import annotations

import factory
from allauth.account.models import EmailAddress
from django.contrib.auth.models import Permission

from crm_sync.models import AuthFlow, CRMConnection, Direction, FieldMapping, OutboxEntry, OutboxState
from partners.models import (
    Partner,
    PartnerGroupObjectPermission,
    PartnerMembership,
    PartnerType,
    PartnerUserObjectPermission,
    Region,
    Stage,
    StageChange,
    Tier,
)
from prm.models import Membership, ParkedTask, Role, Tenant, TenantDomain, User, UserSession

PASSWORD = "correct-horse-battery-staple"


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant
        django_get_or_create = ["slug"]
        skip_postgeneration_save = True

    slug = factory.Sequence(lambda n: f"tenant{n}")
    name = factory.LazyAttribute(lambda o: o.slug.capitalize() + " Inc.")
    primary_color = "#0f766e"

    @factory.post_generation
    def domain(self, create, extracted, **kwargs):
        if create:
            TenantDomain.objects.get_or_create(
                domain=extracted or f"{self.slug}.localhost", defaults={"tenant": self}
            )


class TenantDomainFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TenantDomain

    tenant = factory.SubFactory(TenantFactory, domain="")
    domain = factory.Sequence(lambda n: f"partners{n}.example.com")
    is_primary = False


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ["email"]
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    full_name = factory.Faker("name")
    password = factory.django.Password(PASSWORD)

    @factory.post_generation
    def verified(self, create, extracted, **kwargs):
        if create:
            EmailAddress.objects.get_or_create(
                user=self, email=self.email, defaults={"primary": True, "verified": extracted is not False}
            )


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    tenant = factory.SubFactory(TenantFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.CHANNEL_MANAGER


class PartnerTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PartnerType

    tenant = factory.SubFactory(TenantFactory)
    slug = factory.Sequence(lambda n: f"type-{n}")
    name = factory.Sequence(lambda n: f"Partner type {n}")


class TierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tier

    tenant = factory.SubFactory(TenantFactory)
    slug = factory.Sequence(lambda n: f"tier-{n}")
    name = factory.Sequence(lambda n: f"Tier {n}")
    rank = factory.Sequence(lambda n: 100 + n)


class PartnerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Partner

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Faker("company")
    slug = factory.Sequence(lambda n: f"partner-{n}")
    partner_type = factory.SubFactory(PartnerTypeFactory, tenant=factory.SelfAttribute("..tenant"))
    tier = factory.SubFactory(TierFactory, tenant=factory.SelfAttribute("..tenant"))
    country = "DE"
    region = Region.EMEA
    website_domain = factory.Sequence(lambda n: f"partner{n}.example.net")
    stage = Stage.ACTIVE


class StageChangeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StageChange

    tenant = factory.SubFactory(TenantFactory)
    partner = factory.SubFactory(PartnerFactory, tenant=factory.SelfAttribute("..tenant"))
    from_stage = Stage.ONBOARDING
    to_stage = Stage.ACTIVATED
    reason = "first deal registered"


class PartnerMembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PartnerMembership

    tenant = factory.SubFactory(TenantFactory)
    partner = factory.SubFactory(PartnerFactory, tenant=factory.SelfAttribute("..tenant"))
    membership = factory.SubFactory(
        MembershipFactory, tenant=factory.SelfAttribute("..tenant"), role=Role.PARTNER_USER
    )


class PartnerUserObjectPermissionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PartnerUserObjectPermission

    content_object = factory.SubFactory(PartnerFactory)
    user = factory.SubFactory(UserFactory)
    permission = factory.LazyFunction(lambda: Permission.objects.get(codename="view_partner"))


class PartnerGroupObjectPermissionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PartnerGroupObjectPermission

    content_object = factory.SubFactory(PartnerFactory)
    group = factory.SubFactory("tests.factories.GroupFactory")
    permission = factory.LazyFunction(lambda: Permission.objects.get(codename="view_partner"))


class GroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "auth.Group"

    name = factory.Sequence(lambda n: f"group-{n}")


class UserSessionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = UserSession

    user = factory.SubFactory(UserFactory)
    session_key = factory.Sequence(lambda n: f"session{n:032d}")


class ParkedTaskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ParkedTask

    task_id = factory.Faker("uuid4")
    task_name = "prm.tasks.send_email"
    tenant = factory.SubFactory(TenantFactory)
    deliveries = 3
    error = "The worker running this task died 3 times; parked instead of retried."


class CRMConnectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CRMConnection

    tenant = factory.SubFactory(TenantFactory)
    login_url = "https://login.example.com"
    auth_flow = AuthFlow.CLIENT_CREDENTIALS
    client_id = factory.Sequence(lambda n: f"connected-app-{n}")
    client_secret = "factory-secret"


class FieldMappingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FieldMapping

    tenant = factory.SubFactory(TenantFactory)
    object_key = "partners.partner"
    portal_field = "name"
    crm_field = factory.Sequence(lambda n: f"Custom_{n}__c")
    direction = Direction.TO_CRM


class OutboxEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OutboxEntry

    tenant = factory.SubFactory(TenantFactory)
    object_key = "partners.partner"
    record_id = factory.Sequence(lambda n: 1_000_000 + n)
    state = OutboxState.SENT


# ---- partners/ recruitment: applications, the ideal partner profile, agreements, profiles ----------------

from partners.models import (  # noqa: E402 - kept with the block it serves, for easy merging
    AgreementAcceptance,
    ApplicationStatus,
    CriterionKind,
    IdealPartnerCriterion,
    PartnerApplication,
    PartnerProfile,
    ProgramAgreement,
    QualifyingQuestion,
    QuestionKind,
    Specialisation,
)


class SpecialisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Specialisation

    tenant = factory.SubFactory(TenantFactory)
    slug = factory.Sequence(lambda n: f"specialisation-{n}")
    name = factory.Sequence(lambda n: f"Specialisation {n}")


class QualifyingQuestionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = QualifyingQuestion

    tenant = factory.SubFactory(TenantFactory)
    key = factory.Sequence(lambda n: f"question-{n}")
    text = factory.Sequence(lambda n: f"Question {n}?")
    kind = QuestionKind.YES_NO
    required = True


class PartnerApplicationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PartnerApplication

    tenant = factory.SubFactory(TenantFactory)
    company_name = factory.Faker("company")
    website_domain = factory.Sequence(lambda n: f"applicant{n}.example.org")
    website = factory.LazyAttribute(lambda o: f"https://{o.website_domain}/")
    country = "FR"
    region = Region.EMEA
    partner_type = factory.SubFactory(PartnerTypeFactory, tenant=factory.SelfAttribute("..tenant"))
    employee_count = 40
    contact_name = "Claire Applicant"
    contact_email = factory.Sequence(lambda n: f"applicant{n}@example.org")
    status = ApplicationStatus.PENDING


class IdealPartnerCriterionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = IdealPartnerCriterion

    tenant = factory.SubFactory(TenantFactory)
    label = "Sells in EMEA"
    kind = CriterionKind.REGION
    region = Region.EMEA
    weight = 20


class ProgramAgreementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProgramAgreement

    tenant = factory.SubFactory(TenantFactory)
    partner_type = None
    version = factory.Sequence(lambda n: n + 1)
    title = "Partner program agreement"
    body = "The partner sells the vendor's products under the program's terms."


class AgreementAcceptanceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AgreementAcceptance

    tenant = factory.SubFactory(TenantFactory)
    agreement = factory.SubFactory(ProgramAgreementFactory, tenant=factory.SelfAttribute("..tenant"))
    partner = factory.SubFactory(PartnerFactory, tenant=factory.SelfAttribute("..tenant"))
    user = factory.SubFactory(UserFactory)
    typed_name = "Alice Admin"
    ip_address = "127.0.0.1"
    user_agent = "factory"


class PartnerProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PartnerProfile

    tenant = factory.SubFactory(TenantFactory)
    partner = factory.SubFactory(PartnerFactory, tenant=factory.SelfAttribute("..tenant"))
    description = "A reseller of cloud software."
    employee_count = 25


# --- onboarding ------------------------------------------------------------------------------------------
from onboarding.models import (  # noqa: E402 - kept with onboarding's block so merges stay simple
    FirstSignIn,
    Onboarding,
    OnboardingPlan,
    OnboardingSettings,
    OnboardingTask,
    PartnerEvent,
    PlanTask,
    TaskKind,
)


class OnboardingSettingsFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OnboardingSettings

    tenant = factory.SubFactory(TenantFactory)
    stall_after_days = 14


class OnboardingPlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OnboardingPlan

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Plan {n}")
    partner_type = factory.SubFactory(PartnerTypeFactory, tenant=factory.SelfAttribute("..tenant"))


class PlanTaskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PlanTask

    tenant = factory.SubFactory(TenantFactory)
    plan = factory.SubFactory(OnboardingPlanFactory, tenant=factory.SelfAttribute("..tenant"))
    position = factory.Sequence(lambda n: n)
    title = factory.Sequence(lambda n: f"Task {n}")
    kind = TaskKind.MANUAL
    due_after_days = 7


class OnboardingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Onboarding

    tenant = factory.SubFactory(TenantFactory)
    partner = factory.SubFactory(
        PartnerFactory, tenant=factory.SelfAttribute("..tenant"), stage=Stage.ONBOARDING
    )
    plan = None


class OnboardingTaskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OnboardingTask

    tenant = factory.SubFactory(TenantFactory)
    onboarding = factory.SubFactory(OnboardingFactory, tenant=factory.SelfAttribute("..tenant"))
    position = factory.Sequence(lambda n: n)
    title = factory.Sequence(lambda n: f"Task {n}")
    kind = TaskKind.MANUAL
    due_at = factory.Faker("future_datetime", tzinfo=__import__("datetime").timezone.utc)


class PartnerEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PartnerEvent

    tenant = factory.SubFactory(TenantFactory)
    partner = factory.SubFactory(PartnerFactory, tenant=factory.SelfAttribute("..tenant"))
    kind = TaskKind.AGREEMENT_SIGNED


class FirstSignInFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FirstSignIn

    tenant = factory.SubFactory(TenantFactory)
    user = factory.SubFactory(UserFactory)
    partner = factory.SubFactory(PartnerFactory, tenant=factory.SelfAttribute("..tenant"))


# --- dealreg ---------------------------------------------------------------------------------------------


class DealRegSettingsFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "dealreg.DealRegSettings"

    tenant = factory.SubFactory(TenantFactory)


class CustomerAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "dealreg.CustomerAccount"

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Customer {n} Ltd")
    domain = factory.Sequence(lambda n: f"customer{n}.example.org")
    country = "GB"


class DealFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "dealreg.Deal"

    tenant = factory.SubFactory(TenantFactory)
    partner = factory.SubFactory(PartnerFactory, tenant=factory.SelfAttribute("..tenant"))
    registered_by = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"Deal {n}")
    customer_name = factory.Sequence(lambda n: f"Prospect {n} GmbH")
    customer_domain = factory.Sequence(lambda n: f"prospect{n}.example.org")
    customer_country = "DE"
    contact_name = "Dana Buyer"
    contact_email = "dana@prospect.example.org"
    products = "Cloud suite"
    amount = 25000
    currency = "USD"
    expected_close_date = factory.LazyFunction(lambda: __import__("datetime").date.today())


class DealConflictFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "dealreg.DealConflict"

    tenant = factory.SubFactory(TenantFactory)
    deal = factory.SubFactory(DealFactory, tenant=factory.SelfAttribute("..tenant"))
    other_deal = factory.SubFactory(DealFactory, tenant=factory.SelfAttribute("..tenant"))
    kind = "domain"
    score = 100


class DealEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "dealreg.DealEvent"

    tenant = factory.SubFactory(TenantFactory)
    deal = factory.SubFactory(DealFactory, tenant=factory.SelfAttribute("..tenant"))
    kind = "submitted"


class ExtensionRequestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "dealreg.ExtensionRequest"

    tenant = factory.SubFactory(TenantFactory)
    deal = factory.SubFactory(DealFactory, tenant=factory.SelfAttribute("..tenant"), status="approved")
    days = 30
    reason = "The customer's board meets next quarter."
    requested_by = factory.SubFactory(UserFactory)


class DealAttachmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "dealreg.DealAttachment"

    tenant = factory.SubFactory(TenantFactory)
    deal = factory.SubFactory(DealFactory, tenant=factory.SelfAttribute("..tenant"))
    file = factory.django.FileField(filename="quote.pdf", data=b"%PDF-1.4 quote")
    name = "quote.pdf"
    extension = "pdf"
    size = 14


class DealLeadFactory(DealFactory):
    class Meta:
        model = "dealreg.DealLead"


# --- enablement ------------------------------------------------------------------------------------------
from datetime import timedelta as _timedelta  # noqa: E402

from django.utils import timezone as _timezone  # noqa: E402

from enablement.models import (  # noqa: E402
    Asset,
    AssetActivity,
    AssetKind,
    Certification,
    CertificationAward,
    Choice,
    Course,
    CourseProgress,
    Module,
    Question,
    QuizAttempt,
)


class AssetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Asset

    tenant = factory.SubFactory(TenantFactory)
    kind = AssetKind.LINK
    title = factory.Sequence(lambda n: f"Sales playbook {n}")
    url = factory.Sequence(lambda n: f"https://docs.example.com/playbook-{n}")


class AssetActivityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AssetActivity

    tenant = factory.SubFactory(TenantFactory)
    asset = factory.SubFactory(AssetFactory, tenant=factory.SelfAttribute("..tenant"))
    partner = factory.SubFactory(PartnerFactory, tenant=factory.SelfAttribute("..tenant"))
    user = factory.SubFactory(UserFactory)
    views = 1


class CourseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Course

    tenant = factory.SubFactory(TenantFactory)
    title = factory.Sequence(lambda n: f"Selling the platform {n}")
    pass_mark = 50
    max_attempts = 2


class ModuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Module

    tenant = factory.SubFactory(TenantFactory)
    course = factory.SubFactory(CourseFactory, tenant=factory.SelfAttribute("..tenant"))
    position = factory.Sequence(lambda n: n + 1)
    title = factory.Sequence(lambda n: f"Module {n}")
    body = "<p>What the platform does, and for whom.</p>"


class QuestionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Question

    tenant = factory.SubFactory(TenantFactory)
    course = factory.SubFactory(CourseFactory, tenant=factory.SelfAttribute("..tenant"))
    position = factory.Sequence(lambda n: n + 1)
    text = factory.Sequence(lambda n: f"Question {n}?")


class ChoiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Choice

    tenant = factory.SubFactory(TenantFactory)
    question = factory.SubFactory(QuestionFactory, tenant=factory.SelfAttribute("..tenant"))
    text = factory.Sequence(lambda n: f"Answer {n}")
    is_correct = False


class CourseProgressFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CourseProgress

    tenant = factory.SubFactory(TenantFactory)
    course = factory.SubFactory(CourseFactory, tenant=factory.SelfAttribute("..tenant"))
    partner = factory.SubFactory(PartnerFactory, tenant=factory.SelfAttribute("..tenant"))
    user = factory.SubFactory(UserFactory)


class QuizAttemptFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = QuizAttempt

    tenant = factory.SubFactory(TenantFactory)
    progress = factory.SubFactory(CourseProgressFactory, tenant=factory.SelfAttribute("..tenant"))
    number = 1


class CertificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Certification
        skip_postgeneration_save = True

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Certified seller {n}")
    valid_months = 12

    @factory.post_generation
    def courses(self, create, extracted, **kwargs):
        if create:
            from prm.tenancy import tenant_scope

            with tenant_scope(self.tenant):  # the related manager is a scoped one
                self.courses.set(extracted or [CourseFactory(tenant=self.tenant)])


class CertificationAwardFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CertificationAward

    tenant = factory.SubFactory(TenantFactory)
    certification = factory.SubFactory(CertificationFactory, tenant=factory.SelfAttribute("..tenant"))
    partner = factory.SubFactory(PartnerFactory, tenant=factory.SelfAttribute("..tenant"))
    user = factory.SubFactory(UserFactory)
    issued_at = factory.LazyFunction(_timezone.now)
    expires_at = factory.LazyAttribute(lambda o: o.issued_at + _timedelta(days=365))


# --- incentives ------------------------------------------------------------------------------------------
from datetime import date as _date  # noqa: E402
from decimal import Decimal as _Decimal  # noqa: E402

from incentives.models import (  # noqa: E402
    EntryKind,
    IncentiveSettings,
    LedgerEntry,
    MdfBudget,
    MdfClaim,
    MdfProof,
    MdfRequest,
    PartnerTier,
    PayoutStatement,
    TierChange,
    TierEvaluation,
    TierRule,
)


class PartnerTierFactory(PartnerFactory):
    class Meta:
        model = PartnerTier


class IncentiveSettingsFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = IncentiveSettings

    tenant = factory.SubFactory(TenantFactory)


class TierRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TierRule

    tenant = factory.SubFactory(TenantFactory)
    tier = factory.SubFactory(TierFactory, tenant=factory.SelfAttribute("..tenant"))
    min_won_revenue = _Decimal("10000")
    rebate_percent = _Decimal("3")
    mdf_allowance = _Decimal("5000")


class TierEvaluationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TierEvaluation

    tenant = factory.SubFactory(TenantFactory)
    partner = factory.SubFactory(PartnerFactory, tenant=factory.SelfAttribute("..tenant"))


class TierChangeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TierChange

    tenant = factory.SubFactory(TenantFactory)
    partner = factory.SubFactory(PartnerFactory, tenant=factory.SelfAttribute("..tenant"))
    to_tier = factory.SubFactory(TierFactory, tenant=factory.SelfAttribute("..tenant"))
    reason = "Met the criteria."


class LedgerEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LedgerEntry

    tenant = factory.SubFactory(TenantFactory)
    partner = factory.SubFactory(PartnerFactory, tenant=factory.SelfAttribute("..tenant"))
    kind = EntryKind.CORRECTION
    amount = _Decimal("100")
    currency = "USD"
    entry_date = factory.LazyFunction(_date.today)
    memo = "Correction"


class PayoutStatementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PayoutStatement

    tenant = factory.SubFactory(TenantFactory)
    partner = factory.SubFactory(PartnerFactory, tenant=factory.SelfAttribute("..tenant"))
    period_start = factory.LazyFunction(lambda: _date.today().replace(day=1))
    period_end = factory.LazyFunction(_date.today)
    currency = "USD"


class MdfBudgetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MdfBudget

    tenant = factory.SubFactory(TenantFactory)
    partner = factory.SubFactory(PartnerFactory, tenant=factory.SelfAttribute("..tenant"))
    period_start = factory.LazyFunction(
        lambda: _date(_date.today().year, 3 * ((_date.today().month - 1) // 3) + 1, 1)
    )
    period_end = factory.LazyAttribute(lambda o: o.period_start + _timedelta(days=89))
    allowance = _Decimal("5000")


class MdfRequestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MdfRequest

    tenant = factory.SubFactory(TenantFactory)
    partner = factory.SubFactory(PartnerFactory, tenant=factory.SelfAttribute("..tenant"))
    budget = factory.SubFactory(
        MdfBudgetFactory, tenant=factory.SelfAttribute("..tenant"), partner=factory.SelfAttribute("..partner")
    )
    title = factory.Sequence(lambda n: f"Webinar {n}")
    description = "A customer webinar."
    amount = _Decimal("1000")
    currency = "USD"
    starts_on = factory.LazyFunction(_date.today)
    ends_on = factory.LazyFunction(_date.today)


class MdfClaimFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MdfClaim

    tenant = factory.SubFactory(TenantFactory)
    request = factory.SubFactory(MdfRequestFactory, tenant=factory.SelfAttribute("..tenant"))
    amount = _Decimal("900")


class MdfProofFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MdfProof

    tenant = factory.SubFactory(TenantFactory)
    claim = factory.SubFactory(MdfClaimFactory, tenant=factory.SelfAttribute("..tenant"))
    file = factory.django.FileField(filename="invoice.pdf", data=b"%PDF-1.4 invoice")
    name = "invoice.pdf"
    content_type = "application/pdf"
    size = 16


# ---- crm_sync inbound: watermarks, links, shared-field resolutions, drift checks ------------------------

from crm_sync.models import DriftRun, MirrorLink, Resolution, Watermark, Winner  # noqa: E402 - kept with its block


class WatermarkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Watermark

    tenant = factory.SubFactory(TenantFactory)
    crm_object = factory.Sequence(lambda n: f"Object{n}")
    modstamp = factory.LazyFunction(_timezone.now)


class MirrorLinkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MirrorLink

    tenant = factory.SubFactory(TenantFactory)
    object_key = "dealreg.deal"
    record_id = factory.Sequence(lambda n: 2_000_000 + n)
    crm_id = factory.Sequence(lambda n: f"006Em{n:010d}AAA")


class ResolutionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Resolution

    tenant = factory.SubFactory(TenantFactory)
    object_key = "dealreg.deal"
    record_id = factory.Sequence(lambda n: 3_000_000 + n)
    crm_field = "Amount"
    portal_value = "100.00"
    crm_value = "120"
    portal_written_at = factory.LazyFunction(_timezone.now)
    crm_written_at = factory.LazyFunction(_timezone.now)
    winner = Winner.CRM


class DriftRunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DriftRun

    tenant = factory.SubFactory(TenantFactory)
    records_checked = 10
    drift_count = 0


# --- exchange rates and rebates waiting for one ---------------------------------------------------------

from incentives.models import PendingRebate  # noqa: E402 - kept with its block
from prm.models import ExchangeRate  # noqa: E402 - kept with its block


class ExchangeRateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ExchangeRate

    tenant = factory.SubFactory(TenantFactory)
    currency = "EUR"
    rate = _Decimal("1.10")
    effective_from = factory.LazyFunction(_date.today)


class PendingRebateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PendingRebate

    tenant = factory.SubFactory(TenantFactory)
    partner = factory.SubFactory(PartnerFactory, tenant=factory.SelfAttribute("..tenant"))
    deal = factory.SubFactory(
        DealFactory,
        tenant=factory.SelfAttribute("..tenant"),
        partner=factory.SelfAttribute("..partner"),
        currency="CHF",
    )
    rate = _Decimal("4")
    reason = "CHF has no exchange rate to USD."
