"""ratings and rating forms

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rating",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rater_id", sa.Integer(), nullable=False),
        sa.Column(
            "rater_group",
            sa.Enum("internal", "industry", "public", name="ratergroup", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column(
            "target_kind", sa.Enum("section", "member", name="targetkind", native_enum=False, length=16), nullable=False
        ),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("period_id", sa.Integer(), nullable=False),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("comment", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("void_reason", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(
            ["period_id"], ["period.id"], name=op.f("fk_rating_period_id_period"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["rater_id"], ["member.id"], name=op.f("fk_rating_rater_id_member"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rating")),
        sa.UniqueConstraint(
            "rater_id",
            "target_kind",
            "target_id",
            "period_id",
            name=op.f("uq_rating_rater_id_target_kind_target_id_period_id"),
        ),
    )
    with op.batch_alter_table("rating", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rating_period_id"), ["period_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_rating_target_id"), ["target_id"], unique=False)

    op.create_table(
        "rating_form",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rater_id", sa.Integer(), nullable=False),
        sa.Column(
            "target_kind", sa.Enum("section", "member", name="targetkind", native_enum=False, length=16), nullable=False
        ),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("period_id", sa.Integer(), nullable=False),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.Column("comment", sa.String(length=500), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column(
            "status",
            sa.Enum("open", "confirmed", "cancelled", name="formstatus", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["period_id"], ["period.id"], name=op.f("fk_rating_form_period_id_period"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["rater_id"], ["member.id"], name=op.f("fk_rating_form_rater_id_member"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rating_form")),
    )
    with op.batch_alter_table("rating_form", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rating_form_rater_id"), ["rater_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("rating_form", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rating_form_rater_id"))

    op.drop_table("rating_form")
    with op.batch_alter_table("rating", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rating_target_id"))
        batch_op.drop_index(batch_op.f("ix_rating_period_id"))

    op.drop_table("rating")
