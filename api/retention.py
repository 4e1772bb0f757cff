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

A purge or a deletion locks each upload row it removes or removes files of (``locked_upload``), as
recording the same bytes again does: on PostgreSQL (READ COMMITTED) a deletion and a re-upload of the
same bytes would otherwise interleave, and the deletion would remove files the re-upload's new case
shows, or fail on it. Files are removed last, after every row that goes is deleted and only when no row
names them then, so no statement can fail after a file went (a failed deletion keeps all it had); this
happens while the locks are held, not after the commit: a re-upload waiting on the lock would otherwise
find the file still there, keep it, and lose it a moment later.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
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
from api.errors import InvalidUploadError, ResourceNotFoundError
from api.storage import UploadStore, is_sha256
from api.uploads import locked_upload

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


@dataclass
class _StoredFiles:
    """The stored files a purge or deletion may remove (sha256, suffix), and the uploads whose file goes
    (their rows deleted or kept as the hash that kept cases name); removed by ``_remove_unnamed``."""

    candidates: set[tuple[str, str]] = field(default_factory=set)
    uploads_going: set[str] = field(default_factory=set)


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
    deleted, files = Deleted(), _StoredFiles()
    jobs = _jobs_by_upload(session)
    flagged = select(Case.upload_sha256).where(Case.upload_sha256.is_not(None))
    expired = select(Upload.sha256).where(
        Upload.created_at < now - timedelta(days=unflagged_days), Upload.sha256.not_in(flagged)
    )
    # Jobs a deletion request stopped while their runner held them: gone once it has let go (a day on).
    uploads, let_go = set(session.scalars(select(Upload.sha256))), now - timedelta(days=1)
    for sha256, orphans in jobs.items():
        for job in orphans:
            if sha256 not in uploads and not job.state.unfinished and job.updated_at < let_go:
                session.delete(job)
                deleted.jobs += 1
    for sha256 in list(session.scalars(expired)):
        # Asked again once locked: the same bytes sent again meanwhile dated the upload anew.
        upload = locked_upload(session, sha256)
        still_expired = session.scalar(expired.where(Upload.sha256 == sha256)) is not None
        if upload is not None and still_expired and not _busy(jobs[sha256]):
            _delete_upload_data(session, upload, jobs[sha256], deleted, files)
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
        _delete_evidence(case, deleted, files)
    # An upload whose every case was dismissed long ago goes too (file and frame scores); its row stays,
    # as the hash the kept cases name. Asked once locked: the same bytes sent again may have opened a case.
    live = with_dismissal.where(or_(not_(long_dismissed), dismissed_at.c.at.is_(None)))
    for sha256 in sorted({case.upload_sha256 for case in stale if case.upload_sha256}):
        upload = locked_upload(session, sha256)
        in_review = session.scalar(live.where(Case.upload_sha256 == sha256).limit(1)) is not None
        if upload is not None and not in_review and not _busy(jobs[sha256]):
            _delete_upload_files(session, upload, jobs[sha256], deleted, files)
    _remove_unnamed(session, store, files, deleted)
    if deleted != Deleted():
        detail = asdict(deleted) | {"unflagged_days": unflagged_days, "dismissed_days": dismissed_days}
        record(session, actor, "retention_purge", "uploads", detail)
    return deleted


def delete_upload(session: Session, store: UploadStore, sha256: str, actor: Caller | str) -> Deleted:
    """A deletion request: the upload ``sha256`` and everything about it; audited, the caller commits.
    Raises ``InvalidUploadError`` for text that is not a sha256, ``ResourceNotFoundError`` for an
    unknown upload."""
    sha256 = _upload_sha256(sha256)
    # Locked first: the cases a re-upload of these bytes opened meanwhile are committed and go too.
    upload = locked_upload(session, sha256)
    if upload is None:
        # Only callers who see every agency ask (BKPSDM administrators, the CLI): no word of agencies.
        raise ResourceNotFoundError("upload", sha256, "check the sha256 (it may have been deleted already)")
    deleted, files = Deleted(), _StoredFiles()
    for case in session.scalars(select(Case).where(Case.upload_sha256 == sha256)):
        _delete_evidence(case, deleted, files)
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
    _delete_upload_data(session, upload, jobs, deleted, files, keep=running)
    _remove_unnamed(session, store, files, deleted)
    record(session, actor, "deletion_request", f"upload:{sha256}", asdict(deleted))
    return deleted


def _upload_sha256(given: str) -> str:
    """The hash as stored (lower-case hex) from one as a person pastes it: PowerShell's Get-FileHash and
    certutil print upper case, and a copied hash may bring spaces or a line end along."""
    sha256 = given.strip().lower()
    if not is_sha256(sha256):
        raise InvalidUploadError(
            f"{given[:80]!r} is not a sha256: give the upload's 64 hex characters (0-9 and a-f, either "
            "case), as the upload's response, its cases and jobs, or sha256sum show it"
        )
    return sha256


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
    upload: Upload,
    jobs: list[Job],
    deleted: Deleted,
    files: _StoredFiles,
    keep: Sequence[Job] = (),
) -> None:
    """The upload with its files and its jobs, but those in ``keep`` (stopped: a runner still holds them,
    and a row gone under it would break its run)."""
    _delete_upload_files(session, upload, jobs, deleted, files)
    for job in jobs:
        if job not in keep:
            session.delete(job)
            deleted.jobs += 1
    session.delete(upload)
    deleted.uploads += 1
    session.flush()


def _delete_upload_files(
    session: Session, upload: Upload, jobs: list[Job], deleted: Deleted, files: _StoredFiles
) -> None:
    """The upload's stored file and what was derived from it (frame scores, scan progress)."""
    scores = session.execute(delete(FrameScore).where(FrameScore.upload_sha256 == upload.sha256))
    deleted.frame_scores += scores.rowcount
    session.execute(delete(ScanChunk).where(ScanChunk.job_id.in_([job.id for job in jobs])))
    if not Path(upload.path).is_absolute():  # a recording scored in place is not the store's
        files.candidates.add((upload.sha256, Path(upload.path).suffix))
        files.uploads_going.add(upload.sha256)


def _delete_evidence(case: Case, deleted: Deleted, files: _StoredFiles) -> None:
    """A case's evidence frames; their files go with the last evidence frame that shows them, unless an
    upload is that very file (a JPEG frame is its own evidence): it then goes with that upload's files."""
    files.candidates |= {(e.original_sha256, EVIDENCE_SUFFIX) for e in case.evidence}
    deleted.evidence_frames += len(case.evidence)
    case.evidence.clear()


def _remove_unnamed(session: Session, store: UploadStore, files: _StoredFiles, deleted: Deleted) -> None:
    """Remove the candidate files that no row names any more, once every row that goes is flushed."""
    session.flush()
    for sha256, suffix in sorted(files.candidates):
        if not _still_named(session, sha256, suffix, files.uploads_going):
            deleted.files += store.remove(sha256, suffix)


def _still_named(session: Session, sha256: str, suffix: str, uploads_going: set[str]) -> bool:
    """Whether an evidence frame, or an upload whose file stays, names the stored file of these bytes
    (an uploaded JPEG and an evidence image of the same bytes are one file)."""
    shown = select(Evidence.id).where(Evidence.original_sha256 == sha256).limit(1)
    if suffix == EVIDENCE_SUFFIX and session.scalar(shown) is not None:
        return True
    upload = session.get(Upload, sha256)
    return upload is not None and sha256 not in uploads_going and upload.path == f"{sha256}{suffix}"


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
