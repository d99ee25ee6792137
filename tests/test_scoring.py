"""Scores from tallies: a small campaign worked out by hand, and properties of the tallies and the arithmetic."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import itertools
import subprocess
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import col, select, update

from bot.config import Settings
from storage import campaigns, ratings, reviews, scoring, tasks
from storage.models import (
    Member,
    Period,
    PeriodKind,
    RaterGroup,
    Rating,
    Role,
    ScoreTally,
    Section,
    TargetKind,
    TaskStatus,
    utc_now,
)
from storage.scoring import GroupScore, Rules, Standing
from storage.session import Database
from tests.cli import call_cli, run_cli
from tests.factories import make_member, make_section

JUNE = dt.date(2026, 6, 10)
JULY = dt.date(2026, 7, 8)
STANDARDS = ("service", "efficiency", "innovation", "rules", "satisfaction")
RULES = Rules(
    group_weights={RaterGroup.INDUSTRY: 0.5, RaterGroup.INTERNAL: 0.3, RaterGroup.PUBLIC: 0.2},
    prior_weight=2,
    min_raters=2,
    overdue_day_points=0.5,
    unrectified_review_points=2,
    max_deduction=20,
)
names = itertools.count(1)
nonces = itertools.count(1)


async def start_campaign(db: Database, publish_every: int = 1) -> None:
    """The 2026 campaign; by default every rating is published at once (these tests check the arithmetic and the
    kept boards; tests/test_publication.py the steps of min_raters)."""
    async with db.transaction() as session:
        await campaigns.sync_campaign(
            session=session,
            name="双优",
            starts=dt.date(2026, 5, 1),
            ends=dt.date(2026, 12, 31),
            publish_every=publish_every,
        )


async def period_of(db: Database, day: dt.date, kind: PeriodKind = PeriodKind.MONTH) -> Period:
    async with db.transaction() as session:
        period = await ratings.current_period(session=session, kind=kind, today=day)
    assert period is not None
    return period


async def rate(
    db: Database,
    rater: Member,
    target: Section | Member,
    value: int,
    day: dt.date = JUNE,
    group: RaterGroup | None = None,
    comment: str = "",
) -> None:
    """A confirmed rating with every standard at `value` (so that its value is `value`)."""
    kind = TargetKind.SECTION if isinstance(target, Section) else TargetKind.MEMBER
    period = await period_of(db, day)
    group = group or (RaterGroup.INDUSTRY if rater.role == Role.INDUSTRY else RaterGroup.INTERNAL)
    async with db.transaction() as session:
        new = ratings.NewRating(
            rater_id=rater.id or 0,
            rater_group=group,
            target_kind=kind,
            target_id=target.id or 0,
            period_id=period.id or 0,
            scores=dict.fromkeys(STANDARDS, value),
            comment=comment,
            value=float(value),
            form_nonce=next(nonces),
        )
        await ratings.store_rating(session=session, new=new, now=utc_now())


async def review(db: Database, section: Section, level: int, day: dt.date = JUNE) -> int:
    async with db.transaction() as session:
        found = await reviews.add_review(
            session=session, section_id=section.id or 0, reviewer_telegram_id=next(names), level=level, day=day
        )
        if level <= 2:
            task = await tasks.create_task(
                session=session,
                section_id=section.id or 0,
                due_on=day + dt.timedelta(days=7),
                responsible_id=None,
                created_by_id=None,
                title="Rectify",
            )
            found.complete, found.task_id = True, task.id
            await reviews.save_review(session=session, review=found)
        return found.task_id or 0


async def board(db: Database, period: Period, kind: TargetKind, rules: Rules = RULES) -> scoring.Board:
    async with db.transaction() as session:
        return await scoring.compute_board(session=session, rules=rules, period=period, kind=kind)


async def void(db: Database, rater: Member, target: Section, period: Period) -> bool:
    """Voids the rater's rating of the section in the period, if there is one; whether there was."""
    async with db.transaction() as session:
        query = select(Rating).where(
            Rating.rater_id == rater.id,
            Rating.target_kind == TargetKind.SECTION,
            Rating.target_id == target.id,
            Rating.period_id == period.id,
            col(Rating.voided_at).is_(None),
        )
        found = (await session.exec(query)).first()
        if found is not None:
            await ratings.void_rating(session=session, rating=found, reason="test", now=dt.datetime.now(dt.UTC))
    return found is not None


async def raters(db: Database, count: int, role: Role = Role.STAFF) -> list[Member]:
    home = await make_section(db, f"Raters {next(names)}")
    return [await make_member(db, None, f"R{next(names)}", role=role, section=home) for _ in range(count)]


async def test_sections_worked_out_by_hand(db: Database) -> None:
    await start_campaign(db)
    a, b, c = [await make_section(db, name) for name in ("办公室", "市场科", "质监站")]
    staff = await raters(db, 5)
    industry = await raters(db, 2, Role.INDUSTRY)
    for rater, value in zip(staff, (5, 4), strict=False):
        await rate(db, rater, a, value)
    await rate(db, industry[0], a, 5)
    await review(db, a, 5)
    await review(db, a, 1)  # bad, not rectified: 2 points off
    for rater in staff[2:4]:
        await rate(db, rater, b, 3)
    for rater in industry:
        await rate(db, rater, b, 4)
    await rate(db, staff[4], c, 4)  # one rater only: not enough
    async with db.transaction() as session:
        task = await tasks.create_task(
            session=session, section_id=b.id or 0, due_on=JUNE, responsible_id=None, created_by_id=None, title="T"
        )
        task.overdue_days = 3  # 1.5 points off
        await tasks.save_task(session=session, task=task)

    june = await board(db, await period_of(db, JUNE), TargetKind.SECTION)

    # min_raters is 2: A's one industry rater and C's one internal rater count nowhere (their values could be worked
    # out from the totals). Group means over the groups that count: internal (9 + 6)/4 = 3.75, industry (B) 8/2 = 4,
    # public (A) (5 + 1)/2 = 3.
    # A: internal (9 + 2·3.75)/4 = 4.125; industry: the prior, 4; public (6 + 2·3)/4 = 3
    #    0.5·4 + 0.3·4.125 + 0.2·3 = 3.8375 → (3.8375 − 1)/4·100 = 70.9375, minus 2 = 68.9375
    # B: internal (6 + 7.5)/4 = 3.375; industry (8 + 2·4)/4 = 4; public: the prior, 3
    #    0.5·4 + 0.3·3.375 + 0.2·3 = 3.6125 → 65.3125, minus 1.5 = 63.8125
    # C: its one rater counts nowhere: listed apart, with no raters shown.
    assert [(s.name, s.rank, scoring.shown(s.score), s.raters) for s in june.ranked] == [
        ("办公室", 1, 68.9, 4),
        ("市场科", 2, 63.8, 4),
    ]
    first = june.ranked[0]
    assert first.base == pytest.approx(70.9375, abs=1e-3)
    assert (first.good, first.bad, first.rectified, first.deduction) == (1, 1, 0, 2)
    assert first.groups[RaterGroup.INDUSTRY].shrunk == pytest.approx(4.0)  # the prior: the lone 5 is not in it
    assert june.ranked[1].overdue_days == 3 and june.ranked[1].deduction == 1.5
    station = june.find(c.id or 0)
    assert station is not None and (station.raters, station.enough, station.rank) == (0, False, None)

    # The quarter and the campaign hold June, so they show the same.
    for kind in (PeriodKind.QUARTER, PeriodKind.CAMPAIGN):
        longer = await board(db, await period_of(db, JUNE, kind), TargetKind.SECTION)
        assert [(s.name, scoring.shown(s.score)) for s in longer.ranked] == [("办公室", 68.9), ("市场科", 63.8)]


async def test_rectifying_a_bad_review_gives_the_points_back(db: Database) -> None:
    await start_campaign(db)
    section = await make_section(db, "办公室")
    for rater in await raters(db, 2):
        await rate(db, rater, section, 4)
    task_id = await review(db, section, 2)
    june = await period_of(db, JUNE)
    before = (await board(db, june, TargetKind.SECTION)).ranked[0]

    async with db.transaction() as session:
        task = await tasks.get_task(session=session, task_id=task_id)
        assert task is not None
        await tasks.close_task(
            session=session, task=task, status=TaskStatus.DONE, actor_id=None, note="fixed", now=dt.datetime.now(dt.UTC)
        )
    after = (await board(db, june, TargetKind.SECTION)).ranked[0]

    assert (before.bad, before.rectified, before.deduction) == (1, 0, 2)
    assert (after.bad, after.rectified, after.deduction) == (1, 1, 0)
    assert after.score == pytest.approx((before.score or 0) + 2)


async def test_individuals_by_hand_and_raters_counted_once_a_period(db: Database) -> None:
    await start_campaign(db)
    home = await make_section(db, "办公室")
    x = await make_member(db, None, "小王", section=home)
    y = await make_member(db, None, "小李", section=home)
    r1, r2, r3 = await raters(db, 3)
    for rater, value in ((r1, 5), (r2, 5), (r3, 4)):
        await rate(db, rater, x, value)
    for rater in (r1, r2):
        await rate(db, rater, y, 4)
    await rate(db, r1, x, 3, day=JULY)  # the same rater again, next month

    june = await board(db, await period_of(db, JUNE), TargetKind.MEMBER)
    # internal mean (5+5+4+4+4)/5 = 4.4; X (14 + 8.8)/5 = 4.56 → 89.0; Y (8 + 8.8)/4 = 4.2 → 80.0
    assert [(s.name, s.rank, scoring.shown(s.score), s.raters) for s in june.ranked] == [
        ("小王", 1, 89.0, 3),
        ("小李", 2, 80.0, 2),
    ]
    campaign = await board(db, await period_of(db, JUNE, PeriodKind.CAMPAIGN), TargetKind.MEMBER)
    x_all = campaign.find(x.id or 0)
    assert x_all is not None and x_all.raters == 3 and x_all.groups[RaterGroup.INTERNAL].count == 4
    july = await board(db, await period_of(db, JULY), TargetKind.MEMBER)
    assert list(july.ranked) == [] and july.find(x.id or 0).raters == 0  # type: ignore[union-attr]  # one: hidden


async def test_voiding_and_replacing_keep_the_tallies_exact(db: Database) -> None:
    await start_campaign(db)
    section = await make_section(db, "办公室")
    r1, r2 = await raters(db, 2)
    await rate(db, r1, section, 5)
    await rate(db, r1, section, 2)  # replaces the 5
    await rate(db, r2, section, 4)
    assert await void(db, r2, section, await period_of(db, JUNE))
    every_group = dataclasses.replace(RULES, min_raters=1)  # to read the lone rater's tally back
    standing = (await board(db, await period_of(db, JUNE), TargetKind.SECTION, every_group)).find(section.id or 0)

    assert standing is not None and standing.raters == 1
    assert standing.groups[RaterGroup.INTERNAL].total == 2
    async with db.transaction() as session:
        assert await scoring.check_tallies(session=session) == []


async def test_check_reports_a_damaged_tally_and_rebuild_repairs_it(db: Database) -> None:
    await start_campaign(db)
    section = await make_section(db, "办公室")
    for rater in await raters(db, 3):
        await rate(db, rater, section, 4)
    async with db.transaction() as session:
        from sqlmodel import select

        from storage.models import ScoreTally

        tally = (await session.exec(select(ScoreTally).where(ScoreTally.measure == "value"))).first()
        assert tally is not None
        tally.total += 1
        session.add(tally)
    async with db.transaction() as session:
        problems = await scoring.check_tallies(session=session)
        assert len(problems) == 1 and "tallied 13/3, recomputed 12/3" in problems[0]
        await scoring.rebuild_tallies(session=session)
    async with db.transaction() as session:
        assert await scoring.check_tallies(session=session) == []


# --- properties ---------------------------------------------------------------------------------------------------

actions = st.lists(
    st.tuples(
        st.sampled_from(["rate", "void", "review", "rectify"]),
        st.integers(0, 3),  # rater
        st.integers(0, 2),  # target
        st.integers(1, 5),  # value or level
        st.sampled_from([JUNE, JULY]),
    ),
    max_size=12,
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=actions)
async def test_tallies_always_equal_a_recomputation(
    db: Database, steps: list[tuple[str, int, int, int, dt.date]]
) -> None:
    await start_campaign(db)
    targets = [await make_section(db, f"S{next(names)}") for _ in range(3)]
    people = await raters(db, 4)
    open_tasks: list[int] = []
    for action, rater, target, value, day in steps:
        if action == "rate":
            await rate(db, people[rater], targets[target], value, day)
        elif action == "review":
            task_id = await review(db, targets[target], value, day)
            open_tasks += [task_id] if task_id else []
        elif action == "rectify" and open_tasks:
            async with db.transaction() as session:
                task = await tasks.get_task(session=session, task_id=open_tasks.pop())
                assert task is not None
                await tasks.close_task(
                    session=session,
                    task=task,
                    status=TaskStatus.DONE,
                    actor_id=None,
                    note="",
                    now=dt.datetime.now(dt.UTC),
                )
        elif action == "void":
            await void(db, people[rater], targets[target], await period_of(db, day))

    async with db.transaction() as session:
        assert await scoring.check_tallies(session=session) == []


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    votes=st.lists(st.tuples(st.integers(0, 3), st.integers(0, 2), st.integers(1, 5)), min_size=1, max_size=10),
    seed=st.randoms(),
)
async def test_the_order_of_ratings_does_not_matter(
    db: Database, votes: list[tuple[int, int, int]], seed: object
) -> None:
    await start_campaign(db)
    first = [await make_section(db, f"A{next(names)}") for _ in range(3)]
    second = [await make_section(db, f"B{next(names)}") for _ in range(3)]
    people = await raters(db, 4)
    unique = list({(rater, target): value for rater, target, value in votes}.items())
    for (rater, target), value in unique:
        await rate(db, people[rater], first[target], value)
    shuffled = list(unique)
    seed.shuffle(shuffled)  # type: ignore[attr-defined]
    for (rater, target), value in shuffled:
        await rate(db, people[rater], second[target], value)

    result = await board(db, await period_of(db, JUNE), TargetKind.SECTION)

    for one, other in zip(first, second, strict=True):
        left, right = result.find(one.id or 0), result.find(other.id or 0)
        assert left is not None and right is not None
        assert left.score == pytest.approx(right.score) and left.raters == right.raters


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    votes=st.lists(st.tuples(st.integers(0, 3), st.integers(0, 2), st.integers(1, 5), st.booleans()), max_size=10),
    target=st.integers(0, 2),
    industry=st.booleans(),
)
async def test_one_more_top_rating_never_lowers_a_score(
    db: Database, votes: list[tuple[int, int, int, bool]], target: int, industry: bool
) -> None:
    await start_campaign(db)
    sections = [await make_section(db, f"C{next(names)}") for _ in range(3)]
    staff, outside = await raters(db, 4), await raters(db, 4, Role.INDUSTRY)
    for rater, rated, value, external in votes:
        await rate(db, (outside if external else staff)[rater], sections[rated], value)
    june = await period_of(db, JUNE)
    # Every group counting from its first rater: a group that reaches min_raters brings its mean in at once, which
    # may be lower than the prior it replaces; the arithmetic itself must never punish a top rating.
    every_group = dataclasses.replace(RULES, min_raters=1)
    before = (await board(db, june, TargetKind.SECTION, every_group)).find(sections[target].id or 0)

    newcomer = (await raters(db, 1, Role.INDUSTRY if industry else Role.STAFF))[0]
    await rate(db, newcomer, sections[target], 5)
    after = (await board(db, june, TargetKind.SECTION, every_group)).find(sections[target].id or 0)

    assert before is not None and after is not None and after.score is not None
    assert after.score >= (before.score or 0) - 1e-9


@given(
    means=st.lists(st.tuples(st.floats(1, 5), st.integers(0, 50)), min_size=1, max_size=5),
    overdue=st.integers(0, 10_000),
    bad=st.integers(0, 1000),
    points=st.floats(0, 100),
    cap=st.floats(0, 100),
)
def test_deductions_never_push_a_score_below_zero(
    means: list[tuple[float, int]], overdue: int, bad: int, points: float, cap: float
) -> None:
    rules = Rules(
        group_weights={RaterGroup.INTERNAL: 1.0},
        overdue_day_points=points,
        unrectified_review_points=points,
        max_deduction=cap,
    )
    standings = [
        Standing(
            TargetKind.SECTION,
            index,
            f"S{index}",
            groups={RaterGroup.INTERNAL: GroupScore(total=mean * count, count=count, raters=count)},
            overdue_days=overdue,
            bad=bad,
        )
        for index, (mean, count) in enumerate(means)
    ]
    scoring.score_standings(standings, rules, TargetKind.SECTION)
    for standing in standings:
        assert standing.score is None or 0 <= standing.score <= 100
        assert standing.deduction <= cap


def test_settings_give_the_rules() -> None:
    rules = Settings().scoring.rules()
    assert rules.group_weights[RaterGroup.INDUSTRY] == 0.5 and rules.min_raters == 3


async def test_check_and_export_from_the_command_line(
    db: Database,
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await start_campaign(db)
    section = await make_section(db, "办公室")
    for rater in await raters(db, 3):
        await rate(db, rater, section, 4)
    env = {"DATABASE_URL": settings.database_url, "SHUANGYOU_CAMPAIGN__STARTS": "2026-05-01"}
    env["SHUANGYOU_CAMPAIGN__ENDS"] = "2026-12-31"

    async def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return await asyncio.to_thread(call_cli, monkeypatch, capsys, *args, cwd=tmp_path, env=env)

    async def process(*args: str) -> subprocess.CompletedProcess[str]:
        return await asyncio.to_thread(run_cli, *args, cwd=tmp_path, env=env)

    checked = await process("check")
    assert checked.returncode == 0, checked.stderr
    assert "match" in checked.stdout
    async with db.transaction() as session:
        await session.exec(update(ScoreTally).where(col(ScoreTally.measure) == "value").values(count=9))
    damaged = await cli("check")
    assert damaged.returncode == 1 and "recomputed" in damaged.stdout and "--repair" in damaged.stdout
    assert (await cli("check", "--repair")).returncode == 0
    assert (await cli("check")).returncode == 0

    exported = await process("export", "--period", "2026-06", "--out", str(tmp_path / "june.xlsx"))
    assert exported.returncode == 0, exported.stderr
    book = openpyxl.load_workbook(tmp_path / "june.xlsx")
    rows = list(book.worksheets[0].iter_rows(min_row=2, values_only=True))
    assert rows[0][:2] == ("2026-06", "办公室")
    assert (tmp_path / "june.csv").read_text(encoding="utf-8-sig").count("\n") >= 2
    wrong = await cli("export", "--period", "2031-13")
    assert wrong.returncode == 2 and "no period '2031-13'; a period is a month (2026-05 … 2026-12)" in wrong.stderr
