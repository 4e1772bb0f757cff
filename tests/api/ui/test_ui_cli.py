"""``seragam users create`` (the first administrator) and ``seragam data export-feedback`` (reviewed
frames as an ultralytics dataset that ``seragam train`` takes in)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.cli import main
from api.config import Settings
from api.db import AuditEntry, Case, User
from detector.taxonomy import load_taxonomy


def _service_args(settings: Settings) -> list[str]:
    return ["--data-dir", str(settings.data_dir), "--database-url", settings.db_url]


def test_users_create_makes_the_first_administrator(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setenv("SERAGAM_PASSWORD", "a-long-admin-password")
    assert main(["users", "create", "--admin", "--username", "Kepala.BKPSDM", *_service_args(settings)]) == 0
    assert "created administrator kepala.bkpsdm" in capsys.readouterr().out
    assert main(["users", "create", "--admin", "--username", "kepala.bkpsdm", *_service_args(settings)]) == 2
    assert "already exists" in capsys.readouterr().err
    monkeypatch.setenv("SERAGAM_PASSWORD", "short")
    assert main(["users", "create", "--username", "x.y.z", "--agency", "NOPE", *_service_args(settings)]) == 2


def test_the_first_administrator_can_sign_in(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = client.app.state.service.settings
    monkeypatch.setenv("SERAGAM_PASSWORD", "a-long-admin-password")
    assert main(["users", "create", "--admin", "--username", "bkpsdm", *_service_args(settings)]) == 0
    with client.app.state.service.sessions() as session:
        assert session.scalar(select(User.role).where(User.username == "bkpsdm")) == "administrator"


def _review(browser, case_id: int) -> None:
    reviewer = browser("rev.kominfo")
    page = f"/ui/cases/{case_id}"
    missed = {"evidence_n": "1", "kind": "false_negative", "class_name": "name_plate", "box": "40,60,90,80"}
    assert reviewer.post(f"{page}/feedback", missed, page=page).status_code == 303
    assert reviewer.post(f"{page}/decisions", {"kind": "confirm"}, page=page).status_code == 303


@pytest.fixture
def feedback_dataset(client: TestClient, browser, kominfo_case: int, tmp_path: Path) -> Path:
    _review(browser, kominfo_case)
    out = tmp_path / "feedback"
    settings = client.app.state.service.settings
    assert main(["data", "export-feedback", "--out", str(out), *_service_args(settings)]) == 0
    return out / "data.yaml"


def test_export_feedback_writes_reviewed_frames_with_corrections(
    client: TestClient, feedback_dataset: Path, kominfo_case: int
) -> None:
    data = yaml.safe_load(feedback_dataset.read_text())
    assert list(data["names"].values()) == list(load_taxonomy().names)
    labels = list((feedback_dataset.parent / "labels" / "train").glob("*.txt"))
    images = list((feedback_dataset.parent / "images" / "train").glob("*.jpg"))
    assert len(labels) == len(images) == 1
    class_ids = [int(line.split()[0]) for line in labels[0].read_text().splitlines()]
    assert load_taxonomy().names.index("name_plate") in class_ids  # the reviewer's missed item
    with client.app.state.service.sessions() as session:
        case = session.get_one(Case, kominfo_case)
        assert len(class_ids) == len(case.evidence[0].detections) + 1
        assert "export_feedback" in session.scalars(select(AuditEntry.action)).all()


def test_export_feedback_without_reviews_says_so(
    settings: Settings, client: TestClient, tmp_path: Path, capsys
) -> None:
    assert main(["data", "export-feedback", "--out", str(tmp_path / "x"), *_service_args(settings)]) == 2
    assert "no reviewed evidence frames" in capsys.readouterr().err


@pytest.mark.slow
def test_seragam_train_takes_the_exported_dataset(feedback_dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "models" / "feedback.pt"
    args = ["train", "--data", str(feedback_dataset), "--out", str(out), "--epochs", "1", "--imgsz", "64"]
    args += [
        "--batch",
        "2",
        "--workers",
        "0",
        "--cache",
        "",
        "--device",
        "cpu",
        "--runs-dir",
        str(tmp_path / "runs"),
    ]
    assert main(args) == 0
    assert out.is_file()


def test_a_case_dismissed_as_false_positive_exports_as_a_hard_negative(
    client: TestClient, browser, kominfo_case: int, tmp_path: Path
) -> None:
    page = f"/ui/cases/{kominfo_case}"
    dismissal = {"kind": "dismiss", "reason": "false_positive"}
    assert browser("rev.kominfo").post(f"{page}/decisions", dismissal, page=page).status_code == 303
    out = tmp_path / "negatives"
    assert (
        main(
            ["data", "export-feedback", "--out", str(out), *_service_args(client.app.state.service.settings)]
        )
        == 0
    )
    (label,) = (out / "labels" / "train").glob("*.txt")
    assert label.read_text().strip() == ""
