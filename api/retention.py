"""Retention and deletion: images of people are kept only while a review needs them (UU 27/2022).

- An upload that opened no case (a frame or clip without findings) is deleted ``unflagged_days`` after
  it came: the stored file, its frame scores, its jobs and its row. A recording ``seragam batch``
  scored in place is the agency's own file and stays; what the service derived from it goes.
- A dismissed case loses its evidence images ``dismissed_days`` after its dismissal, and its upload's
  file and frame scores go too once every case on that upload has; the cases, their decisions, the
  upload's hash, its jobs (the cases' provenance) and the audit trail stay, so who decided what, and
  when, remains on record.
- A deletion request removes one upload and everything about it: its cases with their evidence and
  decisions, its frame scores, its jobs, the stored file; a job still scoring it is stopped (marked
  failed), its row kept for the runner that holds it.

An upload deleted goes with its jobs: their parameters name the account and the stream start, their
results the judgement. The store is content-addressed, so an uploaded JPEG and an evidence image of the
same bytes are one file: a file stays while an evidence frame or another upload still names it.
Every deletion adds an audit entry saying what went.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import and_, delete, func, not_, or_, select
from sqlalchemy.orm import Session, sessionmaker

from api.audit import record
from api.auth import Caller
from api.cases import EVIDENCE_SUFFIX
from api.db.models import (
    Case,
    CaseDecision,
    CaseState,
    DecisionKind,
    Evidence,
    FrameScore,
    Job,
    JobState,
    ScanChunk,
    Upload,
)
from api.errors import ResourceNotFoundError
from api.storage import UploadStore

PURGE_EVERY_S = 24 * 3600

log = logging.getLogger(__name__)


@dataclass
class Deleted:
    """What a purge or a deletion removed."""

    uploads: int = 0
    cases: int = 0
    evidence_frames: int = 0
    frame_scores: int = 0
    files: int = 0
    jobs: int = 0
    jobs_stopped: int = 0


def purge_expired(
    session: Session,
    store: UploadStore,
    *,
    now: datetime,
    unflagged_days: int,
    dismissed_days: int,
    actor: Caller | str = "retention",
) -> Deleted:
    """Delete what has outlived its retention period; flushed and audited, the caller commits."""
    deleted = Deleted()
    jobs = _jobs_by_upload(session)
    flagged = select(Case.upload_sha256).where(Case.upload_sha256.is_not(None))
    expired = session.scalars(
        select(Upload).where(
            Upload.created_at < now - timedelta(days=unflagged_days), Upload.sha256.not_in(flagged)
        )
    )
    # Jobs a deletion request stopped while their runner held them: gone once it has let go (a day on).
    uploads, let_go = set(session.scalars(select(Upload.sha256))), now - timedelta(days=1)
    for sha256, orphans in jobs.items():
        for job in orphans:
            if sha256 not in uploads and not job.state.unfinished and job.updated_at < let_go:
                session.delete(job)
                deleted.jobs += 1
    for upload in list(expired):
        if not _busy(jobs[upload.sha256]):
            _delete_upload_data(session, store, upload, jobs[upload.sha256], deleted)
    dismissed_at = (
        select(CaseDecision.case_id, func.max(CaseDecision.at).label("at"))
        .where(CaseDecision.kind == DecisionKind.DISMISS)
        .group_by(CaseDecision.case_id)
        .subquery()
    )
    long_dismissed = and_(
        Case.state == CaseState.DISMISSED, dismissed_at.c.at < now - timedelta(days=dismissed_days)
    )
    with_dismissal = select(Case).outerjoin(dismissed_at, dismissed_at.c.case_id == Case.id)
    stale = list(session.scalars(with_dismissal.where(long_dismissed)))
    for case in stale:
        _delete_evidence(session, store, case, deleted)
    # An upload whose every case was dismissed long ago goes too (file and frame scores); its row stays,
    # as the hash the kept cases name.
    live = with_dismissal.where(or_(not_(long_dismissed), dismissed_at.c.at.is_(None)))
    in_review = set(session.scalars(live.with_only_columns(Case.upload_sha256).distinct()))
    for sha256 in sorted({case.upload_sha256 for case in stale if case.upload_sha256} - in_review):
        upload = session.get(Upload, sha256)
        if upload is not None and not _busy(jobs[sha256]):
            _delete_upload_files(session, store, upload, jobs[sha256], deleted)
    if deleted != Deleted():
        detail = asdict(deleted) | {"unflagged_days": unflagged_days, "dismissed_days": dismissed_days}
        record(session, actor, "retention_purge", "uploads", detail)
    return deleted


def delete_upload(session: Session, store: UploadStore, sha256: str, actor: Caller | str) -> Deleted:
    """A deletion request: the upload ``sha256`` and everything about it; audited, the caller commits.
    Raises ``ResourceNotFoundError`` for an unknown upload."""
    upload = session.get(Upload, sha256)
    if upload is None:
        raise ResourceNotFoundError("upload", sha256)
    deleted = Deleted()
    for case in session.scalars(select(Case).where(Case.upload_sha256 == sha256)):
        _delete_evidence(session, store, case, deleted)
        session.execute(delete(CaseDecision).where(CaseDecision.case_id == case.id))
        session.delete(case)
        deleted.cases += 1
    jobs = _jobs_by_upload(session)[sha256]
    stopped = [job for job in jobs if job.state.unfinished]
    running = [job for job in stopped if job.state == JobState.RUNNING]  # held by a runner: kept, failed
    for job in running:  # its runner finds it failed and stores nothing more; a later purge removes it
        job.state, job.error = JobState.FAILED, "the upload was deleted on request before it was scored"
    deleted.jobs_stopped = len(stopped)
    session.flush()
    _delete_upload_data(session, store, upload, jobs, deleted, keep=running)
    record(session, actor, "deletion_request", f"upload:{sha256}", asdict(deleted))
    return deleted


def _jobs_by_upload(session: Session) -> defaultdict[str, list[Job]]:
    """Every job by the upload it scores (the upload's hash is in the job's JSON parameters), read once."""
    jobs: defaultdict[str, list[Job]] = defaultdict(list)
    for job in session.scalars(select(Job)):
        jobs[job.params.get("upload_sha256", "")].append(job)
    return jobs


def _busy(jobs: list[Job]) -> bool:
    return any(job.state.unfinished for job in jobs)


def _delete_upload_data(
    session: Session,
    store: UploadStore,
    upload: Upload,
    jobs: list[Job],
    deleted: Deleted,
    keep: Sequence[Job] = (),
) -> None:
    """The upload with its files and its jobs, but those in ``keep`` (stopped: a runner still holds them,
    and a row gone under it would break its run)."""
    _delete_upload_files(session, store, upload, jobs, deleted)
    for job in jobs:
        if job not in keep:
            session.delete(job)
            deleted.jobs += 1
    session.delete(upload)
    deleted.uploads += 1
    session.flush()


def _delete_upload_files(
    session: Session, store: UploadStore, upload: Upload, jobs: list[Job], deleted: Deleted
) -> None:
    """The upload's stored file and what was derived from it (frame scores, scan progress)."""
    scores = session.execute(delete(FrameScore).where(FrameScore.upload_sha256 == upload.sha256))
    deleted.frame_scores += scores.rowcount
    session.execute(delete(ScanChunk).where(ScanChunk.job_id.in_([job.id for job in jobs])))
    suffix = Path(upload.path).suffix
    # A recording scored in place is not the store's; an evidence frame may show this very file.
    if not Path(upload.path).is_absolute() and not _still_named(session, upload.sha256, suffix, upload):
        deleted.files += store.remove(upload.sha256, suffix)


def _delete_evidence(session: Session, store: UploadStore, case: Case, deleted: Deleted) -> None:
    """An evidence file goes with the last evidence frame that shows it, unless an upload is that very
    file (a JPEG frame is its own evidence): it then goes with that upload's files."""
    images = {e.original_sha256 for e in case.evidence}
    deleted.evidence_frames += len(case.evidence)
    case.evidence.clear()
    session.flush()
    for sha256 in images:
        if not _still_named(session, sha256, EVIDENCE_SUFFIX):
            deleted.files += store.remove(sha256, EVIDENCE_SUFFIX)


def _still_named(session: Session, sha256: str, suffix: str, going: Upload | None = None) -> bool:
    """Whether an evidence frame, or an upload other than ``going``, names the stored file of these bytes
    (an uploaded JPEG and an evidence image of the same bytes are one file)."""
    shown = select(Evidence.id).where(Evidence.original_sha256 == sha256).limit(1)
    if suffix == EVIDENCE_SUFFIX and session.scalar(shown) is not None:
        return True
    upload = session.get(Upload, sha256)
    return upload is not None and upload is not going and upload.path == f"{sha256}{suffix}"


class RetentionSchedule:
    """Runs ``purge_expired`` when the service starts and once a day after, in a background thread."""

    def __init__(
        self, sessions: sessionmaker[Session], store: UploadStore, unflagged_days: int, dismissed_days: int
    ) -> None:
        self._sessions, self._store = sessions, store
        self._days = {"unflagged_days": unflagged_days, "dismissed_days": dismissed_days}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="seragam-retention", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        self._stop.set()
        self._thread.join(timeout_s)

    @property
    def alive(self) -> bool:
        """Whether the thread runs (``/readyz`` reports one that has stopped)."""
        return self._thread.is_alive()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                with self._sessions() as session:
                    deleted = purge_expired(session, self._store, now=datetime.now(UTC), **self._days)
                    session.commit()
                if deleted != Deleted():
                    log.info("retention purge: %s", asdict(deleted))
            except Exception:
                log.exception("retention purge failed; it runs again in a day")
            self._stop.wait(PURGE_EVERY_S)
