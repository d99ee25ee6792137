"""The terminal console: typing as users, numbered buttons, switching users and chats."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import ApplicationHandlerStop, CallbackQueryHandler, CommandHandler

from bot.config import BotSettings, Settings
from bot.console import Console, run_console
from bot.context import BotContext
from tests.conftest import Bot


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'console.db'}"


async def send_choice(update: Update, context: BotContext) -> None:
    """A two-button message, standing in for the features' keyboards (the console must press any of them)."""
    assert update.effective_message is not None
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("Tea", callback_data="drink:tea"),
                InlineKeyboardButton("Coffee", callback_data="drink:coffee"),
            ]
        ]
    )
    await update.effective_message.reply_text("Tea or coffee?", reply_markup=keyboard)


async def take_choice(update: Update, context: BotContext) -> None:
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer("Noted")
    await query.edit_message_text(f"You chose {query.data.split(':')[1]}.")
    raise ApplicationHandlerStop  # the bot's own handlers would take it for a stale button and answer it again


def console_for(bot: Bot) -> tuple[Console, io.StringIO]:
    bot.app.add_handler(CommandHandler("drink", send_choice), group=-5)
    bot.app.add_handler(CallbackQueryHandler(take_choice, pattern="^drink:"), group=-5)
    out = io.StringIO()
    return Console(bot.app, bot.api, out, echo=True), out


async def play(console: Console, *lines: str) -> None:
    for line in lines:
        assert await console.handle_line(line)


async def test_buttons_are_numbered_and_pressed_by_number(bot: Bot) -> None:
    console, out = console_for(bot)

    await play(console, "/drink", ":2")

    text = out.getvalue()
    assert "bot › Tea or coffee?\n      [1] Tea  [2] Coffee" in text
    assert "You › :2\n" in text
    assert "bot (edited) › You chose coffee." in text
    assert "ⓘ Noted" in text


async def test_buttons_are_pressed_by_label(bot: Bot) -> None:
    console, out = console_for(bot)

    await play(console, "/drink", ":press Tea")

    assert "You chose tea." in out.getvalue()


async def test_pressing_a_button_that_is_not_there_says_so(bot: Bot) -> None:
    console, out = console_for(bot)

    await play(console, "/drink", ":7", ":press Milk")

    assert "(there is no button [7] on the last message here)" in out.getvalue()
    assert "(no button 'Milk' here)" in out.getvalue()


async def test_switching_users_and_chats(bot: Bot) -> None:
    console, out = console_for(bot)

    await play(console, ":user Bob lang=en", "/start", ":group Team", "/start", ":private", ":users")

    text = out.getvalue()
    assert "(you are now Bob, a new Telegram user with id" in text
    assert "Bob › /start\nbot › Welcome to Shuangyou" in text
    assert "Bob in Team › /start\nbot › Let's talk in private" in text
    assert "[1] Open a private chat with me → https://t.me/ShuangyouBot" in text
    assert "\n * Bob (id" in text and "\n   You (id" in text


async def test_messages_to_other_chats_are_labelled(bot: Bot) -> None:
    console, out = console_for(bot)
    await play(console, ":user Bob lang=en")

    await bot.app.bot.send_message(console.state.users["you"].id, "a reminder for you")

    assert "bot → You › a reminder for you" in out.getvalue()


async def test_unknown_console_command_points_to_help(bot: Bot) -> None:
    console, out = console_for(bot)

    await play(console, ":dance", ":help")

    assert "(unknown console command :dance; :help lists them)" in out.getvalue()
    assert ":user NAME [id=N] [lang=en|zh]" in out.getvalue()


async def test_quit_stops(bot: Bot) -> None:
    console, _ = console_for(bot)

    assert not await console.handle_line(":quit")


async def test_run_console_reads_lines_until_the_end(database_url: str) -> None:
    settings = Settings(database_url=database_url, bot=BotSettings(default_language="en"))
    out = io.StringIO()

    await run_console(settings, source=io.StringIO("/start\nhello\n"), out=out)

    text = out.getvalue()
    assert "You › /start\nbot › Welcome to Shuangyou" in text
    assert "You › hello\nbot › I work with commands and buttons." in text
