import csv
import io

EXT = "PRM_External_Id__c"


def test_bulk_upsert_of_500_rows_then_successful_and_failed_results(sf, emulator, tmp_path):
    rows = [{EXT: f"p-{n}", "Name": f"Partner {n}"} for n in range(500)]
    rows[10]["Name"] = ""  # required: fails
    path = tmp_path / "accounts.csv"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=[EXT, "Name"], lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)

    [result] = sf.bulk2.Account.upsert(str(path), external_id_field=EXT, wait=0.05)
    assert result["numberRecordsProcessed"] == 500 and result["numberRecordsFailed"] == 1
    assert len(emulator.records("Account")) == 499

    successful = list(csv.DictReader(io.StringIO(sf.bulk2.Account.get_successful_records(result["job_id"]))))
    assert len(successful) == 499
    assert set(successful[0]) == {"sf__Id", "sf__Created", EXT, "Name"}
    assert {row["sf__Created"] for row in successful} == {"true"}
    failed = list(csv.DictReader(io.StringIO(sf.bulk2.Account.get_failed_records(result["job_id"]))))
    assert [row[EXT] for row in failed] == ["p-10"]
    assert failed[0]["sf__Error"].startswith("REQUIRED_FIELD_MISSING:")

    # The same file again updates, creating nothing.
    [again] = sf.bulk2.Account.upsert(str(path), external_id_field=EXT, wait=0.05)
    successful = list(csv.DictReader(io.StringIO(sf.bulk2.Account.get_successful_records(again["job_id"]))))
    assert {row["sf__Created"] for row in successful} == {"false"}
    assert len(emulator.records("Account")) == 499


def test_a_job_reports_its_state(sf, emulator, session):
    headers = {"Authorization": f"Bearer {sf.session_id}"}
    base = f"{emulator.url}/services/data/v62.0/jobs/ingest"
    job = session.post(
        f"{base}/", json={"object": "Lead", "operation": "insert", "contentType": "CSV", "lineEnding": "LF"},
        headers=headers,
    ).json()  # fmt: skip
    assert job["state"] == "Open" and job["id"].startswith("750")
    upload = session.put(
        f"{base}/{job['id']}/batches/",
        data="LastName,Company\nSmith,Acme\n",
        headers={**headers, "Content-Type": "text/csv"},
    )
    assert upload.status_code == 201
    closed = session.patch(f"{base}/{job['id']}/", json={"state": "UploadComplete"}, headers=headers).json()
    assert closed["state"] == "UploadComplete"
    info = session.get(f"{base}/{job['id']}/", headers=headers).json()
    assert info["state"] == "JobComplete" and info["numberRecordsProcessed"] == 1
    assert emulator.records("Lead")[0]["Company"] == "Acme"


def test_a_bulk_query_job_pages_its_csv_results_with_a_locator(sf, emulator):
    records = [{"attributes": {"type": "Account"}, EXT: f"q-{n}", "Name": f"Q {n:04d}"} for n in range(450)]
    for start in range(0, 450, 200):
        sf.restful(
            f"composite/sobjects/Account/{EXT}",
            method="PATCH",
            json={"allOrNone": False, "records": records[start : start + 200]},
        )
    pages = list(
        sf.bulk2.Account.query(f"SELECT Name, {EXT} FROM Account ORDER BY Name", max_records=200, wait=0.05)
    )
    assert len(pages) == 3
    rows = [row for page in pages for row in csv.DictReader(io.StringIO(page))]
    assert [row["Name"] for row in rows] == [f"Q {n:04d}" for n in range(450)]
    assert set(rows[0]) == {"Name", EXT}


def test_a_bulk_query_with_a_bad_query_is_refused(sf):
    import pytest
    from simple_salesforce.exceptions import SalesforceMalformedRequest

    with pytest.raises(SalesforceMalformedRequest):
        list(sf.bulk2.Account.query("SELECT Nope FROM Account", wait=0.05))
