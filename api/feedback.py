"""Reviewed evidence frames as training data: ``seragam data export-feedback`` writes them as an
ultralytics dataset (images, YOLO labels, ``data.yaml`` with the taxonomy's classes) that ``seragam
train`` takes in.

Which frames: the evidence of every case that was confirmed or dismissed, or that has feedback. Their
labels start from the stored detections and apply the reviewers' corrections in order: a false positive
removes the detection, a wrong class renames it, a false negative adds the reviewer's box. A case
dismissed as a false positive without corrections keeps no boxes (a hard negative).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import cv2
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from api.audit import record
from api.db.models import (
    Case,
    CaseDecision,
    CaseState,
    DetectionFeedback,
    DismissReason,
    Evidence,
    FeedbackKind,
)
from api.storage import UploadStore
from datasets.importers import LabelledBox, LabelledImage, write_yolo_dataset
from datasets.splits import split_by_source
from detector.taxonomy import load_taxonomy

SPLITS = {"train": 0.8, "val": 0.2}


@dataclass(frozen=True)
class FeedbackExport:
    """Where the dataset went and how many reviewed frames and boxes it holds."""

    data_yaml: Path
    images: int
    boxes: int


def export_feedback(session: Session, store: UploadStore, out_dir: Path, *, seed: int = 0) -> FeedbackExport:
    """Write the dataset to ``out_dir`` (new or empty); ``ValueError`` when no frame was reviewed yet.
    The export is audited; the caller commits."""
    names = load_taxonomy().names
    corrections = _corrections(session)
    items = [
        _labelled(session, store, case, evidence, corrections.get((case.id, evidence.n), []), names)
        for case in _reviewed_cases(session, {case_id for case_id, _ in corrections})
        for evidence in case.evidence
    ]
    if not items:
        raise ValueError("no reviewed evidence frames yet: confirm, dismiss or correct some cases first")
    splits = split_by_source(items, SPLITS, seed)
    if not splits.get("val"):  # ultralytics needs a val split; a single source lands in train only
        splits["val"] = splits["train"]
    data_yaml = write_yolo_dataset(splits, out_dir, names)
    boxes = sum(len(item.boxes) for item in items)
    record(
        session, "cli", "export_feedback", f"dataset:{out_dir.name}", {"images": len(items), "boxes": boxes}
    )
    return FeedbackExport(data_yaml, len(items), boxes)


def _reviewed_cases(session: Session, with_feedback: set[int]) -> list[Case]:
    decided = select(Case.id).where(Case.state.in_([CaseState.CONFIRMED, CaseState.DISMISSED]))
    query = (
        select(Case)
        .where(Case.id.in_(decided) | Case.id.in_(with_feedback))
        .options(selectinload(Case.evidence))
        .order_by(Case.id)
    )
    return list(session.scalars(query))


def _corrections(session: Session) -> dict[tuple[int, int], list[DetectionFeedback]]:
    found: dict[tuple[int, int], list[DetectionFeedback]] = defaultdict(list)
    for feedback in session.scalars(select(DetectionFeedback).order_by(DetectionFeedback.id)):
        found[(feedback.case_id, feedback.evidence_n)].append(feedback)
    return found


def _dismissed_as_false_positive(session: Session, case: Case) -> bool:
    if case.state != CaseState.DISMISSED:
        return False
    query = (
        select(CaseDecision.reason).where(CaseDecision.case_id == case.id).order_by(CaseDecision.id.desc())
    )
    return session.scalars(query).first() == DismissReason.FALSE_POSITIVE


def _labelled(
    session: Session,
    store: UploadStore,
    case: Case,
    evidence: Evidence,
    corrections: list[DetectionFeedback],
    names: list[str],
) -> LabelledImage:
    path = store.path(evidence.original_sha256, ".jpg")
    height, width = cv2.imread(str(path)).shape[:2]
    boxes: dict[int, tuple[str, list[float]]] = (
        {}
        if _dismissed_as_false_positive(session, case) and not corrections
        else {i: (d["class"], d["box"]) for i, d in enumerate(evidence.detections) if d["class"] in names}
    )
    added: list[tuple[str, list[float]]] = []
    for fix in corrections:
        if fix.kind == FeedbackKind.FALSE_POSITIVE:
            boxes.pop(fix.detection_index, None)
        elif fix.kind == FeedbackKind.WRONG_CLASS and fix.detection_index in boxes and fix.class_name:
            boxes[fix.detection_index] = (fix.class_name, boxes[fix.detection_index][1])
        elif fix.kind == FeedbackKind.FALSE_NEGATIVE and fix.box and fix.class_name:
            added.append((fix.class_name, fix.box))
    labels = tuple(_normalised(name, box, width, height) for name, box in [*boxes.values(), *added])
    return LabelledImage(path, labels, source=case.upload_sha256 or f"case-{case.id}")


def _normalised(name: str, box: list[float], width: int, height: int) -> LabelledBox:
    x0, y0, x1, y1 = (max(0.0, v) for v in box)
    x1, y1 = min(x1, width), min(y1, height)
    return LabelledBox(
        name, (x0 + x1) / 2 / width, (y0 + y1) / 2 / height, (x1 - x0) / width, (y1 - y0) / height
    )
