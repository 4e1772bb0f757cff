"""The audit log's entries for registry changes, worded the same whether the change came through the API
or the web UI: ``create`` / ``update`` / ``delete`` of ``<section>:<id>`` (e.g. ``assignments:7``) and
``registry_import`` of ``registry``. Who changed an account's owner or a surat tugas matters later, when
a case is judged by them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Literal, TypeVar

from sqlalchemy import inspect
from sqlalchemy.orm import Session

from api.audit import record
from api.auth import Caller
from api.db.models import Agency, Assignment, Base, Person, Schedule, SocialAccount
from api.registry.csv_import import ImportReport

Section = Literal["agencies", "people", "accounts", "schedules", "assignments"]
MODELS: dict[Section, type[Base]] = {
    "agencies": Agency,
    "people": Person,
    "accounts": SocialAccount,
    "schedules": Schedule,
    "assignments": Assignment,
}
Entry = TypeVar("Entry", bound=Base)


def record_change(
    session: Session,
    actor: Caller | str,
    action: Literal["create", "delete"],
    section: Section,
    entry_id: int,
) -> None:
    """One registry entry created or deleted; flushed."""
    record(session, actor, action, f"{section}:{entry_id}")


def record_update(
    session: Session,
    actor: Caller | str,
    section: Section,
    entry_id: int,
    update: Callable[..., Entry],
    fields: Mapping[str, object],
) -> Entry:
    """Apply ``update(session, entry_id, **fields)`` and audit it, naming what it changed: the columns
    whose values differ after it, and the events given (a move's ``moved_on``, a handover's
    ``handed_over_on``, a change of status's ``status_changed_on``). An edit form gives every field and an
    API patch may repeat a value, so the fields given are not what changed. Flushed; a refused update
    records nothing."""
    entry = session.get(MODELS[section], entry_id)
    before = _columns(entry) if entry is not None else {}
    updated = update(session, entry_id, **fields)
    after = _columns(updated)
    changed = [name for name, value in after.items() if before[name] != value]
    events = [name for name in fields if name not in after]
    record(session, actor, "update", f"{section}:{entry_id}", {"fields": sorted(changed + events)})
    return updated


def _columns(entry: Base) -> dict[str, object]:
    return {column.key: getattr(entry, column.key) for column in inspect(entry).mapper.column_attrs}


def record_import(session: Session, actor: Caller | str, report: ImportReport) -> None:
    """A CSV import that registered its rows (not a preview, not a refused file); flushed."""
    record(session, actor, "registry_import", "registry", report.counts())
