"""Cases for review: list, show with evidence, the evidence images (each look is audited), and the
decision history (append-only: a revision is a new decision)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from api.cases import CaseFilter, evidence_image, list_cases, overlapping_cases, view_case, visible_case
from api.db.models import CaseRule, CaseState
from api.deps import Reviewer, ScoringDep, SessionDep, StoreDep
from api.policy import require_aware
from api.registry import get_agency_by_code
from api.review import add_feedback, decide, decisions_of, feedback_of
from api.schemas import CaseDetail, CaseSummary, DecisionIn, DecisionOut, FeedbackIn, FeedbackOut

router = APIRouter(prefix="/v1", tags=["cases"])


@router.get("/cases", response_model=list[CaseSummary])
def get_cases(
    session: SessionDep,
    caller: Reviewer,
    rule: CaseRule | None = None,
    state: CaseState | None = None,
    agency: Annotated[str | None, Query(description="agency code; includes the agencies below it")] = None,
    start_from: Annotated[datetime | None, Query(alias="from", description="ISO 8601 with offset")] = None,
    start_to: Annotated[datetime | None, Query(alias="to", description="ISO 8601 with offset")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[CaseSummary]:
    """Cases of your agencies whose flagged span starts in ``[from, to)``, newest first."""
    filters = CaseFilter(
        rule=rule,
        states=(state,) if state else (),
        agency_id=get_agency_by_code(session, agency).id if agency else None,
        start_from=require_aware(start_from, "from") if start_from else None,
        start_to=require_aware(start_to, "to") if start_to else None,
        limit=limit,
        offset=offset,
    )
    return [CaseSummary.of(c) for c in list_cases(session, caller, filters)]


@router.get("/cases/{case_id}", response_model=CaseDetail)
def get_case(case_id: int, session: SessionDep, caller: Reviewer) -> CaseDetail:
    """A case with its evidence (times in UTC and WIB), provenance, thresholds and reasons."""
    case = view_case(session, caller, case_id)
    session.commit()
    return CaseDetail.of(case, overlapping_cases(session, caller, case))


@router.get("/cases/{case_id}/evidence/{n}.jpg", response_class=Response)
def get_evidence(
    case_id: int, n: int, session: SessionDep, store: StoreDep, caller: Reviewer, original: bool = False
) -> Response:
    """Evidence frame ``n`` with the detections drawn on it; ``?original=1`` for the frame as scored."""
    data = evidence_image(session, store, caller, case_id, n, original=original)
    session.commit()
    # Faces, unblurred: no shared cache or browser history may keep a copy (as the web UI's evidence).
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "private, no-store"})


@router.get("/cases/{case_id}/decisions", response_model=list[DecisionOut])
def get_decisions(case_id: int, session: SessionDep, caller: Reviewer) -> list[DecisionOut]:
    """The case's decisions and comments, oldest first."""
    visible_case(session, caller, case_id)
    return [DecisionOut.of(d) for d in decisions_of(session, case_id)]


@router.post("/cases/{case_id}/decisions", status_code=201, response_model=DecisionOut)
def post_decision(case_id: int, body: DecisionIn, session: SessionDep, caller: Reviewer) -> DecisionOut:
    """Confirm, dismiss (with a reason), escalate to BKPSDM, or comment; the case moves to the state of
    its latest decision. Audited."""
    decision = decide(session, caller, case_id, body.kind, reason=body.reason, note=body.note)
    session.commit()
    return DecisionOut.of(decision)


@router.get("/cases/{case_id}/feedback", response_model=list[FeedbackOut])
def get_feedback(case_id: int, session: SessionDep, caller: Reviewer) -> list[FeedbackOut]:
    """Reviewers' corrections of the case's detections, oldest first."""
    visible_case(session, caller, case_id)
    return [FeedbackOut.of(f) for f in feedback_of(session, case_id)]


@router.post("/cases/{case_id}/feedback", status_code=201, response_model=FeedbackOut)
def post_feedback(
    case_id: int,
    body: FeedbackIn,
    session: SessionDep,
    store: StoreDep,
    scoring: ScoringDep,
    caller: Reviewer,
) -> FeedbackOut:
    """Mark a detection on an evidence frame wrong (false positive, wrong class) or add a missed item
    (false negative, with its box): training data for ``seragam data export-feedback``. Audited."""
    feedback = add_feedback(
        session,
        store,
        caller,
        case_id,
        body.evidence_n,
        body.kind,
        detection_index=body.detection_index,
        class_name=body.class_name,
        box=body.box,
        class_names=scoring.detector.taxonomy.names,
    )
    session.commit()
    return FeedbackOut.of(feedback)
