"""Boards kept between requests, and the version that tells when one is out of date.

Computing a board costs time in proportion to its targets (a 10,000-member board takes a good part of a second),
while it changes only when a rating, review, section, member, task or period does. Every transaction that changes
one of those raises the single counter in `board_version` just before it commits (SQLAlchemy session events below,
so no write path can forget it); a request reads the counter first and reuses the board it keeps for that period,
kind and day if the counter has not moved. The counter lives in the database, so a change made by another bot
process (several instances on PostgreSQL, `python -m bot check --repair`) is seen as well.

Kept boards are shared by every request: nobody may change a Standing of one. The per-standard means are not kept
(a 10,000-member board would need 50,000 more rows); `BoardCache.board` reads them for the targets asked for and
returns a board with copies of those standings.
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import scoring
from storage.models import BoardVersion, Member, Period, ScoreTally, Section, TargetKind, Task
from storage.session import upsert_insert

# The tables the boards read, with the columns that matter (None: all of them).
BOARD_INPUTS: dict[type[SQLModel], frozenset[str] | None] = {
    ScoreTally: None,
    Period: None,
    Section: frozenset({"name", "archived_at"}),
    Member: frozenset({"display_name", "section_id", "role", "status"}),
    Task: frozenset({"section_id", "due_on", "status", "overdue_days", "closed_at"}),
}
INPUT_TABLES = frozenset(str(model.__tablename__) for model in BOARD_INPUTS)
CHANGED = "shuangyou.board_inputs_changed"  # in Session.info
KEPT_BOARDS = 16

BoardKey = tuple[int, TargetKind, dt.date]


# --- the version ----------------------------------------------------------------------------------------------------


async def board_version(*, session: AsyncSession) -> int:
    row = await session.get(BoardVersion, 1, populate_existing=True)
    return row.version if row is not None else 0


def _changes_an_input(instance: object, whole: bool) -> bool:
    model = type(instance)
    if not issubclass(model, SQLModel) or model not in BOARD_INPUTS:
        return False
    columns = BOARD_INPUTS[model]
    if whole or columns is None:
        return True
    state = sa.inspect(instance)
    return any(state.attrs[name].history.has_changes() for name in columns)


@event.listens_for(Session, "before_flush")
def _note_changed_objects(session: Session, _context: Any, _instances: Any) -> None:
    if session.info.get(CHANGED):
        return
    created_or_deleted = any(_changes_an_input(instance, True) for instance in (*session.new, *session.deleted))
    if created_or_deleted or any(_changes_an_input(instance, False) for instance in session.dirty):
        session.info[CHANGED] = True


@event.listens_for(Session, "do_orm_execute")
def _note_changed_rows(state: ORMExecuteState) -> Any:
    """INSERT, UPDATE and DELETE statements on the boards' tables (the tallies are upserted this way)."""
    if not (state.is_insert or state.is_update or state.is_delete) or state.session.info.get(CHANGED):
        return None
    table = getattr(state.statement, "table", None)
    if table is None or getattr(table, "name", None) not in INPUT_TABLES:
        return None
    result = state.invoke_statement()
    if getattr(result, "rowcount", -1) != 0:  # an UPDATE that matched nothing changed nothing
        state.session.info[CHANGED] = True
    return result


@event.listens_for(Session, "before_commit")
def _raise_version(session: Session) -> None:
    session.flush()  # the last changes are flushed after this event: flush them now to see them
    if not session.info.pop(CHANGED, False):
        return
    table = BoardVersion.__table__  # type: ignore[attr-defined]
    statement = upsert_insert(session)(table).values(id=1, version=1)
    session.execute(statement.on_conflict_do_update(index_elements=["id"], set_={"version": table.c.version + 1}))


@event.listens_for(Session, "after_soft_rollback")
def _forget_changes(session: Session, _transaction: Any) -> None:
    session.info.pop(CHANGED, None)


def outdate_boards(*, session: AsyncSession) -> None:
    """Makes the transaction raise the version, as a change to the boards' inputs does."""
    session.info[CHANGED] = True


# --- the boards kept --------------------------------------------------------------------------------------------------


class BoardCache:
    """The boards one bot process keeps (the last KEPT_BOARDS asked for), each with the version it was computed at."""

    def __init__(self, size: int = KEPT_BOARDS) -> None:
        self.size = size
        self._kept: OrderedDict[BoardKey, tuple[int, scoring.Board]] = OrderedDict()

    async def board(
        self,
        *,
        session: AsyncSession,
        rules: scoring.Rules,
        period: Period,
        kind: TargetKind,
        today: dt.date,
        standards_of: Iterable[int] = (),
    ) -> scoring.Board:
        """`scoring.compute_board` as of now, computed again only when the boards' inputs have changed."""
        version = await board_version(session=session)  # first: a change committed after it shows next time
        key = (period.id or 0, kind, today)
        kept = self._kept.get(key)
        if kept is not None and kept[0] == version:
            self._kept.move_to_end(key)
            board = kept[1]
        else:
            board = await scoring.compute_board(
                session=session, rules=rules, period=period, kind=kind, today=today, standards_of=()
            )
            self._keep(key, version, board)
        wanted = [target_id for target_id in standards_of if board.find(target_id) is not None]
        return await scoring.with_standards(session=session, board=board, target_ids=wanted) if wanted else board

    def _keep(self, key: BoardKey, version: int, board: scoring.Board) -> None:
        for stale in [other for other, (kept, _) in self._kept.items() if kept != version]:
            del self._kept[stale]
        self._kept[key] = (version, board)
        while len(self._kept) > self.size:
            self._kept.popitem(last=False)
