"""What judging an upload needs, shared by frames, clip jobs and the CLI: the loaded detector, the
policy, the working calendar, and the registry's view of the account the stream ran on."""

from __future__ import annotations

from collections.abc import Callable, Collection
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
from sqlalchemy.orm import Session

from api.db.models import AssignmentKind, SocialAccount
from api.policy import PersonContext, PersonSpan, PolicyConfig, StreamContext, WorkingCalendar
from api.registry import find_account, normalise_handle, parse_platform
from detector.detections import Detections
from detector.episodes import AttireEpisode, EpisodeTracker
from detector.model import Detector
from detector.video import SamplingMode, SamplingPolicy, iter_frames


@dataclass(frozen=True)
class Scoring:
    """The one loaded model and the rules it is judged by (``sample_interval_s``: clip sampling)."""

    detector: Detector
    policy: PolicyConfig
    calendar: WorkingCalendar
    sample_interval_s: float = 1.0

    @property
    def sampling(self) -> SamplingPolicy:
        return SamplingPolicy(SamplingMode.EVERY_N_SECONDS, interval_s=self.sample_interval_s)

    @property
    def official(self) -> frozenset[str]:
        return self.detector.taxonomy.official_names


@dataclass(frozen=True)
class StreamSubject:
    """The stream to judge and the registered account it ran on (None: not in the registry)."""

    stream: StreamContext
    account: SocialAccount | None


def stream_subject(
    session: Session, platform: str, handle: str, start: datetime, duration_s: float
) -> StreamSubject:
    """The stream as the policy sees it: its owner's calendar context comes from the registry. Raises
    ``UnknownPlatformError`` or ``InvalidEntryError`` for a platform or handle that cannot exist."""
    clean_platform, clean_handle = parse_platform(platform), normalise_handle(handle)
    account = find_account(session, clean_platform, clean_handle)
    owner = _person_context(account) if account else None
    is_official = bool(account and account.is_official)
    stream = StreamContext(clean_platform.value, clean_handle, is_official, owner, start, duration_s)
    return StreamSubject(stream, account)


def _person_context(account: SocialAccount) -> PersonContext:
    person = account.owner
    spans: dict[AssignmentKind, list[PersonSpan]] = {kind: [] for kind in AssignmentKind}
    for a in person.assignments:
        spans[a.kind].append(PersonSpan(a.starts_at, a.ends_at, a.reference or ""))
    return PersonContext(
        person_id=person.nip,
        agency_code=person.agency.code,
        shifts=tuple(spans[AssignmentKind.SHIFT]),
        assignments=tuple(spans[AssignmentKind.ASSIGNMENT]),
        leave=tuple(spans[AssignmentKind.LEAVE]),
    )


@dataclass(frozen=True)
class ClipScan:
    """The outcome of scoring every sampled frame: episodes, how many frames, the last frame's time."""

    episodes: list[AttireEpisode]
    frames: int
    last_time_s: float


def scan_clip(
    path: Path, scoring: Scoring, on_frame: Callable[[float, Detections], None] = lambda t, d: None
) -> ClipScan:
    """Detect on every sampled frame of ``path`` in time order and aggregate attire episodes with the
    policy's episode thresholds; ``on_frame(time_s, detections)`` sees each frame (to store it, count
    progress). Memory stays constant: frames are dropped once scored. Raises ``VideoError``s."""
    tracker = EpisodeTracker(scoring.policy.episodes)
    frames, last_time_s = 0, 0.0
    for frame in iter_frames(path, scoring.sampling):
        detections = scoring.detector.detect(frame.image)
        tracker.update(
            frame.time_s,
            detections.best_score(scoring.official),
            {label for label in detections.labels if label in scoring.official},
        )
        on_frame(frame.time_s, detections)
        frames, last_time_s = frames + 1, frame.time_s
    return ClipScan(tracker.finish(), frames, last_time_s)


def frames_at(path: Path, scoring: Scoring, times_s: Collection[float]) -> dict[float, np.ndarray]:
    """The sampled frames at ``times_s`` (as ``scan_clip`` reported them), decoded again: a second pass
    that stops after the last one, so evidence frames never have to be held during the scan."""
    wanted, found = set(times_s), {}
    if not wanted:
        return found
    with closing(iter_frames(path, scoring.sampling)) as frames:
        for frame in frames:
            if frame.time_s in wanted:
                found[frame.time_s] = frame.image
                if len(found) == len(wanted):
                    break
    return found
