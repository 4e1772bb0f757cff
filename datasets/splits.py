"""Leak-free train/val/test splits: every image of one source (stream, recording, photo) in one split."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Mapping, Sequence
from types import MappingProxyType

from datasets.importers import LabelledImage

DEFAULT_FRACTIONS: Mapping[str, float] = MappingProxyType({"train": 0.8, "val": 0.1, "test": 0.1})


def split_by_source(
    items: Sequence[LabelledImage],
    fractions: Mapping[str, float] = DEFAULT_FRACTIONS,
    seed: int = 0,
    strata: Mapping[str, str] | None = None,
) -> dict[str, list[LabelledImage]]:
    """Split images so that no source crosses splits, approximately honouring ``fractions`` by image count.

    Sources go, biggest first and in an order shuffled by ``seed`` among sources of similar size,
    to the split furthest below its share relative to that share; so every split gets a source
    before any gets a second one. The same items and seed put the same sources in each split,
    whatever the order of the items. Fractions are relative weights (they need not sum to 1).

    ``strata`` maps a source to its stratum (e.g. what its photo shows); each stratum is then split
    on its own, so that every split holds its share of each (sources not in ``strata`` form one more
    stratum). Without it all sources are one stratum.
    """
    if not fractions or any(f <= 0 for f in fractions.values()):
        raise ValueError(f"split fractions must be positive, e.g. {dict(DEFAULT_FRACTIONS)}; got {fractions}")
    by_stratum: dict[str, list[LabelledImage]] = defaultdict(list)
    for item in items:
        by_stratum[(strata or {}).get(item.source, "")].append(item)
    splits: dict[str, list[LabelledImage]] = {split: [] for split in fractions}
    for stratum in sorted(by_stratum):
        for split, part in _split_one_stratum(by_stratum[stratum], fractions, seed).items():
            splits[split] += part
    return splits


def _split_one_stratum(
    items: Sequence[LabelledImage], fractions: Mapping[str, float], seed: int
) -> dict[str, list[LabelledImage]]:
    by_source: dict[str, list[LabelledImage]] = defaultdict(list)
    for item in items:
        by_source[item.source].append(item)
    sources = sorted(by_source)
    random.Random(seed).shuffle(sources)
    # Big sources first, so that small ones can even out the counts; the stable sort keeps the
    # shuffled order within each power-of-two size class, which is where the seed has its say.
    sources.sort(key=lambda s: len(by_source[s]).bit_length(), reverse=True)
    total_weight = sum(fractions.values())
    targets = {split: len(items) * f / total_weight for split, f in fractions.items()}
    splits: dict[str, list[LabelledImage]] = {split: [] for split in fractions}
    for source in sources:
        split = max(splits, key=lambda s: (targets[s] - len(splits[s])) / targets[s])
        splits[split] += by_source[source]
    return splits
