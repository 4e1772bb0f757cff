"""The registry's past: a person's past agencies (mutasi) and an account's past owners, so that a stream is
judged by who owned the account on its day and the agency they served in then.

Entries registered before have no past: every stream is judged by the account's owner and agency now, as
it was before this revision.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 20:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "past_postings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("until", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_past_postings_person_id_people"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["agency_id"],
            ["agencies.id"],
            name=op.f("fk_past_postings_agency_id_agencies"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_past_postings")),
    )
    op.create_index(op.f("ix_past_postings_person_id"), "past_postings", ["person_id"], unique=False)
    op.create_index(op.f("ix_past_postings_agency_id"), "past_postings", ["agency_id"], unique=False)
    op.create_table(
        "past_ownerships",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("until", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["social_accounts.id"],
            name=op.f("fk_past_ownerships_account_id_social_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_past_ownerships_person_id_people"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_past_ownerships")),
    )
    op.create_index(op.f("ix_past_ownerships_account_id"), "past_ownerships", ["account_id"], unique=False)
    op.create_index(op.f("ix_past_ownerships_person_id"), "past_ownerships", ["person_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_past_ownerships_person_id"), table_name="past_ownerships")
    op.drop_index(op.f("ix_past_ownerships_account_id"), table_name="past_ownerships")
    op.drop_table("past_ownerships")
    op.drop_index(op.f("ix_past_postings_agency_id"), table_name="past_postings")
    op.drop_index(op.f("ix_past_postings_person_id"), table_name="past_postings")
    op.drop_table("past_postings")
