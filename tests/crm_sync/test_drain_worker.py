"""With a real Celery worker running, a change in the portal reaches the emulator within two seconds: the
commit wakes the tenant's drain (crm_sync.apps), which the worker runs."""

from __future__ import annotations

import time

import pytest
from django.conf import settings

from partners import services as partner_services
from partners.models import Region, Stage
from prm.tenancy import tenant_scope
from tests.crm_sync.conftest import CLIENT_ID, CLIENT_SECRET
from tests.crm_sync.test_connection import save_connection
from tests.worker_support import serving_worker, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

EXT = "PRM_External_Id__c"


@pytest.fixture(scope="module")
def worker(django_db_setup, tmp_path_factory):
    """A running worker on a queue of its own, with this run's CRM encryption keys."""
    with pytest.MonkeyPatch.context() as patch:
        # The worker reads its keys from the environment it starts with.
        patch.setenv("PRM_CRM_ENCRYPTION_KEYS", ",".join(settings.PRM_CRM_ENCRYPTION_KEYS))
        with serving_worker(tmp_path_factory.mktemp("crm-worker"), max_deliveries=3, include=()) as (
            worker,
            _,
        ):
            yield worker


def account(emulator, public_id) -> dict | None:
    return next((a for a in emulator.records("Account") if a[EXT] == str(public_id)), None)


def test_a_partner_created_then_edited_in_the_portal_reaches_the_emulator_within_two_seconds(
    worker, cast, emulator
):
    tenant = cast.acme.tenant
    save_connection(
        tenant,
        login_url=emulator.url,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        ca_cert_path=str(emulator.ca_path),
    )
    with tenant_scope(tenant):
        partner = partner_services.partner_create(
            name="Fabrikam",
            partner_type=cast.acme.partner.partner_type,
            country="NL",
            region=Region.EMEA,
            tier=cast.acme.partner.tier,
            stage=Stage.ACTIVE,
            acting_user=None,
        )
    created = time.monotonic()
    worker.wait_for(lambda: account(emulator, partner.public_id), timeout=10, what="the Account")
    assert time.monotonic() - created < 2

    with tenant_scope(tenant):
        partner.name = "Fabrikam Renamed"
        partner.save()
    edited = time.monotonic()
    wait_for(
        lambda: (account(emulator, partner.public_id) or {}).get("Name") == "Fabrikam Renamed",
        timeout=10,
        what="the Account to be renamed",
    )
    assert time.monotonic() - edited < 2
    assert [a[EXT] for a in emulator.records("Account")].count(str(partner.public_id)) == 1
