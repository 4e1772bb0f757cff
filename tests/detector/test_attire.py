"""The shipped attire classifier and its ONNX export, for real."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from detector.attire import DEFAULT_ATTIRE_WEIGHTS, AttireClassifier, TwoStage
from detector.model import DEFAULT_WEIGHTS, Detector


def test_onnx_export_agrees_with_pt(frames: list) -> None:
    two_stage = TwoStage()
    onnx = AttireClassifier(DEFAULT_ATTIRE_WEIGHTS.with_suffix(".onnx"))
    assert onnx.threshold == two_stage.classifier.threshold  # one settings file for both
    crops = [c.image for image, _ in frames for c in two_stage.people_finder.crops(image)]
    assert len(crops) >= len(frames)
    np.testing.assert_allclose(
        onnx.official_probability(crops), two_stage.classifier.official_probability(crops), atol=1e-3
    )


def test_a_frame_without_people_scores_zero() -> None:
    assert TwoStage()(np.full((640, 360, 3), 90, np.uint8)) == (0.0, False)


def test_each_person_is_scored_by_the_classifier_and_the_raw_detector(frames: list) -> None:
    """A person's score is the mean of the classifier's P(official) and the detector's best official
    score on their crop, taken below the detector's operating thresholds too."""
    two_stage = TwoStage()
    raw = Detector.raw(DEFAULT_WEIGHTS)
    official = raw.taxonomy.official_names
    people = 0
    for image, _ in frames[:4]:
        crops = two_stage.people_finder.crops(image)
        for person, crop in zip(two_stage.people(image), crops, strict=True):
            assert person.box == crop.box
            assert person.detector_score == pytest.approx(raw.detect(crop.image).best_score(official))
            assert person.score == pytest.approx((person.classifier_probability + person.detector_score) / 2)
            assert person.official == (person.score >= two_stage.classifier.threshold)
            people += 1
    assert people >= 4


def test_a_threshold_chosen_with_another_detector_is_warned_of(caplog: pytest.LogCaptureFixture) -> None:
    """The threshold holds for the mean with the detector it was chosen with (named in its file)."""
    with caplog.at_level(logging.WARNING, logger="detector.attire"):
        TwoStage()
    assert caplog.text == ""
    other = DEFAULT_WEIGHTS.with_suffix(".onnx")
    with caplog.at_level(logging.WARNING, logger="detector.attire"):
        TwoStage(detector=other)
    assert "chosen with the detector seragam-n@" in caplog.text and "--tune-attire-threshold" in caplog.text


def test_an_unusable_classifier_file_is_a_value_error_naming_it(tmp_path: Path) -> None:
    weights = tmp_path / "attire.pt"
    weights.write_text("text\n")
    with pytest.raises(ValueError, match=f"{weights} is not a usable .pt or .onnx YOLO model"):
        AttireClassifier(weights)
