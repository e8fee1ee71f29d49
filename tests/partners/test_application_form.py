"""The public application form on a tenant's host: what it shows, what it records, and its defences."""

from __future__ import annotations

import pytest
from django.core import mail

from partners.models import ApplicationStatus, PartnerApplication
from prm.tenancy import tenant_scope
from tests import isolation
from tests.partners.conftest import anonymous, form_data, submit


def test_the_form_shows_the_tenants_questions_and_branding_and_no_tenant_data(program):
    response = anonymous(program).get("/apply/")
    body = response.content.decode()
    assert response.status_code == 200
    assert "Apply to become a partner of Acme" in body
    assert "Do you already sell SaaS?" in body
    assert "Cloud migration" in body
    assert "Globex-only question?" not in body
    leaked_markers = [m for m in isolation.tenant_markers(program.acme)[1:] if m in body]
    # The tenant's own partner type is part of what the program publishes; partners and people are not.
    assert [m for m in leaked_markers if "Distributor" not in m] == []


def test_an_application_is_recorded_scored_and_confirmed_by_email(
    program, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = anonymous(program).post("/apply/", form_data())
    assert response.status_code == 302
    assert response["Location"] == "/apply/thanks/"
    with tenant_scope(program.tenant):
        application = PartnerApplication.objects.get()
        assert application.status == ApplicationStatus.PENDING
        assert (application.website_domain, application.country) == ("fjord-systems.example", "NO")
        assert application.contact_email == "ingrid@fjord-systems.example"
        assert application.answers == {"sells-saas": "yes", "annual-revenue": 250000}
        assert [s.slug for s in application.specialisations.all()] == ["cloud"]
        assert str(application.submitted_from) == "203.0.113.7"
        assert application.fit_score == 100
    [confirmation] = mail.outbox
    assert confirmation.to == ["ingrid@fjord-systems.example"]
    assert confirmation.subject.startswith("[Acme]")


def test_bad_input_shows_field_errors_and_records_nothing(program):
    response = anonymous(program).post(
        "/apply/", form_data(website="not a site", country="Norway", employee_count="0", contact_email="x")
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert set(errors) >= {"website", "country", "employee_count", "contact_email"}
    with tenant_scope(program.tenant):
        assert not PartnerApplication.objects.exists()


def test_a_question_for_one_partner_type_is_asked_of_that_type_only(program):
    response = anonymous(program).post("/apply/", form_data(**{"q_annual-revenue": ""}))
    assert response.status_code == 200
    assert "q_annual-revenue" in response.context["form"].errors

    response = anonymous(program).post("/apply/", form_data(partner_type="msp", **{"q_annual-revenue": "99"}))
    assert response.status_code == 302
    with tenant_scope(program.tenant):
        assert PartnerApplication.objects.get().answers == {"sells-saas": "yes"}


def test_a_filled_in_honeypot_looks_like_success_and_records_nothing(program):
    response = anonymous(program).post("/apply/", form_data(company_fax="+1 555 0100"))
    assert response.status_code == 302
    with tenant_scope(program.tenant):
        assert not PartnerApplication.objects.exists()
    assert mail.outbox == []


def test_a_second_application_for_the_same_company_domain_is_told_one_exists(program):
    submit(program, company_name="Fjord Systems AS")
    response = anonymous(program).post(
        "/apply/", form_data(company_name="Fjord Other", website="http://fjord-systems.example/about")
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "An application for this company already exists" in body
    assert "Fjord Systems AS" not in body
    with tenant_scope(program.tenant):
        assert PartnerApplication.objects.count() == 1


def test_a_domain_of_an_existing_partner_is_told_one_exists(program):
    website = f"https://{program.acme.partner.website_domain}/"
    response = anonymous(program).post("/apply/", form_data(website=website))
    assert "An application for this company already exists" in response.content.decode()


def test_the_same_domain_may_apply_to_another_tenant(program):
    submit(program)
    response = anonymous(program.globex).post("/apply/", form_data())
    assert response.status_code == 302


def test_too_many_applications_from_one_address_are_refused(program, settings):
    settings.PRM_APPLICATION_RATE_LIMIT = 2
    client = anonymous(program, ip="198.51.100.9")
    for n in range(2):
        response = client.post("/apply/", form_data(website=f"https://site{n}.example/"))
        assert response.status_code == 302
    response = client.post("/apply/", form_data(website="https://site9.example/"))
    assert response.status_code == 429
    assert "too many applications" in response.content.decode().lower()
    with tenant_scope(program.tenant):
        assert PartnerApplication.objects.count() == 2
    # Another address is not affected.
    assert anonymous(program, ip="198.51.100.10").post("/apply/", form_data()).status_code == 302


@pytest.mark.parametrize("path", ["/apply/", "/apply/thanks/"])
def test_the_public_pages_need_no_sign_in(program, path):
    assert anonymous(program).get(path).status_code == 200
