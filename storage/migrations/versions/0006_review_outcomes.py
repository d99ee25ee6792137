"""review outcomes and follow-ups

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("public_review", schema=None) as batch_op:
        batch_op.add_column(sa.Column("outcome", sa.String(length=16), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("outcome_note", sa.String(length=500), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("followup_satisfied", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("language", sa.String(length=8), nullable=True))
        batch_op.create_index(batch_op.f("ix_public_review_task_id"), ["task_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("public_review", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_public_review_task_id"))
        batch_op.drop_column("language")
        batch_op.drop_column("followup_satisfied")
        batch_op.drop_column("outcome_note")
        batch_op.drop_column("outcome")
