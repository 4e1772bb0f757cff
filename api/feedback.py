"""Reviewed evidence frames as training data: ``seragam data export-feedback`` writes them as an
ultralytics dataset (images, YOLO labels, ``data.yaml`` with the taxonomy's classes) that ``seragam
train`` takes in.

Which frames: the evidence of every case that was confirmed or dismissed, or that has feedback. Their
labels start from the stored detections and apply the reviewers' corrections in order: a false positive
removes the detection, a wrong class renames it, a false negative adds the reviewer's box. A case
dismissed as a false positive without corrections keeps no boxes (a hard negative).

An evidence file is stored once, so cases can share a frame (the same frame uploaded twice): it goes
into the dataset once, with the corrections of all its cases. When they contradict each other (one
case dismissed it as a false positive while another keeps boxes, two cases correct a detection
differently) the frame is left out, and the export says which and why.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import cv2
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from api.audit import record
from api.cases import EVIDENCE_SUFFIX
from api.db.models import (
    Case,
    CaseDecision,
    CaseState,
    DetectionFeedback,
    DismissReason,
    Evidence,
    FeedbackKind,
)
from api.review import NEW_STATE
from api.storage import UploadStore
from datasets.importers import LabelledBox, LabelledImage, write_yolo_dataset
from datasets.splits import split_by_source
from detector.taxonomy import load_taxonomy

SPLITS = {"train": 0.8, "val": 0.2}
log = logging.getLogger(__name__)

Box = tuple[str, list[float]]  # a class name and its box in pixels of the frame


@dataclass(frozen=True)
class FeedbackExport:
    """Where the dataset went, how many reviewed frames and boxes it holds, and the frames left out
    because their cases disagree (each with why)."""

    data_yaml: Path
    images: int
    boxes: int
    left_out: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Review:
    """One case's review of one evidence frame; ``hard_negative``: dismissed as a false positive
    without corrections, so the frame shows nothing to label."""

    case: Case
    evidence: Evidence
    corrections: list[DetectionFeedback]
    hard_negative: bool


class _Disagreement(Exception):
    """The cases on one frame say different things about it."""


def export_feedback(session: Session, store: UploadStore, out_dir: Path, *, seed: int = 0) -> FeedbackExport:
    """Write the dataset to ``out_dir`` (new or empty); ``ValueError`` when no frame was reviewed yet
    (or every one was left out). The export is audited; the caller commits."""
    names = load_taxonomy().names
    items: list[LabelledImage] = []
    left_out: list[str] = []
    for sha256, reviews in _reviews_by_frame(session).items():
        try:
            items.append(_labelled(store, sha256, reviews, names))
        except _Disagreement as why:
            cases = ", ".join(str(case_id) for case_id in sorted({r.case.id for r in reviews}))
            left_out.append(f"frame {sha256[:12]} of cases {cases}: {why}")
    for reason in left_out:
        log.warning("left out of the feedback dataset: %s", reason)
    if not items:
        raise ValueError(
            f"every reviewed frame was left out, its cases disagree: {'; '.join(left_out)}"
            if left_out
            else "no reviewed evidence frames yet: confirm, dismiss or correct some cases first"
        )
    splits = split_by_source(items, SPLITS, seed)
    if not splits.get("val"):  # ultralytics needs a val split; a single source lands in train only
        splits["val"] = splits["train"]
    data_yaml = write_yolo_dataset(splits, out_dir, names)
    boxes = sum(len(item.boxes) for item in items)
    detail = {"images": len(items), "boxes": boxes, "left_out": len(left_out)}
    record(session, "cli", "export_feedback", f"dataset:{out_dir.name}", detail)
    return FeedbackExport(data_yaml, len(items), boxes, tuple(left_out))


def _reviews_by_frame(session: Session) -> dict[str, list[_Review]]:
    """Every reviewed case's look at each of its evidence frames, by evidence file."""
    corrections = _corrections(session)
    found: dict[str, list[_Review]] = defaultdict(list)
    for case in _reviewed_cases(session, {case_id for case_id, _ in corrections}):
        false_positive = _dismissed_as_false_positive(session, case)
        for evidence in case.evidence:
            fixes = corrections.get((case.id, evidence.n), [])
            found[evidence.original_sha256].append(
                _Review(case, evidence, fixes, hard_negative=false_positive and not fixes)
            )
    return found


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
    # The latest decision that set the state says why; a comment after it changes nothing.
    query = (
        select(CaseDecision.reason)
        .where(CaseDecision.case_id == case.id, CaseDecision.kind.in_(NEW_STATE))
        .order_by(CaseDecision.id.desc())
    )
    return session.scalars(query).first() == DismissReason.FALSE_POSITIVE


def _labelled(store: UploadStore, sha256: str, reviews: list[_Review], names: list[str]) -> LabelledImage:
    path = store.path(sha256, EVIDENCE_SUFFIX)
    height, width = cv2.imread(str(path)).shape[:2]
    labels = tuple(_normalised(name, box, width, height) for name, box in _frame_boxes(reviews, names))
    first = reviews[0].case
    return LabelledImage(path, labels, source=first.upload_sha256 or f"case-{first.id}")


def _frame_boxes(reviews: list[_Review], names: list[str]) -> list[Box]:
    """The frame's labels: its stored detections with the corrections of all its cases applied;
    ``_Disagreement`` when the cases contradict each other, since a guess would teach the model wrong."""
    negative = [r.case.id for r in reviews if r.hard_negative]
    if negative:
        others = [r for r in reviews if not r.hard_negative]
        kept = [r.case.id for r in others if any(_corrected(r.evidence, r.corrections, names))]
        if kept:
            raise _Disagreement(
                f"case {negative[0]} dismissed it as a false positive, case {kept[0]} keeps boxes"
            )
        return []
    if any(r.evidence.detections != reviews[0].evidence.detections for r in reviews):
        raise _Disagreement("its cases hold different detections of it, so their corrections do not line up")
    outcomes: dict[int, tuple[int, Box | None]] = {}
    for review in reviews:
        for index, outcome in _outcomes(review, names).items():
            first_case, first_outcome = outcomes.setdefault(index, (review.case.id, outcome))
            if outcome != first_outcome:
                raise _Disagreement(
                    f"cases {first_case} and {review.case.id} correct detection {index} differently"
                )
    every = sorted((fix for r in reviews for fix in r.corrections), key=lambda fix: fix.id)
    kept, added = _corrected(reviews[0].evidence, every, names)
    once = {(name, tuple(box)): (name, box) for name, box in added}  # a box both cases drew: one label
    return [*kept.values(), *once.values()]


def _outcomes(review: _Review, names: list[str]) -> dict[int, Box | None]:
    """What the case's corrections made of each detection they name: kept as (class, box), or None."""
    kept, _ = _corrected(review.evidence, review.corrections, names)
    named = {fix.detection_index for fix in review.corrections if fix.detection_index is not None}
    return {index: kept.get(index) for index in named}


def _corrected(
    evidence: Evidence, corrections: list[DetectionFeedback], names: list[str]
) -> tuple[dict[int, Box], list[Box]]:
    """The frame's detections kept (by index, renamed where a reviewer said so) and the boxes reviewers
    added, after ``corrections`` in order."""
    boxes = {i: (d["class"], d["box"]) for i, d in enumerate(evidence.detections) if d["class"] in names}
    added: list[Box] = []
    for fix in corrections:
        if fix.kind == FeedbackKind.FALSE_POSITIVE:
            boxes.pop(fix.detection_index, None)
        elif fix.kind == FeedbackKind.WRONG_CLASS and fix.detection_index in boxes and fix.class_name:
            boxes[fix.detection_index] = (fix.class_name, boxes[fix.detection_index][1])
        elif fix.kind == FeedbackKind.FALSE_NEGATIVE and fix.box and fix.class_name:
            added.append((fix.class_name, fix.box))
    return boxes, added


def _normalised(name: str, box: list[float], width: int, height: int) -> LabelledBox:
    x0, y0, x1, y1 = (max(0.0, v) for v in box)
    x1, y1 = min(x1, width), min(y1, height)
    return LabelledBox(
        name, (x0 + x1) / 2 / width, (y0 + y1) / 2 / height, (x1 - x0) / width, (y1 - y0) / height
    )
