"""Boards kept between requests, and the versions that tell when one is out of date.

Computing a board costs time in proportion to its targets (a 10,000-member board takes a good part of a second),
while it changes only when a rating, review, section, member, task or period does. There is one counter per kind of
board in `board_version` (row 1: the individuals' boards, row 2: the sections'). Every transaction that changes
what a kind of board reads raises that kind's counter just before it commits (SQLAlchemy session events below, so
no write path can forget it): a rating of a colleague raises the individuals' counter only, a review or a task the
sections' only, a renamed section both. A request reads its kind's counter first and reuses the board it keeps for
that period, kind and day if the counter has not moved. The counters live in the database, so a change made by
another bot process (several instances on PostgreSQL, `python -m bot check --repair`) is seen as well.

When the counter has moved, the process's journal (storage.journal) may know which targets the versions since
changed, as it does for every rating, review, task, member and (on the sections' boards) section this process
committed: then only those targets are read again (whether they are on the board, their names, tallies and overdue
days) and the board is ordered again around them (`scoring.board_with_changes`); otherwise, or when they are many,
the board is computed afresh.

Kept boards are shared by every request: nobody may change a Standing of one. The per-standard means are not kept
(a 10,000-member board would need 50,000 more rows); `BoardCache.board` reads them for the targets asked for and
returns a board with copies of those standings.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import scoring
from storage.journal import EVERY_PERIOD, JOURNAL, Journal
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
EVERY_KIND = frozenset(TargetKind)
# The kinds of board each table feeds: a member's name or section is on the individuals' boards only, a task's
# lateness on the sections' only; a tally feeds the boards of its own target kind (EVERY_KIND when that is unknown).
FEEDS: dict[str, frozenset[TargetKind]] = {
    "score_tally": EVERY_KIND,
    "period": EVERY_KIND,
    "section": EVERY_KIND,
    "member": frozenset({TargetKind.MEMBER}),
    "task": frozenset({TargetKind.SECTION}),
}
COUNTER_OF = {TargetKind.MEMBER: 1, TargetKind.SECTION: 2}  # board_version.id
CHANGED = "shuangyou.board_changes"  # in Session.info: the Changes the commit raises the counters for
RAISED = "shuangyou.board_versions_raised"  # in Session.info: [(kind, version, touched)] once they are raised
KEPT_BOARDS = 16
# A kept board is computed again from the targets changed since (storage.journal) when they are at most this many;
# past that, reading them one by one costs about what reading every tally does.
MOST_TARGETS_CHANGED = 500

BoardKey = tuple[int, TargetKind, dt.date]


# --- the versions -------------------------------------------------------------------------------------------------


async def board_version(*, session: AsyncSession, kind: TargetKind) -> int:
    row = await session.get(BoardVersion, COUNTER_OF[kind], populate_existing=True)
    return row.version if row is not None else 0


@dataclass
class Changes:
    """What a transaction changed of the boards' inputs: for each kind of board it changed, the (period, target)
    pairs of the tallies it changed, or None once it changed anything else of that kind's boards."""

    touched: dict[TargetKind, set[tuple[int, int]] | None] = field(default_factory=dict)
    # Members and sections changed as objects, noted by `settle` once the flush has given new ones their ids.
    pending: list[tuple[TargetKind, Member | Section]] = field(default_factory=list)

    def note_others(self, kinds: frozenset[TargetKind]) -> None:
        for kind in kinds:
            self.touched[kind] = None

    def note_tallies(self, rows: Iterable[dict[str, Any]]) -> None:
        for row in rows:
            self.note_target(TargetKind(row["target_kind"]), int(row["period_id"]), int(row["target_id"]))

    def note_target(self, kind: TargetKind, period_id: int, target_id: int) -> None:
        touched = self.touched.setdefault(kind, set())
        if touched is not None:
            touched.add((period_id, target_id))

    def note_object(self, kind: TargetKind, instance: Member | Section) -> None:
        self.pending.append((kind, instance))

    def settle(self) -> None:
        """Notes the pending targets, by the ids they have once flushed."""
        for kind, instance in self.pending:
            if instance.id is None:
                self.note_others(frozenset({kind}))
            else:
                self.note_target(kind, EVERY_PERIOD, instance.id)
        self.pending.clear()

    def unknown(self) -> frozenset[TargetKind]:
        """The kinds whose changed targets are not known (nothing more to learn about them)."""
        return frozenset(kind for kind, touched in self.touched.items() if touched is None)


def _changes(session: Session) -> Changes:
    changes = session.info.get(CHANGED)
    if changes is None:
        changes = session.info[CHANGED] = Changes()
    return changes


def _kinds_fed(instance: object, whole: bool) -> frozenset[TargetKind]:
    """The kinds of board a created, deleted (`whole`) or changed object feeds; none when it is not an input."""
    model = type(instance)
    if not issubclass(model, SQLModel) or model not in BOARD_INPUTS:
        return frozenset()
    columns = BOARD_INPUTS[model]
    if not (whole or columns is None):
        state = sa.inspect(instance)
        if not any(state.attrs[name].history.has_changes() for name in columns):
            return frozenset()
    if isinstance(instance, ScoreTally):
        return frozenset({TargetKind(instance.target_kind)})
    return FEEDS[str(model.__tablename__)]


@event.listens_for(Session, "before_flush")
def _note_changed_objects(session: Session, _context: Any, _instances: Any) -> None:
    """Objects changed through the ORM (tallies too, as `rebuild_tallies` makes them: which targets is not noted)."""
    changes = _changes(session)
    if changes.unknown() >= EVERY_KIND:
        return  # every counter is raised already, with no targets to note: nothing to look at
    for instance in (*session.new, *session.deleted):
        _note_object(changes, instance, _kinds_fed(instance, True))
    for instance in session.dirty:
        _note_object(changes, instance, _kinds_fed(instance, False))


def _note_object(changes: Changes, instance: object, kinds: frozenset[TargetKind]) -> None:
    """A task changes the lateness of its section (and of the one it left), in whichever period it falls due; a
    member (a name, a section, a role, joining or leaving) is a change of that target on the individuals' boards,
    and a section (renamed, archived) one on the sections' boards and an unknown one on the individuals' (the
    names of its members' section). Anything else is an unknown change of the kinds it feeds."""
    if not kinds:
        return
    if isinstance(instance, Task):
        history = sa.inspect(instance).attrs["section_id"].history
        section_ids = [section_id for section_id in history.sum() if section_id is not None]  # now and before
        for section_id in section_ids:
            changes.note_target(TargetKind.SECTION, EVERY_PERIOD, section_id)
        if not section_ids:
            changes.note_others(kinds)  # a section id not loaded is an unknown change
    elif isinstance(instance, Member | Section):
        kind = TargetKind.MEMBER if isinstance(instance, Member) else TargetKind.SECTION
        changes.note_others(kinds - {kind})
        changes.note_object(kind, instance)
    else:
        changes.note_others(kinds)


@event.listens_for(Session, "do_orm_execute")
def _note_changed_rows(state: ORMExecuteState) -> Any:
    """INSERT, UPDATE and DELETE statements on the boards' tables (the tallies are upserted this way)."""
    if not (state.is_insert or state.is_update or state.is_delete):
        return None
    table = getattr(state.statement, "table", None)
    kinds = FEEDS.get(str(getattr(table, "name", "")), frozenset())
    changes = _changes(state.session)
    if not kinds or changes.unknown() >= kinds:
        return None
    result = state.invoke_statement()
    if getattr(result, "rowcount", -1) != 0:  # an UPDATE that matched nothing changed nothing
        rows = _tally_rows(state)
        if rows is None:
            changes.note_others(kinds)
        else:
            changes.note_tallies(rows)
    return result


def _tally_rows(state: ORMExecuteState) -> list[dict[str, Any]] | None:
    """The rows a tally upsert passed as parameters, each with its period, target kind and target; None for any
    other statement (its changes are not known target by target)."""
    if str(getattr(getattr(state.statement, "table", None), "name", "")) != "score_tally":
        return None
    if named := state.execution_options.get(scoring.TARGETS_CHANGED):  # a publication (storage.scoring.publish)
        kind, targets = named
        return [{"target_kind": kind, "period_id": period, "target_id": target} for period, target in targets]
    if not state.is_insert:
        return None
    parameters: Any = state.parameters
    rows: list[Any] = [parameters] if isinstance(parameters, dict) else list(parameters or [])
    wanted = ("period_id", "target_kind", "target_id")
    if not rows or not all(isinstance(row, dict) and all(key in row for key in wanted) for row in rows):
        return None
    return rows


@event.listens_for(Session, "before_commit")
def _raise_versions(session: Session) -> None:
    session.flush()  # the last changes are flushed after this event: flush them now to see them
    changes: Changes | None = session.info.pop(CHANGED, None)
    if changes is None:
        return
    changes.settle()
    if not changes.touched:
        return
    counters = tuple(COUNTER_OF[kind] for kind in sorted(changes.touched))
    raised = session.execute(_raise_counters(upsert_insert(session), counters)).all()
    kinds = {counter: kind for kind, counter in COUNTER_OF.items()}
    session.info[RAISED] = [(kinds[counter], version, changes.touched[kinds[counter]]) for counter, version in raised]


@functools.cache
def _raise_counters(insert: Any, counters: tuple[int, ...]) -> Any:
    """The upsert raising these counters, built once per dialect and set of counters (a rating's Confirm commits
    through here)."""
    table = BoardVersion.__table__  # type: ignore[attr-defined]
    statement = insert(table).values([{"id": counter, "version": 1} for counter in counters])
    statement = statement.on_conflict_do_update(index_elements=["id"], set_={"version": table.c.version + 1})
    return statement.returning(table.c.id, table.c.version)


@event.listens_for(Session, "after_commit")
def _journal_versions(session: Session) -> None:
    journal: Journal | None = session.info.get(JOURNAL)
    for kind, version, touched in session.info.pop(RAISED, ()):
        if journal is not None:
            journal.record(kind, version, touched)


@event.listens_for(Session, "after_soft_rollback")
def _forget_changes(session: Session, transaction: SessionTransaction) -> None:
    """A rolled-back transaction changed nothing; a savepoint rolled back inside one leaves what came before it
    (raising a counter for nothing, or reading a target again for nothing, costs a little time; missing one would
    show a stale board)."""
    if transaction.parent is None:  # the whole transaction, not a savepoint or a failed flush within it
        session.info.pop(CHANGED, None)
        session.info.pop(RAISED, None)


def outdate_boards(*, session: AsyncSession, kinds: frozenset[TargetKind] = EVERY_KIND) -> None:
    """Makes the transaction raise the counters of those kinds, as a change to their boards' inputs does."""
    _changes(session.sync_session).note_others(kinds)


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
        version = await board_version(session=session, kind=kind)  # first: a change committed later shows next time
        key = (period.id or 0, kind, today)
        kept = self._kept.get(key)
        if kept is not None and kept[0] == version:
            self._kept.move_to_end(key)
            board = kept[1]
        else:
            changed = _targets_changed(session, key, kept[0], version) if kept is not None else None
            if kept is not None and changed is not None:
                board = await scoring.board_with_changes(
                    session=session, rules=rules, board=kept[1], changed=changed, today=today
                )
            else:
                board = await scoring.compute_board(
                    session=session, rules=rules, period=period, kind=kind, today=today, standards_of=()
                )
            self._keep(key, version, board)
        wanted = [target_id for target_id in standards_of if board.find(target_id) is not None]
        return await scoring.with_standards(session=session, board=board, target_ids=wanted) if wanted else board

    def _keep(self, key: BoardKey, version: int, board: scoring.Board) -> None:
        stale = [other for other, (kept, _) in self._kept.items() if other[1] == key[1] and kept != version]
        for other in stale:
            del self._kept[other]
        self._kept[key] = (version, board)
        while len(self._kept) > self.size:
            self._kept.popitem(last=False)


def _targets_changed(session: AsyncSession, key: BoardKey, since: int, until: int) -> set[int] | None:
    """The targets of the board whose tallies changed from version `since` to `until`, when the journal knows them
    and they are few enough to read one by one."""
    journal: Journal | None = session.sync_session.info.get(JOURNAL)
    if journal is None:
        return None
    period_id, kind, _ = key
    changed = journal.targets_changed(kind, period_id, since, until)
    return changed if changed is not None and len(changed) <= MOST_TARGETS_CHANGED else None
