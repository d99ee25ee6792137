"""closed periods: a period whose results were published whole after it ended (looked up by every sweep instead
of comparing every tally row of every ended period)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # In place (no batch copy: other tables refer to periods). The next sweep publishes and closes the ended ones.
    op.add_column("period", sa.Column("closed", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    op.execute("ALTER TABLE period DROP COLUMN closed")
