"""Tier evaluation: every partner's numbers read set-based, the qualifying tier, recommendations with the
downgrade grace period, the command, and the partner's "what is missing" view."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from dealreg.models import Deal
from incentives import selectors, services
from incentives.models import IncentiveSettings, Recommendation, TierEvaluation
from partners.models import Tier
from tests.factories import CertificationAwardFactory, PartnerFactory
from tests.incentives.conftest import set_rule, win_deal

pytestmark = pytest.mark.django_db


def _simple_rules():
    """Silver: $20,000 won; Gold: $60,000 won, 2 deals and 1 certified person; nothing else asked."""
    for slug in ("registered", "silver", "gold", "platinum"):
        set_rule(
            slug, requires_onboarding=False, requires_agreement=False, min_certified_people=0, min_deals_won=0
        )
    set_rule("silver", min_won_revenue=Decimal("20000"))
    set_rule("gold", min_won_revenue=Decimal("60000"), min_deals_won=2, min_certified_people=1)
    set_rule("platinum", min_won_revenue=Decimal("10000000"))


def test_a_new_tenant_gets_default_rules_and_benefits_for_its_tiers(cast, acme_scope):
    rules = selectors.rules_by_rank()
    assert [r.tier.slug for r in rules] == ["registered", "silver", "gold", "platinum"]
    assert [r.rebate_percent for r in rules] == [Decimal("0"), Decimal("2"), Decimal("4"), Decimal("6")]


def test_it_stores_the_numbers_and_recommends_an_upgrade_without_moving_anyone(cast, acme_scope):
    _simple_rules()
    partner = cast.acme.other_partner  # Silver
    win_deal(partner, cast.acme.other_partner_user, cast.manager, amount=Decimal("50000"))
    win_deal(partner, cast.acme.other_partner_user, cast.manager, amount=Decimal("20000"))
    CertificationAwardFactory(tenant=cast.tenant, partner=partner, user=cast.acme.other_partner_user)

    summary = services.tiers_evaluate()

    evaluation = TierEvaluation.objects.get(partner=partner)
    assert (evaluation.won_revenue, evaluation.deals_won, evaluation.certified_people) == (
        Decimal("70000"),
        2,
        1,
    )
    assert evaluation.qualified_tier.slug == "gold"
    assert evaluation.recommendation == Recommendation.UPGRADE
    assert summary.upgrades >= 1
    partner.refresh_from_db()
    assert partner.tier.slug == "silver"


def test_deals_won_more_than_twelve_months_ago_do_not_count(cast, acme_scope):
    _simple_rules()
    partner = cast.acme.other_partner
    deal = win_deal(partner, cast.acme.other_partner_user, cast.manager, amount=Decimal("50000"))
    Deal.objects.filter(pk=deal.pk).update(closed_at=timezone.now() - datetime.timedelta(days=400))
    services.tiers_evaluate()
    assert TierEvaluation.objects.get(partner=partner).won_revenue == 0


def test_a_downgrade_is_recommended_only_after_the_grace_period(cast, acme_scope):
    _simple_rules()
    settings = IncentiveSettings.current()
    settings.downgrade_grace_days = 30
    settings.save()
    partner = cast.acme.partner  # Gold, with nothing won

    services.tiers_evaluate()
    evaluation = TierEvaluation.objects.get(partner=partner)
    assert evaluation.recommendation == Recommendation.NONE
    assert evaluation.below_since is not None
    first_seen = evaluation.below_since

    services.tiers_evaluate(now=first_seen + datetime.timedelta(days=29))
    assert TierEvaluation.objects.get(partner=partner).recommendation == Recommendation.NONE

    services.tiers_evaluate(now=first_seen + datetime.timedelta(days=31))
    evaluation = TierEvaluation.objects.get(partner=partner)
    assert evaluation.recommendation == Recommendation.DOWNGRADE
    assert evaluation.qualified_tier.slug == "registered"
    assert evaluation.below_since == first_seen


@pytest.mark.parametrize("extra_partners", [5, 40])
def test_the_evaluation_reads_all_partners_in_the_same_number_of_queries(
    cast, acme_scope, django_assert_num_queries, extra_partners
):
    _simple_rules()
    silver = Tier.objects.get(slug="silver")
    for n in range(extra_partners):
        partner = PartnerFactory(tenant=cast.tenant, tier=silver, partner_type=cast.acme.partner.partner_type)
        if n % 5 == 0:
            win_deal(partner, cast.acme.other_partner_user, cast.manager, customer_name=f"Customer {n}")
    services.tiers_evaluate()
    # savepoint, settings, rules, tiers, partners with flags, the currencies with a rate, the converted won
    # deals, the won deals without a rate, certificates, current tiers, grace marks, the upsert, release:
    # whatever the number of partners.
    with django_assert_num_queries(13):
        summary = services.tiers_evaluate()
    assert summary.partners == 2 + extra_partners


def test_the_tier_view_says_exactly_what_is_missing_for_the_next_tier(cast, acme_scope):
    _simple_rules()
    partner = cast.acme.other_partner  # Silver; Gold asks $60,000, 2 deals, 1 certified person
    win_deal(partner, cast.acme.other_partner_user, cast.manager, amount=Decimal("20000"))
    view = selectors.tier_view(partner)
    assert view.rule.tier.slug == "silver"
    assert view.next_rule.tier.slug == "gold"
    assert view.missing == ["$40,000 more won revenue", "1 more deal won", "1 more certified person"]


def test_evaluate_tiers_runs_for_one_tenant_and_refuses_an_unknown_one(cast, capsys):
    call_command("evaluate_tiers", "--tenant", "acme")
    assert "Acme: 2 partners evaluated" in capsys.readouterr().out
    with pytest.raises(CommandError, match="No tenant with the slug 'nope'"):
        call_command("evaluate_tiers", "--tenant", "nope")


def test_the_nightly_task_evaluates_every_tenant(cast):
    from incentives.tasks import incentives_nightly_all
    from prm.tenancy import tenant_scope

    incentives_nightly_all.delay()
    for tenant_cast in (cast.acme, cast.globex):
        with tenant_scope(tenant_cast.tenant):
            assert TierEvaluation.objects.filter(partner=tenant_cast.partner).exists()
