"""Registered handles written the way lookups now read them: NFKC, no invisible format characters,
case-folded, without a leading ``@``.

A handle stored before, with a zero-width space, a BOM or full-width letters in it, would otherwise no
longer be found by the same text typed again. A handle whose new form another account on the same
platform already has is left as it is, and named in a warning: which of the two is the person's account
is for a registry administrator to decide.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 20:15:00.000000
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger(__name__)
accounts = sa.table(
    "social_accounts",
    sa.column("id", sa.Integer),
    sa.column("platform", sa.String),
    sa.column("handle", sa.String),
)


def _normalised(handle: str) -> str:
    """The rule of this revision (kept here as it was, whatever later code does)."""
    visible = "".join(c for c in unicodedata.normalize("NFKC", handle) if unicodedata.category(c) != "Cf")
    return visible.strip().casefold().lstrip("@")


def upgrade() -> None:
    connection = op.get_bind()
    rows = connection.execute(sa.select(accounts.c.id, accounts.c.platform, accounts.c.handle)).all()
    taken = {(row.platform, row.handle) for row in rows}
    for row in rows:
        handle = _normalised(row.handle)
        if handle == row.handle:
            continue
        if (row.platform, handle) in taken:
            log.warning(
                "account %d (%s @%s) is the same handle as @%s on that platform; left as it is",
                row.id,
                row.platform,
                row.handle,
                handle,
            )
            continue
        connection.execute(sa.update(accounts).where(accounts.c.id == row.id).values(handle=handle))
        taken.add((row.platform, handle))


def downgrade() -> None:
    pass  # the old forms are not kept; the normalised handles are as valid before this revision
