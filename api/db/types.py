"""Column types shared by the models: timestamps always aware UTC, JSON that is JSONB on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

JSONDocument = JSON().with_variant(JSONB(), "postgresql")


class NaiveDatetimeError(ValueError):
    """A timestamp without a time zone reached the database layer."""

    def __init__(self, value: datetime) -> None:
        super().__init__(
            f"timestamp {value.isoformat()} has no time zone; pass an aware datetime "
            f"(e.g. {value.isoformat()}+07:00 for WIB), every timestamp is stored in UTC"
        )


class UnstorableTextError(ValueError):
    """Text a database cannot hold: a NUL character, or an unpaired surrogate (not Unicode text)."""

    def __init__(self, field: str) -> None:
        super().__init__(
            f"{field} contains a NUL character or an unpaired surrogate, which cannot be stored; "
            "send plain UTF-8 text"
        )


def check_storable(field: str, value: Any) -> None:
    """Raise ``UnstorableTextError`` when ``value`` (text, or a JSON document holding text) has a NUL
    character or an unpaired surrogate; PostgreSQL refuses both, SQLite the surrogates."""
    if isinstance(value, str):
        if "\x00" in value or (not value.isascii() and not _encodable(value)):
            raise UnstorableTextError(field)
    elif isinstance(value, dict):
        for key, item in value.items():
            check_storable(field, key)
            check_storable(field, item)
    elif isinstance(value, list | tuple):
        for item in value:
            check_storable(field, item)


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def ensure_utc(value: datetime) -> datetime:
    """Return ``value`` converted to UTC; raise :class:`NaiveDatetimeError` when it has no time zone."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise NaiveDatetimeError(value)
    return value.astimezone(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC: refuses naive input, always reads back as an aware UTC datetime.

    SQLite keeps no time zone, so the value is written as naive UTC there and marked UTC on the way back.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        utc = ensure_utc(value)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utc_now() -> datetime:
    """The current time, aware, in UTC (column default)."""
    return datetime.now(UTC)
