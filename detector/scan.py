"""Scanning a recording in chunks: which frames to score, scored in batches, in constant memory.

A recording is cut into chunks of ``chunk_s`` seconds. In ``keyframes`` sampling a chunk owns the
keyframes presented in it and the group of pictures (GOP) each one starts, even where that GOP runs past
the chunk's end; in ``interval`` sampling it owns the frames presented in it. Either way a chunk gives
the same frames and detections however the others are run (in any order, in another process, after a
crash), so scanning can resume after the last finished chunk and spread one long stream over workers.

Sampling (``ScanSettings``):

- ``keyframes``: only keyframes are decoded (phone apps put one every ~2 s), the
  cheapest decode. Coarse to fine: every ``keyframe_stride``-th keyframe is scored; where two of
  them disagree about attire (score at least ``dense_score``), the keyframes between them are scored
  too, and where two neighbouring keyframes disagree, the GOP between them is decoded in full and
  sampled every ``interval_s``. Attire shown for at least ``keyframe_stride`` keyframe intervals (6 s
  by default) always reaches an anchor, and episode edges are placed as precisely as dense sampling
  would place them. A GOP longer than ``LONG_GOP_S`` (a screen recording, a static stream) and the
  recording's last GOP (no keyframe closes it) are decoded and sampled every ``interval_s`` too, so no
  stretch of a recording goes unseen for more than ``LONG_GOP_S``.
- ``interval``: the first frame at or after each multiple of ``interval_s`` (every frame decoded).

Frames nearly identical to the last scored one (mean absolute difference of small grey thumbnails below
``still_diff``, 0-255 scale) are counted but not scored: a paused or static stream costs one inference
every ``still_hold_s``. A chunk's last sampled frame is always scored, so a still stretch ends at a
scored frame and the score held over it (``api.engine.frame_episodes``) reaches the end of the chunk and
of the recording. So scored frames lie at most ``ScanSettings.max_gap_s`` apart wherever the recording
presents frames; a longer stretch without one is a hole in it (a stream that dropped and came back in
the same file), over which no score is held.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import cv2
import numpy as np

from detector.detections import Detections
from detector.model import Detector
from detector.video import SamplingMode, SamplingPolicy, VideoError, VideoFrame, iter_frames

_THUMB = (32, 32)
# Keyframe sampling trusts a keyframe for its GOP; a longer GOP is sampled every interval_s like the
# interval mode, so attire inside it (or after the last keyframe) is not missed.
LONG_GOP_S = 10.0


@dataclass(frozen=True)
class ScanSettings:
    """How a recording is sampled and scored; recorded with the results so a re-run can match them."""

    mode: SamplingMode = SamplingMode.KEYFRAMES
    interval_s: float = 1.0
    dense_score: float = 0.5
    still_diff: float = 1.0
    max_side: int | None = None
    batch: int = 8
    chunk_s: float = 120.0
    keyframe_stride: int = 3
    still_hold_s: float = LONG_GOP_S

    def __post_init__(self) -> None:
        if self.mode == SamplingMode.ALL:
            raise ValueError("scan every frame with mode 'interval' and a small interval_s instead of 'all'")
        for name in ("interval_s", "dense_score", "still_diff", "chunk_s", "still_hold_s"):
            if not math.isfinite(getattr(self, name)):  # nan passes every comparison below
                raise ValueError(f"{name} must be a finite number, got {getattr(self, name)}")
        if self.dense_score < 0:  # above 1 (no score reaches it): keyframes are never densified
            raise ValueError(
                f"dense_score is an attire score, 0 or more (above 1: off), got {self.dense_score}"
            )
        SamplingPolicy(self.mode, self.interval_s, self.max_side)  # refuses interval_s <= 0 and max_side < 1
        if min(self.still_diff, self.still_hold_s) < 0 or self.chunk_s <= 0:
            raise ValueError("chunk_s must be positive, still_diff and still_hold_s 0 or more")
        if self.batch < 1 or self.keyframe_stride < 1:
            raise ValueError("batch and keyframe_stride must be at least 1")
        # Each chunk starts the interval schedule afresh: on a multiple of interval_s, chunks sample
        # exactly the frames a whole read does.
        steps = self.chunk_s / self.interval_s
        if self.mode == SamplingMode.EVERY_N_SECONDS and abs(steps - round(steps)) > 1e-9:
            raise ValueError(
                f"chunk_s ({self.chunk_s}) must be a whole number of interval_s ({self.interval_s}), "
                f"e.g. {max(1, round(steps)) * self.interval_s:g}"
            )

    @property
    def sampling(self) -> SamplingPolicy:
        return SamplingPolicy(self.mode, self.interval_s, self.max_side)

    @property
    def max_gap_s(self) -> float:
        """The furthest apart two scored frames lie where the recording presents frames all along: a
        still frame is left out only within ``still_hold_s`` of the last scored one, and the next frame
        sampled after it comes within ``keyframe_stride`` GOPs of at most ``LONG_GOP_S`` (keyframe
        anchors) or one ``interval_s`` and the video's own frame spacing (dense sampling)."""
        return self.still_hold_s + self.keyframe_stride * LONG_GOP_S + self.interval_s


@dataclass(frozen=True)
class Chunk:
    """The ``index``-th slice ``[start_s, end_s)`` of a recording; ``end_s`` None: up to its end."""

    index: int
    start_s: float
    end_s: float | None


def plan_chunks(duration_s: float, chunk_s: float) -> list[Chunk]:
    """The chunks of a recording of ``duration_s`` seconds (at least one)."""
    count = max(1, math.ceil(duration_s / chunk_s - 1e-9))
    return [Chunk(i, i * chunk_s, (i + 1) * chunk_s if i + 1 < count else None) for i in range(count)]


@dataclass(frozen=True)
class ScoredFrame:
    time_s: float
    detections: Detections


@dataclass(frozen=True)
class ChunkScan:
    """What scanning a chunk found: scored frames in time order, frames left unscored because they were
    nearly identical to the last scored one, and the error that stopped it (None: read to its end)."""

    frames: list[ScoredFrame]
    skipped: int
    error: str | None = None


def scan_chunk(path: str | Path, detector: Detector, settings: ScanSettings, chunk: Chunk) -> ChunkScan:
    """Score the frames ``chunk`` owns. A ``VideoError`` ends the chunk with the frames scored before it
    and the error's message (which names ``path``)."""
    scorer = _BatchScorer(detector, settings)
    try:
        if settings.mode == SamplingMode.EVERY_N_SECONDS:
            frames = iter_frames(path, settings.sampling, start_s=chunk.start_s, end_s=chunk.end_s)
            scored = scorer.score(frames)
        else:
            scored = _scan_keyframes(path, scorer, settings, chunk)
        scored = scorer.ending_with_last_sampled(scored)
    except (VideoError, OSError) as error:  # OSError: the file went away or cannot be read
        end_s = math.inf if chunk.end_s is None else chunk.end_s
        kept = sorted((f for f in scorer.done if f.time_s < end_s), key=lambda f: f.time_s)
        return ChunkScan(kept, scorer.skipped, str(error))
    return ChunkScan(scored, scorer.skipped)


def _scan_keyframes(
    path: str | Path, scorer: _BatchScorer, settings: ScanSettings, chunk: Chunk
) -> list[ScoredFrame]:
    end_s = math.inf if chunk.end_s is None else chunk.end_s
    keyframe_times: list[float] = []
    keyframes = _coarse_to_fine(
        _noting_times(_keyframes_with_next(path, settings, chunk), keyframe_times), scorer, settings, end_s
    )
    above = [scorer.is_attire(f, settings.dense_score) for f in keyframes]
    changes = [
        (key.time_s, after.time_s)
        for (key, after), (key_above, after_above) in zip(pairwise(keyframes), pairwise(above), strict=True)
        if key_above != after_above and key.time_s < end_s
    ]
    # The next chunk's first keyframe is looked at only to decide on the last GOP.
    frames = [key for key in keyframes if key.time_s < end_s]
    dense_policy = SamplingPolicy(SamplingMode.EVERY_N_SECONDS, settings.interval_s, settings.max_side)
    for start_s, stop_s in changes:
        gop = iter_frames(path, dense_policy, start_s=start_s + 1e-3, end_s=stop_s)
        frames.extend(scorer.score(gop, may_skip=lambda _f: False))
    for start_s, stop_s in _long_gops(keyframe_times, end_s):
        if not any(a <= start_s and stop_s is not None and stop_s <= b for a, b in changes):
            gop = iter_frames(path, dense_policy, start_s=start_s + 1e-3, end_s=stop_s)
            frames.extend(scorer.score(gop, among_themselves=True))
    return sorted(frames, key=lambda f: f.time_s)


def _noting_times(keyframes: Iterator[VideoFrame], times: list[float]) -> Iterator[VideoFrame]:
    for frame in keyframes:
        times.append(frame.time_s)
        yield frame


def _long_gops(keyframe_times: list[float], end_s: float) -> list[tuple[float, float | None]]:
    """The GOPs started in the chunk that keyframes alone leave unseen too long: ``(start_s, end_s)``
    longer than ``LONG_GOP_S``, and ``(start_s, None)`` for the recording's last (no keyframe after it)."""
    gops: list[tuple[float, float | None]] = [
        (t, after) for t, after in pairwise(keyframe_times) if t < end_s and after - t > LONG_GOP_S
    ]
    if keyframe_times and keyframe_times[-1] < end_s:  # no look-ahead: the recording ends in this GOP
        gops.append((keyframe_times[-1], None))
    return gops


def _coarse_to_fine(
    keyframes: Iterator[VideoFrame], scorer: _BatchScorer, settings: ScanSettings, end_s: float
) -> list[ScoredFrame]:
    """Score every ``keyframe_stride``-th keyframe (an anchor), the chunk's last one and the look-ahead;
    the keyframes between two anchors are scored only when the anchors disagree about attire. Those
    in between are held in memory meanwhile (``keyframe_stride - 1`` frames at most). Anchors are
    counted from the chunk's start, so the frames scored depend on ``chunk_s`` (part of a scan's
    settings) but not on how or when the chunks run."""
    scored: list[ScoredFrame] = []
    between: list[VideoFrame] = []
    last_above: bool | None = None

    def anchor(frame: VideoFrame) -> None:
        nonlocal last_above
        found = scorer.score(iter([frame]), may_skip=lambda f: f.time_s < end_s)
        if found:  # else a near-duplicate of the last scored frame: nothing changed
            above = scorer.is_attire(found[0], settings.dense_score)
            if last_above is not None and above != last_above:
                scored.extend(scorer.score(iter(between), may_skip=lambda _f: False))
            scored.extend(found)
            last_above = above
        between.clear()

    for n, frame in enumerate(keyframes):
        if n % settings.keyframe_stride == 0 or frame.time_s >= end_s:
            anchor(frame)
        else:
            between.append(frame)
    if between:
        anchor(between.pop())
    return scored


def _keyframes_with_next(path: str | Path, settings: ScanSettings, chunk: Chunk) -> Iterator[VideoFrame]:
    """The keyframes presented in the chunk, then the first one after it (the next chunk's first)."""
    policy = SamplingPolicy(SamplingMode.KEYFRAMES, max_side=settings.max_side)
    with closing(iter_frames(path, policy, start_s=chunk.start_s)) as frames:
        for frame in frames:
            yield frame
            if chunk.end_s is not None and frame.time_s >= chunk.end_s:
                return


class _BatchScorer:
    """Scores frames in batches of ``settings.batch``, skipping near-duplicates of the last scored one."""

    def __init__(self, detector: Detector, settings: ScanSettings) -> None:
        self.detector, self.settings = detector, settings
        self.done: list[ScoredFrame] = []
        self.skipped = 0
        self._last_thumb: np.ndarray | None = None
        self._last_kept_s = -math.inf  # time of the frame _last_thumb is of
        self._last_skipped: VideoFrame | None = None

    def score(
        self,
        frames: Iterator[VideoFrame],
        may_skip: Callable[[VideoFrame], bool] = lambda _f: True,
        among_themselves: bool = False,
    ) -> list[ScoredFrame]:
        """Score ``frames`` (in time order), leaving out near-duplicates among those ``may_skip`` allows;
        returns the frames scored by this call (also kept in ``done``). ``among_themselves``: the frame
        scored last lies elsewhere in the recording, so the first of ``frames`` is compared to nothing."""
        first, pending = len(self.done), []
        if among_themselves:
            self._last_thumb = None
        for frame in frames:
            if may_skip(frame) and self._is_still(frame):
                self.skipped += 1
                if self._last_skipped is None or frame.time_s > self._last_skipped.time_s:
                    self._last_skipped = frame
                continue
            pending.append(frame)
            if len(pending) == self.settings.batch:
                self._flush(pending)
        self._flush(pending)
        return self.done[first:]

    def ending_with_last_sampled(self, scored: list[ScoredFrame]) -> list[ScoredFrame]:
        """A chunk's ``scored`` frames (in time order) with its last sampled frame scored too if it was
        left out as still: a held score stands only between two scored frames, so a still stretch
        that ran to the chunk's end would otherwise stop counting at the frame that began it."""
        last = self._last_skipped
        if last is None or (scored and scored[-1].time_s > last.time_s):
            return scored
        self.skipped -= 1
        return scored + self.score(iter([last]), may_skip=lambda _f: False)

    def is_attire(self, frame: ScoredFrame, score: float) -> bool:
        return frame.detections.best_score(self.detector.taxonomy.official_names) >= score

    def _is_still(self, frame: VideoFrame) -> bool:
        thumb = cv2.resize(
            cv2.cvtColor(frame.image, cv2.COLOR_BGR2GRAY), _THUMB, interpolation=cv2.INTER_AREA
        )
        last = self._last_thumb
        still = (
            last is not None
            and frame.time_s - self._last_kept_s < self.settings.still_hold_s
            and float(cv2.absdiff(thumb, last).mean()) < self.settings.still_diff
        )
        if not still:
            self._last_thumb, self._last_kept_s = thumb, frame.time_s
        return still

    def _flush(self, pending: list[VideoFrame]) -> None:
        detections = self.detector.detect_batch([f.image for f in pending])
        self.done.extend(ScoredFrame(f.time_s, d) for f, d in zip(pending, detections, strict=True))
        pending.clear()
