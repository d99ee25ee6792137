"""Invitation links: made by admins and heads, followed by newcomers, refused when expired, used up or revoked."""

from __future__ import annotations

import datetime as dt

from storage import invites
from storage.models import InviteKind, Member, MemberStatus, Role
from tests.conftest import ADMIN_ID, Bot
from tests.factories import make_member, make_section, member_of, reload_member


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
    boss = await make_member(bot.db, ADMIN_ID, "Boss", role=Role.ADMIN)
    async with bot.db.transaction() as session:
        invite = await invites.create_invite(
            session=session, kind=InviteKind.MEMBER, role=Role.STAFF, section_id=section.id,
            expires_at=bot.clock.now() + dt.timedelta(days=1), max_uses=1, created_by_id=boss.id,
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

    assert boss.last_text().startswith("Open invitation links\n\n#1 staff member of 办公室: used 0 of 5")
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


async def test_a_name_taken_from_the_telegram_profile_is_cleaned_like_a_typed_one(bot: Bot) -> None:
    await make_section(bot.db, "办公室")
    boss = await admin(bot)
    await boss.send("/invite")
    await boss.press("Staff of a section")
    await boss.press("办公室")
    mallory = bot.tg.private_user("王\u200b<b>局长</b>\u202e", last_name="\x07\u2066 ")

    await mallory.send(f"/start i_{token_of(boss.last_text())}")

    member = await member_of(bot.db, mallory.id)
    assert member is not None and member.display_name == "王<b>局长</b>"
    assert "王&lt;b&gt;局长&lt;/b&gt;" in mallory.last_message().html


async def test_a_rename_to_the_name_of_a_colleague_of_the_same_section_is_refused(bot: Bot) -> None:
    office, market = await make_section(bot.db, "办公室"), await make_section(bot.db, "市场科")
    await make_member(bot.db, 801, "李明", section=office)
    await make_member(bot.db, 802, "张强", section=market)
    gina = bot.tg.private_user("Gina")
    await make_member(bot.db, gina.id, "Gina", section=office)

    await gina.send("/whoami")
    await gina.press("Change my name")
    await gina.send("李明")

    assert gina.last_text() == (
        "Someone in your section is already called 李明. Please send a name that tells you apart."
    )
    assert (await member_of(bot.db, gina.id)).display_name == "Gina"  # type: ignore[union-attr]
    await gina.send("张强")  # the same name in another section is no one's to refuse
    assert gina.last_text() == "Done: your colleagues now see you as 张强."


async def test_joining_through_a_head_s_link_waits_for_an_administrator(bot: Bot) -> None:
    office = await make_section(bot.db, "办公室")
    boss = await admin(bot)
    head = bot.tg.private_user("Head")
    await make_member(bot.db, head.id, "Hu Head", role=Role.HEAD, section=office)
    await head.send("/invite")
    made = head.last_text()
    assert "for up to 5 people" in made and "waits for an administrator's approval" in made
    joiner = bot.tg.private_user("Newbie")

    await joiner.send(f"/start i_{token_of(made)}")

    assert "Your request has been sent to the administrators" in joiner.last_text()
    member = await member_of(bot.db, joiner.id)
    assert member is not None and (member.status, member.section_id) == (MemberStatus.PENDING, office.id)
    request = boss.last_text()
    assert "New registration" in request and "Invited by Hu Head (a section head's link)" in request
    await joiner.send("/rate")
    assert "You can't use /rate" in joiner.last_text() or "registration" in joiner.last_text()
    await boss.press("Approve")
    assert (await member_of(bot.db, joiner.id)).status == MemberStatus.ACTIVE  # type: ignore[union-attr]


async def test_deactivating_a_member_withdraws_their_personal_link_and_the_links_they_made(bot: Bot) -> None:
    office = await make_section(bot.db, "办公室")
    person = await make_member(bot.db, None, "张三", role=Role.HEAD, section=office)
    head = bot.tg.private_user("Head")
    maker = await make_member(bot.db, head.id, "Hu Head", role=Role.HEAD, section=office)
    async with bot.db.transaction() as session:
        personal = await invites.create_invite(
            session=session, kind=InviteKind.PERSONAL, role=Role.HEAD, section_id=office.id, member_id=person.id,
            expires_at=bot.clock.now() + dt.timedelta(days=30), max_uses=1,
        )  # fmt: skip
    await head.send("/invite")
    heads_link = token_of(head.last_text())
    boss = await admin(bot)
    for name in ("张三", "Hu Head"):
        await boss.send(f"/members {name}")
        await boss.press(f"{name} · 办公室 · section head")
        await boss.press("Deactivate")
        await boss.press("Yes, deactivate")

    for token in (personal.token, heads_link):
        stranger = bot.tg.private_user("Stranger")
        await stranger.send(f"/start i_{token}")
        assert stranger.last_text() == "This invitation link was withdrawn. Ask whoever sent it for a new one."
        assert await member_of(bot.db, stranger.id) is None
    assert (await reload(bot, person.id)).status == MemberStatus.INACTIVE
    assert (await reload(bot, maker.id)).status == MemberStatus.INACTIVE


async def test_a_personal_link_of_a_member_deactivated_before_links_were_withdrawn_registers_no_one(bot: Bot) -> None:
    office = await make_section(bot.db, "办公室")
    person = await make_member(bot.db, None, "张三", role=Role.HEAD, section=office, status=MemberStatus.INACTIVE)
    async with bot.db.transaction() as session:
        personal = await invites.create_invite(
            session=session, kind=InviteKind.PERSONAL, role=Role.HEAD, section_id=office.id, member_id=person.id,
            expires_at=bot.clock.now() + dt.timedelta(days=30), max_uses=1,
        )  # fmt: skip
    stranger = bot.tg.private_user("Stranger")

    await stranger.send(f"/start i_{personal.token}")

    assert stranger.last_text() == "This invitation link was withdrawn. Ask whoever sent it for a new one."
    assert await member_of(bot.db, stranger.id) is None
    assert (await reload(bot, person.id)).status == MemberStatus.INACTIVE


async def reload(bot: Bot, member_id: int | None) -> Member:
    return await reload_member(bot.db, member_id)
