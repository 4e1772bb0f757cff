"""``POST /v1/clips``: queue a recorded livestream clip for background scoring."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, File, Form, Response, UploadFile

from api.deps import SessionDep, SettingsDep, StateDep, Uploader
from api.jobs import accept_clip
from api.schemas import JobOut
from api.timestamps import parse_timestamp
from api.uploads import VIDEO_TYPES, staged, suffix_for

router = APIRouter(prefix="/v1", tags=["clips"])


@router.post("/clips", status_code=202, response_model=JobOut)
def post_clip(
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    state: StateDep,
    caller: Uploader,
    file: Annotated[UploadFile, File(description="the clip: MP4, MOV, MKV, WebM, TS, FLV or AVI")],
    platform: Annotated[str, Form(examples=["tiktok"])],
    handle: Annotated[str, Form(examples=["@budi.santoso"])],
    stream_started_at: Annotated[
        str, Form(description="when the clip's first frame was live, ISO 8601 with offset")
    ],
    tz: Annotated[str | None, Form(description="IANA zone of a timestamp without offset")] = None,
) -> JobOut:
    """Probe the clip (refusing unusable ones at once) and queue its job; poll ``GET /v1/jobs/{id}``."""
    suffix = suffix_for(file, VIDEO_TYPES, "a video clip")
    now = datetime.now(UTC)
    started = parse_timestamp(
        "stream_started_at", stream_started_at, tz, now=now, skew_s=settings.clock_skew_s
    )
    with staged(file, state.store, settings.max_clip_bytes, "clip") as clip:
        job = accept_clip(
            session,
            state.store,
            clip,
            suffix=suffix,
            content_type=file.content_type or "",
            platform=platform,
            handle=handle,
            started_at=started,
            now=now,
            sample_interval_s=settings.sample_interval_s,
            caller=caller,
        )
        session.commit()
    state.worker.wake()
    response.headers["Location"] = f"/v1/jobs/{job.id}"
    return JobOut.of(job)
