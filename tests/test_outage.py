"""The database going away (PostgreSQL stopped for a while) or filling up (SQLite's disk full): the bot logs it
once, tells users it is busy without acting, keeps its scheduled work for later, and recovers by itself."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import pytest_asyncio

from bot.app import BUSY, on_error
from bot.context import BotContext
from jobs.outbox import deliver_due
from jobs.reminders import plan_reminders
from storage.models import MemberStatus
from storage.session import DatabaseUnavailable
from tests.conftest import ADMIN_ID, Bot
from tests.factories import make_section, member_of
from tests.pg_server import PostgresServer, find_bin_dir
from tests.small_disk import SmallDisk


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    """A server of this test's own, since the test stops it."""
    bin_dir = find_bin_dir()
    if bin_dir is None:
        pytest.skip("PostgreSQL binaries not found")
    server = PostgresServer(bin_dir)
    server.start()
    yield server
    server.stop()


@pytest_asyncio.fixture
async def database_url(request: pytest.FixtureRequest) -> str:
    if getattr(request, "param", "postgresql") == "sqlite":
        disk: SmallDisk = request.getfixturevalue("small_disk")
        return f"sqlite+aiosqlite:///{disk.mount_point / 'shuangyou.db'}"
    server: PostgresServer = request.getfixturevalue("own_postgres")
    return await server.create_database()


async def register_until_the_name(bot: Bot) -> Any:
    await make_section(bot.db, "行政审批科")
    await bot.tg.private_user("Boss", user_id=ADMIN_ID).send("/start")
    alice = bot.tg.private_user("Alice")
    await alice.send("/start")
    await alice.press("行政审批科")
    return alice


async def finish_registration(bot: Bot, alice: Any) -> None:
    sent = await alice.send("王爱丽")
    assert "Name: 王爱丽\nSection: 行政审批科" in sent.texts[-1], "the dialog kept its place through the outage"
    await alice.press("Send the request")
    member = await member_of(bot.db, alice.id)
    assert member is not None and member.status == MemberStatus.PENDING and member.display_name == "王爱丽"


def outage_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "storage.session"]


@pytest_asyncio.fixture
async def logged(caplog: pytest.LogCaptureFixture) -> AsyncIterator[pytest.LogCaptureFixture]:
    caplog.set_level(logging.WARNING)
    yield caplog
    assert not any(record.exc_info for record in caplog.records), "no traceback in the log"


async def test_postgresql_stopped_for_a_while_then_back(bot: Bot, own_postgres: PostgresServer, logged: Any) -> None:
    alice = await register_until_the_name(bot)
    own_postgres.pause()

    during = [await alice.send("王爱丽"), await alice.send("/help")]
    services = bot.app.bot_data["shuangyou.services"]
    for sweep in (plan_reminders(services, bot.clock.now()), deliver_due(services, bot.app.bot)):
        with pytest.raises(Exception, match="ConnectionRefusedError"):
            await sweep  # the JobQueue hands this to the error handler, which logs nothing more

    assert [sent.texts for sent in during] == [[BUSY], [BUSY]]
    assert await _error_handler_is_quiet(bot)
    own_postgres.resume()
    await finish_registration(bot, alice)
    lines = outage_lines(logged)
    # The first failure names the cause: the pooled connection the server closed as it stopped (connections used
    # a moment ago are not pinged first), or the refused new one.
    assert len(lines) == 2 and "unavailable" in lines[0]
    assert "connection was closed" in lines[0] or "ConnectionRefusedError" in lines[0]
    assert lines[1].startswith("The database is back after")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_full_disk_then_space_again(bot: Bot, small_disk: SmallDisk, logged: Any) -> None:
    alice = await register_until_the_name(bot)
    small_disk.fill()

    sent = await alice.send("王爱丽")

    assert sent.texts == [BUSY]
    small_disk.free()
    await finish_registration(bot, alice)
    lines = outage_lines(logged)
    assert "database or disk is full" in lines[0] and lines[1].startswith("The database is back")


async def _error_handler_is_quiet(bot: Bot) -> bool:
    """What the JobQueue does with a sweep that failed for the outage: the error handler, with no update."""
    await on_error(None, BotContext.from_error(None, DatabaseUnavailable("gone"), bot.app))
    return not bot.errors.records
