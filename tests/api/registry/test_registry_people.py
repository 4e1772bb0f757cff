"""People: NIP checked and unique, scoped listing, and what deleting a person takes with it."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.db import Agency, Assignment, PastPosting, Person
from api.registry import (
    DuplicateEntryError,
    InUseError,
    InvalidEntryError,
    InvalidNipError,
    NotFoundError,
    agency_on,
    agency_subtree_ids,
    create_account,
    create_assignment,
    create_person,
    delete_account,
    delete_agency,
    delete_person,
    get_person_by_nip,
    list_people,
    update_person,
)

BUDI_NIP = "198507142010011002"  # the budi fixture's NIP


def test_person_is_found_by_nip_in_printed_form(db_session: Session, budi: Person) -> None:
    assert get_person_by_nip(db_session, "19850714 201001 1 002") is budi
    assert budi.agency.code == "PKM-01"


@pytest.mark.parametrize("nip", [BUDI_NIP, "19850714 201001 1 002"])
def test_duplicate_nip_names_the_field(db_session: Session, budi: Person, nip: str) -> None:
    with pytest.raises(DuplicateEntryError, match=f"person with nip '{BUDI_NIP}' already exists"):
        create_person(db_session, nip=nip, name="Someone Else", agency_id=budi.agency_id)


def test_invalid_nip_is_refused_before_anything_is_written(
    db_session: Session, agencies: dict[str, Agency]
) -> None:
    with pytest.raises(InvalidNipError, match="18 digits"):
        create_person(db_session, nip="12345", name="Ani", agency_id=agencies["PKM-01"].id)
    assert db_session.scalars(select(Person)).all() == []


def test_unknown_agency_is_not_found(db_session: Session) -> None:
    with pytest.raises(NotFoundError, match="no agency with id 77"):
        create_person(db_session, nip=BUDI_NIP, name="Budi", agency_id=77)


def test_list_people_of_a_subtree(db_session: Session, agencies: dict[str, Agency], budi: Person) -> None:
    ani = create_person(db_session, nip="199001012015032001", name="Ani", agency_id=agencies["PUSTU-02A"].id)
    create_person(db_session, nip="199203042016041003", name="Cahyo", agency_id=agencies["BKPSDM"].id)
    assert list_people(db_session, agency_ids=agency_subtree_ids(db_session, agencies["DINKES"].id)) == [
        ani,
        budi,
    ]
    assert len(list_people(db_session)) == 3


def test_update_moves_a_person_and_keeps_nip_unique(
    db_session: Session, agencies: dict[str, Agency], budi: Person
) -> None:
    create_person(db_session, nip="199001012015032001", name="Ani", agency_id=agencies["PKM-01"].id)
    update_person(db_session, budi.id, agency_id=agencies["BKPSDM"].id, nip="19850714 201001 1 002")
    assert (budi.agency.code, budi.nip) == ("BKPSDM", BUDI_NIP)
    with pytest.raises(DuplicateEntryError, match="nip"):
        update_person(db_session, budi.id, nip="199001012015032001")


def test_delete_refuses_while_accounts_remain_then_takes_assignments(
    db_session: Session, budi: Person
) -> None:
    account = create_account(db_session, platform="tiktok", handle="budi", person_id=budi.id)
    start = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    create_assignment(
        db_session, person_id=budi.id, kind="leave", starts_at=start, ends_at=start.replace(hour=9)
    )
    with pytest.raises(InUseError, match="owns 1 accounts"):
        delete_person(db_session, budi.id)
    delete_account(db_session, account.id)
    delete_person(db_session, budi.id)
    db_session.commit()
    assert db_session.scalars(select(Assignment)).all() == []


def test_a_move_keeps_the_agency_served_in_before_it(
    db_session: Session, agencies: dict[str, Agency], budi: Person
) -> None:
    update_person(db_session, budi.id, agency_id=agencies["DINKES"].id, moved_on=date(2026, 4, 20))
    update_person(db_session, budi.id, agency_id=agencies["BKPSDM"].id, moved_on=date(2026, 7, 1))
    db_session.commit()
    assert [(p.agency.code, p.until.isoformat()) for p in budi.past_postings] == [
        ("PKM-01", "2026-04-20"),
        ("DINKES", "2026-07-01"),
    ]
    on = {
        day: agency_on(budi, date.fromisoformat(day)).code
        for day in ("2026-04-19", "2026-04-20", "2026-06-30", "2026-07-01")
    }
    assert on == {
        "2026-04-19": "PKM-01",
        "2026-04-20": "DINKES",
        "2026-06-30": "DINKES",
        "2026-07-01": "BKPSDM",
    }


def test_an_agency_corrected_without_a_move_day_leaves_no_past(
    db_session: Session, agencies: dict[str, Agency], budi: Person
) -> None:
    update_person(db_session, budi.id, agency_id=agencies["PKM-02"].id)
    assert (budi.past_postings, agency_on(budi, date(2020, 1, 1)).code) == ([], "PKM-02")


@pytest.mark.parametrize(
    ("agency", "moved_on", "says"),
    [
        (None, date(2026, 8, 1), "a move needs the agency moved to"),
        ("DINKES", date(2026, 8, 1), "a move needs the agency moved to"),  # where he serves already
        ("BKPSDM", date(2026, 4, 20), "is not after the last one recorded (2026-04-20)"),
        ("BKPSDM", date(1999, 12, 31), "outside the years"),
    ],
)
def test_a_bad_move_is_refused_and_changes_nothing(
    db_session: Session,
    agencies: dict[str, Agency],
    budi: Person,
    agency: str | None,
    moved_on: date,
    says: str,
) -> None:
    update_person(db_session, budi.id, agency_id=agencies["DINKES"].id, moved_on=date(2026, 4, 20))
    fields = {"agency_id": agencies[agency].id} if agency else {}
    with pytest.raises(InvalidEntryError, match=re.escape(says)):
        update_person(db_session, budi.id, moved_on=moved_on, **fields)
    assert (budi.agency.code, len(budi.past_postings)) == ("DINKES", 1)


def test_an_agency_someone_moved_away_from_is_kept_while_their_past_names_it(
    db_session: Session, agencies: dict[str, Agency], budi: Person
) -> None:
    update_person(db_session, budi.id, agency_id=agencies["BKPSDM"].id, moved_on=date(2026, 4, 20))
    with pytest.raises(InUseError, match="1 past postings of people who moved away"):
        delete_agency(db_session, agencies["PKM-01"].id)
    delete_person(db_session, budi.id)
    delete_agency(db_session, agencies["PKM-01"].id)
    db_session.commit()
    assert db_session.scalars(select(PastPosting)).all() == []
