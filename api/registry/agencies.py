"""Agencies (OPD and their units) and their supervision hierarchy."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.db.models import (
    Agency,
    ApiKey,
    Case,
    PastAccountStatus,
    PastPosting,
    Person,
    Schedule,
    SocialAccount,
    User,
)
from api.registry.errors import DuplicateEntryError, InUseError, InvalidEntryError, NotFoundError
from api.registry.lookup import count_where, get_or_raise
from api.registry.values import UNSET, Unset, agency_code, required_text

# The key of the PostgreSQL advisory lock that lets one agency move at a time (any fixed number will do).
_HIERARCHY_LOCK = 4_207_001


def create_agency(session: Session, *, code: str, name: str, parent_id: int | None = None) -> Agency:
    """Register an agency; ``code`` is stored in upper case and must be unique."""
    agency = Agency(code=_free_code(session, code), name=required_text("name", name, 200))
    if parent_id is not None:
        agency.parent = get_agency(session, parent_id)
    session.add(agency)
    session.flush()
    return agency


def get_agency(session: Session, agency_id: int) -> Agency:
    return get_or_raise(session, Agency, agency_id, "agency")


def get_agency_by_code(session: Session, code: str) -> Agency:
    agency = session.scalar(select(Agency).where(Agency.code == code.strip().upper()))
    if agency is None:
        raise NotFoundError("agency", code, field="code")
    return agency


def list_agencies(session: Session) -> list[Agency]:
    return list(session.scalars(select(Agency).order_by(Agency.code)))


def update_agency(
    session: Session,
    agency_id: int,
    *,
    code: str | Unset = UNSET,
    name: str | Unset = UNSET,
    parent_id: int | Unset | None = UNSET,
) -> Agency:
    """Change the given fields; moving an agency under one of its own descendants is refused.

    Everything is checked before anything changes, so a refused update leaves the agency as it was.
    """
    agency = get_agency(session, agency_id)
    new_code = agency.code if code is UNSET or agency_code(code) == agency.code else _free_code(session, code)
    new_name = agency.name if name is UNSET else required_text("name", name, 200)
    parent = agency.parent if parent_id is UNSET else _acceptable_parent(session, agency, parent_id)
    agency.code, agency.name, agency.parent = new_code, new_name, parent
    session.flush()
    return agency


def delete_agency(session: Session, agency_id: int) -> None:
    """Remove an agency that nothing refers to any more: no sub-agency, person (now or before a move),
    official account (now or before its status changed), schedule, API key, web UI user or case (the
    database would refuse the delete; this says what to move first)."""
    agency = get_agency(session, agency_id)
    dependants = {
        "sub-agencies": count_where(session, Agency, Agency.parent_id == agency_id),
        "people": count_where(session, Person, Person.agency_id == agency_id),
        "past postings of people who moved away": count_where(
            session, PastPosting, PastPosting.agency_id == agency_id
        ),
        "official accounts": count_where(session, SocialAccount, SocialAccount.agency_id == agency_id),
        "past statuses of accounts that once spoke for it": count_where(
            session, PastAccountStatus, PastAccountStatus.agency_id == agency_id
        ),
        "schedules": count_where(session, Schedule, Schedule.agency_id == agency_id),
        "API keys": count_where(session, ApiKey, ApiKey.agency_id == agency_id),
        "web UI users": count_where(session, User, User.agency_id == agency_id),
        "cases": count_where(session, Case, Case.agency_id == agency_id),
    }
    left = ", ".join(f"{n} {what}" for what, n in dependants.items() if n)
    if left:
        # Cases outlive retention (only a deletion request of their upload removes them): say so.
        hint = (
            "; a case keeps its agency until a deletion request removes its upload"
            if dependants["cases"]
            else ""
        )
        raise InUseError(f"agency {agency.code} still has {left}; move or delete them first{hint}")
    session.delete(agency)
    session.flush()


def agency_subtree_ids(session: Session, agency_id: int) -> set[int]:
    """The ids of the agency and all agencies below it (what its supervisors may see)."""
    get_agency(session, agency_id)
    subtree = select(Agency.id).where(Agency.id == agency_id).cte("subtree", recursive=True)
    # UNION, not UNION ALL: should the tree ever hold a cycle, the walk stops at rows it already has
    # instead of running forever (and hanging every request scoped to these agencies).
    subtree = subtree.union(select(Agency.id).where(Agency.parent_id == subtree.c.id))
    return set(session.scalars(select(subtree.c.id)))


def _free_code(session: Session, code: str) -> str:
    clean = agency_code(code)
    if session.scalar(select(Agency.id).where(Agency.code == clean)) is not None:
        raise DuplicateEntryError("agency", "code", clean)
    return clean


def _acceptable_parent(session: Session, agency: Agency, parent_id: int | None) -> Agency | None:
    if parent_id is None:
        return None
    _lock_hierarchy(session)
    if parent_id in agency_subtree_ids(session, agency.id):
        raise InvalidEntryError(
            "parent_id", f"agency {parent_id} is {agency.code} itself or below it; that would make a cycle"
        )
    return get_agency(session, parent_id)


def _lock_hierarchy(session: Session) -> None:
    """Make concurrent moves take turns until the end of the transaction, so that each one's cycle check
    sees the moves made before it.

    Under PostgreSQL's READ COMMITTED two moves (DINKES under SETDA, SETDA under DINKES) would each check
    a tree without the other's uncommitted move and together commit a cycle; locking only the two rows
    involved is not enough (the cycle may run through others). SQLite needs nothing: BEGIN IMMEDIATE
    already serialises writers."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(_HIERARCHY_LOCK)))
