"""Ids are never given twice on SQLite (AUTOINCREMENT), and users carry a session version.

SQLite gave a new row the highest id + 1, so the id of the newest deleted case, decision, job, API key or
user went to the next one, and audit entries, jobs and cookies that named it pointed at the newcomer.
Each table with an integer id is rebuilt with AUTOINCREMENT (PostgreSQL's sequences never reuse ids).
An id freed before this migration above the highest id left can still be given once.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 19:45:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Parents before children, so each rebuilt table's foreign keys name a table that exists.
TABLES = (
    "agencies",
    "audit_entries",
    "jobs",
    "api_keys",
    "frame_scores",
    "people",
    "scan_chunks",
    "schedules",
    "users",
    "assignments",
    "social_accounts",
    "cases",
    "case_decisions",
    "case_views",
    "detection_feedback",
    "evidence",
)


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("session_version", sa.Integer(), server_default="0", nullable=False))
    if op.get_bind().dialect.name == "sqlite":
        _rebuild(autoincrement=True)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild(autoincrement=False)
    with op.batch_alter_table("users") as batch:
        batch.drop_column("session_version")


def _rebuild(*, autoincrement: bool) -> None:
    for table in TABLES:
        with op.batch_alter_table(
            table, recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
        ):
            pass
