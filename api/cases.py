"""Cases: opened from a judgement with their evidence, listed and shown within the caller's agencies.

One case per finding (stream, rule, continuous span). An evidence frame is stored once, content-addressed
as JPEG: an uploaded JPEG frame as it came (the very file of the upload), a frame of a clip encoded from
the decoded video. The annotated view (boxes and scores drawn) is rendered from it and the stored
detections when a reviewer looks; every look at a case or its evidence is written to the audit log.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import cv2
import numpy as np
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, selectinload

from api.audit import record
from api.auth import Caller
from api.db.models import (
    ApiKeyRole,
    Case,
    CaseRule,
    CaseState,
    CaseView,
    Evidence,
    Platform,
    SocialAccount,
)
from api.errors import FileGoneError, ResourceNotFoundError
from api.policy import Finding, Judgement, Rule
from api.registry import agency_subtree_ids
from api.scoring import StreamSubject
from api.storage import UploadStore
from detector.annotate import annotate
from detector.detections import Detections
from detector.images import decode_image
from detector.taxonomy import load_taxonomy

CASE_RULES = {Rule.LIVE_DURING_WORKING_HOURS: CaseRule.R1, Rule.ATTIRE_OFF_DUTY: CaseRule.R2}
REVIEWING_ROLES = (ApiKeyRole.REVIEWER, ApiKeyRole.ADMINISTRATOR)
JPEG_QUALITY = 92
EVIDENCE_SUFFIX = ".jpg"


@dataclass(frozen=True)
class EvidenceFrame:
    """A frame that shows a finding: ``time_offset_s`` from the stream start, ``captured_at`` (UTC);
    ``jpeg``: the frame's own JPEG file when it was uploaded as one (kept as is, not re-encoded)."""

    time_offset_s: float
    captured_at: datetime
    image: np.ndarray
    detections: Detections
    jpeg: bytes | None = None


@dataclass(frozen=True)
class Provenance:
    """Where a judgement came from: the uploaded file, the model that scored it, the job (clips only)."""

    upload_sha256: str
    model_version: str
    job_id: int | None = None


def open_cases(
    session: Session,
    store: UploadStore,
    judgement: Judgement,
    subject: StreamSubject,
    provenance: Provenance,
    evidence_for: Callable[[Finding], Sequence[EvidenceFrame]],
) -> list[Case]:
    """One case per finding, with its evidence frames stored; flushed, the caller commits. A finding whose
    case is open already (the same file, stream, rule and span: the same frame or clip sent again) gets
    that case, not a twin that reviewers would decide twice and reports count twice. Another file of the
    same span opens its own case, which stays when the first file is deleted on request; each lists the
    other (``overlapping_cases``)."""
    account, owner, agency = subject.account, subject.owner, subject.agency
    if account is None or owner is None or agency is None:
        return []
    cases: list[Case] = []
    images: dict[str, bytes] = {}
    # Decoded before the first query: a clip's frames take a while, and on SQLite a query begins the
    # transaction that holds the write lock.
    evidence = [evidence_for(finding) for finding in judgement.findings]
    for finding, frames in zip(judgement.findings, evidence, strict=True):
        same = select(Case).where(
            Case.upload_sha256 == provenance.upload_sha256,  # another file of it proves it on its own
            Case.account_id == account.id,
            Case.rule == CASE_RULES[finding.rule],
            Case.stream_started_at == judgement.stream.start,
            Case.start_at == finding.start,
            Case.end_at == finding.end,
        )
        if (opened := session.scalar(same.order_by(Case.id).limit(1))) is not None:
            cases.append(opened)
            continue
        case = Case(
            rule=CASE_RULES[finding.rule],
            account_id=account.id,
            person_id=owner.id,
            agency_id=agency.id,
            upload_sha256=provenance.upload_sha256,
            job_id=provenance.job_id,
            stream_started_at=judgement.stream.start,
            start_at=finding.start,
            end_at=finding.end,
            score=finding.episode.score if finding.episode else None,
            reasons=list(finding.reasons),
            model_version=provenance.model_version,
            policy_version=judgement.policy_version,
            thresholds=dict(judgement.thresholds),
            evidence=[_evidence(images, n, frame) for n, frame in enumerate(frames, 1)],
        )
        session.add(case)
        cases.append(case)
    # The rows first: when their flush fails (the upload was deleted on request meanwhile), no image is
    # left on disk that no row names.
    session.flush()
    for data in images.values():
        store.put(data, EVIDENCE_SUFFIX)
    return cases


def _evidence(images: dict[str, bytes], n: int, frame: EvidenceFrame) -> Evidence:
    """The evidence row of a frame; its JPEG goes into ``images`` by sha256, to be stored."""
    data = frame.jpeg or _jpeg_bytes(frame.image)
    sha256 = hashlib.sha256(data).hexdigest()
    images[sha256] = data
    return Evidence(
        n=n,
        time_offset_s=frame.time_offset_s,
        captured_at=frame.captured_at,
        original_sha256=sha256,
        detections=frame.detections.to_dict()["detections"],
    )


def _jpeg_bytes(image: np.ndarray) -> bytes:
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise ValueError(f"could not encode a {image.shape} frame as JPEG")
    return encoded.tobytes()


class CaseOrder(StrEnum):
    NEWEST = "newest"  # by the start of the flagged span
    OLDEST = "oldest"
    SCORE = "score"  # highest detection score first; R1 cases (no score) last


_ORDER_BY = {
    CaseOrder.NEWEST: (Case.start_at.desc(), Case.id.desc()),
    CaseOrder.OLDEST: (Case.start_at, Case.id),
    CaseOrder.SCORE: (Case.score.desc().nulls_last(), Case.start_at.desc(), Case.id.desc()),
}


@dataclass(frozen=True)
class CaseFilter:
    """Which cases to list; ``start_from``/``start_to`` bound the start of the flagged span (UTC)."""

    rule: CaseRule | None = None
    states: tuple[CaseState, ...] = ()  # any of these (none: every state)
    agency_id: int | None = None
    person_id: int | None = None
    platform: Platform | None = None
    start_from: datetime | None = None
    start_to: datetime | None = None
    order: CaseOrder = CaseOrder.NEWEST
    unviewed_by: int | None = None  # a web user's id: only the cases that user has not viewed yet
    limit: int = 100
    offset: int = 0


def list_cases(session: Session, caller: Caller, filters: CaseFilter) -> list[Case]:
    """The cases ``caller`` may see that match ``filters``, in ``filters.order`` (newest span first)."""
    query = _matching(session, caller, filters).options(selectinload(Case.evidence))
    query = query.order_by(*_ORDER_BY[filters.order]).limit(filters.limit).offset(filters.offset)
    return list(session.scalars(query))


def count_cases(session: Session, caller: Caller, filters: CaseFilter) -> int:
    """How many cases ``list_cases`` would page through (``limit`` and ``offset`` ignored)."""
    matching = _matching(session, caller, filters).with_only_columns(Case.id).subquery()
    return session.scalar(select(func.count()).select_from(matching)) or 0


def _matching(session: Session, caller: Caller, filters: CaseFilter) -> Select[tuple[Case]]:
    caller.require(REVIEWING_ROLES, "listing cases")
    query = select(Case)
    if caller.agency_ids is not None:
        query = query.where(Case.agency_id.in_(caller.agency_ids))
    if filters.agency_id is not None:
        query = query.where(Case.agency_id.in_(agency_subtree_ids(session, filters.agency_id)))
    if filters.rule is not None:
        query = query.where(Case.rule == filters.rule)
    if filters.person_id is not None:
        query = query.where(Case.person_id == filters.person_id)
    if filters.platform is not None:
        query = query.where(
            Case.account_id.in_(select(SocialAccount.id).where(SocialAccount.platform == filters.platform))
        )
    if filters.states:
        query = query.where(Case.state.in_(filters.states))
    if filters.start_from is not None:
        query = query.where(Case.start_at >= filters.start_from)
    if filters.start_to is not None:
        query = query.where(Case.start_at < filters.start_to)
    if filters.unviewed_by is not None:
        viewed = select(CaseView.case_id).where(CaseView.user_id == filters.unviewed_by)
        query = query.where(Case.id.not_in(viewed))
    return query


def view_case(session: Session, caller: Caller, case_id: int) -> Case:
    """A case with its evidence list; other agencies' cases are not found. Audited; the caller commits."""
    case = visible_case(session, caller, case_id)
    record(session, caller, "view_case", f"case:{case.id}")
    return case


def evidence_image(
    session: Session,
    store: UploadStore,
    caller: Caller,
    case_id: int,
    n: int,
    *,
    original: bool,
    blur: Callable[[np.ndarray], np.ndarray] | None = None,
) -> bytes:
    """Evidence frame ``n`` as JPEG: the stored original, or (default) the original with its detections
    drawn, after ``blur`` (faces pixelated) when given. Audited; the caller commits."""
    case = visible_case(session, caller, case_id)
    evidence = next((e for e in case.evidence if e.n == n), None)
    if evidence is None:
        raise ResourceNotFoundError("evidence frame", f"{n} of case {case_id}")
    record(session, caller, "view_evidence", f"case:{case.id}/evidence/{n}", {"original": original})
    try:
        data = store.path(evidence.original_sha256, EVIDENCE_SUFFIX).read_bytes()
    except FileNotFoundError:
        raise FileGoneError(
            f"the image of evidence frame {n} of case {case_id} is gone from the file store (deleted, or "
            "lost from the disk); the case's record and the frame's detections remain"
        ) from None
    if original and blur is None:
        return data
    image = decode_image(data)
    if blur is not None:
        image = blur(image)
    if not original:
        height, width = image.shape[:2]
        drawn = Detections.from_records(evidence.detections, load_taxonomy().names, (width, height))
        image = annotate(image, drawn)
    return _jpeg_bytes(image)


def overlapping_cases(session: Session, caller: Caller, case: Case) -> list[Case]:
    """The other cases of ``case``'s account and rule whose spans overlap its own (a shared end counts),
    that ``caller`` may review, earliest first: the same span shown by another recording of the stream,
    which opens its own case (``open_cases``) and is best decided together with this one."""
    if case.account_id is None:
        return []
    query = select(Case).where(
        Case.id != case.id,
        Case.account_id == case.account_id,
        Case.rule == case.rule,
        Case.start_at <= case.end_at,
        Case.end_at >= case.start_at,
    )
    return [c for c in session.scalars(query.order_by(Case.start_at, Case.id)) if may_review(caller, c)]


def may_review(caller: Caller, case: Case) -> bool:
    """Whether ``caller`` may read ``case``: a reviewing role that sees the case's agency."""
    return caller.role in REVIEWING_ROLES and caller.sees_agency(case.agency_id)


def reviewable_case_ids(session: Session, caller: Caller, case_ids: Sequence[int]) -> list[int]:
    """Which of ``case_ids`` ``caller`` may open (``may_review``); the others it may only quote."""
    if not case_ids:
        return []
    cases = session.scalars(select(Case).where(Case.id.in_(case_ids)))
    return sorted(case.id for case in cases if may_review(caller, case))


def visible_case(session: Session, caller: Caller, case_id: int) -> Case:
    """The case if ``caller`` may review it; ``ResourceNotFoundError`` when it is missing or belongs to
    another agency (never told apart). Not audited."""
    caller.require(REVIEWING_ROLES, "reading cases")
    case = session.get(Case, case_id)
    if case is None or not may_review(caller, case):
        raise ResourceNotFoundError("case", case_id)
    return case
