"""The inbound sync's state on the tenant admin: watermarks, mirror links, shared-field resolutions and drift
checks, read by the channel team and changed by nobody (the sync writes them)."""

from __future__ import annotations

import pytest
from django.test import Client

from crm_sync.models import DriftRun, MirrorLink, Resolution, Watermark, Winner
from prm.tenancy import tenant_scope
from tests.factories import (
    DriftRunFactory,
    MirrorLinkFactory,
    PartnerFactory,
    ResolutionFactory,
    WatermarkFactory,
)

pytestmark = pytest.mark.django_db

ROWS = 12
CHANGELISTS = {
    Watermark: "/admin/crm_sync/watermark/",
    MirrorLink: "/admin/crm_sync/mirrorlink/",
    Resolution: "/admin/crm_sync/resolution/",
    DriftRun: "/admin/crm_sync/driftrun/",
}


def admin_client(user, host: str) -> Client:
    client = Client(HTTP_HOST=host)
    client.force_login(user)
    return client


@pytest.fixture
def inbound(cast):
    """Enough rows of each kind, about real partners of acme, that one query per row would show."""
    with tenant_scope(cast.tenant):
        first = cast.acme.partner
        partners = [first, cast.acme.other_partner] + [
            PartnerFactory(tenant=cast.tenant, partner_type=first.partner_type, tier=first.tier)
            for _ in range(ROWS - 2)
        ]
        for index, partner in enumerate(partners):
            about = {"object_key": "partners.partner", "record_id": partner.pk}
            WatermarkFactory(tenant=cast.tenant)
            MirrorLinkFactory(
                tenant=cast.tenant,
                **about,
                crm_id=f"001Em{index:010d}AAA",
                flag="Stage 'Bogus' is not a stage" if index == 0 else "",
                flagged_at=partner.created_at if index == 0 else None,
                unlinked_at=partner.created_at if index == 1 else None,
            )
            ResolutionFactory(tenant=cast.tenant, **about, winner=Winner.PORTAL if index % 2 else Winner.CRM)
            DriftRunFactory(tenant=cast.tenant, drift_count=index)
    return partners


def test_a_channel_manager_reads_each_list_and_row_in_flat_queries(
    cast, inbound, django_assert_max_num_queries
):
    client = admin_client(cast.manager, cast.host)
    for model, changelist in CHANGELISTS.items():
        with django_assert_max_num_queries(14):
            response = client.get(changelist)
        assert response.status_code == 200, changelist
        assert response.context["cl"].result_count == ROWS
        with tenant_scope(cast.tenant):
            row = model.objects.first()
        page = client.get(f"{changelist}{row.pk}/change/")
        assert page.status_code == 200
        # Read-only: no save button, no delete link.
        assert 'name="_save"' not in page.content.decode()
        assert "/delete/" not in page.content.decode()
    # The link list names each portal record, in one query for all the partners on the page.
    body = client.get(CHANGELISTS[MirrorLink]).content.decode()
    assert cast.acme.partner.name in body and cast.acme.other_partner.name in body


def test_nobody_adds_changes_or_deletes_them_in_the_admin(cast, inbound):
    with tenant_scope(cast.tenant):
        link = MirrorLink.objects.get(record_id=cast.acme.partner.pk)
        drift = DriftRun.objects.first()
    for user in (cast.manager, cast.acme.tenant_admin):
        client = admin_client(user, cast.host)
        base = CHANGELISTS[MirrorLink]
        assert client.get(f"{base}add/").status_code == 403
        changed = client.post(f"{base}{link.pk}/change/", {"crm_id": "001HIJACKED", "flag": ""})
        assert changed.status_code == 403
        assert client.post(f"{base}{link.pk}/delete/", {"post": "yes"}).status_code == 403
        bulk_delete = {"action": "delete_selected", "_selected_action": [drift.pk], "post": "yes"}
        bulk = client.post(CHANGELISTS[DriftRun], bulk_delete)
        assert bulk.status_code in (200, 302)
        assert "delete_selected" not in client.get(CHANGELISTS[DriftRun]).content.decode()
    with tenant_scope(cast.tenant):
        link.refresh_from_db()
        assert (link.crm_id, link.flag) == ("001Em0000000000AAA", "Stage 'Bogus' is not a stage")
        assert DriftRun.objects.filter(pk=drift.pk).exists()


def test_ops_filter_flagged_and_unlinked_records_and_find_them_by_crm_or_external_id(cast, inbound):
    client = admin_client(cast.manager, cast.host)
    changelist = CHANGELISTS[MirrorLink]

    def found(**query):
        response = client.get(changelist, query)
        assert response.status_code == 200
        return [link.record_id for link in response.context["cl"].result_list]

    assert found(attention="flagged") == [cast.acme.partner.pk]
    assert found(attention="unlinked") == [cast.acme.other_partner.pk]
    assert len(found(attention="in_step")) == ROWS - 2
    assert found(q="001Em0000000001AAA") == [cast.acme.other_partner.pk]
    # The 15-character form of the CRM id finds it too.
    assert found(q="001Em0000000001") == [cast.acme.other_partner.pk]
    # The external id the CRM holds is the portal record's public id.
    assert found(q=str(cast.acme.other_partner.public_id)) == [cast.acme.other_partner.pk]
    assert found(q=str(cast.globex.partner.public_id)) == []

    resolutions = client.get(CHANGELISTS[Resolution], {"winner__exact": "portal"}).context["cl"]
    assert resolutions.result_count == ROWS // 2
    by_id = client.get(CHANGELISTS[Resolution], {"q": str(cast.acme.partner.public_id)}).context["cl"]
    assert [r.record_id for r in by_id.result_list] == [cast.acme.partner.pk]


def test_the_sync_status_page_links_to_the_admin_lists(cast, inbound):
    body = admin_client(cast.manager, cast.host).get("/crm/").content.decode()
    for changelist in CHANGELISTS.values():
        assert f'href="{changelist}' in body
    assert 'href="/admin/crm_sync/mirrorlink/?attention=flagged"' in body
    assert 'href="/admin/crm_sync/outboxentry/?state__exact=dead"' in body
