"""The database behind `context.db`: one engine, and one transaction per update committed once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import PoolResetState
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.files import create_private
from storage.journal import JOURNAL, Journal
from storage.sqlite_driver import one_trip_dbapi

logger = logging.getLogger(__name__)

SQLITE_PRAGMAS = ("journal_mode=WAL", "foreign_keys=ON", "busy_timeout=5000", "synchronous=NORMAL")
# SQLite's primary result codes that mean "cannot read or write now", not "wrong SQL": BUSY, LOCKED, NOMEM,
# READONLY, IOERR, FULL, CANTOPEN.
SQLITE_OUTAGE_CODES = frozenset({5, 6, 7, 8, 10, 13, 14})
# PostgreSQL's SQLSTATE classes of the same kind: connection exception, insufficient resources (disk full, out
# of memory, too many connections), operator intervention (shutdown, cannot connect now), system error.
POSTGRES_OUTAGE_CLASSES = ("08", "53", "57", "58")


# The key of the PostgreSQL advisory lock under which instances starting together take turns.
START_UP_LOCK = 0x5359_0001


def take_start_up_turn(connection: Connection) -> None:
    """Instances starting at once take turns at the start-up work (migrations, the campaign's rows, counting the
    tallies) until the transaction ends: on PostgreSQL an advisory lock; SQLite's BEGIN IMMEDIATE takes turns."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": START_UP_LOCK})


async def wait_for_start_up_turn(session: AsyncSession) -> None:
    """`take_start_up_turn` for the transaction of `session`."""
    await session.run_sync(lambda sync_session: take_start_up_turn(sync_session.connection()))


# In Session.info: a coroutine function run just before the transaction commits, if it wrote anything (the claim of
# the update being handled: handlers/common.py). A transaction that only read claims nothing.
BEFORE_COMMIT_IF_WRITTEN = "shuangyou.before_commit_if_written"
_WROTE = "shuangyou.wrote"  # in a connection's info: a statement of the open transaction changed rows
# Tables whose changes come out the same however often an update makes them: what a user is asked next (set or
# dropped), and the claims themselves. Writing only these claims nothing.
SAME_HOWEVER_OFTEN = frozenset({"dialog", "processed_update"})


async def _before_commit_if_written(session: AsyncSession) -> None:
    hook = session.info.pop(BEFORE_COMMIT_IF_WRITTEN, None)
    if hook is None:
        return
    await session.flush()
    if not session.sync_session.in_transaction():
        return
    connection = await session.connection()  # the transaction's own
    if connection.sync_connection is not None and connection.sync_connection.info.get(_WROTE):
        await hook(session)


def _note_writes(engine: AsyncEngine) -> None:
    """Marks a connection whose transaction ran an INSERT, UPDATE or DELETE that changed rows (or may have: a
    RETURNING statement's count is not known), until it commits or rolls back."""

    @event.listens_for(engine.sync_engine, "after_cursor_execute")
    def _after(connection: Any, cursor: Any, _statement: Any, _parameters: Any, context: Any, _many: Any) -> None:
        if context is None or not (context.isinsert or context.isupdate or context.isdelete) or not cursor.rowcount:
            return
        table = getattr(getattr(context.compiled, "statement", None), "table", None)
        if getattr(table, "name", None) not in SAME_HOWEVER_OFTEN:
            connection.info[_WROTE] = True

    @event.listens_for(engine.sync_engine, "commit")
    @event.listens_for(engine.sync_engine, "rollback")
    def _ended(connection: Any) -> None:
        if not connection.invalidated:  # an invalidated one has no info to keep, and is not used again
            connection.info.pop(_WROTE, None)


class DatabaseUnavailable(Exception):
    """The database could not be reached or written (server gone, disk full); the unit of work was rolled back."""


def is_outage(error: BaseException) -> bool:
    """Whether `error` says the database is unreachable or full, as opposed to a mistake in what was asked."""
    if isinstance(error, DBAPIError):
        if error.connection_invalidated or isinstance(error, InterfaceError):
            return True
        sqlite_code = getattr(error.orig, "sqlite_errorcode", None)
        if isinstance(sqlite_code, int):
            return sqlite_code & 0xFF in SQLITE_OUTAGE_CODES
        sqlstate = getattr(error.orig, "sqlstate", None)
        return isinstance(sqlstate, str) and sqlstate.startswith(POSTGRES_OUTAGE_CLASSES)
    # asyncpg's refused or broken connections surface as plain OSErrors (ConnectionRefusedError, ...).
    return isinstance(error, OSError | DisconnectionError | PoolTimeoutError | TimeoutError)


def create_engine(url: str) -> AsyncEngine:
    """An async engine; on SQLite with WAL, foreign keys, a busy timeout, writers that queue, and one trip to the
    driver's thread per statement (storage/sqlite_driver.py)."""
    if not is_sqlite(url):
        engine = create_async_engine(url)
        _ping_when_idle(engine)
        return engine
    # A connection back in the pool is rolled back only when it is still in a transaction (see `_on_reset`).
    engine = create_async_engine(url, module=one_trip_dbapi(), pool_reset_on_return=None)
    _configure_sqlite(engine)
    return engine


def upsert_insert(session: AsyncSession | Session) -> Any:
    """The INSERT of the session's database that knows ON CONFLICT (SQLite's or PostgreSQL's)."""
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


# A pooled connection used less than this many seconds ago is taken as alive; an older one is pinged first.
PING_AFTER_IDLE = 5.0
_LAST_USED = "shuangyou_last_used"


def _ping_when_idle(engine: AsyncEngine) -> None:
    """Pings a pooled connection before use when it sat idle (the server may have restarted meanwhile), and
    replaces it if the ping fails. SQLAlchemy's pool_pre_ping pings every checkout: three round trips on
    asyncpg (BEGIN, the ping, ROLLBACK) for every update. A connection that dies while in use still fails its unit
    of work as an outage (`is_outage`), and the pool drops its connections then."""

    def _note_use(_dbapi_connection: Any, record: Any) -> None:
        record.info[_LAST_USED] = time.monotonic()

    event.listen(engine.sync_engine, "connect", _note_use)
    event.listen(engine.sync_engine, "checkin", _note_use)

    @event.listens_for(engine.sync_engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if time.monotonic() - record.info.get(_LAST_USED, 0.0) < PING_AFTER_IDLE:
            return
        try:
            dbapi_connection.ping()
        except Exception as error:
            raise DisconnectionError("the connection did not answer a ping") from error  # the pool connects anew


def _configure_sqlite(engine: AsyncEngine) -> None:
    database = engine.url.database

    @event.listens_for(engine.sync_engine, "do_connect")
    def _create_privately(*_args: Any) -> None:
        # SQLite would create a new database file as the umask says (0644: anyone on the machine reads who rated
        # whom); its -wal and -shm files take the database file's mode.
        if database and database != ":memory:" and not database.startswith("file:"):
            with contextlib.suppress(OSError):  # a missing folder: SQLite's own error says it better
                create_private(Path(database))

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # the driver stops emitting its own BEGIN
        cursor = dbapi_connection.cursor()
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # IMMEDIATE takes the write lock up front: a second writer waits (busy_timeout)
        # instead of failing with "database is locked" when it upgrades from read to write. It goes to the
        # driver's thread with the transaction's first statement (storage/sqlite_driver.py).
        connection.connection.dbapi_connection.begin_with_next("BEGIN IMMEDIATE")

    @event.listens_for(engine.sync_engine, "reset")
    def _on_reset(dbapi_connection: Any, _record: Any, reset_state: PoolResetState) -> None:
        # The pool's own reset rolls back every connection it takes back, a trip to the driver's thread after
        # each commit; with the driver's transactions off (isolation_level None) only an open BEGIN needs it.
        if not reset_state.terminate_only and reset_state.asyncio_safe and dbapi_connection.in_transaction:
            dbapi_connection.rollback()


class Database:
    """Owns the engine and hands out transactions; notices when the database goes away and comes back."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = create_engine(url)
        _note_writes(self.engine)
        self.journal = Journal()  # what this process's transactions changed of the boards' inputs
        self._sessions = async_sessionmaker(
            self.engine, class_=AsyncSession, expire_on_commit=False, info={JOURNAL: self.journal}
        )
        self.down_since: float | None = None
        # SQLite has one writer at a time and BEGIN IMMEDIATE makes every transaction a writer: this process's
        # transactions queue here, first come first served, instead of in SQLite's busy handler, which polls
        # with sleeps of up to 100 ms, serves no one in order and gives up after busy_timeout.
        # A transaction opened inside another in the same task (which SQLAlchemy begins lazily) does not wait for
        # the turn its own task holds.
        self._writer_turn: asyncio.Lock | None = asyncio.Lock() if is_sqlite(url) else None
        self._turn_holder: asyncio.Task[Any] | None = None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One unit of work: committed once when the block ends, rolled back if it raises. An outage (see
        `is_outage`) is raised as `DatabaseUnavailable`, logged once when it starts and once when it ends."""
        try:
            async with self._turn(), self._sessions() as session:
                try:
                    yield session
                    await _before_commit_if_written(session)
                    await session.commit()
                except BaseException:
                    await _roll_back(session)
                    raise
        except Exception as error:
            if not is_outage(error):
                raise
            self._went_down(error)
            raise DatabaseUnavailable(_describe(error)) from error
        self._came_back()

    @asynccontextmanager
    async def _turn(self) -> AsyncIterator[None]:
        task = asyncio.current_task()
        if self._writer_turn is None or self._turn_holder is task:
            yield
            return
        async with self._writer_turn:
            self._turn_holder = task
            try:
                yield
            finally:
                self._turn_holder = None

    def _went_down(self, error: BaseException) -> None:
        if self.down_since is None:
            self.down_since = time.monotonic()
            logger.warning("The database is unavailable; I answer that I am busy till it is back: %s", _describe(error))

    def _came_back(self) -> None:
        if self.down_since is not None:
            logger.warning("The database is back after %.0f s", time.monotonic() - self.down_since)
            self.down_since = None

    async def close(self) -> None:
        await self.engine.dispose()


def _describe(error: BaseException) -> str:
    """The driver's own words, without the statement and its parameters (they may carry what users typed)."""
    cause = error.orig if isinstance(error, DBAPIError) else error
    return f"{type(cause).__name__}: {cause}"[:300]


async def _roll_back(session: AsyncSession) -> None:
    """Rolls back; on a connection that is already gone there is nothing to roll back, and the original error
    is the one worth raising."""
    try:
        await session.rollback()
    except Exception as error:
        if not is_outage(error):
            raise
        logger.debug("Rollback on a lost connection failed: %s", error)
