from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from datasets.evaluate import (
    FrameScorer,
    best_f1_thresholds,
    choose_thresholds,
    default_report_path,
    evaluate,
    frame_level,
    person_crops,
    realdata_frame_level,
    roc_auc,
    synthetic_frame_level,
    wilson_interval,
)
from datasets.stats import dataset_stats
from detector.model import DEFAULT_WEIGHTS
from detector.people import PersonCrop
from detector.taxonomy import load_taxonomy


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
    """A val report, to choose between models: the real test photos stay unread (this one cannot be)."""
    weights = tmp_path / "seragam-n.pt"
    shutil.copyfile(DEFAULT_WEIGHTS, weights)
    shutil.copyfile(DEFAULT_WEIGHTS.with_suffix(".yaml"), weights.with_suffix(".yaml"))
    realdata = tmp_path / "realdata"
    (realdata / "images").mkdir(parents=True)
    (realdata / "images" / "officer.jpg").write_bytes(b"not a JPEG")
    (realdata / "labels.csv").write_text("file,label,split\nimages/officer.jpg,asn_satpol_pp,test\n")
    with pytest.raises(ValueError, match="cannot read images/officer"):
        realdata_frame_level(FrameScorer.for_weights(weights), realdata)
    report = evaluate(weights, tiny_dataset, realdata, split="val")
    assert not weights.with_suffix(".eval.json").exists()  # the test report's place
    saved = json.loads(weights.with_suffix(".val.eval.json").read_text())
    assert saved == json.loads(json.dumps(report))
    boxes = saved["synthetic_boxes"]
    assert 0 <= boxes["map50_95"] <= boxes["map50"] <= 1
    labelled = {c: n for c, n in dataset_stats(tiny_dataset).splits["val"].boxes_per_class.items() if n}
    assert boxes["boxes"] == labelled and boxes["ap50"].keys() == labelled.keys()
    assert saved["synthetic_frame_level"]["positives"] + saved["synthetic_frame_level"]["negatives"] > 0
    assert not [key for key in saved if key.startswith("realdata")]


@pytest.mark.parametrize("photo_split", ["train", "test"])  # a held-out set renders the test photos
def test_synthetic_frames_whose_truth_the_labels_cannot_tell_are_left_out(
    tmp_path: Path, photo_split: str
) -> None:
    """Frames of a real Satpol PP photo: one with its uniform's box, one whose box was cut off (it shows
    the uniform, but has no official box: left out, as in threshold tuning); and a civilian frame."""
    realdata = tmp_path / "realdata"
    realdata.mkdir()
    rows = [
        "file,label,split",
        f"images/satpol.jpg,asn_satpol_pp,{photo_split}",
        "images/civ.jpg,civilian,train",
    ]
    (realdata / "labels.csv").write_text("\n".join(rows) + "\n")
    names = load_taxonomy().names
    frames = {
        "ab_satpol_0": "",
        "ab_satpol_1": f"{names.index('field_uniform')} 0.5 0.5 0.4 0.6\n",
        "cd_civ_0": "",
    }
    for split in ("images", "labels"):
        (tmp_path / split / "test").mkdir(parents=True)
    for stem, label in frames.items():
        cv2.imwrite(str(tmp_path / "images" / "test" / f"{stem}.jpg"), np.zeros((32, 32, 3), np.uint8))
        (tmp_path / "labels" / "test" / f"{stem}.txt").write_text(label)
    (tmp_path / "data.yaml").write_text(
        yaml.safe_dump({"path": ".", "test": "images/test", "names": list(names)})
    )

    level = synthetic_frame_level(lambda image: (0.9, True), tmp_path / "data.yaml", "test", realdata)

    assert (level.positives, level.negatives, level.false_positives, level.frames_unknown) == (1, 1, 1, 1)
    assert level.to_dict()["frames_unknown"] == 1


@pytest.mark.parametrize(
    ("detections", "boxes", "threshold"),
    [
        # the F1 curve ultralytics samples at 1000 confidences peaks at 0.4014, which keeps only the first
        # detection (F1 0.5); the best F1, 0.8, needs the second one
        ([(0.9, True), (0.4006, True), (0.4, False)], 3, np.float32(0.4006)),
        # F1 2/3 at 0.8 and at 0.5: the one with fewer detections
        ([(0.8, True), (0.7, False), (0.6, False), (0.5, True)], 2, np.float32(0.8)),
        # a threshold of 0.5 keeps all three detections there (F1 2/3), not the right one alone (F1 1)
        ([(0.8, True), (0.5, True), (0.5, False), (0.5, False)], 2, np.float32(0.8)),
        ([(0.95, True)], 1, 0.9),  # kept within 0.05-0.9
        ([(0.02, True)], 1, 0.05),
        ([(0.8, False)], 1, None),  # never right: the taxonomy default stays
        ([], 1, None),
    ],
)
def test_best_f1_thresholds_keep_the_detection_with_the_best_f1(
    detections: list[tuple[float, bool]], boxes: int, threshold: float | None
) -> None:
    conf = np.array([c for c, _ in detections], np.float32)  # as ultralytics scores them
    right = np.array([r for _, r in detections], bool)
    # a second class's detection, right and sure, with its box: it counts only for its own class
    chosen = best_f1_thresholds(
        ["pdh_khaki", "name_plate"],
        np.append(right, True),
        np.append(conf, np.float32(0.99)),
        np.append(np.zeros(len(detections)), 1),
        np.array([0] * boxes + [1]),
    )
    assert chosen.get("pdh_khaki") == threshold and chosen["name_plate"] == 0.9


def test_choose_thresholds_are_confidences_of_detections(tiny_dataset: Path, tmp_path: Path) -> None:
    """Each threshold is the confidence of a detection ultralytics matched on the val split (a float32),
    not a point of a sampled F1 curve such as 0.401, which can leave out the detection that made the best
    F1; they are written to the settings file the detector reads."""
    weights = tmp_path / "seragam-n.pt"
    shutil.copyfile(DEFAULT_WEIGHTS, weights)

    thresholds = choose_thresholds(weights, tiny_dataset, 416, "val")

    assert yaml.safe_load(weights.with_suffix(".yaml").read_text()) == {
        "imgsz": 416,
        "thresholds": thresholds,
    }
    inside = [t for t in thresholds.values() if 0.05 < t < 0.9]
    assert inside and all(float(np.float32(t)) == t for t in inside)


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
    assert default_report_path(Path("runs/a.pt"), "val") == Path("runs/a.val.eval.json")
