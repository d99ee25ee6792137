"""Ratings, and the comments typed on the forms they are filled in on."""

from __future__ import annotations

import datetime as dt
import functools
import random
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import scoring
from storage.models import (
    LARGEST_ID,
    Campaign,
    FormComment,
    Member,
    MemberStatus,
    Period,
    PeriodKind,
    RaterGroup,
    Rating,
    Role,
    ScoreTally,
    Section,
    TargetKind,
)
from storage.session import upsert_insert


async def current_period(*, session: AsyncSession, kind: PeriodKind, today: dt.date) -> Period | None:
    """The rating period that contains today, inside the campaign's dates only."""
    return (await session.exec(_CURRENT_PERIOD, params={"kind": kind, "today": today})).first()


_CURRENT_PERIOD = (  # built once: /rate asks
    select(Period)
    .join(Campaign, col(Campaign.id) == col(Period.campaign_id))
    .where(
        col(Period.kind) == sa.bindparam("kind"),
        col(Period.starts_on) <= sa.bindparam("today"),
        col(Period.ends_on) >= sa.bindparam("today"),
    )
)


async def get_period(*, session: AsyncSession, period_id: int) -> Period | None:
    return await session.get(Period, period_id)


async def rateable_sections(*, session: AsyncSession, own_section_id: int | None) -> list[Section]:
    """The sections not archived, by name, the rater's own left out (every /rate of a section asks)."""
    return list((await session.exec(_RATEABLE_SECTIONS, params={"own": own_section_id or 0})).all())


_RATEABLE_SECTIONS = (
    select(Section)
    .where(col(Section.archived_at).is_(None), col(Section.id) != sa.bindparam("own"))
    .order_by(col(Section.kind), col(Section.sort_name))
)


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
        .order_by(col(Member.sort_name), col(Section.kind), col(Section.sort_name))
    )
    return [(member, section) for member, section in (await session.exec(query)).all()]


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


@dataclass(frozen=True)
class TargetGrounds:
    """What choosing a target checks and needs, read in one statement (`target_grounds`)."""

    rater: Member | None
    target: str | None  # its name, if it may be rated at all (as `RatingGrounds.target`)
    target_section_id: int | None
    period: Period | None  # the rating period that contains today
    earlier: Rating | None  # the rater's rating of the target in that period, not voided


async def target_grounds(
    *,
    session: AsyncSession,
    rater_telegram_id: int,
    kind: TargetKind,
    target_id: int,
    period_kind: PeriodKind,
    today: dt.date,
) -> TargetGrounds:
    """The rater, the target, the current period and the rater's rating of the target in it, in one statement:
    the target press's whole reading."""
    params = {"rater": rater_telegram_id, "target_id": target_id, "kind": period_kind, "today": today}
    row = (await session.exec(_target_query(kind), params=params)).first()
    if row is None:
        return TargetGrounds(None, None, None, None, None)
    rater, name, section_id, period, earlier = row
    return TargetGrounds(rater, name if section_id is not None else None, section_id, period, earlier)


@functools.cache
def _target_query(kind: TargetKind) -> Any:
    """`target_grounds`' statement, built once per target kind; the rater, the target and the day are bound."""
    rater = aliased(Member, name="rater")
    current = aliased(Period, name="current")
    target_id: Any = sa.bindparam("target_id")
    target_name, target_section, joined = _target_columns(kind, target_id)
    query = (
        sa.select(rater, target_name, target_section, current, Rating)
        .select_from(rater)
        .outerjoin(
            current,
            sa.and_(
                col(current.kind) == sa.bindparam("kind"),
                col(current.starts_on) <= sa.bindparam("today"),
                col(current.ends_on) >= sa.bindparam("today"),
            ),
        )
        .outerjoin(Rating, sa.and_(_rating_of(rater, kind, target_id, current), col(Rating.voided_at).is_(None)))
    )
    return joined(query).where(col(rater.telegram_id) == sa.bindparam("rater"))


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


@dataclass(frozen=True)
class RatingGrounds:
    """What storing a rating checks and needs, read in one statement (`rating_grounds`)."""

    rater: Member | None
    target: str | None  # its name, if it may be rated at all: a section not archived; an active staff member or
    # head in a section not archived
    target_section_id: int | None  # the section rated, or the colleague's
    period_kind: PeriodKind
    period_starts: dt.date
    period_ends: dt.date
    earlier_nonce: int | None  # the rater's rating of the target in the period, if any (a voided one too)
    earlier_tally: dict[str, float]
    periods: dict[int, scoring.Shown]  # the periods containing the rating's (itself, its quarter, the campaign)


async def rating_grounds(
    *,
    session: AsyncSession,
    kind: TargetKind,
    target_id: int,
    period_id: int,
    rater_telegram_id: int | None = None,
    rater_id: int | None = None,
) -> RatingGrounds | None:
    """The rater (by Telegram id or member id), the target, the period and those around it, the rater's earlier
    rating and the target's published raters, in one statement: Confirm's whole reading. None when the period does
    not exist."""
    by_member = rater_id is not None
    params = {"rater": rater_id if by_member else rater_telegram_id, "target_id": target_id, "period_id": period_id}
    rows = (await session.exec(_grounds_query(kind, by_member), params=params)).all()
    if not rows:
        return None
    first = rows[0]
    return RatingGrounds(
        rater=first[0],
        target=first[1] if first[2] is not None else None,
        target_section_id=first[2],
        period_kind=first[3],
        period_starts=first[4],
        period_ends=first[5],
        earlier_nonce=first[9],
        earlier_tally=dict(first[10] or {}),
        periods={row[6]: scoring.Shown(int(row[11]), int(row[12]), int(row[8]), bool(row[7])) for row in rows},
    )


@functools.cache
def _grounds_query(kind: TargetKind, by_member: bool) -> Any:
    """`rating_grounds`' statement, built once per target kind and way of naming the rater (building it costs more
    than running it); the rater, the target and the period are bound parameters."""
    rater = aliased(Member, name="rater")
    form_period = aliased(Period, name="form_period")
    around = aliased(Period, name="around")
    tally = ScoreTally.__table__  # type: ignore[attr-defined]
    target_id: Any = sa.bindparam("target_id")

    def raters_of(column: Any) -> Any:
        return (
            sa.select(sa.func.coalesce(sa.func.sum(column), 0))
            .where(
                tally.c.period_id == col(around.id),
                tally.c.target_kind == kind,
                tally.c.target_id == target_id,
                tally.c.measure == scoring.RATERS,
            )
            .scalar_subquery()
        )

    target_name, target_section, joined = _target_columns(kind, target_id)
    query = (
        sa.select(
            rater,
            target_name,
            target_section,
            col(form_period.kind),
            col(form_period.starts_on),
            col(form_period.ends_on),
            col(around.id),
            col(around.closed),
            col(Campaign.publish_every),
            col(Rating.form_nonce),
            col(Rating.tally),
            raters_of(tally.c.count),
            raters_of(tally.c.shown_count),
        )
        .select_from(form_period)
        .join(
            around,
            sa.and_(
                col(around.campaign_id) == col(form_period.campaign_id),
                col(around.starts_on) <= col(form_period.starts_on),
                col(around.ends_on) >= col(form_period.ends_on),
            ),
        )
        .join(Campaign, col(Campaign.id) == col(form_period.campaign_id))
        .outerjoin(rater, (col(rater.id) if by_member else col(rater.telegram_id)) == sa.bindparam("rater"))
        .outerjoin(Rating, _rating_of(rater, kind, target_id, form_period))
    )
    return joined(query).where(col(form_period.id) == sa.bindparam("period_id"))


def _rating_of(rater: Any, kind: TargetKind, target_id: Any, period: Any) -> Any:
    """Joins the rater's rating of the target in the period (a voided one too)."""
    return sa.and_(
        col(Rating.rater_id) == col(rater.id),
        col(Rating.target_kind) == kind,
        col(Rating.target_id) == target_id,
        col(Rating.period_id) == col(period.id),
    )


def _target_columns(kind: TargetKind, target_id: Any) -> tuple[Any, Any, Callable[[Any], Any]]:
    """The target's name and section as columns of `rating_grounds`, and the joins that bring them (NULL when it
    may not be rated)."""
    section = aliased(Section, name="target_section")
    if kind == TargetKind.SECTION:
        on_section = sa.and_(col(section.id) == target_id, col(section.archived_at).is_(None))
        return col(section.name), col(section.id), lambda query: query.outerjoin(section, on_section)
    colleague = aliased(Member, name="colleague")
    on_colleague = sa.and_(
        col(colleague.id) == target_id,
        col(colleague.status) == MemberStatus.ACTIVE,
        col(colleague.role).in_(scoring.SCORED_ROLES),
    )
    on_section = sa.and_(col(section.id) == col(colleague.section_id), col(section.archived_at).is_(None))
    return (
        col(colleague.display_name),
        col(section.id),
        lambda query: query.outerjoin(colleague, on_colleague).outerjoin(section, on_section),
    )


async def store_confirmed(*, session: AsyncSession, new: NewRating, grounds: RatingGrounds, now: dt.datetime) -> bool:
    """Stores the rating, replacing the rater's earlier one for that target and period (a voided one too), with its
    tallies; the caller checked `grounds`. False when this form was stored already: the upsert goes through only
    while the row is as `grounds` read it, so a form is stored once however often, and however concurrently, its
    Confirm is pressed."""
    if grounds.earlier_nonce == new.form_nonce:
        return False
    contribution = scoring.contribution_of(new.scores, new.value)
    statement = _upsert_rating(upsert_insert(session), grounds.earlier_nonce is not None)
    params = {
        **asdict(new),
        "created_at": now,
        "updated_at": now,
        "voided_at": None,
        "void_reason": "",
        "tally": contribution,
        "comment_delivered": False,
        "comment_released": False,
        "expected_nonce": grounds.earlier_nonce,
    }
    if (await session.exec(statement, params=params)).first() is None:
        return False
    await scoring.add_confirmed_rating(
        session=session,
        key=(new.target_kind, new.target_id, new.rater_group, new.rater_id),
        periods=grounds.periods,
        old=grounds.earlier_tally,
        new=contribution,
    )
    return True


@functools.cache
def _upsert_rating(insert: Any, replacing: bool) -> Any:
    """`store_confirmed`'s upsert, built once per dialect and case: a rating replaced only while its form number is
    the one read (`expected_nonce`), or, when none was read, never (a concurrent first rating went before)."""
    table = Rating.__table__  # type: ignore[attr-defined]
    statement = insert(table)
    replaced = (
        *("rater_group", "scores", "comment", "value", "form_nonce", "updated_at", "voided_at", "void_reason"),
        "tally",
    )
    unchanged = table.c.form_nonce == sa.bindparam("expected_nonce") if replacing else sa.false()
    return statement.on_conflict_do_update(
        index_elements=["rater_id", "target_kind", "target_id", "period_id"],
        set_={name: statement.excluded[name] for name in replaced},
        where=unchanged,
    ).returning(table.c.id)


async def store_rating(*, session: AsyncSession, new: NewRating, now: dt.datetime) -> bool:
    """`store_confirmed` with the grounds read here (the demo, the benchmarks and the tests make ratings so)."""
    grounds = await rating_grounds(
        session=session, kind=new.target_kind, target_id=new.target_id, period_id=new.period_id, rater_id=new.rater_id
    )
    if grounds is None:
        raise ValueError(f"no period {new.period_id}")
    return await store_confirmed(session=session, new=new, grounds=grounds, now=now)


async def list_ratings(*, session: AsyncSession, target_kind: TargetKind | None = None) -> list[Rating]:
    query = select(Rating).order_by(col(Rating.id))
    if target_kind is not None:
        query = query.where(Rating.target_kind == target_kind)
    return list((await session.exec(query)).all())


async def count_standing_ratings(*, session: AsyncSession) -> int:
    """The ratings not void (those /moderate lists)."""
    query = select(sa.func.count()).select_from(Rating).where(col(Rating.voided_at).is_(None))
    return int((await session.exec(query)).one())


async def list_standing_ratings(*, session: AsyncSession, offset: int = 0, limit: int = 8) -> list[Rating]:
    """The ratings not void, newest first, `limit` of them from `offset` on."""
    query = (
        select(Rating)
        .where(col(Rating.voided_at).is_(None))
        .order_by(col(Rating.id).desc())
        .offset(offset)
        .limit(limit)
    )
    return list((await session.exec(query)).all())


async def get_rating_by_id(*, session: AsyncSession, rating_id: int) -> Rating | None:
    if not 0 < rating_id <= LARGEST_ID:
        return None
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
