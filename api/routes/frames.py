"""``POST /v1/frames``: judge one screenshot or frame of a livestream."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, UploadFile

from api.deps import SessionDep, StateDep, Uploader, one_file
from api.intake import take_frame
from api.schemas import FrameResponse, Outcome, UploadedCase, detections_out

router = APIRouter(prefix="/v1", tags=["frames"])


@router.post("/frames", response_model=FrameResponse, dependencies=[Depends(one_file)])
def post_frame(
    session: SessionDep,
    state: StateDep,
    caller: Uploader,
    file: Annotated[UploadFile, File(description="the frame: JPEG, PNG, WebP or BMP")],
    platform: Annotated[str, Form(examples=["tiktok"])],
    handle: Annotated[str, Form(examples=["@budi.santoso"])],
    captured_at: Annotated[
        str, Form(description="ISO 8601 with offset", examples=["2026-04-14T19:00:00+07:00"])
    ],
    tz: Annotated[str | None, Form(description="IANA zone of a captured_at without offset")] = None,
) -> FrameResponse:
    """Detect official attire, judge the frame against the account owner's calendar, open cases."""
    result = take_frame(
        session, state, file, platform=platform, handle=handle, captured_at=("captured_at", captured_at, tz)
    )
    return FrameResponse(
        upload_sha256=result.upload_sha256,
        model_version=result.model_version,
        image_size=list(result.detections.image_size),
        detections=detections_out(result.detections),
        outcome=Outcome.of(result.judgement),
        cases=[UploadedCase.told_to(caller, c) for c in result.cases],
    )
