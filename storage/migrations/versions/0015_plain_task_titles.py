"""plain task titles: rectification tasks' titles were stored with the reviewer's reason HTML-escaped

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02
"""

import html
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Titles are stored as typed and escaped once when shown; those of rectification tasks had the reason escaped
    before they were stored ("Tom &amp; Jerry"), so they showed escaped twice."""
    connection = op.get_bind()
    rows = connection.execute(
        sa.text("SELECT id, title FROM task WHERE id IN (SELECT task_id FROM public_review WHERE task_id IS NOT NULL)")
    ).all()
    for task_id, title in rows:
        if html.unescape(title) != title:
            connection.execute(
                sa.text("UPDATE task SET title = :title WHERE id = :id"), {"title": html.unescape(title), "id": task_id}
            )


def downgrade() -> None:
    """Nothing to undo: the older code shows these titles escaped once too many, as it did before."""
