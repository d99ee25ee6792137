"""board version: a counter raised with every change to what the boards are computed from

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-25 21:37:38
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "board_version",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_board_version")),
    )


def downgrade() -> None:
    op.drop_table("board_version")
