"""The demo's enablement content: seeded once per tenant, with a Gold-reseller-only asset."""

from __future__ import annotations

from io import StringIO

import filetype
import pytest
from django.core.management import call_command

from enablement.models import Asset, Certification, CertificationAward, Course
from partners.models import Partner
from prm.models import Tenant
from prm.tenancy import tenant_scope

pytestmark = pytest.mark.django_db


def test_the_demo_seeds_a_library_a_course_and_a_certification_once_per_tenant():
    call_command("seed_demo", stdout=StringIO())
    call_command("seed_demo", stdout=StringIO())
    for tenant in Tenant.objects.all():
        with tenant_scope(tenant):
            course = Course.objects.get()
            assert course.modules.count() == 3 and course.questions.count() == 3
            assert list(Certification.objects.get().courses.all()) == [course]
            assert Asset.objects.count() == 4
            gold_only = Asset.objects.get(title="Gold reseller price list")
            with gold_only.file.open("rb") as handle:
                assert filetype.guess(handle.read(2048)).extension == "pdf"
            visible = {
                partner.name
                for partner in Partner.objects.select_related("tier", "partner_type")
                if gold_only.audience_allows(partner)
            }
            expected = {
                p.name for p in Partner.objects.filter(tier__slug="gold", partner_type__slug="reseller")
            }
            assert visible == expected and expected
            # One person of the first active partner passed the course and holds the certificate.
            award = CertificationAward.objects.select_related("partner").get()
            assert award.is_valid() and award.partner.stage == "active"
