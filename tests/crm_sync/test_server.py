from crm_sync.emulator import Emulator, emulator_session
from tests.crm_sync.conftest import CLIENT_ID, CLIENT_SECRET, connect


def test_records_credentials_and_the_certificate_survive_a_restart(tmp_path):
    with Emulator(tmp_path) as first:
        first.add_client(CLIENT_ID, CLIENT_SECRET)
        first.set_faults(latency_ms=1)
        sf = connect(first, emulator_session(first.ca_path))
        record_id = sf.Account.create({"Name": "Persistent", "PRM_External_Id__c": "p-1"})["id"]
        ca = first.ca_path.read_bytes()

    with Emulator(tmp_path) as second:
        assert second.ca_path.read_bytes() == ca
        sf = connect(second, emulator_session(second.ca_path))
        assert sf.Account.get(record_id)["Name"] == "Persistent"
        assert sf.Account.create({"Name": "Next"})["id"] != record_id  # the id counter persisted too
        assert second.api.faults.faults.latency_ms == 1
