import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

EXT = "PRM_External_Id__c"


@pytest.fixture
def partners(sf):
    rows = [("Alpha", "Gold", "DE"), ("Beta", "Silver", "FR"), ("Gamma", "Gold", "FR"), ("Delta", None, "US")]
    for n, (name, tier, country) in enumerate(rows):
        sf.Account.create({"Name": name, "PRM_Tier__c": tier, "BillingCountry": country, EXT: f"p-{n}"})


def names(result):
    return [record["Name"] for record in result["records"]]


def test_filters_order_and_limit(sf, partners):
    result = sf.query("SELECT Id, Name FROM Account WHERE PRM_Tier__c = 'gold' ORDER BY Name DESC")
    assert names(result) == ["Gamma", "Alpha"]
    assert result["done"] is True and result["totalSize"] == 2
    assert list(result["records"][0]) == ["attributes", "Id", "Name"]
    assert names(sf.query("SELECT Name FROM Account ORDER BY Name LIMIT 2")) == ["Alpha", "Beta"]
    assert names(sf.query("SELECT Name FROM Account WHERE BillingCountry IN ('DE', 'US') ORDER BY Name")) == [
        "Alpha",
        "Delta",
    ]
    assert names(sf.query("SELECT Name FROM Account WHERE PRM_Tier__c = null")) == ["Delta"]
    assert names(
        sf.query("SELECT Name FROM Account WHERE PRM_Tier__c != null AND Name LIKE '%a' ORDER BY Name")
    ) == [
        "Alpha",
        "Beta",
        "Gamma",
    ]
    assert names(
        sf.query(
            "SELECT Name FROM Account WHERE (Name = 'Beta' OR Name = 'Delta') AND BillingCountry != 'US'"
        )
    ) == ["Beta"]


def test_datetime_and_number_comparisons(sf, partners):
    sf.Opportunity.create(
        {"Name": "Big", "StageName": "Prospecting", "CloseDate": "2026-12-01", "Amount": 5000}
    )
    sf.Opportunity.create(
        {"Name": "Small", "StageName": "Prospecting", "CloseDate": "2026-06-01", "Amount": 50}
    )
    assert names(sf.query("SELECT Name FROM Opportunity WHERE Amount >= 100")) == ["Big"]
    assert names(sf.query("SELECT Name FROM Opportunity WHERE CloseDate < 2026-07-01")) == ["Small"]
    assert sf.query("SELECT Id FROM Account WHERE SystemModstamp > 2000-01-01T00:00:00Z")["totalSize"] == 4
    assert (
        sf.query("SELECT Id FROM Account WHERE SystemModstamp > 2100-01-01T00:00:00.000+0000")["totalSize"]
        == 0
    )


def test_deleted_records_are_not_returned(sf, partners):
    record_id = sf.query("SELECT Id FROM Account WHERE Name = 'Beta'")["records"][0]["Id"]
    sf.Account.delete(record_id)
    assert sf.query("SELECT Id FROM Account")["totalSize"] == 3


def test_results_are_paged_through_next_records_url(sf, emulator):
    sf.restful(
        f"composite/sobjects/Account/{EXT}",
        method="PATCH",
        json={
            "records": [
                {"attributes": {"type": "Account"}, EXT: f"p-{n:03}", "Name": f"P{n:03}"} for n in range(25)
            ]
        },  # fmt: skip
    )
    emulator.configure(query_batch_size=10)
    first = sf.query("SELECT Name FROM Account ORDER BY Name")
    assert first["done"] is False and len(first["records"]) == 10 and first["totalSize"] == 25
    assert first["nextRecordsUrl"].startswith("/services/data/v62.0/query/")
    second = sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    assert len(second["records"]) == 10
    everything = sf.query_all("SELECT Name FROM Account ORDER BY Name")
    assert names(everything) == [f"P{n:03}" for n in range(25)]


@pytest.mark.parametrize(
    ("soql", "code"),
    [
        ("SELECT FROM Account", "MALFORMED_QUERY"),
        ("SELECT Name Account", "MALFORMED_QUERY"),
        ("SELECT Name FROM Account WHERE Name = ", "MALFORMED_QUERY"),
        ("SELECT Colour__c FROM Account", "INVALID_FIELD"),
        ("SELECT Name FROM Account WHERE SystemModstamp > '2020-01-01'", "INVALID_FIELD"),
        ("SELECT Name FROM Widget__c", "INVALID_TYPE"),
    ],
)
def test_bad_queries_are_refused(sf, soql, code):
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.query(soql)
    assert refused.value.content[0]["errorCode"] == code
