"""Configuration values checked the same way everywhere (unknown keys, numbers, switches): YAML
turns ``.nan``, ``.inf``, ``true`` and ``"false"`` into values that Python's ``float()`` and ``bool()``
would accept without a word, and a misspelt key would be ignored."""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from typing import Any


def refuse_unknown(raw: Mapping[str, Any], known: Collection[str], what: str) -> None:
    """A misspelt key would silently be ignored (``extras`` for ``extra``: a holiday counted as worked)."""
    if unknown := sorted(set(raw) - set(known)):
        raise ValueError(f"unknown {what} settings {unknown}: the known ones are {sorted(known)}")


def number_setting(name: str, value: object, kind: type = float) -> Any:
    """``value`` as ``kind`` (``int`` or ``float``), refusing what would change in the conversion (7.9
    frames, ``true``) and what is no finite number (``.nan``, ``.inf``, ``"60"``)."""
    whole = kind is int
    number = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not number or (whole and value != int(value)):
        raise ValueError(f"setting {name}={value!r} must be {'a whole number' if whole else 'a number'}")
    return kind(value)


def switch_setting(name: str, value: object) -> bool:
    """``value`` as a switch: YAML ``true`` or ``false`` only (the text ``"false"`` would be true)."""
    if not isinstance(value, bool):
        raise ValueError(f"setting {name}={value!r} must be true or false")
    return value
