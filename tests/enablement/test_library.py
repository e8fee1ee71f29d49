"""The content library: audience rules, protected downloads, search, engagement counts, and outsiders."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile

from enablement import selectors, services
from enablement.models import Asset, AssetActivity, AssetKind
from partners.models import PartnerType, Region, Tier
from prm.tenancy import tenant_scope
from tests.enablement.conftest import signed_in
from tests.enablement.samples import TINY_PDF


def add_asset(title, *, tiers=(), types=(), regions=(), kind=AssetKind.FILE, published=True, **fields):
    asset = Asset(title=title, kind=kind, is_published=published, audience_regions=list(regions), **fields)
    upload = ContentFile(TINY_PDF, name=f"{title}.pdf") if kind == AssetKind.FILE else None
    if kind != AssetKind.FILE:
        asset.url = asset.url or "https://video.example.com/watch/1"
    services.asset_save(asset=asset, upload=upload, acting_user=None)
    asset.audience_tiers.set(Tier.objects.filter(slug__in=tiers))
    asset.audience_partner_types.set(PartnerType.objects.filter(slug__in=types))
    return asset


@pytest.fixture
def library(cast):
    """acme's library: one asset for everyone, one for Gold resellers, one for Silver, one for APAC only,
    one for MSPs, and an unpublished one. Northwind is a Gold reseller in EMEA; Contoso a Silver reseller
    in North America."""
    with tenant_scope(cast.tenant):
        return {
            "everyone": add_asset("Company overview"),
            "gold": add_asset("Gold reseller price list", tiers=["gold"], types=["reseller"]),
            "silver": add_asset("Silver playbook", tiers=["silver"]),
            "apac": add_asset("APAC launch kit", regions=[Region.APAC]),
            "msp": add_asset("MSP bundle guide", types=["msp"]),
            "draft": add_asset("Unfinished draft", published=False),
            "video": add_asset(
                "Demo video", kind=AssetKind.VIDEO, product="Cloud Backup", tags="demo, backup"
            ),
        }


def titles(response) -> set[str]:
    body = response.content.decode()
    return {
        title
        for title in [
            "Company overview",
            "Gold reseller price list",
            "Silver playbook",
            "APAC launch kit",
            "MSP bundle guide",
            "Unfinished draft",
            "Demo video",
        ]
        if title in body
    }


def test_partners_see_only_the_assets_their_type_tier_and_region_allow(cast, library):
    gold = titles(signed_in(cast.partner_user).get("/enablement/"))
    assert gold == {"Company overview", "Gold reseller price list", "Demo video"}
    silver = titles(signed_in(cast.other_partner_user).get("/enablement/"))
    assert silver == {"Company overview", "Silver playbook", "Demo video"}


def test_staff_see_every_asset_with_its_audience(cast, library):
    response = signed_in(cast.manager).get("/enablement/")
    assert len(titles(response)) == 7
    assert "Reseller · Gold" in response.content.decode()


def test_an_asset_outside_the_audience_is_a_404_for_its_page_and_its_file(cast, library):
    gold = library["gold"]
    silver_client = signed_in(cast.other_partner_user)
    assert silver_client.get(f"/enablement/assets/{gold.public_id}/").status_code == 404
    assert silver_client.get(f"/enablement/assets/{gold.public_id}/download").status_code == 404
    draft = library["draft"]
    assert (
        signed_in(cast.partner_user).get(f"/enablement/assets/{draft.public_id}/download").status_code == 404
    )
    with tenant_scope(cast.tenant):
        assert not AssetActivity.objects.exists()


def test_the_audience_allows_the_partner_after_a_tier_move(cast, library):
    with tenant_scope(cast.tenant):
        contoso = cast.acme.other_partner
        contoso.tier = Tier.objects.get(slug="gold")
        contoso.save()
    response = signed_in(cast.other_partner_user).get(
        f"/enablement/assets/{library['gold'].public_id}/download"
    )
    assert response.status_code == 200


def test_a_gold_reseller_downloads_the_file_as_an_attachment_that_never_renders(cast, library):
    response = signed_in(cast.partner_user).get(f"/enablement/assets/{library['gold'].public_id}/download")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == TINY_PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert "Gold reseller price list.pdf" in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]


def test_views_and_downloads_are_counted_per_person_and_partner(cast, library):
    gold = library["gold"]
    client = signed_in(cast.partner_user)
    client.get(f"/enablement/assets/{gold.public_id}/")
    client.get(f"/enablement/assets/{gold.public_id}/")
    client.get(f"/enablement/assets/{gold.public_id}/download")
    signed_in(cast.acme.partner_admin).get(f"/enablement/assets/{gold.public_id}/")
    signed_in(cast.manager).get(f"/enablement/assets/{gold.public_id}/")  # staff previews are not counted
    with tenant_scope(cast.tenant):
        rows = {
            (a.user.email, a.partner.name): (a.views, a.downloads)
            for a in AssetActivity.objects.select_related("user", "partner")
        }
    assert rows == {
        (cast.partner_user.email, cast.acme.partner.name): (2, 1),
        (cast.acme.partner_admin.email, cast.acme.partner.name): (1, 0),
    }


def test_a_video_asset_redirects_to_its_link_and_counts(cast, library):
    video = library["video"]
    response = signed_in(cast.partner_user).get(f"/enablement/assets/{video.public_id}/download")
    assert response.status_code == 302
    assert response["Location"] == "https://video.example.com/watch/1"
    with tenant_scope(cast.tenant):
        assert AssetActivity.objects.get(asset=video).downloads == 1


def test_the_library_searches_titles_products_and_tags_and_filters_by_kind(cast, library):
    client = signed_in(cast.partner_user)
    assert titles(client.get("/enablement/", {"q": "backup"})) == {"Demo video"}
    assert titles(client.get("/enablement/", {"tag": "demo"})) == {"Demo video"}
    assert titles(client.get("/enablement/", {"kind": "file"})) == {
        "Company overview",
        "Gold reseller price list",
    }
    response = client.get("/enablement/", {"q": "nothing like it"})
    assert "No asset matches this search." in response.content.decode()


def test_another_tenants_people_get_a_404_for_an_asset_and_its_file(cast, library):
    for user in (cast.globex.manager, cast.globex.partner_user):
        client = signed_in(user, cast.globex.host)
        asset = library["everyone"]
        assert client.get(f"/enablement/assets/{asset.public_id}/").status_code == 404
        assert client.get(f"/enablement/assets/{asset.public_id}/download").status_code == 404


def test_anonymous_visitors_are_sent_to_sign_in_for_a_file(cast, library):
    from django.test import Client

    response = Client(HTTP_HOST=cast.host).get(f"/enablement/assets/{library['everyone'].public_id}/download")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


# Session and membership, the partner, the page's count and rows; staff add the audience prefetches
# and skip the partner.
# Partner pages pay two reads of the agreement gate (partners.middleware).
LIBRARY_QUERIES = 11
STAFF_LIBRARY_QUERIES = 10


def test_the_library_page_costs_the_same_queries_with_many_assets(cast, library, django_assert_num_queries):
    client = signed_in(cast.partner_user)
    client.get("/enablement/")  # warm the session and the site's caches
    with django_assert_num_queries(LIBRARY_QUERIES):
        client.get("/enablement/")
    with tenant_scope(cast.tenant):
        for n in range(20):
            add_asset(f"Extra {n}", tiers=["gold"])
    with django_assert_num_queries(LIBRARY_QUERIES):
        response = client.get("/enablement/")
    assert "Extra 19" in response.content.decode()


def test_the_staff_library_costs_the_same_queries_with_many_assets(cast, library, django_assert_num_queries):
    client = signed_in(cast.manager)
    client.get("/enablement/")
    with django_assert_num_queries(STAFF_LIBRARY_QUERIES):
        client.get("/enablement/")
    with tenant_scope(cast.tenant):
        for n in range(20):
            add_asset(f"Extra {n}", tiers=["gold"], types=["msp"])
    with django_assert_num_queries(STAFF_LIBRARY_QUERIES):
        client.get("/enablement/")


def test_the_selector_matches_the_rules_for_a_partner_without_a_tier(cast, library):
    with tenant_scope(cast.tenant):
        contoso = cast.acme.other_partner
        contoso.tier = None
        contoso.save()
        visible = set(
            selectors.assets_visible_to(None).values_list("title", flat=True)
        )  # no membership: nothing
        assert visible == set()
        mine = set(Asset.objects.published().for_partner(contoso).values_list("title", flat=True))
    assert mine == {"Company overview", "Demo video"}


@pytest.mark.parametrize("url", ["ftp://files.example.com/deck.pdf", "javascript:alert(1)", "not a url"])
def test_a_link_asset_takes_web_addresses_only(cast, url):
    from django.core.exceptions import ValidationError

    with tenant_scope(cast.tenant), pytest.raises(ValidationError) as refused:
        services.asset_save(asset=Asset(title="Odd link", kind=AssetKind.LINK, url=url), acting_user=None)
    assert "url" in refused.value.message_dict
    with tenant_scope(cast.tenant):
        assert not Asset.objects.filter(title="Odd link").exists()
