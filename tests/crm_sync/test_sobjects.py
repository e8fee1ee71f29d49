import datetime

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceResourceNotFound

EXT = "PRM_External_Id__c"
LONG_AGO = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)
FAR_AHEAD = datetime.datetime(2100, 1, 1, tzinfo=datetime.UTC)


def test_create_get_update_and_delete_an_account(sf, emulator):
    created = sf.Account.create({"Name": "Northwind", "Website": "https://northwind.example", EXT: "p-1"})
    assert created["success"] is True and created["errors"] == []
    record_id = created["id"]
    assert len(record_id) == 18 and record_id.startswith("001")

    account = sf.Account.get(record_id)
    assert account["Name"] == "Northwind"
    assert account["attributes"] == {
        "type": "Account",
        "url": f"/services/data/v62.0/sobjects/Account/{record_id}",
    }
    assert account["IsDeleted"] is False and account["CreatedDate"].endswith("+0000")

    assert sf.Account.update(record_id, {"PRM_Tier__c": "Gold"}) == 204
    assert sf.Account.get(record_id)["PRM_Tier__c"] == "Gold"
    assert sf.Account.get(record_id)["SystemModstamp"] >= account["SystemModstamp"]

    assert sf.Account.delete(record_id) == 204
    with pytest.raises(SalesforceResourceNotFound):
        sf.Account.get(record_id)
    # Soft-deleted: still known to getDeleted.
    deleted = sf.Account.deleted(LONG_AGO, FAR_AHEAD)
    assert [entry["id"] for entry in deleted["deletedRecords"]] == [record_id]


def test_get_with_fields_returns_only_those(sf):
    record_id = sf.Account.create({"Name": "Contoso"})["id"]
    result = sf.Account.get(record_id, params={"fields": "Name"})
    assert set(result) == {"attributes", "Name"}


def test_a_contact_references_an_existing_account(sf):
    account_id = sf.Account.create({"Name": "Contoso"})["id"]
    contact_id = sf.Contact.create({"LastName": "Bob", "FirstName": "Alice", "AccountId": account_id})["id"]
    assert contact_id.startswith("003")
    assert sf.Contact.get(contact_id)["Name"] == "Alice Bob"

    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.Contact.create({"LastName": "Eve", "AccountId": "001Em0000000999AAA"})
    assert refused.value.content[0]["errorCode"] == "INVALID_CROSS_REFERENCE_KEY"


@pytest.mark.parametrize(
    ("obj", "body", "code"),
    [
        ("Account", {"Name": "A", "Colour__c": "red"}, "INVALID_FIELD"),
        ("Account", {"Website": "https://x.example"}, "REQUIRED_FIELD_MISSING"),
        (
            "Opportunity",
            {"Name": "Deal", "StageName": "Prospecting", "CloseDate": "soon"},
            "JSON_PARSER_ERROR",
        ),
        (
            "Opportunity",
            {"Name": "D", "StageName": "P", "CloseDate": "2026-12-01", "Amount": "lots"},
            "JSON_PARSER_ERROR",
        ),
        ("Account", {"Name": "A", "CreatedDate": "2020-01-01T00:00:00Z"}, "INVALID_FIELD_FOR_INSERT_UPDATE"),
        ("Lead", {"LastName": "Smith"}, "REQUIRED_FIELD_MISSING"),
        ("Account", {"Name": "x" * 256}, "STRING_TOO_LONG"),
    ],
)
def test_invalid_writes_are_refused_with_salesforces_error_shape(sf, obj, body, code):
    with pytest.raises(SalesforceMalformedRequest) as refused:
        getattr(sf, obj).create(body)
    assert refused.value.status == 400
    [error] = refused.value.content
    assert error["errorCode"] == code and error["message"]


def test_required_fields_are_reported_by_name(sf):
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.Opportunity.create({"Name": "Deal"})
    assert refused.value.content[0]["fields"] == ["StageName", "CloseDate"]


def test_upsert_by_external_id_creates_then_updates(sf, session, emulator):
    url = f"{emulator.url}/services/data/v62.0/sobjects/Account/{EXT}/p-42"
    headers = {"Authorization": f"Bearer {sf.session_id}"}
    first = session.patch(url, json={"Name": "Fabrikam"}, headers=headers)
    assert first.status_code == 201
    assert first.json() == {"id": first.json()["id"], "success": True, "errors": [], "created": True}

    second = session.patch(url, json={"Name": "Fabrikam Ltd"}, headers=headers)
    assert second.status_code == 200
    assert second.json() == {"id": first.json()["id"], "success": True, "errors": [], "created": False}
    assert sf.Account.get_by_custom_id(EXT, "p-42")["Name"] == "Fabrikam Ltd"
    assert len(emulator.records("Account")) == 1


def test_upsert_through_simple_salesforce_returns_the_status(sf):
    assert sf.Account.upsert(f"{EXT}/p-7", {"Name": "A"}) == 201
    assert sf.Account.upsert(f"{EXT}/p-7", {"Name": "B"}) == 200


def test_upsert_matching_several_records_answers_300_with_their_urls(sf, session, emulator):
    ids = [sf.Account.create({"Name": f"Dup {n}", "Legacy_Id__c": "L-1"})["id"] for n in range(2)]
    response = session.patch(
        f"{emulator.url}/services/data/v62.0/sobjects/Account/Legacy_Id__c/L-1",
        json={"Name": "Which one?"},
        headers={"Authorization": f"Bearer {sf.session_id}"},
    )
    assert response.status_code == 300
    assert sorted(response.json()) == sorted(f"/services/data/v62.0/sobjects/Account/{i}" for i in ids)


def test_the_unique_external_id_refuses_a_second_record_with_the_same_value(sf):
    sf.Account.create({"Name": "A", EXT: "same"})
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.Account.create({"Name": "B", EXT: "same"})
    assert refused.value.content[0]["errorCode"] == "DUPLICATE_VALUE"


def test_describe_lists_fields_types_and_external_ids(sf):
    describe = sf.Account.describe()
    fields = {field["name"]: field for field in describe["fields"]}
    assert describe["keyPrefix"] == "001"
    assert fields[EXT]["externalId"] is True and fields[EXT]["unique"] is True and fields[EXT]["length"] == 64
    assert fields["Name"]["nillable"] is False and fields["Name"]["createable"] is True
    assert fields["Id"]["updateable"] is False and fields["SystemModstamp"]["type"] == "datetime"
    assert {"PRM_Tier__c", "PRM_Stage__c", "PRM_Partner_Type__c", "PRM_Region__c"} <= set(fields)
    opportunity = {field["name"]: field for field in sf.Opportunity.describe()["fields"]}
    assert opportunity["PRM_Partner_Account__c"]["referenceTo"] == ["Account"]
    assert opportunity["CloseDate"]["type"] == "date"
    names = {entry["name"] for entry in sf.describe()["sobjects"]}
    assert names == {"Account", "Contact", "Opportunity", "Lead"}


def test_updated_lists_records_changed_in_a_window(sf):
    record_id = sf.Account.create({"Name": "A"})["id"]
    result = sf.Account.updated(LONG_AGO, FAR_AHEAD)
    assert result["ids"] == [record_id]
