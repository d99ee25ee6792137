"""SQLite through aiosqlite with one trip to its thread per statement.

aiosqlite runs SQLite in a thread of its own, and every call to it is a trip there and back: a queue put, the
thread waking, and the event loop woken to take the result (about 0.1 ms, more than SQLite's own work on a small
statement). SQLAlchemy's aiosqlite adapter makes four trips for each statement: it opens a cursor, executes, fetches
the rows and closes the cursor. This adapter makes the four calls in the thread as one, so a statement is one trip;
a transaction's BEGIN goes with its first statement, and COMMIT is one more (none if nothing ran). Errors are the
same sqlite3 errors, raised and wrapped as before.

It relies on `aiosqlite.Connection._execute` (run a function in the connection's thread), as SQLAlchemy's own
adapter relies on `_tx` and `_conn`, and on SQLAlchemy 2.1's generic async cursor calling `_execute_async`;
tests/test_storage.py runs every statement through it. With other releases (SQLAlchemy 2.0's aiosqlite cursor has
an `execute` of its own, so the overrides below would never run) `one_trip_dbapi` refuses to start instead of
quietly running without them: pyproject.toml bounds both packages to the releases it was tested with.
"""

from __future__ import annotations

import collections
import sqlite3
from typing import Any, cast

import aiosqlite
import sqlalchemy
from sqlalchemy.connectors.asyncio import AsyncAdapt_dbapi_cursor
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT

# The releases this adapter was written for and tested with (pyproject.toml bounds them the same way).
TESTED_WITH = {"SQLAlchemy": "2.1.", "aiosqlite": "0.22."}


class DriverMismatch(RuntimeError):
    """The installed SQLAlchemy or aiosqlite is not one this adapter fits."""


# What one statement left behind: the cursor's description, rowcount and lastrowid, and its rows.
Outcome = tuple[Any, int, int | None, list[Any]]


def _run_statement(
    connection: aiosqlite.Connection, operation: str, parameters: Any, many: bool, begin: str | None
) -> Outcome:
    """In aiosqlite's thread: the transaction's BEGIN if it is still to be sent, then open a cursor, execute,
    fetch every row, close."""
    if begin is not None:
        connection._conn.execute(begin)
    cursor = connection._conn.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        rows = cursor.fetchall() if cursor.description else []
        return cursor.description, cursor.rowcount, cursor.lastrowid, rows
    finally:
        cursor.close()


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """A cursor whose statement runs, and whose rows are fetched, in one trip to aiosqlite's thread."""

    __slots__ = ("_arraysize", "_outcome_description", "_outcome_lastrowid", "_outcome_rowcount")
    _awaitable_cursor_close = False

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection) -> None:
        # No cursor is opened here (that was a trip of its own): the statement opens and closes its own.
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._outcome_description: Any = None
        self._outcome_rowcount = -1
        self._outcome_lastrowid: int | None = None
        self._arraysize = 1

    @property
    def description(self) -> Any:
        return self._outcome_description

    @property
    def rowcount(self) -> int:
        return self._outcome_rowcount

    @property
    def lastrowid(self) -> Any:
        return self._outcome_lastrowid

    @property
    def arraysize(self) -> int:
        return self._arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._arraysize = value

    async def _async_soft_close(self) -> None:
        """Nothing is open between trips."""

    def close(self) -> None:
        self._rows.clear()

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        return await self._run(operation, parameters, many=False)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> Any:
        return await self._run(operation, seq_of_parameters, many=True)

    async def _run(self, operation: str, parameters: Any, *, many: bool) -> None:
        adapt_connection = cast(OneTripConnection, self._adapt_connection)
        async with adapt_connection._execute_mutex:
            outcome: Outcome = await self._connection._execute(
                _run_statement, self._connection, operation, parameters, many, adapt_connection.take_begin()
            )
        self._outcome_description, self._outcome_rowcount, self._outcome_lastrowid, rows = outcome
        self._rows = collections.deque(rows)


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    """A connection whose BEGIN goes to the thread with the transaction's first statement (`begin_with_next`),
    and whose COMMIT or ROLLBACK of a transaction that ran nothing makes no trip."""

    __slots__ = ("_begin",)
    _cursor_cls = OneTripCursor  # type: ignore[assignment]  # a subclass; the stubs declare the base exactly

    def __init__(self, dbapi: Any, connection: Any) -> None:
        super().__init__(dbapi, connection)
        self._begin: str | None = None

    def begin_with_next(self, statement: str) -> None:
        """Sends `statement` (BEGIN IMMEDIATE, say) in the same trip as the next statement, before it."""
        self._begin = statement

    def take_begin(self) -> str | None:
        begin, self._begin = self._begin, None
        return begin

    @property
    def in_transaction(self) -> bool:
        """Whether a BEGIN is open on the connection, or waits to be sent (read without a trip: SQLite's
        autocommit flag)."""
        return self._begin is not None or bool(self._connection._conn.in_transaction)

    def commit(self) -> None:
        if self.take_begin() is None:  # else the transaction never began: nothing to commit
            super().commit()

    def rollback(self) -> None:
        if self.take_begin() is None:
            super().rollback()


class OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """SQLAlchemy's aiosqlite module, handing out OneTripConnections (`create_async_engine(..., module=...)`)."""

    def connect(self, *args: Any, **kwargs: Any) -> OneTripConnection:
        stock = super().connect(*args, **kwargs)
        return OneTripConnection(self, stock._connection)


def one_trip_dbapi() -> OneTripDBAPI:
    """The adapter's module for `create_async_engine`; DriverMismatch when the installed releases do not fit it."""
    if problems := driver_problems(
        {"SQLAlchemy": sqlalchemy.__version__, "aiosqlite": getattr(aiosqlite, "__version__", "unknown")}
    ):
        raise DriverMismatch(
            f"storage/sqlite_driver.py does not fit {', '.join(problems)}: it was written for "
            f"{' and '.join(f'{name} {prefix}x' for name, prefix in TESTED_WITH.items())}. "
            "Install the tested releases: pip install -c constraints.txt -e ."
        )
    return OneTripDBAPI(aiosqlite, sqlite3)


def driver_problems(versions: dict[str, str]) -> list[str]:
    """What keeps the adapter from installing itself: a release it was not tested with, or a hook it overrides that
    the installed packages no longer call."""
    problems = [
        f"{name} {versions[name]}" for name, prefix in TESTED_WITH.items() if not versions[name].startswith(prefix)
    ]
    if "execute" in vars(AsyncAdapt_aiosqlite_cursor) or not hasattr(AsyncAdapt_dbapi_cursor, "_execute_async"):
        problems.append("SQLAlchemy's aiosqlite cursor (it no longer runs statements through _execute_async)")
    if not callable(getattr(aiosqlite.Connection, "_execute", None)):
        problems.append("aiosqlite's Connection (it has no _execute)")
    return problems
