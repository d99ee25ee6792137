"""Public good/bad reviews (好差评) and the sections' review links."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any, NamedTuple

from sqlalchemy import bindparam
from sqlalchemy.orm.attributes import flag_modified
from sqlmodel import col, func, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import scoring
from storage.models import LARGEST_ID, PublicReview, Section, Task, TaskStatus

TOKEN_BYTES = 12


async def review_token(*, session: AsyncSession, section: Section) -> str:
    """The section's review link token, made the first time it is asked for."""
    if section.review_token is None:
        section.review_token = secrets.token_urlsafe(TOKEN_BYTES)
        session.add(section)
        await session.flush()
    return section.review_token


class SectionLink(NamedTuple):
    """A section in use and its review link token."""

    section_id: int
    name: str
    token: str | None


IN_USE = col(Section.archived_at).is_(None)
SECTIONS_LINKED = select(func.count(), func.count(col(Section.review_token))).where(IN_USE)
SECTION_LINKS = (
    select(Section.id, Section.name, Section.review_token)
    .where(IN_USE)
    .order_by(col(Section.kind), col(Section.sort_name), col(Section.id))
)


async def count_section_links(*, session: AsyncSession) -> tuple[int, int]:
    """(sections in use, how many of them have a review link token)."""
    sections, linked = (await session.exec(SECTIONS_LINKED)).one()
    return int(sections), int(linked)


async def list_section_links(*, session: AsyncSession, offset: int = 0, limit: int | None = None) -> list[SectionLink]:
    """The sections in use with their tokens, in the sections' order (offices first), as plain rows: all of them,
    or `limit` from the `offset`th."""
    rows = await session.exec(SECTION_LINKS.offset(offset).limit(limit))
    return [SectionLink._make(row) for row in rows.all()]


async def create_missing_review_tokens(*, session: AsyncSession) -> int:
    """Makes the review tokens the sections in use have not got yet; how many. The rows are locked first: of two
    transactions doing this at once (PostgreSQL), the second waits, then finds them made (SQLite's writers take
    turns anyway)."""
    query = select(Section).where(IN_USE, col(Section.review_token).is_(None)).with_for_update()
    missing = (await session.exec(query)).all()
    for section in missing:
        await review_token(session=session, section=section)
    return len(missing)


async def section_by_review_token(*, session: AsyncSession, token: str) -> Section | None:
    """The section of a review link (every review page asks: the statement is built once)."""
    return (await session.exec(_BY_TOKEN, params={"token": token})).first()


_BY_TOKEN = select(Section).where(col(Section.review_token) == bindparam("token"))


async def todays_review(
    *, session: AsyncSession, section_id: int, reviewer_telegram_id: int, day: dt.date
) -> PublicReview | None:
    query = select(PublicReview).where(
        PublicReview.section_id == section_id,
        PublicReview.reviewer_telegram_id == reviewer_telegram_id,
        PublicReview.day == day,
    )
    return (await session.exec(query)).first()


async def reviewer_reviews(
    *, session: AsyncSession, section_id: int, reviewer_telegram_id: int, day: dt.date
) -> list[PublicReview]:
    """The reviewer's reviews of the section that are `day`'s or not void, in one query: whether they reviewed it
    that day already, and which reviews a new one replaces (handlers.reviews.replace_earlier). Built once."""
    params = {"section_id": section_id, "reviewer": reviewer_telegram_id, "day": day}
    return list((await session.exec(_REVIEWER_REVIEWS, params=params)).all())


_REVIEWER_REVIEWS = select(PublicReview).where(
    col(PublicReview.section_id) == bindparam("section_id"),
    col(PublicReview.reviewer_telegram_id) == bindparam("reviewer"),
    or_(col(PublicReview.day) == bindparam("day"), col(PublicReview.voided_at).is_(None)),
)


async def add_review(
    *,
    session: AsyncSession,
    section_id: int,
    reviewer_telegram_id: int,
    level: int,
    day: dt.date,
    language: str | None = None,
    **details: Any,
) -> PublicReview:
    """A new review; `details` are more of its fields (a review from the web page comes with all of them, its
    rectification task included): one INSERT, its tally with it (`scoring.sync_review`)."""
    review = PublicReview(
        section_id=section_id,
        reviewer_telegram_id=reviewer_telegram_id,
        level=level,
        day=day,
        language=language,
        **{"complete": level >= 3, **details},
    )
    session.add(review)
    await scoring.sync_review(session=session, review=review)
    await session.flush()
    return review


async def get_review(*, session: AsyncSession, review_id: int) -> PublicReview | None:
    if not 0 < review_id <= LARGEST_ID:
        return None
    return await session.get(PublicReview, review_id)


async def save_review(*, session: AsyncSession, review: PublicReview) -> PublicReview:
    flag_modified(review, "tags")
    session.add(review)
    await session.flush()
    await scoring.sync_review(session=session, review=review)
    return review


async def review_of_task(*, session: AsyncSession, task_id: int) -> PublicReview | None:
    """The bad review a rectification task was opened for, if it was."""
    return (await session.exec(select(PublicReview).where(PublicReview.task_id == task_id))).first()


async def list_unsettled_reviews(*, session: AsyncSession) -> list[PublicReview]:
    """Bad reviews marked rectified whose reviewer is not satisfied and that no leader has closed: oldest first."""
    query = (
        select(PublicReview)
        .join(Task, col(Task.id) == col(PublicReview.task_id))
        .where(
            col(PublicReview.followup_satisfied).is_(False),
            col(PublicReview.settled_at).is_(None),
            col(PublicReview.voided_at).is_(None),
            Task.status == TaskStatus.DONE,
        )
        .order_by(col(PublicReview.day), col(PublicReview.id))
    )
    return list((await session.exec(query)).all())


async def settle_review(*, session: AsyncSession, review: PublicReview, now: dt.datetime) -> PublicReview:
    """A leader closes a rectification its reviewer was not satisfied with: it counts as rectified from now on."""
    review.settled_at = now
    return await save_review(session=session, review=review)


async def list_reviews_from(*, session: AsyncSession, address: str, limit: int) -> list[PublicReview]:
    """The finished reviews that came from one address (the web page's), newest first, void ones too."""
    query = (
        select(PublicReview)
        .where(PublicReview.client_address == address, col(PublicReview.complete).is_(True))
        .order_by(col(PublicReview.id).desc())
        .limit(limit)
    )
    return list((await session.exec(query)).all())


async def count_reviews_from(*, session: AsyncSession, address: str) -> int:
    query = (
        select(func.count())
        .select_from(PublicReview)
        .where(PublicReview.client_address == address, col(PublicReview.complete).is_(True))
    )
    return int((await session.exec(query)).one())


def _standing() -> tuple[Any, ...]:
    """A review that counts: finished by its reviewer, not void."""
    return col(PublicReview.voided_at).is_(None), col(PublicReview.complete).is_(True)


async def count_standing_reviews(*, session: AsyncSession) -> int:
    """The reviews finished and not void (those /moderate lists)."""
    query = select(func.count()).select_from(PublicReview).where(*_standing())
    return int((await session.exec(query)).one())


async def list_standing_reviews(*, session: AsyncSession, offset: int = 0, limit: int = 8) -> list[PublicReview]:
    """The reviews finished and not void, newest first, `limit` of them from `offset` on."""
    query = select(PublicReview).where(*_standing()).order_by(col(PublicReview.id).desc()).offset(offset).limit(limit)
    return list((await session.exec(query)).all())


REPLACED = "replaced by a later review of the same reviewer"


async def other_reviews(*, session: AsyncSession, review: PublicReview) -> list[PublicReview]:
    """The reviewer's other reviews of the section that are not void (on any day)."""
    query = select(PublicReview).where(
        PublicReview.section_id == review.section_id,
        PublicReview.reviewer_telegram_id == review.reviewer_telegram_id,
        PublicReview.id != review.id,
        col(PublicReview.voided_at).is_(None),
    )
    return list((await session.exec(query)).all())


async def replace_reviews(*, session: AsyncSession, earlier: list[PublicReview], now: dt.datetime) -> None:
    """Voids a reviewer's earlier reviews of a section, replaced by their new one (one reviewer per period)."""
    for old in earlier:
        await void_review(session=session, review=old, reason=REPLACED, now=now)


async def void_review(*, session: AsyncSession, review: PublicReview, reason: str, now: dt.datetime) -> None:
    """Nothing is deleted: the review is marked void with a reason, and the scores leave it out."""
    review.voided_at, review.void_reason = now, reason[:300]
    session.add(review)
    await session.flush()
    await scoring.sync_review(session=session, review=review)
