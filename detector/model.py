"""``Detector``: loads a model once and turns images into ``Detections``."""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import yaml

from detector.detections import Detections
from detector.settings import number_setting, refuse_unknown
from detector.taxonomy import Taxonomy, load_taxonomy

if TYPE_CHECKING:
    from ultralytics import YOLO

MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
DEFAULT_WEIGHTS = MODELS_DIR / "seragam-n.pt"
RAW_THRESHOLD = 0.01  # kept for scoring (best score, ROC AUC): below any operating threshold


class ModelNotFoundError(FileNotFoundError):
    """The weights file named in configuration does not exist."""


class InvalidImageError(ValueError):
    """An image array the detector cannot take (wrong shape or dtype)."""


@dataclass(frozen=True)
class ModelSettings:
    """Operating settings shipped beside the weights (``<weights>.yaml``), written by ``seragam eval``."""

    imgsz: int = 416
    thresholds: dict[str, float] = field(default_factory=dict)

    @classmethod
    def for_weights(cls, weights: Path, taxonomy: Taxonomy) -> ModelSettings:
        defaults = {c.name: c.threshold for c in taxonomy.classes}
        sidecar = weights.with_suffix(".yaml")
        if not sidecar.exists():
            return cls(thresholds=defaults)
        raw = yaml.safe_load(sidecar.read_text()) or {}
        try:
            refuse_unknown(raw, ("imgsz", "thresholds"), "model")
            imgsz = number_setting("imgsz", raw.get("imgsz", cls.imgsz), int)
            thresholds = class_thresholds(raw.get("thresholds", {}), taxonomy)
            return cls(imgsz=imgsz, thresholds=defaults | thresholds)
        except ValueError as error:
            raise ValueError(f"{sidecar}: {error}") from None

    def write(self, weights: Path) -> None:
        """Write these settings beside ``weights``, as ``<weights>.yaml`` where ``for_weights`` reads them."""
        sidecar = weights.with_suffix(".yaml")
        sidecar.write_text(yaml.safe_dump({"imgsz": self.imgsz, "thresholds": self.thresholds}))


def class_thresholds(thresholds: Mapping[str, object], taxonomy: Taxonomy) -> dict[str, float]:
    """Per-class thresholds, each a number from 0 to 1 for a class of the taxonomy (a misspelt class
    would silently keep its default)."""
    refuse_unknown(thresholds, taxonomy.names, "class threshold")
    checked = {name: number_setting(name, value) for name, value in thresholds.items()}
    if bad := {name: value for name, value in checked.items() if not 0 <= value <= 1}:
        raise ValueError(f"class thresholds must lie between 0 and 1, got {bad}")
    return checked


def model_version(weights: Path) -> str:
    """How reports and cases name a weights file: ``<stem>@<first 12 hex of its sha256>``."""
    return f"{weights.stem}@{file_sha256(weights)[:12]}"


def load_yolo(weights: Path, task: str | None = None) -> YOLO:
    """The ultralytics model in ``weights`` (``task``: None reads it from the weights). A file it cannot
    use (corrupt, truncated, another format) is a ``ValueError`` that names the file and what to give."""
    from detector.offline import YOLO  # imports torch: only where the network runs

    def unusable(reason: str) -> ValueError:
        return ValueError(
            f"{weights} is not a usable .pt or .onnx YOLO model ({reason}); give a .pt that `seragam train` "
            "wrote or the .onnx `seragam export` made of it"
        )

    existing_weights(weights)
    if weights.suffix.lower() not in (".pt", ".onnx"):
        raise unusable(f"a {weights.suffix or 'suffixless'} file")
    try:
        model = YOLO(str(weights), task=task)
        model.names  # noqa: B018 -- an ONNX file is only opened when something of it is first read
    # ultralytics reports an unusable file as TypeError, ValueError, UnpicklingError, RuntimeError ...
    except Exception as error:
        first_line = str(error).partition("\n")[0].replace(str(weights), "the file")
        raise unusable(re.sub(r"^ERROR \S+ ", "", first_line) or type(error).__name__) from error
    return model


def existing_weights(weights: Path) -> Path:
    """``weights``, or ``ModelNotFoundError`` when there is no such file."""
    if not weights.is_file():
        raise ModelNotFoundError(f"model weights not found: {weights} (give a .pt or .onnx file)")
    return weights


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class Detector:
    """A loaded model with per-class thresholds. Safe to share across threads: calls are serialised,
    because ultralytics predictors keep per-call state and mix up results when used concurrently."""

    def __init__(
        self,
        weights: Path | str = DEFAULT_WEIGHTS,
        *,
        imgsz: int | None = None,
        thresholds: dict[str, float] | None = None,
        device: str | None = None,
        lazy: bool = False,
    ) -> None:
        """``lazy``: load the network on the first call instead of now (a process that only needs the
        model's identity and classes, such as a batch's coordinator, never imports torch)."""
        self.weights = existing_weights(Path(weights))
        self.taxonomy = load_taxonomy()
        settings = ModelSettings.for_weights(self.weights, self.taxonomy)
        self.imgsz = imgsz or settings.imgsz
        self.thresholds = settings.thresholds | class_thresholds(thresholds or {}, self.taxonomy)
        self.version = model_version(self.weights)
        self.attire: Path | None = None  # a second stage's classifier (detector.attire.TwoStageDetector)
        self._device = device
        self._model: YOLO | None = None
        self._lock = threading.Lock()
        self._min_conf = min(self.thresholds.values(), default=0.25)
        if not lazy:
            self._loaded()

    @classmethod
    def raw(cls, weights: Path | str = DEFAULT_WEIGHTS) -> Detector:
        """The model with every class kept from ``RAW_THRESHOLD`` up: for scores, not decisions."""
        return cls(weights, thresholds=dict.fromkeys(load_taxonomy().names, RAW_THRESHOLD))

    @property
    def class_names(self) -> tuple[str, ...]:
        """The model's classes: the taxonomy's, in its order (checked when the network loads)."""
        return self.taxonomy.names

    def _loaded(self) -> YOLO:
        if self._model is None:
            model = load_yolo(self.weights, task="detect")
            names = tuple(model.names[i] for i in range(len(model.names)))
            if names != self.taxonomy.names:
                raise ValueError(
                    f"{self.weights} detects {names}, not the taxonomy's classes {self.taxonomy.names}: "
                    "train it on a dataset made from detector/taxonomy.yaml"
                )
            self._model = model
        return self._model

    def detect(self, image: np.ndarray) -> Detections:
        """Detect attire in one BGR ``uint8`` image of shape ``(height, width, 3)``."""
        return self.detect_batch([image])[0]

    def detect_batch(self, images: Sequence[np.ndarray]) -> list[Detections]:
        """Detect attire in several BGR images at once (faster per image on batches of video frames)."""
        for image in images:
            if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
                raise InvalidImageError(
                    f"expected a BGR uint8 image (h, w, 3), got {image.dtype} {image.shape}"
                )
        # One call per image size: ultralytics letterboxes a batch of one size to its smallest rectangle but
        # a mixed batch to a square, so a frame would score differently beside a frame of another size.
        by_size: dict[tuple[int, ...], list[int]] = {}
        for n, image in enumerate(images):
            by_size.setdefault(image.shape, []).append(n)
        found: dict[int, Detections] = {}
        with self._lock:
            for indices in by_size.values():
                results = self._loaded().predict(
                    [images[n] for n in indices],
                    imgsz=self.imgsz,
                    conf=self._min_conf,
                    device=self._device,
                    verbose=False,
                )
                found |= {
                    n: Detections.from_ultralytics(r).above(self.thresholds)
                    for n, r in zip(indices, results, strict=True)
                }
        return [found[n] for n in range(len(images))]
