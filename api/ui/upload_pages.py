"""Upload pages: a frame (judged at once) or a clip (queued; its page shows the job's progress and links
to the cases it opened). The same service functions as ``POST /v1/frames`` and ``POST /v1/clips``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from api.db.models import Platform
from api.deps import ScoringDep, SessionDep, SettingsDep, StateDep
from api.frames import FrameUpload, score_frame
from api.jobs import accept_clip, visible_job
from api.registry import InvalidEntryError
from api.schemas import JobOut
from api.timestamps import parse_timestamp
from api.ui.web import CsrfChecked, UploadingUser, render
from api.uploads import IMAGE_TYPES, VIDEO_TYPES, read_limited, staged, suffix_for

router = APIRouter(include_in_schema=False)
ZONES = ("Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura", "UTC")  # WIB, WITA, WIT


@router.get("/upload")
def upload_form(request: Request, user: UploadingUser) -> Response:
    return render(request, "upload.html", {"platforms": list(Platform), "zones": ZONES}, user=user)


@router.post("/upload", dependencies=[CsrfChecked])
def upload(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    state: StateDep,
    scoring: ScoringDep,
    user: UploadingUser,
    file: Annotated[UploadFile, File()],
    kind: Annotated[str, Form()],
    platform: Annotated[str, Form()],
    handle: Annotated[str, Form(max_length=200)],
    started_at: Annotated[str, Form(max_length=40)],
    tz: Annotated[str, Form(max_length=64)],
) -> Response:
    """Judge a frame now, or queue a clip and go to its progress page."""
    now = datetime.now(UTC)
    at = parse_timestamp("time", started_at, tz, now=now, skew_s=settings.clock_skew_s)
    if kind == "frame":
        suffix = suffix_for(file, IMAGE_TYPES, "a JPEG, PNG, WebP or BMP image")
        data = read_limited(file, settings.max_image_bytes, "image")
        upload = FrameUpload(data, file.content_type or "", suffix, platform, handle, at)
        result = score_frame(session, state.store, scoring, upload, max_pixels=settings.max_image_pixels)
        session.commit()
        return render(request, "frame_result.html", {"result": result}, user=user)
    if kind != "clip":
        raise InvalidEntryError("kind", "choose frame or clip")
    suffix = suffix_for(file, VIDEO_TYPES, "a video clip")
    with staged(file, state.store, settings.max_clip_bytes, "clip") as clip:
        job = accept_clip(
            session,
            state.store,
            clip,
            suffix=suffix,
            content_type=file.content_type or "",
            platform=platform,
            handle=handle,
            started_at=at,
            now=now,
            sample_interval_s=settings.sample_interval_s,
            caller=user.caller,
        )
        session.commit()
    state.worker.wake()
    return RedirectResponse(f"/ui/jobs/{job.id}", status_code=303)


@router.get("/jobs/{job_id}")
def job_page(request: Request, job_id: int, session: SessionDep, user: UploadingUser) -> Response:
    """A clip job's progress bar (refreshed by ``app.js``) and, once done, its cases."""
    job = JobOut.of(visible_job(session, user.caller, job_id))
    return render(request, "job.html", {"job": job}, user=user)


@router.get("/jobs/{job_id}/progress")
def job_progress(job_id: int, session: SessionDep, user: UploadingUser) -> JobOut:
    """The job as JSON, for the progress bar."""
    return JobOut.of(visible_job(session, user.caller, job_id))
