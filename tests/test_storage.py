"""The database: migrations on a real SQLite file and a real PostgreSQL server, sessions, the campaign rows."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any, cast

import aiosqlite
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine, func, inspect, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.util import greenlet_spawn
from sqlmodel import SQLModel, select

from bot.app import build_application, on_start
from bot.config import Settings
from bot.fake_api import FakeBotApi
from storage import campaigns, members, reviews, scoring, tasks
from storage.migrate import DatabaseTooNewError, current_revision, downgrade_database, head_revision, upgrade_database
from storage.models import (
    Campaign,
    Member,
    MemberStatus,
    Period,
    PeriodKind,
    PublicReview,
    Rating,
    Role,
    ScoreTally,
    Section,
    SectionKind,
    TargetKind,
    sort_name,
)
from storage.session import Database, DatabaseUnavailable
from tests.factories import make_member, make_section
from tests.test_scoring import JUNE, period_of, rate, raters, start_campaign

TABLES = {
    *("section", "member", "campaign", "period", "invite", "campaign_group", "dialog", "audit_entry"),
    *("commitment", "task", "task_event", "reminder", "rating", "form_comment", "signing_key", "public_review"),
    *("score_tally", "rater_mark", "snapshot", "processed_update", "board_version"),
    "alembic_version",
}


async def test_migrations_create_every_table(db: Database) -> None:
    async with db.engine.connect() as connection:
        names = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))

    assert names == TABLES
    assert await current_revision(db.engine) == head_revision()


async def test_upgrade_twice_changes_nothing(db: Database) -> None:
    assert await upgrade_database(db.engine) == (head_revision(), head_revision())


async def test_models_and_migrations_agree(db: Database) -> None:
    def differences(connection: Connection) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, SQLModel.metadata))

    async with db.engine.connect() as connection:
        assert await connection.run_sync(differences) == []


async def test_downgrade_to_nothing_and_up_again(db: Database) -> None:
    await downgrade_database(db.engine, "base")
    async with db.engine.connect() as connection:
        names = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    assert names <= {"alembic_version"}

    await upgrade_database(db.engine)

    assert await current_revision(db.engine) == head_revision()


async def test_database_newer_than_the_code_is_refused(db: Database) -> None:
    async with db.engine.begin() as connection:
        await connection.execute(text("UPDATE alembic_version SET version_num = 'ffff_from_the_future'"))

    with pytest.raises(DatabaseTooNewError, match=r"ffff_from_the_future.*newer version"):
        await upgrade_database(db.engine)


async def test_transaction_commits_once_at_the_end(db: Database) -> None:
    async with db.transaction() as session:
        session.add(Section(name="办公室", kind=SectionKind.OFFICE))

    async with db.transaction() as session:
        sections = (await session.exec(select(Section))).all()
    assert [section.name for section in sections] == ["办公室"]
    assert sections[0].created_at.tzinfo is not None


async def test_transaction_that_fails_leaves_nothing(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.transaction() as session:
            session.add(Section(name="办公室", kind=SectionKind.OFFICE))
            await session.flush()
            raise RuntimeError("a handler failed half-way")

    async with db.transaction() as session:
        assert (await session.exec(select(Section))).all() == []


async def test_foreign_keys_are_enforced(db: Database) -> None:
    with pytest.raises(IntegrityError):
        async with db.transaction() as session:
            await members.create_member(
                session=session,
                telegram_id=1,
                display_name="Nobody",
                role=Role.STAFF,
                status=MemberStatus.ACTIVE,
                section_id=999,
            )


async def test_telegram_id_is_unique(db: Database) -> None:
    async with db.transaction() as session:
        await members.create_member(
            session=session, telegram_id=1, display_name="A", role=Role.STAFF, status=MemberStatus.ACTIVE
        )
    with pytest.raises(IntegrityError):
        async with db.transaction() as session:
            await members.create_member(
                session=session, telegram_id=1, display_name="B", role=Role.STAFF, status=MemberStatus.ACTIVE
            )


async def test_names_are_trimmed_and_cut_to_the_column(db: Database) -> None:
    async with db.transaction() as session:
        member = await members.create_member(
            session=session,
            telegram_id=5,
            display_name="  张   三 " + "长" * 100,
            role=Role.STAFF,
            status=MemberStatus.ACTIVE,
        )

    assert member.display_name.startswith("张 三 长") and len(member.display_name) == 64


async def test_enums_and_big_telegram_ids_read_back(db: Database) -> None:
    big_id = 8_000_000_000
    async with db.transaction() as session:
        await members.create_member(
            session=session, telegram_id=big_id, display_name="X", role=Role.INDUSTRY, status=MemberStatus.PENDING
        )

    async with db.transaction() as session:
        member = await members.get_member_by_telegram_id(session=session, telegram_id=big_id)
    assert member is not None
    assert (member.role, member.status) == (Role.INDUSTRY, MemberStatus.PENDING)
    assert isinstance(member.role, Role)


async def test_sync_campaign_creates_the_periods_once(db: Database, settings: Settings) -> None:
    config = settings.campaign
    for _ in range(2):
        async with db.transaction() as session:
            campaign = await campaigns.sync_campaign(
                session=session, name=config.name, starts=config.starts, ends=config.ends
            )

    assert campaign.id is not None
    async with db.transaction() as session:
        assert len((await session.exec(select(Campaign))).all()) == 1
        months = await campaigns.list_periods(session=session, campaign_id=campaign.id, kind=PeriodKind.MONTH)
        quarters = await campaigns.list_periods(session=session, campaign_id=campaign.id, kind=PeriodKind.QUARTER)
        whole = await campaigns.list_periods(session=session, campaign_id=campaign.id, kind=PeriodKind.CAMPAIGN)
        total = len((await session.exec(select(Period))).all())
    year = config.starts.year
    assert (months[0].starts_on, months[0].ends_on) == (dt.date(year, 5, 1), dt.date(year, 5, 31))
    assert len(months) == 8 and len(quarters) == 3 and len(whole) == 1
    assert quarters[0].starts_on == dt.date(year, 5, 1) and quarters[0].ends_on == dt.date(year, 6, 30)
    assert total == 12


async def test_sync_campaign_follows_a_changed_config(db: Database) -> None:
    async with db.transaction() as session:
        await campaigns.sync_campaign(
            session=session, name="old", starts=dt.date(2026, 5, 1), ends=dt.date(2026, 6, 30)
        )
    async with db.transaction() as session:
        campaign = await campaigns.sync_campaign(
            session=session, name="new", starts=dt.date(2026, 5, 1), ends=dt.date(2026, 7, 31)
        )
        assert campaign.id is not None
        months = await campaigns.list_periods(session=session, campaign_id=campaign.id, kind=PeriodKind.MONTH)

    assert campaign.name == "new"
    assert [m.starts_on.month for m in months] == [5, 6, 7]


async def test_sqlite_runs_with_wal_foreign_keys_and_busy_timeout(tmp_path: object) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/pragmas.db")
    try:
        async with db.engine.connect() as connection:
            values = [
                (await connection.execute(text(f"PRAGMA {name}"))).scalar()
                for name in ("journal_mode", "foreign_keys", "busy_timeout")
            ]
    finally:
        await db.close()

    assert values == ["wal", 1, 5000]


async def test_a_sqlite_statement_is_one_trip_to_the_driver_thread(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """storage/sqlite_driver.py: rows, rowcount, executemany and errors as from the stock adapter, and each
    statement one call into aiosqlite's thread (the stock adapter makes four)."""
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/trips.db")
    trips: list[str] = []
    run_in_thread = cast(Callable[..., Awaitable[Any]], aiosqlite.Connection._execute)

    async def counted(connection: aiosqlite.Connection, function: Any, *args: Any, **kwargs: Any) -> Any:
        trips.append(getattr(function, "__name__", "?"))
        return await run_in_thread(connection, function, *args, **kwargs)

    try:
        async with db.engine.begin() as connection:
            await connection.execute(text("CREATE TABLE pair (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)"))
            monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
            inserted = await connection.execute(
                text("INSERT INTO pair (name) VALUES (:name)"), [{"name": "a"}, {"name": "b"}, {"name": "c"}]
            )
            renamed = await connection.execute(text("UPDATE pair SET name = name || '!' WHERE id > 1"))
            rows = (await connection.execute(text("SELECT id, name FROM pair ORDER BY id"))).all()
            with pytest.raises(IntegrityError):
                await connection.execute(text("INSERT INTO pair (name) VALUES ('a')"))
            monkeypatch.undo()
    finally:
        await db.close()

    assert (inserted.rowcount, renamed.rowcount) == (3, 2)
    assert [tuple(row) for row in rows] == [(1, "a"), (2, "b!"), (3, "c!")]
    assert trips == ["_run_statement"] * 4


async def test_a_sqlite_transaction_begins_with_its_first_statement(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """BEGIN IMMEDIATE goes to the driver's thread with the transaction's first statement (not a trip of its own),
    still takes the write lock, and a transaction that ran nothing makes no trip at all."""
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/begin.db")
    trips: list[str] = []
    run_in_thread = cast(Callable[..., Awaitable[Any]], aiosqlite.Connection._execute)

    async def counted(connection: aiosqlite.Connection, function: Any, *args: Any, **kwargs: Any) -> Any:
        trips.append(getattr(function, "__name__", "?"))
        return await run_in_thread(connection, function, *args, **kwargs)

    try:
        async with db.transaction() as session:
            await (await session.connection()).execute(text("CREATE TABLE pair (id INTEGER PRIMARY KEY)"))
        monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
        async with db.transaction() as session:
            await (await session.connection()).execute(text("INSERT INTO pair VALUES (1)"))
            await (await session.connection()).execute(text("INSERT INTO pair VALUES (2)"))
            holding_the_lock = sqlite3.connect(f"{tmp_path}/begin.db", timeout=0)
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                holding_the_lock.execute("BEGIN IMMEDIATE")
            holding_the_lock.close()
        written = list(trips)
        trips.clear()
        async with db.engine.connect() as connection:
            await connection.rollback()
        async with db.transaction() as session:
            assert (await (await session.connection()).execute(text("SELECT count(*) FROM pair"))).scalar_one() == 2
        monkeypatch.undo()
    finally:
        await db.close()

    assert written == ["_run_statement", "_run_statement", "commit"]
    assert trips == ["_run_statement", "commit"]


async def test_a_sqlite_connection_back_in_the_pool_mid_transaction_is_rolled_back(tmp_path: object) -> None:
    """The pool rolls back only a connection still in a transaction (not every one, after every commit)."""
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/reset.db")
    in_greenlet = cast(Callable[..., Awaitable[None]], greenlet_spawn)  # how the async engine runs sync code

    def leave_a_transaction_open(engine: Engine) -> None:
        raw = engine.raw_connection()
        raw.cursor().execute("BEGIN IMMEDIATE")
        raw.cursor().execute("INSERT INTO pair VALUES (1)")
        raw.close()

    try:
        async with db.engine.begin() as connection:
            await connection.execute(text("CREATE TABLE pair (id INTEGER PRIMARY KEY)"))
        await in_greenlet(leave_a_transaction_open, db.engine.sync_engine)
        async with db.engine.begin() as connection:
            await connection.execute(text("INSERT INTO pair VALUES (2)"))
        async with db.engine.connect() as connection:
            ids = (await connection.execute(text("SELECT id FROM pair"))).scalars().all()
    finally:
        await db.close()

    assert ids == [2]


async def test_member_table_holds_what_the_profile_needs(db: Database) -> None:
    async with db.transaction() as session:
        section = Section(name="行政审批科", kind=SectionKind.OFFICE)
        session.add(section)
        await session.flush()
        assert section.id is not None
        await members.create_member(
            session=session,
            telegram_id=42,
            display_name="王五",
            role=Role.HEAD,
            status=MemberStatus.ACTIVE,
            section_id=section.id,
            language="zh_CN",
        )

    async with db.transaction() as session:
        member = (await session.exec(select(Member).where(Member.telegram_id == 42))).one()
    assert (member.display_name, member.role, member.section_id, member.language) == (
        "王五", Role.HEAD, section.id, "zh_CN",
    )  # fmt: skip


async def test_ratings_survive_a_downgrade_and_an_upgrade_and_their_tallies_are_counted_at_start(
    db: Database, settings: Settings
) -> None:
    """A database from before the score tallies (0009) with ratings in it: upgraded, the bot counts them at start."""
    await start_campaign(db)
    section = await make_section(db, "办公室")
    for rater in await raters(db, 3):
        await rate(db, rater, section, 4)

    await downgrade_database(db.engine, "0009")
    async with db.engine.connect() as connection:
        names = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
        kept = (await connection.execute(text("SELECT count(*) FROM rating"))).scalar_one()
    assert "score_tally" not in names and kept == 3
    await upgrade_database(db.engine)
    async with db.transaction() as session:
        assert (await session.exec(select(ScoreTally))).all() == []
        assert len((await session.exec(select(Rating))).all()) == 3

    application = build_application(settings, db=db, request=FakeBotApi())
    async with application:
        await on_start(application)

    campaign = await period_of(db, JUNE, PeriodKind.CAMPAIGN)
    async with db.transaction() as session:
        assert await scoring.check_tallies(session=session) == []
        board = await scoring.compute_board(
            session=session, rules=settings.scoring_rules(), period=campaign, kind=TargetKind.SECTION
        )
    assert [(s.name, s.raters) for s in board.ranked] == [("办公室", 3)]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_a_postgresql_connection_is_pinged_only_after_sitting_idle(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A connection used a moment ago is not pinged: if its server process is gone, that unit of work fails as an
    outage and the next one connects anew. One idle for a while is pinged, and replaced without a word."""

    async def server_process() -> int:
        async with db.transaction() as session:
            return int((await session.exec(select(func.pg_backend_pid()))).one())

    async def end_server_process(pid: int) -> None:
        other = create_async_engine(db.url)
        try:
            async with other.connect() as connection:
                await connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        finally:
            await other.dispose()

    await end_server_process(await server_process())
    with pytest.raises(DatabaseUnavailable):
        await server_process()
    first = await server_process()

    monkeypatch.setattr("storage.session.PING_AFTER_IDLE", 0.0)
    await end_server_process(first)
    second = await server_process()

    assert second != first


async def test_the_upgrade_makes_rectification_titles_stored_escaped_plain(db: Database) -> None:
    section = await make_section(db, "办公室")
    async with db.transaction() as session:
        stored = {}
        for title in ("差评整改：Tom &amp; Jerry &lt;b&gt;rude&lt;/b&gt;", "整理档案 &amp; 台账"):
            task = await tasks.create_task(
                session=session, section_id=section.id or 0, title=title, due_on=JUNE, responsible_id=None,
                created_by_id=None,
            )  # fmt: skip
            stored[title] = task.id
        review = await reviews.add_review(
            session=session, section_id=section.id or 0, reviewer_telegram_id=5, level=1, day=JUNE
        )
        review.task_id = stored["差评整改：Tom &amp; Jerry &lt;b&gt;rude&lt;/b&gt;"]
        session.add(review)

    await downgrade_database(db.engine, "0014")
    await upgrade_database(db.engine)

    async with db.transaction() as session:
        titles = {task.title for task in await tasks.list_open_tasks(session=session)}
    assert titles == {"差评整改：Tom & Jerry <b>rude</b>", "整理档案 &amp; 台账"}  # a title typed so stays so


async def test_the_upgrade_keeps_a_bad_reviews_reasons_by_key_and_titles_its_task_in_each_language(
    db: Database,
) -> None:
    """Migration 0019: reasons stored as "态度不好 Unfriendly" become their keys; a reason no longer a default stays as
    it was; the rectification task gets its title in each language; typed titles are left alone."""
    section = await make_section(db, "办公室")
    async with db.transaction() as session:
        titled, typed = [
            await tasks.create_task(
                session=session, section_id=section.id or 0, title=title, due_on=JUNE, responsible_id=None,
                created_by_id=None,
            )
            for title in ("差评整改：态度不好 Unfriendly; 排队 Queue; 太慢", "整理档案")
        ]  # fmt: skip
        review = await reviews.add_review(
            session=session, section_id=section.id or 0, reviewer_telegram_id=5, level=1, day=JUNE
        )
        review.tags, review.reason, review.task_id = ["态度不好 Unfriendly", "排队 Queue"], "太慢", titled.id
        session.add(review)

    await downgrade_database(db.engine, "0018")
    await upgrade_database(db.engine)

    async with db.transaction() as session:
        (review,) = (await session.exec(select(PublicReview))).all()
        titled, typed = await tasks.list_open_tasks(session=session)
    assert review.tags == ["unfriendly", "排队 Queue"]
    assert titled.title_by_language == {
        "zh_CN": "差评整改：态度不好；排队 Queue；太慢",
        "en": "Rectify a bad review: Unfriendly; 排队 Queue; 太慢",
    }
    assert titled.title == "差评整改：态度不好 Unfriendly; 排队 Queue; 太慢" and typed.title_by_language is None


async def test_the_upgrade_gives_sections_and_members_their_sort_names(db: Database) -> None:
    """Migration 0021: the names stored before it are listed by pinyin too."""
    section = await make_section(db, "行政审批科")
    await make_member(db, 7, "张三", section=section)
    await downgrade_database(db.engine, "0020")
    await upgrade_database(db.engine)

    async with db.transaction() as session:
        (stored,) = (await session.exec(select(Section))).all()
        (person,) = (await session.exec(select(Member))).all()
    assert (stored.sort_name, person.sort_name) == (sort_name("行政审批科"), sort_name("张三"))
    assert sort_name("办公室") < sort_name("财务科") < sort_name("行政审批科") < sort_name("质量监督科")
