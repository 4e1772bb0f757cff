"""Splits keep every source in one split, follow the fractions and depend only on the seed."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datasets.importers import LabelledImage
from datasets.splits import split_by_source


def images_from(sizes: list[int]) -> list[LabelledImage]:
    """``sizes[i]`` images of source ``s{i}``; the files need not exist to be split."""
    return [
        LabelledImage(Path(f"s{source}__f{frame}.jpg"), (), f"s{source}")
        for source, size in enumerate(sizes)
        for frame in range(size)
    ]


def sources_by_split(splits: dict[str, list[LabelledImage]]) -> dict[str, set[str]]:
    return {name: {im.source for im in split} for name, split in splits.items()}


@settings(max_examples=60, deadline=None)
@given(sizes=st.lists(st.integers(1, 20), max_size=40), seed=st.integers(0, 2**16))
def test_every_image_lands_in_exactly_one_split_with_its_whole_source(sizes: list[int], seed: int) -> None:
    items = images_from(sizes)

    splits = split_by_source(items, seed=seed)

    assert sorted(im.image_path for s in splits.values() for im in s) == sorted(im.image_path for im in items)
    split_of_source = {im.source: name for name, split in splits.items() for im in split}
    assert all(split_of_source[im.source] == name for name, split in splits.items() for im in split)


@settings(max_examples=30, deadline=None)
@given(sizes=st.lists(st.integers(1, 20), max_size=40), seed=st.integers(0, 2**16))
def test_same_seed_gives_the_same_split_whatever_the_input_order(sizes: list[int], seed: int) -> None:
    items = images_from(sizes)

    first = split_by_source(items, seed=seed)

    assert split_by_source(items, seed=seed) == first
    assert sources_by_split(split_by_source(items[::-1], seed=seed)) == sources_by_split(first)


def test_different_seeds_give_different_splits() -> None:
    items = images_from([1] * 50)

    assert split_by_source(items, seed=0) != split_by_source(items, seed=1)


@pytest.mark.parametrize(
    ("sizes", "fractions", "expected_counts"),
    [
        ([1] * 100, {"train": 0.8, "val": 0.1, "test": 0.1}, {"train": 80, "val": 10, "test": 10}),
        ([2] * 50, {"train": 0.7, "val": 0.3}, {"train": 70, "val": 30}),
        ([1, 1, 1], {"train": 0.8, "val": 0.1, "test": 0.1}, {"train": 1, "val": 1, "test": 1}),
        ([], {"train": 0.8, "val": 0.2}, {"train": 0, "val": 0}),
        ([5] * 20, {"train": 8, "val": 1, "test": 1}, {"train": 80, "val": 10, "test": 10}),
    ],
)
def test_split_sizes_follow_fractions(
    sizes: list[int], fractions: dict[str, float], expected_counts: dict[str, int]
) -> None:
    splits = split_by_source(images_from(sizes), fractions)

    assert {name: len(split) for name, split in splits.items()} == expected_counts


@settings(max_examples=30, deadline=None)
@given(sizes=st.lists(st.integers(1, 10), min_size=30, max_size=60), seed=st.integers(0, 2**16))
def test_split_sizes_are_within_one_source_of_their_share(sizes: list[int], seed: int) -> None:
    fractions = {"train": 0.8, "val": 0.1, "test": 0.1}

    splits = split_by_source(images_from(sizes), fractions, seed=seed)

    for name, split in splits.items():
        assert abs(len(split) - fractions[name] * sum(sizes)) <= max(sizes)


@pytest.mark.parametrize("fractions", [{}, {"train": 1.0, "val": 0.0}, {"train": 0.9, "val": -0.1}])
def test_fractions_must_be_positive(fractions: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="split fractions must be positive"):
        split_by_source(images_from([1, 2]), fractions)


def test_a_split_can_end_under_its_share_by_what_the_small_splits_went_over() -> None:
    """Three 4-image sources go one to each split before any split gets a second: val and test end 2.1
    over their 1.9, so train ends 4.2 under its 15.2, more than one source's 4."""
    sizes = [1, 1, 1, 1, 1, 1, 1, 4, 4, 4]
    splits = split_by_source(images_from(sizes), {"train": 0.8, "val": 0.1, "test": 0.1}, seed=0)
    assert {name: len(split) for name, split in splits.items()} == {"train": 11, "val": 4, "test": 4}


@settings(max_examples=30, deadline=None)
@given(
    official=st.lists(st.integers(1, 10), min_size=10, max_size=30),
    civilian=st.lists(st.integers(1, 10), min_size=30, max_size=80),
    seed=st.integers(0, 2**16),
)
def test_strata_are_split_each_in_the_fractions(official: list[int], civilian: list[int], seed: int) -> None:
    fractions = {"train": 0.8, "val": 0.1, "test": 0.1}
    items = images_from(official + civilian)
    strata = {f"s{i}": "official" for i in range(len(official))}  # the rest: one more stratum

    splits = split_by_source(items, fractions, seed=seed, strata=strata)

    assert sorted(im.image_path for s in splits.values() for im in s) == sorted(im.image_path for im in items)
    for name, split in splits.items():
        share = sum(im.source in strata for im in split)
        # A split takes a source only while it is furthest below its share, so it ends less than one
        # source over it; a split can end under its share by what the others went over.
        assert abs(share - fractions[name] * sum(official)) <= (len(fractions) - 1) * max(official)
        assert share > 0  # every split sees the rarer stratum


def test_one_stratum_splits_as_no_strata() -> None:
    items = images_from([3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5] * 3)

    one_stratum = dict.fromkeys((im.source for im in items), "all")

    assert split_by_source(items, strata=one_stratum) == split_by_source(items)


def test_unstratified_split_can_leave_a_rare_stratum_out_of_val_and_stratifying_fixes_it() -> None:
    items = images_from([1] * 100)
    official = {f"s{i}": "official" for i in range(10)}

    def official_per_split(splits: dict[str, list[LabelledImage]]) -> dict[str, int]:
        return {name: sum(im.source in official for im in split) for name, split in splits.items()}

    assert official_per_split(split_by_source(items, seed=4)) == {"train": 10, "val": 0, "test": 0}
    assert official_per_split(split_by_source(items, seed=4, strata=official)) == {
        "train": 8,
        "val": 1,
        "test": 1,
    }
