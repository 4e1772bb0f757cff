"""The scoring engine: the service's clip jobs and the streams of ``seragam batch`` both run through it.

A job's recording is cut into chunks (``detector.scan``). A runner scans chunks: in this process with the
service's model (``InProcessRunner``), in worker processes with one model each (``ProcessPoolRunner``),
or on a Ray cluster (``RayRunner``). Each finished chunk is committed with its frame scores in one
transaction, so an interrupted job continues after its last finished chunk, and what a job finds does
not depend on where, in what order or over how many runs its chunks were scanned.
"""

from __future__ import annotations

import math
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.db.engine import insert_if_absent
from api.db.models import FrameScore, Job, ScanChunk
from detector.attire import load_detector
from detector.detections import Detections
from detector.episodes import AttireEpisode, EpisodeConfig, aggregate_episodes
from detector.model import Detector
from detector.scan import Chunk, ChunkScan, ScanSettings, plan_chunks, scan_chunk
from detector.taxonomy import load_taxonomy

FrameRecord = tuple[float, list[dict[str, Any]]]  # (time_s, detections as stored in FrameScore)


@dataclass(frozen=True)
class ChunkTask:
    """One chunk of one job's recording: everything a worker needs, and nothing of the database."""

    job_id: int
    path: str
    chunk: Chunk


class RayUnavailableError(ValueError):
    """Ray is not installed, or no cluster answers at the address given."""


class ScanInterruptedError(Exception):
    """The caller asked the runner to stop; finished chunks are kept, the rest run next time."""


class ChunkRunner(Protocol):
    def run(self, tasks: Sequence[ChunkTask]) -> Iterator[tuple[ChunkTask, ChunkScan]]:
        """Scan every task, yielding each as it finishes (in any order)."""
        ...


class InProcessRunner:
    """Scans chunks one after another with a model already loaded here (the service's)."""

    def __init__(
        self, detector: Detector, settings: ScanSettings, should_stop: Callable[[], bool] = lambda: False
    ) -> None:
        self._detector, self._settings, self._should_stop = detector, settings, should_stop

    def run(self, tasks: Sequence[ChunkTask]) -> Iterator[tuple[ChunkTask, ChunkScan]]:
        for task in tasks:
            if self._should_stop():
                raise ScanInterruptedError
            yield task, scan_chunk(task.path, self._detector, self._settings, task.chunk)


WorkerModel = Detector | ValueError | OSError  # a worker's model, or why it could not be loaded


def _load_model(weights: str, attire: str | None) -> WorkerModel:
    """A worker's own copy of the model. A file it cannot load is kept as its error and raised by each
    chunk (``_scan_with``), so the batch stops with the loader's message: failing where the worker starts
    would only break the pool or the actor, and the caller would learn nothing of why."""
    try:
        return load_detector(weights, attire)
    except (ValueError, OSError) as error:
        return error


def _scan_with(model: WorkerModel, task: ChunkTask, settings: ScanSettings) -> tuple[ChunkTask, ChunkScan]:
    if isinstance(model, Exception):
        raise model
    return task, scan_chunk(task.path, model, settings, task.chunk)


_worker_model: WorkerModel | None = None  # one per worker process, loaded by its initializer


def _load_worker_model(weights: str, attire: str | None) -> None:
    global _worker_model
    _worker_model = _load_model(weights, attire)


def _scan_in_worker(task: ChunkTask, settings: ScanSettings) -> tuple[ChunkTask, ChunkScan]:
    assert _worker_model is not None, "worker started without its model"
    return _scan_with(_worker_model, task, settings)


class ProcessPoolRunner:
    """Scans chunks in ``workers`` processes, each with its own copy of the model (never shared)."""

    def __init__(self, detector: Detector, settings: ScanSettings, workers: int) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self._models, self._settings, self._workers = _model_files(detector), settings, workers

    def run(self, tasks: Sequence[ChunkTask]) -> Iterator[tuple[ChunkTask, ChunkScan]]:
        if not tasks:
            return
        with ProcessPoolExecutor(
            min(self._workers, len(tasks)),
            mp_context=multiprocessing.get_context("spawn"),  # no forked copies of torch's threads
            initializer=_load_worker_model,
            initargs=self._models,
        ) as pool:
            pending = {pool.submit(_scan_in_worker, task, self._settings) for task in tasks}
            try:
                for future in as_completed(pending):
                    pending.discard(future)  # a finished chunk's frames are not kept past its commit
                    yield future.result()
            finally:
                for future in pending:
                    future.cancel()


class _RayScanner:
    """A Ray actor holding one model."""

    def __init__(self, weights: str, attire: str | None, settings: ScanSettings) -> None:
        self._model, self._settings = _load_model(weights, attire), settings

    def scan(self, task: ChunkTask) -> tuple[ChunkTask, ChunkScan]:
        return _scan_with(self._model, task, self._settings)


class RayRunner:
    """Scans chunks on a Ray cluster: ``address`` is a cluster address, ``auto`` (the cluster this
    machine belongs to) or ``local`` (start a private runtime here). Every node must see the recordings
    and the weights at the same paths (shared storage). ``workers``: actors, one model each (default:
    one per CPU of the cluster)."""

    def __init__(self, address: str, detector: Detector, settings: ScanSettings, workers: int | None) -> None:
        self._address, self._models = address, _model_files(detector)
        self._settings, self._workers = settings, workers

    def run(self, tasks: Sequence[ChunkTask]) -> Iterator[tuple[ChunkTask, ChunkScan]]:
        try:
            import ray
            from ray.exceptions import RayTaskError
            from ray.util import ActorPool
        except ImportError:
            raise RayUnavailableError("Ray is not installed: pip install 'seragam-watch[ray]'") from None
        if not tasks:
            return
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # nothing leaves the machine
        local = self._address == "local"
        try:
            ray.init(
                address=None if local else self._address,
                num_cpus=self._workers if local else None,
                include_dashboard=False,
                log_to_driver=False,
                configure_logging=False,
            )
        except ConnectionError as error:
            raise RayUnavailableError(
                f"no Ray cluster answers at {self._address!r} ({error}); start one (ray start --head), "
                "give its address, or use --ray local"
            ) from None
        try:
            workers = self._workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
            scanner = ray.remote(num_cpus=1)(_RayScanner)
            actors = [scanner.remote(*self._models, self._settings) for _ in range(workers)]
            yield from ActorPool(actors).map_unordered(lambda actor, task: actor.scan.remote(task), tasks)
        except RayTaskError as error:
            # the chunk's own error, as a worker process gives it (an actor's model: ``_load_model``)
            if isinstance(error.cause, ValueError | OSError):
                raise error.cause from None
            raise
        finally:
            ray.shutdown()


def _model_files(detector: Detector) -> tuple[str, str | None]:
    """What a worker loads its own copy of ``detector`` from (``load_detector``'s arguments)."""
    return str(detector.weights), None if detector.attire is None else str(detector.attire)


def scan_signature(detector: Detector, settings: ScanSettings) -> dict[str, Any]:
    """What a job's chunks depend on: chunks scanned under another signature are scanned again."""
    return {"model": detector.version, "scan": {**asdict(settings), "mode": settings.mode.value}}


def pending_tasks(session: Session, job: Job, path: Path, settings: ScanSettings) -> list[ChunkTask]:
    """The chunks of ``job`` not finished yet (``job.params['duration_s']`` plans them)."""
    done = set(session.scalars(select(ScanChunk.n).where(ScanChunk.job_id == job.id)))
    chunks = plan_chunks(job.params["duration_s"], settings.chunk_s)
    return [ChunkTask(job.id, str(path), c) for c in chunks if c.index not in done]


def record_chunk(session: Session, job: Job, model_version: str, task: ChunkTask, scan: ChunkScan) -> None:
    """Store a finished chunk: its frame scores and its ``ScanChunk`` row (the caller commits both)."""
    for frame in scan.frames:
        record_frame(session, job.params["upload_sha256"], model_version, frame.time_s, frame.detections)
    times = [frame.time_s for frame in scan.frames]
    session.add(
        ScanChunk(job_id=job.id, n=task.chunk.index, times=times, skipped=scan.skipped, error=scan.error)
    )
    job.progress_done += len(times)


def record_frame(
    session: Session, upload_sha256: str, model_version: str, time_s: float, detections: Detections
) -> None:
    """Store a scored frame's detections and its best official-attire score (a frame scored again by the
    same model keeps its first row)."""
    stored = detections.to_dict()["detections"]
    insert_if_absent(
        session,
        FrameScore,
        {
            "upload_sha256": upload_sha256,
            "model_version": model_version,
            "time_s": time_s,
            "detections": stored,
            "attire_score": attire_score(stored, load_taxonomy().official_names),
        },
    )


def job_chunks(session: Session, job_id: int) -> list[ScanChunk]:
    return list(session.scalars(select(ScanChunk).where(ScanChunk.job_id == job_id).order_by(ScanChunk.n)))


def job_frames(session: Session, job: Job) -> list[FrameRecord]:
    """The frames a job's chunks scored, in time order, with the detections of the model that scored
    them (``scan_signature``, recorded when the job started)."""
    times = sorted(t for chunk in job_chunks(session, job.id) for t in chunk.times)
    if not times:
        return []
    rows = session.execute(
        select(FrameScore.time_s, FrameScore.detections).where(
            FrameScore.upload_sha256 == job.params["upload_sha256"],
            FrameScore.model_version == job.params["scanned_with"]["model"],
        )
    )
    detections = dict(rows.tuples().all())
    return [(t, detections[t]) for t in times]


def attire_score(detections: Sequence[dict[str, Any]], official: frozenset[str]) -> float:
    """A stored frame's best official-attire score (0.0 when it shows none)."""
    return max((d["score"] for d in detections if d["class"] in official), default=0.0)


def frame_episodes(
    frames: Sequence[FrameRecord], official: frozenset[str], config: EpisodeConfig, scan: ScanSettings
) -> list[AttireEpisode]:
    """Attire episodes of a scanned stream, from its frames' official-attire detections.

    The tracker's window counts frames, so it is fed a frame every ``scan.interval_s`` whatever the
    sampling: in a gap between two scored frames (the rest of a keyframe's GOP, or frames skipped as
    still) each missing step holds the score of the frame before it. Keyframe sampling scores GOPs
    densely where the score changes, so a held score only ever stands between two frames that agree.
    Over a hole of the recording (``recording_holes``) nothing is held, and the stretches on either side
    make their episodes apart.
    """
    after_holes = {after for _, after in recording_holes([time_s for time_s, _ in frames], scan)}
    stretches: list[list[tuple[float, float, set[str]]]] = []
    for time_s, detections in frames:
        classes = {d["class"] for d in detections if d["class"] in official}
        sample = (time_s, attire_score(detections, official), classes)
        if stretches and time_s not in after_holes:
            stretches[-1] += _held(stretches[-1][-1], time_s, scan.interval_s)
            stretches[-1].append(sample)
        else:
            stretches.append([sample])
    return [episode for stretch in stretches for episode in aggregate_episodes(stretch, config)]


def recording_holes(times: Sequence[float], scan: ScanSettings) -> list[tuple[float, float]]:
    """Where a scanned recording shows no frame at all: ``(last scored frame before, first after)`` for
    scored frames (``times``, in order) further apart than ``scan.max_gap_s``."""
    return [(before, after) for before, after in pairwise(times) if after - before > scan.max_gap_s]


def _held(
    last: tuple[float, float, set[str]], until_s: float, interval_s: float
) -> list[tuple[float, float, set[str]]]:
    # Whole intervals missing, to the nearest: frames of a 29.97 fps video sampled each second lie 1.001 s
    # apart (and phones' variable frame rates jitter), which is no missing step; rounding up held a copy of
    # nearly every frame, so one detected frame made an episode.
    steps = math.floor((until_s - last[0]) / interval_s + 0.5) - 1  # halves up (round() goes to even)
    return [(last[0] + k * interval_s, last[1], last[2]) for k in range(1, steps + 1)]
