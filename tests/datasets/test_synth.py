from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from datasets.crops import frame_source
from datasets.garments import OUTFITS, dress, pseudo_garment_box, torso_geometry
from datasets.importers import open_yolo_dataset, read_yolo
from datasets.people import L_HIP, L_SHOULDER, R_HIP, R_SHOULDER, Person, PhotoPeople
from datasets.synth import SynthConfig, _scene, generate, render_frame
from detector.taxonomy import load_taxonomy


def _photo_with_person(people: list[PhotoPeople]) -> tuple[PhotoPeople, int]:
    for photo in people:
        for i, person in enumerate(photo.people):
            if torso_geometry(person) is not None:
                return photo, i
    raise AssertionError("bundled photos should show people with shoulders")


def test_rendering_is_deterministic_by_seed(bundled_people: list[PhotoPeople]) -> None:
    config = SynthConfig()
    a = render_frame(bundled_people[0], np.random.default_rng([1, 2]), config)
    b = render_frame(bundled_people[0], np.random.default_rng([1, 2]), config)
    c = render_frame(bundled_people[0], np.random.default_rng([1, 3]), config)
    assert np.array_equal(a[0], b[0]) and a[1] == b[1]
    assert not (a[0].shape == c[0].shape and np.array_equal(a[0], c[0]))


def test_frames_have_the_asked_size_with_boxes_inside(frames: list) -> None:
    for image, labels in frames:
        assert image.shape == (640, 360, 3)
        for b in labels:
            assert b.cx - b.w / 2 + 1e-6 >= 0 and b.cx + b.w / 2 <= 1 + 1e-6
            assert b.cy - b.h / 2 + 1e-6 >= 0 and b.cy + b.h / 2 <= 1 + 1e-6


@pytest.mark.parametrize("outfit", sorted(OUTFITS))
def test_each_outfit_labels_only_what_it_is(outfit: str, bundled_people: list[PhotoPeople]) -> None:
    """Look-alikes (civilian khaki, batik, scout, school) carry no official label; uniforms carry theirs."""
    photo, i = _photo_with_person(bundled_people)
    image = cv2.imread(photo.path)
    before = image.copy()
    boxes = dress(image, photo.people[i], OUTFITS[outfit], np.random.default_rng(0))
    names = {name for name, _ in boxes}
    spec = OUTFITS[outfit]
    official = load_taxonomy().official_names
    if spec.garment_class:
        assert spec.garment_class in names
    elif not spec.attributes:
        assert not names & official, f"{outfit} is a hard negative but was labelled {names}"
    if spec.pattern != "keep":
        assert not np.array_equal(image, before), "the garment should have been painted"
    h, w = image.shape[:2]
    for _, (x1, y1, x2, y2) in boxes:
        assert x1 < x2 and y1 < y2 and x2 > 0 and y2 > 0 and x1 < w and y1 < h


def test_attributes_sit_on_the_torso(bundled_people: list[PhotoPeople]) -> None:
    """Name plate on the person's right chest, KORPRI pin on the left, both below the shoulders."""
    photo, i = _photo_with_person(bundled_people)
    g = torso_geometry(photo.people[i])
    boxes: dict = {}
    for seed in range(10):
        boxes |= dress(
            cv2.imread(photo.path), photo.people[i], OUTFITS["white_insignia"], np.random.default_rng(seed)
        )
    plate, pin = boxes["name_plate"], boxes["korpri_badge"]
    shoulder_y = (g.ls[1] + g.rs[1]) / 2
    assert plate[1] > shoulder_y and pin[1] > shoulder_y
    plate_x, pin_x = (plate[0] + plate[2]) / 2, (pin[0] + pin[2]) / 2
    assert abs(plate_x - g.rs[0]) < abs(plate_x - g.ls[0])  # person's right side
    assert abs(pin_x - g.ls[0]) < abs(pin_x - g.rs[0])


def test_chest_attributes_have_real_sizes(bundled_people: list[PhotoPeople]) -> None:
    """A name plate is a fifth to a quarter of the shoulders wide (narrower than the pocket under it),
    about a quarter as tall as wide; a KORPRI pin is smaller than the plate is wide."""
    photo, i = _photo_with_person(bundled_people)
    width = torso_geometry(photo.people[i]).width
    plates = 0
    for seed in range(8):
        boxes = dict(
            dress(cv2.imread(photo.path), photo.people[i], OUTFITS["pdh_khaki"], np.random.default_rng(seed))
        )
        if "name_plate" not in boxes:  # drawn with a probability
            continue
        plates += 1
        x1, y1, x2, y2 = boxes["name_plate"]
        assert 0.15 * width <= x2 - x1 <= 0.27 * width and 0.18 <= (y2 - y1) / (x2 - x1) <= 0.32
        if "korpri_badge" in boxes:
            px1, _, px2, _ = boxes["korpri_badge"]
            assert 0.044 * width - 1 <= px2 - px1 <= 0.08 * width + 1 < x2 - x1  # a radius rounds to pixels
    assert plates >= 4


def test_generated_dataset_is_split_by_source_and_readable(tiny_dataset: Path) -> None:
    dataset = open_yolo_dataset(tiny_dataset)
    assert dataset.names == load_taxonomy().names
    assert set(dataset.splits) == {"train", "val"}
    assert sum(len(v) for v in dataset.splits.values()) == 12
    items = read_yolo(tiny_dataset)
    by_split = {
        split: {it.source for it in items if it.image_path.parent.name == split} for split in dataset.splits
    }
    assert not by_split["train"] & by_split["val"]
    assert any(it.boxes for it in items), "some frames should carry labels"


def test_rendering_processes_do_not_change_the_dataset(
    bundled_people: list[PhotoPeople], tiny_dataset: Path, tmp_path: Path
) -> None:
    """The conftest dataset is rendered in this process, elsewhere; two worker processes give the same
    files under the same names (a hash of the content, the source photo and the frame index), so the
    dataset's order, which ultralytics batches its validation by, does not depend on where it is."""
    config = SynthConfig(count=12, seed=3, fractions=(("train", 0.5), ("val", 0.5)))
    parallel = generate(bundled_people, tmp_path / "ds", config, workers=2).parent

    def contents(root: Path) -> dict[str, bytes]:
        return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*_*.*")}

    serial = contents(tiny_dataset.parent)
    assert len(serial) == 24 and contents(parallel) == serial


@pytest.mark.parametrize(
    ("label", "always_redressed"), [("asn_white_shirt_insignia", True), ("civilian", False)]
)
def test_official_photos_without_a_garment_class_are_never_kept_as_they_are(
    label: str, always_redressed: bool, bundled_people: list[PhotoPeople]
) -> None:
    """A real white shirt with insignia has no box to give, so it must not appear unlabelled; civilian
    photos are kept as they are in some frames (negatives)."""
    photo, _ = _photo_with_person(bundled_people)
    photo = PhotoPeople(photo.path, photo.source, label, photo.people)
    original = cv2.imread(photo.path)
    redressed = []
    for seed in range(40):
        image = original.copy()
        _scene(photo, image, np.random.default_rng(seed), SynthConfig(), None)
        redressed.append(not np.array_equal(image, original))
    assert all(redressed) if always_redressed else not all(redressed)


def test_stratified_dataset_gives_each_split_official_and_civilian_photos(
    bundled_people: list[PhotoPeople], tmp_path: Path
) -> None:
    """Four source photos, two labelled official attire: stratified, each split gets one of each."""
    photos = [
        replace(photo, source=f"{label}{k}", label=label)
        for k, photo in enumerate(bundled_people)
        for label in ("asn_satpol_pp", "civilian")
    ]
    config = SynthConfig(count=24, seed=0, fractions=(("train", 0.5), ("val", 0.5)), stratify=True)

    dataset = open_yolo_dataset(generate(photos, tmp_path / "ds", config))

    for frames in dataset.splits.values():
        sources = {frame_source(frame) for frame in frames}
        assert len(sources) == 2 and {s.rstrip("01") for s in sources} == {"asn_satpol_pp", "civilian"}


def _shrunk(person: Person, scale: float) -> Person:
    """The same person at ``scale`` of their size, anchored at their box's top-left corner (a bystander)."""
    x0, y0 = person.box[:2]
    box = (x0, y0, x0 + (person.box[2] - x0) * scale, y0 + (person.box[3] - y0) * scale)
    return Person(
        box, tuple((x0 + (x - x0) * scale, y0 + (y - y0) * scale, c) for x, y, c in person.keypoints)
    )


def _torso_patch(image: np.ndarray, person: Person) -> np.ndarray:
    """A small patch in the middle of the person's torso."""
    x, y = np.mean([person.keypoints[k][:2] for k in (L_SHOULDER, R_SHOULDER, L_HIP, R_HIP)], axis=0).astype(
        int
    )
    return image[y - 5 : y + 5, x - 5 : x + 5]


def test_real_uniform_photos_box_only_their_main_people(bundled_people: list[PhotoPeople]) -> None:
    """A Satpol PP photo with a bystander under 60% of the tallest person's height: the label does not
    describe the bystander, who gets no uniform box; framed, the bystander is redressed (known attire)."""
    zidane = bundled_people[1]
    bystander = _shrunk(zidane.people[1], 0.4)
    photo = PhotoPeople(zidane.path, zidane.source, "asn_satpol_pp", (*zidane.people, bystander))
    original = cv2.imread(photo.path)
    main_boxes = [("field_uniform", pseudo_garment_box(original, p)) for p in zidane.people]
    framed_bystander = 0
    for seed in range(30):
        image = original.copy()
        boxes, focus = _scene(photo, image, np.random.default_rng(seed), SynthConfig(), None)
        assert boxes[:2] == main_boxes
        if focus == 2:
            framed_bystander += 1
            assert not np.array_equal(_torso_patch(image, bystander), _torso_patch(original, bystander))
        else:
            assert boxes == main_boxes and np.array_equal(image, original)
    assert framed_bystander, "the bystander should be framed in some of the seeds"


def test_white_shirt_photos_redress_everyone_with_a_torso(bundled_people: list[PhotoPeople]) -> None:
    """Both officials of a white-shirt photo are redressed, not only the framed one: the other one's real
    insignia would be an unlabelled positive in view."""
    zidane = bundled_people[1]
    photo = PhotoPeople(zidane.path, zidane.source, "asn_white_shirt_insignia", zidane.people)
    original = cv2.imread(photo.path)
    for seed in range(5):
        image = original.copy()
        _scene(photo, image, np.random.default_rng(seed), SynthConfig(), None)
        for person in photo.people:
            assert not np.array_equal(_torso_patch(image, person), _torso_patch(original, person))


@pytest.mark.parametrize("label", ["asn_satpol_pp", "police", "asn_white_shirt_insignia"])
def test_an_outfit_cannot_be_forced_on_a_photo_of_real_attire(
    label: str, bundled_people: list[PhotoPeople]
) -> None:
    """Its other people would keep the real attire: a clip's ground truth, which follows the outfit asked
    for, would be wrong."""
    photo = replace(bundled_people[1], label=label)
    with pytest.raises(ValueError, match="an outfit can be forced only on photos of everyday clothes"):
        render_frame(photo, np.random.default_rng(0), SynthConfig(), outfit="plain_tshirt")


def test_count_below_one_is_refused(bundled_people: list[PhotoPeople], tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        generate(bundled_people, tmp_path / "ds", SynthConfig(count=0))


def test_non_empty_out_is_refused_before_rendering(
    bundled_people: list[PhotoPeople], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "ds"
    out.mkdir()
    (out / "old.txt").write_text("old")
    monkeypatch.setattr("datasets.synth._render_into", lambda job: pytest.fail("rendered frames"))

    with pytest.raises(FileExistsError, match="is not empty"):
        generate(bundled_people, out, SynthConfig(count=4))

    assert sorted(tmp_path.iterdir()) == [out]


def test_a_failed_render_leaves_no_staging_frames(bundled_people: list[PhotoPeople], tmp_path: Path) -> None:
    readable = bundled_people[1]
    missing = replace(readable, path=str(tmp_path / "gone.jpg"), source="gone")

    with pytest.raises(FileNotFoundError, match="cannot read source photo"):
        generate([readable, missing], tmp_path / "ds", SynthConfig(count=8))

    assert list(tmp_path.iterdir()) == []
