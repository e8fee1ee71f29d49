"""What `./run demo` and `./run manage` prepare for the CRM: the encryption key and the demo's emulator."""

from __future__ import annotations

import json
import stat

from crm_sync.emulator import Emulator, emulator_session
from prm import launch


def test_a_key_is_made_once_private_and_the_environment_wins(tmp_path, monkeypatch):
    monkeypatch.setattr(launch, "CRM_KEY_FILE", tmp_path / "crm-encryption.key")
    first: dict[str, str] = {}
    launch._crm_encryption_key(first)
    assert stat.S_IMODE((tmp_path / "crm-encryption.key").stat().st_mode) == 0o600
    again: dict[str, str] = {}
    launch._crm_encryption_key(again)
    assert first["PRM_CRM_ENCRYPTION_KEYS"] == again["PRM_CRM_ENCRYPTION_KEYS"]
    given = {"PRM_CRM_ENCRYPTION_KEYS": "from-the-environment"}
    launch._crm_encryption_key(given)
    assert given["PRM_CRM_ENCRYPTION_KEYS"] == "from-the-environment"


def test_each_demo_tenant_gets_an_org_of_its_own_that_accepts_its_client_only(tmp_path, monkeypatch):
    monkeypatch.setattr(launch, "CRM_EMULATOR_DIR", tmp_path / "crm-emulator")
    monkeypatch.setattr(launch, "CRM_DEMO_CLIENTS_FILE", tmp_path / "crm-demo-clients.json")
    crm = launch._demo_crm({"acme": 0, "globex": 0})
    orgs = json.loads(crm["PRM_DEMO_CRM_CLIENTS"])
    assert set(orgs) == {"acme", "globex"}
    again = json.loads(launch._demo_crm({"acme": 0, "globex": 0})["PRM_DEMO_CRM_CLIENTS"])
    assert {slug: entry[:2] for slug, entry in again.items()} == {
        slug: entry[:2] for slug, entry in orgs.items()
    }
    assert orgs["acme"][3] != orgs["globex"][3]  # a certificate authority each
    for slug, (client_id, secret, _url, ca) in orgs.items():
        other = next(entry for name, entry in orgs.items() if name != slug)
        with Emulator(tmp_path / "crm-emulator" / slug) as emulator:
            session = emulator_session(ca)

            def token(client_id, secret, emulator=emulator, session=session):
                form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
                return session.post(f"{emulator.url}/services/oauth2/token", data=form).status_code

            assert token(client_id, secret) == 200
            assert token(other[0], other[1]) != 200  # the other tenant's app is not in this org
