"""``seragam batch``: sources and their problems, per-stream results, and the same results file whether
the batch ran straight through, was killed with SIGKILL and started again, or ran on Ray."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from api.batch import BatchSourceError, read_source
from api.db import ScanChunk, make_engine, migrate, session_factory
from datasets.clips import Segment, write_livestream_clip
from datasets.people import PhotoPeople
from tests.api.factories import TUESDAY, build_world

ROOT = Path(__file__).resolve().parents[2]
EVENING, MORNING = f"{TUESDAY}T19:00:00+07:00", f"{TUESDAY}T10:00:00+07:00"


@pytest.fixture
def recordings(attire_clip: Path, bundled_people: list[PhotoPeople], tmp_path: Path) -> Path:
    """A manifest of three streams of Budi's and Sari's accounts (one recording twice), one missing
    recording and one that is not a video."""
    folder = tmp_path / "recordings"
    folder.mkdir()
    shutil.copy(attire_clip, folder / "evening.mp4")
    write_livestream_clip(
        folder / "plain.mp4", [Segment(bundled_people[0], "original", 12)], size=(360, 640), fps=10, seed=5
    )
    (folder / "broken.mp4").write_bytes(b"not a video at all")
    manifest = folder / "manifest.csv"
    manifest.write_text(
        "path,platform,handle,started_at\n"
        f"evening.mp4,tiktok,budi.lmj,{EVENING}\n"
        f"plain.mp4,tiktok,budi.lmj,{MORNING}\n"
        f"evening.mp4,tiktok,sari.sehat,{MORNING}\n"
        f"gone.mp4,tiktok,budi.lmj,{EVENING}\n"
        f"broken.mp4,tiktok,budi.lmj,{EVENING}\n"
    )
    return manifest


def _batch(manifest: Path, database_url: str, out: Path, *flags: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "api.cli", "batch", str(manifest), "--database-url", database_url]
    command += [
        "--data-dir",
        str(out.parent / "data"),
        "--out",
        str(out),
        "--quiet",
        "--chunk-s",
        "2",
        *flags,
    ]
    return subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finished(process: subprocess.Popen) -> tuple[int, str]:
    stdout, stderr = process.communicate(timeout=300)
    return process.returncode, stdout + stderr


def test_a_batch_scores_every_stream_and_reports_the_ones_it_could_not(
    recordings: Path, engine: Engine, database_url: str, tmp_path: Path
) -> None:
    build_world(session_factory(engine))
    out = tmp_path / "results.jsonl"
    code, output = _finished(_batch(recordings, database_url, out, "--workers", "2"))
    assert code == 1, output  # one recording is missing: not everything was scored
    assert "gone.mp4" in output and "no recording at" in output
    assert "broken.mp4" in output and "cannot be read as a video" in output
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    streams = [line for line in lines if line["type"] == "stream"]
    assert [(s["path"], s["state"]) for s in streams] == [
        ("evening.mp4", "done"),
        ("plain.mp4", "done"),
        ("evening.mp4", "done"),
        ("gone.mp4", "failed"),
        ("broken.mp4", "failed"),
    ]
    evening, plain, sari_morning, _, _ = streams
    # Budi in PDH khaki at 19:00: one attire episode, one R2 case with its peak frame as evidence.
    assert [e["classes"] for e in evening["episodes"]] and "pdh_khaki" in evening["episodes"][0]["classes"]
    assert [c["rule"] for c in evening["cases"]] == ["R2"] and len(evening["cases"][0]["evidence"]) == 1
    # Plain clothes at 10:00 on a Tuesday: live in working hours, but for less than the R1 minimum.
    assert plain["episodes"] == [] and plain["cases"] == []
    # The same file for another account shares its frame scores and still gets its own judgement.
    assert sari_morning["sha256"] == evening["sha256"] and sari_morning["cases"] == []
    frames = [line for line in lines if line["type"] == "frame" and line["sha256"] == evening["sha256"]]
    assert len(frames) == evening["frames"] + sari_morning["frames"]


def test_a_batch_killed_mid_way_and_started_again_writes_the_same_results(
    recordings: Path, engine: Engine, database_url: str, tmp_path: Path
) -> None:
    build_world(session_factory(engine))
    straight = tmp_path / "straight" / "results.jsonl"
    code, output = _finished(
        _batch(recordings, _other_world(tmp_path / "straight.db"), straight, "--workers", "2")
    )
    assert code == 1, output

    resumed = tmp_path / "resumed" / "results.jsonl"
    process = _batch(recordings, database_url, resumed, "--workers", "1")
    chunks_at_kill = _kill_after_chunks(process, engine, at_least=3)
    assert 3 <= chunks_at_kill < 22, "the kill should land mid-batch (22 chunks in all)"
    assert not resumed.exists()
    code, output = _finished(_batch(recordings, database_url, resumed, "--workers", "1"))
    assert code == 1, output
    assert resumed.read_text() == straight.read_text()


def _kill_after_chunks(process: subprocess.Popen, engine: Engine, at_least: int) -> int:
    count = select(func.count()).select_from(ScanChunk)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        with engine.connect() as connection:
            done = connection.scalar(count) or 0
        if done >= at_least:
            process.send_signal(signal.SIGKILL)
            process.wait()
            return done
        time.sleep(0.02)
    raise AssertionError(f"the batch ended or stalled before {at_least} chunks: {process.communicate()}")


def _other_world(path: Path) -> str:
    """A second database with the same registry (SQLite: the suite's PostgreSQL database is in use)."""
    url = f"sqlite:///{path}"
    migrate(url)
    other = make_engine(url)
    build_world(session_factory(other))
    other.dispose()
    return url


def test_the_ray_path_writes_the_same_results_as_the_local_one(
    recordings: Path, engine: Engine, database_url: str, tmp_path: Path
) -> None:
    pytest.importorskip("ray", reason="Ray is the optional extra seragam-watch[ray]; make test installs it")
    build_world(session_factory(engine))
    local, on_ray = tmp_path / "local" / "results.jsonl", tmp_path / "ray" / "results.jsonl"
    assert _finished(_batch(recordings, database_url, local, "--workers", "1"))[0] == 1
    ray_db = _other_world(tmp_path / "ray.db")
    code, output = _finished(_batch(recordings, ray_db, on_ray, "--ray", "local", "--workers", "2"))
    assert code == 1, output
    assert on_ray.read_text() == local.read_text()


@pytest.mark.parametrize(
    ("files", "problem"),
    [
        (
            {
                "a.mp4": b"x",
                "a.json": '{"platform": "tiktok", "handle": "a", "started_at": "' + EVENING + '"}',
            },
            None,
        ),
        ({"a.mp4": b"x"}, "no sidecar a.json"),
        ({"a.mp4": b"x", "a.json": "{"}, "not a JSON object"),
        (
            {
                "a.mp4": b"x",
                "a.json": '{"platform": "myspace", "handle": "a", "started_at": "' + EVENING + '"}',
            },
            "myspace",
        ),
        (
            {
                "a.mp4": b"x",
                "a.json": '{"platform": "tiktok", "handle": "a", "started_at": "2026-04-14T19:00"}',
            },
            "offset",
        ),
        (
            {
                "a.mp4": b"x",
                "a.json": '{"platform": "tiktok", "handle": "a", "started_at": "2099-01-01T00:00Z"}',
            },
            "future",
        ),
    ],
)
def test_a_folder_source_reads_each_recordings_sidecar(
    files: dict, problem: str | None, tmp_path: Path
) -> None:
    for name, content in files.items():
        (tmp_path / name).write_bytes(content if isinstance(content, bytes) else content.encode())
    (entry,) = read_source(tmp_path, skew_s=300)
    assert entry.name == "a.mp4"
    assert entry.problem is None if problem is None else problem in entry.problem


def test_a_jsonl_manifest_reports_bad_lines_and_keeps_the_rest(tmp_path: Path) -> None:
    (tmp_path / "a.mp4").write_bytes(b"x")
    manifest = tmp_path / "m.jsonl"
    good = {"path": "a.mp4", "platform": "tiktok", "handle": "@Budi.LMJ", "started_at": EVENING}
    manifest.write_text(json.dumps(good) + "\n\nnot json\n" + json.dumps(good | {"path": "b.mp4"}) + "\n")
    entries = read_source(manifest, skew_s=300)
    assert [(e.name, e.problem is None) for e in entries] == [
        ("a.mp4", True),
        ("m.jsonl:3", False),
        ("b.mp4", False),
    ]
    assert entries[0].handle == "budi.lmj" and entries[0].started_at is not None


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("m.csv", "path,platform\na.mp4,tiktok\n", "the header lacks"),
        ("m.txt", "", "not a folder of recordings"),
    ],
)
def test_an_unusable_source_is_refused_with_what_it_needs(
    name: str, content: str, message: str, tmp_path: Path
) -> None:
    (tmp_path / name).write_text(content)
    with pytest.raises(BatchSourceError, match=message):
        read_source(tmp_path / name, skew_s=300)
