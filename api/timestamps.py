"""Timestamps entering the service: ISO 8601 with an offset, or naive with an explicit IANA ``tz``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from api.errors import InvalidTimestampError
from api.policy import require_aware


def parse_timestamp(field: str, text: str, tz: str | None, *, now: datetime, skew_s: float) -> datetime:
    """``text`` as an aware UTC datetime. A naive ``text`` needs ``tz`` (e.g. ``Asia/Jakarta``), else
    ``NaiveTimestampError``; a time more than ``skew_s`` after ``now`` is refused as a future time."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidTimestampError(
            f"{field} {text!r} is not an ISO 8601 timestamp; write e.g. 2026-04-14T19:00:00+07:00"
        ) from None
    if value.tzinfo is None and tz:
        try:
            value = value.replace(tzinfo=ZoneInfo(tz.strip()))
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidTimestampError(
                f"tz {tz!r} is not an IANA time zone; use e.g. Asia/Jakarta (WIB), Asia/Makassar (WITA)"
            ) from None
    value = require_aware(value, field)
    if value > now.astimezone(UTC) + timedelta(seconds=skew_s):
        raise InvalidTimestampError(
            f"{field} {value.isoformat()} is in the future (now is {now.astimezone(UTC).isoformat()}); "
            "check the capture time and its UTC offset"
        )
    return value
