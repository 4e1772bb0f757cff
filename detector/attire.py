"""The second stage of two-stage scoring: a YOLO classifier that tells, person by person, whether
official civil-service attire is worn (``official``) or not (``none``).

It sees each person's upper body (``upper_body``: the top of the person crop, at most 1.25 times as
tall as it is wide, where garments, name plates, pins and sleeve emblems sit), the same way in
training (``seragam data crops``) and in use.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import yaml

from detector.model import DEFAULT_WEIGHTS, MODELS_DIR, Detector, load_yolo, model_version
from detector.people import PeopleFinder

if TYPE_CHECKING:
    from ultralytics import YOLO

log = logging.getLogger(__name__)

DEFAULT_ATTIRE_WEIGHTS = MODELS_DIR / "seragam-attire.pt"
CLASSES = ("none", "official")  # class folder names; ultralytics orders them alphabetically
UPPER_BODY_ASPECT = 1.25


def upper_body(crop: np.ndarray) -> np.ndarray:
    """The top of a person crop, at most ``UPPER_BODY_ASPECT`` times as tall as wide."""
    height, width = crop.shape[:2]
    return crop[: min(height, round(width * UPPER_BODY_ASPECT))]


class AttireClassifier:
    """Loads the classifier once; ``official_probability(crops)`` scores person crops, and a person is
    official attire at ``threshold`` (from ``<weights>.yaml``, written by ``seragam eval``; 0.5 without
    it). Safe to share across threads (calls are serialised)."""

    def __init__(self, weights: Path = DEFAULT_ATTIRE_WEIGHTS, *, device: str | None = None) -> None:
        self.weights = Path(weights)
        if not self.weights.is_file():
            raise FileNotFoundError(f"attire classifier weights not found: {self.weights}")
        self.version = model_version(self.weights)
        self._model: YOLO = load_yolo(self.weights, task="classify")
        names = tuple(self._model.names[i] for i in range(len(self._model.names)))
        if names != CLASSES:
            raise ValueError(
                f"{self.weights} classifies {names}, not {CLASSES}: train it on `seragam data crops`"
            )
        sidecar = self.weights.with_suffix(".yaml")
        settings = (yaml.safe_load(sidecar.read_text()) or {}) if sidecar.exists() else {}
        self.threshold = float(settings.get("threshold", 0.5))
        self.threshold_detector: str | None = settings.get("detector")  # the mean's other half, if any
        self._device = device
        self._lock = threading.Lock()

    def official_probability(self, crops: Sequence[np.ndarray]) -> list[float]:
        """P(official attire) for each BGR person crop: cut to its upper body, averaged over the crop and
        its mirror image (livestream apps mirror selfie video, and the average is steadier than either)."""
        if not crops:
            return []
        bodies = [upper_body(c) for c in crops]
        with self._lock:
            results = self._model.predict(
                bodies + [np.ascontiguousarray(b[:, ::-1]) for b in bodies],
                device=self._device,
                verbose=False,
            )
        official = [float(r.probs.data[CLASSES.index("official")]) for r in results]
        return [(a + b) / 2 for a, b in zip(official[: len(bodies)], official[len(bodies) :], strict=True)]


@dataclass(frozen=True)
class PersonAttire:
    """One person of a frame: padded box ``(x0, y0, x1, y1)`` in pixels, the attire classifier's
    P(official attire), the detector's best official-attire score on the person's crop, their mean
    (``score``), and whether that reaches the operating threshold."""

    box: tuple[int, int, int, int]
    classifier_probability: float
    detector_score: float
    score: float
    official: bool


class TwoStage:
    """Two-stage scoring: the pose model finds people, and each person is judged by two views of their
    crop: the attire classifier (the upper body as a whole) and the detector (garments and insignia,
    at its own input size); a person's score is the mean of the two, which separated official attire from
    the rest better than either alone on the val split (model card). The operating threshold in
    ``<attire weights>.yaml`` is chosen for that mean by ``seragam eval --tune-attire-threshold``, with
    the detector it names."""

    def __init__(
        self,
        weights: Path = DEFAULT_ATTIRE_WEIGHTS,
        people: PeopleFinder | None = None,
        detector: Path = DEFAULT_WEIGHTS,
    ) -> None:
        self.classifier = AttireClassifier(weights)
        self.detector = Detector.raw(detector)
        self.people_finder = people or PeopleFinder()
        chosen_with = self.classifier.threshold_detector
        if chosen_with is not None and chosen_with != self.detector.version:
            log.warning(
                "the attire threshold %s of %s was chosen with the detector %s, not %s: choose it again "
                "with `seragam eval --attire ... --tune-attire-threshold` (an ONNX export scores as its .pt)",
                self.classifier.threshold,
                self.classifier.weights.name,
                chosen_with,
                self.detector.version,
            )

    def people(self, image: np.ndarray) -> list[PersonAttire]:
        crops = self.people_finder.crops(image)
        probabilities = self.classifier.official_probability([c.image for c in crops])
        official = self.detector.taxonomy.official_names
        people = []
        for crop, probability in zip(crops, probabilities, strict=True):
            # one call a crop: a batch would letterbox crops of different shapes to one size and score
            # them differently from the single-crop calls the threshold was chosen with
            detector_score = self.detector.detect(crop.image).best_score(official)
            score = (probability + detector_score) / 2
            people.append(
                PersonAttire(crop.box, probability, detector_score, score, score >= self.classifier.threshold)
            )
        return people

    def __call__(self, image: np.ndarray) -> tuple[float, bool]:
        """The frame's score (its most official-looking person's) and whether it is flagged."""
        score = max((p.score for p in self.people(image)), default=0.0)
        return score, score >= self.classifier.threshold
