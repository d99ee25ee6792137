"""Queries about members: the people taking part, their registration, roles and status."""

from __future__ import annotations

from sqlalchemy import bindparam, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import NAME_MAX_LENGTH, Member, MemberStatus, Role, utc_now


def clip_name(name: str) -> str:
    """Names are stored as given, with runs of white space made one and cut to the column's length."""
    return " ".join(name.split())[:NAME_MAX_LENGTH]


def normal_username(username: str | None) -> str | None:
    """Telegram usernames compare without "@" and case."""
    return username.strip().lstrip("@").lower() or None if username else None


async def get_member(*, session: AsyncSession, member_id: int) -> Member | None:
    return await session.get(Member, member_id)


async def get_member_by_telegram_id(*, session: AsyncSession, telegram_id: int) -> Member | None:
    """The member behind a Telegram account (every update asks: the statement is built once)."""
    result = await session.exec(_BY_TELEGRAM_ID, params={"telegram_id": telegram_id})
    return result.first()


_BY_TELEGRAM_ID = select(Member).where(col(Member.telegram_id) == bindparam("telegram_id"))


async def get_unbound_member_by_username(*, session: AsyncSession, username: str) -> Member | None:
    """A roster member with this username who has not talked to the bot yet."""
    query = select(Member).where(
        Member.username == normal_username(username),
        col(Member.telegram_id).is_(None),
        Member.status == MemberStatus.ACTIVE,
    )
    return (await session.exec(query)).first()


async def create_member(
    *,
    session: AsyncSession,
    telegram_id: int | None,
    display_name: str,
    role: Role,
    status: MemberStatus,
    section_id: int | None = None,
    language: str | None = None,
    username: str | None = None,
    organisation: str | None = None,
) -> Member:
    member = Member(
        telegram_id=telegram_id,
        display_name=clip_name(display_name) or "?",
        role=role,
        status=status,
        section_id=section_id,
        language=language,
        username=normal_username(username),
        organisation=clip_name(organisation) if organisation else None,
    )
    session.add(member)
    await session.flush()
    return member


async def save_member(*, session: AsyncSession, member: Member) -> Member:
    member.updated_at = utc_now()
    session.add(member)
    await session.flush()
    return member


async def ensure_config_admin(
    *, session: AsyncSession, telegram_id: int, display_name: str, language: str | None = None
) -> Member:
    """The admins named in config.toml become active admin members the first time they appear."""
    member = await get_member_by_telegram_id(session=session, telegram_id=telegram_id)
    if member is None:
        return await create_member(
            session=session,
            telegram_id=telegram_id,
            display_name=display_name,
            role=Role.ADMIN,
            status=MemberStatus.ACTIVE,
            language=language,
        )
    if member.role != Role.ADMIN or member.status != MemberStatus.ACTIVE:
        member.role, member.status = Role.ADMIN, MemberStatus.ACTIVE
        await save_member(session=session, member=member)
    return member


async def apply_for_membership(
    *,
    session: AsyncSession,
    telegram_id: int,
    display_name: str,
    section_id: int,
    language: str | None,
    username: str | None,
) -> Member:
    """A registration request: a new pending member, or a rejected one applying again."""
    member = await get_member_by_telegram_id(session=session, telegram_id=telegram_id)
    if member is None:
        return await create_member(
            session=session,
            telegram_id=telegram_id,
            display_name=display_name,
            role=Role.STAFF,
            status=MemberStatus.PENDING,
            section_id=section_id,
            language=language,
            username=username,
        )
    member.display_name, member.section_id, member.status = clip_name(display_name), section_id, MemberStatus.PENDING
    member.role = Role.STAFF
    return await save_member(session=session, member=member)


async def name_taken_in_section(*, session: AsyncSession, member: Member, name: str) -> bool:
    """Whether another active member of `member`'s section goes by exactly `name` (colleagues could not tell the
    two apart on a rating form or a task)."""
    query = select(Member.id).where(
        Member.display_name == name,
        Member.status == MemberStatus.ACTIVE,
        Member.id != member.id,
        Member.section_id == member.section_id if member.section_id is not None else col(Member.section_id).is_(None),
    )
    return (await session.exec(query.limit(1))).first() is not None


async def list_admin_chat_ids(*, session: AsyncSession, config_admins: tuple[int, ...]) -> list[int]:
    """Everyone who decides registrations: active admin members and the admins named in the config."""
    query = select(Member.telegram_id).where(
        Member.role == Role.ADMIN, Member.status == MemberStatus.ACTIVE, col(Member.telegram_id).is_not(None)
    )
    found = [telegram_id for telegram_id in (await session.exec(query)).all() if telegram_id is not None]
    return sorted(set(found) | set(config_admins))


async def list_members(
    *, session: AsyncSession, section_id: int | None = None, offset: int = 0, limit: int = 10
) -> list[Member]:
    query = select(Member).where(Member.status != MemberStatus.REJECTED)
    if section_id is not None:
        query = query.where(Member.section_id == section_id)
    query = query.order_by(col(Member.sort_name), col(Member.id)).offset(offset).limit(limit)
    return list((await session.exec(query)).all())


async def find_members(*, session: AsyncSession, name_part: str, limit: int = 20) -> list[Member]:
    """Members whose name contains `name_part` (any case); % and _ are matched as themselves."""
    pattern = "%" + name_part.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    query = (
        select(Member)
        .where(col(Member.display_name).ilike(pattern, escape="\\"), Member.status != MemberStatus.REJECTED)
        .order_by(col(Member.sort_name))
        .limit(limit)
    )
    return list((await session.exec(query)).all())


async def count_members(*, session: AsyncSession, section_id: int | None = None) -> int:
    query = select(func.count()).select_from(Member).where(Member.status != MemberStatus.REJECTED)
    if section_id is not None:
        query = query.where(Member.section_id == section_id)
    return int((await session.exec(query)).one())


async def list_members_on_telegram(*, session: AsyncSession) -> list[Member]:
    """Everyone the bot can write to: members with a Telegram account."""
    query = select(Member).where(col(Member.telegram_id).is_not(None)).order_by(col(Member.id))
    return list((await session.exec(query)).all())
