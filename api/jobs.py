"""Jobs that score a recording: clips uploaded to the service (accepted after the clip is probed, run by
one background thread) and streams of ``seragam batch`` (recordings scored in place).

Both run through the engine (``api.engine``): chunks are scanned and committed one by one, then the
frames are aggregated into episodes, judged, and the cases opened. A job found ``queued`` or ``running``
(the process died mid-way) continues after its last finished chunk; the cases of a finish cut short are
deleted first, so the result is the same as one uninterrupted run.
"""

from __future__ import annotations

import logging
import math
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from api.auth import Caller
from api.cases import EvidenceFrame, Provenance, open_cases
from api.db.models import UNFINISHED_JOB_STATES, Case, Job, JobKind, JobState, ScanChunk
from api.engine import (
    ChunkRunner,
    ChunkTask,
    FrameRecord,
    InProcessRunner,
    ScanInterruptedError,
    attire_score,
    frame_episodes,
    job_chunks,
    job_frames,
    pending_tasks,
    record_chunk,
    recording_holes,
    scan_signature,
)
from api.errors import InvalidUploadError, ResourceNotFoundError
from api.policy import Finding, Judgement, format_wib, judge_stream
from api.registry import normalise_handle, parse_platform
from api.request_ids import request_id
from api.schemas import Outcome
from api.scoring import ClipScan, Scoring, StreamSubject, stream_subject
from api.storage import StoredFile, UploadStore
from api.uploads import StagedFile, record_upload, stored_suffix
from detector.detections import Detections
from detector.scan import ChunkScan
from detector.video import VideoError, VideoInfo, decode_frame_at, probe

log = logging.getLogger(__name__)

MAX_CLIP_S = 24 * 3600  # a longer stated duration is a damaged header (no clip upload is that long)
MAX_ATTEMPTS = 3  # a clip that kills the server this often is marked failed instead of retried forever
INTERNAL_ERROR = "internal error while scoring the recording; the log has the details"
CHUNK_NOT_STORED = (
    "its frame scores could not be stored: the upload was deleted, or another run scored the same job "
    "at the same time; submit the recording again"
)
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
    source_path: str | None = None  # a recording scored in place (batch), not a stored upload

    def path(self, store: UploadStore) -> Path:
        """Where the recording is read from."""
        return Path(self.source_path) if self.source_path else store.path(self.upload_sha256, self.suffix)

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "started_at": self.started_at.isoformat(), "notes": list(self.notes)}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> ClipParams:
        known = {k: v for k, v in raw.items() if k in cls.__dataclass_fields__}
        return cls(
            **{**known, "started_at": datetime.fromisoformat(raw["started_at"]), "notes": tuple(raw["notes"])}
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
    """Probe a staged clip and queue its job; refused clips (``InvalidUploadError``, unknown platform,
    rows the database refuses) leave nothing stored: the file goes into the store last. Flushed, the
    caller commits."""
    clean_platform, clean_handle = parse_platform(platform).value, normalise_handle(handle)
    info = _probe_upload(staged.path)
    suffix = stored_suffix(session, staged.sha256, suffix)
    params = ClipParams(
        staged.sha256,
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
    stored = StoredFile(staged.sha256, staged.size, store.location(staged.sha256, suffix))
    record_upload(session, stored, content_type)
    session.flush()
    store.adopt(staged.path, staged.sha256, suffix)
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
    if info.duration_s > MAX_CLIP_S:
        raise InvalidUploadError(
            f"the clip states a duration of {info.duration_s:.0f} s, over a day: its header is damaged; "
            "re-export the clip (save it again from the recorder or phone)"
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
    """A job its submitter (or a registry-wide administrator) may read; any other is not found. An
    administrator scoped to agencies is not let in: a job's result names cases of any agency."""
    job = session.get(Job, job_id)
    submitted_by = (job.params.get("api_key_id"), job.params.get("user_id")) if job else None
    if job is None or (not caller.registry_wide and submitted_by != (caller.key_id, caller.user_id)):
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


def scan_of(frames: Sequence[FrameRecord], scoring: Scoring) -> ClipScan:
    """The episodes of a clip's scored frames, with the policy's episode thresholds, and its holes."""
    episodes = frame_episodes(frames, scoring.official, scoring.policy.episodes, scoring.scan)
    holes = recording_holes([time_s for time_s, _ in frames], scoring.scan)
    return ClipScan(episodes, len(frames), frames[-1][0] if frames else 0.0, holes)


def clip_evidence(
    path: Path, scoring: Scoring, clip: ClipJudgement, frames: Sequence[FrameRecord]
) -> Callable[[Finding], list[EvidenceFrame]]:
    """Evidence per finding: its ``evidence_frame``, decoded again as it was scored, with the detections
    stored for it."""
    start = clip.judgement.stream.start

    def evidence_for(finding: Finding) -> list[EvidenceFrame]:
        at, records = evidence_frame(frames, finding, start, scoring.official)
        image = decode_frame_at(path, at, scoring.scan.max_side)
        height, width = image.shape[:2]
        detections = Detections.from_records(records, scoring.detector.class_names, (width, height))
        return [EvidenceFrame(at, start + timedelta(seconds=at), image, detections)]

    return evidence_for


def evidence_frame(
    frames: Sequence[FrameRecord], finding: Finding, stream_start: datetime, official: frozenset[str]
) -> FrameRecord:
    """The scored frame that shows a finding, inside its span ``[start, end)``: for R2 the highest-scoring
    one (an episode may start before the span, in working hours; the span's end counts too when it is the
    episode's own last frame, else it is working time), for R1 the first one (who was live, and what the
    stream showed, when working time began to count). A span without one (its frames were still, counted
    but not scored) shows its first moment, with the detections of the frame before it that the span's
    held score came from."""
    first, last = ((t - stream_start).total_seconds() for t in (finding.start, finding.end))
    episode = finding.episode
    closed = episode is not None and abs(last - episode.end_s) < 1e-6
    inside = [
        (t, d) for t, d in frames if first - 1e-6 <= t and (t < last - 1e-6 or (closed and t <= last + 1e-6))
    ]
    if inside:
        return max(inside, key=lambda frame: attire_score(frame[1], official)) if episode else inside[0]
    before = [detections for t, detections in frames if t < first]
    return first, before[-1] if before else []


def run_jobs(
    sessions: sessionmaker[Session],
    store: UploadStore,
    scoring: Scoring,
    runner: ChunkRunner,
    job_ids: Sequence[int],
    on_chunk: Callable[[ChunkTask, ChunkScan], None] = lambda task, scan: None,
) -> None:
    """Scan the chunks still to do of every job, then judge each job and open its cases as soon as its
    last chunk is in. Jobs end ``done`` or ``failed`` (with the reason); when ``runner`` is interrupted
    (``ScanInterruptedError``) the unfinished ones stay ``running``, with every finished chunk kept."""
    model_version = scoring.detector.version
    with sessions() as session:
        tasks: list[ChunkTask] = []
        for job_id in job_ids:
            job = session.get(Job, job_id)
            if job is None:  # deleted with its upload (a deletion request, retention) since it was listed
                log.info("job %d is gone with its upload; nothing to scan", job_id)
                continue
            pending = _start(session, store, scoring, job)
            session.commit()
            if pending:
                tasks += pending
            else:
                _finish(session, store, scoring, job)
        remaining = Counter(task.job_id for task in tasks)
        try:
            for task, scan in runner.run(tasks):
                remaining[task.job_id] -= 1
                job = session.get_one(Job, task.job_id, populate_existing=True)
                if job.state != JobState.RUNNING:  # failed meanwhile: its upload was deleted on request
                    continue
                try:
                    record_chunk(session, job, model_version, task, scan)
                    session.commit()
                except IntegrityError:  # the upload went (or another run stored this chunk) meanwhile
                    log.exception("job %d: chunk %d could not be stored", job.id, task.chunk.index)
                    _fail(session, job, CHUNK_NOT_STORED)
                    session.commit()
                    continue
                on_chunk(task, scan)
                if remaining[task.job_id] == 0:
                    _finish(session, store, scoring, job)
        except ScanInterruptedError:
            session.rollback()
            for job_id in [job_id for job_id, left in remaining.items() if left > 0]:
                job = session.get_one(Job, job_id, populate_existing=True)
                if job.state == JobState.RUNNING:  # a clean stop is not a crash: it costs no attempt
                    job.attempts -= 1
            session.commit()
            log.info("scanning interrupted; unfinished jobs continue from their last chunk next time")


def _start(session: Session, store: UploadStore, scoring: Scoring, job: Job) -> list[ChunkTask]:
    """Mark ``job`` running and return its chunks still to scan. Chunks scanned with another model or
    other settings, and chunks cut short by an error, are scanned again; cases of a finish that was cut
    short are deleted."""
    signature = scan_signature(scoring.detector, scoring.scan)
    stale = ScanChunk.error.is_not(None)
    if job.params.get("scanned_with") != signature:
        stale = ScanChunk.id.is_not(None)
        job.params = {**job.params, "scanned_with": signature}
    session.execute(delete(ScanChunk).where(ScanChunk.job_id == job.id, stale))
    job.progress_done = sum(len(c.times) for c in job_chunks(session, job.id))
    session.execute(delete(Case).where(Case.job_id == job.id))
    job.state, job.attempts, job.result, job.error = JobState.RUNNING, job.attempts + 1, None, None
    try:
        path = ClipParams.from_dict(job.params).path(store)
    except FileNotFoundError as error:
        job.state, job.error = JobState.FAILED, str(error)
        return []
    return pending_tasks(session, job, path, scoring.scan)


def _finish(session: Session, store: UploadStore, scoring: Scoring, job: Job) -> None:
    """Judge a job whose chunks are all in, open its cases and mark it done; or mark it failed."""
    if job.state == JobState.FAILED:
        session.commit()
        return
    params = ClipParams.from_dict(job.params)
    path = Path(params.source_path or "the clip")
    try:
        path = params.path(store)
        if errors := [c.error for c in job_chunks(session, job.id) if c.error]:
            raise VideoError(errors[0])
        frames = job_frames(session, job)
        scan = scan_of(frames, scoring)
        clip = judge_clip(session, scoring, params, scan)
        session.commit()  # decoding the evidence frames takes a while: hold no transaction meanwhile
        provenance = Provenance(params.upload_sha256, scoring.detector.version, job.id)
        evidence = clip_evidence(path, scoring, clip, frames)
        cases = open_cases(session, store, clip.judgement, clip.subject, provenance, evidence)
        job.result = {
            "outcome": Outcome.of(clip.judgement, params.notes).model_dump(mode="json"),
            "case_ids": [c.id for c in cases],
            "frames": len(frames),
            "episodes": [e.__dict__ for e in scan.episodes],
            "holes": [list(hole) for hole in scan.holes],
        }
        job.state, job.progress_total = JobState.DONE, len(frames)
    except (VideoError, FileNotFoundError) as error:  # FileNotFoundError: deleted on request meanwhile
        named = str(error).replace(str(path), "the clip") if params.source_path is None else str(error)
        _fail(session, job, named)
    except Exception:
        _fail(session, job, INTERNAL_ERROR)  # first: after a failed flush the job reads only once rolled back
        log.exception("job %d failed", job.id)
    session.commit()


def _fail(session: Session, job: Job, reason: str) -> None:
    session.rollback()
    session.expire(job)  # read again: the rollback expires nothing when no transaction had begun
    if job.state != JobState.FAILED:  # a deletion request that stopped it meanwhile gave the reason
        job.state, job.error = JobState.FAILED, reason


def next_job_id(session: Session) -> int | None:
    """The oldest clip job still to do: queued, or running when the server stopped mid-way (batch
    streams are left to ``seragam batch``)."""
    query = (
        select(Job.id)
        .where(Job.kind == JobKind.CLIP, Job.state.in_(UNFINISHED_JOB_STATES))
        .order_by(Job.id)
        .limit(1)
    )
    return session.scalar(query)


class JobWorker:
    """One background thread that runs clip jobs one at a time, oldest first, in this process (the
    model is the service's one)."""

    def __init__(
        self, sessions: sessionmaker[Session], store: UploadStore, scoring: Scoring, poll_s: float = 2.0
    ) -> None:
        self._sessions, self._store, self._scoring, self._poll_s = sessions, store, scoring, poll_s
        self._wake, self._stop = threading.Event(), threading.Event()
        self._thread = threading.Thread(target=self._loop, name="seragam-jobs", daemon=True)
        self._runner = InProcessRunner(scoring.detector, scoring.scan, self._stop.is_set)

    def start(self) -> None:
        self._thread.start()

    @property
    def alive(self) -> bool:
        """Whether the thread runs (``/readyz`` reports one that has stopped)."""
        return self._thread.is_alive()

    def wake(self) -> None:
        """A job was queued: look now instead of at the next poll."""
        self._wake.set()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop after the current chunk; an unfinished job stays ``running`` and resumes next start."""
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout_s)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                with self._sessions() as session:
                    job_id = next_job_id(session)
                    if job_id is not None and self._gave_up(session, job_id):
                        continue
            except Exception:  # the database is busy or gone for a while: wait, then poll again
                log.exception("could not read the job queue")
                self._stop.wait(self._poll_s)
                continue
            if job_id is None:
                self._wake.wait(self._poll_s)
                self._wake.clear()
                continue
            token = request_id.set(f"job-{job_id}")  # the job's log lines carry its id
            try:
                run_jobs(self._sessions, self._store, self._scoring, self._runner, [job_id])
            except Exception:  # the worker outlives any one job: that job fails, the queue goes on
                log.exception("job %d stopped on an unexpected error", job_id)
                self._fail_unfinished(job_id)
            finally:
                request_id.reset(token)

    def _fail_unfinished(self, job_id: int) -> None:
        try:
            with self._sessions() as session:
                job = session.get_one(Job, job_id)
                if job.state.unfinished:
                    _fail(session, job, INTERNAL_ERROR)
                    session.commit()
        except Exception:  # the database itself is failing: wait before the next try
            log.exception("job %d could not be marked failed", job_id)
            self._stop.wait(self._poll_s)

    @staticmethod
    def _gave_up(session: Session, job_id: int) -> bool:
        job = session.get(Job, job_id)
        if job is None or job.attempts < MAX_ATTEMPTS:
            return False
        job.state = JobState.FAILED
        job.error = f"scoring stopped {job.attempts} times without finishing; the clip may crash the decoder"
        session.commit()
        return True
