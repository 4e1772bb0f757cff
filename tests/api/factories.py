"""Factories for the service tests: the registry they start from, frames and clips sent over HTTP."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import cv2
import numpy as np
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Engine, event, text
from sqlalchemy.orm import Session, sessionmaker

from api.auth import create_api_key
from api.policy import WIB, PersonSpan
from api.registry import create_account, create_agency, create_person

TUESDAY = "2026-04-14"  # an ordinary working Tuesday (no holiday)


def wib(text: str) -> datetime:
    """``"2026-04-14 19:00"`` as an aware WIB time."""
    return datetime.fromisoformat(text).replace(tzinfo=WIB)


def span(start: str, end: str, note: str) -> PersonSpan:
    """A person's shift, assignment or leave between two WIB times."""
    return PersonSpan(wib(start), wib(end), note)


BUDI_NIP, SARI_NIP = "198507142010011002", "199001012015032001"


@dataclass(frozen=True)
class World:
    """The registry every service test starts from: DISKOMINFO (under SETDA) and DINKES, one civil servant
    in each with a personal TikTok account, DISKOMINFO's official Instagram account, and one API key per
    role (reviewers scoped to their own agency)."""

    agencies: dict[str, int]
    keys: dict[str, str]

    def headers(self, key: str) -> dict[str, str]:
        return {"X-API-Key": self.keys[key]}


def build_world(sessions: sessionmaker[Session]) -> World:
    with sessions() as session:
        setda = create_agency(session, code="SETDA", name="Sekretariat Daerah")
        kominfo = create_agency(session, code="DISKOMINFO", name="Diskominfo", parent_id=setda.id)
        dinkes = create_agency(session, code="DINKES", name="Dinas Kesehatan")
        budi = create_person(session, nip=BUDI_NIP, name="Budi Santoso", agency_id=kominfo.id)
        sari = create_person(session, nip=SARI_NIP, name="Sari Dewi", agency_id=dinkes.id)
        create_account(session, platform="tiktok", handle="budi.lmj", person_id=budi.id)
        create_account(session, platform="tiktok", handle="sari.sehat", person_id=sari.id)
        create_account(
            session,
            platform="instagram",
            handle="diskominfo.lumajang",
            person_id=budi.id,
            is_official=True,
            agency_id=kominfo.id,
        )
        keys = {
            "uploader": create_api_key(session, name="desk", role="uploader")[1],
            "admin": create_api_key(session, name="bkpsdm", role="administrator")[1],
            "reviewer_kominfo": create_api_key(session, name="rk", role="reviewer", agency_id=kominfo.id)[1],
            "reviewer_dinkes": create_api_key(session, name="rd", role="reviewer", agency_id=dinkes.id)[1],
            "reviewer_setda": create_api_key(session, name="rs", role="reviewer", agency_id=setda.id)[1],
        }
        session.commit()
        return World({"SETDA": setda.id, "DISKOMINFO": kominfo.id, "DINKES": dinkes.id}, keys)


def jpeg(image: np.ndarray) -> bytes:
    return cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()


# A rendered PDH khaki frame (conftest: uniform_frame) on which the shipped model finds official attire.
UNIFORM_PHOTO, UNIFORM_SEED = 1, 2


def post_frame(
    client: TestClient,
    world: World,
    image: bytes,
    *,
    handle: str,
    at: str,
    platform: str = "tiktok",
    content_type: str = "image/jpeg",
    **extra: str,
) -> Response:
    """POST /v1/frames as the uploader; ``at`` is WIB wall time on the test Tuesday, e.g. ``"19:00"``."""
    data = {"platform": platform, "handle": handle, "captured_at": f"{TUESDAY}T{at}:00+07:00", **extra}
    files = {"file": ("frame", image, content_type)}
    return client.post("/v1/frames", data=data, files=files, headers=world.headers("uploader"))


def wait_for_job(client: TestClient, job_id: int, headers: dict[str, str], timeout_s: float = 60) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = client.get(f"/v1/jobs/{job_id}", headers=headers).json()
        if job["state"] in ("done", "failed"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish in {timeout_s} s: {job}")


CLIP_START = f"{TUESDAY}T15:59:50+07:00"  # the clip crosses 16:00, the end of Tuesday's working hours
CLIP_SEED = 2


def post_clip(
    client: TestClient,
    world: World,
    clip: bytes,
    *,
    handle: str = "budi.lmj",
    started_at: str = CLIP_START,
    content_type: str = "video/mp4",
    **extra,
) -> Response:
    data = {"platform": "tiktok", "handle": handle, "stream_started_at": started_at, **extra}
    files = {"file": ("clip", clip, content_type)}
    return client.post("/v1/clips", data=data, files=files, headers=world.headers("uploader"))


WAITING_ON_A_LOCK = text(
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
)


@contextmanager
def competing(sessions: sessionmaker[Session], work: Callable[[Session], object]) -> Iterator[None]:
    """Run ``work`` in its own session (committed) in a thread while the caller holds a transaction open,
    flushed, which the ``with`` body commits. On PostgreSQL the body starts once ``work`` waits on a lock,
    or has finished without one; on SQLite, whose writers are serialised, ``work`` waits at its BEGIN.
    Bounded: ``work`` must be done 30 s on; its exception is raised here."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with sessions() as session:
                work(session)
                session.commit()
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    with sessions() as probe:
        postgresql = probe.get_bind().dialect.name == "postgresql"
    deadline = time.monotonic() + 10
    while postgresql and thread.is_alive() and time.monotonic() < deadline:
        with sessions() as probe:  # a transaction of its own: pg_stat_activity is read once per transaction
            if probe.scalar(WAITING_ON_A_LOCK):
                break
        time.sleep(0.05)
    yield
    thread.join(30)
    assert not thread.is_alive(), "the competing work did not finish in 30 s"
    if errors:
        raise errors[0]


@contextmanager
def reads_of(engine: Engine, table: str) -> Iterator[list[str]]:
    """The SQL statements that read ``table`` on ``engine`` while the block runs."""
    statements: list[str] = []

    def seen(connection: object, cursor: object, statement: str, *args: object) -> None:
        if f"FROM {table}" in statement:
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", seen)
