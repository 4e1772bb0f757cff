"""The score line of a day-long case page: reading each frame's stored attire score next to deriving it
from the frame's stored detections (what the page did before the score was kept, and still the JSON
every frame carries).

Builds a SQLite database by the project's migrations with one recording of 86,400 scored frames (one a
second for 24 hours, 30% of them with a detection), then times both reads of the case's frames,
interleaved round by round. Prints medians and the ratio against the read of the detections.

    .venv/bin/python -m bench.case_page [--frames 86400] [--rounds 5]

(As a module: run as a script, ``bench/api.py`` beside it would shadow the ``api`` package.)
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from api.db import Case, FrameScore, Upload, make_engine, migrate
from api.engine import attire_score
from api.timeline import _frame_scores
from detector.taxonomy import load_taxonomy

OFFICIAL = load_taxonomy().official_names
SHA256, MODEL = "0" * 64, "seragam-n@bench"


def scores_from_detections(session: Session, case: Case) -> list[tuple[float, float]]:
    query = select(FrameScore.time_s, FrameScore.detections).where(
        FrameScore.upload_sha256 == case.upload_sha256, FrameScore.model_version == case.model_version
    )
    return [(t, attire_score(d, OFFICIAL)) for t, d in session.execute(query.order_by(FrameScore.time_s))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=86_400)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    rng = random.Random(0)
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'seragam.db'}"
        migrate(url)
        engine = make_engine(url)
        with Session(engine) as session:
            session.add(Upload(sha256=SHA256, size=1, content_type="video/mp4", path="day.mp4"))
            session.flush()
            rows = []
            for t in range(args.frames):
                found = {"class": "field_uniform", "score": round(rng.random(), 4), "box": [0, 0, 9, 9]}
                stored = [found] if rng.random() < 0.3 else []
                rows.append(
                    {
                        "upload_sha256": SHA256,
                        "model_version": MODEL,
                        "time_s": float(t),
                        "detections": stored,
                        "attire_score": attire_score(stored, OFFICIAL),
                    }
                )
            session.execute(insert(FrameScore), rows)
            session.commit()
        case = Case(upload_sha256=SHA256, model_version=MODEL)  # never stored: the query's two keys
        reads = {"from the detections (baseline)": scores_from_detections, "the stored score": _frame_scores}
        times: dict[str, list[float]] = {name: [] for name in reads}
        results = {}
        for _ in range(args.rounds):
            for name, read in reads.items():
                with Session(engine) as session:
                    start = time.perf_counter()
                    results[name] = read(session, case)
                    times[name].append(time.perf_counter() - start)
        engine.dispose()
    first, *others = results.values()
    assert all(other == first for other in others), "the two reads disagree"
    base = statistics.median(times["from the detections (baseline)"])
    print(f"{args.frames} frames, {args.rounds} rounds, SQLite")
    for name, values in times.items():
        p50 = statistics.median(values)
        print(f"{name:32s} p50 {p50 * 1000:7.1f} ms  ratio {p50 / base:5.2f}x")


if __name__ == "__main__":
    main()
