"""django-guardian on partners: grants live in tables with a real foreign key to the partner."""

from __future__ import annotations

from guardian.core import ObjectPermissionChecker
from guardian.shortcuts import assign_perm, get_objects_for_user, remove_perm

from partners.models import Partner, PartnerUserObjectPermission
from prm.tenancy import tenant_scope


def test_a_channel_manager_can_be_assigned_to_single_partners(cast):
    manager = cast.manager
    with tenant_scope(cast.tenant):
        assign_perm("partners.change_partner", manager, cast.acme.partner)
        assert PartnerUserObjectPermission.objects.filter(user=manager).count() == 1
        assert manager.has_perm("partners.change_partner", cast.acme.partner)
        assert not manager.has_perm("partners.change_partner", cast.acme.other_partner)
        assigned = get_objects_for_user(manager, "partners.change_partner", klass=Partner)
        assert list(assigned) == [cast.acme.partner]
        checker = ObjectPermissionChecker(manager)
        assert checker.has_perm("change_partner", cast.acme.partner)
        remove_perm("partners.change_partner", manager, cast.acme.partner)
        assert not PartnerUserObjectPermission.objects.filter(user=manager).exists()


def test_grants_are_scoped_to_the_tenant_like_every_tenant_row(cast):
    with tenant_scope(cast.tenant):
        assign_perm("partners.view_partner", cast.manager, cast.acme.partner)
    with tenant_scope(cast.globex.tenant):
        assert not PartnerUserObjectPermission.objects.exists()


def test_deleting_a_partner_takes_its_grants_with_it(cast):
    with tenant_scope(cast.tenant):
        assign_perm("partners.view_partner", cast.manager, cast.acme.other_partner)
        cast.acme.other_partner.delete()
        assert not PartnerUserObjectPermission.objects.exists()
