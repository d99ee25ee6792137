"""The audit log: who did what to whom. Nothing in it is ever changed."""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import AuditEntry


async def record_audit(
    *, session: AsyncSession, actor_id: int | None, action: str, subject: str, detail: str = ""
) -> None:
    session.add(AuditEntry(actor_id=actor_id, action=action, subject=subject[:64], detail=detail[:500]))
    await session.flush()


async def list_audit(*, session: AsyncSession, subject: str | None = None) -> list[AuditEntry]:
    query = select(AuditEntry).order_by(col(AuditEntry.id))
    if subject is not None:
        query = query.where(AuditEntry.subject == subject)
    return list((await session.exec(query)).all())
