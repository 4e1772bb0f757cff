"""The public surface of ``api.registry`` and ``api.db``: everything exported exists, errors share a base."""

from __future__ import annotations

import pytest

import api.db
import api.registry
from api.registry import (
    DuplicateEntryError,
    InUseError,
    InvalidEntryError,
    InvalidNipError,
    NotFoundError,
    RegistryError,
    UnknownPlatformError,
)


@pytest.mark.parametrize("module", [api.registry, api.db])
def test_all_names_exist_and_are_sorted(module: object) -> None:
    names = module.__all__  # type: ignore[attr-defined]
    assert all(hasattr(module, name) for name in names)
    assert names == sorted(names, key=lambda n: (not n.isupper(), n))


@pytest.mark.parametrize(
    "error",
    [
        DuplicateEntryError,
        InUseError,
        InvalidEntryError,
        InvalidNipError,
        NotFoundError,
        UnknownPlatformError,
    ],
)
def test_every_registry_error_is_a_registry_error(error: type[Exception]) -> None:
    assert issubclass(error, RegistryError)
