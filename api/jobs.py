"""Clip jobs: accepted after the clip is probed, scored in one background thread, resumable.

A job's scoring writes a ``FrameScore`` row per sampled frame and, at the end, its cases. A job found
``queued`` or ``running`` (the server died mid-way) when the worker starts is run again from scratch:
its partial frame scores and cases are deleted first, so the result is the same as one uninterrupted run.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from api.auth import Caller
from api.cases import EvidenceFrame, Provenance, open_cases
from api.db.models import ApiKeyRole, Case, FrameScore, Job, JobKind, JobState
from api.errors import InvalidUploadError, ResourceNotFoundError
from api.policy import Finding, Judgement, format_wib, judge_stream
from api.registry import normalise_handle, parse_platform
from api.request_ids import request_id
from api.schemas import Outcome
from api.scoring import ClipScan, Scoring, StreamSubject, frames_at, scan_clip, stream_subject
from api.storage import UploadStore
from api.uploads import StagedFile, record_upload
from detector.detections import Detections
from detector.video import VideoError, VideoInfo, probe

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3  # a clip that kills the server this often is marked failed instead of retried forever
COMMIT_EVERY_FRAMES = 10
# Phones and recorders stamp creation_time at the start or the end of a recording; allow both, plus slack.
CREATION_SLACK = timedelta(minutes=5)


@dataclass(frozen=True)
class ClipParams:
    """What a clip job needs, kept in ``Job.params`` (JSON)."""

    upload_sha256: str
    suffix: str
    platform: str
    handle: str
    started_at: datetime
    duration_s: float
    notes: tuple[str, ...] = ()
    api_key_id: int | None = None
    user_id: int | None = None  # a clip uploaded in the web UI

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "started_at": self.started_at.isoformat(), "notes": list(self.notes)}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> ClipParams:
        return cls(
            **{**raw, "started_at": datetime.fromisoformat(raw["started_at"]), "notes": tuple(raw["notes"])}
        )


def accept_clip(
    session: Session,
    store: UploadStore,
    staged: StagedFile,
    *,
    suffix: str,
    content_type: str,
    platform: str,
    handle: str,
    started_at: datetime,
    now: datetime,
    sample_interval_s: float,
    caller: Caller,
) -> Job:
    """Probe a staged clip and queue its job; refused clips (``InvalidUploadError``, unknown platform)
    leave nothing stored. Flushed, the caller commits."""
    clean_platform, clean_handle = parse_platform(platform).value, normalise_handle(handle)
    info = _probe_upload(staged.path)
    stored = store.adopt(staged.path, staged.sha256, suffix)
    record_upload(session, stored, content_type)
    params = ClipParams(
        stored.sha256,
        suffix,
        clean_platform,
        clean_handle,
        started_at,
        info.duration_s or 0.0,
        tuple(clip_time_notes(info, started_at, now)),
        caller.key_id,
        caller.user_id,
    )
    job = Job(
        kind=JobKind.CLIP,
        params=params.to_dict(),
        progress_total=math.ceil(params.duration_s / sample_interval_s),
    )
    session.add(job)
    session.flush()
    return job


def _probe_upload(path: Path) -> VideoInfo:
    try:
        info = probe(path)
    except VideoError as error:  # its message names our staging file; the caller knows it as "the clip"
        raise InvalidUploadError(str(error).replace(str(path), "the clip")) from None
    if not info.duration_s or info.duration_s <= 0:
        raise InvalidUploadError(
            "the clip has no duration (zero-length, or a raw stream without timestamps); "
            "upload the recorded clip as MP4 or MKV"
        )
    return info


def clip_time_notes(info: VideoInfo, started_at: datetime, now: datetime) -> list[str]:
    """Implausible combinations of the stated stream start, the clip's length and the container's
    ``creation_time``, for the reviewer to check (none of them refuses the clip)."""
    notes = []
    duration = timedelta(seconds=info.duration_s or 0.0)
    if started_at + duration > now:
        notes.append(
            f"the clip lasts {duration.total_seconds():.0f} s, so the stream would end after now "
            f"({format_wib(now)}): check stream_started_at"
        )
    created = info.creation_time
    if created is None:
        return notes
    if created < started_at - CREATION_SLACK:
        notes.append(
            f"the file was created {format_wib(created)}, before the stated stream start "
            f"{format_wib(started_at)}: check stream_started_at and its UTC offset"
        )
    elif created > started_at + duration + timedelta(days=1):
        notes.append(
            f"the file was created {format_wib(created)}, over a day after the clip would have ended: "
            "it may be a re-encoded copy, check the stream's real start"
        )
    return notes


def visible_job(session: Session, caller: Caller, job_id: int) -> Job:
    """A job its submitter (or an administrator) may read; any other is not found."""
    job = session.get(Job, job_id)
    submitted_by = (job.params.get("api_key_id"), job.params.get("user_id")) if job else None
    if job is None or (
        caller.role != ApiKeyRole.ADMINISTRATOR and submitted_by != (caller.key_id, caller.user_id)
    ):
        raise ResourceNotFoundError("job", job_id)
    return job


@dataclass(frozen=True)
class ClipJudgement:
    """A scanned clip judged: the stream with its registry account, and what the rules said."""

    subject: StreamSubject
    judgement: Judgement


def judge_clip(session: Session, scoring: Scoring, params: ClipParams, scan: ClipScan) -> ClipJudgement:
    """Judge a scanned clip against its account's owner (the registry as it is now)."""
    duration_s = max(params.duration_s, scan.last_time_s)
    subject = stream_subject(session, params.platform, params.handle, params.started_at, duration_s)
    return ClipJudgement(
        subject, judge_stream(scoring.calendar, scoring.policy, subject.stream, scan.episodes)
    )


def peak_evidence(
    path: Path, scoring: Scoring, clip: ClipJudgement
) -> Callable[[Finding], list[EvidenceFrame]]:
    """Evidence per finding: the peak frame of an R2 finding's attire episode (R1 needs none)."""
    peaks = {f.episode.peak_time_s for f in clip.judgement.findings if f.episode}
    images = frames_at(path, scoring, peaks)
    detections: dict[float, Detections] = {t: scoring.detector.detect(image) for t, image in images.items()}
    start = clip.judgement.stream.start

    def evidence_for(finding: Finding) -> list[EvidenceFrame]:
        peak = finding.episode.peak_time_s if finding.episode else None
        if peak not in images:
            return []
        return [EvidenceFrame(peak, start + timedelta(seconds=peak), images[peak], detections[peak])]

    return evidence_for


class _Interrupted(Exception):
    """The worker is stopping; the job stays ``running`` and is resumed on the next start."""


def run_clip_job(
    sessions: sessionmaker[Session],
    store: UploadStore,
    scoring: Scoring,
    job_id: int,
    should_stop: Callable[[], bool] = lambda: False,
) -> None:
    """Score, judge and open the cases of one clip job, from scratch; the job ends ``done`` or
    ``failed`` (with the reason), or stays ``running`` when ``should_stop`` interrupts it."""
    model_version = scoring.detector.version
    with sessions() as session:
        job = session.get(Job, job_id)
        if job is None:
            raise ResourceNotFoundError("job", job_id)
        params = ClipParams.from_dict(job.params)
        _start_over(session, job, params, model_version)
        path = store.path(params.upload_sha256, params.suffix)

        def on_frame(time_s: float, detections: Detections) -> None:
            if should_stop():
                raise _Interrupted
            session.add(
                FrameScore(
                    upload_sha256=params.upload_sha256,
                    model_version=model_version,
                    time_s=time_s,
                    detections=detections.to_dict()["detections"],
                )
            )
            job.progress_done += 1
            if job.progress_done % COMMIT_EVERY_FRAMES == 0:
                session.commit()

        try:
            scan = scan_clip(path, scoring, on_frame)
            clip = judge_clip(session, scoring, params, scan)
            session.commit()  # decoding the evidence frames again takes a while: hold no transaction
            provenance = Provenance(params.upload_sha256, model_version, job.id)
            evidence = peak_evidence(path, scoring, clip)
            cases = open_cases(session, store, clip.judgement, clip.subject, provenance, evidence)
            job.result = {
                "outcome": Outcome.of(clip.judgement, params.notes).model_dump(mode="json"),
                "case_ids": [c.id for c in cases],
                "frames": scan.frames,
                "episodes": [e.__dict__ for e in scan.episodes],
            }
            job.state, job.progress_total = JobState.DONE, scan.frames
        except _Interrupted:
            session.rollback()
            log.info(
                "job %d interrupted after %d frames; it resumes on the next start", job_id, job.progress_done
            )
            return
        except VideoError as error:
            _fail(session, job, str(error).replace(str(path), "the clip"))
        except Exception:
            log.exception("job %d failed", job_id)
            _fail(session, job, "internal error while scoring the clip; the server log has the details")
        session.commit()


def _start_over(session: Session, job: Job, params: ClipParams, model_version: str) -> None:
    session.execute(delete(Case).where(Case.job_id == job.id))
    session.execute(
        delete(FrameScore).where(
            FrameScore.upload_sha256 == params.upload_sha256, FrameScore.model_version == model_version
        )
    )
    job.state, job.attempts, job.progress_done = JobState.RUNNING, job.attempts + 1, 0
    job.result = job.error = None
    session.commit()


def _fail(session: Session, job: Job, reason: str) -> None:
    session.rollback()
    job.state, job.error = JobState.FAILED, reason


def next_job_id(session: Session) -> int | None:
    """The oldest job still to do: queued, or running when the server stopped mid-way."""
    query = select(Job.id).where(Job.state.in_([JobState.QUEUED, JobState.RUNNING])).order_by(Job.id).limit(1)
    return session.scalar(query)


class JobWorker:
    """One background thread that runs jobs one at a time, oldest first (the model is shared)."""

    def __init__(
        self, sessions: sessionmaker[Session], store: UploadStore, scoring: Scoring, poll_s: float = 2.0
    ) -> None:
        self._sessions, self._store, self._scoring, self._poll_s = sessions, store, scoring, poll_s
        self._wake, self._stop = threading.Event(), threading.Event()
        self._thread = threading.Thread(target=self._loop, name="seragam-jobs", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        """A job was queued: look now instead of at the next poll."""
        self._wake.set()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop after the current frame; an unfinished job stays ``running`` and resumes next start."""
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout_s)

    def _loop(self) -> None:
        while not self._stop.is_set():
            with self._sessions() as session:
                job_id = next_job_id(session)
                if job_id is not None and self._gave_up(session, job_id):
                    continue
            if job_id is None:
                self._wake.wait(self._poll_s)
                self._wake.clear()
                continue
            token = request_id.set(f"job-{job_id}")  # the job's log lines carry its id
            try:
                run_clip_job(self._sessions, self._store, self._scoring, job_id, self._stop.is_set)
            finally:
                request_id.reset(token)

    @staticmethod
    def _gave_up(session: Session, job_id: int) -> bool:
        job = session.get(Job, job_id)
        if job is None or job.attempts < MAX_ATTEMPTS:
            return False
        job.state = JobState.FAILED
        job.error = f"scoring stopped {job.attempts} times without finishing; the clip may crash the decoder"
        session.commit()
        return True
