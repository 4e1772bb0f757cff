"""Dataset statistics count what the label files hold, per split, with the names of data.yaml."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from datasets.importers import DatasetFormatError
from datasets.stats import DatasetStats, SplitStats, dataset_stats

DATA_YAML = "path: .\ntrain: images/train\nval: images/val\nnames: {0: pdh_khaki, 1: name_plate}\n"
# split -> label file contents, one entry per image ("" is an image without boxes)
LABELS = {
    "train": ["0 0.5 0.5 0.2 0.2\n1 0.5 0.2 0.1 0.05\n", "0 0.3 0.3 0.1 0.1\n", ""],
    "val": ["", "1 0.5 0.5 0.1 0.1\n"],
}


def make_dataset(root: Path, labels: dict[str, list[str]], data_yaml: str = DATA_YAML) -> Path:
    for split, contents in labels.items():
        (root / "images" / split).mkdir(parents=True)
        (root / "labels" / split).mkdir(parents=True)
        for i, text in enumerate(contents):
            cv2.imwrite(str(root / "images" / split / f"{i}.jpg"), np.zeros((8, 8, 3), np.uint8))
            if text:
                (root / "labels" / split / f"{i}.txt").write_text(text)
    (root / "data.yaml").write_text(data_yaml)
    return root / "data.yaml"


def test_counts_images_negatives_and_boxes_per_class(tmp_path: Path) -> None:
    stats = dataset_stats(make_dataset(tmp_path, LABELS))

    assert stats.names == ("pdh_khaki", "name_plate")
    assert stats.splits == {
        "train": SplitStats(images=3, negatives=1, boxes_per_class={"pdh_khaki": 2, "name_plate": 1}),
        "val": SplitStats(images=2, negatives=1, boxes_per_class={"pdh_khaki": 0, "name_plate": 1}),
    }
    assert stats.splits["train"].boxes == 3


def test_format_table_has_a_row_per_count_and_a_total_column(tmp_path: Path) -> None:
    stats = DatasetStats(
        Path("data.yaml"),
        ("pdh_khaki", "name_plate"),
        {
            "train": SplitStats(1200, 300, {"pdh_khaki": 2000, "name_plate": 5}),
            "val": SplitStats(100, 20, {"pdh_khaki": 150, "name_plate": 0}),
        },
    )

    assert stats.format_table().splitlines() == [
        "data.yaml",
        "              train  val  total",
        "images         1200  100   1300",
        "negatives       300   20    320",
        "boxes          2005  150   2155",
        "  pdh_khaki    2000  150   2150",
        "  name_plate      5    0      5",
    ]


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        ({"train": ["2 0.5 0.5 0.1 0.1\n"], "val": []}, r"0\.txt line 1: class id 2 is not in 0\.\.1"),
        ({"train": ["0 0.5\n"], "val": []}, r"0\.txt line 1: expected 'cls cx cy w h'"),
        ({"train": []}, r"split entry 'images/val' .* does not exist"),
    ],
)
def test_malformed_datasets_raise_dataset_format_error(
    tmp_path: Path, labels: dict[str, list[str]], message: str
) -> None:
    with pytest.raises(DatasetFormatError, match=message):
        dataset_stats(make_dataset(tmp_path, labels))
