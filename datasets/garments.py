"""Dress a real person in official attire or a look-alike: garment masks from pose keypoints,
recolouring that keeps the photo's folds and shading, and attributes drawn in their real places.

Every drawing function returns the pixel boxes of what it labelled, so labels come from the
same geometry that drew the pixels.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from datasets.people import L_ELBOW, L_HIP, L_SHOULDER, NOSE, R_ELBOW, R_HIP, R_SHOULDER, Person
from detector.taxonomy import load_taxonomy

Box = tuple[str, tuple[float, float, float, float]]  # (class name, x1 y1 x2 y2 pixels)
BGR = tuple[int, int, int]


@dataclass(frozen=True)
class Outfit:
    """What a person is dressed in. ``garment_class`` is the label of the garment box (None: no label)."""

    name: str
    garment_class: str | None
    colours: tuple[BGR, ...]
    pattern: str = "plain"  # plain | korpri | batik | camo | keep
    pockets: bool = False
    straps: bool = False
    attributes: dict[str, float] = field(default_factory=dict)  # attribute -> probability drawn
    reflective: bool = False
    scarf: bool = False

    @property
    def is_official(self) -> bool:
        """Whether a person dressed like this wears official civil-service attire."""
        return self.garment_class in load_taxonomy().official_names or bool(self.attributes)


OUTFITS: dict[str, Outfit] = {
    o.name: o
    for o in (
        Outfit(
            "pdh_khaki",
            "pdh_khaki",
            ((118, 164, 190), (110, 150, 178), (128, 172, 196)),
            pockets=True,
            straps=True,
            attributes={
                "name_plate": 0.75,
                "korpri_badge": 0.6,
                "emblem_patch": 0.6,
                "rank_insignia": 0.5,
                "id_card": 0.25,
            },
        ),
        Outfit(
            "korpri_batik",
            "korpri_batik",
            ((150, 80, 30), (170, 95, 40), (130, 70, 25)),
            pattern="korpri",
            attributes={"name_plate": 0.3, "korpri_badge": 0.3, "id_card": 0.2},
        ),
        Outfit(
            "satpol_pp",
            "field_uniform",
            ((78, 112, 118), (70, 100, 104), (86, 120, 128)),
            pockets=True,
            straps=True,
            attributes={"name_plate": 0.7, "emblem_patch": 0.8, "rank_insignia": 0.5},
        ),
        Outfit(
            "linmas",
            "field_uniform",
            ((60, 100, 70), (50, 90, 60)),
            pockets=True,
            straps=True,
            attributes={"name_plate": 0.5, "emblem_patch": 0.7},
        ),
        Outfit(
            "dishub",
            "field_uniform",
            ((90, 55, 40), (110, 80, 60)),
            pockets=True,
            straps=True,
            reflective=True,
            attributes={"name_plate": 0.6, "emblem_patch": 0.7},
        ),
        Outfit(
            "white_insignia",
            None,
            ((235, 238, 240), (225, 228, 232)),
            attributes={"name_plate": 0.9, "korpri_badge": 0.8, "emblem_patch": 0.4},
        ),
        # Hard negatives: look-alikes that are not civil-service attire.
        Outfit("civilian_khaki", None, ((105, 150, 185), (120, 160, 200), (95, 135, 165), (130, 175, 205))),
        Outfit(
            "everyday_batik",
            None,
            ((40, 70, 120), (30, 50, 90), (100, 60, 40), (60, 90, 140)),
            pattern="batik",
        ),
        Outfit("scout", None, ((70, 105, 140), (60, 95, 125)), pockets=True, scarf=True),
        Outfit("school_white", None, ((238, 238, 238),), pockets=True),
        Outfit("police", "other_uniform", ((95, 120, 140), (85, 110, 130)), pockets=True, straps=True),
        Outfit("military", "other_uniform", ((60, 90, 70),), pattern="camo", pockets=True),
        Outfit(
            "plain_tshirt", None, ((40, 40, 40), (200, 60, 60), (60, 60, 200), (180, 180, 180), (50, 140, 60))
        ),
        Outfit("original", None, (), pattern="keep"),
    )
}


@dataclass(frozen=True)
class TorsoGeometry:
    """Where the body is, in image pixels: shoulders, hips, elbows, the downward unit vector."""

    ls: np.ndarray
    rs: np.ndarray
    lh: np.ndarray
    rh: np.ndarray
    le: np.ndarray
    re: np.ndarray
    down: np.ndarray
    width: float

    @property
    def neck(self) -> np.ndarray:
        return (self.ls + self.rs) / 2

    def chest(self, side: str, across: float, drop: float) -> np.ndarray:
        """A point on the chest: ``across`` from the midline towards the ``side`` shoulder, ``drop``
        shoulder widths below the shoulder line. ``side`` is the person's own left or right."""
        shoulder = self.ls if side == "left" else self.rs
        return self.neck + (shoulder - self.neck) * across + self.down * drop * self.width


def torso_geometry(person: Person, facing_camera: bool = True) -> TorsoGeometry | None:
    ls, rs = person.point(L_SHOULDER), person.point(R_SHOULDER)
    if ls is None or rs is None:
        return None
    width = float(np.linalg.norm(ls - rs))
    if width < 24:
        return None
    across = (ls - rs) / width
    down = np.array([-across[1], across[0]], np.float32)
    nose = person.point(NOSE, 0.3)
    if nose is not None and np.dot(nose - (ls + rs) / 2, down) > 0:
        down = -down
    # Livestreamers face the camera upright: the person's left shoulder shows on the image's right,
    # the face is visible and the torso hangs down. Others (backs, lying, leaning) would get
    # insignia painted in the wrong places.
    if facing_camera and (ls[0] <= rs[0] or nose is None or down[1] < 0.8):
        return None
    lh, rh = person.point(L_HIP), person.point(R_HIP)
    lh = lh if lh is not None else ls + down * 1.45 * width - across * 0.1 * width
    rh = rh if rh is not None else rs + down * 1.45 * width + across * 0.1 * width
    le, re = person.point(L_ELBOW), person.point(R_ELBOW)
    le = le if le is not None else ls + down * 0.95 * width + across * 0.1 * width
    re = re if re is not None else rs + down * 0.95 * width - across * 0.1 * width
    return TorsoGeometry(ls, rs, lh, rh, le, re, down, width)


def garment_mask(image: np.ndarray, g: TorsoGeometry, refine: bool = True) -> np.ndarray:
    """A uint8 mask (0/255) of the shirt: torso and upper sleeves, refined to the person's outline."""
    across = (g.ls - g.rs) / g.width
    w = g.width
    body = np.array(
        [
            g.ls + across * 0.1 * w - g.down * 0.02 * w,
            g.neck + across * 0.16 * w - g.down * 0.06 * w,
            g.neck + g.down * 0.22 * w,
            g.neck - across * 0.16 * w - g.down * 0.06 * w,
            g.rs - across * 0.1 * w - g.down * 0.02 * w,
            g.rh - across * 0.12 * w + g.down * 0.1 * w,
            g.lh + across * 0.12 * w + g.down * 0.1 * w,
        ],
        np.int32,
    )
    mask = np.zeros(image.shape[:2], np.uint8)
    cv2.fillPoly(mask, [body], 255)
    for shoulder, elbow in ((g.ls, g.le), (g.rs, g.re)):
        cv2.line(mask, tuple(map(int, shoulder)), tuple(map(int, elbow)), 255, max(2, int(0.34 * w)))
    return _refine_to_person(image, mask) if refine else mask


def _refine_to_person(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """GrabCut seeded by the keypoint mask trims the paint to the person's outline."""
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return mask
    pad = 8
    x1, y1 = max(0, xs.min() - pad), max(0, ys.min() - pad)
    x2, y2 = min(image.shape[1], xs.max() + pad), min(image.shape[0], ys.max() + pad)
    crop, seed = image[y1:y2, x1:x2], mask[y1:y2, x1:x2]
    scale = min(1.0, 160 / max(crop.shape[:2]))
    small = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    small_seed = cv2.resize(seed, (small.shape[1], small.shape[0]), interpolation=cv2.INTER_NEAREST)
    gc = np.where(small_seed > 0, cv2.GC_PR_FGD, cv2.GC_BGD).astype(np.uint8)
    core = cv2.erode(small_seed, np.ones((5, 5), np.uint8), iterations=2)
    gc[core > 0] = cv2.GC_FGD
    if (gc == cv2.GC_BGD).sum() < 10 or (gc == cv2.GC_FGD).sum() < 10:
        return mask
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.setRNGSeed(
        0
    )  # GrabCut seeds its colour models from OpenCV's global RNG: fix it for reproducible data
    cv2.grabCut(small, gc, None, bgd, fgd, 2, cv2.GC_INIT_WITH_MASK)
    refined = np.where((gc == cv2.GC_FGD) | (gc == cv2.GC_PR_FGD), 255, 0).astype(np.uint8)
    refined = cv2.resize(refined, (crop.shape[1], crop.shape[0]), interpolation=cv2.INTER_NEAREST)
    out = np.zeros_like(mask)
    out[y1:y2, x1:x2] = refined & seed
    # GrabCut sometimes keeps almost nothing on low-contrast photos: fall back to the keypoint mask.
    return out if out.sum() > 0.45 * mask.sum() else mask


def mask_box(mask: np.ndarray) -> tuple[float, float, float, float] | None:
    ys, xs = np.nonzero(mask)
    return (float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)) if len(xs) else None


def _pattern(kind: str, shape: tuple[int, int], colour: BGR, rng: np.random.Generator) -> np.ndarray:
    h, w = shape
    base = np.empty((h, w, 3), np.uint8)
    base[:] = colour
    if kind == "korpri":
        _korpri_motif(base, rng)
    elif kind == "batik":
        _batik_motif(base, rng)
    elif kind == "camo":
        for _ in range(max(4, h * w // 900)):
            c = tuple(int(v) for v in rng.choice([(40, 60, 45), (70, 105, 95), (30, 45, 55), (95, 120, 110)]))
            center = (int(rng.integers(0, w)), int(rng.integers(0, h)))
            axes = (int(rng.integers(4, 14 + w // 12)), int(rng.integers(3, 10 + h // 14)))
            cv2.ellipse(base, center, axes, float(rng.uniform(0, 180)), 0, 360, c, -1)
    return base


def _korpri_motif(canvas: np.ndarray, rng: np.random.Generator) -> None:
    """KORPRI batik: repeated stylised tree-and-wings in light blue and white on blue."""
    h, w = canvas.shape[:2]
    step = int(rng.integers(22, 40))
    light = (235, 200, 150)
    for row, y in enumerate(range(0, h + step, step)):
        for x in range((row % 2) * step // 2, w + step, step):
            s = step / 40
            cv2.line(canvas, (x, y + int(10 * s)), (x, y - int(10 * s)), (255, 255, 255), max(1, int(2 * s)))
            for k in (1, 2, 3):
                cv2.line(
                    canvas, (x, y - int(3 * k * s)), (x - int(4 * k * s), y - int((3 * k - 4) * s)), light, 1
                )
                cv2.line(
                    canvas, (x, y - int(3 * k * s)), (x + int(4 * k * s), y - int((3 * k - 4) * s)), light, 1
                )
            cv2.ellipse(
                canvas, (x, y + int(6 * s)), (int(12 * s), int(5 * s)), 0, 180, 360, (230, 170, 90), 1
            )


def _batik_motif(canvas: np.ndarray, rng: np.random.Generator) -> None:
    """Everyday batik: parang diagonals or kawung circles in warm or indigo palettes."""
    h, w = canvas.shape[:2]
    ink = tuple(int(v) for v in rng.choice([(20, 30, 60), (200, 220, 235), (30, 90, 160), (90, 40, 30)]))
    step = int(rng.integers(14, 30))
    if rng.random() < 0.5:
        for off in range(-h, w + h, step):
            cv2.line(canvas, (off, 0), (off + h, h), ink, max(2, step // 5))
            for y in range(0, h, step):
                cv2.circle(canvas, (off + y + step // 3, y), max(1, step // 6), ink, -1)
    else:
        for y in range(0, h + step, step):
            for x in range(0, w + step, step):
                cv2.ellipse(canvas, (x, y), (step // 2, step // 5), 0, 0, 360, ink, 1)
                cv2.ellipse(canvas, (x, y), (step // 5, step // 2), 0, 0, 360, ink, 1)
                cv2.circle(canvas, (x, y), max(1, step // 8), ink, -1)


def recolour(image: np.ndarray, mask: np.ndarray, outfit: Outfit, rng: np.random.Generator) -> None:
    """Paint the garment in place, keeping the photo's folds and shading."""
    if outfit.pattern == "keep":
        return
    box = mask_box(mask)
    if box is None:
        return
    x1, y1, x2, y2 = (int(v) for v in box)
    region, m = image[y1:y2, x1:x2], mask[y1:y2, x1:x2] > 0
    gray = cv2.cvtColor(region, cv2.COLOR_BGR2GRAY).astype(np.float32)
    shade = np.clip(gray / max(np.median(gray[m]), 1.0), 0.35, 1.6) ** 0.7
    colour = outfit.colours[int(rng.integers(len(outfit.colours)))]
    jitter = rng.integers(-12, 13, 3)
    colour = tuple(int(np.clip(c + j, 0, 255)) for c, j in zip(colour, jitter, strict=True))
    paint = _pattern(outfit.pattern, region.shape[:2], colour, rng).astype(np.float32)
    painted = np.clip(paint * shade[..., None], 0, 255).astype(np.uint8)
    alpha = cv2.GaussianBlur(m.astype(np.float32), (5, 5), 0)[..., None]
    region[:] = (painted * alpha + region * (1 - alpha)).astype(np.uint8)


# Sizes of the chest attributes in shoulder widths, as real ones are: a name plate of about 8-10 by 2 cm
# and a KORPRI pin about 2 cm across, on shoulders about 40 cm apart (the real `train` photos of white
# shirts with insignia measure plates 0.16-0.18 wide and 0.04 tall, pins 0.05-0.06 across); narrower
# than the pocket below the plate.
PLATE_WIDTH = (0.16, 0.26)
PLATE_ASPECT = (0.2, 0.28)  # height over width
PIN_RADIUS = (0.022, 0.04)


def _rect(center: np.ndarray, w: float, h: float) -> tuple[int, int, int, int]:
    return int(center[0] - w / 2), int(center[1] - h / 2), int(center[0] + w / 2), int(center[1] + h / 2)


def _name_plate(image: np.ndarray, g: TorsoGeometry, rng: np.random.Generator) -> tuple[float, ...]:
    w = float(rng.uniform(*PLATE_WIDTH)) * g.width
    h = float(rng.uniform(*PLATE_ASPECT)) * w
    x1, y1, x2, y2 = _rect(g.chest("right", 0.5, 0.26), w, h)
    cv2.rectangle(image, (x1, y1), (x2, y2), (15, 15, 15), -1)
    letters = "".join(rng.choice(list("ABDEGHIKLMNRSTUWY"), int(rng.integers(5, 10))))
    scale = max(0.2, (y2 - y1) / 34)
    cv2.putText(
        image,
        letters,
        (x1 + 2, y2 - max(1, (y2 - y1) // 4)),
        cv2.FONT_HERSHEY_SIMPLEX,
        scale,
        (245, 245, 245),
        max(1, int(scale * 2)),
        cv2.LINE_AA,
    )
    return x1, y1, x2, y2


def _korpri_badge(image: np.ndarray, g: TorsoGeometry, rng: np.random.Generator) -> tuple[float, ...]:
    r = max(2, round(float(rng.uniform(*PIN_RADIUS)) * g.width))
    c = g.chest("left", 0.5, float(rng.uniform(0.18, 0.28)))
    cx, cy = int(c[0]), int(c[1])
    cv2.circle(image, (cx, cy), r, (40, 170, 215), -1)
    cv2.circle(image, (cx, cy), max(1, int(r * 0.7)), (150, 80, 20), -1)
    cv2.line(image, (cx, cy + r // 2), (cx, cy - r // 2), (255, 255, 255), max(1, r // 5))
    cv2.line(image, (cx - r // 2, cy - r // 5), (cx + r // 2, cy - r // 5), (255, 255, 255), max(1, r // 6))
    return cx - r, cy - r, cx + r, cy + r


def _emblem_patch(
    image: np.ndarray, g: TorsoGeometry, side: str, rng: np.random.Generator
) -> tuple[float, ...]:
    shoulder, elbow = (g.ls, g.le) if side == "left" else (g.rs, g.re)
    c = shoulder + (elbow - shoulder) * 0.3
    w, h = 0.18 * g.width, 0.22 * g.width
    x1, y1, x2, y2 = _rect(c, w, h)
    shield = np.array(
        [(x1, y1), (x2, y1), (x2, y1 + (y2 - y1) * 0.6), ((x1 + x2) // 2, y2), (x1, y1 + (y2 - y1) * 0.6)],
        np.int32,
    )
    fill = tuple(int(v) for v in rng.choice([(40, 140, 40), (160, 90, 20), (30, 30, 170), (30, 120, 200)]))
    cv2.fillPoly(image, [shield], fill)
    cv2.polylines(image, [shield], True, (40, 200, 230), max(1, int(w / 12)))
    cv2.circle(image, ((x1 + x2) // 2, (y1 + y2) // 2 - int(h * 0.1)), max(1, int(w / 6)), (40, 200, 230), -1)
    return x1, y1, x2, y2


def _straps(
    image: np.ndarray, g: TorsoGeometry, colour: BGR, insignia: bool, rng: np.random.Generator
) -> list[Box]:
    boxes: list[Box] = []
    dark = tuple(int(c * 0.72) for c in colour)
    for shoulder in (g.ls, g.rs):
        inner = g.neck + (shoulder - g.neck) * 0.4
        cv2.line(image, tuple(map(int, inner)), tuple(map(int, shoulder)), dark, max(2, int(0.09 * g.width)))
        if insignia:  # one to three gold marks along the strap, from its outer end inwards
            start = inner + (shoulder - inner) * 0.65
            step = (inner - shoulder) / max(float(np.linalg.norm(inner - shoulder)), 1.0) * 0.08 * g.width
            s = max(2, int(0.05 * g.width))
            marks = [start + step * k for k in range(int(rng.integers(1, 4)))]
            for p in marks:
                cv2.rectangle(
                    image,
                    (int(p[0] - s / 2), int(p[1] - s / 2)),
                    (int(p[0] + s / 2), int(p[1] + s / 2)),
                    (40, 190, 225),
                    -1,
                )
            xs, ys = [p[0] for p in marks], [p[1] for p in marks]
            boxes.append(("rank_insignia", (min(xs) - s, min(ys) - s, max(xs) + s, max(ys) + s)))
    return boxes


def _pockets(image: np.ndarray, g: TorsoGeometry, colour: BGR) -> None:
    dark = tuple(int(c * 0.6) for c in colour)
    t = max(1, int(g.width / 90))
    for side in ("left", "right"):
        x1, y1, x2, y2 = _rect(g.chest(side, 0.52, 0.5), 0.3 * g.width, 0.3 * g.width)
        cv2.rectangle(image, (x1, y1), (x2, y2), dark, t)
        cv2.line(image, (x1, y1 + (y2 - y1) // 4), (x2, y1 + (y2 - y1) // 4), dark, t)
        cv2.circle(image, ((x1 + x2) // 2, y1 + (y2 - y1) // 6), max(1, t), dark, -1)


def _id_card(image: np.ndarray, g: TorsoGeometry) -> tuple[float, ...]:
    c = g.neck + g.down * 0.8 * g.width
    x1, y1, x2, y2 = _rect(c, 0.22 * g.width, 0.3 * g.width)
    for side in (1, -1):
        top = g.neck + (g.ls - g.neck) * 0.25 * side
        cv2.line(
            image,
            tuple(map(int, top)),
            ((x1 + x2) // 2 + side * (x2 - x1) // 4, y1),
            (140, 40, 20),
            max(1, int(g.width / 60)),
        )
    cv2.rectangle(image, (x1, y1), (x2, y2), (245, 245, 245), -1)
    cv2.rectangle(image, (x1, y1), (x2, y1 + (y2 - y1) // 4), (150, 70, 20), -1)
    cv2.rectangle(
        image,
        (x1 + (x2 - x1) // 4, y1 + (y2 - y1) // 3),
        (x2 - (x2 - x1) // 4, y1 + (y2 - y1) * 2 // 3),
        (150, 160, 170),
        -1,
    )
    return x1, y1, x2, y2


def _scarf(image: np.ndarray, g: TorsoGeometry) -> None:
    tri = np.array(
        [g.neck + (g.ls - g.neck) * 0.3, g.neck + (g.rs - g.neck) * 0.3, g.neck + g.down * 0.45 * g.width],
        np.int32,
    )
    cv2.fillPoly(image, [tri], (30, 30, 190))
    cv2.polylines(image, [tri], True, (240, 240, 240), max(1, int(g.width / 40)))


def _reflective_band(image: np.ndarray, mask: np.ndarray, g: TorsoGeometry) -> None:
    band = np.zeros_like(mask)
    y = g.neck + g.down * 0.75 * g.width
    cv2.line(band, (0, int(y[1])), (image.shape[1], int(y[1])), 255, max(2, int(0.07 * g.width)))
    image[(band > 0) & (mask > 0)] = (200, 205, 205)


def dress(image: np.ndarray, person: Person, outfit: Outfit, rng: np.random.Generator) -> list[Box]:
    """Dress ``person`` in ``outfit`` in place; return the labelled boxes (garment and attributes)."""
    g = torso_geometry(person)
    if g is None:
        return []
    mask = garment_mask(image, g)
    recolour(image, mask, outfit, rng)
    colour = outfit.colours[0] if outfit.colours else (128, 128, 128)
    boxes: list[Box] = []
    if outfit.garment_class and (box := mask_box(mask)):
        boxes.append((outfit.garment_class, box))
    if outfit.reflective:
        _reflective_band(image, mask, g)
    if outfit.pockets:
        _pockets(image, g, colour)
    if outfit.scarf:
        _scarf(image, g)
    wanted = {a for a, p in outfit.attributes.items() if rng.random() < p}
    if outfit.garment_class is None and outfit.attributes and not wanted:
        wanted = {max(outfit.attributes, key=outfit.attributes.__getitem__)}
    if outfit.straps:
        boxes += _straps(image, g, colour, "rank_insignia" in wanted, rng)
    if "name_plate" in wanted:
        boxes.append(("name_plate", _name_plate(image, g, rng)))
    if "korpri_badge" in wanted:
        boxes.append(("korpri_badge", _korpri_badge(image, g, rng)))
    if "emblem_patch" in wanted:
        boxes.append(("emblem_patch", _emblem_patch(image, g, "left", rng)))
        if outfit.garment_class == "field_uniform":
            boxes.append(("emblem_patch", _emblem_patch(image, g, "right", rng)))
    if "id_card" in wanted:
        boxes.append(("id_card", _id_card(image, g)))
    return boxes


def pseudo_garment_box(image: np.ndarray, person: Person) -> tuple[float, float, float, float] | None:
    """The garment box of a real, already-uniformed person (same geometry as ``dress``)."""
    g = torso_geometry(person, facing_camera=False)
    return mask_box(garment_mask(image, g, refine=False)) if g else None
