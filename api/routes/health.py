"""``/healthz`` (the process answers) and ``/readyz`` (model loaded, database reachable, upload store
writable, clip-job and retention threads running; else 503)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
def readyz(request: Request) -> JSONResponse:
    state = getattr(request.app.state, "service", None)
    if state is None:
        return JSONResponse({"status": "not ready", "model": "not loaded"}, status_code=503)
    checks = {"model": state.scoring.detector.version, "database": "ok", "store": "ok"}
    try:
        with state.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as error:  # whatever stops a trivial query means the database is not reachable
        checks["database"] = f"unreachable: {type(error).__name__}"
    try:
        state.store.check_writable()
    except OSError as error:
        checks["store"] = str(error)
    stopped = [
        name for name, thread in (("jobs", state.worker), ("retention", state.retention)) if not thread.alive
    ]
    checks["threads"] = f"stopped: {', '.join(stopped)}" if stopped else "ok"
    ready = checks["database"] == checks["store"] == checks["threads"] == "ok"
    return JSONResponse(
        {"status": "ready" if ready else "not ready", **checks}, status_code=200 if ready else 503
    )
