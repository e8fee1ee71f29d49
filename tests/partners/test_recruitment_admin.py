"""The recruitment models in the tenant admin: validation of criteria and questions, frozen agreement
versions and acceptances, and who may edit what."""

from __future__ import annotations

from partners.models import AgreementAcceptance, IdealPartnerCriterion, ProgramAgreement, QualifyingQuestion
from prm.tenancy import tenant_scope
from tests.partners.conftest import signed_in, submit


def test_a_criterion_without_the_field_its_kind_needs_is_a_field_error(cast):
    client = signed_in(cast.acme.tenant_admin, cast.host)
    response = client.post(
        "/admin/partners/idealpartnercriterion/add/",
        {"label": "Reseller", "kind": "partner_type", "weight": "10", "is_active": "on"},
    )
    assert response.status_code == 200
    assert "This kind of criterion needs this field." in response.content.decode()
    with tenant_scope(cast.tenant):
        assert not IdealPartnerCriterion.objects.exists()


def test_a_choice_question_needs_two_choices(cast):
    client = signed_in(cast.acme.tenant_admin, cast.host)
    response = client.post(
        "/admin/partners/qualifyingquestion/add/",
        {"key": "market", "text": "Market?", "kind": "choice", "choices": "Only one", "position": "0"},
    )
    assert response.status_code == 200
    assert "Give at least two choices" in response.content.decode()
    with tenant_scope(cast.tenant):
        assert not QualifyingQuestion.objects.exists()


def test_a_version_number_is_used_once_per_partner_type(cast):
    with tenant_scope(cast.tenant):
        ProgramAgreement.objects.create(version=1, title="v1", body="Terms.")
    client = signed_in(cast.acme.tenant_admin, cast.host)
    response = client.post(
        "/admin/partners/programagreement/add/",
        {
            "version": "1",
            "title": "again",
            "body": "Other terms.",
            "published_at_0": "2026-01-01",
            "published_at_1": "00:00:00",
        },
    )
    assert response.status_code == 200
    with tenant_scope(cast.tenant):
        assert ProgramAgreement.objects.count() == 1


def test_an_accepted_version_is_frozen_and_its_acceptances_are_read_only(cast):
    with tenant_scope(cast.tenant):
        agreement = ProgramAgreement.objects.create(version=1, title="v1", body="Terms.")
        acceptance = AgreementAcceptance.objects.create(
            agreement=agreement, partner=cast.acme.partner, user=cast.partner_admin, typed_name="Alice Admin"
        )
    client = signed_in(cast.acme.tenant_admin, cast.host)
    client.post(
        f"/admin/partners/programagreement/{agreement.pk}/change/",
        {"version": "1", "title": "Changed", "body": "Changed terms."},
    )
    assert (
        client.post(f"/admin/partners/programagreement/{agreement.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    with tenant_scope(cast.tenant):
        agreement.refresh_from_db()
        assert (agreement.title, agreement.body) == ("v1", "Terms.")
    page = client.get(f"/admin/partners/agreementacceptance/{acceptance.pk}/change/").content.decode()
    assert "Alice Admin" in page and 'name="typed_name"' not in page


def test_channel_managers_review_applications_but_do_not_edit_the_program_setup(cast):
    client = signed_in(cast.manager, cast.host)
    assert client.get("/admin/partners/partnerapplication/").status_code == 200
    assert client.get("/admin/partners/idealpartnercriterion/").status_code == 200
    assert client.get("/admin/partners/idealpartnercriterion/add/").status_code == 403
    assert client.get("/admin/partners/programagreement/add/").status_code == 403


def test_correcting_a_pending_application_in_the_admin_rescores_it(program):
    application = submit(program, employee_count="10")
    assert application.fit_score == 80
    with tenant_scope(program.tenant):
        reseller = application.partner_type
    client = signed_in(program.manager, program.host)
    response = client.post(
        f"/admin/partners/partnerapplication/{application.pk}/change/",
        {
            "company_name": "Fjord Systems",
            "website": "https://www.fjord.example",
            "partner_type": reseller.pk,
            "country": "NO",
            "region": "EMEA",
            "employee_count": "120",
            "contact_name": "Ingrid Berg",
            "contact_email": "ingrid@fjord-systems.example",
            "contact_phone": "",
        },
    )
    assert response.status_code == 302
    with tenant_scope(program.tenant):
        application.refresh_from_db()
        assert (application.fit_score, application.website_domain) == (100, "fjord.example")


def test_correcting_a_website_to_a_domain_that_applied_already_is_a_field_error(program):
    submit(program, company_name="Taken Co", website="https://taken.example")
    application = submit(program, company_name="Fjord Systems", website="https://fjord.example")
    with tenant_scope(program.tenant):
        reseller = application.partner_type
    response = signed_in(program.manager, program.host).post(
        f"/admin/partners/partnerapplication/{application.pk}/change/",
        {
            "company_name": "Fjord Systems",
            "website": "https://www.taken.example/about",
            "partner_type": reseller.pk,
            "country": "NO",
            "region": "EMEA",
            "employee_count": "120",
            "contact_name": "Ingrid Berg",
            "contact_email": "ingrid@fjord-systems.example",
            "contact_phone": "",
        },
    )
    assert response.status_code == 200
    assert "Another application or partner has this company" in response.content.decode()
    with tenant_scope(program.tenant):
        application.refresh_from_db()
        assert application.website_domain == "fjord.example"
