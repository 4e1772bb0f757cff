"""``seragam data crops``: a person-crop dataset (``official`` / ``none``) for the attire classifier.

Crops come from two sources, split by source photo exactly as the detection dataset they are built
from (no person crosses splits):

- every person in the detection dataset's frames: ``official`` when they wear an official box (a
  civil-service garment or attribute; ``wearers``), else ``none``. Where the labels cannot say, the
  person is skipped: in frames made from an official-attire photo, people wearing no official box
  (their uniform's box was cut off by the frame or an overlay, or never drawn), and all of a frame of
  such a photo that carries no official box (attire the labels do not name, e.g. a white shirt with a
  name plate);
- the real photos of ``../shared/realdata`` (``train`` split only) themselves, labelled by their
  image-level label: in an official-attire photo the main people (at least 60% of the tallest
  person's height) are ``official`` and smaller ones are skipped; everyone in other photos is
  ``none``. Real photos are the scarce kind, so their crops are written ``real_repeat`` times into
  the training split (each copy is augmented differently in training).
"""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from datasets.importers import open_yolo_dataset, read_yolo_labels, yolo_label_path
from datasets.people import REALDATA_DIR, is_official_label, main_people, realdata_labels, realdata_photos
from detector.attire import CLASSES, upper_body
from detector.people import PeopleFinder
from detector.taxonomy import load_taxonomy


def frame_source(frame: Path) -> str:
    """The source photo of a synthetic frame, named ``<path hash>_<source photo>_<index>`` in a dataset."""
    return frame.stem.split("_", 1)[1].rsplit("_", 1)[0]


def official_boxes(frame: Path, shape: tuple[int, ...], names: tuple[str, ...]) -> np.ndarray:
    """``(n, 4)`` pixel boxes ``(x0, y0, x1, y1)`` of the frame's official labels (civil-service
    garments and attributes)."""
    official = load_taxonomy().official_names
    h, w = shape[:2]
    return np.array(
        [
            (
                (line.cx - line.w / 2) * w,
                (line.cy - line.h / 2) * h,
                (line.cx + line.w / 2) * w,
                (line.cy + line.h / 2) * h,
            )
            for line in read_yolo_labels(yolo_label_path(frame), len(names))
            if names[line.class_id] in official
        ]
    ).reshape(-1, 4)


def wearers(people: Sequence[tuple[int, int, int, int]], boxes: np.ndarray) -> set[int]:
    """The indices of the people who wear the official ``boxes``: each box goes to one person, of those
    whose box holds its centre the one whose middle it lies nearest (relative to their width), since
    garments and insignia sit on the torso; so in a group, one garment does not make every person whose
    box overlaps it official."""
    worn = set()
    for bx0, by0, bx1, by1 in boxes:
        cx, cy = (bx0 + bx1) / 2, (by0 + by1) / 2
        holders = [
            (abs(cx - (x0 + x1) / 2) / (x1 - x0), k)
            for k, (x0, y0, x1, y1) in enumerate(people)
            if x0 <= cx <= x1 and y0 <= cy <= y1
        ]
        if holders:
            worn.add(min(holders)[1])
    return worn


def _real_photos(realdata: Path) -> dict[str, tuple[Path, str]]:
    """The real ``train`` photos by file stem (the ``source`` of the frames rendered from them)."""
    return {path.stem: (path, label) for path, label in realdata_photos(realdata)}


def _of_official_photo(frame: Path, labels: dict[str, str]) -> bool:
    return is_official_label(labels.get(frame_source(frame), ""))


def _unknown(frame: Path, boxes: np.ndarray, labels: dict[str, str]) -> bool:
    """A frame of an official-attire photo without official boxes: attire the labels do not name."""
    return not len(boxes) and _of_official_photo(frame, labels)


def frame_truth(frame: Path, names: tuple[str, ...], labels: dict[str, str]) -> bool | None:
    """Whether a synthetic frame shows official attire (it has an official box); None where the labels
    cannot say (``labels``: ``realdata_labels``)."""
    boxes = official_boxes(frame, (1, 1), names)  # only whether there are any
    return None if _unknown(frame, boxes, labels) else bool(len(boxes))


def labelled_frames(data_yaml: Path, split: str, realdata: Path = REALDATA_DIR) -> list[tuple[Path, bool]]:
    """Whole frames of one split with their truth ("official attire present"): the detection dataset's
    frames (those with known truth) and the real ``train`` photos whose people are in that split."""
    dataset = open_yolo_dataset(data_yaml)
    real, labels = _real_photos(realdata), realdata_labels(realdata)
    frames, sources = [], set()
    for frame_path in dataset.splits.get(split, ()):
        sources.add(frame_source(frame_path))
        truth = frame_truth(frame_path, dataset.names, labels)
        if truth is not None:
            frames.append((frame_path, truth))
    frames += [
        (path, is_official_label(label)) for stem, (path, label) in sorted(real.items()) if stem in sources
    ]
    return frames


def build_crops(
    data_yaml: Path, out: Path, realdata: Path = REALDATA_DIR, real_repeat: int = 3
) -> dict[str, Counter[str]]:
    """Write ``out/<split>/<class>/*.jpg`` and return the crop counts per split and class."""
    dataset = open_yolo_dataset(data_yaml)
    dataset.images("train")  # crops train a classifier: never of a held-out set
    real, labels = _real_photos(realdata), realdata_labels(realdata)
    finder = PeopleFinder()
    if out.exists():
        shutil.rmtree(out)
    counts: dict[str, Counter[str]] = {}
    source_split: dict[str, str] = {}

    def write(split: str, label: str, name: str, image: np.ndarray) -> None:
        target = out / split / label
        target.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(target / f"{name}.jpg"), upper_body(image), [cv2.IMWRITE_JPEG_QUALITY, 92])
        counts.setdefault(split, Counter())[label] += 1

    for split, frames in dataset.splits.items():
        for frame_path in frames:
            source_split[frame_source(frame_path)] = split
            frame = cv2.imread(str(frame_path), cv2.IMREAD_COLOR)
            boxes = official_boxes(frame_path, frame.shape, dataset.names)
            if _unknown(frame_path, boxes, labels):
                continue
            crops = finder.crops(frame)
            worn = wearers([c.box for c in crops], boxes)
            for k, crop in enumerate(crops):
                if k in worn or not _of_official_photo(frame_path, labels):
                    write(split, CLASSES[k in worn], f"{frame_path.stem}_{k}", crop.image)

    for stem, (path, label) in sorted(real.items()):
        split = source_split.get(stem, "train")
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        crops = finder.crops(image)
        main = main_people([c.height for c in crops])
        for k, crop in enumerate(crops):
            if is_official_label(label) and not main[k]:
                continue
            for r in range(real_repeat if split == "train" else 1):
                write(split, CLASSES[is_official_label(label)], f"real_{stem}_{k}_{r}", crop.image)
    return counts
