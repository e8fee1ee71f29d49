"""Program agreements: the gate in front of a partner's people, accepting the current version, new
versions, stale forms, and the immutable acceptance record."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import InternalError, ProgrammingError, transaction
from django.utils import timezone

from partners import services
from partners.models import AgreementAcceptance, PartnerType, ProgramAgreement
from prm.tenancy import tenant_scope
from tests.partners.conftest import signed_in


def publish(cast, version: int, *, partner_type=None, title="Partner program agreement", **extra):
    with tenant_scope(cast.tenant):
        return ProgramAgreement.objects.create(
            partner_type=partner_type,
            version=version,
            title=title,
            body=f"Terms, version {version}.",
            **extra,
        )


def accept_form(client, agreement, name="Alice Admin"):
    return client.post(
        "/agreement/",
        {"agreement": str(agreement.public_id), "typed_name": name, "confirm": "on"},
        HTTP_USER_AGENT="Mozilla/5.0 (Test)",
        REMOTE_ADDR="192.0.2.44",
    )


def test_without_an_agreement_nothing_is_gated(cast):
    client = signed_in(cast.partner_user, cast.host)
    assert client.get("/").status_code == 200
    assert "no agreement" in client.get("/agreement/").content.decode()


def test_partner_people_see_only_the_agreement_until_their_admin_accepts(cast):
    publish(cast, 1)
    user = signed_in(cast.partner_user, cast.host)
    for path in ("/", f"/partners/{cast.acme.partner.slug}/", "/team/"):
        response = user.get(path)
        assert (response.status_code, response["Location"]) == (302, "/agreement/"), path
    body = user.get("/agreement/").content.decode()
    assert "Your partner admin must accept the program agreement" in body
    assert '<form method="post">' not in body
    # Sign-out and account pages stay open.
    assert user.get("/accounts/email/").status_code == 200
    # Staff and another partner are not gated by this partner's agreement... but the other partner has
    # not accepted either.
    assert signed_in(cast.manager, cast.host).get("/").status_code == 200


def test_a_partner_admin_accepts_and_the_portal_opens_for_the_partner(
    cast,
    received,
    django_capture_on_commit_callbacks,
):
    agreement = publish(cast, 1)
    admin = signed_in(cast.partner_admin, cast.host)
    assert admin.get("/").status_code == 302
    assert "Terms, version 1." in admin.get("/agreement/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = accept_form(admin, agreement)
    assert (response.status_code, response["Location"]) == (302, "/")
    with tenant_scope(cast.tenant):
        acceptance = AgreementAcceptance.objects.get()
        assert (acceptance.partner, acceptance.user, acceptance.typed_name) == (
            cast.acme.partner,
            cast.partner_admin,
            "Alice Admin",
        )
        assert acceptance.ip_address == "192.0.2.44"
        assert acceptance.user_agent == "Mozilla/5.0 (Test)"
        assert timezone.now() - acceptance.accepted_at < timedelta(minutes=1)
    assert (
        "agreement_signed",
        {
            "tenant_id": cast.tenant.pk,
            "partner_id": str(cast.acme.partner.public_id),
            "user_id": cast.partner_admin.pk,
        },
    ) in received
    assert admin.get("/").status_code == 200
    assert signed_in(cast.partner_user, cast.host).get("/").status_code == 200
    # The other partner of the tenant has not accepted: still gated.
    assert signed_in(cast.other_partner_user, cast.host).get("/").status_code == 302


def test_a_wrong_typed_name_is_a_field_error_and_records_nothing(cast):
    agreement = publish(cast, 1)
    response = accept_form(signed_in(cast.partner_admin, cast.host), agreement, name="Somebody Else")
    assert response.status_code == 200
    assert "Type your full name" in response.content.decode()
    with tenant_scope(cast.tenant):
        assert not AgreementAcceptance.objects.exists()


def test_a_new_version_asks_again(cast):
    first = publish(cast, 1)
    admin = signed_in(cast.partner_admin, cast.host)
    accept_form(admin, first)
    assert admin.get("/").status_code == 200
    second = publish(cast, 2)
    assert admin.get("/").status_code == 302
    assert "Terms, version 2." in admin.get("/agreement/").content.decode()
    accept_form(admin, second)
    assert admin.get("/").status_code == 200


def test_accepting_an_outdated_version_says_so_and_changes_nothing(cast):
    first = publish(cast, 1)
    admin = signed_in(cast.partner_admin, cast.host)
    admin.get("/agreement/")  # the form is rendered for version 1 ...
    publish(cast, 2)  # ... and version 2 is published meanwhile
    response = accept_form(admin, first)
    assert response.status_code == 302
    page = admin.get("/agreement/").content.decode()
    assert "no longer current" in page
    with tenant_scope(cast.tenant):
        assert not AgreementAcceptance.objects.exists()


def test_a_partner_user_cannot_accept(cast):
    agreement = publish(cast, 1)
    accept_form(signed_in(cast.partner_user, cast.host), agreement, name="Bob User")
    with tenant_scope(cast.tenant):
        assert not AgreementAcceptance.objects.exists()
        with pytest.raises(services.RecruitmentError):
            services.agreement_accept(
                agreement=agreement,
                partner=cast.acme.partner,
                typed_name="Bob User",
                ip_address=None,
                user_agent="",
                acting_user=cast.partner_user,
            )


def test_a_type_of_its_own_agreement_wins_over_the_general_one(cast):
    with tenant_scope(cast.tenant):
        reseller = PartnerType.objects.get(slug="reseller")
    publish(cast, 5)
    own = publish(cast, 1, partner_type=reseller, title="Reseller agreement")
    body = signed_in(cast.partner_admin, cast.host).get("/agreement/").content.decode()
    assert "Reseller agreement" in body
    accept_form(signed_in(cast.partner_admin, cast.host), own)
    assert signed_in(cast.partner_user, cast.host).get("/").status_code == 200


def test_a_version_not_yet_in_force_is_not_asked_for(cast):
    publish(cast, 1, published_at=timezone.now() + timedelta(days=7))
    assert signed_in(cast.partner_user, cast.host).get("/").status_code == 200


def test_an_acceptance_cannot_be_changed(cast):
    agreement = publish(cast, 1)
    accept_form(signed_in(cast.partner_admin, cast.host), agreement)
    with tenant_scope(cast.tenant):
        with pytest.raises((InternalError, ProgrammingError)), transaction.atomic():
            AgreementAcceptance.objects.update(typed_name="Mallory")
        assert AgreementAcceptance.objects.get().typed_name == "Alice Admin"


def test_another_tenants_partner_is_not_gated_by_this_tenants_agreement(cast):
    publish(cast, 1)
    assert signed_in(cast.globex.partner_user, cast.globex.host).get("/").status_code == 200
