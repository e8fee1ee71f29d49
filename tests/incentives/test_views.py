"""The tier pages: the partner's own tier view, the staff's program page and any partner's tier, with the
outsiders, and the query count of the program page."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from incentives import services
from incentives.models import Recommendation, TierEvaluation
from partners.models import Tier
from prm.tenancy import tenant_scope
from tests.factories import PartnerFactory
from tests.incentives.conftest import set_rule, win_deal

pytestmark = pytest.mark.django_db


def client_for(user, host="acme.localhost") -> Client:
    client = Client(HTTP_HOST=host)
    client.force_login(user)
    return client


def test_the_partner_sees_its_tier_benefits_and_what_the_next_tier_misses(
    cast, django_capture_on_commit_callbacks
):
    with tenant_scope(cast.tenant):
        set_rule("platinum", min_won_revenue=Decimal("100000"), min_deals_won=0, min_certified_people=1)
        with django_capture_on_commit_callbacks(execute=True):
            win_deal(cast.acme.partner, cast.partner_user, cast.manager, amount=Decimal("60000"))
        services.partner_move_tier(
            partner=cast.acme.partner,
            to_tier=Tier.objects.get(slug="silver"),
            reason="Quiet year.",
            acting_user=cast.manager,
        )
        services.partner_move_tier(
            partner=cast.acme.partner,
            to_tier=Tier.objects.get(slug="gold"),
            reason="Back on track.",
            acting_user=cast.manager,
        )
    page = client_for(cast.partner_user).get("/incentives/").content.decode()
    assert "Current tier: Gold" in page
    assert "Next tier: Platinum" in page
    assert "$40,000 more won revenue, 1 more certified person" in page
    assert "4.00 %" in page  # Gold's rebate
    assert page.index("Back on track.") < page.index("Quiet year.")
    assert "Rebate on Cloud migration" in page


def test_staff_see_the_program_and_any_partners_tier_and_outsiders_get_404(cast):
    with tenant_scope(cast.tenant):
        services.tiers_evaluate()
    manager = client_for(cast.manager)
    assert "Tier rules" in manager.get("/incentives/").content.decode()
    slug = cast.acme.partner.slug
    assert cast.acme.partner.name in manager.get(f"/incentives/partners/{slug}/").content.decode()
    assert client_for(cast.acme.other_partner_user).get(f"/incentives/partners/{slug}/").status_code == 404
    assert (
        client_for(cast.outsider, host="globex.localhost").get(f"/incentives/partners/{slug}/").status_code
        == 404
    )
    assert client_for(cast.manager).get("/incentives/mdf/new/").status_code == 404


def test_the_program_page_reads_the_recommendations_in_a_fixed_number_of_queries(
    cast, django_assert_num_queries
):
    with tenant_scope(cast.tenant):
        gold = Tier.objects.get(slug="gold")
        for _ in range(30):
            partner = PartnerFactory(
                tenant=cast.tenant, tier=None, partner_type=cast.acme.partner.partner_type
            )
            TierEvaluation.objects.create(
                partner=partner, qualified_tier=gold, recommendation=Recommendation.UPGRADE
            )
    manager = client_for(cast.manager)
    manager.get("/incentives/")
    # the base page's session, user, membership and tenant reads, then the rules, the recommendations and
    # the deals the last evaluation left out of the revenue
    with django_assert_num_queries(9):
        response = manager.get("/incentives/")
    assert response.content.decode().count("Upgrade") >= 30


@pytest.mark.parametrize("rows", [2, 20])
def test_the_partners_tier_page_reads_in_a_fixed_number_of_queries(cast, django_assert_num_queries, rows):
    with tenant_scope(cast.tenant):
        tiers = list(Tier.objects.filter(slug__in=["silver", "gold"]).order_by("rank"))
        for n in range(rows):
            services.ledger_correct(
                partner=cast.acme.partner, amount=Decimal(n + 1), memo=f"Spiff {n}", acting_user=None
            )
            services.partner_move_tier(
                partner=cast.acme.partner, to_tier=tiers[n % 2], reason=f"Move {n}", acting_user=cast.manager
            )
    alice = client_for(cast.partner_admin)
    alice.get("/incentives/")
    # the base page's reads, the partner, the numbers (partner flags, currencies with a rate, converted
    # deals, deals without a rate, certificates), the rules, the evaluation, the history, the ledger and its
    # total, MDF requests and budget, statements
    with django_assert_num_queries(22):
        response = alice.get("/incentives/")
    assert response.content.decode().count("Spiff") == rows


def test_the_partner_page_links_to_the_tier_page_with_its_history(cast):
    from django.test import Client

    staff = Client(HTTP_HOST=cast.host)
    staff.force_login(cast.manager)
    body = staff.get(f"/partners/{cast.acme.partner.slug}/").content.decode()
    assert f'href="/incentives/partners/{cast.acme.partner.slug}/">Benefits and tier history' in body
    partner = Client(HTTP_HOST=cast.host)
    partner.force_login(cast.partner_admin)
    body = partner.get(f"/partners/{cast.acme.partner.slug}/").content.decode()
    assert 'href="/incentives/">Benefits and tier history' in body
