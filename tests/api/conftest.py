"""A real database per test, migrated by Alembic: a SQLite file in tmp_path, and PostgreSQL when
SERAGAM_TEST_POSTGRES_URL names a scratch database (its seragam tables are dropped before each test).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from api.config import Settings
from api.db import Base, make_engine, migrate, session_factory
from api.main import create_app
from datasets.clips import Segment, write_livestream_clip
from datasets.people import PhotoPeople
from datasets.synth import SynthConfig, render_frame
from tests.api.factories import CLIP_SEED, UNIFORM_PHOTO, UNIFORM_SEED, World, build_world, jpeg

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


# --- The service: an app per test on its own database and data folder, the shipped model by default. ---


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """``SERAGAM_MODEL`` may point elsewhere while developing; the default is the shipped model."""
    return Settings(
        data_dir=tmp_path / "data", database_url=database_url, seed_demo=False, max_image_bytes=300_000
    )


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def world(client: TestClient) -> World:
    return build_world(client.app.state.service.sessions)


@pytest.fixture(scope="session")
def uniform_frame(bundled_people: list[PhotoPeople]) -> bytes:
    image, _ = render_frame(
        bundled_people[UNIFORM_PHOTO],
        np.random.default_rng(UNIFORM_SEED),
        SynthConfig(),
        outfit="pdh_khaki",
        size=(360, 640),
    )
    return jpeg(image)


@pytest.fixture(scope="session")
def uniform_clip(bundled_people: list[PhotoPeople], tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """20 s of PDH khaki at 10 fps, small."""
    path = tmp_path_factory.mktemp("clips") / "uniform.mp4"
    segments = [Segment(bundled_people[UNIFORM_PHOTO], "pdh_khaki", 20)]
    write_livestream_clip(path, segments, size=(360, 640), fps=10, seed=CLIP_SEED)
    return path.read_bytes()


@pytest.fixture(scope="session")
def audio_only_clip(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """One second of a 440 Hz tone in an MP4 without a video stream."""
    path = tmp_path_factory.mktemp("clips") / "audio.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=16000)
        tone = np.sin(2 * np.pi * 440 * np.arange(16000) / 16000).astype(np.float32)[None, :]
        frame = av.AudioFrame.from_ndarray(tone, format="fltp", layout="mono")
        frame.sample_rate = 16000
        container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path.read_bytes()


@pytest.fixture(scope="session")
def plain_frame(bundled_people: list[PhotoPeople]) -> bytes:
    """The uniform frame's person in their own clothes."""
    image, _ = render_frame(
        bundled_people[UNIFORM_PHOTO],
        np.random.default_rng(UNIFORM_SEED),
        SynthConfig(),
        outfit="original",
        size=(360, 640),
    )
    return jpeg(image)
