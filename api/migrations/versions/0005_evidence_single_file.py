"""Evidence keeps one file per frame: the annotated view is rendered when a reviewer looks at it.

Annotated files written by earlier versions stay in the upload store, unreferenced; deleting the case or
its upload no longer removes them.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 17:20:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("evidence") as batch:
        batch.drop_column("annotated_sha256")


def downgrade() -> None:
    # Earlier versions served the annotated file by this hash; the original is the closest file there is.
    with op.batch_alter_table("evidence") as batch:
        batch.add_column(sa.Column("annotated_sha256", sa.String(64), nullable=True))
    op.execute("UPDATE evidence SET annotated_sha256 = original_sha256")
    with op.batch_alter_table("evidence") as batch:
        batch.alter_column("annotated_sha256", existing_type=sa.String(64), nullable=False)
