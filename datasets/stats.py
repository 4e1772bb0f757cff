"""What a YOLO dataset holds, per split: images, negatives and boxes per class (``seragam data stats``)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from datasets.importers import open_yolo_dataset, read_yolo_labels, yolo_label_path


@dataclass(frozen=True)
class SplitStats:
    images: int
    negatives: int  # images without boxes
    boxes_per_class: dict[str, int]  # every class of the dataset, zero included

    @property
    def boxes(self) -> int:
        return sum(self.boxes_per_class.values())


@dataclass(frozen=True)
class DatasetStats:
    data_yaml: Path
    names: tuple[str, ...]
    splits: dict[str, SplitStats]

    def format_table(self) -> str:
        """A plain-text table: one row per count, one column per split and a total column."""
        columns = [*self.splits, "total"]
        stats = [*self.splits.values()]
        rows = [
            ("images", [s.images for s in stats]),
            ("negatives", [s.negatives for s in stats]),
            ("boxes", [s.boxes for s in stats]),
            *((f"  {name}", [s.boxes_per_class[name] for s in stats]) for name in self.names),
        ]
        table = [["", *columns], *([label, *map(str, [*counts, sum(counts)])] for label, counts in rows)]
        widths = [max(len(row[i]) for row in table) for i in range(len(columns) + 1)]
        lines = [
            "  ".join(
                [row[0].ljust(widths[0]), *(c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True))]
            )
            for row in table
        ]
        return "\n".join([str(self.data_yaml), *lines])


def dataset_stats(data_yaml: Path | str) -> DatasetStats:
    """Count images, negatives and boxes per class (named as in ``data.yaml``) for each split."""
    dataset = open_yolo_dataset(data_yaml)
    return DatasetStats(
        dataset.data_yaml,
        dataset.names,
        {split: _split_stats(images, dataset.names) for split, images in dataset.splits.items()},
    )


def _split_stats(images: tuple[Path, ...], names: tuple[str, ...]) -> SplitStats:
    boxes: Counter[str] = Counter({name: 0 for name in names})
    negatives = 0
    for image in images:
        lines = read_yolo_labels(yolo_label_path(image), len(names))
        negatives += not lines
        boxes.update(names[line.class_id] for line in lines)
    return SplitStats(len(images), negatives, dict(boxes))
