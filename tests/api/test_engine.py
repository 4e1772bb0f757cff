"""The engine behind clip jobs: a job stopped after some chunks continues from them, and ends with
the result of a job run in one go."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.db import Job, JobState, ScanChunk
from api.engine import ChunkTask, InProcessRunner, frame_episodes
from api.jobs import run_jobs
from api.policy import PolicyConfig
from datasets.clips import AttireSpan, Segment, write_livestream_clip
from datasets.people import PhotoPeople
from detector.model import Detector
from detector.scan import ChunkScan, ScanSettings, plan_chunks, scan_chunk
from detector.taxonomy import load_taxonomy
from detector.video import probe
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
    assert (
        frame_episodes(frames, load_taxonomy().official_names, PolicyConfig.load().episodes, ScanSettings())
        == []
    )


@pytest.mark.parametrize("gap", [1.5, 2.5, 3.5, 4.5])
def test_a_gap_of_a_half_interval_more_rounds_up_whatever_its_whole_part(gap: float) -> None:
    """The last frame with attire holds its score for the missing steps after it: 1, 2, 3 and 4."""
    frames = [(n * gap, NAME_PLATE) for n in range(int(30 / gap) + 1)]
    last_s = frames[-1][0]
    frames.append((last_s + gap, []))
    (episode,) = frame_episodes(
        frames, load_taxonomy().official_names, PolicyConfig.load().episodes, ScanSettings()
    )
    assert episode.end_s == last_s + gap - 0.5


@pytest.mark.parametrize(("hole_s", "apart"), [(0.0, False), (10.0, False), (60.0, True), (600.0, True)])
def test_no_score_is_held_over_a_hole_in_the_recording(hole_s: float, apart: bool) -> None:
    """Attire for 20 s, no frame at all for ``hole_s``, attire for 20 s again: further apart than
    ``max_gap_s`` (41 s by default) the two stretches are episodes apart, and the hole is evidence of
    nothing; a shorter gap holds the score over it."""
    frames = [(float(t), NAME_PLATE) for t in range(20)]
    frames += [(20 + hole_s + t, NAME_PLATE) for t in range(20)]
    official, config = load_taxonomy().official_names, PolicyConfig.load().episodes
    episodes = [
        (e.start_s, e.end_s, e.frame_count) for e in frame_episodes(frames, official, config, ScanSettings())
    ]
    if apart:
        assert episodes == [(0.0, 19.0, 20), (frames[20][0], frames[-1][0], 20)]
    else:
        assert episodes == [(0.0, frames[-1][0], 40 + hole_s)]


def test_a_recording_that_dropped_and_came_back_makes_an_episode_each_side_of_the_hole(
    bundled_people: list[PhotoPeople], shipped_detector: Detector, tmp_path: Path
) -> None:
    """PDH khaki for 12 s, no frame for 2 minutes (the stream dropped), PDH khaki for 12 s more in the same
    file: the two minutes are evidence of nothing."""
    path = tmp_path / "dropped.mp4"
    person = bundled_people[1]
    segments = [Segment(person, "pdh_khaki", 12), Segment(person, "pdh_khaki", 12, after_gap_s=120)]
    # seed 1: both segments' drawn khaki is found by the shipped detector (with seed 0 it reads the first
    # as other_uniform, a detector miss; how often it misses is `seragam eval`'s to say, not this test's)
    spans = write_livestream_clip(path, segments, size=(360, 640), fps=10, seed=1)
    assert spans == [AttireSpan(0, 12, "pdh_khaki"), AttireSpan(132, 144, "pdh_khaki")]
    scan = ScanSettings()
    chunks = plan_chunks(probe(path).duration_s, scan.chunk_s)
    scored = [f for chunk in chunks for f in scan_chunk(path, shipped_detector, scan, chunk).frames]
    frames = [(f.time_s, f.detections.to_dict()["detections"]) for f in scored]
    official = load_taxonomy().official_names
    first, second = frame_episodes(frames, official, PolicyConfig.load().episodes, scan)
    assert 0 <= first.start_s < first.end_s < 12 and 132 <= second.start_s < second.end_s < 144


def test_a_keyframe_gap_holds_the_score_of_the_frame_before_it() -> None:
    """Keyframes 4 s apart that both show attire stand for the seconds between them."""
    frames = [(t, NAME_PLATE) for t in (0.0, 4.0, 8.0)] + [(12.0, [])]
    (episode,) = frame_episodes(
        frames, load_taxonomy().official_names, PolicyConfig.load().episodes, ScanSettings()
    )
    assert (episode.start_s, episode.end_s) == (0.0, 11.0)
