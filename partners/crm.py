"""What partners/ mirrors to the CRM: partners as Accounts, their people as Contacts (crm_sync.registry)."""

from __future__ import annotations

from crm_sync.registry import mirror
from partners.models import Partner, PartnerMembership

mirror(
    Partner,
    crm_object="Account",
    fields={
        "name": "Name",
        "website_domain": "Website",
        "country": "BillingCountry",
        "tier.name": "PRM_Tier__c",
        "stage": "PRM_Stage__c",
        "partner_type.name": "PRM_Partner_Type__c",
        "region": "PRM_Region__c",
    },
)

# A partner member has no public id of its own; its tenant membership's (one per person and tenant) is it.
mirror(
    PartnerMembership,
    crm_object="Contact",
    fields={
        "first_name": "FirstName",
        "last_name": "LastName",
        "membership.user.email": "Email",
        "partner.public_id": "AccountId",
    },
    parent="partners.partner",
    external_id="membership.public_id",
)
