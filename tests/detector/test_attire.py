"""The shipped attire classifier and its ONNX export, for real."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

from detector.attire import (
    DEFAULT_ATTIRE_WEIGHTS,
    AttireClassifier,
    PersonAttire,
    TwoStage,
    TwoStageDetector,
    load_detector,
    with_people,
)
from detector.detections import Detections
from detector.model import DEFAULT_WEIGHTS, Detector
from detector.taxonomy import load_taxonomy
from tests.detector.agreement import assert_same_detections


def test_onnx_export_agrees_with_pt(frames: list) -> None:
    two_stage = TwoStage()
    onnx = AttireClassifier(DEFAULT_ATTIRE_WEIGHTS.with_suffix(".onnx"))
    assert onnx.threshold == two_stage.classifier.threshold  # one settings file for both
    crops = [c.image for image, _ in frames for c in two_stage.people_finder.crops(image)]
    assert len(crops) >= len(frames)
    np.testing.assert_allclose(
        onnx.official_probability(crops), two_stage.classifier.official_probability(crops), atol=1e-3
    )


def test_the_service_judges_alike_with_both_models_onnx_exports(frames: list) -> None:
    """The exports are a faster runtime for the same judgement: the same detections, whole frame and
    flagged people alike (the person's score is a mean of both exports' scores)."""
    pt = TwoStageDetector(DEFAULT_WEIGHTS, DEFAULT_ATTIRE_WEIGHTS)
    onnx = TwoStageDetector(DEFAULT_WEIGHTS.with_suffix(".onnx"), DEFAULT_ATTIRE_WEIGHTS.with_suffix(".onnx"))
    assert_same_detections(pt, onnx, frames, atol=1e-3, at_least=len(frames) // 2)


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


def _person(score: float, found: tuple[str, tuple[float, float, float, float]] | None) -> PersonAttire:
    return PersonAttire((0, 0, 100, 200), score, score, score, score >= 0.6, found)


def test_with_people_adds_each_flagged_person_once() -> None:
    names = load_taxonomy().names
    frame = Detections(
        np.array([[10, 10, 50, 90]], np.float32),
        np.array([names.index("field_uniform")], np.int64),
        np.array([0.7], np.float32),
        names,
        (360, 640),
    )
    people = [
        _person(0.9, ("field_uniform", (12, 10, 50, 92))),  # the frame's own detection: its score rises
        _person(0.65, ("name_plate", (20, 30, 30, 35))),  # a new one
        _person(0.55, ("pdh_khaki", (100, 100, 200, 300))),  # below the threshold: not added
    ]
    merged = with_people(frame, people)
    assert merged.labels == ["field_uniform", "name_plate"]
    np.testing.assert_allclose(merged.scores, [0.9, 0.65])
    np.testing.assert_allclose(merged.boxes, [[10, 10, 50, 90], [20, 30, 30, 35]])
    assert merged.image_size == (360, 640)
    assert with_people(frame, [_person(0.6, ("field_uniform", (12, 10, 50, 92)))]).scores.tolist() == [
        pytest.approx(0.7)  # the higher score stays
    ]


def test_the_two_stage_detector_reports_flagged_people_as_their_detections(frames: list) -> None:
    """What the service runs: the whole frame's detections, plus each flagged person as the detector's best
    official-attire detection on their crop, in frame pixels, scored with the person's two-stage score."""
    detector = TwoStageDetector(DEFAULT_WEIGHTS, DEFAULT_ATTIRE_WEIGHTS)
    assert detector.version == f"{Detector(DEFAULT_WEIGHTS).version}+{AttireClassifier().version}"
    whole, two_stage = Detector(DEFAULT_WEIGHTS), TwoStage()
    flagged = 0
    for image, _ in frames:
        people = two_stage.people(image)
        found = detector.detect(image)
        expected = with_people(whole.detect(image), people)
        assert found.labels == expected.labels
        np.testing.assert_allclose(found.scores, expected.scores, atol=1e-6)
        np.testing.assert_allclose(found.boxes, expected.boxes, atol=1e-3)
        for person in (p for p in people if p.official):
            name, (x1, y1, x2, y2) = person.found
            px0, py0, px1, py1 = person.box
            assert name in whole.taxonomy.official_names and px0 <= x1 < x2 <= px1 and py0 <= y1 < y2 <= py1
            assert found.best_score({name}) >= person.score - 1e-6
        flagged += sum(p.official for p in people)
    assert flagged >= 2


def test_flagged_people_are_those_people_flags_without_detecting_the_cleared_crops(
    frames: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A person whose classifier probability p keeps (p + 1) / 2 under the threshold cannot be flagged
    whatever the detector finds on their crop: ``flagged`` does not run it there, and flags the same."""
    two_stage = TwoStage()
    # At a threshold just above 0.5 (the shipped one may be) nobody is cleared; this one clears some.
    threshold = 0.7
    monkeypatch.setattr(two_stage.classifier, "threshold", threshold)
    crops_detected = []
    detect = two_stage.detector.detect
    monkeypatch.setattr(two_stage.detector, "detect", lambda image: crops_detected.append(1) or detect(image))
    everyone = [two_stage.people(image) for image, _ in frames]
    all_crops = len(crops_detected)
    crops_detected.clear()
    assert [two_stage.flagged(image) for image, _ in frames] == [
        [p for p in ps if p.official] for ps in everyone
    ]
    cleared = sum((p.classifier_probability + 1) / 2 < threshold for people in everyone for p in people)
    assert cleared >= 1 and len(crops_detected) == all_crops - cleared
    assert any(p.official for people in everyone for p in people)


def test_the_service_detector_is_two_stage_only_with_a_classifier() -> None:
    assert type(load_detector(DEFAULT_WEIGHTS, None, lazy=True)) is Detector
    assert load_detector(DEFAULT_WEIGHTS, DEFAULT_ATTIRE_WEIGHTS, lazy=True).attire == DEFAULT_ATTIRE_WEIGHTS


def test_an_attire_threshold_of_at_most_a_half_is_refused(tmp_path: Path) -> None:
    """At 0.5 a certain classifier flags a person the detector found nothing on: no class to report."""
    weights = tmp_path / "attire.pt"
    shutil.copyfile(DEFAULT_ATTIRE_WEIGHTS, weights)
    weights.with_suffix(".yaml").write_text("threshold: 0.5\n")
    with pytest.raises(ValueError, match=r"attire threshold 0\.5 of attire\.pt is at most 0\.5"):
        TwoStageDetector(DEFAULT_WEIGHTS, weights)
