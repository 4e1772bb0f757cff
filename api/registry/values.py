"""Checking and normalising single registry values: NIP, handle, platform, codes, names, timestamps."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from datetime import date, datetime
from enum import Enum, StrEnum
from typing import Final, Protocol, TypeVar

from api.db.models import Platform
from api.db.types import NaiveDatetimeError, ensure_utc
from api.policy.calendar import FIRST_YEAR, LAST_YEAR
from api.registry.errors import InvalidEntryError, InvalidNipError, UnknownPlatformError

E = TypeVar("E", bound=StrEnum)
D = TypeVar("D", bound=date)


class Unset(Enum):
    """Marks an update argument that was not given (``None`` can be a real value, e.g. no parent)."""

    UNSET = "unset"


UNSET: Final = Unset.UNSET

EARLIEST_BIRTH_YEAR = 1940
MIN_APPOINTMENT_AGE = 18  # minimum age to be appointed ASN
PPPK_MONTH_CODE = 21  # NI PPPK carry 21 where a PNS NIP has the appointment month (verify)
_HANDLE = re.compile(r"[^\s/@\x00-\x1f\x7f-\x9f]+")  # no spaces, slashes, @ or control characters
_AGENCY_CODE = re.compile(r"[A-Z0-9][A-Z0-9._-]*")


def validate_nip(value: str) -> str:
    """Return the NIP as 18 digits; spaces of the printed form (``19850714 201001 1 002``) are dropped.

    Raises :class:`InvalidNipError` unless it is 18 digits with a real birth date (positions 1-8) and a
    plausible appointment year and month (positions 9-14).
    """
    nip = "".join(str(value).split())
    if len(nip) != 18 or not (nip.isascii() and nip.isdigit()):
        hint = " (a spreadsheet turned it into a number: format the column as text)" if "E+" in nip else ""
        raise InvalidNipError(value, f"expected exactly 18 digits, got {len(nip)} characters{hint}")
    birth = _birth_date(value, nip[:8])
    _check_appointment(value, birth, year=int(nip[8:12]), month=int(nip[12:14]))
    return nip


def _birth_date(value: str, digits: str) -> date:
    try:
        birth = datetime.strptime(digits, "%Y%m%d").date()
    except ValueError:
        raise InvalidNipError(value, f"positions 1-8 ({digits}) must be a birth date YYYYMMDD") from None
    latest = date.today().year - MIN_APPOINTMENT_AGE
    if not EARLIEST_BIRTH_YEAR <= birth.year <= latest:
        raise InvalidNipError(
            value,
            f"birth year {birth.year} (positions 1-4) is implausible, "
            f"expected {EARLIEST_BIRTH_YEAR}-{latest}",
        )
    return birth


def _check_appointment(value: str, birth: date, *, year: int, month: int) -> None:
    if not (1 <= month <= 12 or month == PPPK_MONTH_CODE):
        raise InvalidNipError(
            value,
            f"positions 13-14 ({month:02d}) must be the appointment month 01-12 "
            f"(or {PPPK_MONTH_CODE} for PPPK)",
        )
    earliest, latest = birth.year + MIN_APPOINTMENT_AGE, date.today().year + 1
    if not earliest <= year <= latest:
        raise InvalidNipError(
            value,
            f"appointment year {year} (positions 9-12) is implausible for a birth year of {birth.year}, "
            f"expected {earliest}-{latest}",
        )


def normalise_handle(value: str) -> str:
    """``"@Budi.Santoso "`` -> ``"budi.santoso"``: trimmed, case-folded, without the leading ``@``.

    A handle copied from a page or typed with an Asian input method can carry invisible format
    characters (zero-width space, direction marks, BOM) or full-width forms (U+FF20 for ``@``); NFKC and
    dropping format characters make it the same handle as the one registered.
    """
    compatible = unicodedata.normalize("NFKC", value)
    visible = "".join(c for c in compatible if unicodedata.category(c) != "Cf")
    handle = visible.strip().casefold().lstrip("@")
    if not _HANDLE.fullmatch(handle):
        raise InvalidEntryError(
            "handle", f"{value!r} is not a handle; give the account name alone, e.g. @budi.santoso, not a URL"
        )
    if len(handle) > 100:
        raise InvalidEntryError("handle", f"{value!r} is longer than 100 characters")
    return handle


def parse_platform(value: str) -> Platform:
    """The platform named by ``value`` (any case); :class:`UnknownPlatformError` lists the valid ones."""
    try:
        return Platform(value.strip().lower())
    except (ValueError, AttributeError):
        raise UnknownPlatformError(value, [p.value for p in Platform]) from None


def parse_choice(field: str, value: str, choices: type[E]) -> E:
    """A member of ``choices`` by value; the error lists the valid values."""
    try:
        return choices(value.strip().lower())
    except (ValueError, AttributeError):
        valid = ", ".join(c.value for c in choices)
        raise InvalidEntryError(field, f"unknown value {value!r}; use one of: {valid}") from None


def agency_code(value: str) -> str:
    """An agency code in upper case (``dinkes`` -> ``DINKES``): letters, digits, ``.``, ``_``, ``-``."""
    code = value.strip().upper()
    if not _AGENCY_CODE.fullmatch(code) or len(code) > 32:
        raise InvalidEntryError(
            "code",
            f"{value!r} is not an agency code; use up to 32 letters, digits, '.', '_' or '-', e.g. DINKES",
        )
    return code


def required_text(field: str, value: str, max_length: int) -> str:
    """``value`` trimmed; refused when empty, longer than ``max_length`` or not one line of text."""
    text = value.strip()
    if not text:
        raise InvalidEntryError(field, "must not be empty")
    if len(text) > max_length:
        raise InvalidEntryError(field, f"is {len(text)} characters long, at most {max_length} allowed")
    # A line break, tab or other control character is the sign of a CSV cell that swallowed the rows
    # after it, or of a paste from somewhere else.
    for position, char in enumerate(text, start=1):
        if unicodedata.category(char) == "Cc":
            raise InvalidEntryError(
                field,
                f"has a line break or other control character (U+{ord(char):04X}) at position {position}; "
                "write it as one line of text",
            )
    return text


def utc_timestamp(field: str, value: datetime, advice: str = "check the date") -> datetime:
    """``value`` in UTC; a naive datetime is refused (the registry never guesses a time zone), and so is
    one outside the years the service judges (``advice`` says what to do instead)."""
    plausible_day(field, value, advice)  # before the conversion, which overflows near the years 1 and 9999
    try:
        return ensure_utc(value)
    except NaiveDatetimeError as error:
        raise InvalidEntryError(field, str(error)) from None


def plausible_day(field: str, value: D, advice: str = "check the date") -> D:
    """``value``, a day or a time; refused outside the years the service judges (a far end like
    9999-12-31 is no date the working calendar can count a day past)."""
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise InvalidEntryError(
            field, f"{value.isoformat()} lies outside the years {FIRST_YEAR}-{LAST_YEAR}; {advice}"
        )
    return value


class Past(Protocol):
    until: date


def check_change(field: str, day: date, past: Sequence[Past], *, changes: bool, needs: str) -> None:
    """A move, a handover or an account's change of status on the WIB ``day``: refused unless it ``changes``
    something (``needs`` says what to give), within the years the service judges, and after the last one
    recorded in ``past`` (each ends the span the one before began)."""
    if not changes:
        raise InvalidEntryError(field, needs)
    plausible_day(field, day)
    if past and day <= past[-1].until:
        raise InvalidEntryError(
            field,
            f"{day.isoformat()} is not after the last one recorded ({past[-1].until.isoformat()}); "
            "record them in the order they happened",
        )
