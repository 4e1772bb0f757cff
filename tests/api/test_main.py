"""The app's lifespan: migrate, seed a demo registry with an administrator key into an empty database only."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from api.config import Settings
from api.main import create_app


def test_an_empty_database_is_seeded_once_with_a_working_admin_key(settings: Settings, capsys) -> None:
    seeded = settings.model_copy(update={"seed_demo": True})
    with TestClient(create_app(seeded)) as client:
        key = re.search(r"API key \(shown once\): (\S+)", capsys.readouterr().out).group(1)
        agencies = client.get("/v1/agencies", headers={"X-API-Key": key}).json()
        accounts = client.get("/v1/accounts", headers={"X-API-Key": key}).json()
    assert {a["code"] for a in agencies} == {"SETDA", "DISKOMINFO", "BKPSDM"}
    assert sorted(a["is_official"] for a in accounts) == [False, True]
    with TestClient(create_app(seeded)):
        assert "API key" not in capsys.readouterr().out
