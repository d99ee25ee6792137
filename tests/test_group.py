"""The campaign group: bound by an admin, followed when it becomes a supergroup, dropped when the bot leaves."""

from __future__ import annotations

import datetime as dt

from sqlmodel import select

from storage import groups
from storage.models import CampaignGroup, Reminder
from tests.conftest import ADMIN_ID, Bot
from tests.factories import make_member, make_section


async def bound_group(bot: Bot) -> CampaignGroup | None:
    async with bot.db.transaction() as session:
        return await groups.get_campaign_group(session=session)


async def test_admin_binds_the_campaign_group(bot: Bot) -> None:
    boss = bot.tg.private_user("Boss", user_id=ADMIN_ID)
    group = bot.tg.group("双优活动群")
    group.add(boss)

    await boss.send("/bindgroup", chat=group)

    assert group.last_text().startswith("This group is now the campaign group")
    bound = await bound_group(bot)
    assert bound is not None and (bound.chat_id, bound.title) == (group.id, "双优活动群")


async def test_staff_cannot_bind_a_group(bot: Bot) -> None:
    staff = bot.tg.private_user("Staff")
    await make_member(bot.db, staff.id, "Staff")
    group = bot.tg.group()
    group.add(staff)

    await staff.send("/bindgroup@ShuangyouBot", chat=group)

    assert group.last_text() == "You can't use /bindgroup. Send /help to see the commands you can use."
    assert await bound_group(bot) is None


async def test_bindgroup_in_private_points_to_the_group(bot: Bot) -> None:
    boss = bot.tg.private_user("Boss", user_id=ADMIN_ID)

    await boss.send("/bindgroup")

    assert boss.last_text() == "/bindgroup works only in the campaign group."


async def test_group_that_migrates_to_a_supergroup_keeps_its_binding(bot: Bot) -> None:
    boss = bot.tg.private_user("Boss", user_id=ADMIN_ID)
    group = bot.tg.group("Old", chat_id=-5001)
    group.add(boss)
    await boss.send("/bindgroup", chat=group)
    bot.api.fail_next("sendMessage", migrate_to=-100_5001, chat_id=-5001)

    await bot.app.bot.send_message(-5001, "snapshot")

    bound = await bound_group(bot)
    assert bound is not None and bound.chat_id == -100_5001
    assert [m.text for m in bot.api.chats[-100_5001].messages.values() if m.from_bot][-1] == "snapshot"


async def test_migrate_service_message_moves_the_binding(bot: Bot) -> None:
    boss = bot.tg.private_user("Boss", user_id=ADMIN_ID)
    group = bot.tg.group("Old", chat_id=-6001)
    group.add(boss)
    await boss.send("/bindgroup", chat=group)

    await boss.send_update("message", {"migrate_to_chat_id": -100_6001}, chat=group)

    bound = await bound_group(bot)
    assert bound is not None and bound.chat_id == -100_6001


async def test_bot_removed_from_the_group_drops_the_binding_and_tells_admins(bot: Bot) -> None:
    boss = bot.tg.private_user("Boss", user_id=ADMIN_ID, language="en")
    await boss.send("/start")
    group = bot.tg.group("双优活动群")
    group.add(boss)
    await boss.send("/bindgroup", chat=group)

    await bot.tg.deliver({"my_chat_member": {
        "chat": group.chat.as_dict(), "from": boss.user, "date": 0,
        "old_chat_member": {"status": "member", "user": bot.api.bot_user},
        "new_chat_member": {"status": "kicked", "user": bot.api.bot_user, "until_date": 0},
    }})  # fmt: skip

    assert await bound_group(bot) is None
    assert boss.last_text().startswith("I was removed from the campaign group “双优活动群”")


async def test_bot_added_to_a_group_says_how_to_bind_it(bot: Bot) -> None:
    boss = bot.tg.private_user("Boss", user_id=ADMIN_ID)
    group = bot.tg.group("New group")

    await bot.tg.deliver({"my_chat_member": {
        "chat": group.chat.as_dict(), "from": boss.user, "date": 0,
        "old_chat_member": {"status": "left", "user": bot.api.bot_user},
        "new_chat_member": {"status": "member", "user": bot.api.bot_user},
    }})  # fmt: skip

    assert "/bindgroup" in group.last_text()


async def test_binding_another_group_asks_first_and_tells_both(bot: Bot) -> None:
    boss = bot.tg.private_user("Boss", user_id=ADMIN_ID)
    first, second = bot.tg.group("First"), bot.tg.group("Second")
    first.add(boss)
    second.add(boss)
    await boss.send("/bindgroup", chat=first)

    await boss.send("/bindgroup", chat=first)
    assert first.last_text().startswith("This group is already the campaign group.")
    await boss.send("/bindgroup", chat=second)
    assert second.last_text().startswith("“First” is the campaign group now. Make this group the campaign group")
    await boss.press("Keep “First”", chat=second)
    bound = await bound_group(bot)
    assert bound is not None and bound.chat_id == first.id, "asked, not moved yet"

    await boss.send("/bindgroup", chat=second)
    question, moving = boss.find_button("Make this the campaign group", chat=second)
    await boss.press("Make this the campaign group", chat=second)

    assert second.last_text().startswith("This group is now the campaign group")
    assert first.last_text() == (
        "This group is no longer the campaign group: the snapshots and reminders are posted in “Second” now."
    )
    bound = await bound_group(bot)
    assert bound is not None and bound.chat_id == second.id
    stale = await boss.press_data(moving, message=question)
    assert stale.answer == "This button has expired. Send /bindgroup again."


async def test_the_group_speaks_its_own_language(bot: Bot) -> None:
    """The group's language is the binding admin's, or the one named; what the bot posts there is in it."""
    boss = bot.tg.private_user("Boss", user_id=ADMIN_ID, language="en")
    group = bot.tg.group("双优活动群")
    group.add(boss)
    await boss.send("/bindgroup", chat=group)
    assert (await bound_group(bot)).language == "en"  # type: ignore[union-attr]

    await boss.send("/bindgroup zh", chat=group)
    assert group.last_text() == "今后我在本群使用中文发布消息。"
    assert (await bound_group(bot)).language == "zh_CN"  # type: ignore[union-attr]
    await boss.send("/bindgroup fr", chat=group)
    assert group.last_text().startswith("Send /bindgroup alone, or /bindgroup zh or /bindgroup en")
    assert (await bound_group(bot)).language == "zh_CN"  # type: ignore[union-attr]


async def test_staff_asking_bindgroup_in_private_is_refused(bot: Bot) -> None:
    carol = bot.tg.private_user("Carol")
    await make_member(bot.db, carol.id, "Carol")

    await carol.send("/bindgroup")

    assert carol.last_text() == "You can't use /bindgroup. Send /help to see the commands you can use."


async def test_a_group_hears_outsiders_answered_once_a_minute(bot: Bot) -> None:
    """Commands from people who are not members cannot make the bot fill the group, or spend its 20 messages a
    minute there; members are answered as ever."""
    home = await make_section(bot.db, "办公室")
    member = bot.tg.private_user("Member", language="en")
    await make_member(bot.db, member.id, "Member", section=home, language="en")
    stranger = bot.tg.private_user("Stranger", language="en")
    group = bot.tg.group("双优活动群")
    group.add(member)
    group.add(stranger)

    first = await stranger.send("/help", chat=group)
    again = [await stranger.send(text, chat=group) for text in ("/help", "/rate", "/myscore", "/help")]
    answered_member = await member.send("/help", chat=group)
    bot.clock.advance(dt.timedelta(minutes=1))
    later = await stranger.send("/help", chat=group)

    assert len(first.texts) == 1 and [sent.texts for sent in again] == [[], [], [], []]
    assert len(answered_member.texts) == 1
    assert len(later.texts) == 1


async def test_replies_past_a_groups_limit_go_through_the_outbox(bot: Bot) -> None:
    """Telegram takes 20 messages a minute in a group: the handler does not wait for the 21st's turn (holding its
    user), it leaves it to the outbox, which sends it at the group's pace."""
    home = await make_section(bot.db, "办公室")
    member = bot.tg.private_user("Member", language="en")
    await make_member(bot.db, member.id, "Member", section=home, language="en")
    group = bot.tg.group("双优活动群")
    group.add(member)

    for _ in range(23):
        await member.send("/help", chat=group)

    assert len(group.bot_messages()) == 20
    async with bot.db.transaction() as session:
        kept = (await session.exec(select(Reminder).where(Reminder.chat_id == group.id))).all()
    assert len(kept) == 3 and all(
        (reminder.payload or {}).get("text", "").startswith("<b>What you can do") for reminder in kept
    )
