"""Engine and session setup, and schema migration (Alembic ``upgrade head`` from code).

SQLite (the zero-setup default) gets foreign keys, WAL and real transactions with savepoints, begun
IMMEDIATE: a transaction that read first could not write later once another writer had committed
(WAL snapshots fail with "database is locked" at once, without waiting), so each one takes the write lock
at its start and concurrent writers queue instead. PostgreSQL URLs use psycopg 3 (``postgresql://`` is
read as ``postgresql+psycopg://``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from api.db.types import check_storable

DEFAULT_DATABASE_URL = "sqlite:///data/seragam.db"
MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
URL_FORMS = "sqlite:///path/to/file.db or postgresql://user:password@host:5432/name"


class DatabaseUrlError(ValueError):
    """The configured database cannot be used; the message says what to fix (passwords hidden)."""


def make_engine(url: str = DEFAULT_DATABASE_URL, *, sqlite_foreign_keys: bool = True) -> Engine:
    """An engine for ``url``; a SQLite file's folder is created when missing.

    ``sqlite_foreign_keys=False`` is for migrations only: batch mode rebuilds tables, which FK enforcement
    would break.
    """
    try:
        parsed = _with_driver(make_url(url))
    except ArgumentError:  # the text itself is not echoed: it may hold a password
        raise DatabaseUrlError(f"the database URL does not parse; write it as {URL_FORMS}") from None
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise DatabaseUrlError(
            f"the database URL {_shown(parsed)} names {parsed.get_backend_name()!r}; "
            f"seragam-watch keeps its data in SQLite or PostgreSQL: {URL_FORMS}"
        )
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(parsed)
    _configure_sqlite(engine, foreign_keys=sqlite_foreign_keys)
    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions bound to ``engine``; objects stay readable after commit (no expiry). Text that no database
    can store is refused before it is flushed (``UnstorableTextError``), the same on SQLite and PostgreSQL."""
    factory = sessionmaker(engine, expire_on_commit=False)
    event.listen(factory, "before_flush", _refuse_unstorable_text)
    return factory


def _refuse_unstorable_text(session: Session, flush_context: Any, instances: Any) -> None:
    for instance in (*session.new, *session.dirty):
        state = inspect(instance)
        for attribute in state.mapper.column_attrs:
            value = state.attrs[attribute.key].loaded_value
            check_storable(f"{state.mapper.class_.__tablename__}.{attribute.key}", value)


def alembic_config(url: str) -> Config:
    """An Alembic configuration for ``url`` that finds ``api/migrations`` from this file, not from the CWD."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolates '%', which URL-encoded passwords contain.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def open_database(url: str) -> Engine:
    """The engine of the database at ``url``, migrated to the newest schema. A database that cannot be
    reached is a ``DatabaseUrlError`` naming it, before any migration runs."""
    engine = make_engine(url)
    try:
        with engine.connect():
            pass
    except OperationalError as error:
        engine.dispose()
        reason = " ".join(str(error.orig).split())  # the driver's message, on one line
        raise DatabaseUrlError(
            f"cannot open the database {_shown(engine.url)}: {reason}; check the database URL "
            "(SERAGAM_DATABASE_URL or --database-url) and that its server runs"
        ) from None
    migrate(url)
    return engine


def migrate(url: str = DEFAULT_DATABASE_URL, revision: str = "head") -> None:
    """Bring the database at ``url`` to ``revision`` (default: the newest schema)."""
    command.upgrade(alembic_config(url), revision)


def insert_if_absent(session: Session, model: type[Any], values: dict[str, Any]) -> None:
    """Insert a row unless one with the same unique key exists (concurrent identical uploads race here)."""
    dialect = session.get_bind().dialect.name
    insert = {"sqlite": sqlite_insert, "postgresql": postgresql_insert}[dialect]
    session.execute(insert(model).values(**values).on_conflict_do_nothing())


def _shown(url: URL) -> str:
    return url.render_as_string(hide_password=True)


def _with_driver(url: URL) -> URL:
    if url.drivername == "postgresql":
        return url.set(drivername="postgresql+psycopg")
    return url


def _configure_sqlite(engine: Engine, *, foreign_keys: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, connection_record: Any) -> None:
        # pysqlite's own BEGIN handling breaks SAVEPOINT; we emit BEGIN ourselves in _on_begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
