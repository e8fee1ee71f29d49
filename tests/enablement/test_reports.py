"""The managers' reports: completion and engagement per partner and per asset, partners with nobody
certified, CSV exports, query counts, and who gets a 404."""

from __future__ import annotations

import csv
import io

import pytest

from enablement import services
from partners import services as partner_services
from partners.models import PartnerType, Region, Stage, Tier
from prm.tenancy import tenant_scope
from tests.enablement.conftest import signed_in
from tests.enablement.test_certifications import pass_course


@pytest.fixture
def activity(cast, content):
    """Northwind: Bob viewed the deck twice and downloaded it, and passed the course (certified); Alice
    viewed it once. Contoso: nothing."""
    tc = cast.acme
    with tenant_scope(cast.tenant):
        services.asset_record_view(asset=content.asset, partner=tc.partner, acting_user=tc.partner_user)
        services.asset_record_view(asset=content.asset, partner=tc.partner, acting_user=tc.partner_user)
        services.asset_record_download(asset=content.asset, partner=tc.partner, acting_user=tc.partner_user)
        services.asset_record_view(asset=content.asset, partner=tc.partner, acting_user=tc.partner_admin)
        pass_course(tc, content.course, tc.partner_user, tc.partner)
    return content


def export(client, path, **query) -> list[dict]:
    response = client.get(path, {**query, "_export": "csv"})
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_the_partner_report_shows_engagement_completion_and_certified_people(cast, activity):
    rows = {row["Partner"]: row for row in export(signed_in(cast.manager), "/enablement/reports/partners/")}
    northwind, contoso = rows[cast.acme.partner.name], rows[cast.acme.other_partner.name]
    assert northwind["Asset views"] == "3" and northwind["Downloads"] == "1"
    assert northwind["Assets opened"] == "1" and northwind["People"] == "2"
    assert northwind["Courses started"] == "1" and northwind["Courses passed"] == "1"
    assert northwind["People certified"] == "1"
    assert (contoso["Asset views"], contoso["Courses passed"], contoso["People certified"]) == ("0", "0", "0")


def test_the_partner_report_lists_partners_with_nobody_certified(cast, activity):
    client = signed_in(cast.manager)
    names = [row["Partner"] for row in export(client, "/enablement/reports/partners/", uncertified="on")]
    assert names == [cast.acme.other_partner.name]
    page = client.get("/enablement/reports/partners/", {"uncertified": "on"}).content.decode()
    assert cast.acme.other_partner.name in page and cast.acme.partner.name not in page


def test_the_asset_report_shows_views_downloads_and_reach(cast, activity):
    rows = export(signed_in(cast.manager), "/enablement/reports/assets/")
    assert rows == [
        {
            "Asset": activity.asset.title,
            "Kind": "File",
            "Audience": "Everyone",
            "Views": "3",
            "Downloads": "1",
            "Partners": "1",
            "People": "2",
        }
    ]


def test_partner_people_get_a_404_for_the_reports_and_their_exports(cast, activity):
    for user in (cast.partner_admin, cast.partner_user):
        client = signed_in(user)
        for path in ("/enablement/reports/partners/", "/enablement/reports/assets/"):
            assert client.get(path).status_code == 404
            assert client.get(path, {"_export": "csv"}).status_code == 404


def test_another_tenants_manager_sees_only_their_own_partners(cast, activity):
    body = (
        signed_in(cast.globex.manager, cast.globex.host).get("/enablement/reports/partners/").content.decode()
    )
    assert cast.acme.partner.name not in body and cast.globex.partner.name in body


PARTNER_REPORT_QUERIES = 10
ASSET_REPORT_QUERIES = 10


def test_the_reports_cost_the_same_queries_with_many_rows(cast, activity, django_assert_num_queries):
    client = signed_in(cast.manager)
    client.get("/enablement/reports/partners/")
    with django_assert_num_queries(PARTNER_REPORT_QUERIES):
        client.get("/enablement/reports/partners/")
    with django_assert_num_queries(ASSET_REPORT_QUERIES):
        client.get("/enablement/reports/assets/")
    with tenant_scope(cast.tenant):
        reseller, gold = PartnerType.objects.get(slug="reseller"), Tier.objects.get(slug="gold")
        for n in range(15):
            partner = partner_services.partner_create(
                name=f"Extra partner {n}",
                partner_type=reseller,
                tier=gold,
                country="FR",
                region=Region.EMEA,
                stage=Stage.ACTIVE,
                acting_user=None,
            )
            services.asset_record_view(asset=activity.asset, partner=partner, acting_user=cast.partner_user)
            asset = services.asset_save(
                asset=type(activity.asset)(
                    kind="link", title=f"Extra asset {n}", url="https://example.com/x"
                ),
                acting_user=None,
            )
            asset.audience_tiers.set([gold])
    with django_assert_num_queries(PARTNER_REPORT_QUERIES):
        response = client.get("/enablement/reports/partners/")
    assert "Extra partner 14" in response.content.decode()
    with django_assert_num_queries(ASSET_REPORT_QUERIES):
        response = client.get("/enablement/reports/assets/")
    assert "Extra asset 14" in response.content.decode()


def test_the_course_report_shows_who_started_and_passed_each_course(cast, activity):
    with tenant_scope(cast.tenant):
        services.quiz_attempt_start(
            course=activity.course, partner=cast.acme.other_partner, acting_user=cast.other_partner_user
        )
    client = signed_in(cast.manager)
    rows = export(client, "/enablement/reports/courses/")
    assert rows == [
        {
            "Course": activity.course.title,
            "People started": "2",
            "People passed": "1",
            "Passed of started": "50%",
            "Course id": str(activity.course.public_id),
        }
    ]
    assert signed_in(cast.partner_user).get("/enablement/reports/courses/").status_code == 404


COURSE_REPORT_QUERIES = 8


def test_the_course_report_costs_the_same_queries_with_many_courses(
    cast, activity, django_assert_num_queries
):
    from enablement.models import Course

    client = signed_in(cast.manager)
    client.get("/enablement/reports/courses/")
    with django_assert_num_queries(COURSE_REPORT_QUERIES):
        client.get("/enablement/reports/courses/")
    with tenant_scope(cast.tenant):
        for n in range(15):
            Course.objects.create(title=f"Extra course {n}")
    with django_assert_num_queries(COURSE_REPORT_QUERIES):
        response = client.get("/enablement/reports/courses/")
    assert "Extra course 14" in response.content.decode()
