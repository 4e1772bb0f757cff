"""Rules R1 ``live_during_working_hours`` and R2 ``attire_off_duty`` (DOMAIN.md section 1).

``judge_stream`` splits a stream by its owner's working calendar and judges each part by the rule of its
side: R1 flags live time inside working hours on a personal account, R2 flags official attire seen outside
working hours. Findings are flags for a reviewer, never verdicts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime, timedelta
from enum import StrEnum
from importlib.resources import files
from pathlib import Path
from typing import Any

from api.policy.calendar import (
    PersonContext,
    SegmentKind,
    TimeSegment,
    WorkingCalendar,
    format_wib,
    load_settings_file,
    require_aware,
)
from detector.detections import Detections
from detector.episodes import AttireEpisode, EpisodeConfig
from detector.settings import number_setting, switch_setting
from detector.taxonomy import load_taxonomy

DEFAULT_POLICY = files("api.policy") / "default_policy.yaml"
UNREGISTERED_NOTE = "account not in registry: no owner to check against, so no rule was applied"
OFFICIAL_NOTE = "official agency account: R1 does not apply"
SINGLE_FRAME_NOTE = "one frame: the stream was live at that instant, so R1 applies without its minimum length"
# A frame is an instant; the calendar splits spans, so the instant is judged as this short span.
_INSTANT = timedelta(microseconds=1)


class Rule(StrEnum):
    LIVE_DURING_WORKING_HOURS = "live_during_working_hours"  # R1
    ATTIRE_OFF_DUTY = "attire_off_duty"  # R2


@dataclass(frozen=True)
class PolicyConfig:
    """Versioned thresholds of the rules; every ``Judgement`` records them. ``PolicyConfig.load()`` gives
    the defaults (``default_policy.yaml``). Bump ``version`` whenever a value changes.

    ``min_r1_segment_s``: shorter R1 spans are not flagged (a stream ending just after 07:30).
    ``min_r2_overlap_s``: shorter R2 spans are not flagged. ``attire_rule_applies_in_breaks``: whether
    R2 flags attire during breaks (uniform is normally still worn then). ``episodes``: the episode
    tracker's thresholds the attire evidence was aggregated with.
    """

    version: str
    min_r1_segment_s: float
    min_r2_overlap_s: float
    attire_rule_applies_in_breaks: bool
    episodes: EpisodeConfig

    def __post_init__(self) -> None:
        if self.min_r1_segment_s < 0 or self.min_r2_overlap_s < 0:
            raise ValueError("min_r1_segment_s and min_r2_overlap_s must be 0 or more")

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> PolicyConfig:
        known = {f.name for f in fields(cls)}
        if set(raw) != known:
            raise ValueError(
                f"policy settings must be exactly {sorted(known)}: "
                f"missing {sorted(known - set(raw))}, unknown {sorted(set(raw) - known)}"
            )
        return cls(
            version=str(raw["version"]),
            min_r1_segment_s=number_setting("min_r1_segment_s", raw["min_r1_segment_s"]),
            min_r2_overlap_s=number_setting("min_r2_overlap_s", raw["min_r2_overlap_s"]),
            attire_rule_applies_in_breaks=switch_setting(
                "attire_rule_applies_in_breaks", raw["attire_rule_applies_in_breaks"]
            ),
            episodes=EpisodeConfig.from_dict(raw["episodes"]),
        )

    @classmethod
    def load(cls, path: str | Path | None = None) -> PolicyConfig:
        """From a YAML file; without one, the shipped defaults."""
        return load_settings_file(path, DEFAULT_POLICY, cls.from_dict)

    def thresholds(self) -> dict[str, Any]:
        """Every setting but the version, as plain values."""
        return {k: v for k, v in asdict(self).items() if k != "version"}


@dataclass(frozen=True)
class StreamContext:
    """A livestream to judge: the account it ran on (``owner`` None: not in the registry), its start
    (stored in UTC) and length."""

    platform: str
    handle: str
    is_official: bool
    owner: PersonContext | None
    start: datetime
    duration_s: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", require_aware(self.start, "stream start"))
        if self.duration_s < 0:
            raise ValueError(f"stream duration {self.duration_s} s must be 0 or more")

    @property
    def end(self) -> datetime:
        return self.start + timedelta(seconds=self.duration_s)


@dataclass(frozen=True)
class Finding:
    """One flag for review: ``rule`` matched over ``[start, end)`` (UTC). ``segment_reason``: why the
    calendar put that time on the rule's side; ``episode``: the attire evidence (R2 only)."""

    rule: Rule
    start: datetime
    end: datetime
    segment_reason: str
    reasons: tuple[str, ...]
    episode: AttireEpisode | None = None

    def span_wib(self) -> str:
        """E.g. ``2026-04-14 15:50:00 to 2026-04-14 16:00:00 WIB``."""
        return _span_wib(self.start, self.end)


@dataclass(frozen=True)
class Judgement:
    """The outcome for one stream, with the policy version and thresholds that produced it."""

    stream: StreamContext
    policy_version: str
    thresholds: Mapping[str, Any]
    segments: tuple[TimeSegment, ...]
    findings: tuple[Finding, ...]
    notes: tuple[str, ...] = ()

    @property
    def flagged(self) -> bool:
        return bool(self.findings)


def judge_stream(
    calendar: WorkingCalendar,
    policy: PolicyConfig,
    stream: StreamContext,
    episodes: Iterable[AttireEpisode],
) -> Judgement:
    """Judge ``stream`` and its attire ``episodes`` (seconds from stream start) against its owner's
    calendar."""
    recorded = {"stream": stream, "policy_version": policy.version, "thresholds": policy.thresholds()}
    if stream.owner is None:
        return Judgement(**recorded, segments=(), findings=(), notes=(UNREGISTERED_NOTE,))
    episodes = list(episodes)
    segments = calendar.intervals(stream.owner, stream.start, stream.end)
    findings = _live_findings(policy, stream, segments) + _attire_findings(policy, stream, segments, episodes)
    notes = [OFFICIAL_NOTE] if stream.is_official else []
    notes += [
        f"attire episode {e.start_s:g}-{e.end_s:g} s reaches outside the stream (0-{stream.duration_s:g} s): "
        "only the part inside was judged; check the clip's times"
        for e in episodes
        if e.start_s < 0 or e.end_s > stream.duration_s
    ]
    return Judgement(
        **recorded,
        segments=tuple(segments),
        findings=tuple(sorted(findings, key=lambda f: (f.start, f.rule))),
        notes=tuple(notes),
    )


def judge_frame(
    calendar: WorkingCalendar, policy: PolicyConfig, stream: StreamContext, detections: Detections
) -> Judgement:
    """Judge one frame captured at ``stream.start`` (its ``duration_s`` is ignored: a frame is an instant).

    The frame proves the stream was live then, so R1 applies without ``min_r1_segment_s``; R2 applies when
    the detections (already above their class thresholds) include official attire, without
    ``min_r2_overlap_s``. The thresholds recorded say so: both 0 and ``single_frame`` true. Findings start
    and end at the capture time.
    """
    official = load_taxonomy().official_names
    classes = tuple(sorted({label for label in detections.labels if label in official}))
    episodes = [AttireEpisode(0.0, 0.0, classes, detections.best_score(official), 1, 0.0)] if classes else []
    instant = replace(policy, min_r1_segment_s=0.0, min_r2_overlap_s=0.0)
    span = replace(stream, duration_s=_INSTANT.total_seconds())
    judged = judge_stream(calendar, instant, span, episodes)
    return replace(
        judged,
        stream=replace(stream, duration_s=0.0),
        thresholds={**instant.thresholds(), "single_frame": True},
        findings=tuple(replace(f, end=f.start) for f in judged.findings),
        notes=(*judged.notes, SINGLE_FRAME_NOTE) if stream.owner else judged.notes,
    )


def _live_findings(policy: PolicyConfig, stream: StreamContext, segments: list[TimeSegment]) -> list[Finding]:
    if stream.is_official:
        return []
    person = stream.owner.person_id if stream.owner else ""
    return [
        Finding(
            Rule.LIVE_DURING_WORKING_HOURS,
            start,
            end,
            reason,
            reasons=(
                f"Live on {stream.platform} account @{stream.handle}, a personal account of {person}, "
                f"from {_span_wib(start, end)}.",
                f"For {person} that time is working time: {reason}.",
                "No surat tugas covers it, and only an agency's official account is exempt.",
            ),
        )
        for start, end, reason in _continuous(s for s in segments if s.kind == SegmentKind.WORKING)
        if (end - start).total_seconds() >= policy.min_r1_segment_s
    ]


def _attire_findings(
    policy: PolicyConfig, stream: StreamContext, segments: list[TimeSegment], episodes: list[AttireEpisode]
) -> list[Finding]:
    kinds = {SegmentKind.OFF_DUTY, SegmentKind.LEAVE}
    if policy.attire_rule_applies_in_breaks:
        kinds.add(SegmentKind.BREAK)
    person = stream.owner.person_id if stream.owner else ""
    findings = []
    for episode in episodes:
        seen_from = stream.start + timedelta(seconds=episode.start_s)
        seen_to = stream.start + timedelta(seconds=episode.end_s)
        parts = [
            TimeSegment(max(s.start, seen_from), min(s.end, seen_to), s.kind, s.reason)
            for s in segments
            if s.kind in kinds and _overlaps(s, seen_from, seen_to)
        ]
        evidence = (
            f"{', '.join(episode.classes)}; score {episode.score:.2f} over {episode.frame_count} frames"
        )
        findings += [
            Finding(
                Rule.ATTIRE_OFF_DUTY,
                start,
                end,
                reason,
                # The score and frames are the whole episode's, which may begin in working hours: the
                # sentences say which span they describe and which part of it is flagged.
                reasons=(
                    f"Official attire ({evidence}) seen on {stream.platform} account @{stream.handle} "
                    f"from {_span_wib(seen_from, seen_to)}.",
                    f"For {person} {_span_wib(start, end)} is not working time: {reason}.",
                    "No surat tugas covers it.",
                ),
                episode=episode,
            )
            for start, end, reason in _continuous(parts)
            if (end - start).total_seconds() >= policy.min_r2_overlap_s
        ]
    return findings


def _overlaps(segment: TimeSegment, start: datetime, end: datetime) -> bool:
    if start == end:  # an episode of one instant (a one-frame window) is judged where it falls
        return segment.start <= start < segment.end
    return segment.start < end and start < segment.end


def _continuous(segments: Iterable[TimeSegment]) -> list[tuple[datetime, datetime, str]]:
    """Touching segments joined into one span (one case per continuous span), their reasons listed."""
    spans: list[tuple[datetime, datetime, str]] = []
    for s in segments:
        if spans and spans[-1][1] == s.start:
            start, _, reason = spans[-1]
            spans[-1] = (start, s.end, reason if s.reason in reason.split("; ") else f"{reason}; {s.reason}")
        else:
            spans.append((s.start, s.end, s.reason))
    return spans


def _span_wib(start: datetime, end: datetime) -> str:
    return f"{format_wib(start).removesuffix(' WIB')} to {format_wib(end)}"
