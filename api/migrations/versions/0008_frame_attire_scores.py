"""Each scored frame keeps its best official-attire score beside its detections, so that a case page
plots a day of frames without decoding 86,400 JSON documents (most of a 1.4-2 s page before).

Frames stored before are given theirs from their stored detections.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 14:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The taxonomy's official-attire classes at this revision (kept here as they were, whatever it says later).
OFFICIAL = frozenset(
    {
        "pdh_khaki",
        "korpri_batik",
        "field_uniform",
        "name_plate",
        "korpri_badge",
        "emblem_patch",
        "rank_insignia",
        "id_card",
    }
)
BATCH_ROWS = 5000
frame_scores = sa.table(
    "frame_scores",
    sa.column("id", sa.Integer),
    sa.column("detections", sa.JSON().with_variant(postgresql.JSONB(), "postgresql")),
    sa.column("attire_score", sa.Double),
)


def upgrade() -> None:
    op.add_column("frame_scores", sa.Column("attire_score", sa.Double(), nullable=False, server_default="0"))
    connection = op.get_bind()
    last = 0
    while rows := connection.execute(
        sa.select(frame_scores.c.id, frame_scores.c.detections)
        .where(frame_scores.c.id > last)
        .order_by(frame_scores.c.id)
        .limit(BATCH_ROWS)
    ).all():
        scores = [
            {"row_id": row.id, "score": max(d["score"] for d in official)}
            for row in rows
            if (official := [d for d in row.detections if d["class"] in OFFICIAL])
        ]
        if scores:
            connection.execute(
                sa.update(frame_scores)
                .where(frame_scores.c.id == sa.bindparam("row_id"))
                .values(attire_score=sa.bindparam("score")),
                scores,
            )
        last = rows[-1].id


def downgrade() -> None:
    with op.batch_alter_table("frame_scores") as batch:
        batch.drop_column("attire_score")
