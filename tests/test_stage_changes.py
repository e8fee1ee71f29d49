"""The lifecycle stage machine on Partner: one transition map, one service, a StageChange row per move."""

from __future__ import annotations

import pytest

from partners import services
from partners.models import Partner, Stage, StageChange
from prm.tenancy import tenant_scope


def test_creating_a_partner_records_its_first_stage(cast):
    with tenant_scope(cast.tenant):
        [first] = StageChange.objects.filter(partner=cast.acme.other_partner)
        assert (first.from_stage, first.to_stage) == ("", Stage.ONBOARDING)


def test_a_move_updates_the_partner_and_records_who_when_and_why(cast):
    partner = cast.acme.other_partner  # onboarding
    with tenant_scope(cast.tenant):
        change = services.partner_change_stage(
            partner=partner,
            to_stage=Stage.ACTIVATED,
            reason="first deal registered",
            acting_user=cast.manager,
        )
        assert Partner.objects.get(pk=partner.pk).stage == Stage.ACTIVATED
        assert (change.from_stage, change.to_stage, change.reason, change.acting_user) == (
            Stage.ONBOARDING,
            Stage.ACTIVATED,
            "first deal registered",
            cast.manager,
        )
        assert StageChange.objects.filter(partner=partner).count() == 2


def test_a_move_the_map_does_not_allow_is_refused_and_changes_nothing(cast):
    partner = cast.acme.other_partner  # onboarding
    with tenant_scope(cast.tenant):
        with pytest.raises(services.StageTransitionError, match="cannot move from Onboarding to Dormant"):
            services.partner_change_stage(partner=partner, to_stage=Stage.DORMANT, acting_user=None)
        assert Partner.objects.get(pk=partner.pk).stage == Stage.ONBOARDING
        assert StageChange.objects.filter(partner=partner).count() == 1


def test_moving_to_the_stage_a_partner_is_in_records_nothing(cast):
    partner = cast.acme.partner  # active
    with tenant_scope(cast.tenant):
        assert services.partner_change_stage(partner=partner, to_stage=Stage.ACTIVE, acting_user=None) is None
        assert StageChange.objects.filter(partner=partner).count() == 1


def test_the_admin_shows_the_history_and_does_not_let_the_stage_be_typed_in(cast):
    from tests.test_admin import admin_client

    client = admin_client(cast.manager, cast.host)
    body = client.get(f"/admin/partners/partner/{cast.acme.other_partner.pk}/change/").content.decode()
    assert "Lifecycle history" in body
    assert 'name="stage"' not in body
