"""published tallies: what the boards show follows the running sums in steps of min_raters new raters, and the
comments of ratings are passed on once a step has shown them

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Columns added in place (no batch copy: other tables refer to these).
    op.add_column("score_tally", sa.Column("shown_total", sa.Float(), server_default="0", nullable=False))
    op.add_column("score_tally", sa.Column("shown_count", sa.Integer(), server_default="0", nullable=False))
    op.add_column("campaign", sa.Column("publish_every", sa.Integer(), server_default="3", nullable=False))
    op.add_column("rating", sa.Column("comment_released", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.execute("UPDATE score_tally SET shown_total = total, shown_count = count")  # what was shown stays shown
    op.execute("UPDATE rating SET comment_released = true")  # and what was rated is in it


def downgrade() -> None:
    op.execute("ALTER TABLE rating DROP COLUMN comment_released")
    op.execute("ALTER TABLE campaign DROP COLUMN publish_every")
    op.execute("ALTER TABLE score_tally DROP COLUMN shown_count")
    op.execute("ALTER TABLE score_tally DROP COLUMN shown_total")
