"""Existing tenants' deal mappings get the defaults new tenants get (dealreg/crm.py): the stage, amount,
close date and description are shared with the CRM, and the customer's Account is named by
`customer.crm_reference` (its CRM Id for an account that came from the CRM)."""

from django.db import migrations

FORWARD = """
UPDATE crm_sync_fieldmapping SET direction = 'both'
WHERE object_key = 'dealreg.deal' AND direction = 'to_crm'
  AND crm_field IN ('StageName', 'Amount', 'CloseDate', 'Description');
UPDATE crm_sync_fieldmapping SET portal_field = 'customer.crm_reference'
WHERE object_key = 'dealreg.deal' AND crm_field = 'AccountId' AND portal_field = 'customer.public_id';
"""

BACKWARD = """
UPDATE crm_sync_fieldmapping SET direction = 'to_crm'
WHERE object_key = 'dealreg.deal' AND direction = 'both'
  AND crm_field IN ('StageName', 'Amount', 'CloseDate', 'Description');
UPDATE crm_sync_fieldmapping SET portal_field = 'customer.public_id'
WHERE object_key = 'dealreg.deal' AND crm_field = 'AccountId' AND portal_field = 'customer.crm_reference';
"""


class Migration(migrations.Migration):
    dependencies = [("crm_sync", "0007_mirror_link_crm_values")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
