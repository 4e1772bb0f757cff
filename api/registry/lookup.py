"""Small queries every registry module needs: fetch by key or fail, count dependants."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from api.registry.errors import NotFoundError

T = TypeVar("T")


def get_or_raise(session: Session, model: type[T], key: Any, entity: str) -> T:
    """``session.get`` that raises :class:`NotFoundError` instead of returning None."""
    found = session.get(model, key)
    if found is None:
        raise NotFoundError(entity, key)
    return found


def count_where(session: Session, model: type[Any], condition: ColumnElement[bool]) -> int:
    """How many rows of ``model`` match ``condition``."""
    return session.scalar(select(func.count()).select_from(model).where(condition)) or 0
