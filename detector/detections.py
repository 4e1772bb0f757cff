"""``Detections``: the value every stage speaks, from model output to evidence."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Detections:
    """Objects found in one image.

    ``boxes`` are ``(n, 4)`` float32 pixel ``x1, y1, x2, y2`` in the original image; ``class_ids``
    index ``class_names``; ``scores`` are confidences in ``[0, 1]``; ``image_size`` is
    ``(width, height)`` of the image the boxes refer to.
    """

    boxes: np.ndarray
    class_ids: np.ndarray
    scores: np.ndarray
    class_names: tuple[str, ...]
    image_size: tuple[int, int]

    @classmethod
    def from_ultralytics(cls, result: Any) -> Detections:
        """Build from one ``ultralytics.engine.results.Results`` of a detect model."""
        names = tuple(result.names[i] for i in range(len(result.names)))
        height, width = result.orig_shape
        b = result.boxes
        return cls(
            b.xyxy.cpu().numpy().astype(np.float32),
            b.cls.cpu().numpy().astype(np.int64),
            b.conf.cpu().numpy().astype(np.float32),
            names,
            (int(width), int(height)),
        )

    @classmethod
    def from_records(
        cls, records: Sequence[Mapping[str, Any]], class_names: tuple[str, ...], image_size: tuple[int, int]
    ) -> Detections:
        """Rebuild from the ``detections`` list of ``to_dict`` (how frame scores are stored)."""
        index = {name: i for i, name in enumerate(class_names)}
        return cls(
            np.array([r["box"] for r in records], np.float32).reshape(-1, 4),
            np.array([index[r["class"]] for r in records], np.int64),
            np.array([r["score"] for r in records], np.float32),
            class_names,
            image_size,
        )

    def __len__(self) -> int:
        return len(self.scores)

    @property
    def labels(self) -> list[str]:
        return [self.class_names[i] for i in self.class_ids]

    def keep(self, mask: np.ndarray) -> Detections:
        return Detections(
            self.boxes[mask], self.class_ids[mask], self.scores[mask], self.class_names, self.image_size
        )

    def above(self, thresholds: dict[str, float]) -> Detections:
        """Only the detections whose score reaches their class threshold (classes not named: kept)."""
        limits = np.array([thresholds.get(n, 0.0) for n in self.class_names], np.float32)
        return self.keep(self.scores >= limits[self.class_ids]) if len(self) else self

    def best(self, names: frozenset[str] | set[str]) -> int | None:
        """Index of the highest-scoring detection of the named classes; None when there is none."""
        named = [n for n, label in enumerate(self.labels) if label in names]
        return max(named, key=self.scores.__getitem__, default=None)

    def best_score(self, names: frozenset[str] | set[str]) -> float:
        """Highest score among detections of the named classes; 0.0 when there is none."""
        n = self.best(names)
        return 0.0 if n is None else float(self.scores[n])

    def to_dict(self) -> dict[str, Any]:
        return {
            "image_size": list(self.image_size),
            "detections": [
                {
                    "class": self.class_names[c],
                    "score": round(float(s), 4),
                    "box": [round(float(v), 1) for v in b],
                }
                for b, c, s in zip(self.boxes, self.class_ids, self.scores, strict=True)
            ],
        }
