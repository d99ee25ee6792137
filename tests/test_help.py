"""/start, /help, and what the bot says to everything else."""

from __future__ import annotations

from bot.access import Audience
from storage.models import MemberStatus, Role
from tests.conftest import ADMIN_ID, Bot
from tests.factories import make_member, make_section


async def test_user_with_other_language_gets_configured_default(bot: Bot) -> None:
    hans = bot.tg.private_user("Hans", language="de")

    await hans.send("/help")

    assert "你可以在这里做的事" in hans.last_text()


async def test_newcomer_help_lists_start_and_help(bot: Bot) -> None:
    alice = bot.tg.private_user("Alice")

    await alice.send("/help")

    lines = alice.last_text().splitlines()
    assert lines[0] == "What you can do here"
    assert lines[1:4] == [
        "/start — Welcome and your next step",
        "/help — What you can do here",
        "/cancel — Stop what you are doing",
    ]
    assert "Send /start to register" in alice.last_text()


async def test_an_industry_rater_is_told_they_rate_sections(bot: Bot) -> None:
    rater = bot.tg.private_user("Rater")
    await make_member(bot.db, rater.id, "Rater", role=Role.INDUSTRY, section=None, language="en")

    await rater.send("/help")

    assert "/rate — Rate a section or station" in rater.last_text().splitlines()


async def test_unknown_command_in_private_points_to_help(bot: Bot) -> None:
    alice = bot.tg.private_user("Alice")

    await alice.send("/frobnicate now")

    assert alice.last_text() == "I don't know the command /frobnicate. Send /help to see the commands you can use."


async def test_huge_unknown_command_gets_a_short_reply(bot: Bot) -> None:
    alice = bot.tg.private_user("Alice")

    await alice.send("/" + "x" * 4000)

    assert len(alice.last_text()) < 200


async def test_plain_text_in_private_points_to_help(bot: Bot) -> None:
    alice = bot.tg.private_user("Alice")

    sent = await alice.send("hello <b>bot</b>")

    assert sent.texts == ["I work with commands and buttons. Send /help to see what you can do."]


async def test_sticker_in_private_points_to_help(bot: Bot) -> None:
    alice = bot.tg.private_user("Alice")
    sticker = {"file_id": "s1", "file_unique_id": "u1", "width": 512, "height": 512, "is_animated": False,
               "is_video": False, "type": "regular"}  # fmt: skip

    sent = await alice.send_update("message", {"sticker": sticker})

    assert sent.texts == ["I work with commands and buttons. Send /help to see what you can do."]


async def test_start_in_group_points_to_private_chat(bot: Bot) -> None:
    alice = bot.tg.private_user("Alice")
    group = bot.tg.group("Service excellence")
    group.add(alice)

    sent = await alice.send("/start", chat=group)

    assert sent.texts == ["Let's talk in private: registration and ratings are never done in the group."]
    button = sent.messages[0].button_rows()[0][0]
    assert button["url"] == "https://t.me/ShuangyouBot"


async def test_help_in_group_lists_group_commands(bot: Bot) -> None:
    alice = bot.tg.private_user("Alice")
    group = bot.tg.group()
    group.add(alice)

    await alice.send("/help@ShuangyouBot", chat=group)

    assert "/help — What you can do here" in group.last_text()
    assert "in a private chat with me" in group.last_text()


async def test_group_chatter_and_other_bots_commands_are_ignored(bot: Bot) -> None:
    alice = bot.tg.private_user("Alice")
    group = bot.tg.group()
    group.add(alice)

    first = await alice.send("good morning everyone", chat=group)
    second = await alice.send("/weather", chat=group)
    third = await alice.send("/weather@OtherBot", chat=group)

    assert first.messages == second.messages == third.messages == []


async def test_unknown_command_addressed_to_the_bot_in_group_is_answered(bot: Bot) -> None:
    alice = bot.tg.private_user("Alice")
    group = bot.tg.group()
    group.add(alice)

    sent = await alice.send("/weather@ShuangyouBot", chat=group)

    assert sent.texts == ["I don't know the command /weather. Send /help to see the commands you can use."]


async def test_menus_are_set_at_start_in_each_language(bot: Bot) -> None:
    assert bot.api.commands_for("all_private_chats", "en") == ["start", "help"]
    assert bot.api.commands_for("all_private_chats", "zh") == ["start", "help"]
    assert bot.api.commands_for("all_private_chats") == ["start", "help"]
    assert bot.api.commands_for("all_group_chats", "en") == [
        *("start", "help", "sections", "commitments", "rate", "ranking"),
    ]
    assert bot.api.commands_for("all_chat_administrators", "en") == [
        *("start", "help", "sections", "bindgroup", "commitments", "rate", "ranking"),
    ]
    descriptions = {
        (key, language): [command["description"] for command in commands]
        for (key, language), commands in bot.api.commands.items()
    }
    assert descriptions[("all_private_chats", "zh")] == ["欢迎信息和下一步", "你可以在这里做的事"]
    assert descriptions[("all_private_chats", "")] == ["欢迎信息和下一步", "你可以在这里做的事"]
    assert descriptions[("all_private_chats", "en")] == ["Welcome and your next step", "What you can do here"]


def test_audience_of_rejected_member_is_outsider() -> None:
    from bot.access import audience_of
    from storage.models import Member

    rejected = Member(telegram_id=1, display_name="x", role=Role.STAFF, status=MemberStatus.REJECTED)
    assert audience_of(rejected, 1, ()) == Audience.OUTSIDER
    assert audience_of(rejected, 1, (1,)) == Audience.ADMIN


async def test_button_from_an_old_or_forged_message_says_it_expired(bot: Bot) -> None:
    alice = bot.tg.private_user("Alice")
    await alice.send("/help")

    sent = await alice.press_data("approve:1:999", message=alice.last_message())

    assert sent.answer == "This button has expired. Send /help to start again."
    assert sent.messages == []


async def test_edited_message_is_not_answered_again(bot: Bot) -> None:
    alice = bot.tg.private_user("Alice")
    message = bot.api.record_user_message(alice.id, alice.user, "/frobnicate")
    edited = {**bot.api.message_dict(message), "edit_date": message.date + 5}

    await bot.tg.deliver({"edited_message": edited})

    assert alice.bot_messages() == []


async def test_commands_about_ones_own_section_are_offered_to_those_in_one(bot: Bot) -> None:
    office = await make_section(bot.db, "办公室")
    boss = bot.tg.private_user("Boss", user_id=ADMIN_ID)
    await boss.send("/start")
    await boss.send("/help")
    assert "/myscore" not in boss.last_text()
    assert "/ratinglink — A section's review link and QR code, to print" in boss.last_text()

    other = bot.tg.private_user("Other", user_id=ADMIN_ID + 1)
    await make_member(bot.db, other.id, "Other", role=Role.ADMIN, language="en")
    await boss.send("/members Other")
    await boss.press("Other · — · administrator")
    await boss.press("Move to another section")
    await boss.press("办公室")

    assert "myscore" in bot.api.commands_for("chat", chat_id=other.id), "in a section now: the menu follows"
    await other.send("/help")
    assert "/myscore — Your score and your section's" in other.last_text()
    assert office.id is not None
