"""The Alembic migration builds exactly the models' schema, and engines get the settings we rely on."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.db import Agency, Base, alembic_config, make_engine, migrate
from api.db.types import JSONDocument, UTCDateTime
from api.registry import normalise_handle


def test_migration_creates_every_table_of_the_models(engine: Engine) -> None:
    tables = set(inspect(engine).get_table_names())
    assert tables == set(Base.metadata.tables) | {"alembic_version"}


def test_migration_matches_the_models_column_for_column(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_downgrade_to_base_and_upgrade_again(engine: Engine, database_url: str) -> None:
    command.downgrade(alembic_config(database_url), "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    migrate(database_url)
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())


def test_the_id_of_a_deleted_row_is_never_given_again(db_session: Session) -> None:
    """Audit entries, jobs and cookies name rows by id: a new row must not take a deleted one's."""
    first, newest = Agency(code="A", name="A"), Agency(code="B", name="B")
    db_session.add_all([first, newest])
    db_session.flush()
    db_session.delete(newest)
    db_session.flush()
    again = Agency(code="C", name="C")
    db_session.add(again)
    db_session.flush()
    assert again.id > newest.id > first.id


def test_a_database_of_the_previous_schema_keeps_its_rows_and_ids(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'seragam.db'}"
    migrate(url, "0005")
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO agencies (id, code, name) VALUES (1, 'A', 'A'), (7, 'B', 'B')"))
        connection.execute(text("DELETE FROM agencies WHERE id = 7"))
    migrate(url)
    with Session(engine) as session:
        assert [(a.id, a.code) for a in session.query(Agency)] == [(1, "A")]
        session.add_all([Agency(code="C", name="C"), Agency(code="D", name="D")])
        session.flush()
        session.delete(session.query(Agency).filter_by(code="D").one())
        session.flush()
        session.add(Agency(code="E", name="E"))
        session.flush()
        assert [a.id for a in session.query(Agency).order_by(Agency.id)] == [1, 2, 4]
    engine.dispose()


def test_handles_stored_before_the_nfkc_rule_are_found_by_it_after_migrating(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"sqlite:///{tmp_path / 'seragam.db'}"
    migrate(url, "0006")
    engine = make_engine(url)
    stored = ["budi\u200b.lmj", "\uff53\uff41\uff52\uff49", "jalan.stra\u00dfe", "dewi.lmj", "\ufeffdewi.lmj"]
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO agencies (id, code, name) VALUES (1, 'A', 'A')"))
        connection.execute(text("INSERT INTO people (id, nip, name, agency_id) VALUES (1, '1', 'P', 1)"))
        for n, handle in enumerate(stored, 1):
            connection.execute(
                text(
                    "INSERT INTO social_accounts (id, platform, handle, person_id, is_official) "
                    "VALUES (:id, 'tiktok', :handle, 1, 0)"
                ),
                {"id": n, "handle": handle},
            )
    migrate(url)
    with engine.connect() as connection:
        handles = connection.execute(text("SELECT handle FROM social_accounts ORDER BY id")).scalars().all()
    engine.dispose()
    assert (
        [normalise_handle(h) for h in stored[:4]]
        == handles[:4]
        == ["budi.lmj", "sari", "jalan.strasse", "dewi.lmj"]
    )
    assert handles[4] == "\ufeffdewi.lmj" and "left as it is" in caplog.text  # @dewi.lmj is taken


def test_frames_stored_before_their_attire_score_was_kept_get_it_from_their_detections(
    database_url: str,
) -> None:
    migrate(database_url, "0007")
    uploads = sa.table(
        "uploads",
        *(sa.column(name, sa.String) for name in ("sha256", "content_type", "path")),
        sa.column("size", sa.Integer),
        sa.column("created_at", UTCDateTime()),
    )
    frames = sa.table(
        "frame_scores",
        *(sa.column(name, sa.String) for name in ("upload_sha256", "model_version")),
        sa.column("time_s", sa.Double),
        sa.column("detections", JSONDocument),
    )
    stored = [
        [],
        [{"class": "other_uniform", "score": 0.9, "box": [0, 0, 1, 1]}],
        [
            {"class": "pdh_khaki", "score": 0.61, "box": [0, 0, 1, 1]},
            {"class": "name_plate", "score": 0.72, "box": [0, 0, 1, 1]},
            {"class": "other_uniform", "score": 0.95, "box": [0, 0, 1, 1]},
        ],
    ]
    engine = make_engine(database_url)
    with engine.begin() as connection:
        upload = {"sha256": "a" * 64, "content_type": "video/mp4", "path": "x.mp4", "size": 1}
        connection.execute(sa.insert(uploads), upload | {"created_at": datetime(2026, 4, 14, tzinfo=UTC)})
        connection.execute(
            sa.insert(frames),
            [
                {"upload_sha256": "a" * 64, "model_version": "m", "time_s": float(n), "detections": d}
                for n, d in enumerate(stored)
            ],
        )
    migrate(database_url)
    with engine.connect() as connection:
        scores = connection.execute(text("SELECT attire_score FROM frame_scores ORDER BY time_s")).scalars()
        assert list(scores) == [0.0, 0.0, 0.72]  # other_uniform is never official attire
    engine.dispose()


def test_migrate_does_not_depend_on_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'nested' / 'folder' / 'seragam.db'}"
    migrate(url)
    engine = make_engine(url)
    assert "cases" in inspect(engine).get_table_names()
    engine.dispose()


def test_sqlite_engine_enforces_foreign_keys_and_uses_wal(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'seragam.db'}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    engine.dispose()


@pytest.mark.parametrize(
    ("url", "driver"),
    [
        ("postgresql://user:pw@db/seragam", "postgresql+psycopg"),
        ("postgresql+psycopg://user:pw@db/seragam", "postgresql+psycopg"),
        ("sqlite:///data/seragam.db", "pysqlite"),
    ],
)
def test_make_engine_picks_the_installed_driver(
    url: str, driver: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    engine = make_engine(url)
    assert driver in (engine.url.drivername, engine.dialect.driver)
    engine.dispose()


def test_foreign_keys_are_enforced(db_session: Session) -> None:
    db_session.add(Agency(code="UNIT", name="Unit", parent_id=999))
    with pytest.raises(IntegrityError):
        db_session.flush()


def test_vocabulary_columns_refuse_unknown_values(db_session: Session) -> None:
    with pytest.raises(IntegrityError):
        db_session.execute(
            text(
                "INSERT INTO jobs (kind, state, progress_done, params, attempts, created_at, "
                "updated_at) VALUES ('video', 'queued', 0, '{}', 0, "
                "'2026-01-01 00:00:00', '2026-01-01 00:00:00')"
            )
        )


def test_savepoint_rollback_keeps_the_outer_transaction(db_session: Session) -> None:
    db_session.add(Agency(code="KEEP", name="Kept"))
    db_session.flush()
    savepoint = db_session.begin_nested()
    db_session.add(Agency(code="DROP", name="Dropped"))
    db_session.flush()
    savepoint.rollback()
    db_session.commit()
    assert [a.code for a in db_session.query(Agency)] == ["KEEP"]
