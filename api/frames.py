"""Scoring one uploaded frame: decode, detect, judge with the owner's calendar, store, open cases."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from api.cases import EvidenceFrame, Provenance, open_cases
from api.db.models import Case
from api.engine import record_frame
from api.policy import Judgement, judge_frame
from api.registry import normalise_handle, parse_platform
from api.scoring import Scoring, stream_subject
from api.storage import UploadStore
from api.uploads import IMAGE_TYPES, record_upload, stored_suffix
from detector.detections import Detections
from detector.images import decode_image, image_media_type


@dataclass(frozen=True)
class FrameUpload:
    """A frame as received: its bytes, the account it shows and when it was captured (aware)."""

    data: bytes
    platform: str
    handle: str
    captured_at: datetime


@dataclass(frozen=True)
class FrameResult:
    """What scoring a frame produced: the stored upload, the model, its detections, judgement and cases."""

    upload_sha256: str
    model_version: str
    detections: Detections
    judgement: Judgement
    cases: list[Case]


def score_frame(
    session: Session, store: UploadStore, scoring: Scoring, frame: FrameUpload, *, max_pixels: int
) -> FrameResult:
    """Judge one frame and open its cases; flushed, the caller commits.

    Everything that can refuse the input (``ImageError``, ``UnknownPlatformError``, ``InvalidEntryError``)
    is checked before anything is stored, so a refused frame leaves no file and no row behind. The
    detector runs before the session is first used, so no transaction stays open while it works.
    """
    image = decode_image(frame.data, max_pixels)
    parse_platform(frame.platform)
    normalise_handle(frame.handle)
    detections = scoring.detector.detect(image)
    content_type = image_media_type(frame.data)  # the bytes' own format, whatever the sender declared
    sha256 = hashlib.sha256(frame.data).hexdigest()
    stored = store.put(frame.data, stored_suffix(session, sha256, IMAGE_TYPES[content_type]))
    record_upload(session, stored, content_type)
    subject = stream_subject(session, frame.platform, frame.handle, frame.captured_at, 0.0)
    judgement = judge_frame(scoring.calendar, scoring.policy, subject.stream, detections)
    record_frame(session, stored.sha256, scoring.detector.version, 0.0, detections)
    jpeg = frame.data if content_type == "image/jpeg" else None
    evidence = [EvidenceFrame(0.0, subject.stream.start, image, detections, jpeg)]
    cases = open_cases(
        session,
        store,
        judgement,
        subject,
        Provenance(stored.sha256, scoring.detector.version),
        lambda _finding: evidence,
    )
    return FrameResult(stored.sha256, scoring.detector.version, detections, judgement, cases)
