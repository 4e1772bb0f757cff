"""Schedules and assignments: the inputs of the working calendar, checked before they are stored."""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

import api
from api.db import Agency, AssignmentKind, Person
from api.registry import (
    DuplicateEntryError,
    InvalidEntryError,
    create_assignment,
    create_schedule,
    list_assignments,
    list_schedules,
    update_assignment,
    update_schedule,
    weekly_schedule,
)
from tests.api.factories import World

WIB = timezone(timedelta(hours=7))
FIVE_DAY = "mon-thu: ['07:30-12:00', '13:00-16:00']\nfri: ['07:30-11:30', '13:00-16:30']\n"


def test_schedule_keeps_its_text(db_session: Session, agencies: dict[str, Agency]) -> None:
    schedule = create_schedule(
        db_session,
        agency_id=agencies["DINKES"].id,
        name="5 hari",
        definition=FIVE_DAY,
        valid_from=date(2026, 1, 1),
    )
    assert (schedule.definition, schedule.valid_to) == (FIVE_DAY, None)
    assert list_schedules(db_session, agency_id=agencies["DINKES"].id) == [schedule]


def test_the_schedule_form_shows_a_definition_the_parser_takes() -> None:
    page = (Path(api.__file__).parent / "templates" / "_registry_fields.html").read_text()
    example = re.search(r'<textarea name="definition"[^>]*placeholder="([^"]*)"', page)
    assert example is not None
    schedule = weekly_schedule(html.unescape(example.group(1)))
    assert [str(w) for w in schedule.days[0].work] == ["08:00-15:00"]


@pytest.mark.parametrize(
    ("definition", "valid_to", "field"),
    [
        ("mon: [07:30", None, "definition"),
        ("- just\n- a list\n", None, "definition"),
        ("someday: ['07:30-12:00']", None, "definition"),  # not a weekday
        ("mon: {work: ['07:30-16:00'], lunch: ['12:00-13:00']}", None, "definition"),  # unknown key
        ("mon: ['7.30 to 16']", None, "definition"),  # not a window
        ("mon: {work: ['07:30-12:00'], breaks: ['13:00-14:00']}", None, "definition"),  # break outside work
        ('{"mon": ["08:00-15:00"]}', date(2025, 12, 31), "valid_to"),
        ('{"mon": ["08:00-15:00"]}', date(9999, 12, 31), "valid_to"),  # no end: leave it empty
    ],
)
def test_bad_schedules_are_refused(
    db_session: Session, agencies: dict[str, Agency], definition: str, valid_to: date | None, field: str
) -> None:
    with pytest.raises(InvalidEntryError) as caught:
        create_schedule(
            db_session,
            agency_id=agencies["DINKES"].id,
            name="Ramadan",
            definition=definition,
            valid_from=date(2026, 1, 1),
            valid_to=valid_to,
        )
    assert caught.value.field == field


def test_schedule_update_keeps_the_range_valid(db_session: Session, agencies: dict[str, Agency]) -> None:
    schedule = create_schedule(
        db_session,
        agency_id=agencies["DINKES"].id,
        name="Ramadan",
        definition=FIVE_DAY,
        valid_from=date(2026, 2, 19),
        valid_to=date(2026, 3, 20),
    )
    with pytest.raises(InvalidEntryError, match="swap them"):
        update_schedule(db_session, schedule.id, valid_from=date(2026, 4, 1))
    assert schedule.valid_from == date(2026, 2, 19)


def test_assignment_times_are_stored_in_utc(db_session: Session, budi: Person) -> None:
    assignment = create_assignment(
        db_session,
        person_id=budi.id,
        kind="Assignment",
        reference=" 800/123/427.72/2026 ",
        starts_at=datetime(2026, 3, 2, 19, 0, tzinfo=WIB),
        ends_at=datetime(2026, 3, 2, 22, 0, tzinfo=WIB),
    )
    db_session.commit()
    db_session.expire_all()
    assert assignment.kind == AssignmentKind.ASSIGNMENT
    assert assignment.starts_at == datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    assert assignment.starts_at.tzinfo == UTC
    assert assignment.reference == "800/123/427.72/2026"


@pytest.mark.parametrize(
    ("kind", "starts_at", "ends_at", "says"),
    [
        (
            "leave",
            datetime(2026, 3, 2, 8, 0),
            datetime(2026, 3, 2, 16, 0, tzinfo=WIB),
            "starts_at: .*no time zone",
        ),
        (
            "leave",
            datetime(2026, 3, 2, 8, 0, tzinfo=WIB),
            datetime(2026, 3, 2, 8, 0, tzinfo=WIB),
            "not after",
        ),
        (
            "holiday",
            datetime(2026, 3, 2, 8, 0, tzinfo=WIB),
            datetime(2026, 3, 2, 9, 0, tzinfo=WIB),
            "assignment, leave",
        ),
        (
            "shift",
            datetime(2026, 4, 14, 8, 0, tzinfo=WIB),
            datetime(9999, 12, 31, 23, 59, 59, tzinfo=WIB),
            "ends_at: 9999-12-31.* outside the years 2000-9998; an assignment cannot be open-ended",
        ),
        (
            "leave",
            datetime(1, 1, 1, 0, 0, tzinfo=WIB),
            datetime(2026, 4, 14, 8, 0, tzinfo=WIB),
            "starts_at: 0001-01-01.* outside the years 2000-9998; check the date",
        ),
    ],
)
def test_bad_assignments_are_refused(
    db_session: Session, budi: Person, kind: str, starts_at: datetime, ends_at: datetime, says: str
) -> None:
    with pytest.raises(InvalidEntryError, match=says):
        create_assignment(db_session, person_id=budi.id, kind=kind, starts_at=starts_at, ends_at=ends_at)


def test_night_shift_crossing_midnight_and_overlap_query(db_session: Session, budi: Person) -> None:
    shift = create_assignment(
        db_session,
        person_id=budi.id,
        kind="shift",
        starts_at=datetime(2026, 3, 2, 22, 0, tzinfo=WIB),
        ends_at=datetime(2026, 3, 3, 6, 0, tzinfo=WIB),
    )
    at = datetime(2026, 3, 3, 1, 0, tzinfo=WIB)
    assert list_assignments(db_session, person_id=budi.id, overlapping=(at, at + timedelta(hours=1))) == [
        shift
    ]
    after = datetime(2026, 3, 3, 6, 0, tzinfo=WIB)
    assert list_assignments(db_session, overlapping=(after, after + timedelta(hours=1))) == []


def test_assignment_update_refuses_naive_times(db_session: Session, budi: Person) -> None:
    start = datetime(2026, 3, 2, 8, 0, tzinfo=WIB)
    leave = create_assignment(
        db_session, person_id=budi.id, kind="leave", starts_at=start, ends_at=start + timedelta(hours=8)
    )
    with pytest.raises(InvalidEntryError, match="no time zone"):
        update_assignment(db_session, leave.id, ends_at=datetime(2026, 3, 2, 20, 0))
    assert leave.ends_at == start + timedelta(hours=8)


def test_a_second_span_of_the_same_person_kind_and_times_is_refused(
    db_session: Session, budi: Person
) -> None:
    start = datetime(2026, 3, 2, 22, 0, tzinfo=WIB)
    span = {"person_id": budi.id, "starts_at": start, "ends_at": start + timedelta(hours=8)}
    shift = create_assignment(db_session, kind="shift", **span)
    with pytest.raises(DuplicateEntryError, match="person, kind and times"):
        create_assignment(db_session, kind="shift", **span)
    leave = create_assignment(db_session, kind="leave", **span)  # another kind over the same time is fine
    with pytest.raises(DuplicateEntryError):
        update_assignment(db_session, leave.id, kind="shift")
    assert update_assignment(db_session, shift.id, reference="jadwal Maret").kind == "shift"  # itself
    assert sorted(a.kind for a in list_assignments(db_session)) == ["leave", "shift"]


def test_assignment_update_refuses_a_far_end(db_session: Session, budi: Person) -> None:
    start = datetime(2026, 3, 2, 8, 0, tzinfo=WIB)
    shift = create_assignment(
        db_session, person_id=budi.id, kind="shift", starts_at=start, ends_at=start + timedelta(hours=8)
    )
    with pytest.raises(InvalidEntryError, match="cannot be open-ended"):
        update_assignment(db_session, shift.id, ends_at=datetime(9999, 12, 31, tzinfo=WIB))
    assert shift.ends_at == start + timedelta(hours=8)


@pytest.mark.parametrize(
    ("starts_at", "ends_at", "says"),
    [
        ("2026-04-14T08:00:00+07:00", "9999-12-31T23:59:59+07:00", "ends_at: 9999-12-31T23:59:59+07:00 lies"),
        (
            "0001-01-01T00:00:00+07:00",
            "2026-04-14T08:00:00+07:00",
            "starts_at: 0001-01-01T00:00:00+07:00 lies",
        ),
    ],
)
def test_the_api_refuses_assignment_times_outside_the_judged_years(
    client: TestClient, world: World, starts_at: str, ends_at: str, says: str
) -> None:
    body = {
        "person_id": 1,
        "kind": "shift",
        "reference": "roster",
        "starts_at": starts_at,
        "ends_at": ends_at,
    }
    response = client.post("/v1/assignments", json=body, headers=world.headers("admin"))
    assert response.status_code == 422, response.text
    assert response.json()["detail"].startswith(says)
    assert "outside the years 2000-9998" in response.json()["detail"]
    assert client.get("/v1/assignments", headers=world.headers("admin")).json() == []
