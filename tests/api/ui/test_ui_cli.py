"""``seragam users create`` (the first administrator) and ``seragam data export-feedback`` (reviewed
frames as an ultralytics dataset that ``seragam train`` takes in)."""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.cli import main
from api.config import Settings
from api.db import AuditEntry, Case, User
from detector.images import decode_image
from detector.taxonomy import load_taxonomy
from tests.api.factories import World, jpeg, post_frame


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


def test_users_delete_removes_a_user_and_keeps_the_last_administrator(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setenv("SERAGAM_PASSWORD", "a-long-admin-password")
    for username in ("bkpsdm", "leaver"):
        assert main(["users", "create", "--admin", "--username", username, *_service_args(settings)]) == 0
    assert main(["users", "delete", "--username", "Leaver", *_service_args(settings)]) == 0
    assert "deleted leaver" in capsys.readouterr().out
    assert main(["users", "delete", "--username", "leaver", *_service_args(settings)]) == 2
    assert "no user with username 'leaver'" in capsys.readouterr().err
    assert main(["users", "delete", "--username", "bkpsdm", *_service_args(settings)]) == 2
    assert "last administrator" in capsys.readouterr().err


def test_users_set_password_replaces_a_forgotten_one_and_ends_the_sessions(
    client: TestClient, browser, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    settings = client.app.state.service.settings
    signed_in = browser("admin")
    monkeypatch.setenv("SERAGAM_PASSWORD", "a remembered password")
    assert main(["users", "set-password", "--username", "Admin", *_service_args(settings)]) == 0
    assert "new password set for admin" in capsys.readouterr().out
    assert signed_in.get("/ui/cases").headers["location"].startswith("/ui/sign-in")
    assert browser(None).sign_in("admin", "a remembered password").status_code == 303
    monkeypatch.setenv("SERAGAM_PASSWORD", "short")
    assert main(["users", "set-password", "--username", "admin", *_service_args(settings)]) == 2
    assert "use at least 10 characters" in capsys.readouterr().err
    assert main(["users", "set-password", "--username", "nobody", *_service_args(settings)]) == 2
    with client.app.state.service.sessions() as session:
        entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "set_password")).all()
        assert [(e.actor, e.detail["username"]) for e in entries] == [("cli", "admin")]


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


def _export_feedback(client: TestClient, out: Path) -> int:
    return main(
        ["data", "export-feedback", "--out", str(out), *_service_args(client.app.state.service.settings)]
    )


def _labels(out: Path) -> list[str]:
    return [label.read_text() for label in sorted((out / "labels" / "train").glob("*.txt"))]


CONFIRM = ("decisions", {"kind": "confirm"})
DISMISS_FALSE_POSITIVE = ("decisions", {"kind": "dismiss", "reason": "false_positive"})
COMMENT = ("decisions", {"kind": "comment", "note": "dibahas dengan atasan"})
MISSED = (
    "feedback",
    {"evidence_n": "1", "kind": "false_negative", "class_name": "name_plate", "box": "40,60,90,80"},
)
NOT_THERE = ("feedback", {"evidence_n": "1", "kind": "false_positive", "detection_index": "0"})
RENAMED = (
    "feedback",
    {"evidence_n": "1", "kind": "wrong_class", "detection_index": "0", "class_name": "name_plate"},
)


def _apply(reviewer, case_id: int, steps: list[tuple[str, dict[str, str]]]) -> None:
    page = f"/ui/cases/{case_id}"
    for what, form in steps:
        assert reviewer.post(f"{page}/{what}", form, page=page).status_code == 303


@pytest.mark.parametrize(
    ("steps", "hard_negative"),
    [
        ([DISMISS_FALSE_POSITIVE], True),
        ([DISMISS_FALSE_POSITIVE, COMMENT], True),  # a comment leaves the dismissal as it is
        ([DISMISS_FALSE_POSITIVE, CONFIRM], False),  # a later decision revises it
        ([("decisions", {"kind": "dismiss", "reason": "not_asn"})], False),  # the attire is there
    ],
)
def test_a_case_dismissed_as_false_positive_exports_as_a_hard_negative(
    client: TestClient, browser, kominfo_case: int, tmp_path: Path, steps, hard_negative: bool
) -> None:
    _apply(browser("rev.kominfo"), kominfo_case, steps)
    assert _export_feedback(client, tmp_path / "negatives") == 0
    (label,) = _labels(tmp_path / "negatives")
    assert (label.strip() == "") == hard_negative


@pytest.fixture
def shared_frame_cases(client: TestClient, world: World, uniform_frame: bytes) -> list[int]:
    """Two cases on one stored evidence file: the same frame uploaded twice."""
    return [
        post_frame(client, world, uniform_frame, handle="budi.lmj", at=at).json()["cases"][0]["id"]
        for at in ("19:00", "20:00")
    ]


@pytest.mark.parametrize(
    ("first", "second", "added"),
    [
        ([CONFIRM], [CONFIRM], 0),
        ([MISSED, CONFIRM], [CONFIRM], 1),  # one case's correction holds for the frame
        ([NOT_THERE, MISSED, CONFIRM], [NOT_THERE, CONFIRM], 1),  # agreeing corrections, applied once
        ([MISSED, CONFIRM], [MISSED, CONFIRM], 1),  # the same missed box drawn by both: one label
    ],
)
def test_a_frame_shared_by_cases_is_exported_once_with_their_corrections(
    client: TestClient, browser, shared_frame_cases: list[int], tmp_path: Path, first, second, added: int
) -> None:
    reviewer = browser("rev.kominfo")
    for case_id, steps in zip(shared_frame_cases, (first, second), strict=True):
        _apply(reviewer, case_id, steps)
    assert _export_feedback(client, tmp_path / "shared") == 0
    (label,) = _labels(tmp_path / "shared")
    with client.app.state.service.sessions() as session:
        detections = len(session.get_one(Case, shared_frame_cases[0]).evidence[0].detections)
    removed = 1 if NOT_THERE in first else 0
    assert len(label.splitlines()) == detections - removed + added


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ([DISMISS_FALSE_POSITIVE], [CONFIRM]),
        ([NOT_THERE, CONFIRM], [RENAMED, CONFIRM]),
    ],
)
def test_a_frame_its_cases_disagree_on_is_left_out_and_the_export_says_so(
    client: TestClient,
    world: World,
    browser,
    shared_frame_cases: list[int],
    uniform_frame: bytes,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    first,
    second,
) -> None:
    reviewer = browser("rev.kominfo")
    for case_id, steps in zip(shared_frame_cases, (first, second), strict=True):
        _apply(reviewer, case_id, steps)
    assert _export_feedback(client, tmp_path / "alone") == 2  # nothing else to export: refused, with why
    assert "every reviewed frame was left out, its cases disagree" in capsys.readouterr().err
    other_frame = jpeg(cv2.flip(decode_image(uniform_frame), 1))
    (other,) = post_frame(client, world, other_frame, handle="budi.lmj", at="21:00").json()["cases"]
    _apply(reviewer, other["id"], [CONFIRM])
    caplog.clear()
    assert _export_feedback(client, tmp_path / "with-another") == 0
    assert len(_labels(tmp_path / "with-another")) == 1
    (left_out,) = [r.getMessage() for r in caplog.records if "left out" in r.getMessage()]
    assert f"cases {shared_frame_cases[0]}, {shared_frame_cases[1]}" in left_out
