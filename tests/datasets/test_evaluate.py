from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from datasets.evaluate import (
    FrameScorer,
    best_f1_thresholds,
    default_report_path,
    evaluate,
    frame_level,
    person_crops,
    realdata_frame_level,
    roc_auc,
    wilson_interval,
)
from datasets.stats import dataset_stats
from detector.model import DEFAULT_WEIGHTS
from detector.people import PersonCrop


@pytest.mark.parametrize(
    ("pos", "neg", "auc"),
    [
        ([0.9, 0.8], [0.1, 0.2], 1.0),
        ([0.1], [0.9], 0.0),
        ([0.5], [0.5], 0.5),
        ([0.9, 0.1], [0.5], 0.5),
        ([], [0.5], None),
    ],
)
def test_roc_auc(pos: list[float], neg: list[float], auc: float | None) -> None:
    assert roc_auc(pos, neg) == auc


def test_frame_level_counts_and_rates() -> None:
    result = frame_level([0.9, 0.2, 0.7], [0.1, 0.8], [True, False, True], [False, True])
    assert (result.positives, result.detected, result.negatives, result.false_positives) == (3, 2, 2, 1)
    assert result.recall == pytest.approx(2 / 3) and result.false_positive_rate == 0.5
    assert result.to_dict()["false_positive_rate_95ci"] == wilson_interval(1, 2)


@pytest.mark.parametrize(
    ("k", "n", "interval"),
    [
        (0, 10, [0.0, 0.278]),  # upper bound z^2 / (n + z^2)
        (10, 10, [0.722, 1.0]),
        (5, 10, [0.237, 0.763]),
        (25, 37, [0.515, 0.804]),
        (4, 92, [0.017, 0.107]),
        (0, 0, None),
    ],
)
def test_wilson_interval(k: int, n: int, interval: list[float] | None) -> None:
    assert wilson_interval(k, n) == interval


def test_realdata_absent_is_skipped(tmp_path: Path) -> None:
    assert realdata_frame_level(FrameScorer.for_weights(DEFAULT_WEIGHTS), tmp_path / "no-realdata") is None


def test_evaluate_writes_report_beside_weights(tiny_dataset: Path, tmp_path: Path) -> None:
    weights = tmp_path / "seragam-n.pt"
    shutil.copyfile(DEFAULT_WEIGHTS, weights)
    shutil.copyfile(DEFAULT_WEIGHTS.with_suffix(".yaml"), weights.with_suffix(".yaml"))
    report = evaluate(weights, tiny_dataset, tmp_path / "no-realdata", split="val")
    saved = json.loads(weights.with_suffix(".eval.json").read_text())
    assert saved == json.loads(json.dumps(report))
    boxes = saved["synthetic_boxes"]
    assert 0 <= boxes["map50_95"] <= boxes["map50"] <= 1
    labelled = {c: n for c, n in dataset_stats(tiny_dataset).splits["val"].boxes_per_class.items() if n}
    assert boxes["boxes"] == labelled and boxes["ap50"].keys() == labelled.keys()
    assert saved["synthetic_frame_level"]["positives"] + saved["synthetic_frame_level"]["negatives"] > 0
    assert saved["realdata_test"] is None


def f1_peaking_at(index: int, points: int = 1000) -> np.ndarray:
    curve = np.zeros(points)
    curve[index] = 0.8
    return curve


@pytest.mark.parametrize(
    ("curve", "threshold"),
    [
        # the peak at confidence 672/999 = 0.67267: 0.673 would drop the detections scoring 0.6727-0.673
        (f1_peaking_at(672), 0.672),
        (f1_peaking_at(328), 0.328),  # 0.32833
        (f1_peaking_at(10), 0.05),  # kept within 0.05-0.9
        (f1_peaking_at(999), 0.9),
        (np.zeros(1000), None),  # never right: the taxonomy default stays
    ],
)
def test_best_f1_thresholds(curve: np.ndarray, threshold: float | None) -> None:
    chosen = best_f1_thresholds(["pdh_khaki"], curve[None, :])
    assert chosen.get("pdh_khaki") == threshold


class CropsOf:
    """People found in a frame: here, one crop per value, each a 1-pixel image holding it."""

    def crops(self, image: np.ndarray) -> list[PersonCrop]:
        return [PersonCrop((0, 0, 1, 1), np.full((1, 1, 3), v, np.uint8), 1.0) for v in image.ravel()]


@pytest.mark.parametrize(
    ("crops", "expected"),
    [
        # the best-scoring crop is under its class's threshold, another is over its own: flagged
        ([(50, False), (30, True)], (0.5, True)),
        ([(50, False), (30, False)], (0.5, False)),
        ([], (0.0, False)),
    ],
)
def test_person_crops_flags_a_frame_when_any_crop_is_flagged(
    crops: list[tuple[int, bool]], expected: tuple[float, bool]
) -> None:
    hits = dict(crops)
    score = person_crops(lambda crop: (crop[0, 0, 0] / 100, hits[int(crop[0, 0, 0])]), CropsOf())

    assert score(np.array([v for v, _ in crops], np.uint8)) == expected


def test_an_export_gets_its_own_report_beside_the_weights() -> None:
    """The shipped model's report is what the model card quotes: evaluating its ONNX export must not
    overwrite it."""
    assert default_report_path(Path("models/seragam-n.pt")) == Path("models/seragam-n.eval.json")
    assert default_report_path(Path("models/seragam-n.onnx")) == Path("models/seragam-n.onnx.eval.json")
