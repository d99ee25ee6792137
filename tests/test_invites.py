"""Invitation links: made by admins and heads, followed by newcomers, refused when expired, used up or revoked."""

from __future__ import annotations

import datetime as dt

from storage import invites
from storage.models import InviteKind, MemberStatus, Role
from tests.conftest import ADMIN_ID, Bot
from tests.factories import make_member, make_section, member_of


def token_of(text: str) -> str:
    return text.split("?start=i_", 1)[1].split()[0]


async def admin(bot: Bot):  # type: ignore[no-untyped-def]
    boss = bot.tg.private_user("Boss", user_id=ADMIN_ID)
    await boss.send("/start")
    return boss


async def test_admin_invites_a_head_who_registers_at_once(bot: Bot) -> None:
    await make_section(bot.db, "办公室")
    boss = await admin(bot)

    await boss.send("/invite")
    await boss.press("Head of a section")
    await boss.press("办公室")
    text = boss.last_text()
    assert text.startswith("Invitation for section head of 办公室:\nhttps://t.me/ShuangyouBot?start=i_")
    assert "for 1 person" in text

    carol = bot.tg.private_user("Carol", username="carol")
    await carol.send(f"/start i_{token_of(text)}")

    assert "You are registered as Carol, section head of 办公室" in carol.last_text()
    member = await member_of(bot.db, carol.id)
    assert member is not None and (member.role, member.status) == (Role.HEAD, MemberStatus.ACTIVE)
    assert "invite" in bot.api.commands_for("chat", chat_id=carol.id)


async def test_expired_link_is_refused_and_changes_nothing(bot: Bot) -> None:
    section = await make_section(bot.db)
    async with bot.db.transaction() as session:
        invite = await invites.create_invite(
            session=session, kind=InviteKind.MEMBER, role=Role.STAFF, section_id=section.id,
            expires_at=bot.clock.now() - dt.timedelta(minutes=1), max_uses=5,
        )  # fmt: skip
    dave = bot.tg.private_user("Dave")

    await dave.send(f"/start i_{invite.token}")

    assert dave.last_text() == "This invitation link has expired. Ask whoever sent it for a new one."
    assert await member_of(bot.db, dave.id) is None


async def test_unknown_and_used_up_links_are_refused(bot: Bot) -> None:
    section = await make_section(bot.db)
    async with bot.db.transaction() as session:
        invite = await invites.create_invite(
            session=session, kind=InviteKind.MEMBER, role=Role.STAFF, section_id=section.id,
            expires_at=bot.clock.now() + dt.timedelta(days=1), max_uses=1,
        )  # fmt: skip
    first, second = bot.tg.private_user("First"), bot.tg.private_user("Second")

    await first.send("/start i_NoSuchTokenAtAll123")
    assert first.last_text() == "This invitation link is not valid. Ask whoever sent it for a new one."
    await first.send(f"/start i_{invite.token}")
    await second.send(f"/start i_{invite.token}")

    assert "You are registered as First, staff member" in first.last_text()
    assert second.last_text() == "This invitation link has already been used up. Ask whoever sent it for a new one."
    assert await member_of(bot.db, second.id) is None


async def test_revoked_link_no_longer_works(bot: Bot) -> None:
    await make_section(bot.db, "办公室")
    boss = await admin(bot)
    await boss.send("/invite")
    await boss.press("Staff of a section")
    await boss.press("办公室")
    token = token_of(boss.last_text())

    sent = await boss.press("Revoke this link")
    assert sent.answer == "Revoked: the link no longer works."
    erin = bot.tg.private_user("Erin")
    await erin.send(f"/start i_{token}")

    assert erin.last_text() == "This invitation link was withdrawn. Ask whoever sent it for a new one."


async def test_head_invites_only_to_own_section(bot: Bot) -> None:
    own = await make_section(bot.db, "办公室")
    other = await make_section(bot.db, "财务科")
    head = bot.tg.private_user("Head")
    await make_member(bot.db, head.id, "Head", role=Role.HEAD, section=own)

    await head.send("/invite")
    assert "staff member of 办公室" in head.last_text(), "a head invites staff of their section: no question"
    forged = await head.press_data(f"invs:staff:{other.id}", message=head.last_message())
    forged_rater = await head.press_data("invk:industry", message=head.last_message())
    forged_head = await head.press_data("invk:head", message=head.last_message())

    assert forged.answer == "Heads can invite only to their own section."
    refusal = "Section heads can invite staff to their own section; ask an administrator for more."
    assert forged_rater.answer == forged_head.answer == refusal


async def test_staff_cannot_invite(bot: Bot) -> None:
    section = await make_section(bot.db)
    staff = bot.tg.private_user("Staff")
    await make_member(bot.db, staff.id, "Staff", section=section)

    await staff.send("/invite")
    forged = await staff.press_data("invk:industry", message=staff.last_message())

    assert staff.bot_messages()[0].text == "You can't use /invite. Send /help to see the commands you can use."
    assert forged.answer == "Only administrators and section heads can do that."


async def test_industry_rater_registers_with_organisation(bot: Bot) -> None:
    boss = await admin(bot)
    await boss.send("/invite")
    await boss.press("Industry rater")
    token = token_of(boss.last_text())
    frank = bot.tg.private_user("Frank")

    await frank.send(f"/start i_{token}")
    assert "Please type the name of your organisation." in frank.last_text()
    await frank.send("金坛<旅行社>有限公司")

    assert "You are registered as Frank of 金坛<旅行社>有限公司, industry rater" in frank.last_text()
    member = await member_of(bot.db, frank.id)
    assert member is not None
    assert (member.role, member.section_id, member.organisation) == (Role.INDUSTRY, None, "金坛<旅行社>有限公司")


async def test_invites_lists_open_links(bot: Bot) -> None:
    await make_section(bot.db, "办公室")
    boss = await admin(bot)
    await boss.send("/invite")
    await boss.press("Staff of a section")
    await boss.press("办公室")

    await boss.send("/invites")

    assert boss.last_text().startswith("Open invitation links\n\n#1 staff member of 办公室: used 0 of 30")
    assert boss.buttons() == [["Revoke #1"]]


async def test_registered_member_following_a_link_is_not_changed(bot: Bot) -> None:
    section = await make_section(bot.db, "办公室")
    other = await make_section(bot.db, "财务科")
    alice = bot.tg.private_user("Alice")
    await make_member(bot.db, alice.id, "Alice", section=section)
    async with bot.db.transaction() as session:
        invite = await invites.create_invite(
            session=session, kind=InviteKind.MEMBER, role=Role.HEAD, section_id=other.id,
            expires_at=bot.clock.now() + dt.timedelta(days=1), max_uses=1,
        )  # fmt: skip

    await alice.send(f"/start i_{invite.token}")

    assert alice.last_text() == "You are already registered. Send /whoami to see your profile."
    member = await member_of(bot.db, alice.id)
    assert member is not None and (member.role, member.section_id) == (Role.STAFF, section.id)


def test_tokens_are_unguessable() -> None:
    tokens = {invites.new_token() for _ in range(1000)}
    assert len(tokens) == 1000
    assert all(len(token) == 22 for token in tokens)


async def test_deactivated_member_cannot_come_back_through_a_link(bot: Bot) -> None:
    section = await make_section(bot.db)
    frank = bot.tg.private_user("Frank")
    await make_member(bot.db, frank.id, "Frank", section=section, status=MemberStatus.INACTIVE)
    async with bot.db.transaction() as session:
        invite = await invites.create_invite(
            session=session, kind=InviteKind.MEMBER, role=Role.STAFF, section_id=section.id,
            expires_at=bot.clock.now() + dt.timedelta(days=1), max_uses=5,
        )  # fmt: skip

    await frank.send(f"/start i_{invite.token}")

    assert frank.last_text().startswith("An administrator deactivated your membership")
    member = await member_of(bot.db, frank.id)
    assert member is not None and member.status == MemberStatus.INACTIVE


async def test_malformed_link_is_called_invalid(bot: Bot) -> None:
    await make_section(bot.db)
    dave = bot.tg.private_user("Dave")

    await dave.send("/start i_madeup")

    assert dave.last_text() == "This invitation link is not valid. Ask whoever sent it for a new one."


async def test_admin_sees_and_revokes_personal_roster_links(bot: Bot) -> None:
    section = await make_section(bot.db, "办公室")
    person = await make_member(bot.db, None, "张三", section=section)
    async with bot.db.transaction() as session:
        invite = await invites.create_invite(
            session=session, kind=InviteKind.PERSONAL, role=Role.STAFF, section_id=section.id, member_id=person.id,
            expires_at=bot.clock.now() + dt.timedelta(days=30), max_uses=1,
        )  # fmt: skip
    boss = await admin(bot)

    await boss.send("/invites")
    assert "personal link of 张三" in boss.last_text()
    await boss.press(f"Revoke #{invite.id}")
    zhang = bot.tg.private_user("Zhang")
    await zhang.send(f"/start i_{invite.token}")

    assert zhang.last_text() == "This invitation link was withdrawn. Ask whoever sent it for a new one."


async def test_joiner_by_link_may_change_the_name_colleagues_see(bot: Bot) -> None:
    await make_section(bot.db, "办公室")
    boss = await admin(bot)
    await boss.send("/invite")
    await boss.press("Staff of a section")
    await boss.press("办公室")
    gina = bot.tg.private_user("Gina")
    await gina.send(f"/start i_{token_of(boss.last_text())}")
    assert "To change the name colleagues see, send /whoami." in gina.last_text()

    await gina.send("/whoami")
    await gina.press("Change my name")
    await gina.send("Gina Wang")

    assert gina.last_text() == "Done: your colleagues now see you as Gina Wang."
    member = await member_of(bot.db, gina.id)
    assert member is not None and member.display_name == "Gina Wang"
