"""Scores: running tallies kept with every rating and review, and the boards computed from them.

Each rating and public review remembers in its `tally` column what it adds to `score_tally` (its value, each
standard's score; for reviews good/bad/rectified). Whenever one changes (confirmed, replaced, voided, completed,
rectified), `sync_rating` / `sync_review` apply the difference to the tally rows of every period that contains it (a
month, its quarter and the whole campaign), in the same transaction. A board then reads one row per target, rater
group and measure: its cost grows with the number of targets, never with the number of ratings.

A target's score for a period (DESIGN.md): per rater group, the mean of the ratings' values shrunk toward that
group's mean over all targets of the period with `prior_weight` imaginary votes (a Bayesian average); the weighted
sum of the group means (weights renormalised over the groups that rated anyone in the period), on 0–100; minus the
deductions for overdue working days and unrectified bad reviews (capped), never below 0. Individuals are scored on
internal ratings only. `check_tallies` recomputes everything from the raw rows; `rebuild_tallies` repairs.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, cast, overload

import sqlalchemy as sa
from sqlalchemy import delete
from sqlalchemy.orm.attributes import flag_modified
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import (
    Campaign,
    Member,
    MemberStatus,
    Period,
    PublicReview,
    RaterGroup,
    RaterMark,
    Rating,
    Role,
    ScoreTally,
    Section,
    TargetKind,
    Task,
    TaskStatus,
    sort_name,
)
from storage.session import upsert_insert

VALUE = "value"
RATERS = "raters"
GOOD = "good"
BAD = "bad"
RECTIFIED = "rectified"
STANDARD_PREFIX = "std:"
BAD_LEVELS = (1, 2)  # 不满意 and 非常不满意; 基本满意 and above count as good (好评), as in 政务服务好差评
TOLERANCE = 1e-6
MOST_MOVED = 500  # targets a board is ordered again for one by one (`reorder`); past that, everyone is ranked
SCORED_ROLES = (Role.STAFF, Role.HEAD)  # the candidates for 优质服务个人; leaders judge, they are not rated
GROUPS = {group.value: group for group in RaterGroup}


@dataclass(frozen=True)
class Rules:
    """The scoring settings of config.toml [scoring], as the storage layer needs them."""

    group_weights: dict[RaterGroup, float]
    prior_weight: float = 5
    min_raters: int = 3
    overdue_day_points: float = 0.5
    unrectified_review_points: float = 2
    max_deduction: float = 20
    # Working days after the first day up to the second (the campaign's calendar); without it, the overdue days the
    # reminder sweep last counted are used as they are.
    working_days: Callable[[dt.date, dt.date], int] | None = None


# --- keeping the tallies ------------------------------------------------------------------------------------------


def rating_contribution(rating: Rating) -> dict[str, float]:
    if rating.voided_at is not None:
        return {}
    return contribution_of(rating.scores, rating.value)


def contribution_of(scores: dict[str, int], value: float) -> dict[str, float]:
    """What a rating that is not void adds to its target's tallies."""
    return {VALUE: float(value), **{STANDARD_PREFIX + key: float(score) for key, score in scores.items()}}


def review_contribution(review: PublicReview, rectified: bool) -> dict[str, float]:
    if not review.complete or review.voided_at is not None:
        return {}
    contribution = {VALUE: float(review.level), RATERS: 1.0}
    if review.level in BAD_LEVELS:
        contribution[BAD] = 1.0
        if rectified:
            contribution[RECTIFIED] = 1.0
    else:
        contribution[GOOD] = 1.0
    return contribution


async def sync_rating(*, session: AsyncSession, rating: Rating) -> None:
    """Brings the tallies in line with the rating as it is now (call after every change to it)."""
    old, new = dict(rating.tally), rating_contribution(rating)
    if old == new:
        return
    rating.tally = new  # before the queries below flush the rating: a new one is then inserted with it, not updated
    flag_modified(rating, "tally")
    session.add(rating)
    periods = await periods_containing(session=session, period_id=rating.period_id)
    key = (rating.target_kind, rating.target_id, rating.rater_group, rating.rater_id)
    await _bump(session, await _rating_changes(session, key, periods, old, new))
    await session.flush()


async def sync_review(*, session: AsyncSession, review: PublicReview) -> None:
    """Brings the tallies in line with the review as it is now, rectified when its task is done, unless the reviewer
    said they are not satisfied and no leader has closed it since."""
    task = await session.get(Task, review.task_id) if review.task_id is not None else None
    accepted = review.followup_satisfied is not False or review.settled_at is not None
    rectified = task is not None and task.status == TaskStatus.DONE and accepted
    old, new = dict(review.tally), review_contribution(review, rectified)
    if old == new:
        return
    review.tally = new  # before the queries below flush the review: a new one is then inserted with it, not updated
    flag_modified(review, "tally")
    session.add(review)
    changes: list[TallyChange] = []
    for period_id in await periods_of_day(session=session, day=review.day):
        changes += _differences((period_id, TargetKind.SECTION, review.section_id, RaterGroup.PUBLIC), old, new)
    await _bump(session, changes)
    await session.flush()


async def sync_review_of_task(*, session: AsyncSession, task_id: int) -> None:
    review = (await session.exec(select(PublicReview).where(PublicReview.task_id == task_id))).first()
    if review is not None:
        await sync_review(session=session, review=review)


async def _rating_changes(
    session: AsyncSession,
    key: tuple[TargetKind, int, RaterGroup, int],
    periods: Iterable[int],
    old: dict[str, float],
    new: dict[str, float],
) -> list[TallyChange]:
    """What a rating's contribution going from `old` to `new` changes in the tallies of `periods` (`key`: target
    kind and id, rater group, rater id), the rater's mark included when they come to the target or leave it."""
    kind, target_id, group, rater_id = key
    keys = [(period_id, kind, target_id, group) for period_id in periods]
    changes = [change for tally_key in keys for change in _differences(tally_key, old, new)]
    if bool(old) != bool(new):
        changes += await _mark_rater(session, keys, rater_id, 1 if new else -1)
    return changes


TallyKey = tuple[int, TargetKind, int, RaterGroup]
TallyChange = tuple[TallyKey, str, float, int]  # key, measure, added to the total, added to the count


def _differences(key: TallyKey, old: dict[str, float], new: dict[str, float]) -> list[TallyChange]:
    changes = []
    for measure in sorted(set(old) | set(new)):
        total = new.get(measure, 0.0) - old.get(measure, 0.0)
        count = int(measure in new) - int(measure in old)
        if total or count:
            changes.append((key, measure, total, count))
    return changes


async def _mark_rater(session: AsyncSession, keys: list[TallyKey], rater_id: int, delta: int) -> list[TallyChange]:
    """Counts the rater once per target and period however many of their ratings the period holds: the tally's
    rater count changes when the rater's count of ratings there leaves 0 or comes back to it. One statement for
    all the periods (`keys`: one target in each)."""
    rows = [
        {"period_id": period_id, "target_kind": kind, "target_id": target_id, "rater_id": rater_id, "ratings": delta}
        for period_id, kind, target_id, _ in sorted(keys)
    ]
    result = await session.exec(_mark_upsert(upsert_insert(session)), params=rows)
    after = {int(period_id): int(ratings) for period_id, ratings in result.all()}
    return [
        (key, RATERS, float(delta), delta)
        for key in keys
        if (delta > 0 and after[key[0]] == 1) or (delta < 0 and after[key[0]] == 0)
    ]


@functools.cache
def _mark_upsert(insert: Callable[[sa.Table], Any]) -> Any:
    """Adds `ratings` to the rater's mark, creating it; built once per dialect (building one costs more than
    running it)."""
    table = RaterMark.__table__  # type: ignore[attr-defined]
    statement = insert(table)
    return statement.on_conflict_do_update(
        index_elements=["period_id", "target_kind", "target_id", "rater_id"],
        set_={"ratings": table.c.ratings + statement.excluded.ratings},
    ).returning(table.c.period_id, table.c.ratings)


async def _bump(session: AsyncSession, changes: list[TallyChange]) -> None:
    """Adds to the tally rows and publishes what moved by a step (`_publish_due`)."""
    if not changes:
        return
    await _add_to_tallies(session, changes)
    await _publish_due(session, {(period_id, kind, target_id) for (period_id, kind, target_id, _), *_ in changes})


async def _add_to_tallies(session: AsyncSession, changes: list[TallyChange]) -> None:
    """Adds to the tally rows, creating missing ones, in one statement (safe against concurrent writers; the rows go
    in a fixed order so that two transactions lock them in the same order)."""
    rows = [
        _tally_row(period_id, kind, target_id, group, measure, total, count)
        for (period_id, kind, target_id, group), measure, total, count in sorted(changes, key=lambda c: (c[0][0], c[1]))
    ]
    await session.exec(_tally_upsert(upsert_insert(session)), params=rows)


@dataclass(frozen=True)
class Shown:
    """A target's raters in one period as the running sums count them and as last published, read with the rest of
    a rating's grounds (storage.ratings.rating_grounds): whether a new rating makes a publication step."""

    raters: int
    shown: int
    step: int  # the campaign's publish_every
    closed: bool


async def add_confirmed_rating(
    *,
    session: AsyncSession,
    key: tuple[TargetKind, int, RaterGroup, int],
    periods: dict[int, Shown],
    old: dict[str, float],
    new: dict[str, float],
) -> None:
    """The tallies of a rating stored by an upsert that set its `tally` to `new` (from `old`): the rater's mark if
    they are new to the target, the sums, and a publication where the rating makes a step. `key`: target kind and
    id, rater group, rater id; `periods`: the periods containing the rating's, as they were before it. Two or three
    statements (four more at a publication step), where `sync_rating` reads the periods and the sums again."""
    kind, target_id = key[0], key[1]
    changes = await _rating_changes(session, key, sorted(periods), old, new)
    if not changes:
        return
    await _add_to_tallies(session, changes)
    added = {tally_key[0]: count for tally_key, measure, _, count in changes if measure == RATERS}
    due = [
        (period_id, target_id)
        for period_id, shown in periods.items()
        if shown.step <= 1 or shown.closed or abs(shown.raters + added.get(period_id, 0) - shown.shown) >= shown.step
    ]
    await publish(session=session, kind=kind, targets=due)


# --- publication ----------------------------------------------------------------------------------------------------
# The boards show `shown_total` and `shown_count`, which follow the running sums in steps: a target's are published
# again when at least its campaign's `publish_every` (min_raters) raters came or went since they were last published,
# and every target's at the end of the period (`publish_ended_periods`). Comparing the views before and after one
# rating therefore shows nothing of it (a rater who changes their rating is seen at the next step, with the new
# raters). Good, bad and rectified reviews are shown as they are (`_tally_query`).
LIVE_MEASURES = (GOOD, BAD, RECTIFIED)
TARGETS_CHANGED = "shuangyou_targets_changed"  # an execution option: (kind, [(period, target)]) a statement changes


async def _publish_due(session: AsyncSession, keys: set[tuple[int, TargetKind, int]]) -> None:
    """Publishes the (period, kind, target) tallies among `keys` that moved by a step since they were last."""
    kinds = {kind for _, kind, _ in keys}
    params = {
        "kinds": sorted(kinds),
        "periods": sorted({period_id for period_id, _, _ in keys}),
        "targets": sorted({target_id for _, _, target_id in keys}),
    }
    connection = await session.connection()
    due = [
        (period_id, target_id)
        for period_id, target_id, raters, shown, step, closed in (
            await connection.execute(_raters_query(), params)
        ).all()
        # A step of one, or a period closed already (a void after its end): every change shows at once.
        if step <= 1 or closed or abs(int(raters) - int(shown)) >= step
    ]
    for kind in kinds:  # one kind per rating or review
        await publish(session=session, kind=kind, targets=[(p, t) for p, t in due if (p, kind, t) in keys])


@functools.cache
def _raters_query() -> Any:
    """Each (period, target)'s raters as summed and as shown, and its campaign's step: built once (every rating and
    review asks), with the kinds, periods and targets as parameters."""
    table = ScoreTally.__table__  # type: ignore[attr-defined]
    return (
        sa.select(
            table.c.period_id,
            table.c.target_id,
            sa.func.sum(table.c.count),
            sa.func.sum(table.c.shown_count),
            col(Campaign.publish_every),
            col(Period.closed),
        )
        .join(Period, col(Period.id) == table.c.period_id)
        .join(Campaign, col(Campaign.id) == col(Period.campaign_id))
        .where(
            table.c.measure == RATERS,
            table.c.target_kind.in_(sa.bindparam("kinds", expanding=True)),
            table.c.period_id.in_(sa.bindparam("periods", expanding=True)),
            table.c.target_id.in_(sa.bindparam("targets", expanding=True)),
        )
        .group_by(table.c.period_id, table.c.target_id, col(Campaign.publish_every), col(Period.closed))
    )


async def publish(*, session: AsyncSession, kind: TargetKind, targets: list[tuple[int, int]]) -> None:
    """Makes the running sums of those (period, target) pairs what the boards show, in one UPDATE; the boards'
    journal is told which targets it changed (it reads only those again)."""
    if not targets:
        return
    table = ScoreTally.__table__  # type: ignore[attr-defined]
    statement = (
        sa.update(table)
        .where(
            table.c.target_kind == kind,
            sa.tuple_(table.c.period_id, table.c.target_id).in_(targets),
            sa.or_(table.c.shown_total != table.c.total, table.c.shown_count != table.c.count),
        )
        .values(shown_total=table.c.total, shown_count=table.c.count)
    )
    # The boards' journal notes these targets (storage.boards._tally_rows), not a change to the whole board.
    await session.exec(statement, execution_options={TARGETS_CHANGED: (kind, targets)})
    await _release_comments(
        session,
        sa.and_(col(Rating.target_kind) == kind, sa.tuple_(col(Rating.period_id), col(Rating.target_id)).in_(targets)),
    )


async def _release_comments(session: AsyncSession, ratings_published: Any) -> None:
    """The comments of ratings that a publication shows may now be passed on (jobs/comments.py): a comment never
    goes out before the step that counts its rating."""
    statement = (
        sa.update(Rating)
        .where(ratings_published, col(Rating.comment_released).is_(False), col(Rating.comment) != "")
        .values(comment_released=True)
    )
    await session.exec(statement)


async def publish_ended_periods(*, session: AsyncSession, today: dt.date) -> int:
    """Publishes everything of the periods that ended before `today` and were not closed yet, and closes them (a
    later change to them is published at once: `_publish_due`); returns how many tally rows changed. Looks at the
    periods alone when none has just ended (it runs with every reminder sweep)."""
    ended = (await session.exec(select(Period).where(col(Period.ends_on) < today, col(Period.closed).is_(False)))).all()
    if not ended:
        return 0
    changed = await _publish_where(session, col(Period.id).in_([period.id for period in ended]))
    for period in ended:
        period.closed = True
        session.add(period)
    await session.flush()
    return changed


async def publish_all(*, session: AsyncSession) -> int:
    """Publishes every running sum as it is (the tests of the arithmetic read the sums so)."""
    return await _publish_where(session, sa.true())


async def _publish_where(session: AsyncSession, periods: Any) -> int:
    """Publishes every running sum of the periods matching `periods` (a condition on Period)."""
    chosen = sa.select(col(Period.id)).where(periods)
    await _release_comments(session, col(Rating.period_id).in_(chosen))
    table = ScoreTally.__table__  # type: ignore[attr-defined]
    statement = (
        sa.update(table)
        .where(
            table.c.period_id.in_(chosen),
            sa.or_(table.c.shown_total != table.c.total, table.c.shown_count != table.c.count),
        )
        .values(shown_total=table.c.total, shown_count=table.c.count)
    )
    return int((await session.exec(statement)).rowcount)


def _tally_row(
    period_id: int, kind: TargetKind, target_id: int, group: RaterGroup, measure: str, total: float, count: int
) -> dict[str, Any]:
    return {
        "period_id": period_id,
        "target_kind": kind,
        "target_id": target_id,
        "rater_group": group,
        "measure": measure,
        "total": total,
        "count": count,
    }


@functools.cache
def _tally_upsert(insert: Callable[[sa.Table], Any]) -> Any:
    """Adds `total` and `count` to a tally row, creating it; built once per dialect."""
    table = ScoreTally.__table__  # type: ignore[attr-defined]
    statement = insert(table)
    return statement.on_conflict_do_update(
        index_elements=["period_id", "target_kind", "target_id", "rater_group", "measure"],
        set_={"total": table.c.total + statement.excluded.total, "count": table.c.count + statement.excluded.count},
    )


async def periods_containing(*, session: AsyncSession, period_id: int) -> list[int]:
    """The period itself and the longer ones around it (its quarter, the campaign)."""
    period = await session.get(Period, period_id)
    if period is None:
        return []
    query = select(Period.id).where(
        Period.campaign_id == period.campaign_id,
        col(Period.starts_on) <= period.starts_on,
        col(Period.ends_on) >= period.ends_on,
    )
    return [int(found) for found in (await session.exec(query)).all() if found is not None]


async def periods_of_day(*, session: AsyncSession, day: dt.date) -> list[int]:
    """The periods holding `day` (every review asks: the statement is built once)."""
    return [
        int(found) for found in (await session.exec(_PERIODS_OF_DAY, params={"day": day})).all() if found is not None
    ]


_PERIODS_OF_DAY = select(Period.id).where(
    col(Period.starts_on) <= sa.bindparam("day"), col(Period.ends_on) >= sa.bindparam("day")
)


# --- boards -------------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class GroupScore:
    total: float = 0.0
    count: int = 0
    raters: int = 0
    shrunk: float | None = None  # the Bayesian mean, 1–5
    standards: dict[str, tuple[float, int]] = field(default_factory=dict)  # key → (total, count)

    @property
    def mean(self) -> float | None:
        return self.total / self.count if self.count else None


@dataclass(eq=False, slots=True)
class Standing:
    """One target's result for a period (compared by identity: boards hold thousands of them)."""

    kind: TargetKind
    target_id: int
    name: str
    section_name: str = ""
    groups: dict[RaterGroup, GroupScore] = field(default_factory=dict)
    base: float | None = None  # 0–100 before deductions
    overdue_days: int = 0
    good: int = 0
    bad: int = 0
    rectified: int = 0
    deduction: float = 0.0
    score: float | None = None  # 0–100, what is shown and ranked
    rank: int | None = None
    enough: bool = False

    @property
    def raters(self) -> int:
        count = 0
        for group in self.groups.values():  # not sum() of a generator: this runs twice per target of every board
            count += group.raters
        return count

    @property
    def standard_raters(self) -> int:
        """The raters behind the per-standard means (public reviews have no standards)."""
        return sum(group.raters for group in self.groups.values() if group.standards)

    @property
    def reviews(self) -> int:
        return self.good + self.bad

    @property
    def unrectified(self) -> int:
        return max(0, self.bad - self.rectified)

    @property
    def good_rate(self) -> float | None:
        return self.good / self.reviews if self.reviews else None

    def standard_means(self) -> dict[str, float]:
        """Each standard's plain mean over the rating groups (public reviews have no standards)."""
        sums: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
        for group in self.groups.values():
            for key, (total, count) in group.standards.items():
                sums[key][0] += total
                sums[key][1] += count
        return {key: total / count for key, (total, count) in sums.items() if count}


RankedKey = tuple[float, int, str, int]  # (-shown score, -raters, sort name, target id): the id last, so never equal
QuietKey = tuple[int, str, int]  # (-raters, sort name, target id) of a target without enough raters to be ranked


class Standings(Sequence[Standing]):
    """A board's standings in order, each made from its target's inputs when first looked at and kept from then on:
    the 10,000-member board is ordered again after every rating of a colleague, and a request shows one to ten of
    its standings."""

    __slots__ = ("_inputs", "_keys", "_made", "_ranked", "_scale")

    def __init__(
        self, keys: Sequence[RankedKey] | Sequence[QuietKey], inputs: dict[int, Standing], scale: Scale, ranked: bool
    ) -> None:
        self._keys, self._inputs, self._scale, self._ranked = keys, inputs, scale, ranked
        self._made: dict[int, Standing] = {}

    def __len__(self) -> int:
        return len(self._keys)

    @overload
    def __getitem__(self, index: int) -> Standing: ...

    @overload
    def __getitem__(self, index: slice) -> list[Standing]: ...

    def __getitem__(self, index: int | slice) -> Standing | list[Standing]:
        if isinstance(index, slice):
            return [self[position] for position in range(*index.indices(len(self)))]
        position = index + len(self) if index < 0 else index
        if not 0 <= position < len(self):
            raise IndexError(index)
        made = self._made.get(position)
        if made is None:
            inputs = self._inputs[self._keys[position][-1]]
            made = self._made[position] = scored(inputs, self._scale, self._rank(position))
        return made

    def _rank(self, position: int) -> int | None:
        """1 + the number ranked above (ties share a rank: 1, 2, 2, 4)."""
        if not self._ranked:
            return None
        return bisect.bisect_left(self._keys, (self._keys[position][0],)) + 1

    def target_ids(self) -> list[int]:
        return [key[-1] for key in self._keys]

    def summaries(self) -> list[Summary]:
        """What `summary` gives of each standing, in order, read off the ranking without making the standings."""
        if not self._ranked:
            return [summary(standing) for standing in self]
        summaries: list[Summary] = []
        for position, (score, raters, _sort_name, target_id) in enumerate(cast(Sequence[RankedKey], self._keys)):
            rank = summaries[-1][2] if summaries and summaries[-1][3] == -score else position + 1
            summaries.append((target_id, self._inputs[target_id].name, rank, -score, -raters))
        return summaries


Summary = tuple[int, str, int | None, float | None, int]  # target id, name, rank, shown score, raters


def summary(standing: Standing) -> Summary:
    return standing.target_id, standing.name, standing.rank, shown(standing.score), standing.raters


@dataclass(frozen=True)
class Ranking:
    """How a board's targets are ordered, kept with it so that it can be ordered again after a change to a few of
    them without scoring everyone (`board_with_changes`). A change moves every score a little (the group means
    move), but a score shows with one decimal: only the targets whose score at `reference` is within that move of
    changing its shown value can change places, besides the changed ones."""

    reference: Scale  # the group means the `gaps` were measured at
    rows: dict[int, Row]  # every target's
    gaps: dict[int, float]  # a ranked target's distance from changing its shown score, at `reference`
    ranked: list[RankedKey]  # in order
    quiet: list[QuietKey]  # in order
    key_of: dict[int, RankedKey | QuietKey]
    moved: frozenset[int] = frozenset()  # whose keys were made at the board's scale rather than at `reference`


@dataclass
class Board:
    period: Period
    kind: TargetKind
    ranked: Sequence[Standing]
    unranked: Sequence[Standing]  # fewer raters than the minimum: "not enough ratings yet"
    # Copies of some targets' standings with their per-standard totals, which `find` gives instead of the board's
    # own (see with_standards: the board itself may be shared).
    detailed: dict[int, Standing] = field(default_factory=dict)
    # What `rank_targets` computed it from: every target's inputs (never changed) and their order, kept so that the
    # board can be computed again after a change to a few of them (`board_with_changes`).
    inputs: dict[int, Standing] = field(default_factory=dict, repr=False)
    ranking: Ranking | None = field(default=None, repr=False)
    index: dict[int, tuple[Sequence[Standing], int]] | None = field(default=None, repr=False)  # built by `find`

    def ranked_summaries(self) -> list[Summary]:
        """The ranked standings' summaries, in order (a snapshot keeps these of every target)."""
        if isinstance(self.ranked, Standings):
            return self.ranked.summaries()
        return [summary(standing) for standing in self.ranked]

    def find(self, target_id: int) -> Standing | None:
        if target_id in self.detailed:
            return self.detailed[target_id]
        found = self._indexed().get(target_id)
        return None if found is None else found[0][found[1]]

    def position(self, target_id: int) -> int | None:
        """Where a ranked target is in `ranked` (0: first; ties share a rank, not a position), None if unranked."""
        found = self._indexed().get(target_id)
        return found[1] if found is not None and found[0] is self.ranked else None

    def _indexed(self) -> dict[int, tuple[Sequence[Standing], int]]:
        if self.index is None:
            self.index = {}
            for standings in (self.ranked, self.unranked):
                ids = standings.target_ids() if isinstance(standings, Standings) else [s.target_id for s in standings]
                self.index.update((target_id, (standings, position)) for position, target_id in enumerate(ids))
        return self.index


def groups_scored(kind: TargetKind) -> tuple[RaterGroup, ...]:
    if kind == TargetKind.MEMBER:
        return (RaterGroup.INTERNAL,)
    return (RaterGroup.INDUSTRY, RaterGroup.INTERNAL, RaterGroup.PUBLIC)


async def compute_board(
    *,
    session: AsyncSession,
    rules: Rules,
    period: Period,
    kind: TargetKind,
    today: dt.date | None = None,
    standards_of: Iterable[int] | None = None,
) -> Board:
    """The board of a period as of `today` (default: the real date): overdue days count up to today or the end of
    the period, whichever comes first, so a closed period's results stay as they were. The per-standard means (which
    the scores do not need) are read for the targets in `standards_of` only; None: for every target."""
    inputs = await _targets(session, kind)
    rows = await _tally_rows(session, period.id or 0, kind, None if standards_of is None else list(standards_of))
    _add_rows(inputs, rows, rules.min_raters)
    if kind == TargetKind.SECTION:
        for section_id, days in (await _overdue_days(session, rules, period, today or dt.date.today())).items():
            if section_id in inputs:
                inputs[section_id].overdue_days = days
    return rank_targets(period, kind, inputs, rules)


async def board_with_changes(
    *, session: AsyncSession, rules: Rules, board: Board, changed: Iterable[int], today: dt.date
) -> Board:
    """The board (computed as of `today`) computed again after changes to the `changed` targets only: whether each is
    on the board, its name, section, tallies and overdue days are read again, everyone else's inputs are the
    board's. The board must have been computed without per-standard totals."""
    inputs, ids = dict(board.inputs), sorted(changed)
    again = await _targets(session, board.kind, ids) if ids else {}
    for target_id in ids:
        if target_id not in again:
            inputs.pop(target_id, None)  # off the board now: archived, left, a leader, or never on it
    if again:
        _add_rows(again, await _tally_rows_of(session, board.period.id or 0, board.kind, list(again)), rules.min_raters)
        if board.kind == TargetKind.SECTION:
            overdue = await _overdue_days(session, rules, board.period, today, section_ids=list(again))
            for section_id, standing in again.items():
                standing.overdue_days = overdue.get(section_id, 0)
        inputs.update(again)
    return reorder(board, inputs, set(ids), rules) or rank_targets(board.period, board.kind, inputs, rules, board)


def _add_rows(inputs: dict[int, Standing], rows: Iterable[tuple[int, str, str, float, int]], min_raters: int) -> None:
    """The tallies into the targets' inputs. A rater group with fewer than `min_raters` raters of a target is left
    out of them altogether, until it has enough: its mean could otherwise be worked out from the total and the other
    groups' means (4 × total − 3 × internal = the one industry rater's value), so it counts in no score, rank,
    rater count or breakdown. (The public's good and bad reviews still count: each bad one is a task the section
    already knows of.)"""
    touched: set[int] = set()
    for target_id, group, measure, total, count in rows:
        standing = inputs.get(target_id)
        if standing is None:
            continue  # an archived section or a member who left: kept in the tallies, off the board
        _add_measure(standing, GROUPS[group], measure, total, count)
        touched.add(target_id)
    for target_id in touched:
        groups = inputs[target_id].groups
        for group in [group for group, scores in groups.items() if scores.raters < min_raters]:
            del groups[group]


def _add_measure(standing: Standing, group: RaterGroup, measure: str, total: float, count: int) -> None:
    if group == RaterGroup.PUBLIC and measure in (GOOD, BAD, RECTIFIED):
        setattr(standing, measure, count)
        return
    scores = standing.groups.get(group)
    if scores is None:  # not setdefault(group, GroupScore()): that builds a GroupScore for every tally row
        scores = standing.groups[group] = GroupScore()
    if measure == VALUE:
        scores.total, scores.count = total, count
    elif measure == RATERS:
        scores.raters = count
    elif measure.startswith(STANDARD_PREFIX):
        scores.standards[measure.removeprefix(STANDARD_PREFIX)] = (total, count)


# --- scores -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Scale:
    """What turns one target's tallies into its score on a board: each scored rater group's mean over every target
    of the period (the prior its own mean is shrunk toward) and weight."""

    kind: TargetKind
    rules: Rules
    priors: tuple[tuple[RaterGroup, float, float], ...]  # (group, mean over all targets, weight)
    weight_sum: float
    # For each prior: (the group's place in groups_scored(kind), prior_weight × mean, mean, weight), for `_score`.
    terms: tuple[tuple[int, float, float, float], ...] = ()


def scale_of(standings: Sequence[Standing], rules: Rules, kind: TargetKind) -> Scale:
    group_means: dict[RaterGroup, float] = {}
    for group in groups_scored(kind):
        present = [scores for s in standings if (scores := s.groups.get(group)) is not None]
        count = sum(scores.count for scores in present)
        if count:  # fsum: the same mean whatever order the targets come in (a board computed again must match)
            group_means[group] = math.fsum(scores.total for scores in present) / count
    weights = {group: rules.group_weights.get(group, 0.0) for group in group_means}
    if kind == TargetKind.MEMBER:
        weights = dict.fromkeys(group_means, 1.0)
    priors = tuple((group, mean, weights[group]) for group, mean in group_means.items())
    places = groups_scored(kind)
    terms = tuple((places.index(group), rules.prior_weight * mean, mean, weight) for group, mean, weight in priors)
    return Scale(kind, rules, priors, sum(weights.values()), terms)


def shrunk_mean(scores: GroupScore | None, prior: float, prior_weight: float) -> float:
    """A group's mean of the target's ratings, shrunk toward the mean over all targets by `prior_weight` votes."""
    total, count = (scores.total, scores.count) if scores is not None else (0.0, 0)
    votes = count + prior_weight
    return (total + prior_weight * prior) / votes if votes else prior


def deduction(standing: Standing, scale: Scale) -> float:
    """Points off a section for overdue working days and unrectified bad reviews, capped; none for individuals."""
    if scale.kind != TargetKind.SECTION:
        return 0.0
    rules = scale.rules
    points = standing.overdue_days * rules.overdue_day_points + standing.unrectified * rules.unrectified_review_points
    return min(rules.max_deduction, points)


def fill_score(standing: Standing, scale: Scale) -> None:
    """Sets the standing's shrunk means, base, deduction and score, and whether it has enough raters."""
    standing.enough = standing.raters >= scale.rules.min_raters
    if not scale.weight_sum:
        return
    value = 0.0  # the weighted mean of the groups' shrunk means, then on 0–100 (`_score` does the same, step for step)
    for group, prior, weight in scale.priors:
        scores = standing.groups.get(group)
        if scores is None:
            scores = standing.groups[group] = GroupScore()
        scores.shrunk = shrunk_mean(scores, prior, scale.rules.prior_weight)
        value += weight * scores.shrunk
    standing.base = (value / scale.weight_sum - 1) / 4 * 100
    standing.deduction = deduction(standing, scale)
    standing.score = max(0.0, (standing.base or 0.0) - standing.deduction)


def score_standings(standings: list[Standing], rules: Rules, kind: TargetKind) -> None:
    """Fills base, deduction and score of every standing (pure arithmetic, so that tests can check it by hand)."""
    scale = scale_of(standings, rules, kind)
    for standing in standings:
        fill_score(standing, scale)


def scored(inputs: Standing, scale: Scale, rank: int | None) -> Standing:
    """A copy of a target's inputs with its score and rank (the inputs themselves stay as they are)."""
    groups = {
        group: GroupScore(scores.total, scores.count, scores.raters, None, scores.standards)
        for group, scores in inputs.groups.items()
    }
    standing = Standing(  # not dataclasses.replace, which costs three times as much (snapshots make 10,000)
        kind=inputs.kind,
        target_id=inputs.target_id,
        name=inputs.name,
        section_name=inputs.section_name,
        groups=groups,
        overdue_days=inputs.overdue_days,
        good=inputs.good,
        bad=inputs.bad,
        rectified=inputs.rectified,
    )
    fill_score(standing, scale)
    standing.rank = rank
    return standing


def shown(score: float | None) -> float | None:
    """The score as people see it: one decimal; ranks and ties go by this."""
    return None if score is None else round(score + 1e-9, 1)


# --- ranking ------------------------------------------------------------------------------------------------------

# What ranking needs of a target, made once per target and kept with the board (a board ordered again reuses the
# rows of the targets that did not change): target id, name, raters, (total, count) of each scored rater group, and
# the points deducted.
Row = tuple[int, str, int, tuple[tuple[float, int], ...], float, str]  # ..., deduction, models.sort_name of the name
POINTS_PER_MEAN = 25.0  # (mean − 1) / 4 × 100: a group mean that moves by 1 moves a score by at most 25 points
# Margin for the rounding of floats in the scores (about 1e-13): a target this near changing its shown score is
# scored again whenever anything moves.
FLOAT_MARGIN = 1e-7


def _row(standing: Standing, scale: Scale) -> Row:
    groups = standing.groups
    sums = tuple(
        (scores.total, scores.count) if (scores := groups.get(group)) is not None else (0.0, 0)
        for group in groups_scored(scale.kind)
    )
    return (
        standing.target_id,
        standing.name,
        standing.raters,
        sums,
        deduction(standing, scale),
        sort_name(standing.name),
    )


def _is_ranked(row: Row, scale: Scale) -> bool:
    return bool(scale.weight_sum) and row[2] >= scale.rules.min_raters


def _score(row: Row, scale: Scale) -> float:
    """The score of a ranked target's row: the arithmetic of `fill_score`, step for step, so that
    the standing made later shows the very score it was ranked by."""
    value, prior_weight, sums = 0.0, scale.rules.prior_weight, row[3]
    for place, lift, prior, weight in scale.terms:
        total, count = sums[place]
        votes = count + prior_weight
        value += weight * ((total + lift) / votes if votes else prior)
    return max(0.0, (value / scale.weight_sum - 1) / 4 * 100 - row[4])


def _gap(score: float) -> float:
    """How far a score is from changing what `shown` makes of it."""
    tenths = (score + 1e-9) * 10
    return abs(tenths - math.floor(tenths) - 0.5) / 10


def _ranked_key(row: Row, score: float) -> RankedKey:
    return -(shown(score) or 0.0), -row[2], row[5], row[0]


def _quiet_key(row: Row) -> QuietKey:
    return -row[2], row[5], row[0]


def _board(period: Period, inputs: dict[int, Standing], scale: Scale, ranking: Ranking) -> Board:
    return Board(
        period,
        scale.kind,
        Standings(ranking.ranked, inputs, scale, ranked=True),
        Standings(ranking.quiet, inputs, scale, ranked=False),
        inputs=inputs,
        ranking=ranking,
    )


def rank_targets(
    period: Period, kind: TargetKind, inputs: dict[int, Standing], rules: Rules, before: Board | None = None
) -> Board:
    """The board of the targets' inputs, everyone scored (`before`: a board they were changed from, whose rows of
    the unchanged targets are reused). Only the scores and ranks are computed here; a standing is made when it is
    looked at (`Standings`)."""
    scale = scale_of(list(inputs.values()), rules, kind)
    kept_rows: dict[int, Row] = {}
    kept_inputs: dict[int, Standing] = {}
    if before is not None and before.ranking is not None and before.ranking.reference.rules == rules:
        kept_rows, kept_inputs = before.ranking.rows, before.inputs
    rows: dict[int, Row] = {}
    for target_id, standing in inputs.items():
        row = kept_rows.get(target_id) if kept_inputs.get(target_id) is standing else None
        rows[target_id] = row if row is not None else _row(standing, scale)
    gaps: dict[int, float] = {}
    ranked: list[RankedKey] = []
    quiet: list[QuietKey] = []
    for row in rows.values():
        if _is_ranked(row, scale):
            score = _score(row, scale)
            gaps[row[0]] = _gap(score)
            ranked.append(_ranked_key(row, score))
        else:
            quiet.append(_quiet_key(row))
    ranked.sort()
    quiet.sort()
    key_of: dict[int, RankedKey | QuietKey] = {key[-1]: key for key in ranked}
    key_of.update((key[-1], key) for key in quiet)
    return _board(period, inputs, scale, Ranking(scale, rows, gaps, ranked, quiet, key_of))


def reorder(board: Board, inputs: dict[int, Standing], changed: set[int], rules: Rules) -> Board | None:
    """The board ordered again after changes to the inputs of the `changed` targets, scoring only them and those
    whose shown score the change of the group means may have moved; None when that is not known to be cheaper or
    safe (the groups or their weights changed, the rules did, too many would be scored): rank everyone then."""
    ranking = board.ranking
    if ranking is None or rules.prior_weight < 0:
        return None
    scale, reference = scale_of(list(inputs.values()), rules, board.kind), ranking.reference
    groups = [(group, weight) for group, _, weight in scale.priors]
    if rules != reference.rules or groups != [(group, weight) for group, _, weight in reference.priors]:
        return None
    # How far any score can have moved: a score moves by at most 25 points times the weighted move of the means.
    drift = FLOAT_MARGIN + POINTS_PER_MEAN * sum(
        abs(weight / scale.weight_sum) * abs(mean - was)
        for (_, mean, weight), (_, was, _) in zip(scale.priors, reference.priors, strict=True)
        if scale.weight_sum  # none: nobody is ranked, nothing to move
    )
    moved = changed | ranking.moved | {target_id for target_id, gap in ranking.gaps.items() if gap <= drift}
    if len(moved) > max(MOST_MOVED, len(inputs) // 4):
        return None
    rows, gaps, key_of = dict(ranking.rows), dict(ranking.gaps), dict(ranking.key_of)
    ranked, quiet = list(ranking.ranked), list(ranking.quiet)
    for target_id in moved:
        old = key_of.pop(target_id, None)  # None: new on the board
        if old is not None:
            keys: list[Any] = ranked if len(old) == 4 else quiet
            del keys[bisect.bisect_left(keys, old)]
        if target_id not in inputs:  # off the board now
            rows.pop(target_id, None)
            gaps.pop(target_id, None)
            continue
        if target_id in changed:
            rows[target_id] = _row(inputs[target_id], scale)
        row = rows[target_id]
        if _is_ranked(row, scale):
            if target_id in changed:
                gaps[target_id] = _gap(_score(row, reference))
            ranked_key = _ranked_key(row, _score(row, scale))
            bisect.insort(ranked, ranked_key)
            key_of[target_id] = ranked_key
        else:
            gaps.pop(target_id, None)
            quiet_key = _quiet_key(row)
            bisect.insort(quiet, quiet_key)
            key_of[target_id] = quiet_key
    near = frozenset(target_id for target_id in moved if gaps.get(target_id, math.inf) <= drift)  # keyed off reference
    return _board(board.period, inputs, scale, Ranking(reference, rows, gaps, ranked, quiet, key_of, near))


async def _targets(session: AsyncSession, kind: TargetKind, target_ids: list[int] | None = None) -> dict[int, Standing]:
    """The targets on the boards now (of those in `target_ids`, if given): live sections, and the active staff and
    heads of live sections, with their names and their section's name."""
    live = col(Section.archived_at).is_(None)
    if kind == TargetKind.SECTION:
        query = select(col(Section.id), col(Section.name), col(Section.name)).where(live)
        chosen = col(Section.id)
    else:
        query = (
            select(col(Member.id), col(Member.display_name), col(Section.name))
            .join(Section, col(Section.id) == col(Member.section_id))
            .where(live, Member.status == MemberStatus.ACTIVE, col(Member.role).in_(SCORED_ROLES))
        )
        chosen = col(Member.id)
    if target_ids is not None:
        query = query.where(chosen.in_(target_ids))
    return {
        int(target_id or 0): Standing(kind, int(target_id or 0), name, section_name)
        for target_id, name, section_name in (await session.exec(query)).all()
    }


def _tally_query(period_id: int, kind: TargetKind) -> sa.Select[int, str, str, float, int]:
    """(target id, rater group, measure, total, count) of the period's tallies of that kind, as plain rows: a board
    of 10,000 people reads tens of thousands of them, too many for ORM objects."""
    table = ScoreTally.__table__  # type: ignore[attr-defined]
    group = sa.type_coerce(table.c.rater_group, sa.String)  # the enum's own result processing is slow per row
    live = table.c.measure.in_(LIVE_MEASURES)  # the rest as last published (`publish`)
    total = sa.case((live, table.c.total), else_=table.c.shown_total)
    count = sa.case((live, table.c.count), else_=table.c.shown_count)
    return sa.select(table.c.target_id, group, table.c.measure, total, count).where(
        table.c.period_id == period_id, table.c.target_kind == kind
    )


async def _tally_rows_of(
    session: AsyncSession, period_id: int, kind: TargetKind, target_ids: list[int]
) -> Sequence[sa.Row[int, str, str, float, int]]:
    """The rows of `_tally_query` of those targets, without the per-standard ones."""
    table = ScoreTally.__table__  # type: ignore[attr-defined]
    query = _tally_query(period_id, kind).where(
        table.c.target_id.in_(target_ids), table.c.measure.not_like(STANDARD_PREFIX + "%")
    )
    connection = await session.connection()
    return (await connection.execute(query)).all()


async def _tally_rows(
    session: AsyncSession, period_id: int, kind: TargetKind, standards_of: list[int] | None
) -> Sequence[sa.Row[int, str, str, float, int]]:
    """The rows of `_tally_query`, the per-standard ones only of the targets in `standards_of` (None: of all)."""
    table = ScoreTally.__table__  # type: ignore[attr-defined]
    query = _tally_query(period_id, kind)
    if standards_of is not None:
        query = query.where(table.c.measure.not_like(STANDARD_PREFIX + "%") | table.c.target_id.in_(standards_of))
    connection = await session.connection()  # Core rows (sqlmodel's session.execute is deprecated)
    return (await connection.execute(query)).all()


async def with_standards(*, session: AsyncSession, board: Board, target_ids: list[int]) -> Board:
    """The board whose `find` gives copies of the targets' standings that carry their per-standard totals (the board
    itself is left as it is: it may be shared)."""
    table = ScoreTally.__table__  # type: ignore[attr-defined]
    query = _tally_query(board.period.id or 0, board.kind).where(
        table.c.target_id.in_(target_ids), table.c.measure.like(STANDARD_PREFIX + "%")
    )
    connection = await session.connection()
    rows = (await connection.execute(query)).all()
    copies: dict[int, Standing] = {}
    for target_id in target_ids:
        original = board.find(target_id)
        if original is not None:
            groups = {key: replace(scores, standards={}) for key, scores in original.groups.items()}
            copies[target_id] = replace(original, groups=groups)
    for target_id, name, measure, total, count in rows:
        copy = copies.get(target_id)
        if copy is not None and GROUPS[name] in copy.groups:  # a group left out of the board stays out (`_add_rows`)
            _add_measure(copy, GROUPS[name], measure, total, count)
    return replace(board, detailed=copies)


async def _overdue_days(
    session: AsyncSession, rules: Rules, period: Period, today: dt.date, section_ids: list[int] | None = None
) -> dict[int, int]:
    """Working days overdue of the sections' tasks (of those in `section_ids`, if given) due in the period (cancelled
    ones aside), counted up to when each was done, or today, and never past the period's end."""
    query = sa.select(
        col(Task.section_id), col(Task.due_on), col(Task.status), col(Task.overdue_days), col(Task.closed_at)
    ).where(  # plain rows: a board reads every section's tasks, and ORM objects of them cost more than the rest
        col(Task.due_on) >= period.starts_on,
        col(Task.due_on) <= min(period.ends_on, today),
        col(Task.status) != TaskStatus.CANCELLED,
    )
    if section_ids is not None:
        query = query.where(col(Task.section_id).in_(section_ids))
    days: dict[int, int] = defaultdict(int)
    connection = await session.connection()
    for section_id, due_on, status, overdue_days, closed_at in (await connection.execute(query)).all():
        if rules.working_days is None:
            days[section_id] += overdue_days
            continue
        finished = closed_at.date() if closed_at is not None and status == TaskStatus.DONE else today
        late = rules.working_days(due_on, min(finished, period.ends_on))
        if late > 0:
            days[section_id] += late
    return dict(days)


# --- checking and repairing -----------------------------------------------------------------------------------------


@dataclass
class Expected:
    tallies: dict[tuple[int, str, int, str, str], list[float]] = field(default_factory=lambda: defaultdict(list))
    marks: dict[tuple[int, str, int, int], int] = field(default_factory=lambda: defaultdict(int))
    rows: list[tuple[Rating | PublicReview, dict[str, float]]] = field(default_factory=list)

    def add(self, key: tuple[int, str, int, str], contribution: dict[str, float]) -> None:
        for measure, amount in contribution.items():
            entry = self.tallies[(*key, measure)]
            if not entry:
                entry.extend([0.0, 0.0])
            entry[0] += amount
            entry[1] += 1


async def expected_tallies(session: AsyncSession) -> Expected:
    """What the tallies should hold, recomputed from every rating and review."""
    expected = Expected()
    containing: dict[int, list[int]] = {}
    for rating in (await session.exec(select(Rating).order_by(col(Rating.id)))).all():
        contribution = rating_contribution(rating)
        expected.rows.append((rating, contribution))
        if not contribution:
            continue
        if rating.period_id not in containing:
            containing[rating.period_id] = await periods_containing(session=session, period_id=rating.period_id)
        for period_id in containing[rating.period_id]:
            key = (period_id, rating.target_kind.value, rating.target_id, rating.rater_group.value)
            expected.add(key, contribution)
            mark = (period_id, rating.target_kind.value, rating.target_id, rating.rater_id)
            expected.marks[mark] += 1
            if expected.marks[mark] == 1:
                expected.add(key, {RATERS: 1.0})
    done = {t.id for t in (await session.exec(select(Task).where(Task.status == TaskStatus.DONE))).all()}
    for review in (await session.exec(select(PublicReview).order_by(col(PublicReview.id)))).all():
        contribution = review_contribution(review, review.task_id in done)
        expected.rows.append((review, contribution))
        for period_id in await periods_of_day(session=session, day=review.day) if contribution else []:
            expected.add(
                (period_id, TargetKind.SECTION.value, review.section_id, RaterGroup.PUBLIC.value), contribution
            )
    return expected


async def check_tallies(*, session: AsyncSession) -> list[str]:
    """The differences between the tallies and a recomputation from the raw ratings and reviews; [] when none."""
    expected = await expected_tallies(session)
    problems: list[str] = []
    stored = {
        (t.period_id, t.target_kind.value, t.target_id, t.rater_group.value, t.measure): (t.total, t.count)
        for t in (await session.exec(select(ScoreTally))).all()
    }
    for key in sorted(set(stored) | set(expected.tallies), key=str):
        want_total, want_count = expected.tallies.get(key, [0.0, 0.0])
        have_total, have_count = stored.get(key, (0.0, 0))
        if abs(want_total - have_total) > TOLERANCE or int(want_count) != have_count:
            period_id, kind, target_id, group, measure = key
            problems.append(
                f"period {period_id} {kind} {target_id} {group} {measure}: tallied {have_total:g}/{have_count}, "
                f"recomputed {want_total:g}/{int(want_count)}"
            )
    marks = {
        (m.period_id, m.target_kind.value, m.target_id, m.rater_id): m.ratings
        for m in (await session.exec(select(RaterMark))).all()
    }
    for mark in sorted(set(marks) | set(expected.marks), key=str):
        if marks.get(mark, 0) != expected.marks.get(mark, 0):
            problems.append(f"rater mark {mark}: {marks.get(mark, 0)}, recomputed {expected.marks.get(mark, 0)}")
    for row, contribution in expected.rows:
        if not _same(row.tally, contribution):
            problems.append(f"{type(row).__name__} {row.id}: remembers {row.tally}, should be {contribution}")
    return problems


def _same(left: dict[str, float], right: dict[str, float]) -> bool:
    return set(left) == set(right) and all(math.isclose(left[k], right[k], abs_tol=TOLERANCE) for k in left)


async def rebuild_tallies(*, session: AsyncSession) -> int:
    """Replaces the tallies with a recomputation from the raw rows; returns how many tally rows there are now."""
    expected = await expected_tallies(session)
    await session.exec(delete(ScoreTally))
    await session.exec(delete(RaterMark))
    for (period_id, kind, target_id, group, measure), (total, count) in expected.tallies.items():
        session.add(
            ScoreTally(
                period_id=period_id,
                target_kind=TargetKind(kind),
                target_id=target_id,
                rater_group=RaterGroup(group),
                measure=measure,
                total=total,
                count=int(count),
                shown_total=total,  # a repair is a step of its own: everything is published
                shown_count=int(count),
            )
        )
    for (period_id, kind, target_id, rater_id), ratings in expected.marks.items():
        session.add(
            RaterMark(
                period_id=period_id,
                target_kind=TargetKind(kind),
                target_id=target_id,
                rater_id=rater_id,
                ratings=ratings,
            )
        )
    for row, contribution in expected.rows:
        row.tally = contribution
        flag_modified(row, "tally")
        session.add(row)
    await session.flush()
    return len(expected.tallies)


async def needs_rebuild(*, session: AsyncSession) -> bool:
    """Ratings or reviews but no tallies at all: a database from before the tallies existed."""
    has_tallies = (await session.exec(select(ScoreTally.id).limit(1))).first() is not None
    has_rating = (await session.exec(select(Rating.id).where(col(Rating.voided_at).is_(None)).limit(1))).first()
    has_review = (await session.exec(select(PublicReview.id).where(col(PublicReview.complete)).limit(1))).first()
    return not has_tallies and (has_rating is not None or has_review is not None)
