"""Review pages: the case queue (filters, sort, next case, bulk viewed), the case page (evidence,
timeline, reasons, provenance, history), decisions, detection feedback and a case's audit trail.

Every route goes through ``api.cases`` / ``api.review``, so a case of another agency is a 404 here too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Annotated, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.audit import case_trail
from api.cases import (
    CaseFilter,
    CaseOrder,
    count_cases,
    evidence_image,
    list_cases,
    overlapping_cases,
    view_case,
    visible_case,
)
from api.db.models import (
    Agency,
    Case,
    CaseRule,
    CaseState,
    DecisionKind,
    DismissReason,
    FeedbackKind,
    Person,
    Platform,
    SocialAccount,
)
from api.deps import ScoringDep, SessionDep, StoreDep
from api.policy import WIB, to_wib
from api.registry import InvalidEntryError, get_agency_by_code, list_agencies, official_on
from api.review import add_feedback, decide, decisions_of, feedback_of, mark_viewed, next_case, viewed_by
from api.timeline import case_timeline
from api.ui.faces import blur_faces
from api.ui.plots import timeline_plot
from api.ui.web import CsrfChecked, ReviewingUser, SignedIn, render

router = APIRouter(include_in_schema=False)
QUEUE_PAGE = 100


@dataclass(frozen=True)
class QueueQuery:
    """The queue's filters as the form sends them (empty strings: no filter); dates are WIB days."""

    rule: str = ""
    state: str = ""
    agency: str = ""
    person: str = ""
    platform: str = ""
    date_from: str = ""
    date_to: str = ""
    order: str = CaseOrder.NEWEST.value
    unviewed: str = ""
    page: str = ""

    @property
    def page_number(self) -> int:
        return _number(self.page, "page") or 1

    def case_filter(self, session: Session, user: SignedIn) -> CaseFilter:
        """The service's filter for this page of the queue; ``InvalidEntryError`` for a value that cannot
        be one."""
        return CaseFilter(
            rule=_choice(CaseRule, self.rule, "rule"),
            states=(state,) if (state := _choice(CaseState, self.state, "state")) else (),
            agency_id=get_agency_by_code(session, self.agency).id if self.agency else None,
            person_id=_number(self.person, "person"),
            platform=_choice(Platform, self.platform, "platform"),
            start_from=_day_start(self.date_from, "from"),
            start_to=_day_start(self.date_to, "to", next_day=True),
            order=_choice(CaseOrder, self.order, "order") or CaseOrder.NEWEST,
            unviewed_by=user.user_id if self.unviewed else None,
            limit=QUEUE_PAGE,
            offset=(self.page_number - 1) * QUEUE_PAGE,
        )

    def query_string(self, **changes: str | int) -> str:
        """The query as a URL query string; ``page`` is left out (the first page) unless changed."""
        values = {k: v for k, v in self.__dict__.items() if k != "page"} | changes
        return urlencode({k: v for k, v in values.items() if v})


def _queue_query(
    rule: str = "",
    state: str = "",
    agency: str = "",
    person: str = "",
    platform: str = "",
    date_from: Annotated[str, Query(alias="from")] = "",
    date_to: Annotated[str, Query(alias="to")] = "",
    order: str = CaseOrder.NEWEST.value,
    unviewed: str = "",
    page: str = "",
) -> QueueQuery:
    return QueueQuery(rule, state, agency, person, platform, date_from, date_to, order, unviewed, page)


QueueDep = Annotated[QueueQuery, Depends(_queue_query)]


E = TypeVar("E", CaseRule, CaseState, Platform, CaseOrder)


def _choice(kind: type[E], value: str, field: str) -> E | None:
    if not value:
        return None
    try:
        return kind(value)
    except ValueError:
        raise InvalidEntryError(field, f"choose one of: {', '.join(kind)}") from None


def _number(value: str, field: str) -> int | None:
    if not value:
        return None
    if not (value.isascii() and value.isdigit()):
        raise InvalidEntryError(field, "choose one from the list")
    return int(value)


def _day_start(value: str, field: str, *, next_day: bool = False) -> datetime | None:
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise InvalidEntryError(field, "write the date as YYYY-MM-DD") from None
    return datetime.combine(day + timedelta(days=1 if next_day else 0), time(), tzinfo=WIB)


@dataclass(frozen=True)
class CaseRow:
    """A case with the names a reviewer reads instead of ids."""

    case: Case
    person: Person | None
    account: SocialAccount | None
    agency: Agency | None
    viewed: bool


def case_rows(session: Session, user: SignedIn, cases: list[Case]) -> list[CaseRow]:
    """Cases with their person, account, agency and this user's viewed status, loaded in three queries."""

    def by_id(model: type, ids: set[int | None]) -> dict:
        wanted = {i for i in ids if i is not None}
        return (
            {row.id: row for row in session.scalars(select(model).where(model.id.in_(wanted)))}
            if wanted
            else {}
        )

    people = by_id(Person, {c.person_id for c in cases})
    accounts = by_id(SocialAccount, {c.account_id for c in cases})
    agencies = by_id(Agency, {c.agency_id for c in cases})
    seen = viewed_by(session, user.user_id, [c.id for c in cases])
    return [
        CaseRow(
            c, people.get(c.person_id), accounts.get(c.account_id), agencies.get(c.agency_id), c.id in seen
        )
        for c in cases
    ]


def _visible_agencies(session: Session, user: SignedIn) -> list[Agency]:
    return [a for a in list_agencies(session) if user.caller.sees_agency(a.id)]


def _visible_people(session: Session, user: SignedIn) -> list[Person]:
    query = select(Person).order_by(Person.name)
    if user.caller.agency_ids is not None:
        query = query.where(Person.agency_id.in_(user.caller.agency_ids))
    return list(session.scalars(query))


@router.get("/")
@router.get("/cases")
def queue(request: Request, session: SessionDep, user: ReviewingUser, query: QueueDep) -> Response:
    """The case queue of the user's agencies, a page at a time."""
    filters = query.case_filter(session, user)
    rows = case_rows(session, user, list_cases(session, user.caller, filters))
    total = count_cases(session, user.caller, filters)
    context = {
        "rows": rows,
        "total": total,
        "page": query.page_number,
        "pages": max(1, -(-total // QUEUE_PAGE)),
        "query": query,
        "agencies": _visible_agencies(session, user),
        "people": _visible_people(session, user),
        "rules": list(CaseRule),
        "states": list(CaseState),
        "platforms": list(Platform),
        "orders": list(CaseOrder),
    }
    return render(request, "queue.html", context, user=user)


@router.get("/cases/next")
def go_to_next_case(request: Request, session: SessionDep, user: ReviewingUser, query: QueueDep) -> Response:
    """The next case to review in the current queue, or back to the queue when none waits."""
    case = next_case(session, user.caller, query.case_filter(session, user))
    suffix = f"?{query.query_string()}" if query.query_string() else ""
    if case is None:
        return RedirectResponse(f"/ui/cases{suffix}{'&' if suffix else '?'}done=1", status_code=303)
    return RedirectResponse(f"/ui/cases/{case.id}{suffix}", status_code=303)


@router.post("/cases/viewed", dependencies=[CsrfChecked])
def mark_cases_viewed(
    session: SessionDep,
    user: ReviewingUser,
    case_ids: Annotated[list[int], Form(alias="case_id")] = [],  # noqa: B006 - FastAPI reads the default
    back: Annotated[str, Form()] = "",
) -> Response:
    """Bulk "mark as viewed" from the queue."""
    mark_viewed(session, user.caller, case_ids)
    session.commit()
    return RedirectResponse(f"/ui/cases?{back}" if back else "/ui/cases", status_code=303)


@router.get("/cases/{case_id}")
def case_page(
    request: Request,
    case_id: int,
    session: SessionDep,
    scoring: ScoringDep,
    user: ReviewingUser,
    query: QueueDep,
) -> Response:
    """Everything about one case; opening it marks it viewed and is audited."""
    case = view_case(session, user.caller, case_id)
    mark_viewed(session, user.caller, [case.id])
    session.commit()
    (row,) = case_rows(session, user, [case])
    timeline = case_timeline(session, scoring, case)
    threshold = (case.thresholds.get("episodes") or {}).get("confirm_score")
    stream_day = to_wib(case.stream_started_at or case.start_at).date()
    context = {
        "row": row,
        "official": row.account is not None and official_on(row.account, stream_day),  # the account then
        "case": case,
        "plot": timeline_plot(timeline, threshold),
        "timeline": timeline,
        "decisions": decisions_of(session, case.id),
        "feedback": feedback_of(session, case.id),
        "trail": case_trail(session, case.id),
        "overlapping": overlapping_cases(session, user.caller, case),
        "decision_kinds": list(DecisionKind),
        "dismiss_reasons": list(DismissReason),
        "feedback_kinds": list(FeedbackKind),
        "class_names": scoring.detector.taxonomy.names,
        "query": query,
    }
    return render(request, "case.html", context, user=user)


@router.get("/cases/{case_id}/evidence/{n}.jpg")
def evidence(
    case_id: int,
    n: int,
    session: SessionDep,
    store: StoreDep,
    user: ReviewingUser,
    original: bool = False,
    blur: bool = False,
) -> Response:
    """An evidence frame, annotated (default) or original; ``blur=1`` pixelates faces. Audited."""
    data = evidence_image(
        session, store, user.caller, case_id, n, original=original, blur=blur_faces if blur else None
    )
    session.commit()
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "private, no-store"})


@router.post("/cases/{case_id}/decisions", dependencies=[CsrfChecked])
def post_decision(
    case_id: int,
    session: SessionDep,
    user: ReviewingUser,
    kind: Annotated[str, Form()],
    reason: Annotated[str, Form()] = "",
    note: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """Confirm, dismiss (with a reason), escalate or comment; always a new history entry."""
    decide(session, user.caller, case_id, kind, reason=reason or None, note=note)
    session.commit()
    return RedirectResponse(f"/ui/cases/{case_id}#history", status_code=303)


@router.post("/cases/{case_id}/feedback", dependencies=[CsrfChecked])
def post_feedback(
    case_id: int,
    session: SessionDep,
    store: StoreDep,
    scoring: ScoringDep,
    user: ReviewingUser,
    evidence_n: Annotated[int, Form()],
    kind: Annotated[str, Form()],
    detection_index: Annotated[str, Form()] = "",
    class_name: Annotated[str, Form()] = "",
    box: Annotated[str, Form(description="x0,y0,x1,y1 in pixels of the original frame")] = "",
) -> Response:
    """Mark a detection wrong (false positive, wrong class) or draw a missed item (false negative)."""
    add_feedback(
        session,
        store,
        user.caller,
        case_id,
        evidence_n,
        kind,
        detection_index=_number(detection_index, "detection"),
        class_name=class_name or None,
        box=_parse_box(box),
        class_names=scoring.detector.taxonomy.names,
    )
    session.commit()
    return RedirectResponse(f"/ui/cases/{case_id}#feedback", status_code=303)


def _parse_box(text: str) -> list[float] | None:
    if not text:
        return None
    try:
        return [float(v) for v in text.split(",")]
    except ValueError:
        raise InvalidEntryError("box", "draw the missed item's box on the frame") from None


@router.get("/cases/{case_id}/audit")
def case_audit(request: Request, case_id: int, session: SessionDep, user: ReviewingUser) -> Response:
    """The audit entries about one case, for those who may see the case."""
    case = visible_case(session, user.caller, case_id)
    return render(
        request, "case_audit.html", {"case": case, "entries": case_trail(session, case.id)}, user=user
    )
