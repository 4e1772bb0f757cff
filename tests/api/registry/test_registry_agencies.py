"""Agencies: unique codes, the hierarchy and what a supervisor's subtree holds."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session, sessionmaker

from api.auth import create_api_key
from api.db import Agency, Case, CaseRule, Person, session_factory
from api.registry import (
    DuplicateEntryError,
    InUseError,
    InvalidEntryError,
    NotFoundError,
    agency_subtree_ids,
    create_agency,
    delete_agency,
    get_agency,
    get_agency_by_code,
    list_agencies,
    update_agency,
)
from api.users import create_user


def test_create_and_read_back(db_session: Session) -> None:
    agency = create_agency(db_session, code=" dinkes ", name=" Dinas Kesehatan ")
    db_session.commit()
    assert (agency.code, agency.name, agency.parent_id) == ("DINKES", "Dinas Kesehatan", None)
    assert get_agency_by_code(db_session, "Dinkes") is get_agency(db_session, agency.id)


@pytest.mark.parametrize("code", ["DINKES", "dinkes", " Dinkes "])
def test_duplicate_code_names_the_field(db_session: Session, agencies: dict[str, Agency], code: str) -> None:
    with pytest.raises(DuplicateEntryError, match="agency with code 'DINKES' already exists") as caught:
        create_agency(db_session, code=code, name="Again")
    assert caught.value.field == "code"


@pytest.mark.parametrize(
    ("code", "name", "field"),
    [
        ("", "Dinas", "code"),
        ("DIN KES", "Dinas", "code"),
        ("X" * 33, "Dinas", "code"),
        ("DINSOS", "  ", "name"),
    ],
)
def test_invalid_values_name_the_field(db_session: Session, code: str, name: str, field: str) -> None:
    with pytest.raises(InvalidEntryError) as caught:
        create_agency(db_session, code=code, name=name)
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("root", "subtree"),
    [
        ("SETDA", {"SETDA", "DINKES", "PKM-01", "PKM-02", "PUSTU-02A"}),
        ("DINKES", {"DINKES", "PKM-01", "PKM-02", "PUSTU-02A"}),
        ("PKM-02", {"PKM-02", "PUSTU-02A"}),
        ("PKM-01", {"PKM-01"}),
        ("BKPSDM", {"BKPSDM"}),
    ],
)
def test_subtree_holds_the_agency_and_all_below(
    db_session: Session, agencies: dict[str, Agency], root: str, subtree: set[str]
) -> None:
    assert agency_subtree_ids(db_session, agencies[root].id) == {agencies[code].id for code in subtree}


def test_subtree_of_unknown_agency_is_not_found(db_session: Session) -> None:
    with pytest.raises(NotFoundError, match="no agency with id 404"):
        agency_subtree_ids(db_session, 404)


def test_moving_a_unit_changes_both_subtrees(db_session: Session, agencies: dict[str, Agency]) -> None:
    update_agency(db_session, agencies["PKM-02"].id, parent_id=agencies["BKPSDM"].id)
    assert agencies["PUSTU-02A"].id in agency_subtree_ids(db_session, agencies["BKPSDM"].id)
    assert agencies["PUSTU-02A"].id not in agency_subtree_ids(db_session, agencies["DINKES"].id)


@pytest.mark.parametrize("new_parent", ["DINKES", "PKM-02", "PUSTU-02A"])
def test_moving_an_agency_below_itself_is_refused(
    db_session: Session, agencies: dict[str, Agency], new_parent: str
) -> None:
    with pytest.raises(InvalidEntryError, match="cycle"):
        update_agency(db_session, agencies["DINKES"].id, parent_id=agencies[new_parent].id)


def _move(sessions: sessionmaker[Session], agency_id: int, parent_id: int) -> None:
    with sessions() as session:
        update_agency(session, agency_id, parent_id=parent_id)
        session.commit()


def test_two_moves_at_once_cannot_make_a_cycle(engine: Engine) -> None:
    sessions = session_factory(engine)
    with sessions() as session:
        setda, dinkes = [create_agency(session, code=code, name=code).id for code in ("SETDA", "DINKES")]
        session.commit()
    pool = ThreadPoolExecutor(1)
    with sessions() as first:
        update_agency(first, dinkes, parent_id=setda)  # flushed, not yet committed
        second = pool.submit(_move, sessions, setda, dinkes)
        wait([second], timeout=1)  # time to reach the lock (at once if it does not wait for one)
        first.commit()
    pool.shutdown(wait=False)
    with pytest.raises(InvalidEntryError, match="cycle"):
        second.result(timeout=10)


def test_subtree_of_a_cycle_ends(db_session: Session, agencies: dict[str, Agency]) -> None:
    setda, dinkes = agencies["SETDA"].id, agencies["DINKES"].id
    db_session.execute(update(Agency).where(Agency.id == setda).values(parent_id=dinkes))
    below_setda = {"SETDA", "DINKES", "PKM-01", "PKM-02", "PUSTU-02A"}
    assert agency_subtree_ids(db_session, setda) == {agencies[code].id for code in below_setda}


def test_update_changes_only_given_fields(db_session: Session, agencies: dict[str, Agency]) -> None:
    pkm = update_agency(db_session, agencies["PKM-01"].id, name="Puskesmas Sukodono")
    assert (pkm.code, pkm.name, pkm.parent_id) == ("PKM-01", "Puskesmas Sukodono", agencies["DINKES"].id)
    assert update_agency(db_session, pkm.id, parent_id=None).parent_id is None
    with pytest.raises(DuplicateEntryError):
        update_agency(db_session, pkm.id, code="pkm-02")


def test_delete_refuses_while_anything_depends_on_the_agency(
    db_session: Session, agencies: dict[str, Agency], budi: Person
) -> None:
    with pytest.raises(InUseError, match="DINKES still has 2 sub-agencies"):
        delete_agency(db_session, agencies["DINKES"].id)
    with pytest.raises(InUseError, match="1 people"):
        delete_agency(db_session, agencies["PKM-01"].id)
    delete_agency(db_session, agencies["PUSTU-02A"].id)
    db_session.commit()
    assert "PUSTU-02A" not in [a.code for a in list_agencies(db_session)]


def _api_key(session: Session, agency_id: int) -> None:
    create_api_key(session, name="desk", role="reviewer", agency_id=agency_id)


def _web_user(session: Session, agency_id: int) -> None:
    create_user(session, username="rina", password="x" * 12, role="reviewer", agency_id=agency_id)


def _case(session: Session, agency_id: int) -> None:
    at = datetime(2026, 4, 14, 3, tzinfo=UTC)
    session.add(Case(rule=CaseRule.R1, agency_id=agency_id, start_at=at, end_at=at, policy_version="test"))
    session.flush()


@pytest.mark.parametrize(
    ("refer", "says"),
    [
        (_api_key, "1 API keys"),
        (_web_user, "1 web UI users"),
        (_case, "1 cases; move or delete them first; a case"),
    ],
)
def test_delete_refuses_while_a_key_user_or_case_names_the_agency(
    db_session: Session, agencies: dict[str, Agency], refer: Callable[[Session, int], None], says: str
) -> None:
    agency = agencies["BKPSDM"]
    refer(db_session, agency.id)
    with pytest.raises(InUseError, match=f"BKPSDM still has {says}"):
        delete_agency(db_session, agency.id)
    assert get_agency(db_session, agency.id) is agency
