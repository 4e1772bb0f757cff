"""The audit log's entries for registry changes, worded the same whether the change came through the API
or the web UI: ``create`` / ``update`` / ``delete`` of ``<section>:<id>`` (e.g. ``assignments:7``) and
``registry_import`` of ``registry``. Who changed an account's owner or a surat tugas matters later, when
a case is judged by them."""

from __future__ import annotations

from collections.abc import Collection
from typing import Literal

from sqlalchemy.orm import Session

from api.audit import record
from api.auth import Caller
from api.registry.csv_import import ImportReport

Section = Literal["agencies", "people", "accounts", "schedules", "assignments"]
Change = Literal["create", "update", "delete"]


def record_change(
    session: Session,
    actor: Caller | str,
    action: Change,
    section: Section,
    entry_id: int,
    *,
    fields: Collection[str] = (),
) -> None:
    """One registry entry created, updated (``fields``: the names of those given) or deleted; flushed."""
    record(session, actor, action, f"{section}:{entry_id}", {"fields": sorted(fields)} if fields else None)


def record_import(session: Session, actor: Caller | str, report: ImportReport) -> None:
    """A CSV import that registered its rows (not a preview, not a refused file); flushed."""
    counts = {
        "agencies": report.agencies,
        "people": report.people,
        "accounts": report.accounts,
        "assignments": report.assignments,
        "moves": report.moves,
        "handovers": report.handovers,
    }
    record(session, actor, "registry_import", "registry", counts)
