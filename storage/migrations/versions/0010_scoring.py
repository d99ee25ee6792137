"""score tallies, rater marks and leaderboard snapshots

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rater_mark",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period_id", sa.Integer(), nullable=False),
        sa.Column(
            "target_kind", sa.Enum("section", "member", name="targetkind", native_enum=False, length=16), nullable=False
        ),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("rater_id", sa.Integer(), nullable=False),
        sa.Column("ratings", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["period_id"], ["period.id"], name=op.f("fk_rater_mark_period_id_period"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["rater_id"], ["member.id"], name=op.f("fk_rater_mark_rater_id_member"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rater_mark")),
        sa.UniqueConstraint(
            "period_id",
            "target_kind",
            "target_id",
            "rater_id",
            name=op.f("uq_rater_mark_period_id_target_kind_target_id_rater_id"),
        ),
    )
    op.create_table(
        "score_tally",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period_id", sa.Integer(), nullable=False),
        sa.Column(
            "target_kind", sa.Enum("section", "member", name="targetkind", native_enum=False, length=16), nullable=False
        ),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column(
            "rater_group",
            sa.Enum("internal", "industry", "public", name="ratergroup", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("measure", sa.String(length=32), nullable=False),
        sa.Column("total", sa.Float(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["period_id"], ["period.id"], name=op.f("fk_score_tally_period_id_period"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_score_tally")),
        sa.UniqueConstraint(
            "period_id",
            "target_kind",
            "target_id",
            "rater_group",
            "measure",
            name=op.f("uq_score_tally_period_id_target_kind_target_id_rater_group_measure"),
        ),
    )
    op.create_table(
        "snapshot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slot", sa.String(length=64), nullable=False),
        sa.Column("period_id", sa.Integer(), nullable=False),
        sa.Column("sections", sa.JSON(), nullable=False),
        sa.Column("members", sa.JSON(), nullable=False),
        sa.Column("taken_by_id", sa.Integer(), nullable=True),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["period_id"], ["period.id"], name=op.f("fk_snapshot_period_id_period"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["taken_by_id"], ["member.id"], name=op.f("fk_snapshot_taken_by_id_member"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_snapshot")),
        sa.UniqueConstraint("slot", name=op.f("uq_snapshot_slot")),
    )
    with op.batch_alter_table("snapshot", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_snapshot_period_id"), ["period_id"], unique=False)

    with op.batch_alter_table("public_review", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tally", sa.JSON(), server_default=sa.text("'{}'"), nullable=False))

    with op.batch_alter_table("rating", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tally", sa.JSON(), server_default=sa.text("'{}'"), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("rating", schema=None) as batch_op:
        batch_op.drop_column("tally")

    with op.batch_alter_table("public_review", schema=None) as batch_op:
        batch_op.drop_column("tally")

    with op.batch_alter_table("snapshot", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_snapshot_period_id"))

    op.drop_table("snapshot")
    op.drop_table("score_tally")
    op.drop_table("rater_mark")
