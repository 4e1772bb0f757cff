"""Training time on the CPU with every core (``seragam train``'s default) next to the one thread that
ultralytics alone gives a 2-core machine, for the detector and for the person-crop attire classifier.

Both train the card's recipes (detector at 416 px, layers 0-9 frozen; classifier at 320 px, layers 0-3
frozen, from the shipped detector) for one epoch on the same rendered frames, interleaved round by round
so machine noise hits both alike. Prints each run's wall time (model set-up and the closing
validation included, the same for both) and the ratio to one thread.

    .venv/bin/python bench/train.py [--frames 320] [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from datasets.crops import build_crops
from datasets.people import bundled_photos, find_people
from datasets.synth import SynthConfig, generate
from datasets.train import TrainConfig, train


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=320)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        data_yaml = generate(
            find_people(bundled_photos()), root / "synth", SynthConfig(count=args.frames), workers=cores
        )
        crops = root / "crops"
        crop_count = sum(
            sum(c.values()) for c in build_crops(data_yaml, crops, realdata=root / "none").values()
        )
        recipes = {
            "detector": TrainConfig(data=data_yaml, out=root / "d.pt", epochs=1, imgsz=416, device="cpu"),
            "classifier": TrainConfig.for_data(crops, root / "c.pt", epochs=1, device="cpu"),
        }
        seconds: dict[tuple[str, int], list[float]] = {}
        for _ in range(args.rounds):
            for kind, recipe in recipes.items():
                for threads in (1, cores):
                    config = TrainConfig(**{**recipe.__dict__, "threads": threads, "runs_dir": root / "runs"})
                    start = time.perf_counter()
                    train(config)
                    seconds.setdefault((kind, threads), []).append(time.perf_counter() - start)
    print(f"{args.frames} rendered frames ({crop_count} person crops), one epoch each, {cores} cores")
    for (kind, threads), values in seconds.items():
        ratio = statistics.median(values) / statistics.median(seconds[(kind, 1)])
        print(f"{kind:10s} threads {threads}: median {statistics.median(values):6.1f} s  ratio {ratio:4.2f}x")


if __name__ == "__main__":
    main()
