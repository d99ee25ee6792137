"""public reviews and review links

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "public_review",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("section_id", sa.Integer(), nullable=False),
        sa.Column("reviewer_telegram_id", sa.BigInteger(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("comment", sa.String(length=500), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("complete", sa.Boolean(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["section_id"], ["section.id"], name=op.f("fk_public_review_section_id_section"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["task_id"], ["task.id"], name=op.f("fk_public_review_task_id_task"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_public_review")),
        sa.UniqueConstraint(
            "section_id",
            "reviewer_telegram_id",
            "day",
            name=op.f("uq_public_review_section_id_reviewer_telegram_id_day"),
        ),
    )
    with op.batch_alter_table("public_review", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_public_review_section_id"), ["section_id"], unique=False)

    with op.batch_alter_table("section", schema=None) as batch_op:
        batch_op.add_column(sa.Column("review_token", sa.String(length=32), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_section_review_token"), ["review_token"])


def downgrade() -> None:
    with op.batch_alter_table("section", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_section_review_token"), type_="unique")
        batch_op.drop_column("review_token")

    with op.batch_alter_table("public_review", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_public_review_section_id"))

    op.drop_table("public_review")
