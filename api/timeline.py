"""A case's stream on one time axis: working and off-duty segments of its owner's calendar, the
detection score of every scored frame (from the stored ``FrameScore`` rows, no re-decoding), the holes of
its recording, the attire episodes of its clip job and the flagged span. Times are seconds from the
stream start."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.db.models import Case, FrameScore, Job, SocialAccount
from api.policy import SegmentKind
from api.scoring import Scoring, stream_subject

MIN_SPAN_S = 1.0  # a single frame still gets an axis


@dataclass(frozen=True)
class Span:
    """``[start_s, end_s)`` from the stream start, with what it is (a segment kind, or ``episode``)."""

    start_s: float
    end_s: float
    kind: str
    label: str


@dataclass(frozen=True)
class Timeline:
    """Everything the case page plots; ``scores``: (seconds, best official-attire score) per frame;
    ``holes``: where the recording has no frame (no score is held over them, nor a line drawn)."""

    start: datetime
    duration_s: float
    segments: list[Span]
    scores: list[tuple[float, float]]
    episodes: list[Span]
    flagged: Span
    holes: list[Span]


def case_timeline(session: Session, scoring: Scoring, case: Case) -> Timeline:
    """The timeline of ``case`` (the caller has checked that it may see the case)."""
    start = case.stream_started_at or case.start_at
    scores = _frame_scores(session, case)
    job = session.get(Job, case.job_id) if case.job_id else None
    duration_s = max(
        MIN_SPAN_S,
        (case.end_at - start).total_seconds(),
        scores[-1][0] if scores else 0.0,
        float(job.params.get("duration_s", 0.0)) if job else 0.0,
    )
    flagged = Span(_offset(case.start_at, start), _offset(case.end_at, start), "flagged", case.rule.value)
    return Timeline(
        start,
        duration_s,
        _segments(session, scoring, case, start, duration_s),
        scores,
        _episodes(job),
        flagged,
        _holes(job),
    )


def _offset(at: datetime, start: datetime) -> float:
    return (at - start).total_seconds()


def _frame_scores(session: Session, case: Case) -> list[tuple[float, float]]:
    if case.upload_sha256 is None:
        return []
    query = select(FrameScore.time_s, FrameScore.attire_score).where(
        FrameScore.upload_sha256 == case.upload_sha256, FrameScore.model_version == case.model_version
    )
    return list(session.execute(query.order_by(FrameScore.time_s)).tuples())


def _segments(
    session: Session, scoring: Scoring, case: Case, start: datetime, duration_s: float
) -> list[Span]:
    """The owner's calendar as it is now (a registry change since the case shows here, not in the case)."""
    account = session.get(SocialAccount, case.account_id) if case.account_id else None
    if account is None:
        return []
    subject = stream_subject(session, account.platform, account.handle, start, duration_s)
    if subject.stream.owner is None:
        return []
    end = start + timedelta(seconds=duration_s)
    return [
        Span(_offset(s.start, start), _offset(s.end, start), s.kind.value, s.reason)
        for s in scoring.calendar.intervals(subject.stream.owner, start, end)
    ]


def _holes(job: Job | None) -> list[Span]:
    return [Span(before, after, "hole", "") for before, after in _job_result(job, "holes")]


def _episodes(job: Job | None) -> list[Span]:
    return [
        Span(e["start_s"], e["end_s"], "episode", ", ".join(e.get("classes", [])))
        for e in _job_result(job, "episodes")
    ]


def _job_result(job: Job | None, key: str) -> list:
    """A list of a finished clip job's result ([] without a job, before it finished, or from before
    the result had ``key``)."""
    return (job.result or {}).get(key, []) if job else []


WORKING_KINDS = frozenset({SegmentKind.WORKING.value, SegmentKind.ASSIGNMENT.value})
