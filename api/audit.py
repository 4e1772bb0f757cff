"""The audit log: who saw, decided, exported or deleted what, when. Entries are only ever added here;
the ORM refuses to change or delete one (``AuditLogIsAppendOnlyError``), and no route offers either."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from api.auth import Caller
from api.db.models import AuditEntry
from api.errors import ForbiddenError

AUDIT_PAGE = 200
# What an entry can say happened, in the order the audit page offers them as filters.
ACTIONS = (
    "sign_in",
    "sign_in_failed",
    "sign_in_refused",
    "sign_out",
    "view_case",
    "view_evidence",
    "decide",
    "feedback",
    "export_report",
    "export_feedback",
    "create",
    "update",
    "delete",
    "registry_import",
    "create_user",
    "update_user",
    "set_password",
    "delete_user",
    "create_api_key",
    "revoke_api_key",
    "deletion_request",
    "retention_purge",
)


def record(
    session: Session, actor: Caller | str, action: str, target: str, detail: dict[str, object] | None = None
) -> AuditEntry:
    """Add one entry (``actor``: the caller, or a name such as ``cli`` or a refused username); flushed.
    ``action`` is one of ``ACTIONS``, so that the audit page can name and filter every entry."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}: add it to api.audit.ACTIONS and the UI messages")
    name = actor if isinstance(actor, str) else actor.actor
    entry = AuditEntry(actor=name[:100], action=action, target=target[:200], detail=detail or {})
    session.add(entry)
    session.flush()
    return entry


def list_audit(
    session: Session, caller: Caller, *, action: str | None = None, offset: int = 0
) -> list[AuditEntry]:
    """The newest entries first, for administrators without an agency scope only (the log names
    every agency's cases)."""
    if not caller.registry_wide:
        raise ForbiddenError("the audit log is for administrators without an agency scope (BKPSDM)")
    query = select(AuditEntry).order_by(AuditEntry.id.desc())
    if action:
        query = query.where(AuditEntry.action == action)
    return list(session.scalars(query.limit(AUDIT_PAGE).offset(offset)))


def case_trail(session: Session, case_id: int) -> list[AuditEntry]:
    """Every entry about one case, oldest first; the caller has checked that the case is visible."""
    target = f"case:{case_id}"
    query = select(AuditEntry).where(or_(AuditEntry.target == target, AuditEntry.target.like(f"{target}/%")))
    return list(session.scalars(query.order_by(AuditEntry.id)))
