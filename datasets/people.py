"""Real people to build synthetic frames on: person boxes and COCO keypoints from a pose model.

Sources are real photographs: the ``train`` split of ``../shared/realdata`` when it is present and
the two street photos that ultralytics ships with its package. Its ``test`` split is a source only of
held-out frames that no model trains on (``seragam data synth --realdata-split test``); it leaves out
the pictures the generator trains on (realdata's test split holds copies of the bundled photos).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from importlib.resources import files
from pathlib import Path

import cv2
import numpy as np

from detector.people import POSE_WEIGHTS, PeopleFinder

REALDATA_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "realdata"

# Image-level labels of realdata mapped onto the garment class a pseudo-box gets (None: no box).
GARMENT_OF_LABEL: dict[str, str | None] = {
    "asn_satpol_pp": "field_uniform",
    "asn_damkar": "field_uniform",
    "asn_other_uniform": "field_uniform",
    "asn_pdh_khaki": "pdh_khaki",
    "asn_korpri_batik": "korpri_batik",
    "police": "other_uniform",
    "military": "other_uniform",
}


def is_official_label(label: str) -> bool:
    """True for realdata's image-level labels of official civil-service attire (``asn_*``)."""
    return label.startswith("asn_")


def label_stratum(label: str) -> str:
    """What a realdata photo shows, coarsely, for stratified splits: official attire, another uniform
    (police, military, non-civil-service uniforms: the hard negatives) or everyday clothes."""
    if is_official_label(label):
        return "official"
    return "other_uniform" if label in {"police", "military", "other_uniform"} else "civilian"


# COCO keypoint ids.
NOSE, L_SHOULDER, R_SHOULDER, L_ELBOW, R_ELBOW, L_HIP, R_HIP = 0, 5, 6, 7, 8, 11, 12


@dataclass(frozen=True)
class Person:
    box: tuple[float, float, float, float]
    keypoints: tuple[tuple[float, float, float], ...]  # 17 x (x, y, visibility score)

    def point(self, k: int, min_conf: float = 0.4) -> np.ndarray | None:
        x, y, c = self.keypoints[k]
        return np.array([x, y], np.float32) if c >= min_conf else None

    @property
    def has_shoulders(self) -> bool:
        return self.point(L_SHOULDER) is not None and self.point(R_SHOULDER) is not None


@dataclass(frozen=True)
class PhotoPeople:
    """One real photo with the people found in it and its image-level label."""

    path: str
    source: str
    label: str
    people: tuple[Person, ...]


# A realdata label describes the main people of its photo: those at least this share of the tallest
# person's height. Smaller people (bystanders, a crowd behind) may wear anything.
MAIN_PERSON_SHARE = 0.6

# Two files show the same picture when their 32x32 grey thumbnails differ by under this many grey
# levels on average: re-encodings of one picture differ by about 0.2, different photos by 12 or more.
SAME_PICTURE_DIFF = 2.0


def main_people(heights: Sequence[float]) -> list[bool]:
    """For each person of a photo, by their height in pixels: whether the photo's label describes them."""
    tallest = max(heights, default=0.0)
    return [h >= MAIN_PERSON_SHARE * tallest for h in heights]


def bundled_photos() -> list[tuple[Path, str]]:
    assets = Path(str(files("ultralytics") / "assets"))
    return [(p, "civilian") for p in sorted(assets.glob("*.jpg"))]


def _thumbnail(path: Path) -> np.ndarray | None:
    image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    return None if image is None else cv2.resize(image, (32, 32), interpolation=cv2.INTER_AREA).astype(float)


def realdata_photos(realdata: Path = REALDATA_DIR, split: str = "train") -> list[tuple[Path, str]]:
    """The photos of one split of realdata with their label; empty when realdata is not present.

    The ``test`` split leaves out every photo that shows the same picture as a bundled photo, which the
    generator trains on: a test photo that is also a training source measures nothing. Pictures are
    compared by their content (decoded pixels), not by name or bytes, since the copies in realdata are
    re-encoded; an unreadable photo is kept (its reader reports it)."""
    photos = _listed(realdata, split)
    if split != "test":
        return photos
    trained_on = [t for p, _ in bundled_photos() if (t := _thumbnail(p)) is not None]

    def trained_on_picture(path: Path) -> bool:
        t = _thumbnail(path)
        return t is not None and any(np.abs(t - b).mean() < SAME_PICTURE_DIFF for b in trained_on)

    return [(path, label) for path, label in photos if not trained_on_picture(path)]


def realdata_labels(realdata: Path = REALDATA_DIR) -> dict[str, str]:
    """The label of every real photo by file stem, of both splits (a held-out set's frames are rendered
    from the ``test`` photos), read from the table alone: no picture is decoded."""
    return {path.stem: label for split in ("train", "test") for path, label in _listed(realdata, split)}


def _listed(realdata: Path, split: str) -> list[tuple[Path, str]]:
    """Every photo ``labels.csv`` lists in ``split``, with its label; empty when realdata is not present."""
    table = realdata / "labels.csv"
    if not table.exists():
        return []
    with table.open() as f:
        return [(realdata / r["file"], r["label"]) for r in csv.DictReader(f) if r["split"] == split]


def find_people(
    photos: list[tuple[Path, str]], pose_weights: Path = POSE_WEIGHTS, cache: Path | None = None
) -> list[PhotoPeople]:
    """Run the pose model over photos (what it finds is cached in ``cache`` as JSON, keyed by path; the
    label and source always come from ``photos``, so a corrected label takes effect)."""
    known: dict[str, tuple[Person, ...]] = {}
    if cache and cache.exists():
        for item in json.loads(cache.read_text()):
            known[item["path"]] = tuple(
                Person(tuple(p["box"]), tuple(map(tuple, p["keypoints"]))) for p in item["people"]
            )
    todo = [p for p, _ in photos if str(p) not in known]
    if todo:
        finder = PeopleFinder(pose_weights)
        for path in todo:
            found, keypoints = finder.find(str(path))
            boxes, kpts = found.tolist(), keypoints.tolist() if keypoints is not None else []
            known[str(path)] = tuple(
                Person(tuple(b), tuple(map(tuple, k))) for b, k in zip(boxes, kpts, strict=True)
            )
        if cache:
            cache.parent.mkdir(parents=True, exist_ok=True)
            items = [{"path": path, "people": [asdict(p) for p in people]} for path, people in known.items()]
            cache.write_text(json.dumps(items))
    return [PhotoPeople(str(p), p.stem, label, known[str(p)]) for p, label in photos]
