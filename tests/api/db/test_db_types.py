"""Timestamps are aware UTC in and out; JSON, vocabularies and the append-only audit log behave."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session

from api.db import (
    AuditEntry,
    AuditLogIsAppendOnlyError,
    Job,
    JobKind,
    JobState,
    NaiveDatetimeError,
    ensure_utc,
    session_factory,
)

WIB = timezone(timedelta(hours=7), "WIB")


def _audit(at: datetime, **detail: object) -> AuditEntry:
    return AuditEntry(at=at, actor="admin", action="view", target="case/1", detail=detail)


def test_naive_datetime_is_refused_on_write(db_session: Session) -> None:
    db_session.add(_audit(datetime(2026, 2, 2, 9, 0)))
    with pytest.raises(StatementError) as caught:
        db_session.flush()
    assert isinstance(caught.value.orig, NaiveDatetimeError)
    assert "no time zone" in str(caught.value.orig)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (datetime(2026, 2, 2, 9, 0, tzinfo=WIB), datetime(2026, 2, 2, 2, 0, tzinfo=UTC)),
        (datetime(2026, 2, 2, 9, 0, tzinfo=UTC), datetime(2026, 2, 2, 9, 0, tzinfo=UTC)),
        (
            datetime(2026, 2, 1, 23, 30, tzinfo=timezone(timedelta(hours=-5))),
            datetime(2026, 2, 2, 4, 30, tzinfo=UTC),
        ),
    ],
)
def test_ensure_utc_converts_aware_values(value: datetime, expected: datetime) -> None:
    assert ensure_utc(value) == expected
    assert ensure_utc(value).tzinfo is UTC


def test_ensure_utc_refuses_naive_values() -> None:
    with pytest.raises(NaiveDatetimeError, match=r"2026-02-02T09:00:00\+07:00"):
        ensure_utc(datetime(2026, 2, 2, 9, 0))


@pytest.mark.parametrize("zone", [WIB, UTC, timezone(timedelta(hours=-5, minutes=-30))])
def test_aware_datetime_round_trips_as_the_same_instant_in_utc(engine: Engine, zone: timezone) -> None:
    at = datetime(2026, 3, 17, 7, 30, 15, 123456, tzinfo=zone)
    with session_factory(engine)() as session:
        session.add(_audit(at))
        session.commit()
    with session_factory(engine)() as session:
        stored = session.scalars(select(AuditEntry.at)).one()
    assert stored == at
    assert stored.utcoffset() == timedelta(0)


def test_sqlite_stores_utc_wall_time(engine: Engine, db_session: Session) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite keeps no time zone; PostgreSQL stores timestamptz")
    db_session.add(_audit(datetime(2026, 2, 2, 9, 0, tzinfo=WIB)))
    db_session.flush()
    assert db_session.execute(text("SELECT at FROM audit_entries")).scalar() == "2026-02-02 02:00:00.000000"


def test_filters_compare_instants_across_zones(db_session: Session) -> None:
    db_session.add_all(
        [_audit(datetime(2026, 2, 2, 1, 0, tzinfo=UTC)), _audit(datetime(2026, 2, 2, 3, 0, tzinfo=UTC))]
    )
    db_session.flush()
    nine_wib = datetime(2026, 2, 2, 9, 0, tzinfo=WIB)  # 02:00 UTC
    later = db_session.scalars(select(AuditEntry.at).where(AuditEntry.at > nine_wib)).all()
    assert later == [datetime(2026, 2, 2, 3, 0, tzinfo=UTC)]


def test_json_and_vocabularies_round_trip(engine: Engine) -> None:
    with session_factory(engine)() as session:
        session.add(
            Job(kind=JobKind.CLIP, params={"sample": "keyframes", "interval_s": 1.5, "labels": ["a"]})
        )
        session.commit()
    with session_factory(engine)() as session:
        job = session.scalars(select(Job)).one()
        raw_kind = session.execute(text("SELECT kind FROM jobs")).scalar()
    assert (job.kind, job.state, raw_kind) == (JobKind.CLIP, JobState.QUEUED, "clip")
    assert job.params == {"sample": "keyframes", "interval_s": 1.5, "labels": ["a"]}
    assert job.created_at.tzinfo is not None


@pytest.mark.parametrize("change", ["update", "delete"])
def test_audit_entries_cannot_be_changed_or_deleted(db_session: Session, change: str) -> None:
    entry = _audit(datetime(2026, 2, 2, 9, 0, tzinfo=WIB))
    db_session.add(entry)
    db_session.flush()
    if change == "update":
        entry.action = "decide"
    else:
        db_session.delete(entry)
    with pytest.raises(AuditLogIsAppendOnlyError, match="add a new entry"):
        db_session.flush()
