"""What dealreg/ mirrors to the CRM (crm_sync.registry): customer accounts as Accounts, and approved deals as
Opportunities linked to the customer's Account and to the partner's Account, carrying the partner's
external id so CRM users see who sourced them.

A submitted or rejected registration is not the vendor's pipeline yet: the trigger's condition keeps it out
of the outbox until it is approved. Tenants with the lead mode on (DealRegSettings.lead_mode) see every
registration as a Lead from submission on; approval marks the Lead converted and the Opportunity appears.
"""

from __future__ import annotations

from crm_sync.registry import mirror, receive_crm_only
from dealreg import services
from dealreg.models import MIRRORED_STATUSES, AccountSource, CustomerAccount, Deal, DealLead

mirror(
    CustomerAccount,
    crm_object="Account",
    fields={"name": "Name", "domain": "Website", "country": "BillingCountry"},
    # Accounts that came from the CRM are its read-only copies: never sent back.
    crm_only={"source": AccountSource.CRM},
)

mirror(
    Deal,
    crm_object="Opportunity",
    fields={
        "name": "Name",
        "crm_stage": "StageName",
        "expected_close_date": "CloseDate",
        "amount": "Amount",
        "description": "Description",
        "customer.crm_reference": "AccountId",
        "partner.public_id": "PRM_Partner_Account__c",
        "partner_external_id": "PRM_Partner_External_Id__c",
        "status": "PRM_Deal_Status__c",
        "protection_expires_on": "PRM_Protected_Until__c",
    },
    parent="dealreg.customeraccount",
    references={"PRM_Partner_Account__c": "partners.partner"},
    # The CRM's sales team moves the stage, amount and close date too: shared, the later write wins, and a
    # CRM change goes through deal_apply_crm_update (Closed Won closes the deal won, as in the portal).
    directions={"StageName": "both", "Amount": "both", "CloseDate": "both", "Description": "both"},
    apply=services.deal_apply_crm_update,
    compare={"StageName": services.crm_stage_equivalent},
    condition="NEW.status IN ({})".format(", ".join(f"'{status}'" for status in MIRRORED_STATUSES)),
)

mirror(
    DealLead,
    crm_object="Lead",
    fields={
        "lead_first_name": "FirstName",
        "lead_last_name": "LastName",
        "customer_name": "Company",
        "customer_domain": "Website",
        "contact_email": "Email",
        "lead_status": "Status",
        "partner_external_id": "PRM_Partner_External_Id__c",
    },
    condition=(
        "EXISTS (SELECT 1 FROM dealreg_dealregsettings s WHERE s.tenant_id = NEW.tenant_id AND s.lead_mode)"
    ),
)

# CRM Accounts and open Opportunities the portal did not create fill the customer-account table (read-only),
# so the registration conflict check sees the CRM's customers and pipeline.
receive_crm_only("Account", services.customer_account_from_crm)
receive_crm_only("Opportunity", services.customer_account_from_crm)
