"""Who may use which command where: every command × every role × private chat and campaign group, sent through the
real bot and compared with the table below. A command the table does not list fails the test, so that a new
command cannot ship without someone deciding who may use it."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.app import all_commands
from storage import groups
from storage.models import MemberStatus, Role
from tests.conftest import ADMIN_ID, Bot
from tests.factories import make_member, make_section

# Roles: o outsider (also the public with a review link), p pending, s staff, h head, l leader, a admin,
# i industry rater. Each command: (who may use it in private, who may use it in the campaign group).
ALLOWED: dict[str, tuple[str, str]] = {
    "start": ("opshlai", "opshlai"),
    "help": ("opshlai", "opshlai"),
    "whoami": ("pshlai", ""),
    "cancel": ("opshlai", ""),
    "sections": ("shlai", "shlai"),
    "invite": ("ha", ""),
    "invites": ("ha", ""),
    "members": ("a", ""),
    "bindgroup": ("", "a"),
    "commitments": ("shlai", "shlai"),
    "task": ("hla", ""),
    "tasks": ("shla", ""),
    "away": ("shla", ""),
    "rate": ("shlai", "opshlai"),  # in the group: a button to rate in private, for anyone
    "ratinglink": ("ha", ""),
    "moderate": ("a", ""),
    "ranking": ("shlai", "shlai"),
    "myscore": ("shla", ""),
    "sectionscore": ("hla", ""),
    "awards": ("la", ""),
    "snapshot": ("a", ""),
    "export": ("la", ""),
}
REFUSALS = (
    "You can't use /",
    " is for registered members.",
    " works only in a private chat with me.",
    " works only in the campaign group.",
    "Your registration is still waiting for approval.",
    "Only administrators can do that.",
)


def test_every_command_is_in_the_table() -> None:
    assert sorted(spec.name for spec in all_commands()) == sorted(ALLOWED)


def refused(texts: list[str]) -> bool:
    """A refusal, or silence (a group command of other bots, such as /cancel, is left alone)."""
    return not texts or any(marker in text for text in texts for marker in REFUSALS)


@pytest.mark.no_flood_limits
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_each_role_may_use_exactly_its_commands(bot: Bot) -> None:
    home = await make_section(bot.db, "办公室")
    people = {
        "o": None,
        "p": await make_member(bot.db, 701, "Pending", section=home, status=MemberStatus.PENDING, language="en"),
        "s": await make_member(bot.db, 702, "Staff", section=home, language="en"),
        "h": await make_member(bot.db, 703, "Head", role=Role.HEAD, section=home, language="en"),
        "l": await make_member(bot.db, 704, "Leader", role=Role.LEADER, section=home, language="en"),
        "a": await make_member(bot.db, ADMIN_ID, "Admin", role=Role.ADMIN, section=home, language="en"),
        "i": await make_member(bot.db, 705, "Industry", role=Role.INDUSTRY, language="en"),
    }
    group = bot.tg.group("双优活动群")
    async with bot.db.transaction() as session:
        await groups.bind_campaign_group(session=session, chat_id=group.id, title="双优活动群", bound_by_id=None)
    users = {
        role: bot.tg.private_user(role, user_id=member.telegram_id if member else 799, language="en")
        for role, member in people.items()
    }
    for user in users.values():
        group.add(user)

    wrong: list[str] = []
    for command, (in_private, in_group) in ALLOWED.items():
        for role, user in users.items():
            for chat, allowed in ((None, role in in_private), (group, role in in_group)):
                bot.clock.advance(dt.timedelta(minutes=1))  # a group hears outsiders answered once a minute
                sent = await user.send(f"/{command}", chat=chat)
                answers = [message.text for message in sent.messages]
                if allowed == refused(answers):
                    where = "group" if chat else "private"
                    wrong.append(f"/{command} by {role} in {where}: {'refused' if refused(answers) else 'allowed'}")
                await user.send("/cancel")  # leave any dialog the command opened
    assert wrong == [], "\n".join(wrong)
