"""reviews from the web page: the reviewer's contact for a call back, and the address the review came from

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("public_review", sa.Column("contact", sa.String(length=100), nullable=False, server_default=""))
    op.add_column("public_review", sa.Column("client_address", sa.String(length=64), nullable=True))
    op.create_index("ix_public_review_client_address", "public_review", ["client_address"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_public_review_client_address", table_name="public_review")
    op.execute("ALTER TABLE public_review DROP COLUMN client_address")
    op.execute("ALTER TABLE public_review DROP COLUMN contact")
