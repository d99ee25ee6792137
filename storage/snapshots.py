"""Leaderboard snapshots: the boards as they stood when posted, the base of the movements shown next time."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import scoring
from storage.models import Period, Snapshot, TargetKind


def board_entries(board: scoring.Board) -> list[dict[str, Any]]:
    return [
        {"id": target_id, "name": name, "rank": rank, "score": score, "raters": raters}
        for target_id, name, rank, score, raters in board.ranked_summaries()
    ]


async def take_snapshot(
    *,
    session: AsyncSession,
    rules: scoring.Rules,
    period: Period,
    slot: str,
    now: dt.datetime,
    today: dt.date,
    taken_by_id: int | None = None,
) -> Snapshot | None:
    """Stores both boards of the period under `slot`; None when that slot was taken already (by another
    instance, or an earlier sweep)."""
    if await get_snapshot(session=session, slot=slot) is not None:
        return None
    sections = await scoring.compute_board(
        session=session, rules=rules, period=period, kind=TargetKind.SECTION, today=today, standards_of=()
    )
    members = await scoring.compute_board(
        session=session, rules=rules, period=period, kind=TargetKind.MEMBER, today=today, standards_of=()
    )
    snapshot = Snapshot(
        slot=slot,
        period_id=period.id or 0,
        sections=board_entries(sections),
        members=board_entries(members),
        taken_by_id=taken_by_id,
        taken_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(snapshot)
            await session.flush()
    except IntegrityError:
        return None
    return snapshot


async def get_snapshot(*, session: AsyncSession, slot: str) -> Snapshot | None:
    return (await session.exec(select(Snapshot).where(Snapshot.slot == slot))).first()


async def latest_snapshot(*, session: AsyncSession, period_id: int, before_id: int | None = None) -> Snapshot | None:
    """The last snapshot of the period (before a given one): where the movements are measured from."""
    query = select(Snapshot).where(Snapshot.period_id == period_id)
    if before_id is not None:
        query = query.where(col(Snapshot.id) < before_id)
    return (await session.exec(query.order_by(col(Snapshot.id).desc()))).first()


async def previous_ranks(
    *, session: AsyncSession, period_id: int, kind: TargetKind, before_id: int | None = None
) -> dict[int, int] | None:
    """Target id → rank in the period's last snapshot (before a given one), where the movements are measured from;
    None when there is none. Only that kind's list is read: the individuals' one is a large JSON in a big campaign."""
    column = Snapshot.sections if kind == TargetKind.SECTION else Snapshot.members
    query = select(column).where(Snapshot.period_id == period_id)
    if before_id is not None:
        query = query.where(col(Snapshot.id) < before_id)
    entries = (await session.exec(query.order_by(col(Snapshot.id).desc()).limit(1))).first()
    if entries is None:
        return None
    return {int(entry["id"]): int(entry["rank"]) for entry in entries if entry.get("rank") is not None}
