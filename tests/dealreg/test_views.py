"""The deal pages as partners and channel managers use them, with the outsiders."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dealreg import services
from dealreg.models import Deal, DealStatus
from partners.models import Partner
from prm.tenancy import tenant_scope
from tests.dealreg.conftest import register
from tests.factories import DealFactory

pytestmark = pytest.mark.django_db


def client_for(user, host="acme.localhost") -> Client:
    client = Client(HTTP_HOST=host)
    client.force_login(user)
    return client


def test_a_partner_user_registers_a_deal_through_the_form(cast, post_form):
    client = client_for(cast.partner_user)
    assert client.get(reverse("dealreg:register")).status_code == 200
    response = client.post(reverse("dealreg:register"), post_form())
    with tenant_scope(cast.tenant):
        deal = Deal.objects.get()
    assert response.status_code == 302 and response["Location"] == deal.get_absolute_url()
    assert (deal.customer_domain, deal.customer_country, deal.registered_by) == (
        "fabrikam.example",
        "GB",
        cast.partner_user,
    )
    page = client.get(response["Location"]).content.decode()
    assert "Fabrikam Industries" in page and "Submitted" in page


def test_a_double_clicked_form_creates_one_deal(cast, post_form):
    client = client_for(cast.partner_user)
    first = client.post(reverse("dealreg:register"), post_form())
    second = client.post(reverse("dealreg:register"), post_form())
    assert first["Location"] == second["Location"]
    with tenant_scope(cast.tenant):
        assert Deal.objects.count() == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("amount", "-5"),
        ("expected_close_date", (datetime.date.today() - datetime.timedelta(days=2)).isoformat()),
        ("customer_domain", "not a domain!"),
        ("customer_name", ""),
    ],
)
def test_bad_values_show_field_errors_and_change_nothing(cast, post_form, field, value):
    response = client_for(cast.partner_user).post(reverse("dealreg:register"), post_form(**{field: value}))
    assert response.status_code == 200
    assert field in response.context["form"].errors
    with tenant_scope(cast.tenant):
        assert Deal.objects.count() == 0


def test_the_tenants_extra_fields_appear_on_the_form_and_are_kept(cast, post_form):
    from dealreg.models import DealRegSettings

    with tenant_scope(cast.tenant):
        settings = DealRegSettings.current()
        settings.extra_fields = [{"name": "industry", "label": "Industry", "required": True}]
        settings.save()
    client = client_for(cast.partner_user)
    assert "Industry" in client.get(reverse("dealreg:register")).content.decode()
    missing = client.post(reverse("dealreg:register"), post_form())
    assert "extra_industry" in missing.context["form"].errors
    client.post(reverse("dealreg:register"), post_form(extra_industry="Retail"))
    with tenant_scope(cast.tenant):
        assert Deal.objects.get().extra == {"industry": "Retail"}


def test_staff_cannot_register_for_a_partner(cast):
    assert client_for(cast.manager).get(reverse("dealreg:register")).status_code == 404


def test_the_live_check_warns_without_naming_the_other_partner(cast):
    with tenant_scope(cast.tenant):
        register(
            cast.acme.other_partner,
            cast.other_partner_user,
            customer_name="Contoso Ltd",
            customer_domain="contoso.example",
        )
    client = client_for(cast.partner_user)
    hit = client.get(
        reverse("dealreg:conflict_check"), {"customer_name": "Contoso Limited", "customer_domain": ""}
    )
    body = hit.content.decode()
    assert "Possible conflict" in body
    assert cast.acme.other_partner.name not in body
    miss = client.get(
        reverse("dealreg:conflict_check"), {"customer_name": "Wingtip Toys", "customer_domain": ""}
    )
    assert "Possible conflict" not in miss.content.decode()


def test_each_party_sees_what_it_should_of_a_conflict(cast, post_form):
    with tenant_scope(cast.tenant):
        other = register(
            cast.acme.other_partner,
            cast.other_partner_user,
            customer_name="Fabrikam Inc",
            customer_domain="fabrikam.example",
        )
    client = client_for(cast.partner_user)
    response = client.post(reverse("dealreg:register"), post_form(), follow=True)
    page = response.content.decode()
    assert "Possible conflict" in page
    assert cast.acme.other_partner.name not in page
    manager_page = client_for(cast.manager).get(response.redirect_chain[-1][0]).content.decode()
    assert "Possible conflicts" in manager_page
    assert cast.acme.other_partner.name in manager_page and cast.acme.partner.name in manager_page
    assert str(other.public_id) in manager_page


def test_a_partner_user_sees_their_own_deals_and_a_partner_admin_all_of_the_partners(cast):
    with tenant_scope(cast.tenant):
        mine = register(cast.acme.partner, cast.partner_user, name="Bob's deal")
        colleague = register(
            cast.acme.partner, cast.partner_admin, name="Alice's deal", customer_domain="alice.example"
        )
        theirs = register(
            cast.acme.other_partner,
            cast.other_partner_user,
            name="Charlie's deal",
            customer_domain="c.example",
        )
    user_page = client_for(cast.partner_user).get(reverse("dealreg:list")).content.decode()
    assert "Bob&#x27;s deal" in user_page and "Alice" not in user_page and "Charlie" not in user_page
    admin_page = client_for(cast.partner_admin).get(reverse("dealreg:list")).content.decode()
    assert (
        "Bob&#x27;s deal" in admin_page and "Alice&#x27;s deal" in admin_page and "Charlie" not in admin_page
    )
    assert client_for(cast.partner_user).get(colleague.get_absolute_url()).status_code == 404
    assert client_for(cast.partner_user).get(theirs.get_absolute_url()).status_code == 404
    assert client_for(cast.partner_admin).get(mine.get_absolute_url()).status_code == 200


def test_outsiders_cannot_read_or_decide_a_deal(cast):
    with tenant_scope(cast.tenant):
        deal = register(cast.acme.partner, cast.partner_user)
    decide = reverse("dealreg:decide", kwargs={"public_id": deal.public_id})
    assert client_for(cast.other_partner_user).get(deal.get_absolute_url()).status_code == 404
    assert client_for(cast.other_partner_user).post(decide, {"decision": "approve"}).status_code == 404
    assert client_for(cast.partner_admin).post(decide, {"decision": "approve"}).status_code == 404
    globex = client_for(cast.outsider, host="globex.localhost")
    assert globex.get(deal.get_absolute_url()).status_code == 404
    assert globex.post(decide, {"decision": "approve"}).status_code == 404
    with tenant_scope(cast.tenant):
        deal.refresh_from_db()
    assert deal.status == DealStatus.SUBMITTED


def test_a_manager_approves_from_the_queue_and_the_decision_shows_on_the_deal(cast):
    with tenant_scope(cast.tenant):
        deal = register(cast.acme.partner, cast.partner_user)
    client = client_for(cast.manager)
    queue = client.get(reverse("dealreg:queue")).content.decode()
    assert deal.name in queue
    response = client.post(
        reverse("dealreg:decide", kwargs={"public_id": deal.public_id}),
        {"decision": "approve", "reason": "Clean registration", "next": "queue"},
    )
    assert response["Location"] == reverse("dealreg:queue")
    page = client_for(cast.partner_user).get(deal.get_absolute_url()).content.decode()
    assert "Approved" in page and "Clean registration" in page and cast.manager.email in page


def test_a_rejection_without_a_reason_changes_nothing(cast):
    with tenant_scope(cast.tenant):
        deal = register(cast.acme.partner, cast.partner_user)
    client_for(cast.manager).post(
        reverse("dealreg:decide", kwargs={"public_id": deal.public_id}), {"decision": "reject"}
    )
    with tenant_scope(cast.tenant):
        deal.refresh_from_db()
    assert deal.status == DealStatus.SUBMITTED


def test_a_partner_asks_for_an_extension_and_the_manager_grants_it(cast):
    with tenant_scope(cast.tenant):
        deal = services.deal_approve(
            deal=register(cast.acme.partner, cast.partner_user), acting_user=cast.manager
        )
        ends = deal.protection_expires_on
    client_for(cast.partner_user).post(
        reverse("dealreg:extend", kwargs={"public_id": deal.public_id}),
        {"days": "20", "reason": "Board moved"},
    )
    with tenant_scope(cast.tenant):
        extension = deal.extensions.get()
    client_for(cast.manager).post(
        reverse("dealreg:extension_decide", kwargs={"public_id": extension.public_id}), {"decision": "grant"}
    )
    with tenant_scope(cast.tenant):
        deal.refresh_from_db()
    assert deal.protection_expires_on == ends + datetime.timedelta(days=20)


def test_the_expiring_filter_shows_deals_ending_within_14_days(cast):
    with tenant_scope(cast.tenant):
        soon = services.deal_approve(
            deal=register(cast.acme.partner, cast.partner_user, name="Soon"), acting_user=cast.manager
        )
        later = services.deal_approve(
            deal=register(
                cast.acme.partner, cast.partner_user, name="Later", customer_domain="later.example"
            ),
            acting_user=cast.manager,
        )
        Deal.objects.filter(pk=soon.pk).update(
            protection_expires_on=datetime.date.today() + datetime.timedelta(days=5)
        )
    page = client_for(cast.partner_user).get(reverse("dealreg:list"), {"expiring": "on"}).content.decode()
    assert ">Soon<" in page and ">Later<" not in page
    assert later.pk


def test_the_queue_exports_csv_for_staff_only(cast):
    with tenant_scope(cast.tenant):
        register(cast.acme.partner, cast.partner_user, customer_name="=HYPERLINK(1)")
    response = client_for(cast.manager).get(reverse("dealreg:queue"), {"_export": "csv"})
    body = b"".join(response.streaming_content if response.streaming else [response.content]).decode()
    assert response.status_code == 200
    assert "'=HYPERLINK(1)" in body
    assert client_for(cast.partner_admin).get(reverse("dealreg:queue"), {"_export": "csv"}).status_code == 404


def _add_deals(cast, count):
    with tenant_scope(cast.tenant):
        partners = list(Partner.objects.all())
        for n in range(count):
            DealFactory(
                tenant=cast.tenant,
                partner=partners[n % 2],
                registered_by=cast.partner_user,
                status=DealStatus.SUBMITTED if n % 3 else DealStatus.APPROVED,
                protection_expires_on=datetime.date.today() + datetime.timedelta(days=n % 60),
                sla_due_at=None,
            )


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse(url), {"sort": "amount"} if url != "dealreg:pipeline" else {})
    assert response.status_code == 200
    return len(captured)


@pytest.mark.parametrize(
    ("who", "url"),
    [
        ("manager", "dealreg:list"),
        ("manager", "dealreg:queue"),
        ("manager", "dealreg:pipeline"),
        ("partner_admin", "dealreg:list"),
        ("partner_user", "dealreg:list"),
    ],
)
def test_list_pages_keep_a_flat_query_count_with_500_deals(cast, who, url, django_assert_num_queries):
    client = client_for(getattr(cast, who))
    _add_deals(cast, 3)
    few = _queries(client, url)
    _add_deals(cast, 497)
    with django_assert_num_queries(few):
        response = client.get(reverse(url), {"sort": "amount"} if url != "dealreg:pipeline" else {})
    assert response.status_code == 200
    assert few <= 14


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_a_partner_attaches_a_file_which_only_people_who_see_the_deal_download(
    cast, post_form, settings, tmp_path
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MEDIA_ROOT = tmp_path
    client = client_for(cast.partner_user)
    upload = SimpleUploadedFile("quote.pdf", PDF, content_type="application/pdf")
    response = client.post(reverse("dealreg:register"), {**post_form(), "attachment": upload})
    assert response.status_code == 302
    with tenant_scope(cast.tenant):
        attachment = Deal.objects.get().attachments.get()
    url = reverse("dealreg:attachment", kwargs={"public_id": attachment.public_id})
    assert url in client.get(response["Location"]).content.decode()
    download = client.get(url)
    assert download.status_code == 200 and b"".join(download.streaming_content) == PDF
    # Kept in the private storage no URL serves, and never rendered in the portal's origin.
    assert (settings.PRM_PRIVATE_MEDIA_ROOT / attachment.file.name).read_bytes() == PDF
    assert not (tmp_path / attachment.file.name).exists()
    assert (
        download["X-Content-Type-Options"] == "nosniff" and "sandbox" in download["Content-Security-Policy"]
    )
    assert client_for(cast.manager).get(url).status_code == 200
    assert client_for(cast.other_partner_user).get(url).status_code == 404
    assert client_for(cast.outsider, host="globex.localhost").get(url).status_code == 404


def test_a_file_that_is_not_a_document_is_refused(cast, post_form, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MEDIA_ROOT = tmp_path
    upload = SimpleUploadedFile("quote.pdf", b"MZ\x90\x00 not a pdf at all", content_type="application/pdf")
    response = client_for(cast.partner_user).post(
        reverse("dealreg:register"), {**post_form(), "attachment": upload}
    )
    assert "attachment" in response.context["form"].errors
    with tenant_scope(cast.tenant):
        assert Deal.objects.count() == 0
