"""Upload pages: a frame (judged at once) or a clip (queued; its page shows the job's progress and links
to the cases it opened). The same service functions as ``POST /v1/frames`` and ``POST /v1/clips``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from api.cases import reviewable_case_ids
from api.db.models import Platform
from api.deps import SessionDep, StateDep
from api.intake import take_clip, take_frame
from api.jobs import visible_job
from api.registry import InvalidEntryError
from api.schemas import JobOut
from api.ui.web import CsrfChecked, SignedIn, UploadingUser, render

router = APIRouter(include_in_schema=False)
ZONES = ("Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura", "UTC")  # WIB, WITA, WIT


@router.get("/upload")
def upload_form(request: Request, user: UploadingUser) -> Response:
    return render(request, "upload.html", {"platforms": list(Platform), "zones": ZONES}, user=user)


@router.post("/upload", dependencies=[CsrfChecked])
def upload(
    request: Request,
    session: SessionDep,
    state: StateDep,
    user: UploadingUser,
    file: Annotated[UploadFile, File()],
    kind: Annotated[str, Form()],
    platform: Annotated[str, Form()],
    handle: Annotated[str, Form(max_length=200)],
    started_at: Annotated[str, Form(max_length=40)],
    tz: Annotated[str, Form(max_length=64)],
) -> Response:
    """Judge a frame now, or queue a clip and go to its progress page."""
    at = ("time", started_at, tz)
    if kind == "frame":
        result = take_frame(session, state, file, platform=platform, handle=handle, captured_at=at)
        linked = reviewable_case_ids(session, user.caller, [c.id for c in result.cases])
        return render(request, "frame_result.html", {"result": result, "linked": linked}, user=user)
    if kind != "clip":
        raise InvalidEntryError("kind", "choose frame or clip")
    job = take_clip(session, state, file, platform=platform, handle=handle, started_at=at, caller=user.caller)
    return RedirectResponse(f"/ui/jobs/{job.id}", status_code=303)


class JobProgress(JobOut):
    """A job as its page shows it: once done, its cases, linked where the user may open them (an uploader,
    or an administrator of another agency, is given the ids to quote)."""

    linked_case_ids: list[int]


def _job_progress(session: Session, user: SignedIn, job_id: int) -> JobProgress:
    job = JobOut.of(visible_job(session, user.caller, job_id))
    linked = reviewable_case_ids(session, user.caller, (job.result or {}).get("case_ids", []))
    return JobProgress(**job.model_dump(), linked_case_ids=linked)


@router.get("/jobs/{job_id}")
def job_page(request: Request, job_id: int, session: SessionDep, user: UploadingUser) -> Response:
    """A clip job's progress bar (refreshed by ``app.js``) and, once done, its cases."""
    return render(request, "job.html", {"job": _job_progress(session, user, job_id)}, user=user)


@router.get("/jobs/{job_id}/progress")
def job_progress(job_id: int, session: SessionDep, user: UploadingUser) -> JobProgress:
    """The job as JSON, for the progress bar."""
    return _job_progress(session, user, job_id)
