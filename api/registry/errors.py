"""What can go wrong in the registry; every message says what to fix.

Routes map them once: ``NotFoundError`` -> 404, ``DuplicateEntryError`` and ``InUseError`` -> 409,
the rest -> 422.
"""

from __future__ import annotations


class RegistryError(Exception):
    """Base of every registry error."""


class InvalidEntryError(RegistryError, ValueError):
    """A field has a value the registry cannot store."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        super().__init__(f"{field}: {problem}")


class InvalidNipError(InvalidEntryError):
    """A NIP that is not 18 digits or whose embedded dates are implausible."""

    def __init__(self, value: object, problem: str) -> None:
        self.value = value
        super().__init__(
            "nip",
            f"{value!r} is not a valid NIP: {problem}. A NIP is 18 digits: birth date YYYYMMDD, "
            "appointment YYYYMM, gender digit, 3-digit sequence, e.g. 198507142010011002",
        )


class UnknownPlatformError(InvalidEntryError):
    """A platform outside the fixed list."""

    def __init__(self, value: object, valid: list[str]) -> None:
        self.value = value
        super().__init__("platform", f"unknown platform {value!r}; use one of: {', '.join(valid)}")


class DuplicateEntryError(RegistryError):
    """A unique field (or field pair) already holds this value."""

    def __init__(self, entity: str, field: str, value: object) -> None:
        self.entity, self.field, self.value = entity, field, value
        super().__init__(f"a {entity} with {field} {value!r} already exists; {field} must be unique")


class NotFoundError(RegistryError, LookupError):
    """No row with this id or key."""

    def __init__(self, entity: str, key: object, field: str = "id") -> None:
        self.entity, self.key, self.field = entity, key, field
        super().__init__(
            f"no {entity} with {field} {key!r}; check the {field} or register the {entity} first"
        )


class InUseError(RegistryError):
    """A delete (or move) refused because other rows still depend on the entry."""
