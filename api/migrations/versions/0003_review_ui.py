"""Review in the web UI: users, case decisions, per-user viewed status, detection feedback.

Revision ID: 0003_review_ui
Revises: 0002
Create Date: 2026-11-26 09:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003_review_ui"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)
JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _vocabulary(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True)


def _case_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["case_id"], ["cases.id"], name=op.f(f"fk_{table}_case_id_cases"), ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("role", _vocabulary("user_role", "uploader", "reviewer", "administrator"), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_users_agency_id_agencies"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_index(op.f("ix_users_agency_id"), "users", ["agency_id"], unique=False)
    op.create_table(
        "case_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind", _vocabulary("decision_kind", "confirm", "dismiss", "escalate", "comment"), nullable=False
        ),
        sa.Column(
            "reason",
            _vocabulary("dismiss_reason", "false_positive", "not_asn", "exempt_duty", "wrong_time", "other"),
            nullable=True,
        ),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
        _case_fk("case_decisions"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_decisions")),
    )
    op.create_index(op.f("ix_case_decisions_case_id"), "case_decisions", ["case_id"], unique=False)
    op.create_table(
        "case_views",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("viewed_at", TIMESTAMP, nullable=False),
        _case_fk("case_views"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_case_views_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_views")),
        sa.UniqueConstraint("case_id", "user_id", name=op.f("uq_case_views_case_id_user_id")),
    )
    op.create_index(op.f("ix_case_views_user_id"), "case_views", ["user_id"], unique=False)
    op.create_table(
        "detection_feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("evidence_n", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            _vocabulary("feedback_kind", "false_positive", "false_negative", "wrong_class"),
            nullable=False,
        ),
        sa.Column("detection_index", sa.Integer(), nullable=True),
        sa.Column("class_name", sa.String(length=50), nullable=True),
        sa.Column("box", JSON_DOCUMENT, nullable=True),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
        _case_fk("detection_feedback"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_detection_feedback")),
    )
    op.create_index(op.f("ix_detection_feedback_case_id"), "detection_feedback", ["case_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_detection_feedback_case_id"), table_name="detection_feedback")
    op.drop_table("detection_feedback")
    op.drop_index(op.f("ix_case_views_user_id"), table_name="case_views")
    op.drop_table("case_views")
    op.drop_index(op.f("ix_case_decisions_case_id"), table_name="case_decisions")
    op.drop_table("case_decisions")
    op.drop_index(op.f("ix_users_agency_id"), table_name="users")
    op.drop_table("users")
