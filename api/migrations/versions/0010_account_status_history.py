"""An account's past statuses: whether it was official, and for which agency, before its status changed,
so that a stream is judged by the status of its day.

Accounts registered before have no past: every stream is judged by the account's status now, as it was
before this revision.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 19:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "past_account_statuses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("is_official", sa.Boolean(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=True),
        sa.Column("until", sa.Date(), nullable=False),
        sa.CheckConstraint(
            "NOT is_official OR agency_id IS NOT NULL",
            name=op.f("ck_past_account_statuses_official_has_agency"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["social_accounts.id"],
            name=op.f("fk_past_account_statuses_account_id_social_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["agency_id"],
            ["agencies.id"],
            name=op.f("fk_past_account_statuses_agency_id_agencies"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_past_account_statuses")),
    )
    op.create_index(
        op.f("ix_past_account_statuses_account_id"), "past_account_statuses", ["account_id"], unique=False
    )
    op.create_index(
        op.f("ix_past_account_statuses_agency_id"), "past_account_statuses", ["agency_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_past_account_statuses_agency_id"), table_name="past_account_statuses")
    op.drop_index(op.f("ix_past_account_statuses_account_id"), table_name="past_account_statuses")
    op.drop_table("past_account_statuses")
