"""Liveness, readiness and request ids."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from api.config import Settings
from api.main import build_state


def test_healthz_and_readyz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["database"] == "ok" and "@" in ready.json()["model"]


def test_readyz_is_503_when_the_database_is_unreachable(
    client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a-file").write_text("")
    unreachable = create_engine(f"sqlite:///{tmp_path / 'a-file' / 'seragam.db'}")
    monkeypatch.setattr(client.app.state.service, "engine", unreachable)
    response = client.get("/readyz")
    assert response.status_code == 503 and response.json()["database"].startswith("unreachable")


def test_an_upload_store_that_cannot_keep_files_is_not_ready_and_refused_at_start(
    client: TestClient, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a-file").write_text("")
    monkeypatch.setattr(client.app.state.service.store, "root", tmp_path / "a-file" / "uploads")
    response = client.get("/readyz")
    assert response.status_code == 503 and "is not writable" in response.json()["store"], response.text
    with pytest.raises(OSError, match=r"is not writable.*SERAGAM_DATA_DIR"):
        build_state(settings.model_copy(update={"data_dir": tmp_path / "a-file" / "data"}))


def test_readyz_is_503_when_the_clip_job_thread_has_stopped(client: TestClient) -> None:
    assert client.get("/readyz").json()["threads"] == "ok"
    client.app.state.service.worker.stop()  # queued clips would wait forever
    response = client.get("/readyz")
    assert response.status_code == 503 and response.json()["threads"] == "stopped: jobs"


def test_a_line_break_in_a_path_cannot_forge_a_log_line(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    client.get("/v1/nothing%0A2026-12-02 INFO api.audit: forged -> 200")
    (line,) = [r.getMessage() for r in caplog.records if r.name == "api.requests"]
    assert "\n" not in line and "\\n" in line


def test_request_ids_are_echoed_or_generated(client: TestClient) -> None:
    assert client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"] == "abc-123"
    generated = client.get("/healthz", headers={"X-Request-ID": "not valid!\n"}).headers["X-Request-ID"]
    assert len(generated) == 32 and generated.isalnum()


def test_openapi_documents_the_routes_with_examples(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert {"/v1/frames", "/v1/clips", "/v1/jobs/{job_id}", "/v1/cases", "/v1/cases/{case_id}"} <= set(
        spec["paths"]
    )
    assert spec["components"]["schemas"]["FrameResponse"]["properties"]["image_size"]["examples"] == [
        [720, 1280]
    ]
