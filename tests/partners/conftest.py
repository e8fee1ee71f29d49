"""Recruitment fixtures: acme's program with qualifying questions, specialisations and an ideal partner
profile, and helpers to apply through the public form."""

from __future__ import annotations

import pytest
from django.test import Client

from partners import services
from partners.models import (
    CriterionKind,
    IdealPartnerCriterion,
    PartnerType,
    QualifyingQuestion,
    QuestionKind,
    Region,
    Specialisation,
)
from prm import events
from prm.tenancy import tenant_scope


@pytest.fixture
def program(cast):
    """acme's recruitment setup: two specialisations, a question for everyone, one for resellers only, and
    an ideal partner profile weighing type 40, region 30, size 20 and a yes to the first question 10."""
    with tenant_scope(cast.tenant):
        reseller = PartnerType.objects.get(slug="reseller")
        Specialisation.objects.create(slug="cloud", name="Cloud migration")
        Specialisation.objects.create(slug="security", name="Security")
        sells = QualifyingQuestion.objects.create(
            key="sells-saas", text="Do you already sell SaaS?", kind=QuestionKind.YES_NO, position=1
        )
        quota = QualifyingQuestion.objects.create(
            key="annual-revenue", text="Annual software revenue (USD)", kind=QuestionKind.NUMBER, position=2
        )
        quota.partner_types.set([reseller])
        for label, weight, extra in [
            ("Is a reseller", 40, {"kind": CriterionKind.PARTNER_TYPE, "partner_type": reseller}),
            ("Sells in EMEA", 30, {"kind": CriterionKind.REGION, "region": Region.EMEA}),
            ("At least 50 employees", 20, {"kind": CriterionKind.MIN_EMPLOYEES, "minimum": 50}),
            (
                "Already sells SaaS",
                10,
                {"kind": CriterionKind.ANSWER, "question": sells, "expected_answer": "yes"},
            ),
        ]:
            IdealPartnerCriterion.objects.create(label=label, weight=weight, **extra)
    with tenant_scope(cast.globex.tenant):
        QualifyingQuestion.objects.create(
            key="globex-secret", text="Globex-only question?", kind=QuestionKind.TEXT, required=False
        )
    return cast


def form_data(**overrides) -> dict:
    data = {
        "company_name": "Fjord Systems",
        "website": "https://www.fjord-systems.example/",
        "country": "no",
        "region": Region.EMEA,
        "partner_type": "reseller",
        "employee_count": "80",
        "specialisations": ["cloud"],
        "contact_name": "Ingrid Berg",
        "contact_email": "Ingrid@fjord-systems.example",
        "contact_phone": "+47 22 00 00 00",
        "q_sells-saas": "yes",
        "q_annual-revenue": "250000",
        "company_fax": "",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def anonymous(cast, ip: str = "203.0.113.7") -> Client:
    return Client(HTTP_HOST=cast.host, REMOTE_ADDR=ip)


def signed_in(user, host: str) -> Client:
    client = Client(HTTP_HOST=host)
    client.force_login(user)
    return client


def submit(cast, **overrides):
    """An application of acme through the service, as the form would send it."""
    with tenant_scope(cast.tenant):
        data = form_data(**overrides)
        return services.application_submit(
            company_name=data["company_name"],
            website=data["website"],
            country=data["country"],
            region=data["region"],
            partner_type=PartnerType.objects.get(slug=data["partner_type"]),
            employee_count=int(data["employee_count"]),
            contact_name=data["contact_name"],
            contact_email=data["contact_email"],
            specialisations=Specialisation.objects.filter(slug__in=data.get("specialisations", [])),
            answers={"sells-saas": data.get("q_sells-saas")} if data.get("q_sells-saas") else {},
        )


@pytest.fixture
def received():
    """The lifecycle events sent during the test, as (signal name, kwargs)."""
    seen = []

    def listener(name):
        def record(sender, **kwargs):
            kwargs.pop("signal", None)
            seen.append((name, kwargs))

        return record

    receivers = {
        name: listener(name) for name in ("partner_approved", "agreement_signed", "profile_completed")
    }
    for name, receiver in receivers.items():
        getattr(events, name).connect(receiver)
    yield seen
    for name, receiver in receivers.items():
        getattr(events, name).disconnect(receiver)
