"""roster people: whether a member was made by a roster import (only those are matched by name by a later import)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Not a batch operation (see downgrade): SQLite adds a column in place.
    op.add_column("member", sa.Column("from_roster", sa.Boolean(), server_default=sa.false(), nullable=False))
    # Members an earlier import made without Telegram had a personal link made for them: those are known.
    op.execute(
        "UPDATE member SET from_roster = true WHERE id IN (SELECT member_id FROM invite WHERE kind = 'personal')"
    )


def downgrade() -> None:
    # Not a batch operation: on SQLite that copies the member table, and dropping the old one fails while ratings
    # and tasks refer to it (SQLite 3.35 and later drop a plain column in place, as PostgreSQL does).
    op.execute("ALTER TABLE member DROP COLUMN from_roster")
