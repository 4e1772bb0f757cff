"""Frames and clips as they arrive over HTTP, for the API (``/v1/frames``, ``/v1/clips``) and the web
UI's upload page alike: one path each from the uploaded file to its committed result."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import UploadFile
from sqlalchemy.orm import Session

from api.auth import Caller
from api.db.models import Job
from api.deps import ServiceState
from api.frames import FrameResult, FrameUpload, score_frame
from api.jobs import accept_clip
from api.timestamps import parse_timestamp
from api.uploads import IMAGE_TYPES, VIDEO_TYPES, accepted_type, read_limited, staged


def take_frame(
    session: Session,
    state: ServiceState,
    file: UploadFile,
    *,
    platform: str,
    handle: str,
    captured_at: tuple[str, str, str | None],
) -> FrameResult:
    """Check, score and judge an uploaded frame and commit what it found. ``captured_at``: the form's
    field name, its text and the zone of a naive time (``parse_timestamp``)."""
    settings = state.settings
    accepted_type(file, IMAGE_TYPES, "a JPEG, PNG, WebP or BMP image")
    data = read_limited(file, settings.max_image_bytes, "image")
    captured = parse_timestamp(*captured_at, now=datetime.now(UTC), skew_s=settings.clock_skew_s)
    upload = FrameUpload(data, platform, handle, captured)
    result = score_frame(session, state.store, state.scoring, upload, max_pixels=settings.max_image_pixels)
    session.commit()
    return result


def take_clip(
    session: Session,
    state: ServiceState,
    file: UploadFile,
    *,
    platform: str,
    handle: str,
    started_at: tuple[str, str, str | None],
    caller: Caller,
) -> Job:
    """Stage, probe and queue an uploaded clip (committed), and wake the job worker. ``started_at``: the
    form's field name, its text and the zone of a naive time (``parse_timestamp``)."""
    settings = state.settings
    content_type, suffix = accepted_type(file, VIDEO_TYPES, "a video clip")
    now = datetime.now(UTC)
    started = parse_timestamp(*started_at, now=now, skew_s=settings.clock_skew_s)
    with staged(file, state.store, settings.max_clip_bytes, "clip") as clip:
        job = accept_clip(
            session,
            state.store,
            clip,
            suffix=suffix,
            content_type=content_type,
            platform=platform,
            handle=handle,
            started_at=started,
            now=now,
            sample_interval_s=settings.sample_interval_s,
            caller=caller,
        )
        session.commit()
    state.worker.wake()
    return job
