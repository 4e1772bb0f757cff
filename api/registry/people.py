"""People: civil servants (ASN) identified by NIP, each in one agency now, and in the agencies they served
in before a move (mutasi) up to the day they moved."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.db.models import Agency, Case, PastOwnership, PastPosting, Person, SocialAccount
from api.registry.agencies import get_agency
from api.registry.errors import DuplicateEntryError, InUseError, NotFoundError
from api.registry.lookup import count_where, get_or_raise
from api.registry.values import UNSET, Unset, check_change, required_text, validate_nip


def create_person(session: Session, *, nip: str, name: str, agency_id: int) -> Person:
    """Register a person; the NIP is validated (see :func:`validate_nip`) and must be unique."""
    person = Person(
        nip=_free_nip(session, nip),
        name=required_text("name", name, 200),
        agency=get_agency(session, agency_id),
    )
    session.add(person)
    session.flush()
    return person


def get_person(session: Session, person_id: int) -> Person:
    return get_or_raise(session, Person, person_id, "person")


def get_person_by_nip(session: Session, nip: str) -> Person:
    person = session.scalar(select(Person).where(Person.nip == validate_nip(nip)))
    if person is None:
        raise NotFoundError("person", nip, field="nip")
    return person


def list_people(session: Session, *, agency_ids: Collection[int] | None = None) -> list[Person]:
    """Everyone, or only the people of ``agency_ids`` (e.g. a reviewer's :func:`agency_subtree_ids`)."""
    query = select(Person).order_by(Person.name, Person.nip)
    if agency_ids is not None:
        query = query.where(Person.agency_id.in_(agency_ids))
    return list(session.scalars(query))


def update_person(
    session: Session,
    person_id: int,
    *,
    nip: str | Unset = UNSET,
    name: str | Unset = UNSET,
    agency_id: int | Unset = UNSET,
    moved_on: date | Unset = UNSET,
) -> Person:
    """Change the given fields; a refused update changes nothing.

    ``agency_id`` with ``moved_on`` records a move (mutasi): the person served in their agency until that
    WIB day and in the new one from it, so streams before it are still judged by the old agency's hours
    and their cases go to its reviewers. ``agency_id`` alone corrects a wrong entry: every stream, past
    ones too, is then judged by the new agency.
    """
    person = get_person(session, person_id)
    new_nip = person.nip if nip is UNSET or validate_nip(nip) == person.nip else _free_nip(session, nip)
    new_name = person.name if name is UNSET else required_text("name", name, 200)
    agency = person.agency if agency_id is UNSET else get_agency(session, agency_id)
    if moved_on is not UNSET:
        needs = f"a move needs the agency moved to: give agency_id, another than {person.agency.code}"
        check_change("moved_on", moved_on, person.past_postings, changes=agency != person.agency, needs=needs)
        person.past_postings.append(PastPosting(agency=person.agency, until=moved_on))
    person.nip, person.name, person.agency = new_nip, new_name, agency
    session.flush()
    return person


def agency_on(person: Person, day: date) -> Agency:
    """The agency ``person`` served in on the WIB ``day``: the first past posting that lasted beyond it,
    else their agency now."""
    return next((p.agency for p in person.past_postings if day < p.until), person.agency)


def delete_person(session: Session, person_id: int) -> None:
    """Remove a person with their assignments and past agencies; refused while accounts (now or before a
    handover) or cases still name them."""
    person = get_person(session, person_id)
    accounts = count_where(session, SocialAccount, SocialAccount.person_id == person_id)
    owned_before = count_where(session, PastOwnership, PastOwnership.person_id == person_id)
    cases = count_where(session, Case, Case.person_id == person_id)
    if accounts or owned_before or cases:
        raise InUseError(
            f"person {person.nip} still owns {accounts} accounts, owned {owned_before} accounts before "
            f"their handover and is named in {cases} cases; delete or reassign the accounts and purge the "
            "cases first"
        )
    session.delete(person)
    session.flush()


def _free_nip(session: Session, nip: str) -> str:
    clean = validate_nip(nip)
    if session.scalar(select(Person.id).where(Person.nip == clean)) is not None:
        raise DuplicateEntryError("person", "nip", clean)
    return clean
