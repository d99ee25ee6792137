"""Ratings, and the comments typed on the forms they are filled in on."""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass

from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import scoring
from storage.models import (
    Campaign,
    FormComment,
    Member,
    MemberStatus,
    Period,
    PeriodKind,
    RaterGroup,
    Rating,
    Role,
    Section,
    TargetKind,
)
from storage.session import upsert_insert


async def current_period(*, session: AsyncSession, kind: PeriodKind, today: dt.date) -> Period | None:
    """The rating period that contains today, inside the campaign's dates only."""
    query = (
        select(Period)
        .join(Campaign, col(Campaign.id) == col(Period.campaign_id))
        .where(Period.kind == kind, col(Period.starts_on) <= today, col(Period.ends_on) >= today)
    )
    return (await session.exec(query)).first()


async def get_period(*, session: AsyncSession, period_id: int) -> Period | None:
    return await session.get(Period, period_id)


async def rateable_sections(*, session: AsyncSession, own_section_id: int | None) -> list[Section]:
    query = select(Section).where(col(Section.archived_at).is_(None)).order_by(col(Section.name))
    if own_section_id is not None:
        query = query.where(col(Section.id) != own_section_id)
    return list((await session.exec(query)).all())


async def rateable_colleagues(*, session: AsyncSession, rater_id: int) -> list[tuple[Member, str]]:
    """Active staff and heads with a section, the rater excepted (the leaders judge the campaign, they are not
    candidates in it), each with their section's name."""
    query = (
        select(Member, Section.name)
        .join(Section, col(Section.id) == col(Member.section_id))
        .where(
            Member.status == MemberStatus.ACTIVE,
            col(Member.id) != rater_id,
            col(Member.role).in_(scoring.SCORED_ROLES),
            col(Section.archived_at).is_(None),
        )
        .order_by(col(Member.display_name), col(Section.name))
    )
    return [(member, section) for member, section in (await session.exec(query)).all()]


async def rateable_colleague(*, session: AsyncSession, rater_id: int, member_id: int) -> Member | None:
    """The colleague, if `rateable_colleagues` would offer them to this rater."""
    query = (
        select(Member)
        .join(Section, col(Section.id) == col(Member.section_id))
        .where(
            col(Member.id) == member_id,
            Member.status == MemberStatus.ACTIVE,
            col(Member.id) != rater_id,
            col(Member.role).in_(scoring.SCORED_ROLES),
            col(Section.archived_at).is_(None),
        )
    )
    return (await session.exec(query)).first()


async def save_comment(*, session: AsyncSession, rater_id: int, text: str, now: dt.datetime) -> int:
    """Keeps a comment typed on a rating form; its id goes into the form's buttons."""
    comment = FormComment(rater_id=rater_id, text=text, created_at=now)
    session.add(comment)
    await session.flush()
    return comment.id or 0


async def get_comment(*, session: AsyncSession, comment_id: int) -> str | None:
    comment = await session.get(FormComment, comment_id)
    return comment.text if comment is not None else None


async def forget_comments(*, session: AsyncSession, before: dt.datetime) -> int:
    """Drops the comments typed on forms before `before` (a form is filled in minutes; its rating keeps its own)."""
    result = await session.exec(delete(FormComment).where(col(FormComment.created_at) < before))
    return int(result.rowcount or 0)


async def get_rating(
    *, session: AsyncSession, rater_id: int, target_kind: TargetKind, target_id: int, period_id: int
) -> Rating | None:
    query = select(Rating).where(
        Rating.rater_id == rater_id,
        Rating.target_kind == target_kind,
        Rating.target_id == target_id,
        Rating.period_id == period_id,
        col(Rating.voided_at).is_(None),
    )
    return (await session.exec(query)).first()


@dataclass(frozen=True)
class NewRating:
    """What a confirmed rating form holds."""

    rater_id: int
    rater_group: RaterGroup
    target_kind: TargetKind
    target_id: int
    period_id: int
    scores: dict[str, int]
    comment: str
    value: float
    form_nonce: int


async def store_rating(*, session: AsyncSession, new: NewRating, now: dt.datetime) -> Rating | None:
    """The rating, replacing the rater's earlier one for that target and period (a voided one too), with its
    tallies. None when this form was stored already: one conditional upsert lets a form through once, however
    often and however concurrently its Confirm is pressed."""
    insert = upsert_insert(session)(Rating)
    replaced = ("rater_group", "scores", "comment", "value", "form_nonce", "updated_at", "voided_at", "void_reason")
    statement = (
        insert.values(**asdict(new), created_at=now, updated_at=now, voided_at=None, void_reason="", tally={})
        .on_conflict_do_update(
            index_elements=["rater_id", "target_kind", "target_id", "period_id"],
            set_={name: insert.excluded[name] for name in replaced},
            where=col(Rating.form_nonce) != new.form_nonce,
        )
        .returning(Rating)
    )
    # The row comes back with the tally it had (the upsert leaves it): what it added before, to take away now.
    result = await session.exec(statement, execution_options={"populate_existing": True})
    rating: Rating | None = result.scalars().first()
    if rating is None:
        return None
    await scoring.sync_rating(session=session, rating=rating)
    return rating


async def list_ratings(*, session: AsyncSession, target_kind: TargetKind | None = None) -> list[Rating]:
    query = select(Rating).order_by(col(Rating.id))
    if target_kind is not None:
        query = query.where(Rating.target_kind == target_kind)
    return list((await session.exec(query)).all())


async def list_recent_ratings(*, session: AsyncSession, limit: int = 8) -> list[Rating]:
    query = select(Rating).where(col(Rating.voided_at).is_(None)).order_by(col(Rating.id).desc()).limit(limit)
    return list((await session.exec(query)).all())


async def get_rating_by_id(*, session: AsyncSession, rating_id: int) -> Rating | None:
    return await session.get(Rating, rating_id)


async def void_rating(*, session: AsyncSession, rating: Rating, reason: str, now: dt.datetime) -> None:
    """Nothing is deleted: the rating is marked void with a reason, and the scores leave it out."""
    rating.voided_at, rating.void_reason = now, reason[:300]
    session.add(rating)
    await session.flush()
    await scoring.sync_rating(session=session, rating=rating)


async def members_yet_to_rate(*, session: AsyncSession, period_id: int) -> list[Member]:
    """Active members who may rate and have not rated anything in the period."""
    rated = select(Rating.rater_id).where(Rating.period_id == period_id, col(Rating.voided_at).is_(None))
    query = (
        select(Member)
        .where(
            Member.status == MemberStatus.ACTIVE,
            col(Member.role).in_([Role.STAFF, Role.HEAD, Role.LEADER, Role.ADMIN, Role.INDUSTRY]),
            col(Member.id).not_in(rated),
        )
        .order_by(col(Member.id))
    )
    return list((await session.exec(query)).all())


@dataclass(frozen=True)
class CommentBatch:
    """Comments of one target's ratings in a period, to pass on together, in no particular order."""

    target_kind: TargetKind
    target_id: int
    period_id: int
    comments: list[str]


async def take_comment_batches(
    *, session: AsyncSession, min_comments: int, passed_today: Callable[[TargetKind, int], Awaitable[bool]]
) -> list[CommentBatch]:
    """The targets' comments not yet passed on whose ratings a published step of the target's view counts, in
    batches of at least `min_comments` (each from another rater: one rating per rater, target and period) and
    shuffled, marked as passed on; fewer wait for more, and a target that had a batch today (`passed_today`) waits
    for tomorrow. So nobody can tell who wrote what, or when."""
    waiting = select(Rating).where(
        col(Rating.comment_delivered).is_(False),
        col(Rating.comment_released),  # shown in a step of the target's published view (storage.scoring.publish)
        Rating.comment != "",
        col(Rating.voided_at).is_(None),
    )
    by_target: dict[tuple[TargetKind, int, int], list[Rating]] = defaultdict(list)
    for rating in (await session.exec(waiting.order_by(col(Rating.id)))).all():
        by_target[rating.target_kind, rating.target_id, rating.period_id].append(rating)
    batches: list[CommentBatch] = []
    for (kind, target_id, period_id), found in sorted(by_target.items()):
        if len(found) < min_comments or await passed_today(kind, target_id):
            continue
        for rating in found:
            rating.comment_delivered = True
            session.add(rating)
        comments = [rating.comment for rating in found]
        SHUFFLER.shuffle(comments)
        batches.append(CommentBatch(kind, target_id, period_id, comments))
    await session.flush()
    return batches


SHUFFLER = random.SystemRandom()


async def participation(*, session: AsyncSession, period: Period) -> dict[int, tuple[int, int]]:
    """Per section: (members who rated anything in the period, members who could), staff, heads and leaders."""
    people = select(Member.section_id, Member.id).where(
        Member.status == MemberStatus.ACTIVE,
        col(Member.role).in_(scoring.SCORED_ROLES),
        col(Member.section_id).is_not(None),
    )
    rated = set(
        (
            await session.exec(
                select(Rating.rater_id)
                .join(Period, col(Period.id) == col(Rating.period_id))
                .where(
                    col(Rating.voided_at).is_(None),
                    col(Period.starts_on) >= period.starts_on,
                    col(Period.ends_on) <= period.ends_on,
                )
                .distinct()
            )
        ).all()
    )
    counts: dict[int, tuple[int, int]] = {}
    for section_id, member_id in (await session.exec(people)).all():
        done, total = counts.get(section_id or 0, (0, 0))
        counts[section_id or 0] = (done + int(member_id in rated), total + 1)
    return counts
