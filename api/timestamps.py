"""Timestamps entering the service: ISO 8601 with an offset, or naive with an explicit IANA ``tz``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from api.errors import InvalidTimestampError
from api.policy import require_aware
from api.policy.calendar import FIRST_YEAR, LAST_YEAR


def parse_timestamp(
    field: str, text: str, tz: str | None, *, now: datetime | None = None, skew_s: float = 0.0
) -> datetime:
    """``text`` as an aware UTC datetime. A naive ``text`` needs ``tz`` (e.g. ``Asia/Jakarta``), else
    ``NaiveTimestampError``. Times before the year 2000 are refused; with ``now`` given, so is a time
    more than ``skew_s`` after it (a capture or stream start cannot lie in the future)."""
    given_zone = zone(tz) if tz else None  # checked even where the text's own offset wins
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidTimestampError(
            f"{field} {text!r} is not an ISO 8601 timestamp; write e.g. 2026-04-14T19:00:00+07:00"
        ) from None
    if value.tzinfo is None and given_zone:
        value = value.replace(tzinfo=given_zone)
    if not FIRST_YEAR <= value.year <= LAST_YEAR:  # before the conversion, which would overflow
        raise _outside_the_years(field, text)
    value = require_aware(value, field)
    if value.year < FIRST_YEAR:  # 2000-01-01T06:00+07:00 is 1999 in UTC
        raise _outside_the_years(field, text)
    if now is not None and value > now.astimezone(UTC) + timedelta(seconds=skew_s):
        raise InvalidTimestampError(
            f"{field} {value.isoformat()} is in the future (now is {now.astimezone(UTC).isoformat()}); "
            "check the capture time and its UTC offset"
        )
    return value


def _outside_the_years(field: str, text: str) -> InvalidTimestampError:
    return InvalidTimestampError(
        f"{field} {text!r} lies outside the years {FIRST_YEAR}-{LAST_YEAR}; check the date"
    )


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name``; ``InvalidTimestampError`` for anything else."""
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise InvalidTimestampError(
            f"tz {name!r} is not an IANA time zone; use e.g. Asia/Jakarta (WIB), Asia/Makassar (WITA)"
        ) from None
