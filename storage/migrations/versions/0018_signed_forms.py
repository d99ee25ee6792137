"""signed rating forms: the form's state travels signed in its buttons (signing_key); only a typed comment is
stored (form_comment); rating_form goes; a rating remembers the form that made it (rating.form_nonce)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "signing_key",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("secret", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_signing_key")),
    )
    op.create_table(
        "form_comment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rater_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["rater_id"], ["member.id"], name=op.f("fk_form_comment_rater_id_member"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_form_comment")),
    )
    op.create_index(op.f("ix_form_comment_rater_id"), "form_comment", ["rater_id"], unique=False)
    op.add_column("rating", sa.Column("form_nonce", sa.Integer(), server_default="0", nullable=False))
    # Forms half filled in at the upgrade are dropped: their old buttons answer that they have expired.
    op.drop_index(op.f("ix_rating_form_rater_id"), table_name="rating_form")
    op.drop_table("rating_form")


def downgrade() -> None:
    op.execute("ALTER TABLE rating DROP COLUMN form_nonce")
    op.create_table(
        "rating_form",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rater_id", sa.Integer(), nullable=False),
        sa.Column(
            "target_kind", sa.Enum("section", "member", name="targetkind", native_enum=False, length=16), nullable=False
        ),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("period_id", sa.Integer(), nullable=False),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.Column("comment", sa.String(length=500), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column(
            "status",
            sa.Enum("open", "confirmed", "cancelled", name="formstatus", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["period_id"], ["period.id"], name=op.f("fk_rating_form_period_id_period"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["rater_id"], ["member.id"], name=op.f("fk_rating_form_rater_id_member"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rating_form")),
    )
    op.create_index(op.f("ix_rating_form_rater_id"), "rating_form", ["rater_id"], unique=False)
    op.drop_index(op.f("ix_form_comment_rater_id"), table_name="form_comment")
    op.drop_table("form_comment")
    op.drop_table("signing_key")
