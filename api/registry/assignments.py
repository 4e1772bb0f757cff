"""Per-person time spans that override the agency schedule: duty assignments (surat tugas), leave, shifts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.db.models import Assignment, AssignmentKind, Person
from api.registry.errors import DuplicateEntryError, InvalidEntryError
from api.registry.lookup import get_or_raise
from api.registry.people import get_person
from api.registry.values import UNSET, Unset, parse_choice, required_text, utc_timestamp

# An assignment always has an end (the column is required); a sentinel end like 9999-12-31 is refused.
_REAL_END = (
    "an assignment cannot be open-ended: give the day the roster, leave or surat tugas really ends "
    "(for a standing roster, the end of the period it is issued for) and add a new one when it is extended"
)


def create_assignment(
    session: Session,
    *,
    person_id: int,
    kind: str,
    starts_at: datetime,
    ends_at: datetime,
    reference: str | None = None,
) -> Assignment:
    """Record a span for a person; times must be timezone-aware, within the years the service judges, and
    are stored in UTC."""
    start, end = utc_timestamp("starts_at", starts_at), utc_timestamp("ends_at", ends_at, _REAL_END)
    _check_span(start, end)
    person, new_kind = get_person(session, person_id), parse_choice("kind", kind, AssignmentKind)
    _check_new(session, person, new_kind, start, end)
    assignment = Assignment(
        person=person,
        kind=new_kind,
        starts_at=start,
        ends_at=end,
        reference=_reference(reference),
    )
    session.add(assignment)
    session.flush()
    return assignment


def get_assignment(session: Session, assignment_id: int) -> Assignment:
    return get_or_raise(session, Assignment, assignment_id, "assignment")


def list_assignments(
    session: Session, *, person_id: int | None = None, overlapping: tuple[datetime, datetime] | None = None
) -> list[Assignment]:
    """Assignments, optionally of one person and/or overlapping the half-open span ``[start, end)``."""
    query = select(Assignment).order_by(Assignment.starts_at, Assignment.id)
    if person_id is not None:
        query = query.where(Assignment.person_id == person_id)
    if overlapping is not None:
        start, end = utc_timestamp("start", overlapping[0]), utc_timestamp("end", overlapping[1])
        query = query.where(Assignment.starts_at < end, Assignment.ends_at > start)
    return list(session.scalars(query))


def update_assignment(
    session: Session,
    assignment_id: int,
    *,
    kind: str | Unset = UNSET,
    starts_at: datetime | Unset = UNSET,
    ends_at: datetime | Unset = UNSET,
    reference: str | Unset | None = UNSET,
) -> Assignment:
    """Change the given fields; a refused update changes nothing."""
    assignment = get_assignment(session, assignment_id)
    new_kind = assignment.kind if kind is UNSET else parse_choice("kind", kind, AssignmentKind)
    start = assignment.starts_at if starts_at is UNSET else utc_timestamp("starts_at", starts_at)
    end = assignment.ends_at if ends_at is UNSET else utc_timestamp("ends_at", ends_at, _REAL_END)
    new_reference = assignment.reference if reference is UNSET else _reference(reference)
    _check_span(start, end)
    _check_new(session, assignment.person, new_kind, start, end, assignment.id)
    assignment.kind, assignment.starts_at, assignment.ends_at = new_kind, start, end
    assignment.reference = new_reference
    session.flush()
    return assignment


def delete_assignment(session: Session, assignment_id: int) -> None:
    session.delete(get_assignment(session, assignment_id))
    session.flush()


def _reference(reference: str | None) -> str | None:
    text = (reference or "").strip()
    return required_text("reference", text, 200) if text else None


def _check_span(starts_at: datetime, ends_at: datetime) -> None:
    if ends_at <= starts_at:
        raise InvalidEntryError(
            "ends_at", f"{ends_at.isoformat()} is not after starts_at {starts_at.isoformat()}"
        )


def _check_new(
    session: Session, person: Person, kind: AssignmentKind, start: datetime, end: datetime, own_id: int = 0
) -> None:
    """Refuse a second entry of the same person, kind and times (a roster or leave file imported twice)."""
    same = select(Assignment.id).where(
        Assignment.person_id == person.id,
        Assignment.kind == kind,
        Assignment.starts_at == start,
        Assignment.ends_at == end,
        Assignment.id != own_id,
    )
    if session.scalar(same) is not None:
        raise DuplicateEntryError(
            "span", "person, kind and times", f"{person.nip} {kind} {start.isoformat()}/{end.isoformat()}"
        )
