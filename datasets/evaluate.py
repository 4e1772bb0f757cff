"""``seragam eval``: what users care about, on held-out synthetic frames and on real photos.

- synthetic ``test`` split: per-class AP50 and mAP50-95 (boxes exist there), also apart for the
  frames of real uniform photos and for those of drawn attire;
- frame level, on the synthetic test split and on the real photos of ``../shared/realdata`` (its
  ``test`` split only): recall of "official attire present" on official-attire frames and the
  false-positive rate on civilian frames, at the shipped operating thresholds, with counts and 95%
  Wilson intervals; synthetic frames whose labels cannot say whether official attire shows are left
  out and counted (``frames_unknown``, by ``datasets.crops.frame_truth``, as in threshold tuning);
- a confusion summary of the hard negatives (everyday batik, police, military, other uniforms);
- with an attire classifier, each of these frame-level results for two-stage scoring and for the
  service's judgement (``TwoStageDetector``: the whole frame or two-stage) too.
"""

from __future__ import annotations

import functools
import json
import math
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import yaml

from datasets.crops import frame_source, frame_truth, labelled_frames
from datasets.importers import open_yolo_dataset
from datasets.people import (
    GARMENT_OF_LABEL,
    REALDATA_DIR,
    is_official_label,
    realdata_labels,
    realdata_photos,
)
from detector.attire import MIN_ATTIRE_THRESHOLD, TwoStage, TwoStageDetector
from detector.model import DEFAULT_WEIGHTS, Detector, ModelSettings
from detector.offline import YOLO
from detector.people import PeopleFinder
from detector.taxonomy import load_taxonomy

CIVILIAN_LABELS = ("civilian", "civilian_batik")
HARD_NEGATIVE_LABELS = ("civilian_batik", "police", "military", "other_uniform", "school_uniform")


@dataclass(frozen=True)
class FrameLevel:
    """Frame-level decision quality at the operating thresholds; rates with their counts."""

    positives: int
    detected: int
    negatives: int
    false_positives: int
    roc_auc: float | None
    frames_unknown: int = 0  # left out: their labels cannot say whether official attire shows

    @property
    def recall(self) -> float | None:
        return self.detected / self.positives if self.positives else None

    @property
    def false_positive_rate(self) -> float | None:
        return self.false_positives / self.negatives if self.negatives else None

    def to_dict(self) -> dict[str, object]:
        return asdict(self) | {
            "recall": self.recall,
            "false_positive_rate": self.false_positive_rate,
            "recall_95ci": wilson_interval(self.detected, self.positives),
            "false_positive_rate_95ci": wilson_interval(self.false_positives, self.negatives),
        }


def wilson_interval(k: int, n: int, z: float = 1.96) -> list[float] | None:
    """95% Wilson score interval of the rate ``k / n``, rounded to 3 decimals: with 37 official-attire
    photos one photo moves recall by 0.027, and a rate means little without its interval."""
    if n == 0:
        return None
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return [round(max(0.0, centre - half), 3), round(min(1.0, centre + half), 3)]


def roc_auc(pos: list[float], neg: list[float]) -> float | None:
    """Probability a random positive scores above a random negative (ties count half)."""
    if not pos or not neg:
        return None
    p, n = np.asarray(pos)[:, None], np.asarray(neg)[None, :]
    return float((p > n).mean() + 0.5 * (p == n).mean())


def frame_level(
    pos_scores: list[float],
    neg_scores: list[float],
    pos_hits: list[bool],
    neg_hits: list[bool],
    frames_unknown: int = 0,
) -> FrameLevel:
    return FrameLevel(
        len(pos_hits),
        sum(pos_hits),
        len(neg_hits),
        sum(neg_hits),
        roc_auc(pos_scores, neg_scores),
        frames_unknown,
    )


Scorer = Callable[[np.ndarray], tuple[float, bool]]  # a frame -> (score, flagged at the operating point)


@dataclass(frozen=True)
class FrameScorer:
    """Scores a frame for "official attire present": the best official score, threshold-free (for
    ROC AUC), and whether the frame is flagged at the operating thresholds."""

    detector: Detector  # built with near-zero thresholds, so that scores below the operating point count
    operating: dict[str, float]

    @classmethod
    def for_weights(cls, weights: Path) -> FrameScorer:
        return cls(Detector.raw(weights), ModelSettings.for_weights(weights, load_taxonomy()).thresholds)

    def __call__(self, image: np.ndarray) -> tuple[float, bool]:
        dets = self.detector.detect(image)
        official = self.detector.taxonomy.official_names
        return dets.best_score(official), any(
            label in official for label in dets.above(self.operating).labels
        )

    def flag_level(self, image: np.ndarray) -> float:
        """The best official score at or over its class's operating threshold: the frame stays flagged
        while a common floor under the thresholds is at most this; 0.0 when it is not flagged."""
        official = self.detector.taxonomy.official_names
        return self.detector.detect(image).above(self.operating).best_score(official)


def _validate(weights: Path, data_yaml: Path, imgsz: int, split: str) -> Any:
    """ultralytics' validation metrics, which also keep ``matched``: ultralytics' own matching of the
    detections to the boxes (``tp``: each detection right at IoU 0.5, 0.55 .. 0.95; ``conf``; ``pred_cls``;
    ``target_cls``: one entry a box), which its validator clears once the metrics are computed."""
    # imported here, where detector.offline has already kept ultralytics off the network
    from ultralytics.models.yolo.detect import DetectionValidator

    class MatchKeepingValidator(DetectionValidator):
        def get_stats(self) -> dict[str, Any]:
            self.metrics.matched = {k: np.concatenate(v, 0) for k, v in self.metrics.stats.items()}
            return super().get_stats()

    return YOLO(str(weights), task="detect").val(
        validator=MatchKeepingValidator,
        data=str(data_yaml),
        split=split,
        imgsz=imgsz,
        plots=False,
        verbose=False,
        device="cpu",
        batch=8,
        workers=0,
    )


def box_metrics(weights: Path, data_yaml: Path, imgsz: int, split: str = "test") -> dict[str, object]:
    m = _validate(weights, data_yaml, imgsz, split)
    classes = [int(c) for c in m.box.ap_class_index]  # the classes with boxes in the split
    return {
        "split": split,
        "map50": round(float(m.box.map50), 4),
        "map50_95": round(float(m.box.map), 4),
        "ap50": {m.names[c]: round(float(ap), 4) for c, ap in zip(classes, m.box.ap50, strict=True)},
        # how many boxes each AP rests on: one missed box of a class with one is an AP of 0
        "boxes": {m.names[c]: int(m.nt_per_class[c]) for c in classes},
    }


def box_metrics_by_kind(
    weights: Path, data_yaml: Path, imgsz: int, split: str = "test", realdata: Path = REALDATA_DIR
) -> dict[str, object] | None:
    """``box_metrics`` of the ``split`` frames in two kinds, by their source photo: real uniforms as
    they were photographed (garment boxes from pose keypoints: the nearest the frames come to real
    uniforms in a livestream's framing), and the rest (attire drawn on real people, look-alikes, no
    attire). None when realdata, which tells the kinds apart, is absent."""
    labels = realdata_labels(realdata)
    if not labels:
        return None
    dataset = open_yolo_dataset(data_yaml)
    kinds: dict[str, list[Path]] = {"real_uniform_photos": [], "drawn_or_none": []}
    for frame in dataset.splits.get(split, ()):
        real = GARMENT_OF_LABEL.get(labels.get(frame_source(frame), "")) is not None
        kinds["real_uniform_photos" if real else "drawn_or_none"].append(frame)
    raw = yaml.safe_load(dataset.data_yaml.read_text())
    raw["path"] = str(dataset.root.resolve())
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for kind, frames in kinds.items():
            if not frames:
                continue
            listed = Path(tmp) / f"{kind}.txt"
            listed.write_text("".join(f"{frame.resolve()}\n" for frame in frames))
            subset = Path(tmp) / f"{kind}.yaml"
            subset.write_text(yaml.safe_dump(raw | {split: str(listed)}, sort_keys=False))
            results[kind] = {"frames": len(frames)} | box_metrics(weights, subset, imgsz, split)
    return results


def synthetic_frame_level(
    scorer: Scorer, data_yaml: Path, split: str = "test", realdata: Path = REALDATA_DIR
) -> FrameLevel:
    """Frame-level results on the ``split`` frames whose truth the labels tell (``frame_truth``, the rule
    threshold tuning uses): a frame of an official-attire photo without an official box shows attire the
    labels do not name, and is counted in ``frames_unknown`` instead."""
    dataset = open_yolo_dataset(data_yaml)
    labels = realdata_labels(realdata)
    scores: dict[bool, list[float]] = {True: [], False: []}
    hits: dict[bool, list[bool]] = {True: [], False: []}
    unknown = 0
    for image_path in dataset.images(split):
        truth = frame_truth(image_path, dataset.names, labels)
        if truth is None:
            unknown += 1
            continue
        score, hit = scorer(cv2.imread(str(image_path)))
        scores[truth].append(score)
        hits[truth].append(hit)
    return frame_level(scores[True], scores[False], hits[True], hits[False], unknown)


def service_verdict(detector: Detector) -> Scorer:
    """The service's judgement of a frame: flagged when ``detector`` (as the service loads it, with its
    operating thresholds) reports official attire; the score is the best such detection's, 0.0 below the
    operating point, so its ROC AUC only ranks the flagged frames."""

    def score(image: np.ndarray) -> tuple[float, bool]:
        best = detector.detect(image).best_score(detector.taxonomy.official_names)
        return best, best > 0

    return score


def person_crops(scorer: Scorer, people: PeopleFinder) -> Scorer:
    """Two-stage scoring with the detector: run it on each person's crop (the framing it is trained
    on); the frame's score is its best crop's, and it is flagged when any crop is (the best-scoring
    crop may be under its class's threshold while another crop is over its own)."""

    def score(image: np.ndarray) -> tuple[float, bool]:
        crops = [scorer(crop.image) for crop in people.crops(image)]
        return max((s for s, _ in crops), default=0.0), any(hit for _, hit in crops)

    return score


def realdata_frame_level(scorer: Scorer, realdata: Path = REALDATA_DIR) -> dict[str, object] | None:
    """Frame-level results on the real photos' ``test`` split; None when realdata is absent."""
    if not (realdata / "labels.csv").exists():
        return None
    results: dict[str, list[tuple[float, bool]]] = {}
    for path, label in realdata_photos(realdata, "test"):
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise ValueError(f"cannot read {path.relative_to(realdata)} in {realdata}")
        results.setdefault(label, []).append(scorer(image))
    pos = [r for label, rs in results.items() if is_official_label(label) for r in rs]
    neg = [r for label in CIVILIAN_LABELS for r in results.get(label, [])]
    summary = frame_level([s for s, _ in pos], [s for s, _ in neg], [h for _, h in pos], [h for _, h in neg])
    per_label = {
        label: {"images": len(rs), "flagged_official": sum(h for _, h in rs)}
        for label, rs in sorted(results.items())
    }
    return {
        "frame_level": summary.to_dict(),
        "per_label": per_label,
        "hard_negatives_flagged": {
            label: per_label[label] for label in HARD_NEGATIVE_LABELS if label in per_label
        },
    }


def evaluate(
    weights: Path,
    data_yaml: Path | None,
    realdata: Path = REALDATA_DIR,
    split: str = "test",
    attire: Path | None = None,
    report_path: Path | None = None,
) -> dict[str, object]:
    """Run every evaluation that has data and write it to ``report_path`` (default: ``<weights>.eval.json``
    beside the weights, ``<weights>.onnx.eval.json`` for an export); with ``attire`` (a person-crop
    classifier) the two-stage design is measured on the same frames. The real ``test`` photos are read
    only with the ``test`` split: a report of another split (``val``, to choose between models before
    any test number is seen) leaves them out and goes to ``<weights>.<split>.eval.json``."""
    scorer = FrameScorer.for_weights(weights)
    report: dict[str, object] = {
        "model": scorer.detector.version,
        "imgsz": scorer.detector.imgsz,
        "thresholds": scorer.operating,
    }
    if data_yaml is not None:
        report["synthetic_boxes"] = box_metrics(weights, data_yaml, scorer.detector.imgsz, split)
        report["synthetic_boxes_by_kind"] = box_metrics_by_kind(
            weights, data_yaml, scorer.detector.imgsz, split, realdata
        )
        report["synthetic_frame_level"] = synthetic_frame_level(scorer, data_yaml, split, realdata).to_dict()
    held_out = split == "test"
    if held_out:
        report["realdata_test"] = realdata_frame_level(scorer, realdata)
    people = functools.cache(PeopleFinder)  # the pose model, loaded only if a person-crop design runs
    if report.get("realdata_test") is not None:
        report["realdata_test_person_crops"] = realdata_frame_level(person_crops(scorer, people()), realdata)
    if attire is not None:
        two_stage = TwoStage(attire, people(), detector=weights)
        report["attire_classifier"] = {
            "model": two_stage.classifier.version,
            "threshold": two_stage.classifier.threshold,
        }
        if data_yaml is not None:
            report["synthetic_frame_level_two_stage"] = synthetic_frame_level(
                two_stage, data_yaml, split, realdata
            ).to_dict()
        if held_out:
            report["realdata_test_two_stage"] = realdata_frame_level(two_stage, realdata)
        service = service_verdict(TwoStageDetector(weights, attire))
        if data_yaml is not None:
            report["synthetic_frame_level_service"] = synthetic_frame_level(
                service, data_yaml, split, realdata
            ).to_dict()
        if held_out:
            report["realdata_test_service"] = realdata_frame_level(service, realdata)
    (report_path or default_report_path(weights, split)).write_text(json.dumps(report, indent=2))
    return report


def default_report_path(weights: Path, split: str = "test") -> Path:
    """``<weights>.eval.json`` (``<weights>.val.eval.json`` for the val split); an export (``.onnx``)
    shares the weights' settings file, not their report."""
    export = "" if weights.suffix == ".pt" else weights.suffix
    of_split = "" if split == "test" else f".{split}"
    return weights.with_name(f"{weights.stem}{export}{of_split}.eval.json")


@dataclass(frozen=True)
class OperatingPoint:
    """The service's operating point: a floor under the detector's official-attire thresholds (0.0: its
    per-class thresholds as they are) and the person score at which two-stage scoring flags."""

    floor: float
    threshold: float

    def flags(self, level: float, score: float) -> bool:
        """Whether a frame is flagged: its ``FrameScorer.flag_level`` and its two-stage score."""
        return whole_frame_flags(level, self.floor) or score >= self.threshold


def whole_frame_flags(level: float, floor: float) -> bool:
    """Whether the whole frame is flagged, its official detections' thresholds raised to ``floor``."""
    return level > 0 and level >= floor


def grid_above(score: float) -> float:
    """The value just above ``score`` on a 1e-6 grid, as operating points are written to their files."""
    return (math.floor(score * 1e6) + 1) / 1e6


def joint_operating_point(frames: list[tuple[float, float, bool]], max_fpr: float) -> OperatingPoint:
    """Of the operating points that flag at most ``max_fpr`` of the frames without official attire, the
    one that flags the most frames with it (of equal ones, the lowest floor). ``frames``: each frame's
    ``FrameScorer.flag_level``, its two-stage score and its truth. A frame is flagged when its level is
    above 0 and reaches the floor, or its two-stage score reaches the threshold; each floor is just above
    one negative frame's level (or 0), and the false positives the whole frame leaves are two-stage's
    to spend, just above the first negative it must not flag and never under ``MIN_ATTIRE_THRESHOLD``."""
    negatives = [(level, score) for level, score, truth in frames if not truth]
    allowed = int(max_fpr * len(negatives))
    best: tuple[int, OperatingPoint] | None = None
    for floor in [0.0, *sorted({grid_above(level) for level, _ in negatives if level > 0})]:
        spare = allowed - sum(whole_frame_flags(level, floor) for level, _ in negatives)
        if spare < 0:
            continue
        ranked = sorted((s for level, s in negatives if not whole_frame_flags(level, floor)), reverse=True)
        threshold = max(grid_above(ranked[spare]) if spare < len(ranked) else 0.0, MIN_ATTIRE_THRESHOLD)
        point = OperatingPoint(floor, threshold)
        found = sum(point.flags(level, score) for level, score, truth in frames if truth)
        if best is None or found > best[0]:
            best = (found, point)
    # the highest floor is above every negative's level, which leaves the whole frame no false positive
    assert best is not None
    return best[1]


def choose_attire_threshold(
    attire: Path,
    data_yaml: Path,
    realdata: Path = REALDATA_DIR,
    split: str = "val",
    max_fpr: float = 0.05,
    detector: Path = DEFAULT_WEIGHTS,
) -> dict[str, object]:
    """The service's operating point (``TwoStageDetector``: a frame is flagged when the detector on the
    whole frame or two-stage scoring of a person flags it) on the ``split`` frames (synthetic frames and
    the real ``train`` photos of that split's people), chosen for the frame-level rates the target is
    stated in (``joint_operating_point``): a floor under the detector's official-attire thresholds, which
    their per-class F1 choice leaves unbounded at frame level, and two-stage scoring's threshold. The
    threshold goes to ``<attire>.yaml`` where the classifier reads it, the raised thresholds to the
    detector's ``<weights>.yaml``."""
    open_yolo_dataset(data_yaml).images(split)
    scorer, whole = TwoStage(attire, detector=detector), FrameScorer.for_weights(detector)
    frames = []
    for path, truth in labelled_frames(data_yaml, split, realdata):
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        frames.append((whole.flag_level(image), scorer(image)[0], truth))
    point = joint_operating_point(frames, max_fpr)

    def flagged(truth: bool) -> str:
        mine = [(level, score) for level, score, t in frames if t == truth]
        return f"{sum(point.flags(level, score) for level, score in mine)} of {len(mine)}"

    chosen = {
        "threshold": point.threshold,
        "detector": scorer.detector.version,  # the mean it thresholds is of this detector's scores
        "detector_floor": point.floor,
        "split": split,
        "max_false_positive_rate": max_fpr,
        "judged_by": "whole frame or two-stage",
        "val_positives_flagged": flagged(True),
        "val_negatives_flagged": flagged(False),
    }
    attire.with_suffix(".yaml").write_text(yaml.safe_dump(chosen, sort_keys=False))
    official = whole.detector.taxonomy.official_names
    raised = {name: max(t, point.floor) if name in official else t for name, t in whole.operating.items()}
    ModelSettings(whole.detector.imgsz, raised).write(detector)
    return chosen


def choose_thresholds(weights: Path, data_yaml: Path, imgsz: int, split: str = "val") -> dict[str, float]:
    """Per-class operating thresholds: the confidence with the best F1 on a held-out split, written
    to ``<weights>.yaml`` where the detector reads them."""
    open_yolo_dataset(data_yaml).images(split)
    m = _validate(weights, data_yaml, imgsz, split)
    matched = m.matched
    names = [m.names[c] for c in range(len(m.names))]
    thresholds = best_f1_thresholds(
        names, matched["tp"][:, 0], matched["conf"], matched["pred_cls"], matched["target_cls"]
    )
    ModelSettings(imgsz, thresholds).write(weights)
    return thresholds


def best_f1_thresholds(
    names: list[str], right: np.ndarray, conf: np.ndarray, pred_cls: np.ndarray, target_cls: np.ndarray
) -> dict[str, float]:
    """For each class, the threshold with the best F1 over the detections it keeps (those scoring at or
    above it): the confidence of one of the class's detections, as F1 only changes there. ``right``: each
    detection matched to a box of its class at IoU 0.5 (ultralytics' matching); ``names`` by class id;
    ``target_cls``: the class of each box. Of equal F1s the higher confidence wins (fewer detections).
    The confidence is kept exactly, as rounding up would drop the detection that made the best F1 and
    rounding down could take in others just under it; then it is kept within 0.05-0.9. A class whose
    F1 is 0 at every threshold (nothing right) is left out, and keeps the taxonomy's default."""
    boxes = np.bincount(target_cls.astype(int), minlength=len(names))
    thresholds: dict[str, float] = {}
    for c, name in enumerate(names):
        mine = pred_cls == c
        order = np.argsort(-conf[mine], kind="stable")
        scores, hits = conf[mine][order], np.cumsum(right[mine][order])
        f1 = 2 * hits / (np.arange(1, len(scores) + 1) + boxes[c])  # 2 TP / (detections + boxes)
        # a threshold keeps every detection of its confidence: only the last of equal ones is a choice
        tied = np.zeros(len(scores), bool)
        tied[:-1] = scores[1:] == scores[:-1]
        f1[tied] = 0
        if f1.size and f1.max() > 0:
            thresholds[name] = min(max(float(scores[int(np.argmax(f1))]), 0.05), 0.9)
    return thresholds
