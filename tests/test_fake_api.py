"""The in-process Bot API answers like Telegram, refuses what Telegram refuses, and serves polling."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden
from telegram.ext import ExtBot

from bot.extbot import CampaignBot
from bot.fake_api import FakeBotApi
from tests.conftest import Bot


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """The transport does not depend on the database: SQLite is enough here."""
    return f"sqlite+aiosqlite:///{tmp_path / 'api.db'}"


async def test_unescaped_html_is_refused(bot: Bot) -> None:
    alice = bot.tg.private_user("Alice")

    with pytest.raises(BadRequest, match=r"(?i)unsupported start tag"):
        await bot.app.bot.send_message(alice.id, "<script>alert(1)</script>")
    with pytest.raises(BadRequest, match=r"(?i)unescaped"):
        await bot.app.bot.send_message(alice.id, "Tom & Jerry")


async def test_overlong_text_and_callback_data_are_refused(bot: Bot) -> None:
    alice = bot.tg.private_user("Alice")
    too_long = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="x" * 65)]])

    with pytest.raises(BadRequest, match=r"(?i)too long"):  # the bot's own send_message would split it (below)
        await ExtBot.send_message(bot.app.bot, alice.id, "x" * 4097)
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await bot.app.bot.send_message(alice.id, "hi", reply_markup=too_long)
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        # 22 Chinese characters are 66 bytes
        await bot.app.bot.send_message(
            alice.id, "hi", reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="评" * 22)]])
        )


async def test_the_bot_sends_a_text_too_long_for_one_message_in_parts_on_line_boundaries(bot: Bot) -> None:
    alice = bot.tg.private_user("Alice")
    lines = [f"{number}. " + "长" * 290 + " Tom &amp; <b>Jerry</b>" for number in range(1, 31)]
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Remove", callback_data="x:1")]])

    await bot.app.bot.send_message(alice.id, "\n".join(lines), reply_markup=keyboard)

    sent = alice.bot_messages()
    assert len(sent) == 3 and all(len(message.html) <= 4096 for message in sent)
    assert "\n".join(message.html for message in sent) == "\n".join(lines)
    assert [message.reply_markup is not None for message in sent] == [False, False, True]


async def test_an_edit_too_long_for_one_message_continues_in_new_messages_with_the_keyboard(bot: Bot) -> None:
    alice = bot.tg.private_user("Alice")
    first = await bot.app.bot.send_message(alice.id, "short")
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Remove", callback_data="x:1")]])

    await bot.app.bot.edit_message_text(
        "\n".join("x" * 300 for _ in range(20)), chat_id=alice.id, message_id=first.message_id, reply_markup=keyboard
    )

    sent = alice.bot_messages()
    assert len(sent) == 2 and sent[0].text.startswith("x" * 300) and sent[0].reply_markup is None
    assert sent[1].reply_markup is not None


async def test_edits_apply_and_identical_edits_are_refused(bot: Bot) -> None:
    alice = bot.tg.private_user("Alice")
    sent = await bot.app.bot.send_message(alice.id, "<b>one</b>")

    await bot.app.bot.edit_message_text("<i>two</i>", chat_id=alice.id, message_id=sent.message_id)

    assert alice.last_text() == "two"
    assert alice.last_message().edited
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.app.bot.edit_message_text("<i>two</i>", chat_id=alice.id, message_id=sent.message_id)


async def test_an_edit_left_unread_sends_what_edit_message_text_sends(bot: Bot) -> None:
    """bot/extbot.py: the handlers' edits skip parsing Telegram's answer; the request is the same, the bot's
    defaults (HTML) included, refusals are the same, and a text too long still continues in new messages."""
    alice = bot.tg.private_user("Alice")
    campaign_bot = bot.app.bot
    assert isinstance(campaign_bot, CampaignBot)
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Remove", callback_data="x:1")]])
    first = await bot.app.bot.send_message(alice.id, "one")
    second = await bot.app.bot.send_message(alice.id, "one")
    bot.api.calls.clear()

    await bot.app.bot.edit_message_text(
        "<b>two</b>", chat_id=alice.id, message_id=first.message_id, reply_markup=keyboard
    )
    await campaign_bot.edit_message_text_unread(
        "<b>two</b>", chat_id=alice.id, message_id=second.message_id, reply_markup=keyboard
    )

    read, unread = bot.api.calls_to("editMessageText")
    assert {**read.params, "message_id": 0} == {**unread.params, "message_id": 0}
    assert read.params["parse_mode"] == "HTML"
    assert alice.bot_messages()[1].text == "two" and alice.bot_messages()[1].reply_markup is not None
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await campaign_bot.edit_message_text_unread(
            "<b>two</b>", chat_id=alice.id, message_id=second.message_id, reply_markup=keyboard
        )
    await campaign_bot.edit_message_text_unread(
        "\n".join("x" * 300 for _ in range(20)), chat_id=alice.id, message_id=second.message_id
    )
    assert len(alice.bot_messages()) == 3


async def test_keyboards_can_be_replaced_and_messages_deleted(bot: Bot) -> None:
    alice = bot.tg.private_user("Alice")
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Yes", callback_data="y")]])
    sent = await bot.app.bot.send_message(alice.id, "Sure?", reply_markup=keyboard)
    assert alice.buttons() == [["Yes"]]

    await bot.app.bot.edit_message_reply_markup(chat_id=alice.id, message_id=sent.message_id, reply_markup=None)
    assert alice.buttons() == []

    await bot.app.bot.delete_message(alice.id, sent.message_id)
    assert alice.bot_messages() == []


async def test_files_are_kept(bot: Bot) -> None:
    alice = bot.tg.private_user("Alice")
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 100

    await bot.app.bot.send_photo(alice.id, png, caption="chart")
    await bot.app.bot.send_document(alice.id, b"a,b\n1,2\n", filename="scores.csv")

    photo, document = alice.bot_messages()
    assert photo.photo == png and photo.text == "chart"
    assert document.document == b"a,b\n1,2\n" and document.document_name == "scores.csv"


async def test_chats_and_members_are_known(bot: Bot) -> None:
    alice = bot.tg.private_user("Alice")
    group = bot.tg.group("Team")
    group.add(alice, status="administrator")

    chat = await bot.app.bot.get_chat(group.id)
    member = await bot.app.bot.get_chat_member(group.id, alice.id)

    assert (chat.title, chat.type) == ("Team", "group")
    assert member.status == "administrator"
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.app.bot.get_chat(-999)


async def test_every_call_is_recorded(bot: Bot) -> None:
    alice = bot.tg.private_user("Alice")

    await alice.send("/help")

    call = bot.api.calls_to("sendMessage")[-1]
    assert call.ok and call.params["chat_id"] == alice.id and call.params["parse_mode"] == "HTML"


async def test_faults_can_target_one_chat(bot: Bot) -> None:
    alice, bob = bot.tg.private_user("Alice"), bot.tg.private_user("Bob")
    bot.api.fail_next("sendMessage", blocked=True, chat_id=bob.id)

    await bot.app.bot.send_message(alice.id, "to Alice")
    with pytest.raises(Forbidden, match=r"(?i)blocked"):
        await bot.app.bot.send_message(bob.id, "to Bob")


def test_zero_retry_after_is_not_a_fault_telegram_sends() -> None:
    with pytest.raises(ValueError, match="at least 1 second"):
        FakeBotApi().fail_next("sendMessage", retry_after=0)


async def test_updates_arrive_by_long_polling(bot: Bot) -> None:
    """The same path `python -m bot run` takes: getUpdates, then the handlers."""
    alice = bot.tg.private_user("Alice")
    message = bot.api.record_user_message(
        alice.id, alice.user, "/help", entities=[{"type": "bot_command", "offset": 0, "length": 5}]
    )
    assert bot.app.updater is not None

    await bot.app.start()
    await bot.app.updater.start_polling(poll_interval=0, timeout=1)
    try:
        bot.api.push_update({"message": bot.api.message_dict(message)})
        for _ in range(100):
            if alice.bot_messages():
                break
            await asyncio.sleep(0.02)
    finally:
        await bot.app.updater.stop()
        await bot.app.stop()

    assert alice.last_text().startswith("What you can do here")
    assert bot.api.calls_to("getUpdates")


async def test_flood_limits_answer_429_with_retry_after() -> None:
    api = FakeBotApi(flood_limits=True)
    users: list[dict[str, Any]] = [{"id": 7000 + n, "is_bot": False, "first_name": f"U{n}"} for n in range(40)]
    for user in users:
        api.ensure_user(user)
    api.ensure_group(-100_1, "Group")

    def send(chat_id: int) -> Awaitable[tuple[int, bytes]]:
        return api.handle("sendMessage", {"chat_id": chat_id, "text": "hi"}, {})

    assert [(await send(7000))[0] for _ in range(4)] == [200, 200, 200, 429]
    status, body = await send(7000)
    assert status == 429 and json.loads(body)["parameters"]["retry_after"] >= 1
    statuses = [(await send(int(user["id"])))[0] for user in users[1:]]
    assert statuses.count(200) == 27 and statuses[27:] == [429] * 12  # 30 a second in all
    assert api.flood is not None and api.flood.refused == 14
