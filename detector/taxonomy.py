"""The detector's class list, read from ``taxonomy.yaml``: the one place classes are defined."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from pathlib import Path

import yaml

TAXONOMY_FILE = Path(__file__).with_name("taxonomy.yaml")


class ClassKind(StrEnum):
    UNIFORM = "uniform"
    ATTRIBUTE = "attribute"
    CONTEXT = "context"


@dataclass(frozen=True)
class AttireClass:
    id: int
    name: str
    kind: ClassKind
    meaning: str
    threshold: float

    @property
    def is_official(self) -> bool:
        """True when this class alone shows official civil-service attire."""
        return self.kind in (ClassKind.UNIFORM, ClassKind.ATTRIBUTE)


@dataclass(frozen=True)
class Taxonomy:
    classes: tuple[AttireClass, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.classes)

    @property
    def official_names(self) -> frozenset[str]:
        return frozenset(c.name for c in self.classes if c.is_official)


@cache
def load_taxonomy(path: Path = TAXONOMY_FILE) -> Taxonomy:
    raw = yaml.safe_load(path.read_text())
    classes = tuple(
        AttireClass(
            id=i,
            name=c["name"],
            kind=ClassKind(c["kind"]),
            meaning=c["meaning"],
            threshold=float(c["threshold"]),
        )
        for i, c in enumerate(raw["classes"])
    )
    return Taxonomy(classes)
