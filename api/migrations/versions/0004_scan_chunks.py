"""Recordings scored in place by ``seragam batch`` (job kind ``stream``); finished chunks of every scan.

Revision ID: 0004
Revises: 0003_review_ui
Create Date: 2026-11-25 15:15:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003_review_ui"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)
JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _job_kinds(kinds: str, length: int) -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_constraint(op.f("ck_jobs_job_kind"), type_="check")
        batch.alter_column("kind", type_=sa.String(length), existing_nullable=False)
        batch.create_check_constraint(op.f("ck_jobs_job_kind"), f"kind IN ({kinds})")


def upgrade() -> None:
    _job_kinds("'frame', 'clip', 'stream'", 6)
    op.create_table(
        "scan_chunks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("times", JSON_DOCUMENT, nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_scan_chunks_job_id_jobs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scan_chunks")),
        sa.UniqueConstraint("job_id", "n", name=op.f("uq_scan_chunks_job_id_n")),
    )


def downgrade() -> None:
    op.drop_table("scan_chunks")
    op.execute("DELETE FROM jobs WHERE kind = 'stream'")
    _job_kinds("'frame', 'clip'", 5)
