"""The service's CLI verbs: ``registry import`` and ``score`` (no server, nothing stored); ``serve`` refuses a
database it cannot use with one line."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from api.cli import main
from api.db import Assignment, AuditEntry, Case, FrameScore, make_engine, session_factory
from tests.api.factories import BUDI_NIP, CLIP_START

CSV = (
    "type,code,name,parent_code,nip,agency_code,platform,handle,owner_nip,is_official\n"
    "agency,DISKOMINFO,Diskominfo,,,,,,,\n"
    f"person,,Budi Santoso,,{BUDI_NIP},DISKOMINFO,,,,\n"
    f"account,,,,,,tiktok,budi.lmj,{BUDI_NIP},\n"
)


@pytest.fixture
def registry_db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'seragam.db'}"
    csv = tmp_path / "registry.csv"
    csv.write_text(CSV)
    assert main(["registry", "import", str(csv), "--preview", "--database-url", url]) == 0
    assert main(["registry", "import", str(csv), "--database-url", url]) == 0
    return url


def test_registry_import_refuses_a_bad_file_whole(tmp_path: Path, registry_db: str, capsys) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(CSV.splitlines()[0] + "\nperson,,Nobody,,1985,DISKOMINFO,,,,\n")
    assert main(["registry", "import", str(bad), "--database-url", registry_db]) == 1
    assert "row 2" in capsys.readouterr().err


def test_registry_import_is_audited_once(registry_db: str) -> None:
    engine = make_engine(registry_db)
    with session_factory(engine)() as session:
        entries = [(e.actor, e.action, e.detail) for e in session.query(AuditEntry)]
    engine.dispose()
    counts = {
        "agencies": 1,
        "people": 1,
        "accounts": 1,
        "assignments": 0,
        "moves": 0,
        "handovers": 0,
        "status_changes": 0,
    }
    assert entries == [("cli", "registry_import", counts)]


def test_registry_import_takes_a_leave_export(tmp_path: Path, registry_db: str, capsys) -> None:
    leave = tmp_path / "cuti.csv"
    leave.write_text(
        "type;nip;starts_at;ends_at;reference;tz\n"
        f"leave;{BUDI_NIP};2026-04-20 00:00;2026-04-23 00:00;cuti tahunan;Asia/Jakarta\n"
    )
    capsys.readouterr()
    assert main(["registry", "import", str(leave), "--database-url", registry_db]) == 0
    assert capsys.readouterr().out.endswith(
        "1 assignment, leave and shift rows, 0 moves, 0 handovers, 0 changes of an account's status\n"
    )
    engine = make_engine(registry_db)
    with session_factory(engine)() as session:
        spans = [(a.kind, a.starts_at.isoformat(), a.reference) for a in session.query(Assignment)]
    engine.dispose()
    assert spans == [("leave", "2026-04-19T17:00:00+00:00", "cuti tahunan")]


@pytest.mark.parametrize("name", ["", "missing.csv"], ids=["directory", "missing"])
def test_registry_import_of_an_unreadable_path_is_a_clear_error(tmp_path: Path, name: str, capsys) -> None:
    database = tmp_path / "seragam.db"
    path = tmp_path / name
    assert main(["registry", "import", str(path), "--database-url", f"sqlite:///{database}"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("seragam: error:") and str(path) in err and "Traceback" not in err
    assert not database.exists()


def test_score_prints_the_judgement_and_stores_nothing(
    tmp_path: Path, registry_db: str, uniform_clip: bytes, capsys
) -> None:
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(uniform_clip)
    capsys.readouterr()
    argv = ["score", str(clip), "--account", "tiktok:budi.lmj", "--started-at", CLIP_START]
    assert main([*argv, "--database-url", registry_db]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["frames"] == 20 and report["outcome"]["applied"]
    assert [c["rule"] for c in report["would_open"]] == [f["rule"] for f in report["outcome"]["findings"]]
    engine = make_engine(registry_db)
    with session_factory(engine)() as session:
        assert session.query(Case).count() == session.query(FrameScore).count() == 0
    engine.dispose()


def test_score_needs_platform_and_handle(tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["score", "clip.mp4", "--account", "budi.lmj", "--started-at", CLIP_START])
    assert exited.value.code == 2 and "PLATFORM:HANDLE" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("not a url", "the database URL does not parse; write it as sqlite:///"),
        ("mysql://u:secret@localhost/db", r"the database URL mysql://u:\*\*\*@localhost/db names 'mysql'; "),
        (
            "postgresql://u:secret@127.0.0.1:1/seragam",
            r"cannot open the database postgresql\+psycopg://u:\*\*\*@127.0.0.1:1/seragam: .*refused.*"
            "SERAGAM_DATABASE_URL",
        ),
    ],
)
def test_serve_refuses_an_unusable_database_with_one_line(
    tmp_path: Path, url: str, message: str, capsys
) -> None:
    assert main(["serve", "--database-url", url, "--data-dir", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "secret" not in error
    assert re.fullmatch(f"seragam: error: {message}.*\n", error)


def test_serve_refuses_an_unusable_model_with_one_line_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    model = tmp_path / "seragam-n.pt"
    model.write_bytes(bytes(range(256)) * 4)
    monkeypatch.setenv("SERAGAM_MODEL", str(model))
    assert main(["serve", "--data-dir", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and error.startswith(
        f"seragam: error: {model} is not a usable .pt or .onnx"
    )


@pytest.mark.parametrize("corrupt", [False, True], ids=["missing", "corrupt"])
def test_serve_refuses_an_unusable_attire_classifier_with_one_line_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys, corrupt: bool
) -> None:
    classifier = tmp_path / "attire.pt"
    if corrupt:
        classifier.write_bytes(bytes(range(256)) * 4)
    monkeypatch.setenv("SERAGAM_ATTIRE", str(classifier))
    assert main(["serve", "--data-dir", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    expected = "is not a usable .pt or .onnx" if corrupt else "model weights not found:"
    assert error.count("\n") == 1 and error.startswith("seragam: error: ") and str(classifier) in error
    assert expected in error


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("SERAGAM_CALENDAR_FILE", "calendar.yaml", "calendar.yaml: expected settings as `name: value` lines"),
        (
            "SERAGAM_MAX_IMAGE_BYTES",
            "lots",
            "SERAGAM_MAX_IMAGE_BYTES: Input should be a valid integer",
        ),
        (
            "SERAGAM_RETENTION_DISMISSED_DAYS",
            "0",
            "SERAGAM_RETENTION_DISMISSED_DAYS is 0: a retention period",
        ),
    ],
)
def test_serve_refuses_a_bad_setting_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys, variable: str, value: str, message: str
) -> None:
    (tmp_path / "calendar.yaml").write_text("just a string\n")
    monkeypatch.setenv(variable, str(tmp_path / value) if value.endswith(".yaml") else value)
    assert main(["serve", "--data-dir", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and error.startswith("seragam: error: ") and message in error


@pytest.mark.parametrize(("interruption", "code"), [(EOFError, 2), (KeyboardInterrupt, 130)])
def test_users_create_without_a_password_to_read_says_how_to_give_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys, interruption: type[BaseException], code: int
) -> None:
    """No SERAGAM_PASSWORD and no terminal (EOF), or Ctrl-C at the prompt: one line, no traceback."""

    def getpass(prompt: str) -> str:
        raise interruption

    monkeypatch.delenv("SERAGAM_PASSWORD", raising=False)
    monkeypatch.setattr("getpass.getpass", getpass)
    assert main(["users", "create", "--username", "sari", "--data-dir", str(tmp_path)]) == code
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and ("set SERAGAM_PASSWORD or run in a terminal" in error or code == 130)
    assert not (tmp_path / "seragam.db").exists()


def test_users_create_refuses_admin_with_another_role(tmp_path: Path, capsys) -> None:
    argv = [
        "users",
        "create",
        "--username",
        "sari",
        "--admin",
        "--role",
        "uploader",
        "--data-dir",
        str(tmp_path),
    ]
    assert main(argv) == 2
    assert "give one of --admin and --role" in capsys.readouterr().err
    assert not (tmp_path / "seragam.db").exists()
