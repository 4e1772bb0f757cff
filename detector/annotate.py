"""Draw ``Detections`` on a frame for reviewers (OpenCV only: no font downloads)."""

from __future__ import annotations

import cv2
import numpy as np

from detector.detections import Detections

PALETTE = (
    (56, 56, 255),
    (31, 112, 255),
    (29, 178, 255),
    (151, 157, 255),
    (10, 249, 72),
    (23, 204, 146),
    (134, 219, 61),
    (211, 188, 0),
    (255, 115, 100),
)


def annotate(image: np.ndarray, detections: Detections) -> np.ndarray:
    """A copy of ``image`` with each detection's box, class and score drawn on it."""
    out = image.copy()
    scale = max(out.shape[:2]) / 1280
    thickness = max(1, round(2 * scale))
    for (x1, y1, x2, y2), class_id, score in zip(
        detections.boxes.astype(int), detections.class_ids, detections.scores, strict=True
    ):
        colour = PALETTE[int(class_id) % len(PALETTE)]
        cv2.rectangle(out, (x1, y1), (x2, y2), colour, thickness)
        text = f"{detections.class_names[class_id]} {score:.2f}"
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.6 * scale, thickness)
        top = max(0, y1 - th - base - 2)
        cv2.rectangle(out, (x1, top), (x1 + tw + 4, top + th + base + 2), colour, -1)
        cv2.putText(
            out,
            text,
            (x1 + 2, top + th + 1),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.6 * scale,
            (255, 255, 255),
            thickness,
            cv2.LINE_AA,
        )
    return out
