"""Configuration values checked the same way everywhere: YAML turns ``.nan``, ``.inf``, ``true`` and
``"false"`` into values that Python's ``float()`` and ``bool()`` would accept without a word."""

from __future__ import annotations

import math
from typing import Any


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
