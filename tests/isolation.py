"""The registry the tenant-isolation harness walks: a sample object for every URL and admin model.

Every URL pattern of the tenant portal must appear here (or be declared public, or come from allauth's
account pages, which hold no tenant data). `tests/test_isolation.py` fails for a URL without an entry, so a
new view cannot ship without saying which object it shows and who may see it (the 18F "tock" pattern).

When you add a view: add `URLS["<name>"] = Case(kwargs=lambda tc: {...}, roles=...)` with the kwargs that
point at one of the tenant's objects and the roles of that tenant that may open it (they must get a 200).
When you register a model on the tenant admin: add `ADMIN_OBJECTS["app_label.model"] = lambda tc: obj`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from crm_sync import services as crm_services
from crm_sync.models import CRMConnection, OutboxEntry
from prm.models import PARTNER_ROLES, STAFF_ROLES, Membership, Role, Tenant, TenantDomain

ALL_ROLES = frozenset(Role.values)


@dataclass(frozen=True)
class Case:
    """A URL of the portal: kwargs naming one object of the tenant cast `tc`, and who may open it."""

    kwargs: Callable = field(default=lambda tc: {})
    roles: frozenset = ALL_ROLES
    query: Callable = field(default=lambda tc: {})


# Patterns that serve no tenant data: answered the same to anyone, signed in or not.
PUBLIC = {
    "healthz": "health probe: database, broker, worker; no tenant rows",
    "tenant_logo": "the tenant's own logo on its own host, needed by the sign-in page",
    "set_language": "stores a language choice in a cookie",
}

URLS: dict[str, Case] = {
    "home": Case(),
    # Partner people are sent on to their own organisation (a redirect); staff get the directory.
    "partners:list": Case(roles=STAFF_ROLES),
    "crm_sync:status": Case(roles=STAFF_ROLES),
    "partners:detail": Case(kwargs=lambda tc: {"slug": tc.partner.slug}, roles=STAFF_ROLES | PARTNER_ROLES),
    # Admin views that are not per model.
    "admin:index": Case(roles=STAFF_ROLES),
    "admin:app_list": Case(kwargs=lambda tc: {"app_label": "partners"}, roles=STAFF_ROLES),
    "admin:jsi18n": Case(roles=STAFF_ROLES),
    # Runs the CRM connection test: POST only, tenant admins only; another tenant's connection is a 404.
    "admin:crm_sync_crmconnection_test": Case(
        kwargs=lambda tc: {"object_id": crm_connection(tc).pk}, roles=frozenset()
    ),
    # onboarding: staff pages; the task actions are POST only (a GET of a task is a 404 for outsiders, 405
    # for those who may act on it).
    "onboarding:overview": Case(roles=STAFF_ROLES),
    "onboarding:metrics": Case(roles=STAFF_ROLES),
    "onboarding:task_tick": Case(
        kwargs=lambda tc: {"public_id": onboarding_task(tc).public_id}, roles=frozenset()
    ),
    "onboarding:task_sign_off": Case(
        kwargs=lambda tc: {"public_id": onboarding_task(tc).public_id}, roles=frozenset()
    ),
    "onboarding:task_send_back": Case(
        kwargs=lambda tc: {"public_id": onboarding_task(tc).public_id}, roles=frozenset()
    ),
    "admin:autocomplete": Case(
        roles=STAFF_ROLES,
        query=lambda tc: {"app_label": "partners", "model_name": "partner", "field_name": "tier", "term": ""},
    ),
}


def crm_connection(tc) -> CRMConnection:
    """The tenant's CRM connection (the cast has none until a test makes one)."""
    from tests.factories import CRMConnectionFactory

    return CRMConnection.objects.first() or CRMConnectionFactory(tenant=tc.tenant)


def onboarding_task(tc):
    """A task of the cast's partner: its onboarding started (the partner is active, so no stage moves)."""
    from onboarding import services as onboarding_services

    onboarding = onboarding_services.onboarding_start(partner=tc.partner, acting_user=None)
    return onboarding.tasks.order_by("position").first()


# --- enablement: the library, courses, certificates, reports ---------------------------------------------
def _enablement(tc):
    from tests.enablement.samples import sample_content

    return sample_content(tc)


def _enablement_attempt(tc):
    from tests.enablement.samples import sample_attempt

    return sample_attempt(tc)


def _enablement_award(tc):
    from tests.enablement.samples import sample_award

    return sample_award(tc)


PUBLIC["enablement:certificate"] = (
    "a person's shareable certificate at an unguessable code, looked up in the host's tenant only "
    "(tests/enablement/test_certifications.py checks another tenant's host answers 404)"
)
URLS.update(
    {
        "enablement:library": Case(),
        "enablement:asset": Case(kwargs=lambda tc: {"public_id": _enablement(tc).asset.public_id}),
        "enablement:asset_download": Case(kwargs=lambda tc: {"public_id": _enablement(tc).asset.public_id}),
        "enablement:courses": Case(),
        "enablement:course": Case(kwargs=lambda tc: {"public_id": _enablement(tc).course.public_id}),
        # POST only, for partner people: a GET is refused once the object is found.
        "enablement:module_complete": Case(
            kwargs=lambda tc: {
                "public_id": _enablement(tc).course.public_id,
                "module_id": _enablement(tc).course.modules.get().public_id,
            },
            roles=frozenset(),
        ),
        "enablement:quiz_start": Case(
            kwargs=lambda tc: {"public_id": _enablement(tc).course.public_id}, roles=frozenset()
        ),
        # A quiz attempt is its person's own: only the cast's partner user opens theirs.
        "enablement:attempt": Case(
            kwargs=lambda tc: {"public_id": _enablement_attempt(tc).public_id},
            roles=frozenset({Role.PARTNER_USER}),
        ),
        "enablement:certifications": Case(),
        "enablement:report_partners": Case(roles=STAFF_ROLES),
        "enablement:report_assets": Case(roles=STAFF_ROLES),
        "enablement:report_courses": Case(roles=STAFF_ROLES),
    }
)


# Admin object views (change, delete, history) of every model on the tenant admin site, with the object.
ADMIN_OBJECTS: dict[str, Callable] = {
    "prm.tenant": lambda tc: tc.tenant,
    "prm.tenantdomain": lambda tc: TenantDomain.objects.get(tenant=tc.tenant),
    "prm.membership": lambda tc: Membership.objects.get(user=tc.manager),
    "prm.exchangerate": lambda tc: sample_exchange_rate(tc),
    "partners.partner": lambda tc: tc.partner,
    "partners.partnertype": lambda tc: tc.partner.partner_type,
    "partners.tier": lambda tc: tc.partner.tier,
    "crm_sync.crmconnection": crm_connection,
    "crm_sync.fieldmapping": lambda tc: crm_services.mappings_for(tc.tenant, "partners.partner")[0],
    "crm_sync.outboxentry": lambda tc: OutboxEntry.objects.filter(tenant=tc.tenant).first(),
    "crm_sync.watermark": lambda tc: _crm_inbound(tc, "watermark"),
    "crm_sync.mirrorlink": lambda tc: _crm_inbound(tc, "mirror_link"),
    "crm_sync.resolution": lambda tc: _crm_inbound(tc, "resolution"),
    "crm_sync.driftrun": lambda tc: _crm_inbound(tc, "drift_run"),
    # onboarding
    "onboarding.onboardingplan": lambda tc: onboarding_plan(tc),
    "onboarding.onboardingsettings": lambda tc: onboarding_settings(tc),
    "onboarding.onboarding": lambda tc: onboarding_task(tc).onboarding,
    "onboarding.onboardingtask": lambda tc: onboarding_task(tc),
    "onboarding.partnerevent": lambda tc: onboarding_event(tc),
    # enablement
    "enablement.asset": lambda tc: _enablement(tc).asset,
    "enablement.course": lambda tc: _enablement(tc).course,
    "enablement.question": lambda tc: _enablement(tc).question,
    "enablement.certification": lambda tc: _enablement(tc).certification,
    "enablement.certificationaward": _enablement_award,
}


def _crm_inbound(tc, which: str):
    """One row of each of the inbound sync's models, about the tenant's partner (made on first use)."""
    from crm_sync.models import DriftRun, MirrorLink, Resolution, Watermark
    from tests.factories import DriftRunFactory, MirrorLinkFactory, ResolutionFactory, WatermarkFactory

    about = {"object_key": "partners.partner", "record_id": tc.partner.pk}
    if which == "watermark":
        return Watermark.objects.first() or WatermarkFactory(tenant=tc.tenant, crm_object="Account")
    if which == "mirror_link":
        return MirrorLink.objects.filter(**about).first() or MirrorLinkFactory(
            tenant=tc.tenant, **about, flag="Refused: not a stage", flagged_at=tc.partner.created_at
        )
    if which == "resolution":
        return Resolution.objects.first() or ResolutionFactory(tenant=tc.tenant, **about, crm_field="Name")
    return DriftRun.objects.first() or DriftRunFactory(tenant=tc.tenant, drift_count=2)


def onboarding_plan(tc):
    from onboarding.models import OnboardingPlan

    return OnboardingPlan.objects.filter(partner_type__isnull=True).get()


def onboarding_settings(tc):
    from onboarding import services as onboarding_services

    return onboarding_services.onboarding_settings()


def onboarding_event(tc):
    from onboarding import services as onboarding_services
    from onboarding.models import PartnerEvent, TaskKind

    onboarding_services.onboarding_record_event(partner=tc.partner, kind=TaskKind.PROFILE_COMPLETED)
    return PartnerEvent.objects.get(partner=tc.partner, kind=TaskKind.PROFILE_COMPLETED)


# Admin URLs that need no sample: they redirect to allauth (login, logout) or belong to the person.
ADMIN_SELF = {
    "admin:login": "redirects to the portal's sign-in",
    "admin:logout": "redirects to the portal's sign-out",
    "admin:password_change": "the signed-in person's own password",
    "admin:password_change_done": "the signed-in person's own password",
}

# "View on site" takes a content type and an object id; its sample is the partner.
VIEW_ON_SITE = "admin:view_on_site"


def tenant_markers(tc) -> list[str]:
    """Strings that only appear on a page showing the tenant's data."""
    tenant: Tenant = tc.tenant
    people = [
        tc.tenant_admin,
        tc.manager,
        tc.partner_admin,
        tc.partner_user,
        tc.other_partner_admin,
        tc.other_partner_user,
    ]
    return [
        tenant.name,
        tc.partner.name,
        tc.other_partner.name,
        tc.partner.slug,
        tc.other_partner.slug,
        tc.partner.website_domain,
        *(p.email for p in people),
        *tc.extra_markers,
    ]


# ---- partners/ recruitment: the application form, review queue, agreement gate, team and profile ---------


def application(tc):
    """A pending application of the tenant (made on first use)."""
    from partners.models import PartnerApplication
    from tests.factories import PartnerApplicationFactory

    return PartnerApplication.objects.filter(status="pending").first() or PartnerApplicationFactory(
        tenant=tc.tenant, partner_type=tc.partner.partner_type, company_name=f"Applicant of {tc.tenant.name}"
    )


def agreement(tc):
    from partners.models import ProgramAgreement
    from tests.factories import ProgramAgreementFactory

    return ProgramAgreement.objects.first() or ProgramAgreementFactory(tenant=tc.tenant)


def agreement_acceptance(tc):
    from partners.models import AgreementAcceptance
    from tests.factories import AgreementAcceptanceFactory

    return AgreementAcceptance.objects.first() or AgreementAcceptanceFactory(
        tenant=tc.tenant, agreement=agreement(tc), partner=tc.partner, user=tc.partner_admin
    )


def _recruitment_sample(model_name, factory_name):
    def sample(tc):
        from partners import models
        from tests import factories

        return getattr(models, model_name).objects.first() or getattr(factories, factory_name)(
            tenant=tc.tenant
        )

    return sample


def partner_profile(tc):
    from partners.models import PartnerProfile
    from tests.factories import PartnerProfileFactory

    return PartnerProfile.objects.first() or PartnerProfileFactory(tenant=tc.tenant, partner=tc.partner)


PUBLIC.update(
    {
        "recruitment:apply": "the public application form: the tenant's branding, partner types, "
        "specialisations and qualifying questions, which the program publishes; no partner or person",
        "recruitment:apply_thanks": "a fixed thank-you page after applying",
    }
)
URLS.update(
    {
        "recruitment:applications:list": Case(roles=STAFF_ROLES),
        "recruitment:applications:detail": Case(
            kwargs=lambda tc: {"public_id": application(tc).public_id}, roles=STAFF_ROLES
        ),
        # POST only: a GET is refused (405) after the access check.
        "recruitment:applications:decide": Case(
            kwargs=lambda tc: {"public_id": application(tc).public_id}, roles=frozenset()
        ),
        "recruitment:agreement": Case(roles=PARTNER_ROLES),
        "recruitment:team:list": Case(roles=frozenset({Role.PARTNER_ADMIN})),
        "recruitment:team:deactivate": Case(
            kwargs=lambda tc: {"public_id": Membership.objects.get(user=tc.partner_user).public_id},
            roles=frozenset(),
        ),
        "recruitment:profile:edit": Case(roles=frozenset({Role.PARTNER_ADMIN})),
    }
)
ADMIN_OBJECTS.update(
    {
        "partners.partnerapplication": application,
        "partners.programagreement": agreement,
        "partners.agreementacceptance": agreement_acceptance,
        "partners.qualifyingquestion": _recruitment_sample("QualifyingQuestion", "QualifyingQuestionFactory"),
        "partners.specialisation": _recruitment_sample("Specialisation", "SpecialisationFactory"),
        "partners.idealpartnercriterion": _recruitment_sample(
            "IdealPartnerCriterion", "IdealPartnerCriterionFactory"
        ),
        "partners.partnerprofile": partner_profile,
    }
)


# --- dealreg ----------------------------------------------------------------------------------------------


def sample_deal(tc):
    """An approved deal registered by the tenant's partner user (made through the services once)."""
    import datetime

    from dealreg import services as deal_services
    from dealreg.models import Deal

    deal = Deal.objects.filter(partner=tc.partner).first()
    if deal is None:
        deal = deal_services.deal_register(
            partner=tc.partner,
            data=deal_services.DealInput(
                name=f"{tc.tenant.name} sample deal",
                customer_name=f"{tc.tenant.name} Sample Customer",
                customer_domain=f"sample-customer-{tc.tenant.slug}.example",
                customer_country="DE",
                contact_name="Sam Sample",
                contact_email="",
                products="Suite",
                amount=1000,
                currency="USD",
                expected_close_date=datetime.date.today() + datetime.timedelta(days=30),
            ),
            acting_user=tc.partner_user,
        )
        deal = deal_services.deal_approve(deal=deal, acting_user=tc.manager)
    return deal


def sample_extension(tc):
    from dealreg import services as deal_services

    deal = sample_deal(tc)
    return deal.extensions.first() or deal_services.extension_request(
        deal=deal, days=10, reason="Board meeting moved.", acting_user=tc.partner_user
    )


def sample_attachment(tc):
    from django.core.files.base import ContentFile

    from dealreg.models import DealAttachment

    deal = sample_deal(tc)
    return deal.attachments.first() or DealAttachment.objects.create(
        deal=deal,
        file=ContentFile(b"%PDF-1.4 quote", name="quote.pdf"),
        name="quote.pdf",
        extension="pdf",
        size=14,
    )


URLS.update(
    {
        "dealreg:list": Case(),
        "dealreg:register": Case(roles=PARTNER_ROLES),
        "dealreg:conflict_check": Case(roles=PARTNER_ROLES, query=lambda tc: {"customer_name": "Anything"}),
        "dealreg:queue": Case(roles=STAFF_ROLES),
        "dealreg:pipeline": Case(roles=STAFF_ROLES),
        "dealreg:detail": Case(kwargs=lambda tc: {"public_id": sample_deal(tc).public_id}),
        # POST only: a GET is refused (405) after the access check, so outsiders still get a 404.
        "dealreg:decide": Case(kwargs=lambda tc: {"public_id": sample_deal(tc).public_id}, roles=frozenset()),
        "dealreg:close": Case(kwargs=lambda tc: {"public_id": sample_deal(tc).public_id}, roles=frozenset()),
        "dealreg:extend": Case(kwargs=lambda tc: {"public_id": sample_deal(tc).public_id}, roles=frozenset()),
        "dealreg:attachment": Case(kwargs=lambda tc: {"public_id": sample_attachment(tc).public_id}),
        "dealreg:extension_decide": Case(
            kwargs=lambda tc: {"public_id": sample_extension(tc).public_id}, roles=frozenset()
        ),
    }
)
ADMIN_OBJECTS.update(
    {
        "dealreg.dealregsettings": lambda tc: __import__("dealreg.models").models.DealRegSettings.current(),
        "dealreg.customeraccount": lambda tc: sample_deal(tc).customer,
        "dealreg.deal": sample_deal,
        "dealreg.extensionrequest": sample_extension,
    }
)


# --- incentives: tiers, the ledger, payout statements, MDF -------------------------------------------------


def sample_mdf_claim(tc):
    """An approved MDF request of the tenant's partner, claimed with a PDF proof (through the services)."""
    import datetime
    from decimal import Decimal

    from django.core.files.uploadedfile import SimpleUploadedFile

    from incentives import selectors as incentive_selectors
    from incentives import services as incentive_services
    from incentives.models import MdfBudget, MdfClaim

    claim = MdfClaim.objects.filter(request__partner=tc.partner).first()
    if claim is not None:
        return claim
    today = datetime.date.today()
    start, end = incentive_selectors.quarter_of(today)
    MdfBudget.objects.get_or_create(
        partner=tc.partner, period_start=start, defaults={"period_end": end, "allowance": Decimal("5000")}
    )
    mdf = incentive_services.mdf_request_submit(
        partner=tc.partner,
        title="Sample webinar",
        description="A webinar for customers.",
        amount=Decimal("1000"),
        starts_on=today,
        ends_on=today,
        acting_user=tc.partner_admin,
    )
    mdf = incentive_services.mdf_request_approve(request=mdf, acting_user=tc.manager)
    proof = SimpleUploadedFile("invoice.pdf", b"%PDF-1.4\n%sample invoice\n", content_type="application/pdf")
    return incentive_services.mdf_claim_submit(
        request=mdf, amount=Decimal("900"), note="", files=[proof], acting_user=tc.partner_admin
    )


def sample_tier_change(tc):
    from incentives import services as incentive_services
    from incentives.models import TierChange
    from partners.models import Tier

    change = TierChange.objects.filter(partner=tc.partner).first()
    if change is None:
        tier = Tier.objects.exclude(pk=tc.partner.tier_id).order_by("rank").last()
        change = incentive_services.partner_move_tier(
            partner=tc.partner, to_tier=tier, reason="Sample move.", acting_user=tc.manager
        )
    return change


def sample_ledger_entry(tc):
    from decimal import Decimal

    from incentives import services as incentive_services
    from incentives.models import LedgerEntry

    return LedgerEntry.objects.filter(partner=tc.partner).first() or incentive_services.ledger_correct(
        partner=tc.partner, amount=Decimal("10"), memo="Sample correction.", acting_user=tc.tenant_admin
    )


def sample_exchange_rate(tc):
    import datetime
    from decimal import Decimal

    from prm.models import ExchangeRate

    return ExchangeRate.objects.first() or ExchangeRate.objects.create(
        currency="GBP", rate=Decimal("1.27"), effective_from=datetime.date(2026, 1, 1)
    )


def sample_pending_rebate(tc):
    """A won deal in CHF, registered while CHF had a rate that was taken away again: its rebate waits."""
    import datetime
    from decimal import Decimal

    from dealreg import services as deal_services
    from incentives import services as incentive_services
    from incentives.models import PendingRebate
    from prm.models import ExchangeRate

    found = PendingRebate.objects.first()
    if found is not None:
        return found
    rate = ExchangeRate.objects.create(
        currency="CHF", rate=Decimal("1"), effective_from=datetime.date(2026, 1, 1)
    )
    deal = deal_services.deal_register(
        partner=tc.partner,
        data=deal_services.DealInput(
            name=f"{tc.tenant.name} franc deal",
            customer_name=f"{tc.tenant.name} Franc Customer",
            customer_domain=f"franc-customer-{tc.tenant.slug}.example",
            customer_country="CH",
            contact_name="Sam Sample",
            contact_email="",
            products="Suite",
            amount=1000,
            currency="CHF",
            expected_close_date=datetime.date.today() + datetime.timedelta(days=30),
        ),
        acting_user=tc.partner_user,
    )
    rate.delete()
    deal = deal_services.deal_approve(deal=deal, acting_user=tc.manager, notify=False)
    deal = deal_services.deal_close(deal=deal, won=True, acting_user=tc.manager)
    incentive_services.rebate_accrue(deal=deal)
    return PendingRebate.objects.get(deal=deal)


def sample_statement(tc):
    import datetime

    from incentives import services as incentive_services
    from incentives.models import PayoutStatement

    today = datetime.date.today()
    return PayoutStatement.objects.filter(partner=tc.partner).first() or incentive_services.statement_create(
        partner=tc.partner, period_start=today.replace(day=1), period_end=today, acting_user=tc.tenant_admin
    )


def sample_evaluation(tc):
    from incentives import services as incentive_services
    from incentives.models import TierEvaluation

    if not TierEvaluation.objects.filter(partner=tc.partner).exists():
        incentive_services.tiers_evaluate()
    return TierEvaluation.objects.get(partner=tc.partner)


URLS.update(
    {
        "incentives:tier": Case(),
        "incentives:partner_tier": Case(
            kwargs=lambda tc: {"slug": tc.partner.slug}, roles=STAFF_ROLES | PARTNER_ROLES
        ),
        "incentives:mdf_new": Case(roles=PARTNER_ROLES),
        "incentives:mdf_detail": Case(
            kwargs=lambda tc: {"public_id": sample_mdf_claim(tc).request.public_id}
        ),
        # POST only: a GET is refused (405) after the access check, so outsiders still get a 404.
        "incentives:mdf_claim": Case(
            kwargs=lambda tc: {"public_id": sample_mdf_claim(tc).request.public_id}, roles=frozenset()
        ),
        "incentives:proof_download": Case(
            kwargs=lambda tc: {"public_id": sample_mdf_claim(tc).proofs.first().public_id}
        ),
    }
)
ADMIN_OBJECTS.update(
    {
        "incentives.incentivesettings": lambda tc: __import__(
            "incentives.models"
        ).models.IncentiveSettings.current(),
        "incentives.tierrule": lambda tc: __import__("incentives.models").models.TierRule.objects.first(),
        "incentives.partnertier": lambda tc: __import__("incentives.models").models.PartnerTier.objects.get(
            pk=tc.partner.pk
        ),
        "incentives.tierevaluation": sample_evaluation,
        "incentives.tierchange": sample_tier_change,
        "incentives.ledgerentry": sample_ledger_entry,
        "incentives.pendingrebate": sample_pending_rebate,
        "incentives.payoutstatement": sample_statement,
        "incentives.mdfbudget": lambda tc: sample_mdf_claim(tc).request.budget,
        "incentives.mdfrequest": lambda tc: sample_mdf_claim(tc).request,
        "incentives.mdfclaim": sample_mdf_claim,
    }
)
