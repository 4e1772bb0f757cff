"""The shipped attire classifier and its ONNX export, for real."""

from __future__ import annotations

import numpy as np

from detector.attire import DEFAULT_ATTIRE_WEIGHTS, AttireClassifier, TwoStage


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
