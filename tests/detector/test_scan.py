"""Chunked scanning: chunks give the frames a whole scan gives, keyframe sampling goes dense only where
the attire score changes or a GOP is long, still frames are skipped up to the chunk's last sampled frame,
a damaged file ends its chunk with a clear error."""

from __future__ import annotations

import math
from pathlib import Path

import av
import numpy as np
import pytest

from datasets.clips import Segment, write_livestream_clip
from datasets.people import PhotoPeople
from detector.model import DEFAULT_WEIGHTS, Detector
from detector.scan import LONG_GOP_S, Chunk, ChunkScan, ScanSettings, plan_chunks, scan_chunk
from detector.video import SamplingMode, probe


def _scan(path: Path, detector: Detector, settings: ScanSettings) -> list[ChunkScan]:
    return [
        scan_chunk(path, detector, settings, c) for c in plan_chunks(probe(path).duration_s, settings.chunk_s)
    ]


def _frames(scans: list[ChunkScan]) -> list[tuple[float, dict]]:
    return [(f.time_s, f.detections.to_dict()) for scan in scans for f in scan.frames]


@pytest.mark.parametrize(
    ("duration_s", "chunk_s", "expected"),
    [
        (10.0, 4.0, [(0, 0.0, 4.0), (1, 4.0, 8.0), (2, 8.0, None)]),
        (8.0, 4.0, [(0, 0.0, 4.0), (1, 4.0, None)]),
        (3.0, 120.0, [(0, 0.0, None)]),
        (0.0, 120.0, [(0, 0.0, None)]),
    ],
)
def test_plan_chunks_covers_the_recording_and_leaves_the_last_open(duration_s, chunk_s, expected) -> None:
    assert plan_chunks(duration_s, chunk_s) == [Chunk(*e) for e in expected]


@pytest.mark.parametrize("mode", [SamplingMode.KEYFRAMES, SamplingMode.EVERY_N_SECONDS])
def test_chunks_give_the_frames_and_detections_of_one_whole_scan(
    attire_clip: Path, shipped_detector: Detector, mode: SamplingMode
) -> None:
    # Anchors of keyframe_stride > 1 are counted from each chunk's start: stride 1 compares the frames.
    whole = _frames(_scan(attire_clip, shipped_detector, ScanSettings(mode, chunk_s=1000, keyframe_stride=1)))
    chunked = _frames(
        _scan(attire_clip, shipped_detector, ScanSettings(mode, chunk_s=5, batch=3, keyframe_stride=1))
    )
    assert chunked == whole
    assert [t for t, _ in whole] == sorted({t for t, _ in whole})


def test_keyframe_sampling_goes_dense_only_where_the_attire_score_changes(
    attire_clip: Path, shipped_detector: Detector
) -> None:
    official = shipped_detector.taxonomy.official_names
    scans = _scan(attire_clip, shipped_detector, ScanSettings(chunk_s=5, keyframe_stride=1))
    times = [f.time_s for scan in scans for f in scan.frames]
    keyframes = [t for t in times if t % 2 == 0]
    assert keyframes == [0, 2, 4, 6, 8, 10, 12, 14]
    scores = {f.time_s: f.detections.best_score(official) for scan in scans for f in scan.frames}
    assert [scores[t] >= 0.5 for t in keyframes] == [False, False, False, True, True, True, False, False]
    # The GOPs on either side of the change, 4-6 s and 10-12 s, are sampled every second, and the last
    # one, 14-16 s, which no keyframe closes; no other.
    assert sorted(set(times) - set(keyframes)) == [5.0, 11.0, 15.0]


@pytest.mark.parametrize(
    ("outfit", "stride", "expected"),
    [
        ("original", 3, [0, 6, 8, 9]),  # anchors agree: the keyframes between them are not scored
        ("original", 1, [0, 2, 4, 6, 8, 9]),  # 9: the last GOP, 8-10 s, sampled every second
        ("pdh_khaki", 3, [0, 6, 8, 9]),
    ],
)
def test_keyframes_between_agreeing_anchors_are_not_scored(
    bundled_people: list[PhotoPeople],
    shipped_detector: Detector,
    tmp_path: Path,
    outfit: str,
    stride: int,
    expected,
) -> None:
    path = tmp_path / "steady.mp4"
    write_livestream_clip(path, [Segment(bundled_people[1], outfit, 10)], size=(360, 640), fps=10, seed=1)
    scans = _scan(path, shipped_detector, ScanSettings(still_diff=0.0, keyframe_stride=stride))
    assert [f.time_s for scan in scans for f in scan.frames] == expected


def test_anchors_that_disagree_have_the_keyframes_between_them_scored(
    attire_clip: Path, shipped_detector: Detector
) -> None:
    """Plain 0-6 s, uniform 6-12 s, plain 12-16 s; anchors at 0, 6, 12 and the last keyframe, 14."""
    scans = _scan(attire_clip, shipped_detector, ScanSettings(keyframe_stride=3))
    times = [f.time_s for scan in scans for f in scan.frames]
    assert [t for t in times if t % 2 == 0] == [0, 2, 4, 6, 8, 10, 12, 14]
    assert sorted(t for t in times if t % 2) == [5.0, 11.0, 15.0]


@pytest.mark.parametrize(
    ("mode", "sampled", "skipped", "skipped_held_4_s"),
    [
        (SamplingMode.KEYFRAMES, [0, 2, 4, 6, 8, 9], 4, 2),
        (SamplingMode.EVERY_N_SECONDS, list(range(10)), 8, 6),
    ],
)
def test_still_frames_are_counted_but_not_scored_up_to_the_last_sampled_one(
    bundled_people: list[PhotoPeople],
    shipped_detector: Detector,
    tmp_path: Path,
    mode: SamplingMode,
    sampled: list[int],
    skipped: int,
    skipped_held_4_s: int,
) -> None:
    """The last sampled frame is scored even when still: the score held over a still stretch stops at the
    last scored frame, and a static recording scored only at its start made no episode at all. A still
    frame is scored again every ``still_hold_s``, so scored frames lie at most ``max_gap_s`` apart."""
    path = tmp_path / "still.mp4"
    write_livestream_clip(path, [Segment(bundled_people[0], "original", 10)], size=(360, 640), fps=10)
    # A verdict that never changes, so that coarse-to-fine sampling adds no frame: only stillness counts.
    steady = Detector(DEFAULT_WEIGHTS, thresholds=dict.fromkeys(shipped_detector.thresholds, 1.0))
    moving = _scan(path, steady, ScanSettings(mode, still_diff=0.0, keyframe_stride=1))
    assert [scan.skipped for scan in moving] == [0] and [f.time_s for f in moving[0].frames] == sampled
    # No two frames differ by 256 grey levels on average: every frame after the first looks "still".
    (still,) = _scan(path, steady, ScanSettings(mode, still_diff=256.0, keyframe_stride=1))
    assert ([f.time_s for f in still.frames], still.skipped) == ([0, 9], skipped)
    held = ScanSettings(mode, still_diff=256.0, keyframe_stride=1, still_hold_s=4.0)
    (still,) = _scan(path, steady, held)
    assert ([f.time_s for f in still.frames], still.skipped) == ([0, 4, 8, 9], skipped_held_4_s)


def test_keyframe_sampling_looks_inside_a_long_gop(
    bundled_people: list[PhotoPeople], shipped_detector: Detector, tmp_path: Path
) -> None:
    """One keyframe, at 0 s in plain clothes, then PDH khaki from 12 s: keyframes alone never see it."""
    path = tmp_path / "one_gop.mp4"
    segments = [Segment(bundled_people[1], "original", 12), Segment(bundled_people[1], "pdh_khaki", 12)]
    write_livestream_clip(path, segments, size=(360, 640), fps=10, keyframe_s=30, seed=1)
    (scan,) = _scan(path, shipped_detector, ScanSettings(still_diff=0.0))
    times = [f.time_s for f in scan.frames]
    assert max(b - a for a, b in zip([0.0, *times], [*times, 24.0], strict=True)) <= LONG_GOP_S
    official = shipped_detector.taxonomy.official_names
    assert any(f.time_s >= 12 and f.detections.best_score(official) >= 0.5 for f in scan.frames)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"interval_s": 0.0}, "interval_s must be positive"),
        ({"interval_s": -1.0}, "interval_s must be positive"),
        ({"max_side": 0}, "max_side must be at least 1"),
        ({"chunk_s": math.nan}, "chunk_s must be a finite number"),
        ({"chunk_s": math.inf}, "chunk_s must be a finite number"),
        ({"interval_s": math.nan}, "interval_s must be a finite number"),
        ({"still_diff": math.inf}, "still_diff must be a finite number"),
        ({"still_hold_s": math.nan}, "still_hold_s must be a finite number"),
        ({"still_hold_s": -1.0}, "still_diff and still_hold_s 0 or more"),
        ({"keyframe_stride": 0}, "keyframe_stride must be at least 1"),
        ({"dense_score": math.nan}, "dense_score must be a finite number"),
        ({"dense_score": -0.5}, "dense_score is an attire score, 0 or more"),
    ],
)
def test_settings_that_cannot_sample_are_refused_before_any_work(settings: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ScanSettings(**settings)


def test_a_recording_cut_short_ends_its_chunk_with_the_frames_before_the_cut(
    attire_clip: Path, shipped_detector: Detector, tmp_path: Path
) -> None:
    data = attire_clip.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    scan = scan_chunk(cut, shipped_detector, ScanSettings(), Chunk(0, 0.0, None))
    assert scan.error is not None and str(cut) in scan.error
    assert all(np.isfinite(f.time_s) for f in scan.frames)


def test_a_missing_recording_is_an_error_of_its_chunk(shipped_detector: Detector, tmp_path: Path) -> None:
    scan = scan_chunk(tmp_path / "gone.mp4", shipped_detector, ScanSettings(), Chunk(0, 0.0, None))
    assert scan.frames == [] and "gone.mp4" in (scan.error or "")


def test_a_phone_portrait_recording_stored_sideways_is_scored_upright(
    frames: list[tuple[np.ndarray, list]], shipped_detector: Detector, tmp_path: Path
) -> None:
    """Phones record portrait video as landscape frames and a display matrix turning them clockwise;
    on the frames as stored, the model finds next to nothing (people lie on their side)."""
    upright = frames[2][0]  # Satpol PP, 360x640
    path = tmp_path / "portrait.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=5)
        stream.width, stream.height, stream.pix_fmt = upright.shape[0], upright.shape[1], "yuv420p"
        stream.set_display_rotation(-90)
        stored = av.VideoFrame.from_ndarray(np.ascontiguousarray(np.rot90(upright)), format="bgr24")
        for _ in range(10):
            container.mux(stream.encode(stored))
        container.mux(stream.encode())
    official = shipped_detector.taxonomy.official_names
    expected = shipped_detector.detect(upright).best_score(official)
    (scan,) = _scan(path, shipped_detector, ScanSettings(chunk_s=1000, keyframe_stride=1))
    assert scan.frames and expected > 0.5
    for frame in scan.frames:
        assert frame.detections.image_size == (360, 640)
        assert frame.detections.best_score(official) == pytest.approx(expected, abs=0.15)


def test_interval_chunks_are_whole_intervals() -> None:
    """A chunk starts the interval schedule afresh, so a chunk of 5 s with a frame every 2 s would
    sample 0, 2, 4 | 5, 7, 9 where a whole read samples 0, 2, 4, 6, 8."""
    with pytest.raises(ValueError, match=r"whole number of interval_s \(2.0\), e.g. 4"):
        ScanSettings(SamplingMode.EVERY_N_SECONDS, 2.0, chunk_s=5)
    assert ScanSettings(SamplingMode.EVERY_N_SECONDS, 0.1, chunk_s=3).chunk_s == 3  # 30 steps, in floats
    assert ScanSettings(SamplingMode.KEYFRAMES, 2.0, chunk_s=5).chunk_s == 5  # no interval schedule
