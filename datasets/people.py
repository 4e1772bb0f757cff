"""Real people to build synthetic frames on: person boxes and COCO keypoints from a pose model.

Sources are real photographs: the ``train`` split of ``../shared/realdata`` when it is present and
the two street photos that ultralytics ships with its package. Its ``test`` split is a source only of
held-out frames that no model trains on (``seragam data synth --realdata-split test``).
"""

from __future__ import annotations

import csv
import json
from dataclasses import asdict, dataclass
from importlib.resources import files
from pathlib import Path

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


def bundled_photos() -> list[tuple[Path, str]]:
    assets = Path(str(files("ultralytics") / "assets"))
    return [(p, "civilian") for p in sorted(assets.glob("*.jpg"))]


def realdata_photos(realdata: Path = REALDATA_DIR, split: str = "train") -> list[tuple[Path, str]]:
    """The photos of one split of realdata with their label; empty when realdata is not present."""
    table = realdata / "labels.csv"
    if not table.exists():
        return []
    with table.open() as f:
        return [(realdata / r["file"], r["label"]) for r in csv.DictReader(f) if r["split"] == split]


def find_people(
    photos: list[tuple[Path, str]], pose_weights: Path = POSE_WEIGHTS, cache: Path | None = None
) -> list[PhotoPeople]:
    """Run the pose model over photos (cached in ``cache`` as JSON, keyed by path)."""
    known: dict[str, PhotoPeople] = {}
    if cache and cache.exists():
        for item in json.loads(cache.read_text()):
            people = tuple(Person(tuple(p["box"]), tuple(map(tuple, p["keypoints"]))) for p in item["people"])
            known[item["path"]] = PhotoPeople(item["path"], item["source"], item["label"], people)
    todo = [(p, label) for p, label in photos if str(p) not in known]
    if todo:
        finder = PeopleFinder(pose_weights)
        for path, label in todo:
            found, keypoints = finder.find(str(path))
            boxes, kpts = found.tolist(), keypoints.tolist() if keypoints is not None else []
            people = tuple(Person(tuple(b), tuple(map(tuple, k))) for b, k in zip(boxes, kpts, strict=True))
            known[str(path)] = PhotoPeople(str(path), path.stem, label, people)
        if cache:
            cache.parent.mkdir(parents=True, exist_ok=True)
            cache.write_text(json.dumps([asdict(v) for v in known.values()]))
    return [known[str(p)] for p, _ in photos]
