from __future__ import annotations

import csv
import shutil
from pathlib import Path

import cv2
import pytest

from datasets.people import REALDATA_DIR, bundled_photos, find_people, realdata_photos


@pytest.mark.realdata
@pytest.mark.skipif(not (REALDATA_DIR / "labels.csv").exists(), reason="realdata is not present")
def test_realdata_test_split_leaves_out_exactly_the_bundled_pictures() -> None:
    """realdata's test split holds re-encoded copies of bus.jpg and zidane.jpg, which the generator
    trains on; they are left out, and no other test photo is."""
    with (REALDATA_DIR / "labels.csv").open() as f:
        listed = {REALDATA_DIR / r["file"] for r in csv.DictReader(f) if r["split"] == "test"}

    left_out = listed - {path for path, _ in realdata_photos(REALDATA_DIR, "test")}

    assert {path.name for path in left_out} == {"33b198a1d2839bb9.jpg", "356dad2107bb0254.jpg"}


def test_test_photos_showing_a_bundled_picture_are_left_out(tmp_path: Path) -> None:
    """Compared by the picture: the bundled file's own bytes and a re-encoding of it are left out of the
    test split, a mirrored picture is not, and the train split is never filtered."""
    bus, zidane = (path for path, _ in bundled_photos())
    (tmp_path / "images").mkdir()
    shutil.copyfile(bus, tmp_path / "images" / "same_bytes.jpg")
    cv2.imwrite(
        str(tmp_path / "images" / "reencoded.jpg"), cv2.imread(str(zidane)), [cv2.IMWRITE_JPEG_QUALITY, 70]
    )
    cv2.imwrite(str(tmp_path / "images" / "mirrored.jpg"), cv2.flip(cv2.imread(str(zidane)), 1))
    rows = ["file,label,split", "images/same_bytes.jpg,civilian,train"]
    rows += [f"images/{name}.jpg,civilian,test" for name in ("same_bytes", "reencoded", "mirrored")]
    (tmp_path / "labels.csv").write_text("\n".join(rows) + "\n")

    assert realdata_photos(tmp_path, "test") == [(tmp_path / "images" / "mirrored.jpg", "civilian")]
    assert realdata_photos(tmp_path, "train") == [(tmp_path / "images" / "same_bytes.jpg", "civilian")]


def test_find_people_takes_the_label_from_its_arguments_not_the_cache(tmp_path: Path) -> None:
    """The cache keeps what the pose model found; a label corrected since it was written takes effect."""
    photo = tmp_path / "photo.jpg"
    shutil.copyfile(bundled_photos()[1][0], photo)
    cache = tmp_path / "people.json"
    (first,) = find_people([(photo, "asn_satpol_pp")], cache=cache)

    (corrected,) = find_people([(photo, "civilian")], cache=cache)

    assert (corrected.label, corrected.source, corrected.path) == ("civilian", "photo", str(photo))
    assert corrected.people == first.people
