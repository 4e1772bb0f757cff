"""Reviewing cases: decisions (append-only history), per-user viewed status, the next case to look at,
and reviewers' corrections of the detections (feedback for training).

Every function checks that the caller may see the case (other agencies' cases are not found), flushes,
audits, and leaves the commit to the caller.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.audit import record
from api.auth import Caller
from api.cases import EVIDENCE_SUFFIX, CaseFilter, list_cases, visible_case
from api.db import insert_if_absent
from api.db.models import (
    Case,
    CaseDecision,
    CaseState,
    CaseView,
    DecisionKind,
    DetectionFeedback,
    DismissReason,
    FeedbackKind,
)
from api.errors import ResourceNotFoundError
from api.registry import InvalidEntryError
from api.registry.values import parse_choice
from api.storage import UploadStore
from detector.images import shown_size

NEW_STATE = {
    DecisionKind.CONFIRM: CaseState.CONFIRMED,
    DecisionKind.DISMISS: CaseState.DISMISSED,
    DecisionKind.ESCALATE: CaseState.ESCALATED,
}
UNDECIDED = (CaseState.OPEN, CaseState.VIEWED)
MAX_NOTE = 4000


def decide(
    session: Session, caller: Caller, case_id: int, kind: str, *, reason: str | None = None, note: str = ""
) -> CaseDecision:
    """Record a decision (confirm, dismiss with a reason, escalate) or a comment on a case; a decision
    moves the case to its state, a later one revises it. ``InvalidEntryError`` says what is missing."""
    case = _locked_case(session, caller, case_id)
    decision_kind = parse_choice("decision", kind, DecisionKind)
    note = note.strip()
    if len(note) > MAX_NOTE:
        raise InvalidEntryError("note", f"write at most {MAX_NOTE} characters (got {len(note)})")
    dismiss_reason = parse_choice("reason", reason, DismissReason) if reason else None
    if decision_kind == DecisionKind.DISMISS and dismiss_reason is None:
        raise InvalidEntryError("reason", "dismissing a case needs a reason")
    if decision_kind != DecisionKind.DISMISS and dismiss_reason is not None:
        raise InvalidEntryError("reason", "only a dismissal takes a reason")
    if decision_kind == DecisionKind.COMMENT and not note:
        raise InvalidEntryError("note", "a comment needs text")
    entry = CaseDecision(
        case_id=case.id,
        kind=decision_kind,
        reason=dismiss_reason,
        note=note or None,
        actor=caller.actor[:100],
    )
    session.add(entry)
    if decision_kind in NEW_STATE:
        case.state = NEW_STATE[decision_kind]
    session.flush()
    detail = {"kind": decision_kind.value, "reason": dismiss_reason and dismiss_reason.value}
    record(session, caller, "decide", f"case:{case.id}/decision/{entry.id}", detail)
    return entry


def decisions_of(session: Session, case_id: int) -> list[CaseDecision]:
    """A case's decision history, oldest first (the caller has checked that it may see the case)."""
    query = select(CaseDecision).where(CaseDecision.case_id == case_id).order_by(CaseDecision.id)
    return list(session.scalars(query))


def mark_viewed(session: Session, caller: Caller, case_ids: Collection[int]) -> int:
    """Mark cases as viewed by this user (an open case becomes ``viewed``); how many were new to them.
    A case the caller may not see is not found, and nothing is marked."""
    if caller.user_id is None:
        raise InvalidEntryError("viewed", "viewed status belongs to users of the web UI")
    cases = [_locked_case(session, caller, case_id) for case_id in sorted(set(case_ids))]
    seen_before = viewed_by(session, caller.user_id, [c.id for c in cases])
    now = datetime.now(UTC)
    for case in cases:
        insert_if_absent(session, CaseView, {"case_id": case.id, "user_id": caller.user_id, "viewed_at": now})
        if case.state == CaseState.OPEN:
            case.state = CaseState.VIEWED
    session.flush()
    return len(cases) - len(seen_before)


def _locked_case(session: Session, caller: Caller, case_id: int) -> Case:
    """The case as ``visible_case`` finds it, read again and locked until the commit (SELECT ... FOR UPDATE;
    SQLite serialises writers anyway). On PostgreSQL (READ COMMITTED) a decision being committed on it is
    waited for and its state seen: otherwise a view would write ``viewed`` over a fresh ``confirmed``, and
    a decision that changes no column (confirming a confirmed case) would take no lock and let an older
    one's state stand."""
    case = visible_case(session, caller, case_id)
    if session.get(Case, case.id, with_for_update=True, populate_existing=True) is None:
        raise ResourceNotFoundError("case", case_id)  # deleted on request while this waited
    return case


def viewed_by(session: Session, user_id: int, case_ids: Sequence[int]) -> set[int]:
    """Which of ``case_ids`` this user has viewed."""
    if not case_ids:
        return set()
    query = select(CaseView.case_id).where(CaseView.user_id == user_id, CaseView.case_id.in_(case_ids))
    return set(session.scalars(query))


def next_case(session: Session, caller: Caller, filters: CaseFilter) -> Case | None:
    """The first undecided case of the queue (``filters``, in its order, from its first page whatever
    page it shows) this user has not viewed yet, else the first undecided one at all; None when nothing
    waits."""
    states = tuple(s for s in UNDECIDED if not filters.states or s in filters.states)
    if not states:
        return None
    first = replace(filters, states=states, limit=1, offset=0)
    if caller.user_id is not None and (
        unseen := list_cases(session, caller, replace(first, unviewed_by=caller.user_id))
    ):
        return unseen[0]
    return next(iter(list_cases(session, caller, first)), None)


def add_feedback(
    session: Session,
    store: UploadStore,
    caller: Caller,
    case_id: int,
    evidence_n: int,
    kind: str,
    *,
    detection_index: int | None = None,
    class_name: str | None = None,
    box: Sequence[float] | None = None,
    class_names: Collection[str],
) -> DetectionFeedback:
    """Record that a detection on evidence frame ``evidence_n`` is wrong (false positive, wrong class,
    naming ``detection_index``) or that an item was missed (false negative, with its ``box`` in pixels
    of the original frame). ``class_names``: the taxonomy's classes."""
    case = visible_case(session, caller, case_id)
    evidence = next((e for e in case.evidence if e.n == evidence_n), None)
    if evidence is None:
        raise ResourceNotFoundError("evidence frame", f"{evidence_n} of case {case_id}")
    feedback_kind = parse_choice("kind", kind, FeedbackKind)
    if feedback_kind != FeedbackKind.FALSE_POSITIVE and class_name not in class_names:
        raise InvalidEntryError("class_name", f"choose one of: {', '.join(class_names)}")
    if feedback_kind == FeedbackKind.FALSE_NEGATIVE:
        clean_box = _box(box, store.path(evidence.original_sha256, EVIDENCE_SUFFIX))
        detection_index = None
    else:
        clean_box = None
        if detection_index is None or not 0 <= detection_index < len(evidence.detections):
            raise InvalidEntryError("detection", "choose one of the frame's detections")
    entry = DetectionFeedback(
        case_id=case.id,
        evidence_n=evidence_n,
        kind=feedback_kind,
        detection_index=detection_index,
        class_name=None if feedback_kind == FeedbackKind.FALSE_POSITIVE else class_name,
        box=clean_box,
        actor=caller.actor[:100],
    )
    session.add(entry)
    session.flush()
    record(
        session, caller, "feedback", f"case:{case.id}/evidence/{evidence_n}", {"kind": feedback_kind.value}
    )
    return entry


def feedback_of(session: Session, case_id: int) -> list[DetectionFeedback]:
    query = select(DetectionFeedback).where(DetectionFeedback.case_id == case_id)
    return list(session.scalars(query.order_by(DetectionFeedback.id)))


def _box(box: Sequence[float] | None, frame: Path) -> list[float]:
    """``box`` checked against the evidence ``frame`` it is drawn on, as shown (size from the header)."""
    if box is None or len(box) != 4 or not all(math.isfinite(v) for v in box):
        raise InvalidEntryError("box", "draw the missed item's box on the frame")
    width, height = shown_size(frame)
    x0, y0, x1, y1 = (round(float(v), 1) for v in box)
    if x1 - x0 < 2 or y1 - y0 < 2 or min(x0, y0) < 0 or x1 > width or y1 > height:
        raise InvalidEntryError(
            "box", f"draw a box at least a few pixels wide and high inside the {width}x{height} frame"
        )
    return [x0, y0, x1, y1]
