"""Synthetic livestream frames built on real people, written as an ultralytics dataset.

Each frame starts from a real photo: either the photo as it is (real uniforms get a pseudo-box
from pose keypoints on the main people their label describes, civilians stay negatives) or a
counterfactual in which one real person is dressed in official attire or a look-alike
(``garments.OUTFITS``). The frame is then cut to a
phone's portrait framing and put through livestream conditions. Splits are by source photo, so
no person appears in two splits. Deterministic by seed.
"""

from __future__ import annotations

import multiprocessing
import shutil
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from datasets.garments import OUTFITS, Box, dress, pseudo_garment_box, torso_geometry
from datasets.importers import LabelledBox, LabelledImage, write_yolo_dataset
from datasets.livestream import camera_effects, compress, overlay
from datasets.people import GARMENT_OF_LABEL, PhotoPeople, is_official_label, label_stratum, main_people
from datasets.splits import split_by_source
from detector.taxonomy import load_taxonomy

# Outfit draw weights for counterfactual frames: about half official, half look-alikes.
OUTFIT_WEIGHTS = {
    "pdh_khaki": 0.17,
    "korpri_batik": 0.10,
    "satpol_pp": 0.07,
    "linmas": 0.04,
    "dishub": 0.04,
    "white_insignia": 0.08,
    "civilian_khaki": 0.10,
    "everyday_batik": 0.10,
    "scout": 0.05,
    "school_white": 0.04,
    "police": 0.05,
    "military": 0.03,
    "plain_tshirt": 0.06,
    "original": 0.07,
}
FRAME_SIZES = ((720, 1280), (720, 1280), (540, 960), (576, 1024), (1280, 720))
HELD_OUT_FRACTIONS = (("test", 1.0),)  # a held-out set: every frame in test, train and val empty


@dataclass(frozen=True)
class SynthConfig:
    count: int = 1500
    seed: int = 0
    real_fraction: float = 0.3  # share of civilian-photo frames kept as they are (negatives)
    fractions: tuple[tuple[str, float], ...] = (("train", 0.8), ("val", 0.1), ("test", 0.1))
    min_visible: float = 0.5  # a box cut by the frame edge or an overlay below this is dropped
    stratify: bool = False  # every split gets its share of official, other-uniform and civilian photos


def _frame_transform(
    image: np.ndarray, photo: PhotoPeople, person_idx: int, size: tuple[int, int], rng: np.random.Generator
) -> np.ndarray:
    """Affine matrix for a chest- or waist-up phone framing of one person."""
    person = photo.people[person_idx]
    g = torso_geometry(person)
    w, h = size
    top = person.box[1]
    bottom = float((g.lh[1] + g.rh[1]) / 2) if g else person.box[3]
    if g and rng.random() < 0.2:  # partial crop: the head is cut off
        top = float(g.neck[1] - 0.35 * g.width)
    crop_h = max(24.0, (bottom - top) * rng.uniform(1.05, 1.5))
    crop_w = crop_h * w / h
    cx = (float(g.neck[0]) if g else (person.box[0] + person.box[2]) / 2) + rng.uniform(-0.12, 0.12) * crop_w
    x0, y0 = cx - crop_w / 2, top - rng.uniform(0.02, 0.15) * crop_h
    # Keep the crop inside the photo where it fits, so little of the frame is fill.
    img_h, img_w = image.shape[:2]
    x0 = float(np.clip(x0, 0, img_w - crop_w)) if crop_w <= img_w else (img_w - crop_w) / 2
    y0 = float(np.clip(y0, 0, img_h - crop_h)) if crop_h <= img_h else y0
    s = h / crop_h
    return np.array([[s, 0, -x0 * s], [0, s, -y0 * s]], np.float32)


def _inside(boxes: list[Box], w: int, h: int, min_visible: float) -> list[Box]:
    """Clip boxes to the photo; drop those mostly drawn outside it (they would label the fill)."""
    out = []
    for name, (x1, y1, x2, y2) in boxes:
        cx1, cy1, cx2, cy2 = max(0.0, x1), max(0.0, y1), min(float(w), x2), min(float(h), y2)
        if cx2 > cx1 and cy2 > cy1 and (cx2 - cx1) * (cy2 - cy1) >= min_visible * (x2 - x1) * (y2 - y1):
            out.append((name, (cx1, cy1, cx2, cy2)))
    return out


def _fill_frame(image: np.ndarray, m: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Warp the photo into the frame; where the crop leaves the photo, show a blurred cover of it,
    as phone apps do, rather than mirrored copies of the person."""
    w, h = size
    frame = cv2.warpAffine(image, m, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    valid = cv2.warpAffine(np.full(image.shape[:2], 255, np.uint8), m, size, borderMode=cv2.BORDER_CONSTANT)
    if valid.min() == 255:
        return frame
    img_h, img_w = image.shape[:2]
    cover = max(w / img_w, h / img_h)
    big = cv2.resize(image, (int(img_w * cover) + 1, int(img_h * cover) + 1))
    y0, x0 = (big.shape[0] - h) // 2, (big.shape[1] - w) // 2
    background = cv2.GaussianBlur(big[y0 : y0 + h, x0 : x0 + w], (0, 0), 25)
    return np.where(valid[..., None] > 127, frame, background)


def _project(
    boxes: list[Box],
    m: np.ndarray,
    size: tuple[int, int],
    covered: np.ndarray | None,
    min_visible: float,
    mirror: bool,
) -> list[LabelledBox]:
    w, h = size
    out = []
    for name, (x1, y1, x2, y2) in boxes:
        a = np.array([x1, y1, x2, y2], np.float32) * m[0, 0]
        a[[0, 2]] += m[0, 2]
        a[[1, 3]] += m[1, 2]
        area = max((a[2] - a[0]) * (a[3] - a[1]), 1e-6)
        c = np.clip(a, 0, [w, h, w, h])
        cw, ch = c[2] - c[0], c[3] - c[1]
        if cw < 4 or ch < 4 or cw * ch / area < min_visible:
            continue
        if covered is not None:
            inside = covered[int(c[1]) : int(c[3]), int(c[0]) : int(c[2])]
            if inside.size and (inside > 0).mean() > 1 - min_visible:
                continue
        if mirror:
            c[[0, 2]] = w - c[[2, 0]]
        out.append(
            LabelledBox(
                name, float((c[0] + c[2]) / 2 / w), float((c[1] + c[3]) / 2 / h), float(cw / w), float(ch / h)
            )
        )
    return out


def _draw_outfit(rng: np.random.Generator, redress: bool) -> str:
    """An outfit by ``OUTFIT_WEIGHTS``; with ``redress``, never one that keeps the person's clothes."""
    choices = {k: w for k, w in OUTFIT_WEIGHTS.items() if not (redress and OUTFITS[k].pattern == "keep")}
    weights = np.array(list(choices.values()))
    return str(rng.choice(list(choices), p=weights / weights.sum()))


def _scene(
    photo: PhotoPeople, image: np.ndarray, rng: np.random.Generator, config: SynthConfig, outfit: str | None
) -> tuple[list[Box], int]:
    """Dress (or not) the people of a photo; return source-pixel boxes and the person to frame.
    ``outfit`` can be forced only on photos whose real attire carries no label."""
    garment = GARMENT_OF_LABEL.get(photo.label)
    official = is_official_label(photo.label)
    if outfit is not None and (garment is not None or official):
        # Their other people would keep the real attire, so the frame would not show what outfit says.
        raise ValueError(
            f"{photo.path} shows real {photo.label} attire: an outfit can be forced only on photos of "
            "everyday clothes (give another photo, or no outfit)"
        )
    dressable = [i for i, p in enumerate(photo.people) if torso_geometry(p) is not None]
    areas = np.array(
        [(p.box[2] - p.box[0]) * (p.box[3] - p.box[1]) for p in (photo.people[i] for i in dressable)]
    )
    focus = dressable[int(rng.choice(len(dressable), p=areas / areas.sum()))]
    if garment is not None:  # a real uniform photo: its image-level label describes its main people
        main = main_people([p.box[3] - p.box[1] for p in photo.people])
        boxes = [
            (garment, b)
            for p, is_main in zip(photo.people, main, strict=True)
            if is_main and (b := pseudo_garment_box(image, p))
        ]
        if main[focus]:
            return boxes, focus
        # What the framed bystander wears is unknown: redressed, it is known (never a false negative).
        return boxes + dress(image, photo.people[focus], OUTFITS[_draw_outfit(rng, redress=True)], rng), focus
    if outfit is None:
        if not official and rng.random() < config.real_fraction:
            return [], focus
        outfit = _draw_outfit(rng, redress=official)
    # Official attire with no garment class (a white shirt made official by its insignia) is redressed on
    # everyone with a torso: kept as it is, anyone's real insignia in view would be an unlabelled positive.
    redressed = dressable if official else [focus]
    return [b for i in redressed for b in dress(image, photo.people[i], OUTFITS[outfit], rng)], focus


def render_frame(
    photo: PhotoPeople,
    rng: np.random.Generator,
    config: SynthConfig,
    outfit: str | None = None,
    size: tuple[int, int] | None = None,
) -> tuple[np.ndarray, list[LabelledBox]]:
    """One livestream frame of ``photo``; ``outfit`` forces what the framed person wears (default: drawn),
    on photos of everyday clothes only (ValueError on photos of real uniforms or official attire)."""
    image = cv2.imread(photo.path, cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(f"cannot read source photo {photo.path}")
    boxes, focus = _scene(photo, image, rng, config, outfit)
    boxes = _inside(boxes, image.shape[1], image.shape[0], config.min_visible)
    size = size or FRAME_SIZES[int(rng.integers(len(FRAME_SIZES)))]
    m = _frame_transform(image, photo, focus, size, rng)
    frame = _fill_frame(image, m, size)
    mirror = bool(rng.random() < 0.5)
    if mirror:
        frame = cv2.flip(frame, 1)
    frame = camera_effects(frame, rng)
    covered = overlay(frame, rng)
    labels = _project(
        boxes, m, size, covered if not mirror else cv2.flip(covered, 1), config.min_visible, mirror
    )
    return compress(frame, rng), labels


def _frame_rng(config: SynthConfig, i: int, photos: int) -> tuple[np.random.Generator, int]:
    """Frame ``i``'s random generator and the index of its source photo (the generator's first draw)."""
    rng = np.random.default_rng([config.seed, i])
    return rng, int(rng.integers(photos))


def _render_into(job: tuple[PhotoPeople, int, int, SynthConfig, Path]) -> LabelledImage:
    photo, i, photos, config, staging = job
    cv2.setNumThreads(1)  # one process per core already
    frame, labels = render_frame(photo, _frame_rng(config, i, photos)[0], config)
    path = staging / f"{photo.source}_{i:06d}.jpg"
    cv2.imwrite(str(path), frame, [cv2.IMWRITE_JPEG_QUALITY, 92])
    return LabelledImage(path, tuple(labels), photo.source)


def generate(photos: list[PhotoPeople], out_dir: Path, config: SynthConfig, workers: int = 1) -> Path:
    """Render ``config.count`` frames from ``photos`` in ``workers`` processes and write a split
    dataset; return its data.yaml. Each frame depends only on the seed and its index, so the result
    does not depend on ``workers``."""
    if config.count < 1:
        raise ValueError(f"cannot render {config.count} frames: ask for at least 1")
    # write_yolo_dataset refuses a non-empty folder too, but only after every frame is rendered
    if out_dir.exists() and any(out_dir.iterdir()):
        raise FileExistsError(f"{out_dir} is not empty; write the dataset to a new directory")
    usable = [p for p in photos if any(torso_geometry(q) for q in p.people)]
    if not usable:
        raise ValueError("no source photo shows a person with both shoulders visible; give other photos")
    staging = out_dir.with_name(out_dir.name + ".frames")
    staging.mkdir(parents=True, exist_ok=True)
    jobs = [
        (usable[_frame_rng(config, i, len(usable))[1]], i, len(usable), config, staging)
        for i in range(config.count)
    ]
    try:
        if workers > 1:
            with multiprocessing.get_context("spawn").Pool(workers) as pool:
                items = pool.map(_render_into, jobs, chunksize=4)
        else:
            items = [_render_into(job) for job in jobs]
        strata = {p.source: label_stratum(p.label) for p in usable} if config.stratify else None
        splits = split_by_source(items, dict(config.fractions), seed=config.seed, strata=strata)
        # every data.yaml names a train and a val split (ultralytics requires them), empty where not drawn
        return write_yolo_dataset({"train": [], "val": [], **splits}, out_dir, load_taxonomy().names)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
