"""``seragam batch``: score recorded streams, resumably, on this machine's cores or a Ray cluster.

SOURCE is a folder of recordings, each with a sidecar ``<recording>.json`` holding ``platform``,
``handle`` and ``started_at``; or a manifest, CSV (header ``path,platform,handle,started_at``) or JSONL
(one object with those keys per line), whose relative paths are relative to the manifest's folder.
``started_at`` is the stream's start, ISO 8601 with its UTC offset.

Every recording becomes a ``stream`` job, identified by its content hash, account and start time: run
again, the batch skips finished streams and continues partial ones after their last finished chunk. The
results file is written from the database at the end, so an interrupted and resumed batch writes the same
file as an uninterrupted one.
"""

from __future__ import annotations

import csv
import json
import mimetypes
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from tqdm import tqdm

from api.db.engine import insert_if_absent
from api.db.models import Case, Job, JobKind, JobState, Upload
from api.engine import ChunkRunner, ChunkTask, job_chunks, job_frames
from api.jobs import ClipParams, clip_time_notes, run_jobs
from api.registry import normalise_handle, parse_platform
from api.scoring import Scoring
from api.storage import UploadStore
from api.timestamps import parse_timestamp
from detector.model import file_sha256
from detector.scan import ChunkScan, plan_chunks
from detector.video import VIDEO_SUFFIXES, VideoError, probe

MANIFEST_FIELDS = ("path", "platform", "handle", "started_at")
# A longer stated duration is a damaged header, not a recording: planned, it would be millions of chunks.
MAX_STREAM_S = 7 * 24 * 3600
JOB_GONE = "its job was deleted while the batch ran (retention, or a deletion request); run the batch again"


class BatchSourceError(ValueError):
    """SOURCE is neither a folder of recordings nor a readable manifest."""


@dataclass(frozen=True)
class StreamEntry:
    """One recording to score, as SOURCE names it; ``problem`` says why it cannot be (None: it can)."""

    name: str  # the path as SOURCE gives it: how results and messages refer to the recording
    path: Path
    platform: str = ""
    handle: str = ""
    started_at: datetime | None = None
    problem: str | None = None


def read_source(source: Path, *, skew_s: float) -> list[StreamEntry]:
    """The recordings SOURCE names, each checked (file present, platform, handle, an aware start time
    no more than ``skew_s`` in the future)."""
    if source.is_dir():
        rows = [
            _sidecar_row(source, p) for p in sorted(source.iterdir()) if p.suffix.lower() in VIDEO_SUFFIXES
        ]
        base = source
    elif source.suffix.lower() in (".csv", ".jsonl"):
        rows, base = _manifest_rows(source), source.parent
    else:
        raise BatchSourceError(
            f"{source} is not a folder of recordings or a .csv/.jsonl manifest with columns "
            f"{', '.join(MANIFEST_FIELDS)}"
        )
    return [_entry(base, row, skew_s) for row in rows]


def _sidecar_row(folder: Path, recording: Path) -> dict[str, Any]:
    sidecar = recording.with_suffix(".json")
    row: dict[str, Any] = {"path": recording.name}
    try:
        row |= json.loads(sidecar.read_text())
    except FileNotFoundError:
        row["problem"] = f"no sidecar {sidecar.name} with platform, handle and started_at"
    except (json.JSONDecodeError, TypeError, UnicodeDecodeError) as error:
        row["problem"] = f"sidecar {sidecar.name} is not a JSON object ({error})"
    return row


def _manifest_rows(manifest: Path) -> list[dict[str, Any]]:
    try:
        text = manifest.read_text()
    except (OSError, UnicodeDecodeError) as error:
        raise BatchSourceError(f"cannot read manifest {manifest}: {error}") from None
    if manifest.suffix.lower() == ".csv":
        reader = csv.DictReader(text.splitlines())
        if missing := set(MANIFEST_FIELDS) - set(reader.fieldnames or ()):
            raise BatchSourceError(
                f"{manifest}: the header lacks {sorted(missing)}; it needs {MANIFEST_FIELDS}"
            )
        return list(reader)
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            row = {"path": f"{manifest.name}:{number}", "problem": f"line {number} is not JSON ({error})"}
        rows.append(
            row
            if isinstance(row, dict)
            else {"path": f"{manifest.name}:{number}", "problem": "not an object"}
        )
    return rows


def _entry(base: Path, row: dict[str, Any], skew_s: float) -> StreamEntry:
    name = str(row.get("path") or "")
    path = base / name
    if problem := row.get("problem"):
        return StreamEntry(name, path, problem=problem)
    if not name or not path.is_file():
        return StreamEntry(name, path, problem=f"no recording at {path}")
    try:
        platform = parse_platform(str(row.get("platform") or "")).value
        handle = normalise_handle(str(row.get("handle") or ""))
        started = parse_timestamp(
            "started_at", str(row.get("started_at") or ""), None, now=datetime.now(UTC), skew_s=skew_s
        )
    except ValueError as error:
        return StreamEntry(name, path, problem=str(error))
    return StreamEntry(name, path, platform, handle, started)


@dataclass
class StreamRun:
    """A SOURCE entry and the job that scores it (None when the entry has a problem)."""

    entry: StreamEntry
    job_id: int | None = None
    problem: str | None = None


def register_streams(session: Session, entries: Sequence[StreamEntry]) -> list[StreamRun]:
    """Find or create the job of every entry (committed). A recording is hashed, recorded as an upload
    kept in place (``Upload.path`` is its absolute path) and probed once."""
    jobs = session.scalars(select(Job).where(Job.kind == JobKind.STREAM).order_by(Job.id))
    existing = {_identity(ClipParams.from_dict(j.params)): j.id for j in jobs}
    session.rollback()  # hashing takes a while: hold no transaction (on SQLite, the write lock) meanwhile
    runs = []
    for entry in entries:
        run = StreamRun(entry, problem=entry.problem)
        if entry.problem is None:
            run.job_id, run.problem = _stream_job(session, entry, existing)
            session.commit()
        runs.append(run)
    return runs


def _identity(params: ClipParams) -> tuple[str, str, str, str]:
    return params.upload_sha256, params.platform, params.handle, params.started_at.isoformat()


def _stream_job(
    session: Session, entry: StreamEntry, existing: dict[tuple[str, str, str, str], int]
) -> tuple[int | None, str | None]:
    assert entry.started_at is not None
    sha256 = file_sha256(entry.path)
    resolved = entry.path.resolve()
    key = (sha256, entry.platform, entry.handle, entry.started_at.isoformat())
    job = session.get(Job, existing[key]) if key in existing else None  # None: purged with its upload
    if job is not None:  # the same bytes, perhaps moved since: read them where they are now
        _record_in_place(session, sha256, resolved)  # again if retention has purged the row meanwhile
        job.params = {**job.params, "source_path": str(resolved)}
        return job.id, None
    try:
        info = probe(entry.path)
    except VideoError as error:
        return None, str(error)
    if not info.duration_s:
        return None, f"{entry.path} states no duration (a raw stream?): remux it into MP4 or MKV"
    if info.duration_s > MAX_STREAM_S:
        return None, (
            f"{entry.path} states a duration of {info.duration_s:.0f} s, over {MAX_STREAM_S // 86400} days: "
            "its header is damaged; remux it, which measures it again (ffmpeg -i IN -c copy OUT.mp4)"
        )
    _record_in_place(session, sha256, resolved)
    params = ClipParams(
        sha256,
        resolved.suffix.lower(),
        entry.platform,
        entry.handle,
        entry.started_at,
        info.duration_s,
        tuple(clip_time_notes(info, entry.started_at, datetime.now(UTC))),  # as a clip sent to the API
        source_path=str(resolved),
    )
    job = Job(kind=JobKind.STREAM, params=params.to_dict())
    session.add(job)
    session.flush()
    existing[key] = job.id
    return job.id, None


def _record_in_place(session: Session, sha256: str, resolved: Path) -> None:
    """The ``Upload`` row of a recording scored where it lies (its absolute path), unless one exists."""
    content_type = mimetypes.guess_type(resolved.name)[0] or "application/octet-stream"
    values = {"sha256": sha256, "size": resolved.stat().st_size, "content_type": content_type}
    insert_if_absent(session, Upload, values | {"path": str(resolved)})


def run_batch(
    sessions: sessionmaker[Session],
    store: UploadStore,
    scoring: Scoring,
    runner: ChunkRunner,
    runs: Sequence[StreamRun],
    on_chunk: Callable[[ChunkTask, ChunkScan], None] = lambda task, scan: None,
    *,
    retry_failed: bool = False,
) -> None:
    """Score every stream not finished yet through ``runner``: not ``done``, and not ``failed`` unless
    ``retry_failed`` (the parts that failed are then scanned again)."""
    with sessions() as session:
        finished = {JobState.DONE} if retry_failed else {JobState.DONE, JobState.FAILED}
        jobs = [session.get(Job, r.job_id) for r in runs if r.job_id is not None]
        todo = [job.id for job in jobs if job is not None and job.state not in finished]
    run_jobs(sessions, store, scoring, runner, list(dict.fromkeys(todo)), on_chunk)


def result_lines(session: Session, runs: Sequence[StreamRun]) -> Iterator[dict[str, Any]]:
    """The results file's lines: per stream (in SOURCE order) its summary, with the model that scored
    it (a stream finished before the model changed keeps its scores), then one line per scored frame.
    Database ids are left out: they differ between an interrupted batch and an uninterrupted one."""
    for run in runs:
        stream: dict[str, Any] = {"type": "stream", "path": run.entry.name}
        job = session.get(Job, run.job_id) if run.job_id is not None else None
        if job is None:
            yield stream | {"state": "failed", "error": run.problem or JOB_GONE}
            continue
        params = ClipParams.from_dict(job.params)
        chunks = job_chunks(session, job.id)
        result = job.result or {}
        yield stream | {
            "sha256": params.upload_sha256,
            "platform": params.platform,
            "handle": params.handle,
            "started_at": params.started_at.isoformat(),
            "duration_s": params.duration_s,
            "model": job.params.get("scanned_with", {}).get("model"),
            "state": job.state.value,
            "error": job.error,
            "frames": result.get("frames"),
            "skipped_still_frames": sum(c.skipped for c in chunks),
            "episodes": result.get("episodes"),
            "holes": result.get("holes"),
            "outcome": result.get("outcome"),
            "cases": [_case_line(c) for c in _cases(session, job.id)],
        }
        for time_s, detections in job_frames(session, job):
            yield {
                "type": "frame",
                "sha256": params.upload_sha256,
                "time_s": time_s,
                "detections": detections,
            }


def _cases(session: Session, job_id: int) -> list[Case]:
    return list(session.scalars(select(Case).where(Case.job_id == job_id).order_by(Case.start_at, Case.rule)))


def _case_line(case: Case) -> dict[str, Any]:
    return {
        "rule": case.rule.value,
        "start_at": case.start_at.isoformat(),
        "end_at": case.end_at.isoformat(),
        "score": case.score,
        "evidence": [{"time_offset_s": e.time_offset_s, "sha256": e.original_sha256} for e in case.evidence],
    }


def check_results_path(out: Path) -> None:
    """Refuse, before any scoring, a results file that ``write_results`` could not write at the end."""
    if out.is_dir():
        raise IsADirectoryError(
            f"the results file {out} is a folder: name a file, e.g. {out / 'results.jsonl'}"
        )
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=out.parent).close()  # what write_results needs there
    except OSError as error:
        raise OSError(f"cannot write the results file {out}: {error.strerror or error}") from None


def write_results(lines: Iterator[dict[str, Any]], out: Path) -> None:
    """Write JSON lines to ``out`` atomically (a reader never sees half a file)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=out.parent, suffix=".tmp", delete=False) as tmp:
        try:
            for line in lines:
                tmp.write(json.dumps(line, sort_keys=True) + "\n")
            tmp.close()  # all written before it takes out's place
            os.replace(tmp.name, out)
        except BaseException:  # no stray temporary file beside out, whatever stopped the writing
            Path(tmp.name).unlink()
            raise


class BatchProgress:
    """Progress bars with ETA, in seconds of video: the whole batch, and each stream in progress. A chunk
    counts once: one finished before and scanned again (another model, an error) does not count twice."""

    def __init__(
        self, sessions: sessionmaker[Session], runs: Sequence[StreamRun], chunk_s: float, *, enabled: bool
    ) -> None:
        self._enabled = enabled
        self._bars: dict[int, tqdm] = {}
        self._names = {r.job_id: r.entry.name for r in runs if r.job_id is not None}
        self._chunk_s: dict[int, dict[int, float]] = {}
        self._counted: dict[int, set[int]] = {}
        with sessions() as session:
            for job_id in list(self._names):
                job = session.get(Job, job_id)
                if job is None:  # deleted meanwhile (JOB_GONE): nothing of it will be scanned
                    del self._names[job_id]
                    continue
                duration = job.params["duration_s"]
                self._chunk_s[job_id] = {
                    c.index: (c.end_s or duration) - c.start_s for c in plan_chunks(duration, chunk_s)
                }
                self._counted[job_id] = {c.n for c in job_chunks(session, job_id)}
        self._total = tqdm(
            total=round(sum(sum(spans.values()) for spans in self._chunk_s.values())),
            initial=round(self.done_s),
            unit="s",
            desc="video scored",
            disable=not enabled,
        )

    @property
    def done_s(self) -> float:
        """Seconds of video scored, in this run or before."""
        return sum(self._seconds(job_id) for job_id in self._names)

    def _seconds(self, job_id: int) -> float:
        spans = self._chunk_s[job_id]
        return sum(spans.get(n, 0.0) for n in self._counted[job_id])

    def chunk_done(self, task: ChunkTask, scan: ChunkScan) -> None:
        if scan.error and self._enabled:
            tqdm.write(f"seragam: {self._names[task.job_id]}: {scan.error}")
        if task.chunk.index in self._counted[task.job_id]:
            return
        self._counted[task.job_id].add(task.chunk.index)
        seconds = self._chunk_s[task.job_id].get(task.chunk.index, 0.0)
        self._total.update(round(seconds))
        if not self._enabled:
            return
        if task.job_id not in self._bars:
            total = round(sum(self._chunk_s[task.job_id].values()))
            done = round(self._seconds(task.job_id) - seconds)
            self._bars[task.job_id] = tqdm(
                total=total, initial=done, unit="s", desc=self._names[task.job_id][-30:], leave=False
            )
        self._bars[task.job_id].update(round(seconds))

    def __enter__(self) -> BatchProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        for bar in self._bars.values():
            bar.close()
        self._total.close()


def batch_summary(session: Session, runs: Sequence[StreamRun]) -> list[tuple[str, ...]]:
    """One row per SOURCE entry: stream, state, video length, frames, episodes, cases, error."""
    rows = []
    for run in runs:
        job = session.get(Job, run.job_id) if run.job_id is not None else None
        if job is None:
            rows.append((run.entry.name, "failed", "", "", "", "", run.problem or JOB_GONE))
            continue
        rules = [c.rule.value for c in _cases(session, job.id)]
        result = job.result or {}
        rows.append(
            (
                run.entry.name,
                job.state.value,
                f"{job.params['duration_s']:.0f} s",
                str(result.get("frames", "")),
                str(len(result.get("episodes") or [])),
                f"R1 {rules.count('R1')} / R2 {rules.count('R2')}",
                job.error or "",
            )
        )
    return rows
