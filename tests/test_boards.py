"""Boards kept between requests: whatever changes, a kept board is the board computed afresh, and nothing that
leaves the boards' inputs alone makes one be computed again."""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.exc import IntegrityError

from storage import members, ratings, scoring, sections, tasks
from storage.boards import BoardCache, board_version
from storage.journal import EVERY_PERIOD, Journal
from storage.models import (
    Member,
    MemberStatus,
    Period,
    PeriodKind,
    RaterGroup,
    Role,
    Section,
    TargetKind,
    TaskStatus,
    utc_now,
)
from storage.scoring import Standing
from storage.session import Database
from tests.factories import make_member, make_section
from tests.test_scoring import JUNE, RULES, STANDARDS, names, period_of, rate, raters, review, start_campaign, void

TODAY = JUNE + dt.timedelta(days=12)
# Overdue days counted by the calendar (every day a working day), so that a late task costs its section points.
COUNTED = replace(RULES, working_days=lambda due, until: max(0, (until - due).days))
KINDS = (TargetKind.SECTION, TargetKind.MEMBER)
INTERNAL = RaterGroup.INTERNAL

Shown = list[tuple[int, str, float | None, int | None, int, bool]]


def shown(board: scoring.Board) -> Shown:
    """What a reader sees of a board: every target's place, name, score and raters."""
    return [
        (s.target_id, s.name, scoring.shown(s.score), s.rank, s.raters, s.enough)
        for s in [*board.ranked, *board.unranked]
    ]


async def kept_and_fresh(
    db: Database, cache: BoardCache, period: Period, kind: TargetKind
) -> tuple[scoring.Board, scoring.Board]:
    async with db.transaction() as session:
        kept = await cache.board(session=session, rules=COUNTED, period=period, kind=kind, today=TODAY)
        fresh = await scoring.compute_board(session=session, rules=COUNTED, period=period, kind=kind, today=TODAY)
    return kept, fresh


async def change_member(db: Database, member: Member, **changes: object) -> None:
    async with db.transaction() as session:
        found = await members.get_member(session=session, member_id=member.id or 0)
        assert found is not None
        for name, value in changes.items():
            setattr(found, name, value)
        await members.save_member(session=session, member=found)


async def change_section(db: Database, section: Section, *, name: str = "", archived: bool | None = None) -> None:
    async with db.transaction() as session:
        found = await sections.get_section(session=session, section_id=section.id or 0)
        assert found is not None
        if name:
            await sections.rename_section(session=session, section=found, name=name)
        if archived is not None:
            await sections.set_archived(session=session, section=found, archived=archived, now=dt.datetime.now(dt.UTC))


ACTIONS = ("rate", "rate person", "void", "review", "rectify", "task", "finish", "rename", "archive", "restore")
actions = st.lists(
    st.tuples(
        st.sampled_from([*ACTIONS, "leave", "promote", "move", "nothing"]),
        st.integers(0, 3),  # who
        st.integers(0, 2),  # which section or person
        st.integers(1, 5),  # value or level
    ),
    max_size=10,
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=actions)
async def test_a_kept_board_is_always_the_board_computed_afresh(
    db: Database, steps: list[tuple[str, int, int, int]]
) -> None:
    await start_campaign(db)
    targets = [await make_section(db, f"S{next(names)}") for _ in range(3)]
    people = [await make_member(db, None, f"P{next(names)}", section=targets[n % 3]) for n in range(3)]
    rating_people = await raters(db, 4)
    period = await period_of(db, JUNE)
    cache = BoardCache()
    open_tasks: list[int] = []
    late_tasks: list[int] = []
    for action, who, which, value in steps:
        if action == "rate":
            await rate(db, rating_people[who], targets[which], value)
        elif action == "rate person":
            await rate(db, rating_people[who], people[which], value)
        elif action == "void":
            await void(db, rating_people[who], targets[which], period)
        elif action == "review":
            open_tasks += [task_id] if (task_id := await review(db, targets[which], value)) else []
        elif action == "rectify" and open_tasks:
            await close(db, open_tasks.pop())
        elif action == "task":  # overdue by TODAY
            late_tasks.append(await overdue_task(db, targets[which], value))
        elif action == "finish" and late_tasks:  # done yesterday: late till then, not till today
            await close(db, late_tasks.pop(), when=TODAY - dt.timedelta(days=1))
        elif action in ("rename", "archive", "restore"):
            archived = {"archive": True, "restore": False}.get(action)
            await change_section(
                db, targets[which], name=f"S{next(names)}" if action == "rename" else "", archived=archived
            )
        elif action == "leave":
            await change_member(db, people[which], status=MemberStatus.INACTIVE)
        elif action == "promote":
            await change_member(db, people[which], role=Role.LEADER if value > 3 else Role.HEAD)
        elif action == "move":
            await change_member(db, people[which], section_id=targets[value % 3].id)
        for kind in KINDS:
            kept, fresh = await kept_and_fresh(db, cache, period, kind)
            assert detail(kept) == detail(fresh), (action, kind)


async def close(db: Database, task_id: int, when: dt.date | None = None) -> None:
    now = dt.datetime.combine(when, dt.time(9), dt.UTC) if when else dt.datetime.now(dt.UTC)
    async with db.transaction() as session:
        task = await tasks.get_task(session=session, task_id=task_id)
        assert task is not None
        await tasks.close_task(session=session, task=task, status=TaskStatus.DONE, actor_id=None, note="", now=now)


async def overdue_task(db: Database, section: Section, days_late: int) -> int:
    async with db.transaction() as session:
        task = await tasks.create_task(
            session=session,
            section_id=section.id or 0,
            due_on=TODAY - dt.timedelta(days=days_late),
            responsible_id=None,
            created_by_id=None,
            title="Late",
        )
        return task.id or 0


async def test_a_board_is_kept_while_nothing_it_reads_changes(db: Database) -> None:
    await start_campaign(db)
    section = await make_section(db, "办公室")
    staff = await make_member(db, 501, "小王", section=section)
    for rater in await raters(db, 3):
        await rate(db, rater, section, 4)
    period = await period_of(db, JUNE)
    cache = BoardCache()

    first, _ = await kept_and_fresh(db, cache, period, TargetKind.SECTION)
    await change_member(db, staff, language="en", mute_nudges=True, reachable=False)  # none of it is on a board
    async with db.transaction() as session:
        await ratings.save_comment(  # a rating begun is not a rating yet
            session=session, rater_id=staff.id or 0, text="很好", now=utc_now()
        )
    second, _ = await kept_and_fresh(db, cache, period, TargetKind.SECTION)
    assert second is first

    await change_section(db, section, name="党政办公室")
    third, _ = await kept_and_fresh(db, cache, period, TargetKind.SECTION)
    assert third is not first and third.ranked[0].name == "党政办公室"


async def test_a_change_outdates_only_the_kinds_of_board_it_feeds(db: Database) -> None:
    """A rating of a colleague leaves the sections' boards kept (what /ranking shows first), a review the
    individuals'; a renamed section is on both."""
    await start_campaign(db)
    section = await make_section(db, "办公室")
    colleague = await make_member(db, 501, "小王", section=section)
    people = await raters(db, 3)
    period = await period_of(db, JUNE)
    cache = BoardCache()
    sections_first, _ = await kept_and_fresh(db, cache, period, TargetKind.SECTION)
    people_first, _ = await kept_and_fresh(db, cache, period, TargetKind.MEMBER)

    for person in people:  # enough of them for their group to count (min_raters)
        await rate(db, person, colleague, 5)
    sections_second, _ = await kept_and_fresh(db, cache, period, TargetKind.SECTION)
    people_second, fresh = await kept_and_fresh(db, cache, period, TargetKind.MEMBER)
    assert sections_second is sections_first
    assert people_second is not people_first and shown(people_second) == shown(fresh)
    rated = people_second.find(colleague.id or 0)
    assert rated is not None and rated.raters == 3

    await review(db, section, 2)
    sections_third, fresh = await kept_and_fresh(db, cache, period, TargetKind.SECTION)
    people_third, _ = await kept_and_fresh(db, cache, period, TargetKind.MEMBER)
    assert people_third is people_second
    assert sections_third is not sections_second and shown(sections_third) == shown(fresh)

    await change_section(db, section, name="党政办公室")
    sections_fourth, _ = await kept_and_fresh(db, cache, period, TargetKind.SECTION)
    people_fourth, _ = await kept_and_fresh(db, cache, period, TargetKind.MEMBER)
    assert sections_fourth is not sections_third and people_fourth is not people_third
    moved = people_fourth.find(colleague.id or 0)
    assert moved is not None and moved.section_name == "党政办公室"


async def test_a_savepoint_rolled_back_leaves_the_changes_made_before_it(db: Database) -> None:
    """As when a snapshot's slot is taken already (storage.snapshots): the rename before it still outdates."""
    await start_campaign(db)
    section = await make_section(db, "办公室")
    colleague = await make_member(db, 501, "小王", section=section)
    period = await period_of(db, JUNE)
    cache = BoardCache()
    before, _ = await kept_and_fresh(db, cache, period, TargetKind.MEMBER)

    async with db.transaction() as session:
        found = await members.get_member(session=session, member_id=colleague.id or 0)
        assert found is not None
        found.display_name = "小李"
        await members.save_member(session=session, member=found)
        with contextlib.suppress(IntegrityError):
            async with session.begin_nested():
                session.add(Section(name="办公室", kind=section.kind))  # the name is taken
                await session.flush()

    after, fresh = await kept_and_fresh(db, cache, period, TargetKind.MEMBER)
    assert after is not before and shown(after) == shown(fresh)
    renamed = after.find(colleague.id or 0)
    assert renamed is not None and renamed.name == "小李"


def count_fresh_boards(monkeypatch: pytest.MonkeyPatch) -> list[TargetKind]:
    """The kinds of the boards computed afresh from now on, one entry each."""
    computed: list[TargetKind] = []
    compute_board = scoring.compute_board

    async def counted(**arguments: Any) -> scoring.Board:
        computed.append(arguments["kind"])
        return await compute_board(**arguments)

    monkeypatch.setattr(scoring, "compute_board", counted)
    return computed


async def test_after_a_rating_only_the_rated_target_is_read_again(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    await start_campaign(db)
    section = await make_section(db, "办公室")
    colleagues = [await make_member(db, None, f"P{next(names)}", section=section) for _ in range(4)]
    people = await raters(db, 3)
    for rater in people:
        for colleague in colleagues:
            await rate(db, rater, colleague, 4)
    period = await period_of(db, JUNE)
    cache = BoardCache()
    before, _ = await kept_and_fresh(db, cache, period, TargetKind.MEMBER)
    computed = count_fresh_boards(monkeypatch)
    await rate(db, people[0], colleagues[1], 1)
    await rate(db, people[1], colleagues[2], 5)
    after, fresh = await kept_and_fresh(db, cache, period, TargetKind.MEMBER)

    assert computed == [TargetKind.MEMBER]  # the fresh board of the comparison: the kept one was ordered again
    assert after is not before and detail(after) == detail(fresh) != detail(before)

    await change_member(db, colleagues[3], display_name="小李")  # a member's change: that target is read again
    computed.clear()
    renamed, fresh = await kept_and_fresh(db, cache, period, TargetKind.MEMBER)
    assert computed == [TargetKind.MEMBER] and renamed.find(colleagues[3].id or 0).name == "小李"  # type: ignore[union-attr]
    assert detail(renamed) == detail(fresh)

    await change_section(db, section, name="总办")  # its members' section names: the journal cannot tell whose
    computed.clear()
    await kept_and_fresh(db, cache, period, TargetKind.MEMBER)
    assert computed == [TargetKind.MEMBER] * 2


async def test_after_a_task_changes_only_its_section_is_read_again(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    await start_campaign(db)
    targets = [await make_section(db, f"S{next(names)}") for _ in range(3)]
    for rater in await raters(db, 3):
        for section in targets:
            await rate(db, rater, section, 4)
    period = await period_of(db, JUNE)
    cache = BoardCache()
    before, _ = await kept_and_fresh(db, cache, period, TargetKind.SECTION)
    computed = count_fresh_boards(monkeypatch)
    late = await overdue_task(db, targets[1], 3)
    after, fresh = await kept_and_fresh(db, cache, period, TargetKind.SECTION)
    await close(db, late, when=TODAY - dt.timedelta(days=2))  # late for a day, not three
    done, done_fresh = await kept_and_fresh(db, cache, period, TargetKind.SECTION)

    assert computed == [TargetKind.SECTION] * 2  # the fresh boards of the comparisons: the kept one was ordered again
    assert after.find(targets[1].id or 0).overdue_days == 3  # type: ignore[union-attr]
    assert detail(after) == detail(fresh) != detail(before)
    assert detail(done) == detail(done_fresh) != detail(after)


def test_the_journal_knows_the_targets_changed_only_when_it_saw_every_version_since() -> None:
    journal = Journal(size=3)
    journal.record(TargetKind.MEMBER, 5, [(1, 10), (2, 10)])
    journal.record(TargetKind.MEMBER, 6, [(1, 11)])
    journal.record(TargetKind.SECTION, 7, [(1, 3)])

    assert journal.targets_changed(TargetKind.MEMBER, 1, 4, 6) == {10, 11}
    assert journal.targets_changed(TargetKind.MEMBER, 2, 4, 6) == {10}
    assert journal.targets_changed(TargetKind.MEMBER, 1, 3, 6) is None  # version 4: another process's
    assert journal.targets_changed(TargetKind.MEMBER, 1, 6, 6) is None  # nothing to say: not asked
    journal.record(TargetKind.MEMBER, 7, None)  # a name changed
    assert journal.targets_changed(TargetKind.MEMBER, 1, 6, 7) is None
    journal.record(TargetKind.MEMBER, 8, [(1, 12)])
    assert journal.targets_changed(TargetKind.MEMBER, 1, 4, 6) is None  # 5 is dropped: the journal keeps 3
    assert journal.targets_changed(TargetKind.MEMBER, 1, 7, 8) == {12}
    journal.record(TargetKind.SECTION, 8, [(EVERY_PERIOD, 4)])  # a task: its section, in whichever period
    assert journal.targets_changed(TargetKind.SECTION, 2, 7, 8) == {4}
    assert journal.targets_changed(TargetKind.SECTION, 1, 6, 8) == {3, 4}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_change_made_by_another_process_is_seen(db: Database, tmp_path: Path) -> None:
    await start_campaign(db)
    section = await make_section(db, "办公室")
    people = await raters(db, 3)
    for rater in people:
        await rate(db, rater, section, 5)
    period = await period_of(db, JUNE)
    cache = BoardCache()
    before, _ = await kept_and_fresh(db, cache, period, TargetKind.SECTION)

    other = Database(db.url)  # another engine on the same file: what another bot process would be
    try:
        await rate(other, people[0], section, 1)
    finally:
        await other.close()

    after, fresh = await kept_and_fresh(db, cache, period, TargetKind.SECTION)
    assert shown(after) == shown(fresh) != shown(before)


async def test_the_standards_asked_for_come_with_the_kept_board_and_stay_off_it(db: Database) -> None:
    await start_campaign(db)
    first, second = await make_section(db, "办公室"), await make_section(db, "行政审批科")
    for rater in await raters(db, 3):
        await rate(db, rater, first, 4)
        await rate(db, rater, second, 2)
    period = await period_of(db, JUNE)
    cache = BoardCache()

    async with db.transaction() as session:
        version = await board_version(session=session, kind=TargetKind.SECTION)
        board = await cache.board(
            session=session, rules=RULES, period=period, kind=TargetKind.SECTION, today=TODAY,
            standards_of=(first.id or 0,),
        )  # fmt: skip
        plain = await cache.board(session=session, rules=RULES, period=period, kind=TargetKind.SECTION, today=TODAY)
        assert await board_version(session=session, kind=TargetKind.SECTION) == version  # reading changes nothing

    with_standards = board.find(first.id or 0)
    assert with_standards is not None and with_standards.standard_means() == dict.fromkeys(STANDARDS, 4.0)
    kept = plain.find(first.id or 0)
    assert kept is not None and kept.standard_means() == {} and kept is not with_standards
    assert shown(board) == shown(plain)


# --- ordering a board again after a change to a few targets (storage.scoring.reorder), without a database ----------

PERIOD = Period(id=1, campaign_id=1, kind=PeriodKind.MONTH, starts_on=JUNE.replace(day=1), ends_on=JUNE)
WEIGHTS = st.sampled_from([0.0, 0.2, 0.3, 0.5, 1.0])


@st.composite
def tallies(draw: st.DrawFn, kind: TargetKind, target_id: int) -> Standing:
    """A target's inputs: for each rater group, ratings (or none) whose values are whole numbers 1–5."""
    standing = Standing(kind, target_id, draw(st.sampled_from(["甲", "乙", "丙", "Ann"])))
    for group in scoring.groups_scored(kind):
        count = draw(st.integers(0, 60))
        if count:
            total = float(draw(st.integers(count, 5 * count)))
            standing.groups[group] = scoring.GroupScore(total, count, draw(st.integers(1, count)))
    if kind == TargetKind.SECTION:
        standing.overdue_days, standing.bad = draw(st.integers(0, 3)), draw(st.integers(0, 2))
    return standing


def one_more_rating(standing: Standing, group: RaterGroup, value: int, new_rater: bool) -> Standing:
    scores = standing.groups.get(group, scoring.GroupScore())
    again = replace(standing, groups=dict(standing.groups))
    again.groups[group] = scoring.GroupScore(
        scores.total + value, scores.count + 1, scores.raters + (1 if new_rater or not scores.count else 0)
    )
    return again


def detail(board: scoring.Board) -> list[tuple[object, ...]]:
    """Everything a reader can see of every standing, the exact score included."""
    return [
        (s.target_id, s.name, s.score, s.base, s.deduction, s.rank, s.raters, s.enough)
        for s in [*board.ranked, *board.unranked]
    ]


@settings(max_examples=60, deadline=None)
@given(data=st.data(), kind=st.sampled_from(KINDS), weights=st.tuples(WEIGHTS, WEIGHTS, WEIGHTS))
def test_a_board_ordered_again_after_a_few_ratings_is_the_board_ranked_afresh(
    data: st.DataObject, kind: TargetKind, weights: tuple[float, float, float]
) -> None:
    rules = replace(RULES, group_weights=dict(zip(scoring.groups_scored(TargetKind.SECTION), weights, strict=True)))
    count = data.draw(st.integers(1, 80), label="targets")
    board = scoring.rank_targets(PERIOD, kind, {n: data.draw(tallies(kind, n)) for n in range(1, count + 1)}, rules)
    for _ in range(data.draw(st.integers(1, 6), label="changes")):
        inputs = dict(board.inputs)
        changed = set(data.draw(st.lists(st.integers(1, count), min_size=1, max_size=3), label="rated"))
        for target_id in changed:
            group = data.draw(st.sampled_from(scoring.groups_scored(kind)))
            inputs[target_id] = one_more_rating(
                inputs[target_id], group, data.draw(st.integers(1, 5)), data.draw(st.booleans())
            )
        again = scoring.reorder(board, inputs, changed, rules)
        fresh = scoring.rank_targets(PERIOD, kind, inputs, rules)
        if again is not None:
            assert detail(again) == detail(fresh)
            assert again.ranked_summaries() == [scoring.summary(standing) for standing in fresh.ranked]
        board = again or fresh


def test_a_rating_orders_again_only_the_targets_near_a_change_of_their_shown_score() -> None:
    """300 people with 40 ratings each: one more rating moves everyone's score by a hundredth of a point or less,
    so only the rated one and those that near a shown score's edge are scored again."""
    values = itertools.cycle([3, 4, 5, 4, 2])
    inputs = {
        n: Standing(
            TargetKind.MEMBER,
            n,
            f"P{n:03}",
            groups={INTERNAL: scoring.GroupScore(sum(itertools.islice(values, 40)) + n % 7, 40, 40)},
        )
        for n in range(1, 301)
    }
    board = scoring.rank_targets(PERIOD, TargetKind.MEMBER, inputs, RULES)
    changed = dict(inputs)
    changed[7] = one_more_rating(inputs[7], INTERNAL, 5, True)

    again = scoring.reorder(board, changed, {7}, RULES)

    assert again is not None and again.ranking is not None
    assert 7 in again.ranking.moved or again.ranking.gaps[7] > 0
    assert len(again.ranking.moved) < 30
    assert detail(again) == detail(scoring.rank_targets(PERIOD, TargetKind.MEMBER, changed, RULES))
