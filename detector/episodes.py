"""Attire episodes: turn per-frame official-attire scores into spans of sustained evidence.

One frame is weak evidence (a khaki shirt in bad light, a badge-shaped sticker). An episode needs the
evidence to persist: scores below ``min_score`` count as 0, the last ``window`` scores are kept, and
their median (padded with zeros to at least ``min_window`` values) is the computed score. An episode
opens when the computed score reaches ``confirm_score`` and closes when it falls below it.

k-of-n persistence falls out of the median: with an odd ``window`` n the computed score reaches
``confirm_score`` exactly when at least (n + 1) / 2 of the last n frames score that high; with an even
one (the default 10) the two middle scores are averaged, so 5 high frames and a sixth near the
threshold can do. The zero padding makes a lone frame never enough: a clip's first frames need 2 of 3.
``window`` counts frames, so its length in seconds is ``window`` times the sampling interval.

The median lags: it stays confirmed for about ``window`` / 2 frames after the evidence stops, and frames
seen before the evidence began still vote in it. So the median decides whether there is an episode, but
not alone which frames are its evidence: ``gap_frames`` frames without attire in a row end a *run*, and
a run counts only once it confirms on its own (the frames before it in the window counted as 0). An
episode opens on such a run, starting at its first frame; a later run, after a gap the median bridged,
joins the episode only once it too confirms on its own. Frames with attire across a gap from an episode,
too few to confirm on their own, are thus never its evidence: they would stretch it, say, past the start
of working hours on the strength of one frame.
"""

from __future__ import annotations

import statistics
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from detector.settings import number_setting, refuse_unknown


class OutOfOrderFrameError(ValueError):
    """A frame fed to an ``EpisodeTracker`` is earlier than the one before it."""


@dataclass(frozen=True)
class EpisodeConfig:
    """Thresholds of the episode tracker (versioned with the policy that uses them).

    ``min_score``: frame scores below it count as 0. ``window``: how many recent frames the median
    looks at. ``min_window``: the median is padded with zeros to at least this many values, so a
    clip's first frame alone never confirms. ``confirm_score``: computed score that opens an episode
    and below which it closes. ``end_after_s``: how long the computed score may stay below
    ``confirm_score`` before the episode closes (0: at once), to bridge short occlusions. ``gap_frames``:
    this many frames without attire in a row end a run of evidence (shorter gaps are missed detections
    within it); the next run must confirm on its own to open or extend an episode.
    """

    min_score: float = 0.5
    window: int = 10
    min_window: int = 3
    confirm_score: float = 0.7
    end_after_s: float = 0.0
    gap_frames: int = 3

    def __post_init__(self) -> None:
        problems = [
            f"{name}={value!r} must be {rule}"
            for name, value, ok, rule in [
                ("min_score", self.min_score, 0 <= self.min_score <= 1, "in [0, 1]"),
                ("window", self.window, self.window >= 1, "at least 1"),
                (
                    "min_window",
                    self.min_window,
                    1 <= self.min_window <= self.window,
                    f"from 1 to window ({self.window})",
                ),
                ("confirm_score", self.confirm_score, 0 < self.confirm_score <= 1, "in (0, 1]"),
                ("end_after_s", self.end_after_s, self.end_after_s >= 0, "0 or more"),
                ("gap_frames", self.gap_frames, self.gap_frames >= 1, "at least 1"),
            ]
            if not ok
        ]
        if problems:
            raise ValueError("invalid episode configuration: " + "; ".join(problems))

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> EpisodeConfig:
        """Build from configuration (e.g. parsed YAML); missing keys take their defaults."""
        known = {f.name: type(f.default) for f in fields(cls)}
        refuse_unknown(raw, known, "episode")
        return cls(**{name: number_setting(name, value, known[name]) for name, value in raw.items()})


@dataclass(frozen=True)
class AttireEpisode:
    """A span of sustained official-attire evidence. ``classes``: sorted names seen in its evidence
    frames; ``score``: median of those frames' scores; ``frame_count``: how many evidence frames (score
    at least ``min_score``) it has; ``peak_time_s``: time of its highest-scoring frame."""

    start_s: float
    end_s: float
    classes: tuple[str, ...]
    score: float
    frame_count: int
    peak_time_s: float


@dataclass(frozen=True)
class _Scored:
    time_s: float
    score: float
    classes: frozenset[str]


@dataclass
class _OpenEpisode:
    evidence: list[_Scored]
    run: int  # the run whose frames are its evidence as they come
    below_since_s: float | None = None
    classes: set[str] = field(default_factory=set)

    def add(self, frames: Iterable[_Scored]) -> None:
        for frame in frames:
            if frame.score > 0:
                self.evidence.append(frame)
                self.classes |= frame.classes

    def close(self) -> AttireEpisode:
        peak = max(self.evidence, key=lambda f: f.score)
        return AttireEpisode(
            start_s=self.evidence[0].time_s,
            end_s=self.evidence[-1].time_s,
            classes=tuple(sorted(self.classes)),
            score=statistics.median(f.score for f in self.evidence),
            frame_count=len(self.evidence),
            peak_time_s=peak.time_s,
        )


class EpisodeTracker:
    """Feed it every scored frame in time order with ``update``; ``finish`` returns all episodes."""

    def __init__(self, config: EpisodeConfig | None = None) -> None:
        self.config = config or EpisodeConfig()
        self._window: deque[_Scored] = deque(maxlen=self.config.window)
        self._open: _OpenEpisode | None = None
        self._closed: list[AttireEpisode] = []
        self._last_time_s: float | None = None
        self._run = 0  # runs started so far: the current one's number
        self._run_frames = 0  # frames since the current run's first, with or without attire; 0: no run
        self._gap = 0  # frames without attire in a row, up to the last one

    @property
    def computed_score(self) -> float:
        """Median of the recent frame scores, padded with zeros to ``min_window`` values."""
        return self._median([f.score for f in self._window])

    def _median(self, scores: list[float]) -> float:
        return statistics.median(scores + [0.0] * (self.config.min_window - len(scores)))

    def update(self, time_s: float, score: float, classes: Iterable[str] = ()) -> AttireEpisode | None:
        """Take one frame: ``score`` is its best official-attire score (0 when nothing), ``classes`` the
        attire classes detected in it. Returns the episode this frame closed, if any."""
        if self._last_time_s is not None and time_s < self._last_time_s:
            raise OutOfOrderFrameError(
                f"frame at {time_s} s comes after one at {self._last_time_s} s: feed frames in time order"
            )
        self._last_time_s = time_s
        counts = score >= self.config.min_score
        frame = _Scored(time_s, score if counts else 0.0, frozenset(classes) if counts else frozenset())
        self._window.append(frame)
        self._follow_run(frame)
        if self._open is None:
            if self._run_confirmed() and (evidence := self._run_evidence()):
                self._open = _OpenEpisode(evidence=[], run=self._run)
                self._open.add(evidence)
            return None
        return self._continue(self._open, frame, self.computed_score >= self.config.confirm_score)

    def finish(self) -> list[AttireEpisode]:
        """Close the episode still open, if any, and return all episodes in time order."""
        if self._open is not None:
            self._closed.append(self._open.close())
            self._open = None
        return list(self._closed)

    def _follow_run(self, frame: _Scored) -> None:
        if frame.score > 0:
            if not self._run_frames:
                self._run += 1
            self._run_frames += 1
            self._gap = 0
            return
        self._gap += 1
        if self._run_frames:
            self._run_frames = 0 if self._gap >= self.config.gap_frames else self._run_frames + 1

    def _run_in_window(self) -> list[_Scored]:
        return list(self._window)[len(self._window) - min(self._run_frames, len(self._window)) :]

    def _run_confirmed(self) -> bool:
        """Whether the current run confirms on its own, the frames before it in the window counted as 0."""
        run = self._run_in_window()
        scores = [0.0] * (len(self._window) - len(run)) + [f.score for f in run]
        return bool(run) and self._median(scores) >= self.config.confirm_score

    def _run_evidence(self) -> list[_Scored]:
        # The window may still hold evidence of the episode that just closed: never start inside it
        # (then nothing may be left to open with, when frames share the closing frame's time).
        after_s = self._closed[-1].end_s if self._closed else float("-inf")
        return [f for f in self._run_in_window() if f.score > 0 and f.time_s > after_s]

    def _continue(self, episode: _OpenEpisode, frame: _Scored, confirmed: bool) -> AttireEpisode | None:
        if confirmed:
            episode.below_since_s = None
        elif episode.below_since_s is None:
            episode.below_since_s = frame.time_s
        if episode.below_since_s is None or frame.time_s - episode.below_since_s < self.config.end_after_s:
            if episode.run == self._run:
                episode.add([frame])
            elif self._run_confirmed():  # a run after a gap: it joins with all its frames at once
                episode.run = self._run
                episode.add(self._run_evidence())
            return None
        closed = episode.close()
        self._closed.append(closed)
        self._open = None
        return closed


def aggregate_episodes(
    samples: Iterable[tuple[float, float, Iterable[str]]], config: EpisodeConfig | None = None
) -> list[AttireEpisode]:
    """Episodes of a whole clip from its ``(time_s, score, classes)`` frames in time order."""
    tracker = EpisodeTracker(config)
    for time_s, score, classes in samples:
        tracker.update(time_s, score, classes)
    return tracker.finish()
