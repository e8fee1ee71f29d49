"""Tier moves: the service, the admin's single and bulk actions with a reason, accepting recommendations,
the immutable history, the email to the partner, and the CRM outbox row that mirrors the new tier."""

from __future__ import annotations

import pytest
from django.core import mail
from django.db import InternalError, ProgrammingError, transaction
from django.test import Client

from crm_sync.models import OutboxEntry
from incentives import services
from incentives.models import Recommendation, TierChange, TierEvaluation
from partners.models import Partner, Tier
from prm.tenancy import tenant_scope

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/incentives/partnertier/"


def client_for(user, host="acme.localhost") -> Client:
    client = Client(HTTP_HOST=host)
    client.force_login(user)
    return client


def test_a_move_records_who_when_why_and_the_numbers_and_emails_the_partner(
    cast, acme_scope, django_capture_on_commit_callbacks
):
    partner = cast.acme.other_partner  # Silver
    gold = Tier.objects.get(slug="gold")
    OutboxEntry.objects.filter(object_key="partners.partner").delete()
    with django_capture_on_commit_callbacks(execute=True):
        change = services.partner_move_tier(
            partner=partner, to_tier=gold, reason="Strong quarter.", acting_user=cast.manager
        )
    assert (change.from_tier.slug, change.to_tier.slug, change.changed_by, change.reason) == (
        "silver",
        "gold",
        cast.manager,
        "Strong quarter.",
    )
    assert set(change.numbers) >= {"won_revenue", "deals_won", "certified_people"}
    assert Partner.objects.get(pk=partner.pk).tier == gold
    # The partner's save queued its CRM Account (PRM_Tier__c follows tier.name).
    assert OutboxEntry.objects.filter(object_key="partners.partner", record_id=partner.pk).exists()
    [message] = mail.outbox
    assert "Gold" in message.subject
    assert cast.acme.other_partner_admin.email in message.to


def test_a_move_to_another_tenants_tier_is_refused_and_writes_nothing(cast, acme_scope):
    with tenant_scope(cast.globex.tenant):
        foreign = Tier.objects.get(slug="platinum")
    partner = cast.acme.other_partner
    with pytest.raises(services.IncentiveError, match="not one of this program's tiers"):
        services.partner_move_tier(partner=partner, to_tier=foreign, reason="Oops.", acting_user=cast.manager)
    assert not TierChange.objects.exists()
    assert Partner.objects.get(pk=partner.pk).tier.slug == "silver"


def test_a_move_needs_a_reason(cast, acme_scope):
    with pytest.raises(services.IncentiveError, match="Say why"):
        services.partner_move_tier(
            partner=cast.acme.other_partner,
            to_tier=Tier.objects.get(slug="gold"),
            reason="  ",
            acting_user=cast.manager,
        )
    assert not TierChange.objects.exists()


def test_the_history_cannot_be_edited_or_deleted(cast, acme_scope):
    change = services.partner_move_tier(
        partner=cast.acme.other_partner,
        to_tier=Tier.objects.get(slug="gold"),
        reason="Strong quarter.",
        acting_user=cast.manager,
    )
    for attempt in (
        lambda: TierChange.objects.filter(pk=change.pk).update(reason="Rewritten."),
        lambda: TierChange.objects.filter(pk=change.pk).delete(),
    ):
        with pytest.raises((InternalError, ProgrammingError)), transaction.atomic():
            attempt()
    assert TierChange.objects.get(pk=change.pk).reason == "Strong quarter."


def test_a_manager_moves_two_partners_at_once_in_the_admin_with_a_reason(cast):
    with tenant_scope(cast.tenant):
        platinum = Tier.objects.get(slug="platinum")
        pks = [cast.acme.partner.pk, cast.acme.other_partner.pk]
    client = client_for(cast.manager)
    asked = client.post(CHANGELIST, {"action": "move_to_tier", "_selected_action": pks})
    assert asked.status_code == 200
    assert b"Move to" in asked.content
    refused = client.post(
        CHANGELIST,
        {"action": "move_to_tier", "_selected_action": pks, "apply": "1", "tier": platinum.pk, "reason": ""},
    )
    assert refused.status_code == 200  # the form again, with the error
    with tenant_scope(cast.tenant):
        assert not TierChange.objects.exists()
    done = client.post(
        CHANGELIST,
        {
            "action": "move_to_tier",
            "_selected_action": pks,
            "apply": "1",
            "tier": platinum.pk,
            "reason": "QBR.",
        },
    )
    assert done.status_code == 302
    with tenant_scope(cast.tenant):
        assert set(Partner.objects.filter(pk__in=pks).values_list("tier__slug", flat=True)) == {"platinum"}
        assert TierChange.objects.filter(reason="QBR.", changed_by=cast.manager).count() == 2
    page = client.get(f"{CHANGELIST}{cast.acme.partner.pk}/change/")
    assert b"QBR." in page.content


def test_the_admin_refuses_another_tenants_tier_as_an_invalid_choice(cast):
    with tenant_scope(cast.globex.tenant):
        foreign = Tier.objects.get(slug="gold")
    client = client_for(cast.manager)
    response = client.post(
        CHANGELIST,
        {
            "action": "move_to_tier",
            "_selected_action": [cast.acme.other_partner.pk],
            "apply": "1",
            "tier": foreign.pk,
            "reason": "Sneaky.",
        },
    )
    assert response.status_code == 200
    assert b"Select a valid choice" in response.content
    with tenant_scope(cast.tenant):
        assert not TierChange.objects.exists()


def test_accepting_a_recommendation_moves_the_partner_and_clears_it(cast):
    with tenant_scope(cast.tenant):
        evaluation = TierEvaluation.objects.create(
            partner=cast.acme.other_partner,
            qualified_tier=Tier.objects.get(slug="gold"),
            recommendation=Recommendation.UPGRADE,
        )
    response = client_for(cast.manager).post(
        "/admin/incentives/tierevaluation/", {"action": "accept", "_selected_action": [evaluation.pk]}
    )
    assert response.status_code == 302
    with tenant_scope(cast.tenant):
        change = TierChange.objects.get()
        assert change.to_tier.slug == "gold"
        assert "Upgrade recommended" in change.reason
        assert TierEvaluation.objects.get(pk=evaluation.pk).recommendation == Recommendation.NONE
