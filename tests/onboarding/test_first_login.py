"""A partner person's first sign-in on their tenant's host sends partner_first_login, once."""

from __future__ import annotations

import pytest
from django.test import Client

from onboarding.models import FirstSignIn, OnboardingTask, TaskKind, TaskStatus
from prm.tenancy import tenant_scope
from tests.factories import PASSWORD
from tests.onboarding.helpers import approve


@pytest.fixture(autouse=True)
def _no_rate_limits(settings):
    settings.ACCOUNT_RATE_LIMITS = False


def sign_in(user, host):
    client = Client(HTTP_HOST=host)
    response = client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302, response.content.decode()[:500]
    return client


@pytest.mark.django_db(transaction=True)
def test_the_first_sign_in_completes_the_first_login_task(cast):
    with tenant_scope(cast.tenant):
        approve(cast.acme.partner)
    sign_in(cast.partner_user, cast.host)
    with tenant_scope(cast.tenant):
        task = OnboardingTask.objects.get(onboarding__partner=cast.acme.partner, kind=TaskKind.FIRST_LOGIN)
        assert task.status == TaskStatus.DONE
        assert FirstSignIn.objects.filter(user=cast.partner_user).count() == 1
    sign_in(cast.partner_user, cast.host)
    with tenant_scope(cast.tenant):
        assert FirstSignIn.objects.filter(user=cast.partner_user).count() == 1


@pytest.mark.django_db(transaction=True)
def test_staff_sign_ins_send_nothing(cast):
    sign_in(cast.manager, cast.host)
    with tenant_scope(cast.tenant):
        assert not FirstSignIn.objects.exists()
