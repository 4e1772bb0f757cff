"""Batch scoring speed: `seragam batch` against ultralytics' own video loop, with the accuracy guard.

Builds a benchmark set once (8 portrait 720x1280 30 fps H.264 recordings of 5 minutes, 2 s keyframe
interval, uniform and civilian episodes of real people with talking-head motion) under
data/bench/batch/, then prints in one run:

- the baseline: ``YOLO(weights).predict(source=video, vid_stride=30, stream=True)``, same weights and
  input size: wall time and frames scored;
- ``seragam batch`` with its defaults (two-stage scoring on every scored frame): wall time, frames
  scored, the ratio, peak RSS of the process tree, the seconds per hour of video; and the same with
  the detector alone (``SERAGAM_ATTIRE=``), the baseline's work; and the same with the ONNX exports of
  both models (``SERAGAM_MODEL``, ``SERAGAM_ATTIRE``), checked to give the .pt pair's episodes;
- dense scoring at 1 frame per second with the same model (``--sampling interval``) and the recall of
  its attire episodes by ``seragam batch``'s;
- the levers one at a time on two recordings.

Run: .venv/bin/python bench/batch.py  (about 30 minutes the first time, most of it building the set)
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from datasets.clips import Segment, write_livestream_clip  # noqa: E402
from datasets.garments import OUTFITS  # noqa: E402
from datasets.people import PhotoPeople, bundled_photos, find_people, realdata_photos  # noqa: E402
from datasets.synth import SynthConfig, render_frame  # noqa: E402
from detector.attire import DEFAULT_ATTIRE_WEIGHTS  # noqa: E402
from detector.model import DEFAULT_WEIGHTS, Detector  # noqa: E402
from detector.offline import YOLO  # noqa: E402

SET_DIR = ROOT / "data" / "bench" / "batch"
RECORDINGS, MINUTES = 8, 5
OFFICIAL = [name for name, outfit in OUTFITS.items() if outfit.is_official]
CIVILIAN = [name for name, outfit in OUTFITS.items() if not outfit.is_official]


def build_set(out: Path) -> Path:
    """The recordings and their manifest (built once; delete the folder to rebuild)."""
    manifest = out / "manifest.csv"
    if manifest.exists():
        return manifest
    out.mkdir(parents=True, exist_ok=True)
    civilian = [(path, label) for path, label in realdata_photos() if label == "civilian"]
    people = [p for p in find_people(bundled_photos() + civilian) if _dressable(p)]
    rows = []
    for k in range(RECORDINGS):
        rng = np.random.default_rng([11, k])
        segments, total = [], 0.0
        while total < MINUTES * 60:
            seconds = float(min(rng.integers(30, 91), MINUTES * 60 - total))
            official = len(segments) % 2 == 1
            outfit = str(rng.choice(OFFICIAL if official else CIVILIAN))
            segments.append(Segment(people[int(rng.integers(len(people)))], outfit, seconds))
            total += seconds
        name = f"stream{k}.mp4"
        write_livestream_clip(out / name, segments, seed=k)
        rows.append([name, "tiktok", f"bench.{k}", f"2026-04-1{k % 7 + 1}T19:00:00+07:00"])
        print(f"built {name}", flush=True)
    with manifest.open("w", newline="") as f:
        csv.writer(f).writerows([["path", "platform", "handle", "started_at"], *rows])
    return manifest


def _dressable(photo: PhotoPeople) -> bool:
    """Whether the photo has someone facing the camera enough to be dressed in a uniform."""
    try:
        render_frame(photo, np.random.default_rng(0), SynthConfig(), outfit="pdh_khaki", size=(180, 320))
    except ValueError:
        return False
    return True


def baseline(videos: list[Path], weights: Path) -> tuple[float, int]:
    model, imgsz = YOLO(str(weights), task="detect"), Detector(weights).imgsz
    start, frames = time.perf_counter(), 0
    for video in videos:
        for _ in model.predict(source=str(video), vid_stride=30, stream=True, imgsz=imgsz, verbose=False):
            frames += 1
    return time.perf_counter() - start, frames


def seragam_batch(
    manifest: Path, *flags: str, env: dict[str, str] | None = None
) -> tuple[float, list[dict], _Peak]:
    """Run `seragam batch` in a fresh data dir: wall time, result lines, peak memory of its process tree."""
    with tempfile.TemporaryDirectory() as data:
        out = Path(data) / "results.jsonl"
        command = [sys.executable, "-m", "api.cli", "batch", str(manifest), "--data-dir", data]
        start = time.perf_counter()
        process = subprocess.Popen(
            [*command, "--out", str(out), "--quiet", *flags],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            env=os.environ | (env or {}),
        )
        peak = _watch_memory(process)
        if process.wait() != 0:
            raise RuntimeError(f"seragam batch {' '.join(flags)} failed")
        elapsed = time.perf_counter() - start
        return elapsed, [json.loads(line) for line in out.read_text().splitlines()], peak


class _Peak:
    """Peaks over the process tree: the sum of RSS (shared library pages counted once per process)
    and the sum of PSS (shared pages split between the processes that map them)."""

    rss = 0
    pss = 0


def _watch_memory(process: subprocess.Popen) -> _Peak:
    peak, parent = _Peak(), psutil.Process(process.pid)

    def watch() -> None:
        while process.poll() is None:
            try:
                tree = [parent, *parent.children(recursive=True)]
                memory = [p.memory_full_info() for p in tree]
                peak.rss = max(peak.rss, sum(m.rss for m in memory))
                peak.pss = max(peak.pss, sum(m.pss for m in memory))
            except psutil.Error:
                pass
            time.sleep(0.2)

    threading.Thread(target=watch, daemon=True).start()
    return peak


def streams(lines: list[dict]) -> dict[str, dict]:
    return {line["path"]: line for line in lines if line["type"] == "stream"}


def same_episodes(a: list[dict], b: list[dict]) -> bool:
    """The same spans and classes, with scores equal to 1e-3."""
    return len(a) == len(b) and all(
        (x["start_s"], x["end_s"], x["classes"]) == (y["start_s"], y["end_s"], y["classes"])
        and abs(x["score"] - y["score"]) < 1e-3
        for x, y in zip(a, b, strict=True)
    )


def episode_recall(reference: dict[str, dict], ours: dict[str, dict]) -> tuple[int, int, list[str]]:
    """How many reference episodes overlap an episode of ours in the same stream, of how many, and the
    ones missed (stream, span, classes, score)."""
    found, missed = 0, []
    for path, stream in reference.items():
        for e in stream["episodes"]:
            if any(o["start_s"] <= e["end_s"] and e["start_s"] <= o["end_s"] for o in ours[path]["episodes"]):
                found += 1
            else:
                missed.append(f"{path} {e['start_s']:.0f}-{e['end_s']:.0f} s {e['classes']} {e['score']:.3f}")
    return found, found + len(missed), missed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-levers", action="store_true")
    args = parser.parse_args()
    manifest = build_set(SET_DIR)
    videos = sorted(SET_DIR.glob("*.mp4"))
    base_s, base_frames = baseline(videos, DEFAULT_WEIGHTS)
    ours_s, ours_lines, ours_rss = seragam_batch(manifest)
    alone_s, alone_lines, alone_rss = seragam_batch(manifest, env={"SERAGAM_ATTIRE": ""})
    onnx_pair = {
        "SERAGAM_MODEL": str(DEFAULT_WEIGHTS.with_suffix(".onnx")),
        "SERAGAM_ATTIRE": str(DEFAULT_ATTIRE_WEIGHTS.with_suffix(".onnx")),
    }
    onnx_s, onnx_lines, onnx_rss = seragam_batch(manifest, env=onnx_pair)
    dense_s, dense_lines, dense_rss = seragam_batch(manifest, "--sampling", "interval", "--still-diff", "0")
    ours, dense, onnx = streams(ours_lines), streams(dense_lines), streams(onnx_lines)
    hours = sum(s["duration_s"] for s in ours.values()) / 3600
    found, total, missed = episode_recall(dense, ours)
    print(f"benchmark set: {len(videos)} recordings, {hours * 60:.0f} min of 720x1280 30 fps H.264")
    print("| run | wall s | frames scored | s per hour of video | vs baseline | peak RSS / PSS MB |")
    print("|---|---|---|---|---|---|")
    runs = [
        ("baseline `predict(vid_stride=30, stream=True)`", base_s, base_frames, None),
        (
            "`seragam batch` (defaults: keyframes coarse to fine, 2 workers)",
            ours_s,
            ours,
            ours_rss,
        ),
        ("`SERAGAM_ATTIRE= seragam batch` (the detector alone)", alone_s, streams(alone_lines), alone_rss),
        ("`seragam batch` with both models' ONNX exports", onnx_s, onnx, onnx_rss),
        ("`seragam batch --sampling interval` (dense 1 fps reference)", dense_s, dense, dense_rss),
    ]
    for name, seconds, scored, rss in runs:
        frames = scored if isinstance(scored, int) else sum(s["frames"] for s in scored.values())
        memory = f"{rss.rss / 2**20:.0f} / {rss.pss / 2**20:.0f}" if rss else ""
        cells = [name, f"{seconds:.1f}", frames, f"{seconds / hours:.0f}", f"{base_s / seconds:.1f}x", memory]
        print("| " + " | ".join(map(str, cells)) + " |")
    print(f"episode recall vs dense 1 fps: {found}/{total} = {found / max(total, 1):.3f}")
    for episode in missed:
        print(f"  missed: {episode}")
    same = [path for path in ours if same_episodes(ours[path]["episodes"], onnx[path]["episodes"])]
    print(f"ONNX pair: the .pt pair's episodes in {len(same)} of {len(ours)} recordings")
    if args.skip_levers:
        return
    two = SET_DIR / "two.csv"
    rows = manifest.read_text().splitlines()
    two.write_text("\n".join(rows[:3]) + "\n")
    print("\nLevers, one at a time, on two recordings (10 min of video):")
    print("| settings | wall s | s per hour of video | vs keyframes default |")
    print("|---|---|---|---|")
    default_s = None
    for label, flags in [
        ("defaults (every 3rd keyframe, finer on change; batch 8; 2 workers)", ()),
        ("every keyframe scored (`--keyframe-stride 1`)", ("--keyframe-stride", "1")),
        ("every frame decoded, 1 fps (`--sampling interval`)", ("--sampling", "interval")),
        ("keyframes, no dense sampling around detections (`--dense-score 2`)", ("--dense-score", "2")),
        ("keyframes, frames downscaled in the decoder (`--max-side 640`)", ("--max-side", "640")),
        ("keyframes, model batch 1 (`--batch-size 1`)", ("--batch-size", "1")),
        ("keyframes, one worker (`--workers 1`)", ("--workers", "1")),
    ]:
        seconds = seragam_batch(two, *flags)[0]
        default_s = default_s or seconds
        print(f"| {label} | {seconds:.1f} | {seconds / (10 / 60):.0f} | {default_s / seconds:.2f}x |")


if __name__ == "__main__":
    main()
