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

from detector.detections import Detections
from detector.model import DEFAULT_WEIGHTS, MODELS_DIR, Detector, existing_weights, load_yolo, model_version
from detector.people import PeopleFinder

if TYPE_CHECKING:
    from ultralytics import YOLO

log = logging.getLogger(__name__)

DEFAULT_ATTIRE_WEIGHTS = MODELS_DIR / "seragam-attire.pt"
CLASSES = ("none", "official")  # class folder names; ultralytics orders them alphabetically
UPPER_BODY_ASPECT = 1.25
# a person score is a mean with the detector's: up to 0.5 it can flag a person the detector found nothing on
MIN_ATTIRE_THRESHOLD = 0.500001


def upper_body(crop: np.ndarray) -> np.ndarray:
    """The top of a person crop, at most ``UPPER_BODY_ASPECT`` times as tall as wide."""
    height, width = crop.shape[:2]
    return crop[: min(height, round(width * UPPER_BODY_ASPECT))]


class AttireClassifier:
    """Loads the classifier once; ``official_probability(crops)`` scores person crops, and a person is
    official attire at ``threshold`` (from ``<weights>.yaml``, written by ``seragam eval``; 0.5 without
    it). Safe to share across threads (calls are serialised)."""

    def __init__(self, weights: Path = DEFAULT_ATTIRE_WEIGHTS, *, device: str | None = None) -> None:
        self.weights = existing_weights(Path(weights))
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
    (``score``), whether that reaches the operating threshold, and what the detector's best detection
    on the crop was (``found``: its class and its box in frame pixels; None when it found nothing)."""

    box: tuple[int, int, int, int]
    classifier_probability: float
    detector_score: float
    score: float
    official: bool
    found: tuple[str, tuple[float, float, float, float]] | None


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
        """Every person of ``image``, each with both views' scores."""
        return self._judge(image, everyone=True)

    def flagged(self, image: np.ndarray) -> list[PersonAttire]:
        """The people of ``image`` whose score reaches the threshold: those ``people`` flags. The detector
        runs only on the crops whose classifier probability leaves that possible (a mean with a detector
        score of at most 1), so a frame of people the classifier clears costs no detection of crops."""
        return [person for person in self._judge(image, everyone=False) if person.official]

    def _judge(self, image: np.ndarray, *, everyone: bool) -> list[PersonAttire]:
        crops = self.people_finder.crops(image)
        probabilities = self.classifier.official_probability([c.image for c in crops])
        official = self.detector.taxonomy.official_names
        people = []
        for crop, probability in zip(crops, probabilities, strict=True):
            if not everyone and _person_score(probability, 1.0) < self.classifier.threshold:
                continue
            # one call a crop: a batch would letterbox crops of different shapes to one size and score
            # them differently from the single-crop calls the threshold was chosen with
            detections = self.detector.detect(crop.image)
            best = detections.best(official)
            detector_score = 0.0 if best is None else float(detections.scores[best])
            score = _person_score(probability, detector_score)
            found = None
            if best is not None:
                x0, y0 = crop.box[:2]
                x1, y1, x2, y2 = (float(v) for v in detections.boxes[best])
                found = (detections.labels[best], (x1 + x0, y1 + y0, x2 + x0, y2 + y0))
            people.append(
                PersonAttire(
                    crop.box, probability, detector_score, score, score >= self.classifier.threshold, found
                )
            )
        return people

    def __call__(self, image: np.ndarray) -> tuple[float, bool]:
        """The frame's score (its most official-looking person's) and whether it is flagged."""
        score = max((p.score for p in self.people(image)), default=0.0)
        return score, score >= self.classifier.threshold


def _person_score(classifier_probability: float, detector_score: float) -> float:
    """A person's two-stage score: the mean of the classifier's and the detector's views."""
    return (classifier_probability + detector_score) / 2


class TwoStageDetector(Detector):
    """The detector with two-stage scoring added, as the service runs it: the whole frame as ``Detector``
    sees it, plus each person two-stage scoring flags, as the detection the detector made on their crop
    (class and box of its best official-attire detection there) scored with the person's two-stage score.
    Where the whole-frame pass already has that detection (same class, IoU at least 0.5) it keeps the
    higher score. So every verdict stays a taxonomy class with a box, for evidence, review and feedback.

    ``version`` names both models (``<detector>+<classifier>``): frames scored with and without the
    second stage are never mixed up."""

    def __init__(self, weights: Path | str, attire: Path | str, *, lazy: bool = False) -> None:
        super().__init__(weights, lazy=True)
        self.attire = existing_weights(Path(attire))
        self.version = f"{self.version}+{model_version(self.attire)}"
        self._two_stage: TwoStage | None = None
        if not lazy:
            self._stage()

    def _stage(self) -> TwoStage:
        if self._two_stage is None:
            two_stage = TwoStage(self.attire, detector=self.weights)
            if two_stage.classifier.threshold < MIN_ATTIRE_THRESHOLD:
                raise ValueError(
                    f"the attire threshold {two_stage.classifier.threshold} of {self.attire.name} is at most "
                    "0.5, where a person can be flagged with nothing detected on them: choose it with "
                    "`seragam eval --attire ... --tune-attire-threshold`"
                )
            self._two_stage = two_stage
        return self._two_stage

    def judge(self, image: np.ndarray) -> tuple[Detections, list[PersonAttire]]:
        """The detections of ``image`` and the people they were judged from (what ``detect`` returns)."""
        people = self._stage().people(image)
        return with_people(self._whole([image])[0], people), people

    def detect_batch(self, images: Sequence[np.ndarray]) -> list[Detections]:
        stage = self._stage()
        return [
            with_people(d, stage.flagged(image)) for d, image in zip(self._whole(images), images, strict=True)
        ]

    def _whole(self, images: Sequence[np.ndarray]) -> list[Detections]:
        """The whole frames as ``Detector`` sees them, by the second stage's network (kept from
        ``RAW_THRESHOLD`` up, then cut at the operating thresholds): one copy of the network a process.
        A lower cut only adds boxes below the thresholds: non-maximum suppression lets a box be suppressed
        by higher-scoring ones only (and of a frame's boxes it keeps the 300 best)."""
        raw = self._stage().detector.detect_batch(images)  # one network call for frames of one size
        return [d.above(self.thresholds) for d in raw]


def with_people(detections: Detections, people: Sequence[PersonAttire]) -> Detections:
    """``detections`` with each flagged person's detection added (see ``TwoStageDetector``)."""
    index = {name: n for n, name in enumerate(detections.class_names)}
    boxes, class_ids, scores = list(detections.boxes), list(detections.class_ids), list(detections.scores)
    for person in people:
        if not person.official or person.found is None:
            continue
        name, box = person.found
        same = [n for n, c in enumerate(class_ids) if c == index[name] and _iou(boxes[n], box) >= 0.5]
        for n in same:
            scores[n] = max(scores[n], person.score)
        if not same:
            boxes.append(np.array(box, np.float32))
            class_ids.append(index[name])
            scores.append(person.score)
    return Detections(
        np.array(boxes, np.float32).reshape(-1, 4),
        np.array(class_ids, np.int64),
        np.array(scores, np.float32),
        detections.class_names,
        detections.image_size,
    )


def _iou(a: Sequence[float], b: Sequence[float]) -> float:
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def load_detector(weights: Path | str, attire: Path | str | None, *, lazy: bool = False) -> Detector:
    """The detector the service runs: with two-stage scoring when an attire classifier is given."""
    if attire is None:
        return Detector(weights, lazy=lazy)
    return TwoStageDetector(weights, attire, lazy=lazy)
