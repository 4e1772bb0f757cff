"""``POST /v1/frames``: judge one screenshot or frame of a livestream."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile

from api.deps import ScoringDep, SessionDep, SettingsDep, StoreDep, Uploader
from api.frames import FrameUpload, score_frame
from api.schemas import CaseSummary, FrameResponse, Outcome, detections_out
from api.timestamps import parse_timestamp
from api.uploads import IMAGE_TYPES, read_limited, suffix_for

router = APIRouter(prefix="/v1", tags=["frames"])


@router.post("/frames", response_model=FrameResponse)
def post_frame(
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
    scoring: ScoringDep,
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
    suffix = suffix_for(file, IMAGE_TYPES, "a JPEG, PNG, WebP or BMP image")
    data = read_limited(file, settings.max_image_bytes, "image")
    captured = parse_timestamp(
        "captured_at", captured_at, tz, now=datetime.now(UTC), skew_s=settings.clock_skew_s
    )
    upload = FrameUpload(data, file.content_type or "", suffix, platform, handle, captured)
    result = score_frame(session, store, scoring, upload, max_pixels=settings.max_image_pixels)
    session.commit()
    return FrameResponse(
        upload_sha256=result.upload_sha256,
        model_version=result.model_version,
        image_size=list(result.detections.image_size),
        detections=detections_out(result.detections),
        outcome=Outcome.of(result.judgement),
        cases=[CaseSummary.of(c) for c in result.cases],
    )
