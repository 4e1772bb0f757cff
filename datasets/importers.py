"""Read labelled images from YOLO, COCO, Label Studio and CVAT exports; write them as a YOLO dataset.

Every importer returns ``list[LabelledImage]`` with class names from the taxonomy
(``detector/taxonomy.yaml``). Foreign class names are mapped with ``class_map``
(``{"foreign": "taxonomy_name"}``, or ``None`` to drop a class); a name that is neither
in the taxonomy nor mapped raises ``UnknownClassError``. Boxes are clipped to the image,
and boxes left (almost) empty by clipping are dropped with a logged warning.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import shutil
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, NamedTuple
from urllib.parse import parse_qs, unquote, urlparse

import yaml

from detector.model import file_sha256
from detector.taxonomy import load_taxonomy

log = logging.getLogger(__name__)

ClassMap = Mapping[str, str | None]
SourceOf = Callable[[Path], str]

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})
YOLO_SPLITS = ("train", "val", "test")
# Under one pixel at the 640-pixel training size: nothing left to learn from.
MIN_BOX_SIDE = 1 / 640
# Label Studio stores an upload as "<first 8 hex digits of a uuid4>-<original name>".
LABEL_STUDIO_UPLOAD = re.compile(r"[0-9a-f]{8}-(?P<name>.+)")


class DatasetError(Exception):
    """Base class of the errors raised while reading or writing datasets."""


class DatasetFormatError(DatasetError):
    """An annotation file is malformed; the message names the file and what is wrong."""


class UnknownClassError(DatasetError):
    """Annotations use class names that are not in the taxonomy and not mapped by ``class_map``."""

    def __init__(self, where: Path | str, unknown: Sequence[str], names: Sequence[str]) -> None:
        self.unknown = tuple(sorted(set(unknown)))
        super().__init__(
            f"{where}: classes not in the taxonomy: {', '.join(self.unknown)}. "
            f"Map each with class_map={{'<foreign name>': '<taxonomy name>'}}, or to None to drop it; "
            f"taxonomy classes: {', '.join(names)}"
        )


@dataclass(frozen=True)
class LabelledBox:
    """One box; centre, width and height normalised to 0..1 of the image size."""

    class_name: str
    cx: float
    cy: float
    w: float
    h: float


@dataclass(frozen=True)
class LabelledImage:
    """An image file with its boxes; ``source`` groups images from one stream, recording or photo."""

    image_path: Path
    boxes: tuple[LabelledBox, ...]
    source: str


def source_from_stem(path: Path, separator: str = "__") -> str:
    """The stem's prefix before ``separator`` (``cam1__f0001.jpg`` -> ``cam1``), else the whole stem.

    Use ``functools.partial(source_from_stem, separator="-")`` for another separator.
    """
    prefix, found, _ = path.stem.partition(separator)
    return prefix if found else path.stem


def source_from_folder(path: Path) -> str:
    """The folder the annotations name the image in (``cam1/f0001.jpg`` -> ``cam1``): one folder a stream."""
    return str(path.parent)


@dataclass(frozen=True)
class _RawBox:
    """A box as read from a foreign file: its own class name, corners normalised but not clipped."""

    class_name: str
    x0: float
    y0: float
    x1: float
    y1: float


@dataclass(frozen=True)
class _RawImage:
    path: Path
    boxes: tuple[_RawBox, ...]
    source_path: Path | None = None  # the path to derive the source from, when not ``path``


@contextmanager
def _malformed(path: Path, what: str) -> Iterator[None]:
    """Turn the errors of walking a malformed document into a DatasetFormatError naming the file."""
    try:
        yield
    except KeyError as e:
        raise DatasetFormatError(f"{path} is not a valid {what}: missing field {e}") from e
    except (TypeError, ValueError, IndexError, ZeroDivisionError) as e:
        raise DatasetFormatError(f"{path} is not a valid {what}: {type(e).__name__}: {e}") from e


def _load_json(path: Path) -> Any:
    try:
        return json.loads(Path(path).read_text())
    except json.JSONDecodeError as e:
        raise DatasetFormatError(f"{path} is not valid JSON: {e}") from e


def _finish(
    raw_images: Sequence[_RawImage],
    where: Path,
    class_map: ClassMap | None,
    source_of: SourceOf,
) -> list[LabelledImage]:
    """Map classes onto the taxonomy, clip boxes and drop degenerate ones; check the images exist."""
    names = load_taxonomy().names
    class_map = class_map or {}
    unknown: list[str] = []
    images: list[LabelledImage] = []
    dropped = 0
    for raw in raw_images:
        if not raw.path.is_file():
            raise DatasetFormatError(f"{where}: image {raw.path} not found; check images_dir")
        boxes: list[LabelledBox] = []
        for box in raw.boxes:
            target = class_map.get(box.class_name, box.class_name)
            if target is None:
                continue
            if target not in names:
                unknown.append(box.class_name if target == box.class_name else f"{box.class_name}->{target}")
                continue
            clipped = _clip(box, target)
            dropped += clipped is None
            if clipped is not None:
                boxes.append(clipped)
        images.append(LabelledImage(raw.path, tuple(boxes), source_of(raw.source_path or raw.path)))
    if unknown:
        raise UnknownClassError(where, unknown, names)
    if dropped:
        log.warning("%s: dropped %d degenerate boxes (empty after clipping to the image)", where, dropped)
    _warn_of_numbered_frames_apart(
        [(raw.source_path or raw.path, im.source) for raw, im in zip(raw_images, images, strict=True)], where
    )
    return images


# A numbered file name: frame_000123, IMG_0042, clip-7.
_NUMBERED = re.compile(r"(?P<name>.*?)[ _.\-]*\d+")


def _warn_of_numbered_frames_apart(named: Sequence[tuple[Path, str]], where: Path) -> None:
    """Files numbered in one series (``frame_000001``, ``frame_000002``) whose whole name is their source
    are likely frames of one recording, which a split by source would scatter across train and test.
    ``named``: each image's name (as the annotations give it) and its source."""
    series = Counter(
        numbered["name"]
        for name, source in named
        if source == name.stem and (numbered := _NUMBERED.fullmatch(name.stem))
    )
    apart = {name: n for name, n in series.items() if n > 1}
    if apart:
        example = max(apart, key=apart.__getitem__)
        log.warning(
            "%s: %d numbered images (%d of them named %r and a number) each make a source of their own; "
            "if they are frames of one stream, a split would put the same scene in train and test: name "
            "them <stream>__<frame>, or keep each stream in its own folder (--source folder)",
            where,
            sum(apart.values()),
            apart[example],
            example,
        )


def _upright_box(
    label: str,
    corners: tuple[float, float, float, float],
    degrees: float,
    image_size: tuple[float, float],
    pivot: tuple[float, float] | None = None,
) -> _RawBox:
    """The upright box around the rectangle ``corners`` (``x0, y0, x1, y1`` in pixels, where a turn keeps
    its shape) turned ``degrees`` clockwise as seen on screen about ``pivot`` (default: its centre)."""
    x0, y0, x1, y1 = corners
    px, py = pivot or ((x0 + x1) / 2, (y0 + y1) / 2)
    cos, sin = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    turned = [
        (px + (x - px) * cos - (y - py) * sin, py + (x - px) * sin + (y - py) * cos)
        for x, y in ((x0, y0), (x1, y0), (x0, y1), (x1, y1))
    ]
    xs, ys = [x for x, _ in turned], [y for _, y in turned]
    width, height = image_size
    return _RawBox(label, min(xs) / width, min(ys) / height, max(xs) / width, max(ys) / height)


def _clip(box: _RawBox, class_name: str) -> LabelledBox | None:
    x0, x1 = sorted((min(max(box.x0, 0.0), 1.0), min(max(box.x1, 0.0), 1.0)))
    y0, y1 = sorted((min(max(box.y0, 0.0), 1.0), min(max(box.y1, 0.0), 1.0)))
    if x1 - x0 < MIN_BOX_SIDE or y1 - y0 < MIN_BOX_SIDE:
        return None
    return LabelledBox(class_name, (x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0)


# --- YOLO -------------------------------------------------------------------------------------


class YoloLine(NamedTuple):
    """One line of a YOLO label file (a polygon line is reduced to its bounding box)."""

    class_id: int
    cx: float
    cy: float
    w: float
    h: float


@dataclass(frozen=True)
class YoloDataset:
    """A parsed ``data.yaml``: class names, the folder its split entries are relative to (``root``) and
    the image files of each split it lists."""

    data_yaml: Path
    names: tuple[str, ...]
    splits: dict[str, tuple[Path, ...]]
    root: Path

    def images(self, split: str) -> tuple[Path, ...]:
        """The images of ``split``, refused when there are none: a held-out set (``seragam data synth
        --realdata-split test``) has only test images, and is never trained or chosen on; an import of
        fewer sources than splits leaves some empty."""
        if not self.splits.get(split):
            raise DatasetFormatError(
                f"{self.data_yaml} has no {split!r} images (a held-out set is for evaluation only; "
                "an imported set needs at least one source a split)"
            )
        return self.splits[split]


def open_yolo_dataset(dataset_dir_or_data_yaml: Path | str) -> YoloDataset:
    """Parse a ``data.yaml`` (or the one inside a directory) the way ultralytics resolves it.

    A relative ``path`` is taken relative to the ``data.yaml``'s directory; split entries may be
    image directories, ``.txt`` lists of images, or lists of either.
    """
    given = Path(dataset_dir_or_data_yaml)
    data_yaml = given / "data.yaml" if given.is_dir() else given
    if not data_yaml.is_file():
        raise DatasetFormatError(f"{data_yaml} not found; pass a data.yaml or a directory holding one")
    raw = yaml.safe_load(data_yaml.read_text())
    if not isinstance(raw, dict) or "names" not in raw:
        raise DatasetFormatError(f"{data_yaml} is not a YOLO data.yaml: it needs 'names' and split keys")
    root = data_yaml.parent / (raw.get("path") or ".")
    splits = {s: _split_images(data_yaml, root, raw[s]) for s in YOLO_SPLITS if raw.get(s)}
    return YoloDataset(data_yaml, _yolo_names(data_yaml, raw["names"]), splits, root)


def _yolo_names(data_yaml: Path, names: object) -> tuple[str, ...]:
    if isinstance(names, list):
        return tuple(str(n) for n in names)
    if isinstance(names, dict) and sorted(names) == list(range(len(names))):
        return tuple(str(names[i]) for i in range(len(names)))
    raise DatasetFormatError(f"{data_yaml}: 'names' must be a list or a dict {{0: name, 1: name, ...}}")


def _split_images(data_yaml: Path, root: Path, entry: str | list[str]) -> tuple[Path, ...]:
    images: list[Path] = []
    for item in entry if isinstance(entry, list) else [entry]:
        path = root / item
        if path.is_dir():
            images += sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        elif path.is_file():
            lines = path.read_text().splitlines()
            images += [path.parent / line.strip() for line in lines if line.strip()]
        else:
            raise DatasetFormatError(f"{data_yaml}: split entry {item!r} ({path}) does not exist")
    return tuple(images)


def yolo_label_path(image_path: Path) -> Path:
    """The label file of an image: the last ``images`` directory becomes ``labels``, as in ultralytics."""
    head, found, tail = str(image_path).rpartition(f"{os.sep}images{os.sep}")
    return Path(f"{head}{os.sep}labels{os.sep}{tail}" if found else str(image_path)).with_suffix(".txt")


def read_yolo_labels(label_path: Path, class_count: int) -> list[YoloLine]:
    """The lines of a YOLO label file; a missing file means an image without boxes."""
    if not label_path.is_file():
        return []
    lines = []
    for number, text in enumerate(label_path.read_text().splitlines(), start=1):
        if text.strip():
            lines.append(_yolo_line(label_path, number, text, class_count))
    return lines


def _yolo_line(label_path: Path, number: int, text: str, class_count: int) -> YoloLine:
    where = f"{label_path} line {number}"
    try:
        class_id, *values = (float(v) for v in text.split())
    except ValueError as e:
        raise DatasetFormatError(f"{where}: expected numbers 'cls cx cy w h', got {text!r}") from e
    if not class_id.is_integer() or not 0 <= class_id < class_count:
        raise DatasetFormatError(f"{where}: class id {class_id:g} is not in 0..{class_count - 1}")
    if not all(math.isfinite(v) for v in values):
        raise DatasetFormatError(f"{where}: coordinates must be finite numbers, got {text!r}")
    if len(values) == 4:
        return YoloLine(int(class_id), *values)
    if len(values) >= 6 and len(values) % 2 == 0:
        xs, ys = values[0::2], values[1::2]
        x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
        return YoloLine(int(class_id), (x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0)
    raise DatasetFormatError(f"{where}: expected 'cls cx cy w h' or a polygon 'cls x y x y x y ...'")


def read_yolo(
    dataset_dir_or_data_yaml: Path | str,
    *,
    class_map: ClassMap | None = None,
    source_of: SourceOf = source_from_stem,
) -> list[LabelledImage]:
    """All images of all splits of a YOLO dataset; ``class_map`` keys are the dataset's own names."""
    dataset = open_yolo_dataset(dataset_dir_or_data_yaml)
    raw_images = []
    for images in dataset.splits.values():
        for image in images:
            lines = read_yolo_labels(yolo_label_path(image), len(dataset.names))
            raw_images.append(_RawImage(image, tuple(_yolo_box(ln, dataset.names) for ln in lines)))
    return _finish(raw_images, dataset.data_yaml, class_map, source_of)


def _yolo_box(line: YoloLine, names: Sequence[str]) -> _RawBox:
    half_w, half_h = line.w / 2, line.h / 2
    return _RawBox(
        names[line.class_id], line.cx - half_w, line.cy - half_h, line.cx + half_w, line.cy + half_h
    )


# --- COCO -------------------------------------------------------------------------------------


def read_coco(
    json_path: Path | str,
    images_dir: Path | str,
    *,
    class_map: ClassMap | None = None,
    source_of: SourceOf = source_from_stem,
) -> list[LabelledImage]:
    """A COCO detection file; ``file_name`` is taken relative to ``images_dir``. Crowd boxes are skipped."""
    json_path, images_dir = Path(json_path), Path(images_dir)
    data = _load_json(json_path)
    with _malformed(json_path, "COCO detection file"):
        categories = {c["id"]: c["name"] for c in data["categories"]}
        images = {im["id"]: im for im in data["images"]}
        boxes: dict[object, list[_RawBox]] = defaultdict(list)
        for ann in data.get("annotations", []):
            if not ann.get("iscrowd"):
                image = images[ann["image_id"]]
                boxes[ann["image_id"]].append(_coco_box(ann, categories[ann["category_id"]], image))
        raw_images = [
            _RawImage(images_dir / im["file_name"], tuple(boxes[im_id])) for im_id, im in images.items()
        ]
    return _finish(raw_images, json_path, class_map, source_of)


def _coco_box(ann: dict[str, Any], label: str, image: dict[str, Any]) -> _RawBox:
    """``bbox`` is ``[x, y, w, h]`` in pixels; CVAT's COCO export keeps a rotated box upright there with
    its turn about the centre in ``attributes.rotation`` (degrees)."""
    x, y, w, h = (float(v) for v in ann["bbox"])
    rotation = float((ann.get("attributes") or {}).get("rotation", 0))
    return _upright_box(
        label, (x, y, x + w, y + h), rotation, (float(image["width"]), float(image["height"]))
    )


# --- Label Studio -----------------------------------------------------------------------------


def read_label_studio(
    json_path: Path | str,
    images_dir: Path | str,
    *,
    class_map: ClassMap | None = None,
    source_of: SourceOf = source_from_stem,
) -> list[LabelledImage]:
    """A Label Studio JSON export (a list of tasks); only ``rectanglelabels`` results are read, a rotated
    rectangle as the upright box around it.

    Images are matched by file name in ``images_dir``, with or without Label Studio's
    ``<hash>-`` upload prefix; ``source_of`` sees the name without that prefix. Of a task's annotations
    the one marked ground truth is read, else the first; annotations an annotator skipped
    (``was_cancelled``) are not negatives and are passed over. Tasks with no other annotation are
    skipped (an annotated task with no boxes is a negative image).
    """
    json_path, images_dir = Path(json_path), Path(images_dir)
    tasks = _load_json(json_path)
    if not isinstance(tasks, list):
        raise DatasetFormatError(f"{json_path}: expected a list of tasks (Label Studio 'JSON' export)")
    raw_images = []
    with _malformed(json_path, "Label Studio JSON export"):
        for task in tasks:
            annotation = _finished_annotation(task.get("annotations") or [])
            if annotation is None:
                continue
            path, source_path = _find_upload(images_dir, task["data"]["image"])
            results = annotation["result"]
            boxes = tuple(_label_studio_box(r) for r in results if r.get("type") == "rectanglelabels")
            raw_images.append(_RawImage(path, boxes, source_path))
    unannotated = len(tasks) - len(raw_images)
    if unannotated:
        log.warning(
            "%s: skipped %d tasks without annotations (none, or only skipped ones)", json_path, unannotated
        )
    return _finish(raw_images, json_path, class_map, source_of)


def _finished_annotation(annotations: list[dict[str, Any]]) -> dict[str, Any] | None:
    finished = [a for a in annotations if not a.get("was_cancelled")]
    return next((a for a in finished if a.get("ground_truth")), finished[0] if finished else None)


def _find_upload(images_dir: Path, reference: str) -> tuple[Path, Path]:
    """The image file a task refers to, and the path the task names it by, without the upload prefix
    (for the source)."""
    url = urlparse(reference)
    # Local-storage references look like /data/local-files/?d=dir/frame.jpg.
    named = PurePosixPath(unquote(parse_qs(url.query).get("d", [url.path])[0]))
    upload = LABEL_STUDIO_UPLOAD.fullmatch(named.name)
    original = upload["name"] if upload else named.name
    path = images_dir / named.name
    if not path.is_file() and (images_dir / original).is_file():
        path = images_dir / original
    return path, Path(named.parent, original)


def _label_studio_box(result: dict[str, Any]) -> _RawBox:
    """``x``, ``y`` (the top-left corner, which a rotation turns about), ``width`` and ``height`` are
    percentages of the image's width and height; ``rotation`` is in degrees, clockwise."""
    value = result["value"]
    x0, y0 = float(value["x"]) / 100, float(value["y"]) / 100
    x1, y1 = x0 + float(value["width"]) / 100, y0 + float(value["height"]) / 100
    label = value["rectanglelabels"][0]
    rotation = float(value.get("rotation") or 0)
    if rotation % 360 == 0:  # the image size is then not needed
        return _RawBox(label, x0, y0, x1, y1)
    width, height = float(result["original_width"]), float(result["original_height"])
    corners = (x0 * width, y0 * height, x1 * width, y1 * height)
    return _upright_box(label, corners, rotation, (width, height), pivot=corners[:2])


# --- CVAT -------------------------------------------------------------------------------------


def read_cvat(
    xml_path: Path | str,
    images_dir: Path | str,
    *,
    class_map: ClassMap | None = None,
    source_of: SourceOf = source_from_stem,
) -> list[LabelledImage]:
    """A "CVAT for images 1.1" XML export; only ``<box>`` shapes are read (the others are counted in a
    warning), a rotated box as the upright box around it."""
    xml_path, images_dir = Path(xml_path), Path(images_dir)
    try:
        root = ET.parse(xml_path).getroot()
    except ET.ParseError as e:
        raise DatasetFormatError(f"{xml_path} is not valid XML: {e}") from e
    if root.find("track") is not None:
        raise DatasetFormatError(
            f"{xml_path} is a 'CVAT for video' export (tracks, not images); "
            "export the task as 'CVAT for images 1.1' instead"
        )
    raw_images = []
    other_shapes: dict[str, int] = defaultdict(int)
    with _malformed(xml_path, "CVAT for images XML export"):
        for image in root.iter("image"):
            image_size = float(image.attrib["width"]), float(image.attrib["height"])
            boxes = []
            for shape in image:
                if shape.tag == "box":
                    boxes.append(_cvat_box(shape.attrib, image_size))
                elif shape.tag != "tag":  # a tag labels the whole image, not a region
                    other_shapes[shape.tag] += 1
            raw_images.append(_RawImage(images_dir / image.attrib["name"], tuple(boxes)))
    if other_shapes:
        counts = ", ".join(f"{n} {tag}" for tag, n in sorted(other_shapes.items()))
        log.warning(
            "%s: ignored shapes that are not boxes (%s); draw them as boxes to use them", xml_path, counts
        )
    return _finish(raw_images, xml_path, class_map, source_of)


def _cvat_box(attrib: dict[str, str], image_size: tuple[float, float]) -> _RawBox:
    """Corners in pixels; ``rotation`` (degrees) turns the box about its centre."""
    corners = float(attrib["xtl"]), float(attrib["ytl"]), float(attrib["xbr"]), float(attrib["ybr"])
    return _upright_box(attrib["label"], corners, float(attrib.get("rotation", 0)), image_size)


# --- writing and merging ----------------------------------------------------------------------


def write_yolo_dataset(
    items_by_split: Mapping[str, Sequence[LabelledImage]],
    out_dir: Path | str,
    names: Sequence[str],
) -> Path:
    """Write images (hardlinked, or copied across file systems), labels and ``data.yaml``.

    ``out_dir`` must be new or empty. Files are named ``<hash of the image's content>_<stem>``, so that
    same-named images from different sources do not collide, and a dataset written anywhere lists its
    files in the same order (ultralytics reads them in name order and batches its validation by it, so
    a name that depended on where the dataset is written would move its metrics). Returns the
    ``data.yaml`` path.
    """
    out_dir = Path(out_dir).resolve()
    if out_dir.exists() and any(out_dir.iterdir()):
        raise FileExistsError(f"{out_dir} is not empty; write the dataset to a new directory")
    unknown = {b.class_name for items in items_by_split.values() for it in items for b in it.boxes}
    if unknown - set(names):
        raise UnknownClassError(out_dir, sorted(unknown - set(names)), names)
    for split, items in items_by_split.items():
        (out_dir / "images" / split).mkdir(parents=True)
        (out_dir / "labels" / split).mkdir(parents=True)
        for item in items:
            _write_item(item, out_dir, split, names)
    data = {
        "path": str(out_dir),
        **{s: f"images/{s}" for s in items_by_split},
        "names": dict(enumerate(names)),
    }
    data_yaml = out_dir / "data.yaml"
    data_yaml.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    return data_yaml


def _write_item(item: LabelledImage, out_dir: Path, split: str, names: Sequence[str]) -> None:
    stem = f"{file_sha256(item.image_path)[:8]}_{item.image_path.stem}"
    label = out_dir / "labels" / split / f"{stem}.txt"
    if label.exists():
        raise ValueError(f"{item.image_path} is listed twice in split {split!r}; merge() the lists first")
    image = out_dir / "images" / split / f"{stem}{item.image_path.suffix.lower()}"
    try:
        os.link(item.image_path, image)
    except OSError:
        shutil.copy2(item.image_path, image)
    lines = [f"{names.index(b.class_name)} {b.cx:.6f} {b.cy:.6f} {b.w:.6f} {b.h:.6f}\n" for b in item.boxes]
    label.write_text("".join(lines))


def merge(*lists: Sequence[LabelledImage]) -> list[LabelledImage]:
    """Concatenate image lists, keeping only the first of images whose files have identical content."""
    seen: set[str] = set()
    merged = []
    for item in (it for items in lists for it in items):
        digest = file_sha256(item.image_path)
        if digest not in seen:
            seen.add(digest)
            merged.append(item)
    return merged
