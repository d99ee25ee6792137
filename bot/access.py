"""Who may do what: the audiences a user falls into, and the commands each audience has.

Every handler module declares its commands as `CommandSpec`s; the menus, `/help` and the server-side
checks all read the same declarations, so a command cannot be shown to someone it refuses.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from storage.models import Member, MemberStatus, Role


class Audience(enum.StrEnum):
    OUTSIDER = "outsider"  # not registered (or rejected, or deactivated)
    PENDING = "pending"  # registered, waiting for approval
    STAFF = "staff"
    HEAD = "head"
    LEADER = "leader"
    ADMIN = "admin"
    INDUSTRY = "industry"


EVERYONE = frozenset(Audience)
MEMBERS = frozenset({Audience.STAFF, Audience.HEAD, Audience.LEADER, Audience.ADMIN, Audience.INDUSTRY})
ADMIN_ONLY = frozenset({Audience.ADMIN})
ADMINS_AND_HEADS = frozenset({Audience.ADMIN, Audience.HEAD})
PRIVATE = frozenset({"private"})
GROUPS = frozenset({"group", "supergroup"})
ANY_CHAT = PRIVATE | GROUPS

_ROLE_AUDIENCE = {
    Role.STAFF: Audience.STAFF,
    Role.HEAD: Audience.HEAD,
    Role.LEADER: Audience.LEADER,
    Role.ADMIN: Audience.ADMIN,
    Role.INDUSTRY: Audience.INDUSTRY,
}


def audience_of(member: Member | None, telegram_id: int, config_admins: Iterable[int]) -> Audience:
    """The audience of a Telegram user; the admins named in the config are admins whatever the database says."""
    if telegram_id in set(config_admins):
        return Audience.ADMIN
    if member is None:
        return Audience.OUTSIDER
    if member.status == MemberStatus.PENDING:
        return Audience.PENDING
    if member.status != MemberStatus.ACTIVE:
        return Audience.OUTSIDER
    return _ROLE_AUDIENCE[member.role]


@dataclass(frozen=True)
class CommandSpec:
    """A command: its name, its one-line description (a msgid), who may use it and where."""

    name: str
    description: str
    audiences: frozenset[Audience]
    chats: frozenset[str] = PRIVATE
    in_menu: bool = True
    described_for: tuple[tuple[Audience, str], ...] = ()  # another description (a msgid) for some audiences
    needs_section: bool = False  # about one's own section: not offered to those in none (an admin, most leaders)
    takes_arguments: bool = False  # text after it is used (else handlers.arguments says it was not)

    def allows(self, audience: Audience, chat_type: str) -> bool:
        return audience in self.audiences and chat_type in self.chats

    def description_for(self, audience: Audience) -> str:
        return dict(self.described_for).get(audience, self.description)


def commands_for(
    specs: Iterable[CommandSpec],
    audience: Audience,
    chat_type: str,
    *,
    menu_only: bool = False,
    in_section: bool = True,
) -> list[CommandSpec]:
    """The commands offered (in /help, or the menu with `menu_only`) to an audience in a chat; those about one's own
    section only to people in one."""
    return [
        spec
        for spec in specs
        if spec.allows(audience, chat_type)
        and (spec.in_menu or not menu_only)
        and (in_section or not spec.needs_section)
    ]


def in_a_section(member: Member | None) -> bool:
    return member is not None and member.section_id is not None
