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


def test_each_demo_tenant_gets_a_client_the_emulator_accepts(tmp_path, monkeypatch):
    monkeypatch.setattr(launch, "CRM_EMULATOR_DIR", tmp_path / "crm-emulator")
    monkeypatch.setattr(launch, "CRM_DEMO_CLIENTS_FILE", tmp_path / "crm-demo-clients.json")
    crm = launch._demo_crm(0)
    clients = json.loads(crm["PRM_DEMO_CRM_CLIENTS"])
    assert set(clients) == {"acme", "globex"}
    assert launch._demo_crm(0)["PRM_DEMO_CRM_CLIENTS"] == crm["PRM_DEMO_CRM_CLIENTS"]  # kept, not remade
    with Emulator(tmp_path / "crm-emulator") as emulator:
        session = emulator_session(crm["PRM_DEMO_CRM_CA"])
        for client_id, secret in clients.values():
            response = session.post(
                f"{emulator.url}/services/oauth2/token",
                data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
            )
            assert response.status_code == 200, response.text
