"""``POST /v1/clips``: queue a recorded livestream clip for background scoring."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Response, UploadFile

from api.deps import SessionDep, StateDep, Uploader, one_file
from api.intake import take_clip
from api.schemas import JobOut

router = APIRouter(prefix="/v1", tags=["clips"])


@router.post("/clips", status_code=202, response_model=JobOut, dependencies=[Depends(one_file)])
def post_clip(
    response: Response,
    session: SessionDep,
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
    job = take_clip(
        session,
        state,
        file,
        platform=platform,
        handle=handle,
        started_at=("stream_started_at", stream_started_at, tz),
        caller=caller,
    )
    response.headers["Location"] = f"/v1/jobs/{job.id}"
    return JobOut.of(job)
