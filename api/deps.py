"""Typed dependencies of the routes: the service state built at startup, a database session per request,
the caller behind the ``X-API-Key`` header and role guards. Those that never block are ``async`` so that
they run on the event loop, not in the thread pool (a hop each)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from api.auth import Caller, authenticate
from api.config import Settings
from api.db.models import ApiKeyRole
from api.errors import ForbiddenError, InvalidUploadError
from api.jobs import JobWorker
from api.retention import RetentionSchedule
from api.scoring import Scoring
from api.storage import UploadStore


@dataclass
class ServiceState:
    """What the lifespan builds once: configuration, database, the loaded model, storage, and the
    background threads (clip jobs, retention)."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    scoring: Scoring
    store: UploadStore
    worker: JobWorker
    retention: RetentionSchedule


async def get_state(request: Request) -> ServiceState:
    return request.app.state.service


StateDep = Annotated[ServiceState, Depends(get_state)]


async def get_settings(state: StateDep) -> Settings:
    return state.settings


def get_db(state: StateDep) -> Iterator[Session]:
    with state.sessions() as session:
        yield session


async def get_scoring(state: StateDep) -> Scoring:
    return state.scoring


async def get_store(state: StateDep) -> UploadStore:
    return state.store


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_db)]
ScoringDep = Annotated[Scoring, Depends(get_scoring)]
StoreDep = Annotated[UploadStore, Depends(get_store)]


def get_caller(request: Request, x_api_key: Annotated[str | None, Header()] = None) -> Caller:
    """The caller behind the key, looked up once a request: a state-changing request's key was already
    looked up before its body was read (``api.main``), and is kept on the request."""
    if (caller := getattr(request.state, "caller", None)) is None:
        # A session of its own: the request's session must not hold a transaction open while a frame is
        # being detected (SQLite transactions take the write lock).
        with request.app.state.service.sessions() as session:
            caller = authenticate(session, x_api_key)
        request.state.caller = caller
    return caller


CurrentKey = Annotated[Caller, Depends(get_caller)]


def _role_guard(*roles: ApiKeyRole, registry_wide: bool = False) -> object:
    async def guard(caller: CurrentKey) -> Caller:
        caller.require(roles, "this request")
        if registry_wide and caller.agency_ids is not None:
            raise ForbiddenError("managing the registry needs an administrator key without an agency scope")
        return caller

    return Depends(guard)


Uploader = Annotated[Caller, _role_guard(ApiKeyRole.UPLOADER, ApiKeyRole.ADMINISTRATOR)]
Reviewer = Annotated[Caller, _role_guard(ApiKeyRole.REVIEWER, ApiKeyRole.ADMINISTRATOR)]
RegistryAdmin = Annotated[Caller, _role_guard(ApiKeyRole.ADMINISTRATOR, registry_wide=True)]


async def one_file(request: Request) -> None:
    """A request carries one ``file``: a second one would be dropped without a word (the last one wins)."""
    if (count := len((await request.form()).getlist("file"))) > 1:
        raise InvalidUploadError(f"the request carries {count} files; send one frame or clip per request")
