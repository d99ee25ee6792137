"""Sections: office sections (科室) and grassroots stations (站所)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.members import clip_name
from storage.models import Member, MemberStatus, Role, Section, SectionKind


class DuplicateSectionName(Exception):
    """Another section already has this name."""


@dataclass(frozen=True)
class SectionRow:
    """A section as /sections shows it."""

    id: int
    name: str
    kind: SectionKind
    archived: bool
    heads: tuple[str, ...]
    members: int


async def get_section(*, session: AsyncSession, section_id: int) -> Section | None:
    return await session.get(Section, section_id)


async def get_section_by_name(*, session: AsyncSession, name: str) -> Section | None:
    return (await session.exec(select(Section).where(Section.name == clip_name(name)))).first()


async def list_sections(*, session: AsyncSession, include_archived: bool = False) -> list[Section]:
    query = select(Section).order_by(col(Section.kind), col(Section.sort_name))
    if not include_archived:
        query = query.where(col(Section.archived_at).is_(None))
    return list((await session.exec(query)).all())


async def create_section(*, session: AsyncSession, name: str, kind: SectionKind) -> Section:
    name = clip_name(name)
    if await get_section_by_name(session=session, name=name) is not None:
        raise DuplicateSectionName(name)
    section = Section(name=name, kind=kind)
    session.add(section)
    await session.flush()
    return section


async def rename_section(*, session: AsyncSession, section: Section, name: str) -> Section:
    name = clip_name(name)
    other = await get_section_by_name(session=session, name=name)
    if other is not None and other.id != section.id:
        raise DuplicateSectionName(name)
    section.name = name
    session.add(section)
    await session.flush()
    return section


async def set_archived(*, session: AsyncSession, section: Section, archived: bool, now: dt.datetime) -> Section:
    """An archived section keeps its members and history but leaves lists, ratings and the ranking."""
    section.archived_at = now if archived else None
    session.add(section)
    await session.flush()
    return section


async def section_overview(*, session: AsyncSession, include_archived: bool = False) -> list[SectionRow]:
    sections = await list_sections(session=session, include_archived=include_archived)
    active = col(Member.status) == MemberStatus.ACTIVE
    counts = dict(
        (
            await session.exec(select(Member.section_id, func.count()).where(active).group_by(col(Member.section_id)))
        ).all()
    )
    heads: dict[int, list[str]] = {}
    head_rows = await session.exec(
        select(Member.section_id, Member.display_name)
        .where(active, Member.role == Role.HEAD)
        .order_by(col(Member.sort_name))
    )
    for section_id, name in head_rows.all():
        if section_id is not None:
            heads.setdefault(section_id, []).append(name)
    return [
        SectionRow(
            id=section.id or 0,
            name=section.name,
            kind=section.kind,
            archived=section.archived_at is not None,
            heads=tuple(heads.get(section.id or 0, [])),
            members=int(counts.get(section.id, 0)),
        )
        for section in sections
    ]
