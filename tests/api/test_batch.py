"""``seragam batch``: sources and their problems, per-stream results, and the same results file whether
the batch ran straight through, was killed with SIGKILL and started again, or ran on Ray."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from api.batch import (
    BatchProgress,
    BatchSourceError,
    StreamEntry,
    check_results_path,
    read_source,
    register_streams,
    result_lines,
    run_batch,
    write_results,
)
from api.db import Job, JobState, ScanChunk, Upload, make_engine, migrate, session_factory
from api.engine import InProcessRunner
from api.retention import delete_upload, purge_expired
from datasets.clips import Segment, write_livestream_clip
from datasets.people import PhotoPeople
from detector.attire import DEFAULT_ATTIRE_WEIGHTS
from detector.model import DEFAULT_WEIGHTS, Detector, file_sha256
from tests.api.factories import TUESDAY, World, build_world, post_clip, wait_for_job, wib

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


def _batch(
    manifest: Path, database_url: str, out: Path, *flags: str, env: dict[str, str] | None = None
) -> subprocess.Popen:
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
    pipe, environment = subprocess.PIPE, os.environ | (env or {})
    return subprocess.Popen(command, cwd=ROOT, stdout=pipe, stderr=pipe, text=True, env=environment)


def _finished(process: subprocess.Popen) -> tuple[int, str]:
    stdout, stderr = process.communicate(timeout=300)
    return process.returncode, stdout + stderr


def test_a_batch_scores_every_stream_and_reports_the_ones_it_could_not(
    recordings: Path, engine: Engine, database_url: str, tmp_path: Path
) -> None:
    """With the service's default two-stage scoring, in worker processes that load both models."""
    build_world(session_factory(engine))
    out = tmp_path / "results.jsonl"
    two_stage = {"SERAGAM_ATTIRE": str(DEFAULT_ATTIRE_WEIGHTS)}
    code, output = _finished(_batch(recordings, database_url, out, "--workers", "2", env=two_stage))
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
    assert "+seragam-attire@" in evening["model"]
    # Budi in PDH khaki at 19:00: one attire episode, one R2 case with its peak frame as evidence.
    assert [e["classes"] for e in evening["episodes"]] and "pdh_khaki" in evening["episodes"][0]["classes"]
    assert [c["rule"] for c in evening["cases"]] == ["R2"] and len(evening["cases"][0]["evidence"]) == 1
    # Plain clothes at 10:00 on a Tuesday: live in working hours, but for less than the R1 minimum.
    assert plain["episodes"] == [] and plain["cases"] == []
    assert evening["holes"] == plain["holes"] == []  # recordings without a gap in their frames
    # The same file for another account shares its frame scores and still gets its own judgement.
    assert sari_morning["sha256"] == evening["sha256"] and sari_morning["cases"] == []
    frames = [line for line in lines if line["type"] == "frame" and line["sha256"] == evening["sha256"]]
    assert len(frames) == evening["frames"] + sari_morning["frames"]


@pytest.mark.parametrize(
    "runner", [("--workers", "1"), ("--workers", "2"), ("--ray", "local", "--workers", "2")], ids=" ".join
)
def test_a_model_that_cannot_load_stops_the_batch_with_why_and_fails_no_stream(
    runner: tuple[str, ...], recordings: Path, engine: Engine, database_url: str, tmp_path: Path
) -> None:
    """In worker processes and Ray actors too, where each worker loads its own copy of the model."""
    build_world(session_factory(engine))
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"not a checkpoint")
    out = tmp_path / "results.jsonl"
    env = {"SERAGAM_MODEL": str(corrupt)}
    code, output = _finished(_batch(recordings, database_url, out, *runner, env=env))
    assert code == 2
    *_, last = output.splitlines()  # before it, Ray's own notices (with --ray)
    assert last.startswith(f"seragam: error: {corrupt} is not a usable .pt or .onnx YOLO model")
    assert "Traceback" not in output
    with session_factory(engine)() as session:
        states = list(session.scalars(select(Job.state)))
    # One process loads its model before it registers any stream; workers load theirs once the streams
    # are registered, which then wait for the next run (running, not failed: the recordings are fine).
    assert states == ([] if runner == ("--workers", "1") else [JobState.RUNNING] * 3)


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


def test_a_batch_run_again_after_the_model_changed_and_after_retention_keeps_every_stream(
    client: TestClient, world: World, attire_clip: Path
) -> None:
    """Sari's morning stream opens no case; run again with the ONNX export (another model version) its
    results keep the scores of the model that made them; after the retention period purged its upload,
    ``--retry-failed`` scores a failed stream again instead of breaking on the missing upload."""
    state = client.app.state.service
    state.worker.stop()
    entry = StreamEntry("morning.mp4", attire_clip, "tiktok", "sari.sehat", wib(f"{TUESDAY} 10:00"))
    with state.sessions() as session:
        runs = register_streams(session, [entry])
    run_batch(
        state.sessions,
        state.store,
        state.scoring,
        InProcessRunner(state.scoring.detector, state.scoring.scan),
        runs,
    )

    onnx = replace(state.scoring, detector=Detector(DEFAULT_WEIGHTS.with_suffix(".onnx")))
    run_batch(state.sessions, state.store, onnx, InProcessRunner(onnx.detector, onnx.scan), runs)
    with state.sessions() as session:
        stream, *frames = result_lines(session, runs)
    assert stream["state"] == "done" and stream["cases"] == []
    assert stream["model"] == state.scoring.detector.version != onnx.detector.version
    assert len(frames) == stream["frames"] > 0

    with state.sessions() as session:  # the stream failed (say, its disk was unreadable) a month ago
        session.get_one(Job, runs[0].job_id).state = JobState.FAILED
        purge_expired(
            session,
            state.store,
            now=datetime.now(UTC) + timedelta(days=31),
            unflagged_days=30,
            dismissed_days=90,
        )
        session.commit()
        assert session.get(Upload, stream["sha256"]) is None
    with state.sessions() as session:
        runs = register_streams(session, [entry])
    run_batch(
        state.sessions, state.store, onnx, InProcessRunner(onnx.detector, onnx.scan), runs, retry_failed=True
    )
    with state.sessions() as session:
        stream, *frames = result_lines(session, runs)
    assert stream["state"] == "done" and stream["model"] == onnx.detector.version
    assert len(frames) == stream["frames"] > 0


def test_chunks_scanned_again_with_another_model_count_once_in_the_progress(
    client: TestClient, world: World, attire_clip: Path
) -> None:
    state = client.app.state.service
    state.worker.stop()
    entry = StreamEntry("evening.mp4", attire_clip, "tiktok", "budi.lmj", wib(f"{TUESDAY} 19:00"))
    with state.sessions() as session:
        runs = register_streams(session, [entry])
    local = InProcessRunner(state.scoring.detector, state.scoring.scan)
    run_batch(state.sessions, state.store, state.scoring, local, runs)
    onnx = replace(state.scoring, detector=Detector(DEFAULT_WEIGHTS.with_suffix(".onnx")))
    with state.sessions() as session:  # say its case could not be stored: retried, with another model
        job = session.get_one(Job, runs[0].job_id)
        job.state, duration = JobState.FAILED, job.params["duration_s"]
        session.commit()
    with BatchProgress(state.sessions, runs, onnx.scan.chunk_s, enabled=False) as progress:
        assert progress.done_s == pytest.approx(duration)  # every chunk was scanned by the first run
        run_batch(
            state.sessions,
            state.store,
            onnx,
            InProcessRunner(onnx.detector, onnx.scan),
            runs,
            progress.chunk_done,
            retry_failed=True,
        )
        assert progress.done_s == pytest.approx(duration)  # not twice the stream (before: 32 s of 16 s)


def test_a_service_upload_of_a_recording_a_batch_scored_is_deleted_on_request(
    client: TestClient, world: World, attire_clip: Path
) -> None:
    state = client.app.state.service
    entry = StreamEntry("evening.mp4", attire_clip, "tiktok", "budi.lmj", wib(f"{TUESDAY} 19:00"))
    with state.sessions() as session:
        register_streams(session, [entry])  # the agency's recording, scored where it lies
    accepted = post_clip(client, world, attire_clip.read_bytes())
    assert accepted.status_code == 202, accepted.text
    wait_for_job(client, accepted.json()["id"], world.headers("uploader"))
    sha256 = hashlib.sha256(attire_clip.read_bytes()).hexdigest()
    assert list(state.store.root.rglob(f"{sha256}.mp4"))  # the service's own copy
    answer = client.delete(f"/v1/uploads/{sha256}", headers=world.headers("admin"))
    assert answer.status_code == 200 and answer.json()["files"] >= 1, answer.text
    assert not list(state.store.root.rglob(f"{sha256}.mp4"))
    assert attire_clip.is_file()  # the recording itself is the agency's, never touched


def test_registering_streams_holds_no_write_lock_while_hashing(
    attire_clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On SQLite a transaction holds the database's write lock from its start: hashing a recording
    of many gigabytes inside one would lock the service out."""
    url = f"sqlite:///{tmp_path / 'batch.db'}"
    migrate(url)
    sessions = session_factory(make_engine(url))
    locked_out = []

    def hash_while_another_writes(path: Path) -> str:
        other = sqlite3.connect(tmp_path / "batch.db", timeout=0.2, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
        except sqlite3.OperationalError as error:
            locked_out.append(str(error))
        finally:
            other.close()
        return file_sha256(path)

    monkeypatch.setattr("api.batch.file_sha256", hash_while_another_writes)
    entries = [
        StreamEntry(f"{handle}.mp4", attire_clip, "tiktok", handle, wib(f"{TUESDAY} 19:00"))
        for handle in ("budi.lmj", "sari.sehat")
    ]
    with sessions() as session:
        runs = register_streams(session, entries)
    assert all(run.job_id for run in runs) and locked_out == []


def test_a_stream_whose_job_went_with_its_upload_meanwhile_is_reported(
    client: TestClient, world: World, attire_clip: Path
) -> None:
    """A deletion request (or the service's retention) may remove a registered stream's job before the
    batch scans it: the stream is reported, the batch goes on."""
    state = client.app.state.service
    state.worker.stop()
    entry = StreamEntry("evening.mp4", attire_clip, "tiktok", "budi.lmj", wib(f"{TUESDAY} 19:00"))
    with state.sessions() as session:
        runs = register_streams(session, [entry])
        deleted = delete_upload(session, state.store, file_sha256(attire_clip), "test")
        session.commit()
    assert deleted.jobs == deleted.jobs_stopped == 1  # queued, held by no runner: deleted outright
    local = InProcessRunner(state.scoring.detector, state.scoring.scan)
    with BatchProgress(state.sessions, runs, state.scoring.scan.chunk_s, enabled=False) as progress:
        run_batch(state.sessions, state.store, state.scoring, local, runs, progress.chunk_done)
    with state.sessions() as session:
        (stream,) = result_lines(session, runs)
    assert stream["state"] == "failed" and "run the batch again" in stream["error"]
    with state.sessions() as session:  # run again: the stream gets a new job
        runs = register_streams(session, [entry])
    run_batch(state.sessions, state.store, state.scoring, local, runs)
    with state.sessions() as session:
        stream, *frames = result_lines(session, runs)
    assert stream["state"] == "done" and frames


def test_a_recording_whose_stated_start_does_not_fit_its_file_gets_the_same_notes_as_a_clip(
    attire_clip: Path, tmp_path: Path
) -> None:
    """Batch streams feed the same review queue as clips sent to the API, so they carry the same
    checks of the stated start against the clip's length and the container's creation time."""
    url = f"sqlite:///{tmp_path / 'batch.db'}"
    migrate(url)
    sessions = session_factory(make_engine(url))
    just_now = datetime.now(UTC) - timedelta(seconds=1)  # a clip of seconds would end after now
    entry = StreamEntry("late.mp4", attire_clip, "tiktok", "budi.lmj", just_now)
    with sessions() as session:
        (run,) = register_streams(session, [entry])
        notes = session.get(Job, run.job_id).params["notes"]
    assert any("the stream would end after now" in note for note in notes)


def test_a_recording_that_states_an_impossible_duration_is_reported_not_planned(
    bundled_people: list[PhotoPeople], tmp_path: Path
) -> None:
    """A damaged header's duration, planned in chunks, would be millions of them."""
    path = tmp_path / "damaged.mkv"
    write_livestream_clip(path, [Segment(bundled_people[0], "original", 1)], size=(360, 640), fps=10)
    data = path.read_bytes()
    assert data.count(b"00:00:01.000000000") == 1  # the track's DURATION tag
    path.write_bytes(data.replace(b"00:00:01.000000000", b"999:00:01.00000000"))  # same length
    url = f"sqlite:///{tmp_path / 'batch.db'}"
    migrate(url)
    sessions = session_factory(make_engine(url))
    entry = StreamEntry("damaged.mkv", path, "tiktok", "budi.lmj", wib(f"{TUESDAY} 19:00"))
    with sessions() as session:
        (run,) = register_streams(session, [entry])
        assert session.scalar(select(func.count()).select_from(Job)) == 0
    assert run.job_id is None
    assert run.problem is not None and "states a duration of 3596401 s, over 7 days" in run.problem


@pytest.mark.parametrize(
    ("out", "message"),
    [
        ("folder", "the results file .*folder is a folder"),
        ("file/results.jsonl", "cannot write the results file"),
    ],
)
def test_a_results_file_that_cannot_be_written_is_refused_before_scoring(
    tmp_path: Path, out: str, message: str
) -> None:
    (tmp_path / "folder").mkdir()
    (tmp_path / "file").write_text("")
    with pytest.raises(OSError, match=message):
        check_results_path(tmp_path / out)


def test_results_that_cannot_take_their_place_leave_no_temporary_file(tmp_path: Path) -> None:
    (tmp_path / "results.jsonl").mkdir()
    with pytest.raises(OSError):
        write_results(iter([{"stream": "a"}]), tmp_path / "results.jsonl")
    assert [p.name for p in tmp_path.iterdir()] == ["results.jsonl"]
