"""The engine behind clip jobs: a job stopped after some chunks continues from them, and ends with
the result of a job run in one go."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace

import pytest
from fastapi.testclient import TestClient

from api.db import Job, JobState, ScanChunk
from api.engine import ChunkTask, InProcessRunner, frame_episodes
from api.jobs import run_jobs
from api.policy import PolicyConfig
from detector.scan import ChunkScan
from detector.taxonomy import load_taxonomy
from tests.api.factories import World, post_clip


class _RecordingRunner(InProcessRunner):
    """Scans like the service does and remembers which chunks it was given."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.chunks: list[int] = []

    def run(self, tasks: Sequence[ChunkTask]) -> Iterator[tuple[ChunkTask, ChunkScan]]:
        self.chunks += [t.chunk.index for t in tasks]
        yield from super().run(tasks)


def test_a_job_stopped_after_two_chunks_scans_only_the_rest_and_gets_the_same_result(
    client: TestClient, world: World, uniform_clip: bytes
) -> None:
    state = client.app.state.service
    state.worker.stop()
    scoring = replace(state.scoring, scan=replace(state.scoring.scan, chunk_s=4.0))  # 20 s: 5 chunks
    straight, stopped = (post_clip(client, world, uniform_clip).json()["id"] for _ in range(2))
    run_jobs(
        state.sessions, state.store, scoring, InProcessRunner(scoring.detector, scoring.scan), [straight]
    )

    answers = iter([False, False, True])
    stopping = InProcessRunner(scoring.detector, scoring.scan, should_stop=lambda: next(answers))
    run_jobs(state.sessions, state.store, scoring, stopping, [stopped])
    with state.sessions() as session:
        assert session.get_one(Job, stopped).state == JobState.RUNNING
        assert session.query(ScanChunk).filter_by(job_id=stopped).count() == 2

    resuming = _RecordingRunner(scoring.detector, scoring.scan)
    run_jobs(state.sessions, state.store, scoring, resuming, [stopped])
    assert resuming.chunks == [2, 3, 4]
    with state.sessions() as session:
        done, reference = session.get_one(Job, stopped), session.get_one(Job, straight)
        # the stop was clean, so it cost no attempt: only crashes count towards MAX_ATTEMPTS
        assert (done.state, done.attempts, reference.attempts) == (JobState.DONE, 1, 1)
        assert done.progress_done == reference.progress_done == 20
        for key in ("outcome", "frames", "episodes"):
            assert done.result[key] == reference.result[key]
        assert len(done.result["case_ids"]) == len(reference.result["case_ids"]) == 1  # R2 from 16:00


def test_a_chunk_cut_short_by_an_error_is_scanned_again_on_the_next_run(
    client: TestClient, world: World, uniform_clip: bytes
) -> None:
    state = client.app.state.service
    state.worker.stop()
    scoring = replace(state.scoring, scan=replace(state.scoring.scan, chunk_s=4.0))
    job_id = post_clip(client, world, uniform_clip).json()["id"]
    answers = iter([False, True])
    run_jobs(
        state.sessions,
        state.store,
        scoring,
        InProcessRunner(scoring.detector, scoring.scan, lambda: next(answers)),
        [job_id],
    )
    with state.sessions() as session:  # what a read error on a network share would have left
        (chunk,) = session.query(ScanChunk).filter_by(job_id=job_id)
        chunk.error = "the share went away"
        session.commit()
    resuming = _RecordingRunner(scoring.detector, scoring.scan)
    run_jobs(state.sessions, state.store, scoring, resuming, [job_id])
    assert resuming.chunks == [0, 1, 2, 3, 4]
    with state.sessions() as session:
        job = session.get_one(Job, job_id)
        assert (job.state, job.error, job.progress_done) == (JobState.DONE, None, 20)


NAME_PLATE = [{"class": "name_plate", "score": 0.9, "box": [0, 0, 5, 5]}]


@pytest.mark.parametrize("frame_s", [1.0, 1.001, 1.04, 0.967])
def test_one_detected_frame_is_no_episode_whatever_the_frame_rate(frame_s: float) -> None:
    """Frames sampled each second of a 29.97 fps video lie 1.001 s apart: that is no gap to fill."""
    frames = [(n * frame_s, NAME_PLATE if n == 0 else []) for n in range(20)]
    assert frame_episodes(frames, load_taxonomy().official_names, PolicyConfig.load().episodes, 1.0) == []


@pytest.mark.parametrize("gap", [1.5, 2.5, 3.5, 4.5])
def test_a_gap_of_a_half_interval_more_rounds_up_whatever_its_whole_part(gap: float) -> None:
    """The last frame with attire holds its score for the missing steps after it: 1, 2, 3 and 4."""
    frames = [(n * gap, NAME_PLATE) for n in range(int(30 / gap) + 1)]
    last_s = frames[-1][0]
    frames.append((last_s + gap, []))
    (episode,) = frame_episodes(frames, load_taxonomy().official_names, PolicyConfig.load().episodes, 1.0)
    assert episode.end_s == last_s + gap - 0.5


def test_a_keyframe_gap_holds_the_score_of_the_frame_before_it() -> None:
    """Keyframes 4 s apart that both show attire stand for the seconds between them."""
    frames = [(t, NAME_PLATE) for t in (0.0, 4.0, 8.0)] + [(12.0, [])]
    (episode,) = frame_episodes(frames, load_taxonomy().official_names, PolicyConfig.load().episodes, 1.0)
    assert (episode.start_s, episode.end_s) == (0.0, 11.0)
