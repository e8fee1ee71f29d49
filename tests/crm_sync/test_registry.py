"""The mirror registry: what each app declares, the per-tenant field mappings it seeds, and their admin."""

from __future__ import annotations

import pytest
from django.test import Client

from crm_sync import registry, services
from crm_sync.emulator.schema import OBJECTS
from crm_sync.models import Direction, FieldMapping
from partners.models import Partner, PartnerMembership
from prm.models import Tenant
from prm.tenancy import tenant_scope
from tests.crm_sync.conftest import CLIENT_ID, CLIENT_SECRET
from tests.crm_sync.test_connection import save_connection

PARTNER, MEMBER = "partners.partner", "partners.partnermembership"


def test_the_registry_lists_both_declarations_parents_first():
    # Other apps declare mirrors of their own; the partners' two are these.
    declared = [m for m in registry.mirrors() if m.key.startswith("partners.")]
    assert [(m.key, m.model, m.crm_object, m.parent) for m in declared] == [
        (PARTNER, Partner, "Account", None),
        (MEMBER, PartnerMembership, "Contact", PARTNER),
    ]
    assert registry.get(PARTNER).fields["tier.name"] == "PRM_Tier__c"
    assert [key for key, _ in registry.object_choices() if key.startswith("partners.")] == [PARTNER, MEMBER]


@pytest.mark.parametrize("key", [PARTNER, MEMBER])
def test_every_declared_field_exists_on_both_sides(key):
    declared = registry.get(key)
    crm_fields = OBJECTS[declared.crm_object]
    for path, crm_field in declared.fields.items():
        assert registry.path_exists(declared.model, path), path
        assert crm_fields[crm_field].writable, crm_field
    assert registry.path_exists(declared.model, declared.external_id)
    assert crm_fields[registry.EXTERNAL_ID_FIELD].external_id


def test_path_exists_refuses_what_is_not_there():
    assert not registry.path_exists(Partner, "nickname")
    assert not registry.path_exists(Partner, "name.upper")
    assert not registry.path_exists(Partner, "tier.nothing")
    assert not registry.path_exists(Partner, "_state")
    assert registry.path_exists(PartnerMembership, "membership.user.email")


def test_the_values_sent_for_a_partner_and_its_people(cast, acme_scope):
    partner = cast.acme.partner
    assert registry.get(PARTNER).values(partner) == {
        "Name": partner.name,
        "Website": partner.website_domain,
        "BillingCountry": "DE",
        "PRM_Tier__c": partner.tier.name,
        "PRM_Stage__c": "active",
        "PRM_Partner_Type__c": partner.partner_type.name,
        "PRM_Region__c": "EMEA",
        "PRM_External_Id__c": str(partner.public_id),
    }
    member = PartnerMembership.objects.get(membership__user=cast.acme.partner_user)
    assert registry.get(MEMBER).values(member) == {
        "FirstName": "Bob",
        "LastName": "User",
        "Email": cast.acme.partner_user.email,
        "AccountId": partner.public_id,
        "PRM_External_Id__c": str(member.membership.public_id),
    }


def test_a_one_word_name_is_the_last_name(cast, acme_scope):
    member = PartnerMembership.objects.get(membership__user=cast.acme.partner_user)
    member.membership.user.full_name = "Cher"
    assert (member.first_name(), member.last_name()) == ("", "Cher")
    member.membership.user.full_name = ""
    assert member.last_name() == member.membership.user.email


def test_declaring_again_is_harmless_and_declaring_differently_is_refused():
    declared = registry.get(PARTNER)
    again = registry.mirror(Partner, crm_object="Account", fields=declared.fields)
    assert again is declared
    with pytest.raises(ValueError):
        registry.mirror(Partner, crm_object="Lead", fields=declared.fields)
    with pytest.raises(TypeError):
        registry.mirror(Tenant, crm_object="Account", fields={"name": "Name"})


def test_default_mappings_come_out_per_tenant_once(cast):
    acme, globex = cast.acme.tenant, cast.globex.tenant
    mappings = services.mappings_for(acme, PARTNER)
    assert {(m.portal_field, m.crm_field) for m in mappings} == set(registry.get(PARTNER).fields.items())
    assert {m.direction for m in mappings} == {Direction.TO_CRM}
    assert {m.tenant_id for m in mappings} == {acme.pk}
    assert len(services.mappings_for(acme, MEMBER)) == len(registry.get(MEMBER).fields)

    # A tenant's edits stay: removing a default does not bring it back.
    with tenant_scope(acme):
        FieldMapping.objects.filter(object_key=PARTNER, crm_field="Website").delete()
    assert len(services.mappings_for(acme, PARTNER)) == len(registry.get(PARTNER).fields) - 1
    assert len(services.mappings_for(globex, PARTNER)) == len(registry.get(PARTNER).fields)
    with pytest.raises(KeyError):
        services.mappings_for(acme, "prm.tenant")


def test_saving_the_crm_connection_creates_the_default_mappings(cast, emulator):
    save_connection(
        cast.tenant,
        login_url=emulator.url,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        ca_cert_path=str(emulator.ca_path),
    )
    with tenant_scope(cast.tenant):
        keys = sorted(set(FieldMapping.objects.values_list("object_key", flat=True)))
    assert keys == sorted(m.key for m in registry.mirrors())


def admin_client(user, host: str) -> Client:
    client = Client(HTTP_HOST=host)
    client.force_login(user)
    return client


def test_a_tenant_admin_adds_and_checks_a_mapping_in_the_admin(cast):
    client = admin_client(cast.acme.tenant_admin, cast.host)
    services.mappings_for(cast.tenant, PARTNER)
    url = "/admin/crm_sync/fieldmapping/add/"
    data = {"object_key": PARTNER, "portal_field": "slug", "crm_field": "Type", "direction": Direction.BOTH}

    response = client.post(url, {**data, "portal_field": "nickname"})
    assert response.status_code == 200
    assert "The mirrored object has no field nickname." in response.content.decode()

    response = client.post(url, {**data, "crm_field": "Name"})
    assert response.status_code == 200
    assert "This CRM field is already mapped for this object." in response.content.decode()

    assert client.post(url, data).status_code == 302
    with tenant_scope(cast.tenant):
        added = FieldMapping.objects.get(crm_field="Type")
    assert (added.portal_field, added.direction, added.tenant_id) == ("slug", Direction.BOTH, cast.tenant.pk)
    # Another tenant's mapping to the same CRM field is no conflict.
    services.mappings_for(cast.globex.tenant, PARTNER)
    other = admin_client(cast.globex.tenant_admin, cast.globex.host)
    assert other.post(url, data).status_code == 302


def test_a_batch_is_built_with_its_relations_joined_not_fetched_per_record(cast, acme_scope):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from partners.models import Partner, PartnerMembership

    partners = registry.get("partners.partner")
    members = registry.get("partners.partnermembership")
    assert partners.related() == ["partner_type", "tier"]
    assert members.related() == ["membership", "membership__user", "partner"]
    with CaptureQueriesContext(connection) as queries:
        for declared, model in ((partners, Partner), (members, PartnerMembership)):
            records = model.objects.select_related(*declared.related())
            for record in records:
                declared.values(record)
    assert len(queries) == 2


def test_a_further_reference_is_sent_by_the_targets_external_id(cast, acme_scope):
    partner = cast.acme.partner
    declared = registry.Mirror(
        key="tests.reference",
        model=Partner,
        crm_object="Opportunity",
        fields={"name": "Name", "public_id": "PRM_Partner_Account__c"},
        references={"PRM_Partner_Account__c": PARTNER},
    )
    assert declared.values(partner) == {
        "Name": partner.name,
        "PRM_Partner_Account__r": {"PRM_External_Id__c": str(partner.public_id)},
        "PRM_External_Id__c": str(partner.public_id),
    }
    assert registry.relationship_name("AccountId") == "Account"


def test_a_condition_skips_rows_that_do_not_meet_it_but_never_deletes():
    plain = registry.outbox_trigger(Partner)
    conditional = registry.outbox_trigger(Partner, "NEW.stage = 'active'")
    assert "NEW.stage" not in plain.func.sql if hasattr(plain.func, "sql") else "NEW.stage" not in plain.func
    func = conditional.func.sql if hasattr(conditional.func, "sql") else conditional.func
    assert "IF TG_OP <> 'DELETE' AND NOT (NEW.stage = 'active') THEN RETURN NULL; END IF;" in func


def test_a_condition_reads_over_a_tables_rows_for_queries_that_queue_rows_themselves():
    declared = registry.Mirror(
        key="tests.condition", model=Partner, crm_object="Account", condition="NEW.stage = 'active'"
    )
    assert declared.row_condition("partners_partner") == "\"partners_partner\".stage = 'active'"
    assert registry.get(PARTNER).row_condition("partners_partner") == "TRUE"
