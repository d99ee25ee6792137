"""Updates already acted on: a repeated delivery of a Telegram update changes nothing."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import ProcessedUpdate
from storage.session import upsert_insert


async def claim_update(*, session: AsyncSession, bot_id: int, update_id: int, now: dt.datetime) -> bool:
    """True the first time; False when this update was acted on already (its claim committed)."""
    statement = (
        upsert_insert(session)(ProcessedUpdate)
        .values(bot_id=bot_id, update_id=update_id, received_at=now)
        .on_conflict_do_nothing(index_elements=["bot_id", "update_id"])
    )
    result = await session.exec(statement)
    return bool(result.rowcount)


async def forget_updates(*, session: AsyncSession, before: dt.datetime) -> int:
    """Drops the claims older than any repeat Telegram would still send."""
    result = await session.exec(delete(ProcessedUpdate).where(col(ProcessedUpdate.received_at) < before))
    return int(result.rowcount or 0)
