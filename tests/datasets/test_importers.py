"""The importers read the same annotations identically from YOLO, COCO, Label Studio and CVAT files."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from functools import partial
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from datasets.importers import (
    DatasetFormatError,
    LabelledBox,
    LabelledImage,
    UnknownClassError,
    merge,
    read_coco,
    read_cvat,
    read_label_studio,
    read_yolo,
    source_from_folder,
    source_from_stem,
    write_yolo_dataset,
)
from detector.taxonomy import load_taxonomy

WIDTH, HEIGHT = 40, 20  # not square, so that a swapped width and height shows
# image file name -> boxes as (class name, x0, y0, x1, y1) in pixels
Spec = dict[str, list[tuple[str, float, float, float, float]]]
Reader = Callable[..., list[LabelledImage]]

KHAKI_AND_NEGATIVE: Spec = {
    "cam1__f001.jpg": [("pdh_khaki", 4, 2, 20, 12), ("name_plate", 30, 10, 34, 14)],
    "cam2__f002.jpg": [],
}


def make_image(path: Path, value: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.full((HEIGHT, WIDTH, 3), value, np.uint8))
    return path


def make_images(images_dir: Path, spec: Spec) -> None:
    for i, name in enumerate(spec):
        make_image(images_dir / name, value=10 * i)


def write_yolo(tmp_path: Path, spec: Spec) -> Reader:
    names = sorted({box[0] for boxes in spec.values() for box in boxes})
    root = tmp_path / "yolo"
    make_images(root / "images" / "train", spec)
    (root / "labels" / "train").mkdir(parents=True)
    for name, boxes in spec.items():
        lines = [
            f"{names.index(c)} {(x0 + x1) / 2 / WIDTH} {(y0 + y1) / 2 / HEIGHT} "
            f"{(x1 - x0) / WIDTH} {(y1 - y0) / HEIGHT}\n"
            for c, x0, y0, x1, y1 in boxes
        ]
        (root / "labels" / "train" / name).with_suffix(".txt").write_text("".join(lines))
    (root / "images" / "val").mkdir()
    (root / "data.yaml").write_text(
        yaml.safe_dump({"train": "images/train", "val": "images/val", "names": names})
    )
    return partial(read_yolo, root)


def write_coco(tmp_path: Path, spec: Spec) -> Reader:
    names = sorted({box[0] for boxes in spec.values() for box in boxes})
    make_images(tmp_path / "images", spec)
    coco = {
        "images": [
            {"id": i, "file_name": name, "width": WIDTH, "height": HEIGHT} for i, name in enumerate(spec)
        ],
        "annotations": [
            {
                "id": 100 * i + j,
                "image_id": i,
                "category_id": names.index(c) + 1,
                "bbox": [x0, y0, x1 - x0, y1 - y0],
                "iscrowd": 0,
            }
            for i, boxes in enumerate(spec.values())
            for j, (c, x0, y0, x1, y1) in enumerate(boxes)
        ],
        "categories": [{"id": i + 1, "name": n} for i, n in enumerate(names)],
    }
    (tmp_path / "coco.json").write_text(json.dumps(coco))
    return partial(read_coco, tmp_path / "coco.json", tmp_path / "images")


def label_studio_rectangle(
    class_name: str, x: float, y: float, width: float, height: float, rotation: float = 0
) -> dict:
    """A rectangle on a WIDTH x HEIGHT image, given in pixels as Label Studio's editor draws it:
    top-left corner, size, then turned clockwise about that corner."""
    return {
        "type": "rectanglelabels",
        "original_width": WIDTH,
        "original_height": HEIGHT,
        "value": {
            "x": 100 * x / WIDTH,
            "y": 100 * y / HEIGHT,
            "width": 100 * width / WIDTH,
            "height": 100 * height / HEIGHT,
            "rotation": rotation,
            "rectanglelabels": [class_name],
        },
    }


def write_label_studio(tmp_path: Path, spec: Spec) -> Reader:
    make_images(tmp_path / "images", spec)
    tasks = [
        {
            "id": i,
            # Label Studio prefixes uploads with a hash; the files on disk here have plain names.
            "data": {"image": f"/data/upload/1/{i:08x}-{name}"},
            "annotations": [
                {
                    "result": [
                        label_studio_rectangle(c, x0, y0, x1 - x0, y1 - y0) for c, x0, y0, x1, y1 in boxes
                    ]
                }
            ],
        }
        for i, (name, boxes) in enumerate(spec.items())
    ]
    (tmp_path / "ls.json").write_text(json.dumps(tasks))
    return partial(read_label_studio, tmp_path / "ls.json", tmp_path / "images")


def write_cvat(tmp_path: Path, spec: Spec) -> Reader:
    make_images(tmp_path / "images", spec)
    images = "".join(
        f'<image id="{i}" name="{name}" width="{WIDTH}" height="{HEIGHT}">'
        + "".join(
            f'<box label="{c}" occluded="0" xtl="{x0}" ytl="{y0}" xbr="{x1}" ybr="{y1}" z_order="0"/>'
            for c, x0, y0, x1, y1 in boxes
        )
        + "</image>"
        for i, (name, boxes) in enumerate(spec.items())
    )
    xml = f'<?xml version="1.0" encoding="utf-8"?><annotations><version>1.1</version>{images}</annotations>'
    (tmp_path / "cvat.xml").write_text(xml)
    return partial(read_cvat, tmp_path / "cvat.xml", tmp_path / "images")


WRITERS = pytest.mark.parametrize("write", [write_yolo, write_coco, write_label_studio, write_cvat])


def by_name(images: list[LabelledImage]) -> dict[str, LabelledImage]:
    return {im.image_path.name: im for im in images}


def rounded(
    boxes: tuple[LabelledBox, ...] | list[LabelledBox],
) -> list[tuple[str, float, float, float, float]]:
    """Boxes as comparable tuples, rounded to undo float noise (and the 6 digits of a label file)."""
    return [(b.class_name, *(round(v, 6) for v in (b.cx, b.cy, b.w, b.h))) for b in boxes]


@WRITERS
def test_reads_boxes_negatives_and_sources(tmp_path: Path, write: Callable[[Path, Spec], Reader]) -> None:
    images = by_name(write(tmp_path, KHAKI_AND_NEGATIVE)())

    assert set(images) == set(KHAKI_AND_NEGATIVE)
    assert rounded(images["cam1__f001.jpg"].boxes) == [
        ("pdh_khaki", 0.3, 0.35, 0.4, 0.5),
        ("name_plate", 0.8, 0.6, 0.1, 0.2),
    ]
    assert images["cam2__f002.jpg"].boxes == ()
    assert images["cam1__f001.jpg"].source == "cam1"
    assert images["cam2__f002.jpg"].image_path.is_file()


@WRITERS
def test_class_map_renames_and_drops(tmp_path: Path, write: Callable[[Path, Spec], Reader]) -> None:
    spec: Spec = {"a.jpg": [("khaki shirt", 4, 2, 20, 12), ("person", 0, 0, 40, 20)]}

    (image,) = write(tmp_path, spec)(class_map={"khaki shirt": "pdh_khaki", "person": None})

    assert [b.class_name for b in image.boxes] == ["pdh_khaki"]


@pytest.mark.parametrize(
    ("class_map", "reported"),
    [
        (None, "khaki shirt, person"),
        ({"person": None}, "khaki shirt"),
        ({"person": None, "khaki shirt": "khaki"}, "khaki shirt->khaki"),
    ],
)
@WRITERS
def test_unknown_classes_are_listed(
    tmp_path: Path, write: Callable[[Path, Spec], Reader], class_map: dict | None, reported: str
) -> None:
    spec: Spec = {"a.jpg": [("khaki shirt", 4, 2, 20, 12), ("person", 0, 0, 40, 20)]}

    with pytest.raises(UnknownClassError, match=f"classes not in the taxonomy: {reported}\\. Map each"):
        write(tmp_path, spec)(class_map=class_map)


@WRITERS
def test_clips_boxes_and_drops_degenerate_ones_with_a_warning(
    tmp_path: Path, write: Callable[[Path, Spec], Reader], caplog: pytest.LogCaptureFixture
) -> None:
    spec: Spec = {
        "a.jpg": [
            ("pdh_khaki", -10, -5, 20, 10),  # sticks out top-left
            ("id_card", 30, 10, 60, 30),  # sticks out bottom-right
            ("korpri_badge", 50, 5, 60, 10),  # wholly outside
            ("name_plate", 10, 5, 10, 10),  # zero width
        ]
    }

    with caplog.at_level(logging.WARNING, logger="datasets.importers"):
        (image,) = write(tmp_path, spec)()

    assert rounded(image.boxes) == [("pdh_khaki", 0.25, 0.25, 0.5, 0.5), ("id_card", 0.875, 0.75, 0.25, 0.5)]
    assert "dropped 2 degenerate boxes" in caplog.text


def test_label_studio_matches_hash_prefixed_files_and_local_file_urls(tmp_path: Path) -> None:
    make_image(tmp_path / "images" / "8f3a2b1c-cam7__f010.jpg")
    make_image(tmp_path / "images" / "cam8__f011.jpg")
    tasks = [
        {"data": {"image": "/data/upload/3/8f3a2b1c-cam7__f010.jpg"}, "annotations": [{"result": []}]},
        {"data": {"image": "/data/local-files/?d=frames%2Fcam8__f011.jpg"}, "annotations": [{"result": []}]},
        {"data": {"image": "/data/upload/3/0000aaaa-not-annotated.jpg"}, "annotations": []},
    ]
    (tmp_path / "ls.json").write_text(json.dumps(tasks))

    images = read_label_studio(tmp_path / "ls.json", tmp_path / "images")

    assert [(im.image_path.name, im.source) for im in images] == [
        ("8f3a2b1c-cam7__f010.jpg", "cam7"),
        ("cam8__f011.jpg", "cam8"),
    ]


def test_label_studio_sources_by_folder_are_the_folders_tasks_name(tmp_path: Path) -> None:
    for name in ("8f3a2b1c-f001.jpg", "f002.jpg", "f003.jpg"):
        make_image(tmp_path / "images" / name)
    tasks = [
        {"data": {"image": "/data/upload/3/8f3a2b1c-f001.jpg"}, "annotations": [{"result": []}]},
        {"data": {"image": "/data/local-files/?d=live%2Fcam8%2Ff002.jpg"}, "annotations": [{"result": []}]},
        {"data": {"image": "/data/local-files/?d=live%2Fcam9%2Ff003.jpg"}, "annotations": [{"result": []}]},
    ]
    (tmp_path / "ls.json").write_text(json.dumps(tasks))

    images = read_label_studio(tmp_path / "ls.json", tmp_path / "images", source_of=source_from_folder)

    assert [im.source for im in images] == ["/data/upload/3", "live/cam8", "live/cam9"]


# An 8x4 pixel rectangle at (10, 2) on the 40x20 image, turned; expected: the upright box around it,
# (cx, cy, w, h) normalised, worked out by hand.
@pytest.mark.parametrize(
    ("rotation", "expected"),
    [
        (0, (14 / 40, 4 / 20, 8 / 40, 4 / 20)),
        (360, (14 / 40, 4 / 20, 8 / 40, 4 / 20)),
        # a quarter turn clockwise: the top edge now points down, the left edge left: x 6..10, y 2..10
        (90, (8 / 40, 6 / 20, 4 / 40, 8 / 20)),
        # the same turn counted the other way round
        (-270, (8 / 40, 6 / 20, 4 / 40, 8 / 20)),
        # a quarter turn anticlockwise: x 10..14, y -6..2, clipped to y 0..2
        (270, (12 / 40, 1 / 20, 4 / 40, 2 / 20)),
        # 30 degrees: corners (10, 2), (16.928, 6), (8, 5.464), (14.928, 9.464)
        (30, (12.464 / 40, 5.732 / 20, 8.928 / 40, 7.464 / 20)),
    ],
)
def test_label_studio_rotated_rectangles_become_the_upright_box_around_them(
    tmp_path: Path, rotation: float, expected: tuple[float, float, float, float]
) -> None:
    make_image(tmp_path / "images" / "cam1__f001.jpg")
    result = label_studio_rectangle("name_plate", 10, 2, 8, 4, rotation)
    tasks = [{"data": {"image": "/data/upload/1/cam1__f001.jpg"}, "annotations": [{"result": [result]}]}]
    (tmp_path / "ls.json").write_text(json.dumps(tasks))

    (image,) = read_label_studio(tmp_path / "ls.json", tmp_path / "images")

    (box,) = image.boxes
    assert (box.cx, box.cy, box.w, box.h) == pytest.approx(expected, abs=1e-4)


def test_label_studio_reads_the_ground_truth_annotation_and_never_a_skipped_one(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Skipping a task saves a cancelled annotation with no boxes: it says nothing about the image, and
    reading it as a negative would teach the model that the attire in it is not there."""
    for name in ("cam1__f001.jpg", "cam2__f002.jpg", "cam3__f003.jpg"):
        make_image(tmp_path / "images" / name)
    plate = label_studio_rectangle("name_plate", 10, 2, 8, 4)
    skipped = {"was_cancelled": True, "result": []}
    tasks = [
        {"data": {"image": "/data/upload/1/cam1__f001.jpg"}, "annotations": [skipped, {"result": [plate]}]},
        {"data": {"image": "/data/upload/1/cam2__f002.jpg"}, "annotations": [skipped]},
        {
            "data": {"image": "/data/upload/1/cam3__f003.jpg"},
            "annotations": [{"result": []}, {"ground_truth": True, "result": [plate]}],
        },
    ]
    (tmp_path / "ls.json").write_text(json.dumps(tasks))

    with caplog.at_level(logging.WARNING):
        images = read_label_studio(tmp_path / "ls.json", tmp_path / "images")

    assert [(im.image_path.name, len(im.boxes)) for im in images] == [
        ("cam1__f001.jpg", 1),
        ("cam3__f003.jpg", 1),
    ]
    assert "skipped 1 tasks without annotations" in caplog.text


def write_cvat_rotated(tmp_path: Path, rotation: float) -> Reader:
    xml = (
        f'<annotations><image id="0" name="cam1__f001.jpg" width="{WIDTH}" height="{HEIGHT}">'
        f'<box label="name_plate" xtl="10" ytl="2" xbr="18" ybr="6" rotation="{rotation:.2f}"/>'
        "</image></annotations>"
    )
    (tmp_path / "cvat.xml").write_text(xml)
    return partial(read_cvat, tmp_path / "cvat.xml", tmp_path / "images")


def write_coco_rotated(tmp_path: Path, rotation: float) -> Reader:
    """As CVAT's COCO export writes a rotated box: upright in ``bbox``, its turn in ``attributes``."""
    coco = {
        "images": [{"id": 1, "file_name": "cam1__f001.jpg", "width": WIDTH, "height": HEIGHT}],
        "annotations": [
            {
                "id": 1,
                "image_id": 1,
                "category_id": 1,
                "bbox": [10, 2, 8, 4],
                "iscrowd": 0,
                "attributes": {"occluded": False, "rotation": rotation},
            }
        ],
        "categories": [{"id": 1, "name": "name_plate"}],
    }
    (tmp_path / "coco.json").write_text(json.dumps(coco))
    return partial(read_coco, tmp_path / "coco.json", tmp_path / "images")


# The same 8x4 box at (10, 2)-(18, 6), turned about its centre (14, 4).
@pytest.mark.parametrize("write", [write_cvat_rotated, write_coco_rotated])
@pytest.mark.parametrize(
    ("rotation", "expected"),
    [
        (0, (14 / 40, 4 / 20, 8 / 40, 4 / 20)),
        (90, (14 / 40, 4 / 20, 4 / 40, 8 / 20)),
        (180, (14 / 40, 4 / 20, 8 / 40, 4 / 20)),
        # half sides 4 cos 30 + 2 sin 30 = 4.464 and 4 sin 30 + 2 cos 30 = 3.732
        (30, (14 / 40, 4 / 20, 8.928 / 40, 7.464 / 20)),
        (330, (14 / 40, 4 / 20, 8.928 / 40, 7.464 / 20)),
    ],
)
def test_cvat_rotated_boxes_become_the_upright_box_around_them(
    tmp_path: Path,
    write: Callable[[Path, float], Reader],
    rotation: float,
    expected: tuple[float, float, float, float],
) -> None:
    make_image(tmp_path / "images" / "cam1__f001.jpg")

    (image,) = write(tmp_path, rotation)()

    (box,) = image.boxes
    assert (box.cx, box.cy, box.w, box.h) == pytest.approx(expected, abs=1e-4)


def test_cvat_counts_the_shapes_it_cannot_read(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    make_image(tmp_path / "images" / "cam1__f001.jpg")
    xml = (
        f'<annotations><image id="0" name="cam1__f001.jpg" width="{WIDTH}" height="{HEIGHT}">'
        '<box label="name_plate" xtl="10" ytl="2" xbr="18" ybr="6"/>'
        '<polygon label="pdh_khaki" points="1,1;9,1;9,9"/><polygon label="pdh_khaki" points="2,2;8,2;8,8"/>'
        '<points label="korpri_badge" points="3,3"/><tag label="pdh_khaki"/>'
        "</image></annotations>"
    )
    (tmp_path / "cvat.xml").write_text(xml)

    with caplog.at_level(logging.WARNING):
        (image,) = read_cvat(tmp_path / "cvat.xml", tmp_path / "images")

    assert [b.class_name for b in image.boxes] == ["name_plate"]
    assert "ignored shapes that are not boxes (1 points, 2 polygon)" in caplog.text


@pytest.mark.parametrize(
    ("file_name", "separator", "source"),
    [
        ("cam1__f0001.jpg", "__", "cam1"),
        ("photo.jpg", "__", "photo"),
        ("live-42-f9.png", "-", "live"),
    ],
)
def test_source_from_stem(file_name: str, separator: str, source: str) -> None:
    assert source_from_stem(Path("x") / file_name, separator) == source


@WRITERS
def test_source_of_overrides_the_default(tmp_path: Path, write: Callable[[Path, Spec], Reader]) -> None:
    images = write(tmp_path, KHAKI_AND_NEGATIVE)(source_of=lambda path: "all-one-stream")

    assert {im.source for im in images} == {"all-one-stream"}


def write_file(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def read_yolo_label(
    tmp_path: Path, label: str, data_yaml: str = "train: images\nnames: [pdh_khaki]\n"
) -> list[LabelledImage]:
    make_image(tmp_path / "images" / "a.jpg")
    write_file(tmp_path, "labels/a.txt", label)
    return read_yolo(write_file(tmp_path, "data.yaml", data_yaml))


@pytest.mark.parametrize(
    ("data_yaml", "label", "message"),
    [
        ("train: images\n", "", "needs 'names'"),
        ("train: nowhere\nnames: [a]\n", "", r"split entry 'nowhere' .* does not exist"),
        ("train: images\nnames: {0: a, 2: b}\n", "", "'names' must be a list or a dict"),
        ("train: images\nnames: [a]\n", "0 0.5 0.5\n", "line 1: expected 'cls cx cy w h'"),
        (
            "train: images\nnames: [a]\n",
            "0 0.5 0.5 0.1 0.1\n3 0.5 0.5 0.1 0.1\n",
            r"line 2: class id 3 .* 0\.\.0",
        ),
        ("train: images\nnames: [a]\n", "khaki 0.5 0.5 0.1 0.1\n", "expected numbers"),
        ("train: images\nnames: [a]\n", "0 0.5 0.5 nan 0.2\n", "line 1: coordinates must be finite"),
        ("train: images\nnames: [a]\n", "0 0.5 inf 0.1 0.2\n", "coordinates must be finite"),
    ],
)
def test_malformed_yolo_datasets_raise_dataset_format_error(
    tmp_path: Path, data_yaml: str, label: str, message: str
) -> None:
    with pytest.raises(DatasetFormatError, match=message):
        read_yolo_label(tmp_path, label, data_yaml)


def test_read_yolo_needs_a_data_yaml(tmp_path: Path) -> None:
    with pytest.raises(DatasetFormatError, match=r"data\.yaml not found; pass a data\.yaml or a directory"):
        read_yolo(tmp_path)


COCO_IMAGE_WITHOUT_SIZE = {
    "images": [{"id": 1, "file_name": "a.jpg"}],
    "categories": [{"id": 1, "name": "pdh_khaki"}],
    "annotations": [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1]}],
}
CVAT_VIDEO_EXPORT = (
    '<annotations><version>1.1</version><track id="0" label="pdh_khaki">'
    '<box frame="0" outside="0" xtl="1" ytl="1" xbr="9" ybr="9"/></track></annotations>'
)
LABEL_STUDIO_MISSING_IMAGE = [{"data": {"image": "/data/upload/1/gone.jpg"}, "annotations": [{"result": []}]}]


@pytest.mark.parametrize(
    ("read", "content", "message"),
    [
        (read_coco, "{", "not valid JSON"),
        (read_coco, '{"images": []}', "not a valid COCO detection file: missing field 'categories'"),
        (read_coco, json.dumps(COCO_IMAGE_WITHOUT_SIZE), "missing field 'width'"),
        (read_label_studio, '{"id": 1}', "expected a list of tasks"),
        (read_label_studio, '[{"annotations": [{"result": []}]}]', "missing field 'data'"),
        (read_label_studio, json.dumps(LABEL_STUDIO_MISSING_IMAGE), "gone.jpg not found; check images_dir"),
        (read_cvat, "<annotations><image", "not valid XML"),
        (read_cvat, '<annotations><image name="a.jpg" width="4"/></annotations>', "missing field 'height'"),
        (read_cvat, '<annotations><image name="a" width="4" height="x"/></annotations>', "ValueError"),
        (read_cvat, CVAT_VIDEO_EXPORT, "'CVAT for video' export .* export the task as 'CVAT for images 1.1'"),
    ],
)
def test_malformed_annotation_files_raise_dataset_format_error(
    tmp_path: Path, read: Reader, content: str, message: str
) -> None:
    annotations = write_file(tmp_path, "annotations", content)

    with pytest.raises(DatasetFormatError, match=f"annotations.*{message}"):
        read(annotations, tmp_path)


def test_yolo_polygon_lines_become_their_bounding_box(tmp_path: Path) -> None:
    (image,) = read_yolo_label(tmp_path, "0 0.1 0.2 0.5 0.2 0.3 0.6\n")

    assert rounded(image.boxes) == [("pdh_khaki", 0.3, 0.4, 0.4, 0.4)]


def test_written_dataset_reads_back_the_same(tmp_path: Path) -> None:
    items = write_coco(tmp_path, KHAKI_AND_NEGATIVE)()

    data_yaml = write_yolo_dataset(
        {"train": items[:1], "val": items[1:]}, tmp_path / "out", load_taxonomy().names
    )

    data = yaml.safe_load(data_yaml.read_text())
    assert data["path"] == str((tmp_path / "out").resolve())
    assert (data["train"], data["val"]) == ("images/train", "images/val")
    assert data["names"] == dict(enumerate(load_taxonomy().names))
    again = read_yolo(data_yaml, source_of=lambda path: "x")
    assert sorted(rounded([b for im in again for b in im.boxes])) == sorted(
        rounded([b for im in items for b in im.boxes])
    )
    assert sorted(len(im.boxes) for im in again) == [0, 2]


def test_written_file_names_are_unique_for_equal_stems(tmp_path: Path) -> None:
    items = [
        LabelledImage(make_image(tmp_path / stream / "frame.jpg", value), (), stream)
        for stream, value in [("cam1", 0), ("cam2", 99)]
    ]

    data_yaml = write_yolo_dataset({"train": items}, tmp_path / "out", ["pdh_khaki"])

    written = sorted(p.name for p in (data_yaml.parent / "images" / "train").iterdir())
    assert len(written) == 2
    assert all(name.endswith("_frame.jpg") for name in written)


@pytest.mark.parametrize(
    ("boxes", "copies", "error", "message"),
    [
        ((LabelledBox("hat", 0.5, 0.5, 0.1, 0.1),), 1, UnknownClassError, "classes not in the taxonomy: hat"),
        ((), 2, ValueError, "listed twice in split 'train'"),
    ],
)
def test_write_yolo_dataset_rejects_bad_items(
    tmp_path: Path, boxes: tuple[LabelledBox, ...], copies: int, error: type[Exception], message: str
) -> None:
    item = LabelledImage(make_image(tmp_path / "a.jpg"), boxes, "a")

    with pytest.raises(error, match=message):
        write_yolo_dataset({"train": [item] * copies}, tmp_path / "out", ["pdh_khaki"])


def test_write_yolo_dataset_refuses_a_non_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "old.txt").write_text("from an earlier run")

    with pytest.raises(FileExistsError, match="not empty"):
        write_yolo_dataset({"train": []}, tmp_path, ["pdh_khaki"])


def test_merge_drops_images_with_identical_content(tmp_path: Path) -> None:
    first = LabelledImage(make_image(tmp_path / "a.jpg", 0), (), "a")
    copy = LabelledImage(make_image(tmp_path / "copy_of_a.jpg", 0), (), "b")
    other = LabelledImage(make_image(tmp_path / "c.jpg", 200), (), "c")

    assert merge([first, other], [copy]) == [first, other]
