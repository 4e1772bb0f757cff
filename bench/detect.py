"""Per-frame latency of ``Detector.detect`` next to bare ultralytics ``predict`` on the same weights,
and of the service's two-stage detector (the whole frame, then the pose model finds people and the
attire classifier and the detector judge each), with the second stage's parts timed one by one, and the
second stage scoring every person next to finding only the people it flags (which skips the detector on
crops the classifier clears), and the service's detector again with both models' ONNX exports.

Both run in this process on the same frames, interleaved round by round so machine noise hits both
alike: 720x1280 rendered livestream frames of people in official and other outfits, or with ``--civilian``
the civilian photos of realdata's train split (what most monitored streams show). Prints medians, p95 and
the ratio ours / bare.

    .venv/bin/python bench/detect.py [--model models/seragam-n.pt] [--frames 16] [--rounds 5] [--civilian]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from datasets.people import bundled_photos, find_people, realdata_photos
from datasets.synth import SynthConfig, render_frame
from detector.attire import DEFAULT_ATTIRE_WEIGHTS, TwoStage, TwoStageDetector
from detector.images import read_image
from detector.model import DEFAULT_WEIGHTS, Detector
from detector.offline import YOLO


def frames(count: int, civilian: bool) -> list[np.ndarray]:
    if civilian:
        return [read_image(path) for path, label in realdata_photos() if label == "civilian"][:count]
    people = find_people(bundled_photos())
    return [
        render_frame(
            people[i % len(people)], np.random.default_rng([11, i]), SynthConfig(), size=(720, 1280)
        )[0]
        for i in range(count)
    ]


def timed(call, images: list[np.ndarray]) -> list[float]:
    out = []
    for image in images:
        start = time.perf_counter()
        call(image)
        out.append((time.perf_counter() - start) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", type=Path, default=DEFAULT_WEIGHTS)
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--civilian", action="store_true", help="realdata's civilian train photos")
    args = parser.parse_args()
    images = frames(args.frames, args.civilian)
    if not images:
        parser.error("--civilian needs ../shared/realdata beside the repository")
    ours = Detector(args.model)
    onnx = Detector(args.model.with_suffix(".onnx")) if args.model.with_suffix(".onnx").exists() else None
    bare = YOLO(str(args.model), task="detect")

    def bare_predict(image: np.ndarray) -> object:
        return bare.predict(image, imgsz=ours.imgsz, conf=0.25, verbose=False)

    runs = {"bare ultralytics predict": bare_predict, "seragam Detector.detect (.pt)": ours.detect}
    if onnx:
        runs["seragam Detector.detect (.onnx)"] = onnx.detect
    service = TwoStageDetector(args.model, DEFAULT_ATTIRE_WEIGHTS)
    runs["service: whole frame + two-stage"] = service.detect
    # where the second stage's time goes, on the same frames and people
    parts = TwoStage(DEFAULT_ATTIRE_WEIGHTS, detector=args.model)
    people = {id(image): [c.image for c in parts.people_finder.crops(image)] for image in images}
    runs[f"  of it: pose model at {parts.people_finder.imgsz}"] = parts.people_finder.find
    runs["  of it: classifier, crop + mirror"] = lambda image: parts.classifier.official_probability(
        people[id(image)]
    )
    runs["  of it: detector on each person crop"] = lambda image: [
        parts.detector.detect(crop) for crop in people[id(image)]
    ]
    # the second stage whole: every person scored (evaluation), or only those who can be flagged (service)
    runs["second stage, every person scored"] = parts.people
    runs["second stage, the people flagged"] = parts.flagged
    attire_onnx = DEFAULT_ATTIRE_WEIGHTS.with_suffix(".onnx")
    if onnx and attire_onnx.exists():  # the same judgement (tests/detector): only the runtime differs
        runs["service, both models' ONNX exports"] = TwoStageDetector(onnx.weights, attire_onnx).detect
    for call in runs.values():  # warm up
        timed(call, images[:2])
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(args.rounds):
        for name, call in runs.items():
            times[name] += timed(call, images)
    base = statistics.median(times["bare ultralytics predict"])
    print(
        f"model {ours.version}, imgsz {ours.imgsz}, {len(images)} "
        f"{'civilian photos' if args.civilian else 'frames 720x1280'} x {args.rounds} rounds, "
        f"torch threads {torch.get_num_threads()}, {sum(map(len, people.values()))} people on them"
    )
    for name, values in times.items():
        p50, p95 = statistics.median(values), float(np.percentile(values, 95))
        print(f"{name:38s} p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  ratio {p50 / base:5.2f}x")


if __name__ == "__main__":
    main()
