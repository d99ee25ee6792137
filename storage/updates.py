"""Updates already acted on: a repeated delivery of a Telegram update changes nothing."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from sqlalchemy import delete
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import ProcessedUpdate
from storage.session import upsert_insert


async def claim_update(*, session: AsyncSession, bot_id: int, update_id: int, now: dt.datetime) -> bool:
    """True the first time; False when this update was acted on already (its claim committed)."""
    params = {"bot_id": bot_id, "update_id": update_id, "received_at": now}
    result = await session.exec(_claim(upsert_insert(session)), params=params)
    return bool(result.rowcount)


@functools.cache
def _claim(insert: Any) -> Any:
    """The claim's INSERT, built once per dialect."""
    table = ProcessedUpdate.__table__  # type: ignore[attr-defined]
    return insert(table).on_conflict_do_nothing(index_elements=["bot_id", "update_id"])


async def forget_updates(*, session: AsyncSession, before: dt.datetime) -> int:
    """Drops the claims older than any repeat Telegram would still send."""
    result = await session.exec(delete(ProcessedUpdate).where(col(ProcessedUpdate.received_at) < before))
    return int(result.rowcount or 0)
