import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

EXT = "PRM_External_Id__c"
PATH = f"composite/sobjects/Account/{EXT}"


def accounts(numbers, **extra):
    return [
        {"attributes": {"type": "Account"}, EXT: f"p-{n}", "Name": f"Partner {n}", **extra} for n in numbers
    ]


def upsert(sf, records, all_or_none=False):
    return sf.restful(PATH, method="PATCH", json={"allOrNone": all_or_none, "records": records})


def test_200_records_are_upserted_in_one_call_with_results_in_request_order(sf, emulator):
    results = upsert(sf, accounts(range(200)))
    assert len(results) == 200
    assert all(r["success"] and r["created"] and r["errors"] == [] for r in results)
    by_ext = {record[EXT]: record["Id"] for record in emulator.records("Account")}
    assert [r["id"] for r in results] == [by_ext[f"p-{n}"] for n in range(200)]

    again = upsert(sf, accounts(range(200), PRM_Tier__c="Gold"))
    assert all(r["success"] and r["created"] is False for r in again)
    assert len(emulator.records("Account")) == 200
    assert {record["PRM_Tier__c"] for record in emulator.records("Account")} == {"Gold"}


def test_201_records_are_refused(sf, emulator):
    with pytest.raises(SalesforceMalformedRequest) as refused:
        upsert(sf, accounts(range(201)))
    assert refused.value.content[0]["errorCode"] == "EXCEEDED_ID_LIMIT"
    assert emulator.records("Account") == []


def test_two_records_with_the_same_external_id_are_both_rejected(sf, emulator):
    records = accounts([1, 2, 1])
    results = upsert(sf, records)
    assert [r["success"] for r in results] == [False, True, False]
    assert results[0]["errors"][0]["statusCode"] == "DUPLICATE_EXTERNAL_ID"
    assert results[2]["errors"][0]["statusCode"] == "DUPLICATE_EXTERNAL_ID"
    assert [record[EXT] for record in emulator.records("Account")] == ["p-2"]


def test_all_or_none_rolls_the_whole_batch_back(sf, emulator):
    records = accounts([1, 2, 3])
    del records[1]["Name"]  # required
    results = upsert(sf, records, all_or_none=True)
    assert [r["success"] for r in results] == [False, False, False]
    assert results[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert results[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert results[2]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert emulator.records("Account") == []


def test_without_all_or_none_the_valid_records_are_kept(sf, emulator):
    records = accounts([1, 2, 3])
    records[1]["Colour__c"] = "red"
    results = upsert(sf, records)
    assert [r["success"] for r in results] == [True, False, True]
    assert results[1]["errors"] == [
        {
            "statusCode": "INVALID_FIELD",
            "message": "No such column 'Colour__c' on sobject of type Account",
            "fields": ["Colour__c"],
        }  # fmt: skip
    ]
    assert len(emulator.records("Account")) == 2


def test_a_value_of_the_wrong_type_fails_the_whole_request(sf):
    records = [{"attributes": {"type": "Opportunity"}, EXT: "d-1", "Name": "D", "StageName": "P",
                "CloseDate": "2026-12-01", "Amount": "lots"}]  # fmt: skip
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.restful(f"composite/sobjects/Opportunity/{EXT}", method="PATCH", json={"records": records})
    assert refused.value.content[0]["errorCode"] == "JSON_PARSER_ERROR"


def test_records_must_carry_their_type(sf):
    with pytest.raises(SalesforceMalformedRequest):
        upsert(sf, [{EXT: "p-1", "Name": "No attributes"}])


def test_lock_errors_are_injected_per_record(sf, emulator):
    emulator.set_faults(lock_rate=0.3, seed=7)
    results = upsert(sf, accounts(range(100)))
    locked = [r for r in results if not r["success"]]
    assert 10 <= len(locked) <= 50
    assert {r["errors"][0]["statusCode"] for r in locked} == {"UNABLE_TO_LOCK_ROW"}
    assert len(emulator.records("Account")) == 100 - len(locked)

    # The same seed gives the same failures.
    emulator.reset()
    emulator.set_faults(lock_rate=0.3, seed=7)
    again = upsert(sf_fresh(emulator, sf), accounts(range(100)))
    assert [r["success"] for r in again] == [r["success"] for r in results]


def sf_fresh(emulator, sf):
    from tests.crm_sync.conftest import connect

    return connect(emulator, sf.session)


def test_a_parent_referenced_by_its_external_id_is_resolved(sf, emulator):
    upsert(sf, accounts([1]))
    [account] = emulator.records("Account")
    contacts = [
        {"attributes": {"type": "Contact"}, EXT: "c-1", "LastName": "One", "Account": {EXT: "p-1"}},
        {"attributes": {"type": "Contact"}, EXT: "c-2", "LastName": "Two", "Account": {EXT: "p-404"}},
        {"attributes": {"type": "Contact"}, EXT: "c-3", "LastName": "Three", "Account": {"Name": "x"}},
    ]
    results = sf.restful(
        f"composite/sobjects/Contact/{EXT}", method="PATCH", json={"allOrNone": False, "records": contacts}
    )
    assert [r["success"] for r in results] == [True, False, False]
    assert results[1]["errors"][0]["statusCode"] == "INVALID_FIELD"
    assert results[1]["errors"][0]["message"] == (
        f"Foreign key external ID: p-404 not found for field {EXT} in entity Account"
    )
    assert results[2]["errors"][0]["statusCode"] == "INVALID_FIELD"
    [contact] = emulator.records("Contact")
    assert (contact[EXT], contact["AccountId"]) == ("c-1", account["Id"])


def test_a_relationship_on_a_field_that_is_no_reference_is_an_unknown_field(sf, emulator):
    records = [{"attributes": {"type": "Account"}, EXT: "p-1", "Name": "P", "Owner": {EXT: "u"}}]
    [result] = upsert(sf, records)
    assert result["errors"][0]["statusCode"] == "INVALID_FIELD"


def delete(sf, ids, all_or_none=False):
    return sf.restful(
        "composite/sobjects",
        method="DELETE",
        params={"ids": ",".join(ids), "allOrNone": str(all_or_none).lower()},
    )


def test_a_collections_delete_answers_per_id_in_request_order_and_lists_the_deleted(sf, emulator):
    created = [r["id"] for r in upsert(sf, accounts(range(3)))]
    contact = sf.Contact.create({"LastName": "Other object"})["id"]
    sf.Account.delete(created[2])

    results = delete(sf, [created[0], contact, created[2], "001Em0000000zzzAAA", "not-an-id"])

    assert [r["success"] for r in results] == [True, True, False, False, False]
    assert [r.get("id") for r in results[:2]] == [created[0], contact]
    codes = [r["errors"][0]["statusCode"] for r in results[2:]]
    assert codes == ["ENTITY_IS_DELETED", "INVALID_CROSS_REFERENCE_KEY", "MALFORMED_ID"]
    assert [record[EXT] for record in emulator.records("Account")] == ["p-1"]
    assert emulator.records("Contact") == []
    deleted = sf.query_all("SELECT Id FROM Account")["records"]
    assert [record["Id"] for record in deleted] == [created[1]]


def test_a_collections_delete_with_all_or_none_keeps_everything_when_one_fails(sf, emulator):
    created = [r["id"] for r in upsert(sf, accounts(range(2)))]
    results = delete(sf, [*created, "not-an-id"], all_or_none=True)
    codes = [r["errors"][0]["statusCode"] for r in results]
    assert codes == ["ALL_OR_NONE_OPERATION_ROLLED_BACK"] * 2 + ["MALFORMED_ID"]
    assert len(emulator.records("Account")) == 2


def test_a_collections_delete_of_201_ids_is_refused(sf, emulator):
    created = [r["id"] for r in upsert(sf, accounts(range(200)))]
    with pytest.raises(SalesforceMalformedRequest) as refused:
        delete(sf, [*created, created[0]])
    assert refused.value.content[0]["errorCode"] == "EXCEEDED_ID_LIMIT"
    assert len(emulator.records("Account")) == 200
