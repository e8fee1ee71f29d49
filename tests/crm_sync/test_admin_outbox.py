"""The outbox on the tenant admin: a read-only list filtered by state, and a retry for dead letters."""

from __future__ import annotations

import pytest
from django.test import Client

from crm_sync import tasks
from crm_sync.models import OutboxEntry, OutboxState
from prm.tenancy import tenant_scope, unscoped_across_tenants

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/crm_sync/outboxentry/"


def admin_client(user, host: str) -> Client:
    client = Client(HTTP_HOST=host)
    client.force_login(user)
    return client


@pytest.fixture
def dead(cast) -> OutboxEntry:
    with tenant_scope(cast.tenant):
        entry = OutboxEntry.objects.filter(object_key="partners.partner").first()
        OutboxEntry.objects.filter(pk=entry.pk).update(
            state=OutboxState.DEAD, attempts=5, last_error="INVALID_FIELD: No such column"
        )
    return entry


def test_the_list_filters_by_state_and_shows_the_error(cast, dead):
    client = admin_client(cast.acme.manager, cast.host)
    response = client.get(CHANGELIST, {"state__exact": "dead"})
    assert response.status_code == 200
    assert response.context["cl"].result_count == 1
    assert "INVALID_FIELD: No such column" in response.content.decode()
    assert client.get(CHANGELIST, {"state__exact": "pending"}).context["cl"].result_count == 5


def test_a_tenant_admin_retries_dead_letters(cast, dead, monkeypatch):
    woken = []
    monkeypatch.setattr(tasks, "crm_drain_wake", woken.append)
    with tenant_scope(cast.tenant):
        sent = OutboxEntry.objects.exclude(pk=dead.pk).first()
        OutboxEntry.objects.filter(pk=sent.pk).update(state=OutboxState.SENT)
    client = admin_client(cast.acme.tenant_admin, cast.host)
    response = client.post(
        CHANGELIST, {"action": "retry", "_selected_action": [dead.pk, sent.pk]}, follow=True
    )
    assert response.status_code == 200
    assert "1 dead letters will be sent again." in response.content.decode()
    with unscoped_across_tenants():
        dead.refresh_from_db()
        sent.refresh_from_db()
    assert (dead.state, dead.attempts, dead.next_attempt_at) == (OutboxState.PENDING, 0, None)
    assert sent.state == OutboxState.SENT


def test_a_dead_letter_whose_record_has_a_newer_pending_row_gives_way_to_it(cast, dead):
    with tenant_scope(cast.tenant):
        partner = cast.acme.partner.__class__.objects.get(pk=dead.record_id)
        partner.save()  # a new pending row for the record
        client = admin_client(cast.acme.tenant_admin, cast.host)
        client.post(CHANGELIST, {"action": "retry", "_selected_action": [dead.pk]})
        rows = list(OutboxEntry.objects.filter(object_key=dead.object_key, record_id=dead.record_id))
    assert [e.state for e in rows] == [OutboxState.PENDING]


def test_a_channel_manager_cannot_retry(cast, dead):
    client = admin_client(cast.acme.manager, cast.host)
    client.post(CHANGELIST, {"action": "retry", "_selected_action": [dead.pk]})
    with unscoped_across_tenants():
        dead.refresh_from_db()
    assert dead.state == OutboxState.DEAD
