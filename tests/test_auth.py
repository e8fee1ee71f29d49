"""Signing in: only a tenant's members on its host, the same answer for everyone else, rate limits, MFA,
and the admin behind the same door."""

from __future__ import annotations

import re

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from django.conf import settings
from django.core.cache import cache
from django.test import Client

from prm import services
from prm.models import Membership
from prm.tenancy import tenant_scope
from tests.factories import PASSWORD, UserFactory

WRONG = "The email address and/or password you specified are not correct."


def _forget_own_cache_keys() -> None:
    # allauth counts attempts in the real Redis cache. Delete this test process's keys only: other
    # processes of the run share the server.
    client = cache._cache.get_client(write=True)
    for key in client.scan_iter(match=f"{settings.PRM_CACHE_KEY_PREFIX}:*"):
        client.delete(key)


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    _forget_own_cache_keys()
    yield
    _forget_own_cache_keys()


def sign_in(host: str, email: str, password: str = PASSWORD) -> tuple[Client, object]:
    client = Client(HTTP_HOST=host)
    response = client.post("/accounts/login/", {"login": email, "password": password})
    return client, response


def current_totp_code(secret: str) -> str:
    import time

    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


def test_a_member_signs_in_on_their_tenants_host(cast):
    client, response = sign_in(cast.host, cast.manager.email)
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_a_member_of_another_tenant_gets_the_wrong_password_answer(cast):
    _, outsider = sign_in(cast.host, cast.outsider.email)
    _, wrong_password = sign_in(cast.host, cast.manager.email, "not-the-password")
    assert outsider.status_code == wrong_password.status_code == 200
    assert WRONG in outsider.content.decode()
    assert WRONG in wrong_password.content.decode()
    assert "_auth_user_id" not in outsider.wsgi_request.session


def test_an_unknown_email_gets_the_wrong_password_answer(cast):
    _, response = sign_in(cast.host, "nobody@nowhere.test")
    assert WRONG in response.content.decode()


def test_a_deactivated_member_cannot_sign_in(cast):
    with tenant_scope(cast.tenant):
        membership = Membership.objects.get(user=cast.manager)
        services.membership_deactivate(membership=membership, acting_user=cast.acme.tenant_admin)
    _, response = sign_in(cast.host, cast.manager.email)
    assert WRONG in response.content.decode()


def test_deactivating_a_member_ends_their_sessions(cast):
    client, _ = sign_in(cast.host, cast.manager.email)
    assert client.get("/").status_code == 200
    with tenant_scope(cast.tenant):
        membership = Membership.objects.get(user=cast.manager)
        services.membership_deactivate(membership=membership, acting_user=cast.acme.tenant_admin)
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_repeated_failures_are_rate_limited(cast):
    for _ in range(5):
        sign_in(cast.host, cast.manager.email, "not-the-password")
    _, response = sign_in(cast.host, cast.manager.email)
    assert "Too many failed login attempts" in response.content.decode()
    assert "_auth_user_id" not in response.wsgi_request.session


def test_the_base_host_lets_in_platform_superusers_only(cast):
    _, response = sign_in("localhost", cast.manager.email)
    assert WRONG in response.content.decode()
    UserFactory(email="root@platform.test", is_superuser=True, is_staff=True)
    client, response = sign_in("localhost", "root@platform.test")
    assert response.status_code == 302
    admin = client.get("/admin/")
    assert admin.status_code == 200
    assert "Tenants" in admin.content.decode()


class TestAdminDoor:
    def test_the_admin_login_is_the_portals_login(self, cast):
        response = Client(HTTP_HOST=cast.host).get("/admin/login/?next=/admin/")
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")

    def test_a_channel_manager_reaches_their_tenants_admin(self, cast):
        client, _ = sign_in(cast.host, cast.manager.email)
        response = client.get("/admin/")
        assert response.status_code == 200
        assert "Acme" in response.content.decode()

    def test_partner_people_get_a_404_from_the_admin(self, cast):
        client, _ = sign_in(cast.host, cast.partner_admin.email)
        response = client.get("/admin/login/?next=/admin/")
        assert response.status_code == 404

    def test_admin_sign_in_goes_through_the_two_factor_step(self, cast):
        secret = generate_totp_secret()
        TOTP.activate(cast.manager, secret)
        client, response = sign_in(cast.host, cast.manager.email)
        assert response["Location"] == "/accounts/2fa/authenticate/"
        # Not signed in yet: the admin still sends them to sign in.
        assert client.get("/admin/").status_code == 302
        response = client.post("/accounts/2fa/authenticate/", {"code": "000000"})
        assert response.status_code == 200
        assert "_auth_user_id" not in client.session
        response = client.post("/accounts/2fa/authenticate/", {"code": current_totp_code(secret)})
        assert response.status_code == 302
        assert client.get("/admin/").status_code == 200

    def test_a_recovery_code_works_once(self, cast):
        TOTP.activate(cast.manager, generate_totp_secret())
        code = RecoveryCodes.activate(cast.manager).get_unused_codes()[0]
        client, _ = sign_in(cast.host, cast.manager.email)
        assert client.post("/accounts/2fa/authenticate/", {"code": code}).status_code == 302
        client, _ = sign_in(cast.host, cast.manager.email)
        assert client.post("/accounts/2fa/authenticate/", {"code": code}).status_code == 200
        assert "_auth_user_id" not in client.session


def test_a_tenant_can_require_two_factor_for_its_staff(cast):
    cast.tenant.require_mfa_for_staff = True
    cast.tenant.save()
    client, _ = sign_in(cast.host, cast.manager.email)
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/2fa/totp/activate/"
    # Partner people are not staff: the requirement does not stop them.
    partner_client, _ = sign_in(cast.host, cast.partner_user.email)
    assert partner_client.get("/").status_code == 200
    TOTP.activate(cast.manager, generate_totp_secret())
    assert client.get("/admin/").status_code == 200
    assert Authenticator.objects.filter(user=cast.manager).exists()


class TestLoginByCode:
    def request_code(self, client: Client, email: str, mailoutbox) -> str | None:
        client.post("/accounts/login/code/", {"email": email})
        for message in mailoutbox:
            if email in message.to:
                match = re.search(r"\b([A-Z0-9]{4}-[A-Z0-9]{4})\b", message.body)
                if match:
                    return match.group(1)
        return None

    def test_a_member_signs_in_with_an_emailed_code(self, cast, mailoutbox):
        client = Client(HTTP_HOST=cast.host)
        code = self.request_code(client, cast.partner_user.email, mailoutbox)
        assert code
        response = client.post("/accounts/login/code/confirm/", {"code": code})
        assert response.status_code == 302
        assert client.get("/").status_code == 200

    def test_a_member_of_another_tenant_is_not_signed_in_by_a_code(self, cast, mailoutbox):
        client = Client(HTTP_HOST=cast.host)
        code = self.request_code(client, cast.outsider.email, mailoutbox)
        if code:
            client.post("/accounts/login/code/confirm/", {"code": code})
        response = client.get("/")
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


def test_password_reset_email_links_back_to_the_tenants_host(cast, mailoutbox):
    client = Client(HTTP_HOST=cast.host)
    response = client.post("/accounts/password/reset/", {"email": cast.partner_user.email})
    assert response.status_code == 302
    assert len(mailoutbox) == 1
    assert "http://acme.localhost/accounts/password/reset/key/" in mailoutbox[0].body
    assert mailoutbox[0].subject.startswith("[Acme]")
    assert "Acme partner portal" in mailoutbox[0].body


def test_the_admin_login_sends_signed_in_staff_on_but_never_off_site(cast):
    client, _ = sign_in(cast.host, cast.manager.email)
    assert client.get("/admin/login/?next=/admin/prm/membership/")["Location"] == "/admin/prm/membership/"
    assert client.get("/admin/login/?next=https://evil.example/")["Location"] == "/admin/"
    UserFactory(email="root@platform.test", is_superuser=True, is_staff=True)
    platform, _ = sign_in("localhost", "root@platform.test")
    assert platform.get("/admin/login/")["Location"] == "/admin/"


def test_an_unverified_address_is_verified_by_its_link_before_the_first_sign_in(cast, mailoutbox):
    from allauth.account.models import EmailAddress

    EmailAddress.objects.filter(user=cast.partner_user).update(verified=False)
    client, response = sign_in(cast.host, cast.partner_user.email)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    assert client.get("/").status_code == 302  # not signed in yet
    link = re.search(r"http://acme\.localhost(/accounts/confirm-email/\S+)", mailoutbox[-1].body).group(1)
    assert client.post(link).status_code == 302
    assert EmailAddress.objects.get(user=cast.partner_user).verified
    client, response = sign_in(cast.host, cast.partner_user.email)
    assert client.get("/").status_code == 200


def test_a_forgotten_password_is_reset_through_the_emailed_link(cast, mailoutbox):
    # An invited person's address is unverified until they prove it; the emailed reset link proves it.
    from allauth.account.models import EmailAddress

    EmailAddress.objects.filter(user=cast.partner_user).update(verified=False)
    client = Client(HTTP_HOST=cast.host)
    client.post("/accounts/password/reset/", {"email": cast.partner_user.email})
    link = re.search(r"http://acme\.localhost(/accounts/password/reset/key/\S+)", mailoutbox[0].body).group(1)
    form = client.get(link, follow=True)
    assert form.status_code == 200
    new_password = "a-new-and-long-passphrase"
    response = client.post(
        form.redirect_chain[-1][0] if form.redirect_chain else link,
        {"password1": new_password, "password2": new_password},
    )
    assert response.status_code == 302
    assert EmailAddress.objects.get(user=cast.partner_user).verified
    _, old = sign_in(cast.host, cast.partner_user.email)
    assert WRONG in old.content.decode()
    client, response = sign_in(cast.host, cast.partner_user.email, new_password)
    assert client.get("/").status_code == 200
