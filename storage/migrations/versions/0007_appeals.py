"""appeals and voids of reviews

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("public_review", schema=None) as batch_op:
        batch_op.add_column(sa.Column("appeal_status", sa.String(length=16), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("appeal_reason", sa.String(length=500), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("void_reason", sa.String(length=300), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("public_review", schema=None) as batch_op:
        batch_op.drop_column("void_reason")
        batch_op.drop_column("voided_at")
        batch_op.drop_column("appeal_reason")
        batch_op.drop_column("appeal_status")
