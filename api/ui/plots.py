"""The case timeline as SVG geometry (computed here, drawn by ``_timeline.svg.html``): calendar segments
shaded, the detection score as a line, attire episodes and the flagged span marked, WIB time ticks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from api.timeline import Span, Timeline
from api.ui.web import wib

WIDTH, HEIGHT = 960, 190
LEFT, RIGHT = 44, 34  # room for the last time label
BAND_TOP, BAND_HEIGHT = 10, 110  # segments and the score plot share this band
EPISODE_TOP = BAND_TOP + BAND_HEIGHT + 8
AXIS_Y = EPISODE_TOP + 26
TICKS = 6


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
    score_points: str  # SVG polyline "x,y x,y ..."
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
    scale = (WIDTH - LEFT - RIGHT) / timeline.duration_s

    def x(seconds: float) -> float:
        return round(LEFT + max(0.0, min(timeline.duration_s, seconds)) * scale, 1)

    def y(score: float) -> float:
        return round(BAND_TOP + BAND_HEIGHT * (1 - max(0.0, min(1.0, score))), 1)

    def box(span: Span) -> Box:
        return Box(x(span.start_s), max(1.5, x(span.end_s) - x(span.start_s)), span.kind, span.label)

    dots = [(x(t), y(s), s) for t, s in timeline.scores]
    return TimelinePlot(
        WIDTH,
        HEIGHT,
        [box(s) for s in timeline.segments],
        [box(e) for e in timeline.episodes],
        box(timeline.flagged),
        " ".join(f"{px},{py}" for px, py, _ in dots),
        dots,
        y(threshold) if threshold is not None else None,
        [_tick(timeline, i, x) for i in range(TICKS + 1)],
    )


def _tick(timeline: Timeline, i: int, x: Callable[[float], float]) -> Tick:
    seconds = timeline.duration_s * i / TICKS
    at = timeline.start + timedelta(seconds=seconds)
    label = wib(at, with_seconds=timeline.duration_s < 600).split(" ")[1]
    return Tick(x(seconds), label)
