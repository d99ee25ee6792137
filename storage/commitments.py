"""A section's standing service commitments (服务承诺)."""

from __future__ import annotations

import datetime as dt

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Commitment


async def list_commitments(*, session: AsyncSession, section_id: int) -> list[Commitment]:
    query = (
        select(Commitment)
        .where(Commitment.section_id == section_id, col(Commitment.removed_at).is_(None))
        .order_by(col(Commitment.id))
    )
    return list((await session.exec(query)).all())


async def get_commitment(*, session: AsyncSession, commitment_id: int) -> Commitment | None:
    commitment = await session.get(Commitment, commitment_id)
    return commitment if commitment is not None and commitment.removed_at is None else None


async def add_commitment(*, session: AsyncSession, section_id: int, text: str, created_by_id: int | None) -> Commitment:
    commitment = Commitment(section_id=section_id, text=text, created_by_id=created_by_id)
    session.add(commitment)
    await session.flush()
    return commitment


async def edit_commitment(*, session: AsyncSession, commitment: Commitment, text: str) -> Commitment:
    commitment.text = text
    session.add(commitment)
    await session.flush()
    return commitment


async def remove_commitment(*, session: AsyncSession, commitment: Commitment, now: dt.datetime) -> None:
    """Kept for the record, no longer shown."""
    commitment.removed_at = now
    session.add(commitment)
    await session.flush()
