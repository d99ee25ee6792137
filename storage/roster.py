"""Applying a roster: sections and members created or updated in one transaction."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlmodel import col, insert, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import audit, invites, members, sections
from storage.invites import invite_problem
from storage.models import Invite, InviteKind, Member, MemberStatus, Role, Section, SectionKind, sort_name


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


@dataclass(frozen=True)
class LeftAlone:
    """A roster row whose account the import did not change, for the admin to check."""

    name: str
    section: str


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    sections_created: int = 0
    invites: list[PersonalInvite] = field(default_factory=list)
    # Rows matching a deactivated member: reactivating is an admin's decision in /members, not an import's.
    deactivated: list[LeftAlone] = field(default_factory=list)
    # Rows whose name matches an account that registered itself: a name proves nothing, so that account keeps its
    # role, section and status (the row became a roster person of its own, with a personal link).
    same_name: list[LeftAlone] = field(default_factory=list)


@dataclass
class _Known:
    """Who and what exists already, read once at the start (not once a row: a 10,000-row import stays short)."""

    sections: dict[str, int]
    by_telegram: dict[int, Member]
    by_username: dict[str, Member]
    roster_people: dict[tuple[str, int | None], Member]  # (name, section id) → made by an earlier import
    registered: dict[tuple[str, int | None], Member]  # (name, section id) → registered on their own
    open_links: dict[int, Invite]  # member id → their personal link that can still be used

    @classmethod
    async def read(cls, session: AsyncSession, now: dt.datetime) -> _Known:
        everyone = [m for m in (await session.exec(select(Member))).all() if m.status != MemberStatus.REJECTED]
        links = await session.exec(select(Invite).where(Invite.kind == InviteKind.PERSONAL).order_by(col(Invite.id)))
        return cls(
            sections={section.name: section.id or 0 for section in (await session.exec(select(Section))).all()},
            by_telegram={m.telegram_id: m for m in everyone if m.telegram_id is not None},
            by_username={m.username: m for m in everyone if m.username is not None},
            roster_people={(m.display_name, m.section_id): m for m in everyone if m.from_roster},
            registered={(m.display_name, m.section_id): m for m in everyone if not m.from_roster},
            open_links={
                link.member_id: link
                for link in links.all()
                if link.member_id is not None and invite_problem(link, now) is None
            },
        )

    def match(self, entry: RosterEntry, section_id: int | None) -> Member | None:
        """The same person: by Telegram id or username, or by name and section among the roster's own people."""
        if entry.telegram_id is not None and (found := self.by_telegram.get(entry.telegram_id)) is not None:
            return found
        if entry.username is not None and (found := self.by_username.get(entry.username)) is not None:
            return found
        return self.roster_people.get((members.clip_name(entry.name), section_id))


async def import_roster(
    *, session: AsyncSession, entries: list[RosterEntry], now: dt.datetime, invite_days: int
) -> ImportReport:
    """Creates or updates each person; those without a Telegram account get a personal invitation. An account is
    never given a role, section or status by its name alone: only the people an earlier import made are matched by
    name. Reads what exists once, then writes the new people and links in multi-row statements (a 10,000-row import
    holds the database's write lock for about a second: bench/roster.py)."""
    report = ImportReport()
    known = await _Known.read(session, now)
    updated: list[tuple[Member, RosterEntry]] = []
    newcomers: list[tuple[dict[str, Any], RosterEntry]] = []
    for entry in entries:
        section_id = await _section_id(session, entry, known, report)
        member = known.match(entry, section_id)
        if member is not None and member.status == MemberStatus.INACTIVE:
            report.deactivated.append(LeftAlone(member.display_name, entry.section or ""))
        elif member is not None:
            _update_person(member, entry, section_id, now)
            session.add(member)
            updated.append((member, entry))
        else:
            if (members.clip_name(entry.name), section_id) in known.registered:
                report.same_name.append(LeftAlone(members.clip_name(entry.name), entry.section or ""))
            newcomers.append((_new_person(entry, section_id, now), entry))
    report.created, report.updated = len(newcomers), len(updated)
    await session.flush()
    new_ids = await _insert_people(session, [row for row, _entry in newcomers], now)
    people = [(member.id or 0, member.model_dump(), entry) for member, entry in updated]
    people += [(member_id, row, entry) for (row, entry), member_id in zip(newcomers, new_ids, strict=True)]
    order = {id(entry): line for line, entry in enumerate(entries)}
    people.sort(key=lambda person: order[id(person[2])])  # the links file follows the roster
    new_links: list[dict[str, Any]] = []
    for member_id, person, entry in people:
        if person["telegram_id"] is not None or person["username"] is not None:
            continue  # they will be recognised when they /start
        link = known.open_links.get(member_id)
        token = link.token if link is not None else invites.new_token()
        if link is None:
            new_links.append(_personal_link(member_id, entry.role, person["section_id"], token, now, invite_days))
        report.invites.append(PersonalInvite(person["display_name"], entry.section or "", entry.role, token))
    if new_links:
        await session.exec(insert(Invite), params=new_links)
    await audit.record_audit(
        session=session,
        actor_id=None,
        action="roster.imported",
        subject="roster",
        detail=(
            f"{report.created} created, {report.updated} updated, {report.sections_created} new sections, "
            f"{len(report.deactivated)} deactivated left alone, {len(report.same_name)} same names left alone"
        ),
    )
    return report


async def _insert_people(session: AsyncSession, rows: list[dict[str, Any]], now: dt.datetime) -> list[int]:
    """Inserts the new people in one multi-row statement (no ORM objects: building 10,000 took seconds) and reads
    their ids back, in the order of `rows` (a name is one person per section in a roster: bot/roster.py)."""
    if not rows:
        return []
    await session.exec(insert(Member), params=rows)
    query = select(Member.id, Member.display_name, Member.section_id).where(
        col(Member.from_roster), Member.created_at == now
    )
    ids = {(name, section_id): member_id for member_id, name, section_id in (await session.exec(query)).all()}
    return [ids[row["display_name"], row["section_id"]] or 0 for row in rows]


def _new_person(entry: RosterEntry, section_id: int | None, now: dt.datetime) -> dict[str, Any]:
    return {
        "telegram_id": entry.telegram_id,
        "display_name": members.clip_name(entry.name),
        "sort_name": sort_name(members.clip_name(entry.name)),
        "role": entry.role,
        "status": MemberStatus.ACTIVE,
        "section_id": section_id,
        "username": members.normal_username(entry.username),
        "from_roster": True,
        "created_at": now,
        "updated_at": now,
    }


def _update_person(member: Member, entry: RosterEntry, section_id: int | None, now: dt.datetime) -> None:
    member.display_name, member.role, member.section_id = members.clip_name(entry.name), entry.role, section_id
    member.status = MemberStatus.ACTIVE  # a pending applicant named by their Telegram id or username is admitted
    member.telegram_id = member.telegram_id or entry.telegram_id
    member.username = members.normal_username(entry.username) or member.username
    member.updated_at = now


async def _section_id(session: AsyncSession, entry: RosterEntry, known: _Known, report: ImportReport) -> int | None:
    if entry.section is None:
        return None
    name = members.clip_name(entry.section)
    if name not in known.sections:
        section = await sections.create_section(session=session, name=name, kind=entry.kind)
        known.sections[name] = section.id or 0
        report.sections_created += 1
    return known.sections[name]


def _personal_link(
    member_id: int, role: Role, section_id: int | None, token: str, now: dt.datetime, days: int
) -> dict[str, Any]:
    """A new personal invitation for the member, as a row."""
    return {
        "token": token,
        "kind": InviteKind.PERSONAL,
        "role": role,
        "section_id": section_id,
        "member_id": member_id,
        "expires_at": now + dt.timedelta(days=days),
        "max_uses": 1,
        "uses": 0,
        "created_at": now,
    }
