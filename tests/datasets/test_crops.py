"""Person crops for the attire classifier, its training, threshold and two-stage evaluation, for real
on the tiny rendered dataset (two source photos: one in train, one in val)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from api.cli import main
from datasets.crops import build_crops, frame_source, labelled_frames, official_boxes, wearers
from datasets.evaluate import (
    FrameScorer,
    OperatingPoint,
    choose_attire_threshold,
    evaluate,
    joint_operating_point,
)
from datasets.importers import open_yolo_dataset
from datasets.train import TrainConfig, train
from detector.attire import CLASSES, MIN_ATTIRE_THRESHOLD, AttireClassifier, upper_body
from detector.model import DEFAULT_WEIGHTS, Detector
from detector.people import person_crops


@pytest.fixture(scope="module")
def crops(tiny_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("crops") / "crops"
    return out, build_crops(tiny_dataset, out, realdata=out.parent / "no-realdata")


@pytest.fixture(scope="module")
def classifier(crops: tuple[Path, dict], tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("attire")
    config = TrainConfig.for_data(
        crops[0], root / "attire.pt", epochs=1, imgsz=32, batch=4, workers=0, cache="", device="cpu"
    )
    config = TrainConfig(**{**config.__dict__, "runs_dir": root / "runs"})
    return train(config)


def test_crops_follow_the_datasets_splits_and_boxes(tiny_dataset: Path, crops: tuple[Path, dict]) -> None:
    out, counts = crops
    dataset = open_yolo_dataset(tiny_dataset)
    assert set(counts) == set(dataset.splits) == {"train", "val"}
    for split, frames in dataset.splits.items():
        written = sorted((out / split).glob("*/*.jpg"))
        assert len(written) == sum(counts[split].values()) > 0
        assert {w.stem.rsplit("_", 1)[0] for w in written} <= {f.stem for f in frames}  # no leak
        for crop in written:
            image = cv2.imread(str(crop))
            assert image.shape[0] <= round(image.shape[1] * 1.25) + 1  # upper body only
    # a frame with an official box gives at least one official crop, and official crops come from such frames
    official_frames = {
        f.stem for fs in dataset.splits.values() for f in fs if len(official_boxes(f, (1, 1), dataset.names))
    }
    official_crops = {c.stem.rsplit("_", 1)[0] for c in out.glob("*/official/*.jpg")}
    assert official_crops and official_crops <= official_frames


def test_frame_source_is_the_photo_a_frame_was_rendered_from(tiny_dataset: Path) -> None:
    frames = [f for fs in open_yolo_dataset(tiny_dataset).splits.values() for f in fs]
    assert {frame_source(f) for f in frames} == {"bus", "zidane"}


def test_labelled_frames_take_the_truth_from_the_boxes(tiny_dataset: Path, tmp_path: Path) -> None:
    dataset = open_yolo_dataset(tiny_dataset)
    frames = labelled_frames(tiny_dataset, "val", tmp_path / "no-realdata")
    assert [p for p, _ in frames] == list(dataset.splits["val"])
    assert [t for _, t in frames] == [
        bool(len(official_boxes(p, (1, 1), dataset.names))) for p in dataset.splits["val"]
    ]


@pytest.mark.slow
def test_classifier_trains_scores_and_gets_its_threshold(
    classifier: Path, tiny_dataset: Path, tmp_path: Path
) -> None:
    recipe = yaml.safe_load(classifier.with_suffix(".train.yaml").read_text())
    assert recipe["task"] == "classify" and recipe["base"] == "models/seragam-n.pt"
    model = AttireClassifier(classifier)
    assert model.threshold == 0.5  # no operating point chosen yet
    probs = model.official_probability([np.full((200, 80, 3), v, np.uint8) for v in (0, 128, 255)])
    assert len(probs) == 3 and all(0 <= p <= 1 for p in probs)
    assert model.official_probability([]) == []

    # on a copy of the shipped detector and its settings: the choice raises the detector's thresholds too
    weights = tmp_path / "seragam-n.pt"
    shutil.copyfile(DEFAULT_WEIGHTS, weights)
    shutil.copyfile(DEFAULT_WEIGHTS.with_suffix(".yaml"), weights.with_suffix(".yaml"))
    chosen = choose_attire_threshold(
        classifier, tiny_dataset, tmp_path / "no-realdata", max_fpr=0.0, detector=weights
    )
    # at 0% the floor lifts the detector's official thresholds over every frame without official attire
    whole = FrameScorer.for_weights(weights)
    negatives = [
        p for p, truth in labelled_frames(tiny_dataset, "val", tmp_path / "no-realdata") if not truth
    ]
    assert not any(whole(cv2.imread(str(p)))[1] for p in negatives)
    assert chosen["val_negatives_flagged"] == f"0 of {len(negatives)}"
    shipped, official = (
        FrameScorer.for_weights(DEFAULT_WEIGHTS).operating,
        whole.detector.taxonomy.official_names,
    )
    assert whole.operating == {
        name: max(t, chosen["detector_floor"]) if name in official else t for name, t in shipped.items()
    }
    assert chosen["threshold"] >= MIN_ATTIRE_THRESHOLD
    assert chosen["detector"] == Detector(weights).version  # the mean's other half
    assert AttireClassifier(classifier).threshold == chosen["threshold"]

    assert main(["export", "--model", str(classifier)]) == 0
    onnx = AttireClassifier(classifier.with_suffix(".onnx"))
    np.testing.assert_allclose(
        onnx.official_probability(crops := [np.full((200, 80, 3), 60, np.uint8)]),
        model.official_probability(crops),
        atol=1e-3,
    )

    report = evaluate(weights, tiny_dataset, tmp_path / "no-realdata", split="val", attire=classifier)
    two_stage = json.loads(weights.with_suffix(".val.eval.json").read_text())[
        "synthetic_frame_level_two_stage"
    ]
    assert two_stage == report["synthetic_frame_level_two_stage"]
    assert two_stage["false_positives"] == 0  # chosen on this split, at 0%
    assert report["synthetic_frame_level_service"]["false_positives"] == 0
    assert report["attire_classifier"]["threshold"] == chosen["threshold"]


def test_the_operating_point_spends_the_false_positives_where_they_find_most() -> None:
    # (flag level of the whole frame, two-stage score, truth); 20 frames without: 1 false positive allowed
    frames = [(0.6, 0.1, False), (0.0, 0.7, False), *[(0.0, 0.55, False)] * 18]
    frames += [(0.7, 0.1, True), (0.0, 0.75, True), (0.0, 0.65, True)]
    # the whole frame's false positive (0.6) would leave two-stage none: threshold over 0.7, 2 found;
    # a floor over 0.6 gives two-stage the one false positive: threshold over 0.55, all 3 found
    assert joint_operating_point(frames, 0.05) == OperatingPoint(floor=0.600001, threshold=0.550001)
    # when the per-class thresholds do as well, they stay (floor 0)
    assert joint_operating_point(frames[:-1], 0.05) == OperatingPoint(floor=0.0, threshold=0.700001)
    # two-stage never flags at or below MIN_ATTIRE_THRESHOLD
    assert joint_operating_point([(0.0, 0.2, False)] * 20, 0.05).threshold == MIN_ATTIRE_THRESHOLD


def test_a_detector_is_not_taken_for_the_classifier() -> None:
    with pytest.raises(ValueError, match="seragam data crops"):
        AttireClassifier(DEFAULT_WEIGHTS)


def test_upper_body_keeps_wide_crops_whole() -> None:
    assert upper_body(np.zeros((100, 100, 3), np.uint8)).shape[:2] == (100, 100)
    assert upper_body(np.zeros((400, 100, 3), np.uint8)).shape[:2] == (125, 100)
    assert CLASSES == ("none", "official")


def test_each_official_box_is_worn_by_one_person() -> None:
    left, right = (0, 0, 100, 300), (60, 0, 160, 300)  # two people whose boxes overlap
    garment_of_left = np.array([[20, 80, 80, 200]])  # centre (50, 140): inside both boxes
    assert wearers([left, right], garment_of_left) == {0}
    pin_of_right = np.array([[105, 100, 115, 110]])
    assert wearers([left, right], pin_of_right) == {1}
    assert wearers([left, right], np.vstack([garment_of_left, pin_of_right])) == {0, 1}
    assert wearers([left, right], np.array([[300, 0, 320, 20]])) == set()  # nobody holds it
    assert wearers([left], np.zeros((0, 4))) == set()


def test_person_crops_skip_slivers_and_keep_the_persons_own_height() -> None:
    image = np.zeros((400, 300, 3), np.uint8)
    boxes = np.array([[100.2, 10, 100.6, 300], [50, -20, 150, 380], [0, 0, 20, 30]])
    (crop,) = person_crops(image, boxes)  # the sliver cuts out no pixel, the last is under 48 px
    assert crop.box == (40, 0, 160, 400) and crop.height == 400.0  # clipped box, unclipped height
    assert crop.image.shape == (400, 120, 3)
