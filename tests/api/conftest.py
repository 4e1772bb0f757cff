"""A real database per test, migrated by Alembic: a SQLite file in tmp_path, and PostgreSQL when
SERAGAM_TEST_POSTGRES_URL names a scratch database (its seragam tables are dropped before each test).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from api.db import Base, make_engine, migrate, session_factory

POSTGRES_URL_ENV = "SERAGAM_TEST_POSTGRES_URL"


def _fresh_postgres(url: str) -> str:
    engine = make_engine(url)
    with engine.begin() as connection:
        Base.metadata.drop_all(connection)
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    engine.dispose()
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of each kind; PostgreSQL is skipped unless SERAGAM_TEST_POSTGRES_URL is set."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'seragam.db'}"
    url = os.environ.get(POSTGRES_URL_ENV)
    if not url:
        pytest.skip(f"set {POSTGRES_URL_ENV} to run against PostgreSQL too")
    return _fresh_postgres(url)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    migrate(database_url)
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def db_session(engine: Engine) -> Iterator[Session]:
    with session_factory(engine)() as session:
        yield session
