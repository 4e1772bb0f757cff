"""NIP, handle, platform and text checks, table-driven: what is accepted, and what each error says."""

from __future__ import annotations

import re

import pytest

from api.registry import (
    InvalidEntryError,
    InvalidNipError,
    UnknownPlatformError,
    normalise_handle,
    parse_platform,
    validate_nip,
)
from api.registry.values import required_text


@pytest.mark.parametrize(
    ("raw", "nip"),
    [
        ("198507142010011002", "198507142010011002"),
        ("19850714 201001 1 002", "198507142010011002"),  # the printed form
        (" 199001012015032001\n", "199001012015032001"),
        ("199405252022212006", "199405252022212006"),  # PPPK: 21 in the month position
        ("200002292024121001", "200002292024121001"),  # leap day
    ],
)
def test_valid_nips_come_back_as_18_digits(raw: str, nip: str) -> None:
    assert validate_nip(raw) == nip


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ("19850714201001100", "exactly 18 digits, got 17"),
        ("1985071420100110021", "exactly 18 digits, got 19"),
        ("", "exactly 18 digits, got 0"),
        ("19850714201001100A", "exactly 18 digits"),
        ("".join(chr(0xFF10 + int(d)) for d in "198507142010011002"), "exactly 18 digits"),  # full-width
        ("1.98507E+17", "format the column as text"),
        ("198513142010011002", "positions 1-8 (19851314) must be a birth date"),
        ("198502302010011002", "positions 1-8 (19850230) must be a birth date"),
        ("183507142010011002", "birth year 1835"),
        ("298507142010011002", "birth year 2985"),
        ("198507142010131002", "positions 13-14 (13) must be the appointment month"),
        ("198507142010001002", "positions 13-14 (00)"),
        ("198507141995011002", "appointment year 1995 (positions 9-12) is implausible"),
        ("198507142999011002", "appointment year 2999"),
    ],
)
def test_invalid_nips_say_what_is_wrong_and_show_the_format(raw: str, says: str) -> None:
    with pytest.raises(InvalidNipError) as caught:
        validate_nip(raw)
    assert says in str(caught.value)
    assert "198507142010011002" in str(caught.value)


@pytest.mark.parametrize(
    ("raw", "handle"),
    [
        ("@Budi.Santoso", "budi.santoso"),
        ("budi.santoso", "budi.santoso"),
        ("  @DINKES_Lumajang ", "dinkes_lumajang"),
        ("@@double", "double"),
        ("Pemkab-Lumajang", "pemkab-lumajang"),
        ("budi.lmj\u200b", "budi.lmj"),  # zero-width space, copied from a web page
        ("\u200ebudi.lmj", "budi.lmj"),  # left-to-right mark
        ("\ufeffbudi.lmj", "budi.lmj"),  # BOM / zero-width no-break space
        ("\uff20budi.lmj", "budi.lmj"),  # full-width @ of an Asian input method
        ("\uff42\uff55\uff44\uff49.\uff4c\uff4d\uff4a", "budi.lmj"),  # full-width letters
        ("@Stra\u00dfe", "strasse"),  # case-folded, not only lower case
    ],
)
def test_handles_are_normalised(raw: str, handle: str) -> None:
    assert normalise_handle(raw) == handle


@pytest.mark.parametrize(
    "raw", ["", "@", "budi santoso", "https://www.tiktok.com/@budi", "budi@mail", "x" * 101]
)
def test_non_handles_are_refused(raw: str) -> None:
    with pytest.raises(InvalidEntryError, match="handle"):
        normalise_handle(raw)


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ("  ", "must not be empty"),
        ("x" * 201, "201 characters long"),
        ("Dinas\nSosial", "control character (U+000A) at position 6"),
        ("Dinas\tSosial", "control character (U+0009)"),
        ("Dinas\x85Sosial", "control character (U+0085)"),
    ],
)
def test_bad_text_values_are_refused(raw: str, says: str) -> None:
    with pytest.raises(InvalidEntryError, match=rf"name: .*{re.escape(says)}"):
        required_text("name", raw, 200)


def test_text_values_are_trimmed() -> None:
    assert required_text("name", "  Dinas Sosial ", 200) == "Dinas Sosial"


@pytest.mark.parametrize(("raw", "platform"), [("tiktok", "tiktok"), ("TikTok", "tiktok"), (" X ", "x")])
def test_platforms_are_read_case_insensitively(raw: str, platform: str) -> None:
    assert parse_platform(raw) == platform


@pytest.mark.parametrize("raw", ["twitter", "threads", ""])
def test_unknown_platform_lists_the_valid_ones(raw: str) -> None:
    with pytest.raises(UnknownPlatformError, match="tiktok, instagram, facebook, youtube, x, other"):
        parse_platform(raw)
