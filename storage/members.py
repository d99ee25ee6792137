"""Queries about members: the people taking part."""

from __future__ import annotations

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import NAME_MAX_LENGTH, Member, MemberStatus, Role, utc_now


async def get_member_by_telegram_id(*, session: AsyncSession, telegram_id: int) -> Member | None:
    result = await session.exec(select(Member).where(Member.telegram_id == telegram_id))
    return result.first()


async def create_member(
    *,
    session: AsyncSession,
    telegram_id: int | None,
    display_name: str,
    role: Role,
    status: MemberStatus,
    section_id: int | None = None,
    language: str | None = None,
) -> Member:
    member = Member(
        telegram_id=telegram_id,
        display_name=clip_name(display_name),
        role=role,
        status=status,
        section_id=section_id,
        language=language,
    )
    session.add(member)
    await session.flush()
    return member


async def ensure_config_admin(*, session: AsyncSession, telegram_id: int, display_name: str) -> Member:
    """The admins named in config.toml become active admin members the first time they appear."""
    member = await get_member_by_telegram_id(session=session, telegram_id=telegram_id)
    if member is None:
        return await create_member(
            session=session,
            telegram_id=telegram_id,
            display_name=display_name,
            role=Role.ADMIN,
            status=MemberStatus.ACTIVE,
        )
    if member.role != Role.ADMIN or member.status != MemberStatus.ACTIVE:
        member.role, member.status, member.updated_at = Role.ADMIN, MemberStatus.ACTIVE, utc_now()
        session.add(member)
        await session.flush()
    return member


def clip_name(name: str) -> str:
    """Names are stored as given, trimmed of surrounding space and cut to the column's length."""
    return " ".join(name.split())[:NAME_MAX_LENGTH] or "?"
