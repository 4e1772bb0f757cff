"""Clip jobs end to end over HTTP: a stream crossing 16:00 gives one R1 and one R2 case; a job cut off
by a server stop is finished by the next server with the same result."""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient

from api import jobs
from api.auth import create_api_key
from api.config import Settings
from api.db import Case, FrameScore, Job, JobKind, JobState
from api.engine import ChunkTask, InProcessRunner, attire_score, frame_episodes
from api.jobs import INTERNAL_ERROR, ClipParams, clip_time_notes, run_jobs
from api.main import create_app
from api.policy import PersonContext, PolicyConfig, StreamContext, WorkingCalendar, judge_stream
from detector.scan import ChunkScan, ScanSettings
from detector.taxonomy import load_taxonomy
from detector.video import VideoInfo
from tests.api.factories import CLIP_START, World, build_world, post_clip, wait_for_job, wib


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    """The shipped policy, but R1 flags any live time: the test clip spends only 10 s before 16:00."""
    raw = yaml.safe_load(Path("api/policy/default_policy.yaml").read_text())
    raw |= {"version": "test-short-r1", "min_r1_segment_s": 0}
    policy = tmp_path / "policy.yaml"
    policy.write_text(yaml.safe_dump(raw))
    return settings.model_copy(update={"policy_file": policy})


def test_a_clip_across_16_00_opens_an_r1_and_an_r2_case(
    client: TestClient, world: World, uniform_clip: bytes
) -> None:
    accepted = post_clip(client, world, uniform_clip)
    assert accepted.status_code == 202, accepted.text
    assert accepted.headers["Location"] == f"/v1/jobs/{accepted.json()['id']}"
    job = wait_for_job(client, accepted.json()["id"], world.headers("uploader"))
    assert job["state"] == "done", job
    assert job["progress"] == {"done": 20, "total": 20} and job["result"]["frames"] == 20
    findings = job["result"]["outcome"]["findings"]
    assert [(f["rule"], f["start_wib"][11:]) for f in findings] == [
        ("R1", "15:59:50 WIB"),
        ("R2", "16:00:00 WIB"),
    ]
    assert findings[0]["end_wib"] == "2026-04-14 16:00:00 WIB"
    cases = [
        client.get(f"/v1/cases/{i}", headers=world.headers("admin")).json() for i in job["result"]["case_ids"]
    ]
    assert [c["rule"] for c in cases] == ["R1", "R2"]
    # R1's evidence shows who was live when working time counted: the span's first frame (offset 0 s).
    (live,) = cases[0]["evidence"]
    assert live["time_offset_s"] == 0.0 and live["captured_at"].startswith("2026-04-14T08:59:50")
    assert client.get(live["url"], headers=world.headers("admin")).status_code == 200
    (peak,) = cases[1]["evidence"]
    assert client.get(peak["url"], headers=world.headers("admin")).status_code == 200
    assert cases[1]["thresholds"]["min_r1_segment_s"] == 0 and cases[1]["policy_version"] == "test-short-r1"
    official = client.app.state.service.scoring.official
    with client.app.state.service.sessions() as session:
        frames = session.query(FrameScore).all()
    scores = {f.time_s: attire_score(f.detections, official) for f in frames}
    assert len(scores) == 20 and max(scores.values()) > 0
    assert [f.attire_score for f in frames] == [scores[f.time_s] for f in frames]  # what the case page plots
    # The evidence is the best frame of the flagged span (16:00:00 onwards: offset 10 s), not of the whole
    # episode, which began in working hours.
    in_span = {t: score for t, score in scores.items() if t >= 10.0}
    assert peak["time_offset_s"] in in_span and in_span[peak["time_offset_s"]] == max(in_span.values())


def test_jobs_are_visible_to_their_submitter_and_registry_wide_administrators(
    client: TestClient, world: World, uniform_clip: bytes
) -> None:
    with client.app.state.service.sessions() as session:
        _, dinkes_admin = create_api_key(
            session, name="admin-dinkes", role="administrator", agency_id=world.agencies["DINKES"]
        )
        session.commit()
    job_id = post_clip(client, world, uniform_clip).json()["id"]
    assert client.get(f"/v1/jobs/{job_id}", headers=world.headers("admin")).status_code == 200
    assert client.get(f"/v1/jobs/{job_id}", headers=world.headers("reviewer_kominfo")).status_code == 404
    # An administrator of one agency: the job's result would name another agency's cases.
    assert client.get(f"/v1/jobs/{job_id}", headers={"X-API-Key": dinkes_admin}).status_code == 404
    wait_for_job(client, job_id, world.headers("uploader"))


def test_clip_time_notes_flag_a_stream_that_would_end_in_the_future(
    client: TestClient, world: World, uniform_clip: bytes
) -> None:
    started = (datetime.now(UTC) - timedelta(seconds=5)).isoformat()
    job = post_clip(client, world, uniform_clip, handle="stranger", started_at=started).json()
    assert any("after now" in note for note in job["notes"])
    done = wait_for_job(client, job["id"], world.headers("uploader"))
    assert done["result"]["outcome"]["notes"][0] == job["notes"][0]


def test_a_job_interrupted_mid_way_is_finished_by_the_next_server_with_the_same_result(
    settings: Settings, uniform_clip: bytes
) -> None:
    with TestClient(create_app(settings)) as client:
        world = build_world(client.app.state.service.sessions)
        fresh = wait_for_job(
            client, post_clip(client, world, uniform_clip).json()["id"], world.headers("admin")
        )
    assert fresh["state"] == "done"
    # What a server killed mid-job leaves: the job "running", some frame scores, a case it had opened.
    with TestClient(create_app(settings)) as client:
        sessions = client.app.state.service.sessions
    with sessions() as session:
        params = ClipParams.from_dict(session.get(Job, fresh["id"]).params)
        killed = Job(
            kind=JobKind.CLIP, state=JobState.RUNNING, params=params.to_dict(), progress_done=7, attempts=1
        )
        session.add(killed)
        session.flush()
        first_case = session.get(Case, fresh["result"]["case_ids"][0])
        session.add(
            Case(
                rule=first_case.rule,
                job_id=killed.id,
                start_at=first_case.start_at,
                end_at=first_case.end_at,
                policy_version="half-written",
                agency_id=first_case.agency_id,
            )
        )
        session.commit()
        killed_id = killed.id
    with TestClient(create_app(settings)) as client:
        resumed = wait_for_job(client, killed_id, {"X-API-Key": world.keys["admin"]})
        with client.app.state.service.sessions() as session:
            leftovers = session.query(Case).filter_by(job_id=killed_id, policy_version="half-written").count()
            frame_scores = session.query(FrameScore).count()
    assert resumed["state"] == "done" and resumed["attempts"] == 2
    assert resumed["result"]["outcome"] == fresh["result"]["outcome"]
    assert (
        resumed["result"]["frames"] == fresh["result"]["frames"] and frame_scores == fresh["result"]["frames"]
    )
    assert len(resumed["result"]["case_ids"]) == len(fresh["result"]["case_ids"]) and leftovers == 0


@pytest.mark.parametrize(
    ("created", "expected"),
    [
        (None, []),
        ("2026-04-14T16:00:30+07:00", []),  # stamped at the end of the recording
        ("2026-04-14T15:00:00+07:00", ["before the stated stream start"]),
        ("2026-04-20T10:00:00+07:00", ["over a day after"]),
    ],
)
def test_clip_time_notes_compare_creation_time_with_the_stated_start(created, expected: list[str]) -> None:
    info = VideoInfo(20.0, 10.0, 200, datetime.fromisoformat(created) if created else None)
    notes = clip_time_notes(info, datetime.fromisoformat(CLIP_START), now=datetime(2026, 11, 25, tzinfo=UTC))
    assert len(notes) == len(expected) and all(e in n for e, n in zip(expected, notes, strict=True))


def test_a_stopping_worker_leaves_the_job_running_for_the_next_start(
    client: TestClient, world: World, uniform_clip: bytes
) -> None:
    state = client.app.state.service
    state.worker.stop()
    job_id = post_clip(client, world, uniform_clip).json()["id"]
    stopping = InProcessRunner(state.scoring.detector, state.scoring.scan, should_stop=lambda: True)
    run_jobs(state.sessions, state.store, state.scoring, stopping, [job_id])
    with state.sessions() as session:
        job = session.get(Job, job_id)
        # A clean stop costs no attempt: only crashes count towards giving a clip up (MAX_ATTEMPTS).
        assert (job.state, job.attempts, job.progress_done, job.result) == (JobState.RUNNING, 0, 0, None)
        assert session.query(FrameScore).count() == 0


def test_a_deletion_request_stops_the_job_scoring_that_upload(
    client: TestClient, world: World, uniform_clip: bytes
) -> None:
    state = client.app.state.service
    state.worker.stop()
    accepted = post_clip(client, world, uniform_clip).json()
    sha256 = hashlib.sha256(uniform_clip).hexdigest()
    scanning = InProcessRunner(state.scoring.detector, state.scoring.scan)
    answers = []

    class DeletedMidway:
        """The real runner; the deletion request comes while the clip's second chunk is scanned."""

        def run(self, tasks: list[ChunkTask]) -> Iterator[tuple[ChunkTask, ChunkScan]]:
            for task, scan in scanning.run(tasks):
                if task.chunk.index == 1:
                    answers.append(client.delete(f"/v1/uploads/{sha256}", headers=world.headers("admin")))
                yield task, scan

    run_jobs(state.sessions, state.store, state.scoring, DeletedMidway(), [accepted["id"]])
    (answer,) = answers
    assert answer.status_code == 200 and answer.json()["jobs_stopped"] == 1, answer.text
    job = client.get(f"/v1/jobs/{accepted['id']}", headers=world.headers("admin")).json()
    assert job["state"] == "failed" and "deleted on request" in job["error"]
    with state.sessions() as session:  # the chunk scanned while the deletion came was not stored
        assert session.query(FrameScore).count() == 0 and session.query(Case).count() == 0


def test_a_deletion_request_while_the_cases_are_opened_leaves_no_evidence_file(
    client: TestClient, world: World, uniform_clip: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = client.app.state.service
    state.worker.stop()
    accepted = post_clip(client, world, uniform_clip).json()
    sha256 = hashlib.sha256(uniform_clip).hexdigest()
    answers, decode = [], jobs.decode_frame_at

    def decode_then_deleted(*args, **kwargs):
        """The evidence frame is decoded; the deletion request comes before its case is stored."""
        image = decode(*args, **kwargs)
        answers.append(client.delete(f"/v1/uploads/{sha256}", headers=world.headers("admin")))
        return image

    monkeypatch.setattr(jobs, "decode_frame_at", decode_then_deleted)
    scanning = InProcessRunner(state.scoring.detector, state.scoring.scan)
    run_jobs(state.sessions, state.store, state.scoring, scanning, [accepted["id"]])
    (answer,) = answers
    assert answer.status_code == 200 and answer.json()["jobs_stopped"] == 1, answer.text
    job = client.get(f"/v1/jobs/{accepted['id']}", headers=world.headers("admin")).json()
    assert job["state"] == "failed" and "deleted on request" in job["error"]
    assert not [p for p in state.store.root.rglob("*") if p.is_file()]
    with state.sessions() as session:
        assert session.query(Case).count() == 0


def test_the_worker_goes_on_after_a_job_fails_unexpectedly(
    client: TestClient, world: World, uniform_clip: bytes
) -> None:
    with client.app.state.service.sessions() as session:
        broken = Job(kind=JobKind.CLIP, params={"upload_sha256": "0" * 64})  # a row no clip job writes
        session.add(broken)
        session.commit()
        broken_id = broken.id
    job_id = post_clip(client, world, uniform_clip).json()["id"]
    assert wait_for_job(client, job_id, world.headers("uploader"))["state"] == "done"
    failed = client.get(f"/v1/jobs/{broken_id}", headers=world.headers("admin")).json()
    assert failed["state"] == "failed" and failed["error"] == INTERNAL_ERROR


def _uniform_frames(seconds: int, best_s: int) -> list[tuple[float, list[dict]]]:
    return [
        (float(t), [{"class": "pdh_khaki", "score": 0.97 if t == best_s else 0.9, "box": [0, 0, 10, 10]}])
        for t in range(seconds + 1)
    ]


@pytest.mark.parametrize(
    ("starts", "best_s", "evidence_inside"),
    [
        ("07:25", 300, lambda t: t < 300),  # flagged 07:25-07:30: the best frame, at 07:30, is working time
        ("19:00", 600, lambda t: t == 600),  # flagged to the episode's own last frame: that frame counts
    ],
)
def test_the_evidence_of_an_r2_finding_lies_in_its_flagged_span(
    starts: str, best_s: int, evidence_inside
) -> None:
    official = load_taxonomy().official_names
    policy, calendar = PolicyConfig.load(), WorkingCalendar()
    frames = _uniform_frames(600, best_s)
    stream = StreamContext(
        "tiktok", "budi.lmj", False, PersonContext("198501012010011001"), wib(f"2026-04-14 {starts}"), 600.0
    )
    judgement = judge_stream(
        calendar, policy, stream, frame_episodes(frames, official, policy.episodes, ScanSettings())
    )
    (attire,) = [f for f in judgement.findings if f.episode is not None]
    assert evidence_inside(jobs.evidence_frame(frames, attire, stream.start, official)[0])


def test_an_r2_span_of_still_frames_shows_its_first_moment_with_the_held_detections() -> None:
    """A still scene: frames after 20 s are counted, not scored, until the person leaves at 50 s; 16:00 is
    at 30 s. The flagged span holds no scored frame: its evidence is its first moment, not the peak at
    15:59:4x in working hours."""
    official = load_taxonomy().official_names
    policy = PolicyConfig.load()
    frames = [*_uniform_frames(20, best_s=5), (50.0, [])]
    owner = PersonContext("198501012010011001")
    stream = StreamContext("tiktok", "budi.lmj", False, owner, wib("2026-04-14 15:59:30"), 60.0)
    episodes = frame_episodes(frames, official, policy.episodes, ScanSettings())
    judgement = judge_stream(WorkingCalendar(), policy, stream, episodes)
    (attire,) = [f for f in judgement.findings if f.episode is not None]
    assert jobs.evidence_frame(frames, attire, stream.start, official) == (30.0, frames[20][1])


def test_the_worker_outlives_a_database_another_writer_locked_for_a_while(
    client: TestClient, world: World, uniform_clip: bytes, database_url: str
) -> None:
    """A batch, a purge or a registry import may hold SQLite's write lock past the 5 s wait."""
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's write lock")
    other = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    time.sleep(7.5)  # the worker polls every 2 s: at least one poll waits out the 5 s and fails
    other.execute("ROLLBACK")
    other.close()
    job_id = post_clip(client, world, uniform_clip).json()["id"]
    assert wait_for_job(client, job_id, world.headers("uploader"), timeout_s=30)["state"] == "done"
