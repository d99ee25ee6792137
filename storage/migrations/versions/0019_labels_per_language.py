"""labels per language: a bad review keeps its reasons' keys (public_review.tags), and a task titled by the bot from
them keeps its title in each language (task.title_by_language); the campaign group has a language
(campaign_group.language)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The default reasons as earlier releases stored them (Chinese and English in one text), and their keys now.
OLD_TAGS = {
    "态度不好 Unfriendly": ("unfriendly", "态度不好", "Unfriendly"),
    "办事拖延 Slow": ("slow", "办事拖延", "Slow"),
    "材料要求不清 Unclear requirements": ("unclear", "材料要求不清", "Unclear requirements"),
    "多次跑腿 Came back again": ("again", "多次跑腿", "Came back again"),
}
TITLES = {"zh_CN": "差评整改：{why}", "en": "Rectify a bad review: {why}"}
SEPARATORS = {"zh_CN": "；", "en": "; "}

review = sa.table(
    "public_review",
    sa.column("id", sa.Integer),
    sa.column("tags", sa.JSON),
    sa.column("reason", sa.String),
    sa.column("task_id", sa.Integer),
)
task = sa.table("task", sa.column("id", sa.Integer), sa.column("title_by_language", sa.JSON))


def upgrade() -> None:
    op.add_column("task", sa.Column("title_by_language", sa.JSON(), nullable=True))
    op.add_column("campaign_group", sa.Column("language", sa.String(length=8), nullable=True))
    bind = op.get_bind()
    rows = bind.execute(sa.select(review.c.id, review.c.tags, review.c.reason, review.c.task_id)).all()
    for review_id, tags, reason, task_id in rows:
        tags = list(tags or [])
        keys = [OLD_TAGS[tag][0] if tag in OLD_TAGS else tag for tag in tags]
        if keys != tags:
            bind.execute(sa.update(review).where(review.c.id == review_id).values(tags=keys))
        if task_id is None or not tags:
            continue
        titles = {}
        for language, title in TITLES.items():
            names = [OLD_TAGS[tag][1 if language == "zh_CN" else 2] if tag in OLD_TAGS else tag for tag in tags]
            titles[language] = title.format(why=SEPARATORS[language].join([*names, *([reason] if reason else [])]))[
                :200
            ]
        bind.execute(sa.update(task).where(task.c.id == task_id).values(title_by_language=titles))


def downgrade() -> None:
    bind = op.get_bind()
    back = {key: old for old, (key, _zh, _en) in OLD_TAGS.items()}
    for review_id, tags in bind.execute(sa.select(review.c.id, review.c.tags)).all():
        tags = list(tags or [])
        olds = [back.get(tag, tag) for tag in tags]
        if olds != tags:
            bind.execute(sa.update(review).where(review.c.id == review_id).values(tags=olds))
    op.execute("ALTER TABLE task DROP COLUMN title_by_language")
    op.execute("ALTER TABLE campaign_group DROP COLUMN language")
