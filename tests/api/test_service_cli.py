"""The service's CLI verbs: ``registry import`` and ``score`` (no server, nothing stored); ``serve`` refuses a
database it cannot use with one line."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from api.cli import main
from api.db import AuditEntry, Case, FrameScore, make_engine, session_factory
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
    assert entries == [("cli", "registry_import", {"agencies": 1, "people": 1, "accounts": 1})]


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
