"""Shared helpers of the enablement tests: signed-in clients and the cast's enablement content."""

from __future__ import annotations

import pytest
from django.test import Client

from prm.tenancy import tenant_scope
from tests.enablement.samples import sample_content


def signed_in(user, host: str = "acme.localhost") -> Client:
    client = Client(HTTP_HOST=host)
    client.force_login(user)
    return client


@pytest.fixture
def content(cast):
    """acme's sample content: a PDF for everyone, a one-question course, a certification naming it."""
    with tenant_scope(cast.tenant):
        return sample_content(cast.acme)
