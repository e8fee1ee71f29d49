"""The staff partner directory (/partners/): sorting by each column, the filters and the search, bad filter
values, the CSV export, and who gets neither. Query counts and pagination are pinned in test_pages.py."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.test import Client
from django.utils import timezone

from partners import services as partner_services
from partners.models import PartnerType, Region, Stage, Tier
from prm.models import Role
from prm.tenancy import tenant_scope

ROW_NAME = re.compile(r'<th scope="row"><a href="/partners/[^"]+/">([^<]+)</a></th>')
HEADERS = ["Name", "Type", "Tier", "Stage", "Region", "Country", "Created"]


def add_partner(name, *, partner_type, tier, stage, region, country, website_domain=""):
    return partner_services.partner_create(
        name=name,
        partner_type=PartnerType.objects.get(slug=partner_type),
        tier=Tier.objects.get(slug=tier) if tier else None,
        stage=stage,
        region=region,
        country=country,
        website_domain=website_domain,
        acting_user=None,
    )


@pytest.fixture
def directory(cast):
    """acme with five partners whose every column sorts them in a different order.

    From the cast: Northwind Acme (reseller, gold, active, EMEA, DE) and Contoso Acme (reseller, silver,
    onboarding, NA, US), created first and in that order.
    """
    with tenant_scope(cast.tenant):
        add_partner(
            "Zephyr Acme",
            partner_type="referral",
            tier="registered",
            stage=Stage.DORMANT,
            region=Region.EMEA,
            country="AT",
            website_domain="zephyr-cloud.example",
        )
        add_partner(
            "Alpine Acme",
            partner_type="technology",
            tier=None,
            stage=Stage.EXITED,
            region=Region.LATIN_AMERICA,
            country="JP",
        )
        add_partner(
            "Bayside Acme",
            partner_type="msp",
            tier="platinum",
            stage=Stage.APPLIED,
            region=Region.APAC,
            country="CH",
        )
    with tenant_scope(cast.globex.tenant):
        PartnerType.objects.create(slug="globex-special", name="Globex Special")
    return cast


def staff_client(cast) -> Client:
    client = Client(HTTP_HOST=cast.host)
    client.force_login(cast.manager)
    return client


def page(client: Client, query: str = "") -> str:
    response = client.get(f"/partners/{query}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    return response.content.decode()


def names(content: str) -> list[str]:
    return ROW_NAME.findall(content)


def export(client: Client, query: str = "") -> tuple[object, list[list[str]]]:
    separator = "&" if query else "?"
    response = client.get(f"/partners/{query}{separator}_export=csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return response, list(csv.reader(io.StringIO(response.content.decode())))


# ---- Sorting ------------------------------------------------------------------------------------------

SORTED = {
    "name": ["Alpine Acme", "Bayside Acme", "Contoso Acme", "Northwind Acme", "Zephyr Acme"],
    "partner_type": ["Bayside Acme", "Zephyr Acme", "Contoso Acme", "Northwind Acme", "Alpine Acme"],
    # By rank; no tier lowest.
    "tier": ["Alpine Acme", "Zephyr Acme", "Contoso Acme", "Northwind Acme", "Bayside Acme"],
    # In lifecycle order: applied, onboarding, active, dormant, exited.
    "stage": ["Bayside Acme", "Contoso Acme", "Northwind Acme", "Zephyr Acme", "Alpine Acme"],
    # APAC, EMEA (two, by name), LATAM, NA.
    "region": ["Bayside Acme", "Northwind Acme", "Zephyr Acme", "Alpine Acme", "Contoso Acme"],
    "country": ["Zephyr Acme", "Bayside Acme", "Northwind Acme", "Alpine Acme", "Contoso Acme"],
    "created": ["Northwind Acme", "Contoso Acme", "Zephyr Acme", "Alpine Acme", "Bayside Acme"],
}


@pytest.mark.parametrize("column", list(SORTED))
def test_staff_can_sort_the_directory_by_each_column_both_ways(directory, column):
    client = staff_client(directory)

    ascending = page(client, f"?sort={column}")
    assert names(ascending) == SORTED[column]
    assert re.search(rf'<th scope="col" aria-sort="ascending"><a href="\?sort=-{column}">', ascending)
    assert ascending.count("aria-sort=") == 1

    descending = page(client, f"?sort=-{column}")
    assert names(descending) == SORTED[column][::-1]
    assert re.search(rf'<th scope="col" aria-sort="descending"><a href="\?sort={column}">', descending)


def test_the_directory_is_sorted_by_name_until_told_otherwise(directory):
    client = staff_client(directory)
    assert names(page(client)) == SORTED["name"]
    assert names(page(client, "?sort=no-such-column")) == SORTED["name"]


def test_sorting_keeps_the_filters_and_starts_again_at_page_one(directory):
    content = page(staff_client(directory), "?region=EMEA&page=1")
    assert '<a href="?region=EMEA&amp;sort=tier">Tier</a>' in content


# ---- Filters and search -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query, expected",
    [
        ("?stage=onboarding", ["Contoso Acme"]),
        ("?stage=exited", ["Alpine Acme"]),
        ("?partner_type=reseller", ["Contoso Acme", "Northwind Acme"]),
        ("?partner_type=msp", ["Bayside Acme"]),
        ("?tier=gold", ["Northwind Acme"]),
        ("?tier=null", ["Alpine Acme"]),
        ("?region=EMEA", ["Northwind Acme", "Zephyr Acme"]),
        ("?region=APAC", ["Bayside Acme"]),
        ("?partner_type=reseller&region=NA&tier=silver&stage=onboarding", ["Contoso Acme"]),
    ],
)
def test_each_filter_narrows_the_directory(directory, query, expected):
    content = page(staff_client(directory), query)
    assert names(content) == expected
    assert f"<caption>{len(expected)} partner" in content
    for pair in query[1:].split("&"):
        field, value = pair.split("=")
        assert re.search(
            rf'<select name="{field}" id="id_{field}">.*?<option value="{value}" selected>', content, re.S
        )


@pytest.mark.parametrize(
    "text, expected",
    [
        ("north", ["Northwind Acme"]),
        ("ACME", SORTED["name"]),
        ("zephyr-cloud", ["Zephyr Acme"]),  # the website domain
        ("contoso-acme.example", ["Contoso Acme"]),
        ("  bayside ", ["Bayside Acme"]),
    ],
)
def test_the_search_finds_partners_by_name_or_domain(directory, text, expected):
    client = staff_client(directory)
    content = page(client, f"?q={text.replace(' ', '+')}")
    assert names(content) == expected
    assert f'<input type="search" name="q" value="{text}" id="id_q">' in content


def test_filters_that_leave_no_partner_say_so_and_offer_the_whole_list(directory):
    content = page(staff_client(directory), "?q=nobody-by-this-name&stage=active")
    assert names(content) == []
    assert re.search(r'class="empty-state">\s*<p>No partner matches these filters.</p>', content)
    assert '<a href="/partners/">Show all</a>' in content
    assert "<table" not in content


def test_the_choices_of_type_and_tier_are_the_tenants_own(directory):
    content = page(staff_client(directory))
    assert '<option value="exclusive">Acme-only Distributor</option>' in content
    assert '<option value="diamond">Acme Diamond</option>' in content
    assert '<option value="null">No tier</option>' in content
    for globex_only in ("Globex-only Distributor", "Globex Diamond", "Globex Special", "globex-special"):
        assert globex_only not in content


@pytest.mark.parametrize(
    "query",
    [
        "?stage=nonsense",
        "?region=mars",
        "?tier=no-such-tier",
        "?partner_type=globex-special",  # another tenant's type is no choice here
        "?partner_type=1",  # types are chosen by slug, not by id
    ],
)
def test_a_bad_filter_value_shows_its_error_and_narrows_nothing(directory, query):
    content = page(staff_client(directory), query)
    field = query[1:].split("=")[0]
    assert names(content) == SORTED["name"]
    assert "<caption>5 partners</caption>" in content
    assert re.search(rf'<ul class="errorlist" id="id_{field}_error"><li>Select a valid choice.', content)
    assert re.search(
        rf'<select name="{field}" aria-invalid="true" aria-describedby="id_{field}_error"', content
    )


def test_a_bad_filter_value_does_not_undo_the_good_ones(directory):
    content = page(staff_client(directory), "?region=EMEA&tier=bogus")
    assert names(content) == ["Northwind Acme", "Zephyr Acme"]


@pytest.mark.parametrize("query", ["?page=abc", "?page=0", "?page=99", "?per_page=0", "?_export=xlsx"])
def test_odd_paging_and_export_values_still_show_the_page(directory, query):
    assert names(page(staff_client(directory), query)) == SORTED["name"]


# ---- CSV export --------------------------------------------------------------------------------------


def test_the_export_link_keeps_the_filters_and_the_sort_but_not_the_page(directory):
    content = page(staff_client(directory), "?stage=active&sort=-tier&page=1")
    assert re.search(
        r'<a href="\?stage=active&amp;sort=-tier&amp;_export=csv" role="button" class="secondary outline" '
        r"download>Export CSV</a>",
        content,
    )


def test_the_export_holds_the_directorys_columns_and_every_partner_of_the_tenant(directory):
    response, rows = export(staff_client(directory))
    today = timezone.localdate().isoformat()
    assert response["Content-Disposition"] == f'attachment; filename="partners-acme-{today}.csv"'
    assert rows[0] == HEADERS
    by_name = {row[0]: row for row in rows[1:]}
    assert list(by_name) == SORTED["name"]
    assert by_name["Northwind Acme"] == [
        "Northwind Acme",
        "Reseller",
        "Gold",
        "Active",
        "Europe, Middle East and Africa",
        "DE",
        today,
    ]
    assert by_name["Alpine Acme"][1:4] == ["Technology partner", "", "Exited"]  # no tier: an empty cell
    assert not any("Globex" in cell for row in rows for cell in row)


def test_the_export_holds_the_rows_the_filters_select_in_the_chosen_order(directory):
    _response, rows = export(staff_client(directory), "?region=EMEA&sort=-name")
    assert rows[0] == HEADERS
    assert [row[0] for row in rows[1:]] == ["Zephyr Acme", "Northwind Acme"]

    _response, rows = export(staff_client(directory), "?q=acme&sort=stage")
    assert [row[0] for row in rows[1:]] == SORTED["stage"]

    _response, rows = export(staff_client(directory), "?tier=null")
    assert [row[0] for row in rows[1:]] == ["Alpine Acme"]


def test_the_export_ignores_a_bad_filter_value_like_the_page(directory):
    _response, rows = export(staff_client(directory), "?stage=nonsense&region=EMEA")
    assert [row[0] for row in rows[1:]] == ["Northwind Acme", "Zephyr Acme"]


def test_the_export_holds_every_page(directory):
    from tests.test_pages import add_partners

    add_partners(directory.tenant, 60)
    _response, rows = export(staff_client(directory), "?page=1")
    assert len(rows) == 1 + 65


def test_the_export_hands_no_formula_to_a_spreadsheet(directory):
    with tenant_scope(directory.tenant):
        add_partner(
            '=HYPERLINK("https://evil.example","Click")',
            partner_type="reseller",
            tier=None,
            stage=Stage.APPLIED,
            region=Region.EMEA,
            country="DE",
        )
    _response, rows = export(staff_client(directory), "?stage=applied&sort=name")
    assert [row[0] for row in rows[1:]] == ['\'=HYPERLINK("https://evil.example","Click")', "Bayside Acme"]


def test_the_export_speaks_the_visitors_language(directory):
    client = staff_client(directory)
    client.cookies["django_language"] = "de"
    _response, rows = export(client, "?partner_type=reseller")
    assert rows[0] == ["Name", "Typ", "Partnerstufe", "Phase", "Region", "Land", "Erstellt"]
    # Types and tiers are the tenant's own rows, named in its words; stages and regions are ours.
    assert rows[1][1:5] == ["Reseller", "Silver", "Onboarding", "Nordamerika"]


# ---- Who gets the directory and the export ----------------------------------------------------------


@pytest.mark.parametrize("role", [Role.PARTNER_ADMIN, Role.PARTNER_USER])
@pytest.mark.parametrize("query", ["", "?stage=active", "?_export=csv", "?_export=csv&stage=onboarding"])
def test_partner_people_are_sent_to_their_organisation_not_the_directory_or_its_export(
    directory, role, query
):
    client = Client(HTTP_HOST=directory.host)
    client.force_login(directory.acme.by_role()[role])
    response = client.get(f"/partners/{query}")
    assert response.status_code == 302
    assert response["Location"] == f"/partners/{directory.acme.partner.slug}/"


@pytest.mark.parametrize("query", ["", "?_export=csv"])
def test_anonymous_visitors_and_other_tenants_sessions_are_sent_to_sign_in(directory, query):
    anonymous = Client(HTTP_HOST=directory.host)
    response = anonymous.get(f"/partners/{query}")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")

    outsider = Client(HTTP_HOST=directory.host)
    outsider.force_login(directory.outsider)
    response = outsider.get(f"/partners/{query}")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize(
    "query", ["", "?sort=-name", "?q=acme", "?partner_type=exclusive", "?tier=diamond", "?region=EMEA"]
)
def test_another_tenants_staff_never_see_acmes_partners(directory, query):
    client = Client(HTTP_HOST=directory.globex.host)
    client.force_login(directory.globex.manager)
    content = page(client, query)
    _response, rows = export(client, query)
    acme_names = SORTED["name"]
    for name in acme_names:
        assert name not in content
        assert all(name not in row for row in rows)
    if not query:
        assert names(content) == ["Contoso Globex", "Northwind Globex"]
        assert [row[0] for row in rows[1:]] == ["Contoso Globex", "Northwind Globex"]


def test_a_stalled_partner_is_flagged_with_its_reason_and_can_be_filtered(directory):
    with tenant_scope(directory.tenant):
        contoso = directory.acme.other_partner
        assert partner_services.partner_set_stalled(partner=contoso, reason="2 tasks overdue") is True
        first_flagged = contoso.stalled_since
        # Still stalled the next night: the flag keeps its first date.
        assert partner_services.partner_set_stalled(partner=contoso, reason="3 tasks overdue") is False
        assert contoso.stalled_since == first_flagged and contoso.stall_reason == "3 tasks overdue"

    content = page(staff_client(directory))
    assert 'title="3 tasks overdue">Stalled</span>' in content
    assert names(page(staff_client(directory), "?stalled=true")) == ["Contoso Acme"]

    with tenant_scope(directory.tenant):
        assert partner_services.partner_set_stalled(partner=contoso, reason=None) is True
    assert "Stalled</span>" not in page(staff_client(directory))
    assert names(page(staff_client(directory), "?stalled=true")) == []
