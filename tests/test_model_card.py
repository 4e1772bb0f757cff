"""The model card's numbers must be the ones ``seragam eval`` wrote beside the shipped weights."""

from __future__ import annotations

import json

import pytest

from detector.attire import DEFAULT_ATTIRE_WEIGHTS, AttireClassifier
from detector.model import DEFAULT_WEIGHTS, Detector, file_sha256

CARD = DEFAULT_WEIGHTS.parent / "MODEL_CARD.md"
REPORT = json.loads(DEFAULT_WEIGHTS.with_suffix(".eval.json").read_text())
HELD_OUT = json.loads(DEFAULT_WEIGHTS.with_name(f"{DEFAULT_WEIGHTS.stem}.heldout.eval.json").read_text())


def test_report_is_of_the_shipped_weights(shipped_detector: Detector) -> None:
    assert REPORT["model"] == shipped_detector.version
    assert REPORT["thresholds"] == shipped_detector.thresholds
    assert REPORT["imgsz"] == shipped_detector.imgsz


@pytest.mark.parametrize("value", [REPORT["synthetic_boxes"]["map50"], REPORT["synthetic_boxes"]["map50_95"]])
def test_card_quotes_the_box_metrics(value: float) -> None:
    assert str(value) in CARD.read_text()


@pytest.mark.parametrize("name", REPORT["synthetic_boxes"]["ap50"])
def test_card_quotes_each_class_ap_with_its_boxes(name: str) -> None:
    boxes = REPORT["synthetic_boxes"]
    assert f"| {name} | {boxes['ap50'][name]} | {boxes['boxes'][name]} |" in CARD.read_text()


def test_report_is_of_the_shipped_attire_classifier() -> None:
    classifier = AttireClassifier(DEFAULT_ATTIRE_WEIGHTS)
    assert REPORT["attire_classifier"] == {
        "model": f"seragam-attire@{file_sha256(DEFAULT_ATTIRE_WEIGHTS)[:12]}",
        "threshold": classifier.threshold,
    }
    text = CARD.read_text()
    for key in ("synthetic_frame_level_two_stage", "synthetic_frame_level_service"):
        level = REPORT[key]
        assert f"{level['detected']} of {level['positives']}" in text
        assert f"{level['false_positives']} of {level['negatives']}" in text


@pytest.mark.parametrize(
    "key", ["realdata_test", "realdata_test_person_crops", "realdata_test_two_stage", "realdata_test_service"]
)
def test_card_quotes_the_real_photo_counts(key: str) -> None:
    if REPORT.get(key) is None:
        pytest.skip("the shipped report has no real-photo results")
    level = REPORT[key]["frame_level"]
    text = CARD.read_text()
    assert f"{level['detected']} / {level['positives']}" in text
    assert f"{level['false_positives']} / {level['negatives']}" in text
    for interval in (level["recall_95ci"], level["false_positive_rate_95ci"]):
        assert "{}-{}".format(*interval) in text


@pytest.mark.parametrize("weights", [DEFAULT_WEIGHTS, DEFAULT_ATTIRE_WEIGHTS])
def test_train_recipe_names_the_shipped_weights(weights) -> None:
    recipe = weights.with_suffix(".train.yaml").read_text()
    assert file_sha256(weights) in recipe


def test_held_out_report_is_of_the_shipped_models() -> None:
    for key in ("model", "thresholds", "imgsz", "attire_classifier"):
        assert HELD_OUT[key] == REPORT[key]


def test_card_quotes_the_held_out_set() -> None:
    """Its mAP50, and each class's AP50 with its boxes, on all frames and on each kind of frame."""
    text = CARD.read_text()
    boxes, kinds = HELD_OUT["synthetic_boxes"], HELD_OUT["synthetic_boxes_by_kind"]
    assert f"mAP50 **{boxes['map50']}**, mAP50-95 {boxes['map50_95']}" in text
    for name, ap in boxes["ap50"].items():
        cells = [f"{ap} ({boxes['boxes'][name]})"] + [
            f"{kind['ap50'][name]} ({kind['boxes'][name]})" if name in kind["ap50"] else "-"
            for kind in (kinds["real_uniform_photos"], kinds["drawn_or_none"])
        ]
        assert f"| {name} | {' | '.join(cells)} |" in text
    for kind in kinds.values():
        assert f"{kind['frames']:,} frames" in text and f"mAP50 {kind['map50']}" in text
    for key in ("synthetic_frame_level", "synthetic_frame_level_two_stage"):
        level = HELD_OUT[key]
        assert f"{level['detected']} of {level['positives']} at {level['false_positives']} of" in text
