"""The FastAPI application: ``create_app(settings)``; its lifespan migrates the database, loads the model
once, seeds a demo registry into an empty database and runs the clip job worker."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.config import Settings
from api.db import open_database, session_factory
from api.deps import ServiceState, get_caller
from api.errors import install_error_handlers
from api.jobs import JobWorker
from api.policy import CalendarConfig, PolicyConfig, WorkingCalendar
from api.request_ids import RequestIdMiddleware, setup_logging
from api.retention import RetentionSchedule
from api.routes import api_keys, cases, clips, frames, health, jobs, registry, uploads
from api.scoring import Scoring
from api.seed import seed_demo
from api.storage import UploadStore
from api.ui import UI_PREFIX, install_ui
from api.ui.web import signed_in
from api.uploads import FORM_SLACK_BYTES, MAX_CSV_BYTES, CredentialsBeforeBody, UploadSizeLimit
from detector.attire import load_detector
from detector.scan import ScanSettings
from detector.video import SamplingMode

CLIP_CHUNK_S = 10.0  # a clip job commits its frames, and shows progress, about every 10 s of video


def load_scoring(
    settings: Settings, scan: ScanSettings | None = None, *, lazy_model: bool = False
) -> Scoring:
    """The one place the model, the policy and the calendar are loaded. ``scan``: how recordings are
    sampled (default: the service's clip sampling, a frame every ``sample_interval_s``); ``lazy_model``:
    load the network only if this process runs it (a batch whose workers have their own)."""
    return Scoring(
        load_detector(settings.model, settings.attire, lazy=lazy_model),
        PolicyConfig.load(settings.policy_file),
        WorkingCalendar(CalendarConfig.load(settings.calendar_file)),
        scan or _clip_sampling(settings.sample_interval_s),
    )


def _clip_sampling(interval_s: float) -> ScanSettings:
    """A frame every ``interval_s``, in chunks of a whole number of intervals near ``CLIP_CHUNK_S``."""
    chunk_s = interval_s * max(1, round(CLIP_CHUNK_S / interval_s))
    return ScanSettings(SamplingMode.EVERY_N_SECONDS, interval_s, chunk_s=chunk_s)


def build_state(settings: Settings) -> ServiceState:
    """What the service holds for its lifetime (migrated database, loaded model); threads not started."""
    store = UploadStore(settings.uploads_dir)
    store.check_writable()
    engine = open_database(settings.db_url)
    sessions = session_factory(engine)
    scoring = load_scoring(settings)
    retention = RetentionSchedule(
        sessions, store, settings.retention_unflagged_days, settings.retention_dismissed_days
    )
    return ServiceState(
        settings, engine, sessions, scoring, store, JobWorker(sessions, store, scoring), retention
    )


def create_app(settings: Settings | None = None, built: ServiceState | None = None) -> FastAPI:
    """The service; ``built``: its state, built already (``seragam serve`` builds it before the server
    starts, so that a bad setting stops the start with one clear line instead of a traceback)."""
    settings = built.settings if built else settings or Settings()
    setup_logging()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = built or build_state(settings)
        if settings.seed_demo:
            with state.sessions() as session:
                access = seed_demo(session)
            if access:
                print(
                    f"seragam: demo registry seeded; administrator API key (shown once): {access.api_key}\n"
                    f"seragam: web UI at /ui/, administrator sign-in (shown once): "
                    f"{access.username} / {access.password}",
                    flush=True,
                )
        app.state.service = state
        state.worker.start()
        state.retention.start()
        try:
            yield
        finally:
            state.retention.stop()
            state.worker.stop()
            state.engine.dispose()

    app = FastAPI(
        title="seragam-watch",
        summary="Flags civil servants' livestreams in working hours (R1) or in official attire off duty (R2)",
        version="0.1.0",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    for router in (health.router, frames.router, clips.router, jobs.router, cases.router):
        app.include_router(router)
    app.include_router(registry.router)
    app.include_router(api_keys.router)
    app.include_router(uploads.router)
    # Added before install_ui so that it runs inside the session middleware (the later added, the further
    # out): the UI's check reads the signed-in user from the session cookie.
    app.add_middleware(
        CredentialsBeforeBody,
        gates={"/v1/": _api_key_given, f"{UI_PREFIX}/": _user_signed_in},
        # Signing out also works for a cookie that no longer signs anyone in (and clears it).
        open_paths={f"{UI_PREFIX}/sign-in", f"{UI_PREFIX}/sign-out"},
    )
    install_ui(app, settings)
    app.add_middleware(
        UploadSizeLimit,
        limits={
            "/v1/frames": settings.max_image_bytes + FORM_SLACK_BYTES,
            "/v1/clips": settings.max_clip_bytes + FORM_SLACK_BYTES,
            "/v1/registry/import": MAX_CSV_BYTES + FORM_SLACK_BYTES,
            "/ui/upload": max(settings.max_clip_bytes, settings.max_image_bytes) + FORM_SLACK_BYTES,
            "/ui/registry/import": MAX_CSV_BYTES + FORM_SLACK_BYTES,
        },
    )
    app.add_middleware(RequestIdMiddleware)
    app.add_middleware(NoSniff)
    return app


def _api_key_given(request: Request) -> None:
    get_caller(request, request.headers.get("x-api-key"))


def _user_signed_in(request: Request) -> None:
    signed_in(request, request.app.state.service)


class NoSniff:
    """``X-Content-Type-Options: nosniff`` on every response: a browser must take a JSON answer or an
    evidence image for what its content type says, never run it as a page or a script."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_nosniff(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["X-Content-Type-Options"] = "nosniff"
            await send(message)

        await self.app(scope, receive, send_nosniff if scope["type"] == "http" else send)
