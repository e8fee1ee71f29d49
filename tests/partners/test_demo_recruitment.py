"""The demo's recruitment data: pending applications with varied fit scores, and an accepted agreement so
that demo logins are not stopped at the agreement gate."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.test import Client

from partners.models import AgreementAcceptance, PartnerApplication, ProgramAgreement
from prm import demo
from prm.models import Tenant, User
from prm.tenancy import tenant_scope

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def test_each_demo_tenant_has_pending_applications_of_varied_fit_and_an_accepted_agreement():
    call_command("seed_demo", stdout=StringIO())
    call_command("seed_demo", stdout=StringIO())  # again: nothing doubles
    for spec in demo.TENANTS:
        tenant = Tenant.objects.get(slug=spec.slug)
        with tenant_scope(tenant):
            scores = sorted(PartnerApplication.objects.pending().values_list("fit_score", flat=True))
            assert scores == {"acme": [0, 10, 40, 90], "globex": [0, 35, 40, 90]}[spec.slug]
            assert ProgramAgreement.objects.count() == 1
            with_admins = [p for p in spec.partners if any(person.role == demo.ADMIN for person in p.people)]
            assert AgreementAcceptance.objects.count() == len(with_admins)
        for partner in spec.partners:
            for person in partner.people:
                client = Client(HTTP_HOST=spec.domain)
                client.force_login(User.objects.get(email=person.email))
                assert client.get("/").status_code == 200, person.email
    assert mail.outbox == []
