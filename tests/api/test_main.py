"""The app's lifespan: migrate, seed a demo registry with an administrator key into an empty database only;
settings out of range are refused before it starts."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from api.config import Settings
from api.main import create_app
from detector.attire import DEFAULT_ATTIRE_WEIGHTS
from tests.api.ui.conftest import WebUser


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/healthz", 200),
        ("/v1/cases", 401),
        ("/v1/nowhere", 404),
        ("/ui/sign-in", 200),
        ("/ui/cases", 303),
        ("/ui/static/app.js", 200),
    ],
)
def test_every_response_tells_browsers_not_to_sniff_its_type(
    client: TestClient, url: str, status: int
) -> None:
    """An answer must be taken for what its content type says, never run as a page or a script."""
    response = client.get(url, follow_redirects=False)
    assert response.status_code == status
    assert response.headers["x-content-type-options"] == "nosniff"


def test_an_empty_database_is_seeded_once_with_a_working_admin_key_and_sign_in(
    settings: Settings, capsys
) -> None:
    seeded = settings.model_copy(update={"seed_demo": True})
    with TestClient(create_app(seeded)) as client:
        printed = capsys.readouterr().out
        key = re.search(r"API key \(shown once\): (\S+)", printed).group(1)
        username, password = re.search(r"sign-in \(shown once\): (\S+) / (\S+)", printed).groups()
        agencies = client.get("/v1/agencies", headers={"X-API-Key": key}).json()
        accounts = client.get("/v1/accounts", headers={"X-API-Key": key}).json()
        web = WebUser(TestClient(client.app, base_url="https://testserver"))
        assert web.sign_in(username, password).status_code == 303
        assert web.get("/ui/registry/agencies").status_code == 200
    assert {a["code"] for a in agencies} == {"SETDA", "DISKOMINFO", "BKPSDM"}
    assert sorted(a["is_official"] for a in accounts) == [False, True]
    with TestClient(create_app(seeded)):
        assert "API key" not in capsys.readouterr().out


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SERAGAM_SIGN_IN_ATTEMPTS", "0"),  # nobody could sign in
        ("SERAGAM_SIGN_IN_PAUSE_S", "0"),  # throttling off
        ("SERAGAM_SAMPLE_INTERVAL_S", "0"),  # a ZeroDivisionError at start
        ("SERAGAM_SAMPLE_INTERVAL_S", "nan"),
        ("SERAGAM_CLOCK_SKEW_S", "-1"),
        ("SERAGAM_MAX_IMAGE_BYTES", "0"),
    ],
)
def test_settings_that_would_break_the_service_quietly_are_refused(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError, match=variable.removeprefix("SERAGAM_").lower()):
        Settings()


@pytest.mark.parametrize(
    ("variable", "days"),
    [
        ("SERAGAM_RETENTION_DISMISSED_DAYS", "1000000"),  # overflowed the purge's date arithmetic
        ("SERAGAM_RETENTION_UNFLAGGED_DAYS", "-3"),  # purged everything at once
        ("SERAGAM_RETENTION_UNFLAGGED_DAYS", "0"),
    ],
)
def test_retention_periods_are_whole_days_from_1_to_36500(
    monkeypatch: pytest.MonkeyPatch, variable: str, days: str
) -> None:
    monkeypatch.setenv(variable, days)
    with pytest.raises(ValidationError, match=f"{variable} is {days}: .* days from 1 to 36500"):
        Settings()


def test_an_empty_attire_setting_turns_the_second_stage_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SERAGAM_ATTIRE")  # set empty for the test session (tests/conftest.py)
    assert Settings().attire == DEFAULT_ATTIRE_WEIGHTS  # on by default
    monkeypatch.setenv("SERAGAM_ATTIRE", "")
    assert Settings().attire is None
