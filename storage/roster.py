"""Applying a roster: sections and members created or updated in one transaction."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Protocol

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import audit, invites, members, sections
from storage.invites import invite_problem
from storage.models import Invite, InviteKind, Member, MemberStatus, Role, SectionKind


class RosterEntry(Protocol):
    """One person of the roster (bot/roster.py reads them from the CSV)."""

    @property
    def name(self) -> str: ...
    @property
    def section(self) -> str | None: ...
    @property
    def role(self) -> Role: ...
    @property
    def kind(self) -> SectionKind: ...
    @property
    def telegram_id(self) -> int | None: ...
    @property
    def username(self) -> str | None: ...


@dataclass(frozen=True)
class PersonalInvite:
    name: str
    section: str
    role: Role
    token: str


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    sections_created: int = 0
    invites: list[PersonalInvite] = field(default_factory=list)


async def import_roster(
    *, session: AsyncSession, entries: list[RosterEntry], now: dt.datetime, invite_days: int
) -> ImportReport:
    """Creates or updates each person; those without a Telegram account get a personal invitation."""
    report = ImportReport()
    for entry in entries:
        section_id = await _section_id(session, entry, report)
        member = await _existing(session, entry, section_id)
        if member is None:
            member = await members.create_member(
                session=session,
                telegram_id=entry.telegram_id,
                display_name=entry.name,
                role=entry.role,
                status=MemberStatus.ACTIVE,
                section_id=section_id,
                username=entry.username,
            )
            report.created += 1
        else:
            member.display_name, member.role, member.section_id = entry.name, entry.role, section_id
            member.status = MemberStatus.ACTIVE
            member.telegram_id = member.telegram_id or entry.telegram_id
            member.username = entry.username or member.username
            await members.save_member(session=session, member=member)
            report.updated += 1
        if member.telegram_id is None and member.username is None:
            invite = await _personal_invite(session, member, now, invite_days)
            report.invites.append(PersonalInvite(member.display_name, entry.section or "", entry.role, invite.token))
    await audit.record_audit(
        session=session,
        actor_id=None,
        action="roster.imported",
        subject="roster",
        detail=f"{report.created} created, {report.updated} updated, {report.sections_created} new sections",
    )
    return report


async def _section_id(session: AsyncSession, entry: RosterEntry, report: ImportReport) -> int | None:
    if entry.section is None:
        return None
    section = await sections.get_section_by_name(session=session, name=entry.section)
    if section is None:
        section = await sections.create_section(session=session, name=entry.section, kind=entry.kind)
        report.sections_created += 1
    return section.id


async def _existing(session: AsyncSession, entry: RosterEntry, section_id: int | None) -> Member | None:
    """The same person from an earlier import or registration: by Telegram id, username, or name and section."""
    if entry.telegram_id is not None:
        found = await members.get_member_by_telegram_id(session=session, telegram_id=entry.telegram_id)
        if found is not None:
            return found
    if entry.username is not None:
        query = select(Member).where(Member.username == entry.username)
        if (found := (await session.exec(query)).first()) is not None:
            return found
    query = select(Member).where(
        Member.display_name == members.clip_name(entry.name),
        Member.section_id == section_id if section_id is not None else col(Member.section_id).is_(None),
        Member.status != MemberStatus.REJECTED,
    )
    return (await session.exec(query)).first()


async def _personal_invite(session: AsyncSession, member: Member, now: dt.datetime, days: int) -> Invite:
    """The member's open personal invitation, or a new one (so a second import does not pile them up)."""
    query = select(Invite).where(Invite.member_id == member.id, Invite.kind == InviteKind.PERSONAL)
    for invite in (await session.exec(query.order_by(col(Invite.id).desc()))).all():
        if invite_problem(invite, now) is None:
            return invite
    return await invites.create_invite(
        session=session,
        kind=InviteKind.PERSONAL,
        role=member.role,
        section_id=member.section_id,
        member_id=member.id,
        expires_at=now + dt.timedelta(days=days),
        max_uses=1,
    )
