"""One check for "this export judges as its .pt": the same detections, frame by frame."""

from __future__ import annotations

import numpy as np

from detector.model import Detector


def assert_same_detections(
    ours: Detector, other: Detector, frames: list, *, atol: float, at_least: int
) -> None:
    """``other`` finds on each frame what ``ours`` finds: the same classes in the same order, scores
    within ``atol``, boxes within 0.05 px; and ``ours`` finds ``at_least`` detections in all, so the
    check is made on detections, not on empty frames."""
    found = 0
    for image, _ in frames:
        a, b = ours.detect(image), other.detect(image)
        assert a.labels == b.labels
        np.testing.assert_allclose(b.scores, a.scores, atol=atol)
        np.testing.assert_allclose(b.boxes, a.boxes, atol=0.05)
        found += len(a.labels)
    assert found >= at_least
