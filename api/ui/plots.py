"""The case timeline as SVG geometry (computed here, drawn by ``_timeline.svg.html``): calendar segments
shaded, the detection score as a line (broken where the recording has a hole), attire episodes and the
flagged span marked, WIB time ticks.

A long stream has more scored frames than the plot has pixel columns: the score line then keeps, per
column, only the frames that give its shape, and the dots only each column's highest, so the page stays
small however long the stream (a one-frame peak still shows and can be hovered)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from itertools import groupby

from api.timeline import Span, Timeline
from api.ui.web import wib

WIDTH, HEIGHT = 960, 190
LEFT, RIGHT = 44, 34  # room for the last time label
COLUMNS = WIDTH - LEFT - RIGHT  # pixel columns of the time axis
BAND_TOP, BAND_HEIGHT = 10, 110  # segments and the score plot share this band
EPISODE_TOP = BAND_TOP + BAND_HEIGHT + 8
AXIS_Y = EPISODE_TOP + 26
TICKS = 6

Score = tuple[float, float]  # seconds from the stream start, score


@dataclass(frozen=True)
class Box:
    x: float
    width: float
    kind: str
    label: str


@dataclass(frozen=True)
class Tick:
    x: float
    label: str


@dataclass(frozen=True)
class TimelinePlot:
    width: int
    height: int
    segments: list[Box]
    episodes: list[Box]
    flagged: Box
    score_lines: list[str]  # SVG polylines "x,y x,y ...", one for each stretch between holes
    holes: list[Box]
    score_dots: list[tuple[float, float, float]]  # x, y, score
    threshold_y: float | None
    ticks: list[Tick]
    band_top: int = BAND_TOP
    band_height: int = BAND_HEIGHT
    episode_top: int = EPISODE_TOP
    axis_y: int = AXIS_Y
    left: int = LEFT
    right: int = WIDTH - RIGHT


def timeline_plot(timeline: Timeline, threshold: float | None) -> TimelinePlot:
    """Pixel geometry of ``timeline``; ``threshold``: the score an episode must reach (a dashed line)."""
    scale = COLUMNS / timeline.duration_s

    def x(seconds: float) -> float:
        return round(LEFT + max(0.0, min(timeline.duration_s, seconds)) * scale, 1)

    def y(score: float) -> float:
        return round(BAND_TOP + BAND_HEIGHT * (1 - max(0.0, min(1.0, score))), 1)

    def box(span: Span) -> Box:
        return Box(x(span.start_s), max(1.5, x(span.end_s) - x(span.start_s)), span.kind, span.label)

    line, peaks = _fit_to_columns(timeline.scores, timeline.duration_s)
    lines = [" ".join(f"{x(t)},{y(s)}" for t, s in stretch) for stretch in _between(line, timeline.holes)]
    dots = [(x(t), y(s), s) for t, s in peaks]
    return TimelinePlot(
        WIDTH,
        HEIGHT,
        [box(s) for s in timeline.segments],
        [box(e) for e in timeline.episodes],
        box(timeline.flagged),
        lines,
        [box(h) for h in timeline.holes],
        dots,
        y(threshold) if threshold is not None else None,
        [_tick(timeline, i, x) for i in range(TICKS + 1)],
    )


def _between(scores: list[Score], holes: list[Span]) -> list[list[Score]]:
    """``scores`` cut at the ``holes`` (in time order; each ends at a scored frame, which a column fit
    may have left out, so several holes may lie between two of ``scores``)."""
    stretches: list[list[Score]] = [[]]
    ends = iter(h.end_s for h in holes)
    cut_at = next(ends, None)
    for score in scores:
        if cut_at is not None and score[0] >= cut_at:
            stretches.append([])
            while cut_at is not None and score[0] >= cut_at:
                cut_at = next(ends, None)
        stretches[-1].append(score)
    return [s for s in stretches if s]


def _fit_to_columns(scores: list[Score], duration_s: float) -> tuple[list[Score], list[Score]]:
    """The scores to draw as the line and as dots (``scores`` in time order). No more frames than pixel
    columns: every frame. More: per column its first, lowest, highest and last frame (in time order) for
    the line, and its highest for a dot."""
    if len(scores) <= COLUMNS:
        return scores, scores

    def column(score: Score) -> int:
        return min(COLUMNS - 1, int(score[0] / duration_s * COLUMNS))

    line: list[Score] = []
    peaks: list[Score] = []
    for _, group in groupby(scores, key=column):
        frames = list(group)
        lowest = min(range(len(frames)), key=lambda i: frames[i][1])
        highest = max(range(len(frames)), key=lambda i: frames[i][1])
        kept = sorted({0, lowest, highest, len(frames) - 1})
        line.extend(frames[i] for i in kept)
        peaks.append(frames[highest])
    return line, peaks


def _tick(timeline: Timeline, i: int, x: Callable[[float], float]) -> Tick:
    seconds = timeline.duration_s * i / TICKS
    at = timeline.start + timedelta(seconds=seconds)
    label = wib(at, with_seconds=timeline.duration_s < 600).split(" ")[1]
    return Tick(x(seconds), label)
