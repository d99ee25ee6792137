"""Boards kept between requests: whatever changes, a kept board is the board computed afresh, and nothing that
leaves the boards' inputs alone makes one be computed again."""

from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.exc import IntegrityError

from storage import members, ratings, scoring, sections, tasks
from storage.boards import BoardCache, board_version
from storage.models import Member, MemberStatus, Period, Role, Section, TargetKind, TaskStatus
from storage.session import Database
from tests.factories import make_member, make_section
from tests.test_scoring import JUNE, RULES, STANDARDS, names, period_of, rate, raters, review, start_campaign, void

TODAY = JUNE + dt.timedelta(days=12)
# Overdue days counted by the calendar (every day a working day), so that a late task costs its section points.
COUNTED = replace(RULES, working_days=lambda due, until: max(0, (until - due).days))
KINDS = (TargetKind.SECTION, TargetKind.MEMBER)

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
            assert shown(kept) == shown(fresh), (action, kind)


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
        await ratings.open_form(  # a rating begun is not a rating yet
            session=session, rater_id=staff.id or 0, target_kind=TargetKind.SECTION, target_id=section.id or 0,
            period_id=period.id or 0,
        )  # fmt: skip
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

    await rate(db, people[0], colleague, 5)
    sections_second, _ = await kept_and_fresh(db, cache, period, TargetKind.SECTION)
    people_second, fresh = await kept_and_fresh(db, cache, period, TargetKind.MEMBER)
    assert sections_second is sections_first
    assert people_second is not people_first and shown(people_second) == shown(fresh)
    rated = people_second.find(colleague.id or 0)
    assert rated is not None and rated.raters == 1

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
