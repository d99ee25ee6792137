"""one order for names everywhere: sections and members keep the key they are listed by (sort_name: Chinese by
pinyin, through GB 18030; storage.models.sort_name)

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SORT_NAME_MAX_LENGTH = 512


def sort_name(name: str) -> str:  # as storage.models.sort_name: a migration keeps the rule it was written with
    return name.casefold().encode("gb18030", errors="replace").hex()


def upgrade() -> None:
    for table, name_column in (("section", "name"), ("member", "display_name")):
        op.add_column(
            table, sa.Column("sort_name", sa.String(length=SORT_NAME_MAX_LENGTH), nullable=False, server_default="")
        )
        rows = sa.table(table, sa.column("id", sa.Integer), sa.column(name_column, sa.String), sa.column("sort_name"))
        bind = op.get_bind()
        for row_id, name in bind.execute(sa.select(rows.c.id, rows.c[name_column])).all():
            bind.execute(sa.update(rows).where(rows.c.id == row_id).values(sort_name=sort_name(name)))
    op.create_index("ix_member_sort_name", "member", ["sort_name"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_member_sort_name", table_name="member")
    op.execute("ALTER TABLE member DROP COLUMN sort_name")
    op.execute("ALTER TABLE section DROP COLUMN sort_name")
