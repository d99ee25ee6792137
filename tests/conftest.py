"""Fixtures: a real database (a SQLite file, and a real PostgreSQL server), the real Application on the
in-process Bot API, and the users and chats that talk to it."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import shutil
import time
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
import pytest_asyncio

from bot.app import build_application, on_start
from bot.clock import ManualClock
from bot.config import BotSettings, Settings
from bot.context import BotApplication
from bot.fake_api import FakeBotApi
from bot.fake_users import FakeTelegram
from storage.migrate import upgrade_at, upgrade_database
from storage.session import Database
from tests.pg_server import PostgresServer, find_bin_dir
from tests.small_disk import SmallDisk

ADMIN_ID = 900_001
BACKENDS = ("sqlite", "postgresql")
TEMPLATE = "shuangyou_template"
T = TypeVar("T")
# A Wednesday inside the campaign, in working hours in Shanghai.
START_TIME = dt.datetime(2026, 6, 10, 2, 0, tzinfo=dt.UTC)
# The browser tests' screenshots of the pages, kept by CI as an artifact (.ci/run).
SCREENSHOTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "screenshots"
SESSION_STARTED = pytest.StashKey[float]()


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.stash[SESSION_STARTED] = time.time()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """Says where this run's screenshots are (the browser tests run in worker processes: the files tell)."""
    started = config.stash.get(SESSION_STARTED, time.time())
    taken = [path for path in SCREENSHOTS.glob("*.png") if path.stat().st_mtime >= started]
    if taken:
        terminalreporter.write_line(f"{len(taken)} screenshots of the web pages in {SCREENSHOTS}")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests see only what they set: no token, database or overrides from the machine."""
    for name in list(os.environ):
        if name.startswith("SHUANGYOU_") or name in {
            "BOT_TOKEN",
            "DATABASE_URL",
            "TELEGRAM_BASE_URL",
            "TELEGRAM_BASE_FILE_URL",
        }:
            monkeypatch.delenv(name)
    monkeypatch.setenv("SHUANGYOU_WEB__PORT", "0")  # every web server a test starts takes a free port


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    bin_dir = find_bin_dir()
    if bin_dir is None:
        message = "PostgreSQL binaries (initdb, pg_ctl) not found; install the postgresql package"
        if os.environ.get("REQUIRE_POSTGRES"):
            pytest.fail(message)
        pytest.skip(message)
    server = PostgresServer(bin_dir)
    server.start()
    yield server
    server.stop()


def run_aside(coroutine: Coroutine[Any, Any, T]) -> T:
    """Runs a coroutine to its end on an event loop of its own, in a thread, whatever loop the caller is in."""
    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(asyncio.run, coroutine).result()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once per test process; each test gets a copy of it (migrating takes 0.6 s)."""
    path = tmp_path_factory.mktemp("template") / "shuangyou.db"
    run_aside(upgrade_at(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def postgres_template(postgres_server: PostgresServer) -> str:
    """A PostgreSQL database migrated once per test process; each test's database is made from it as a template."""
    run_aside(upgrade_at(run_aside(postgres_server.create_database(TEMPLATE))))
    return TEMPLATE


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database at the newest schema revision, the test's own, on each backend."""
    if request.param == "sqlite":
        path = tmp_path / "shuangyou.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite+aiosqlite:///{path}"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return run_aside(server.create_database(template=request.getfixturevalue("postgres_template")))


@pytest.fixture
def settings(database_url: str, request: pytest.FixtureRequest) -> Settings:
    """The tests' users are machines: flood control only where a test is about it."""
    burst = 30 if request.node.get_closest_marker("flood_control") else 1_000_000
    return Settings(database_url=database_url, bot=BotSettings(admins=(ADMIN_ID,), flood_burst=burst))


@asynccontextmanager
async def database_for_test(settings: Settings) -> AsyncIterator[Database]:
    """The test's database, open. The `db` fixture; a module whose tests run on a wider event loop (a browser
    shared by its tests) makes its own `db` fixture of it, on that loop."""
    database = Database(settings.database_url)
    await upgrade_database(database.engine)  # nothing to do on a copy of a template
    yield database
    await database.close()


@pytest_asyncio.fixture
async def db(settings: Settings) -> AsyncIterator[Database]:
    async with database_for_test(settings) as database:
        yield database


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[SmallDisk]:
    disk = SmallDisk(tmp_path / "disk")
    disk.mount()
    yield disk
    disk.unmount()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START_TIME)


class ErrorLog(logging.Handler):
    """Collects the errors the bot logs; a test fails on any it did not expect."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@dataclass
class Bot:
    """The running bot in a test: the Application, its Bot API and the world of users around it."""

    app: BotApplication
    api: FakeBotApi
    tg: FakeTelegram
    db: Database
    clock: ManualClock
    errors: ErrorLog


@asynccontextmanager
async def running_bot(
    settings: Settings, db: Database, clock: ManualClock, *, flood_limits: bool
) -> AsyncIterator[Bot]:
    """The real Application on a fresh in-process Bot API, started, with the errors it logs collected."""
    api = FakeBotApi()
    application = build_application(settings, db=db, request=api, clock=clock, flood_limits=flood_limits)
    errors = ErrorLog()
    logging.getLogger().addHandler(errors)
    try:
        async with application:
            await on_start(application)
            yield Bot(application, api, FakeTelegram(application, api), db, clock, errors)
    finally:
        logging.getLogger().removeHandler(errors)


@asynccontextmanager
async def bot_for_test(
    settings: Settings, db: Database, clock: ManualClock, request: pytest.FixtureRequest
) -> AsyncIterator[Bot]:
    """The `bot` fixture: the running bot as the test's markers want it; it fails the test on an error it logged
    that the test did not expect. (As `database_for_test`, for a module with its own `bot` fixture.)"""
    flood_limits = not request.node.get_closest_marker("no_flood_limits")
    async with running_bot(settings, db, clock, flood_limits=flood_limits) as running:
        yield running
    if not request.node.get_closest_marker("allow_errors"):
        errors = running.errors.records
        assert not errors, f"the bot logged errors: {[r.getMessage() for r in errors]}"


@pytest_asyncio.fixture
async def bot(
    settings: Settings, db: Database, clock: ManualClock, request: pytest.FixtureRequest
) -> AsyncIterator[Bot]:
    async with bot_for_test(settings, db, clock, request) as running:
        yield running
