"""The terminal console: typing as users, numbered buttons, switching users and chats."""

from __future__ import annotations

import io
import os
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import ApplicationHandlerStop, CallbackQueryHandler, CommandHandler

from bot.config import BotSettings, Settings
from bot.console import Console, line_editing, run_console
from bot.context import BotContext
from tests.cli import OWN_VARIABLES, ROOT
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


async def test_run_console_does_not_keep_a_history_of_piped_lines(database_url: str, tmp_path: Path) -> None:
    settings = Settings(database_url=database_url, bot=BotSettings(default_language="en"))
    history = tmp_path / "history"

    await run_console(settings, source=io.StringIO("/help\n"), out=io.StringIO(), history=history)

    assert not history.exists()


def test_line_editing_loads_the_history_and_keeps_its_last_lines(tmp_path: Path) -> None:
    readline = pytest.importorskip("readline")
    history = tmp_path / "history"
    history.write_text("/start\n:user Bob\n", encoding="utf-8")

    try:
        with line_editing(history, length=3):
            loaded = [readline.get_history_item(n) for n in range(1, readline.get_current_history_length() + 1)]
            for line in ("/help", "/rate", ":quit"):
                readline.add_history(line)  # as input() does with each line typed
    finally:
        readline.clear_history()

    assert loaded == ["/start", ":user Bob"]
    assert history.read_text(encoding="utf-8").splitlines() == ["/help", "/rate", ":quit"]


def test_line_editing_starts_a_history_where_there_is_none(tmp_path: Path) -> None:
    readline = pytest.importorskip("readline")
    history = tmp_path / "history"
    readline.add_history("a line of an earlier console in this process")

    try:
        with line_editing(history):
            assert readline.get_current_history_length() == 0
            readline.add_history("/start")
    finally:
        readline.clear_history()

    assert history.read_text(encoding="utf-8").splitlines() == ["/start"]


UP = b"\x1b[A"
CTRL_C = b"\x03"


def test_at_a_terminal_the_arrow_key_brings_back_a_line_and_ctrl_c_leaves_keeping_the_history(
    tmp_path: Path,
) -> None:
    """`python -m bot console` on a pseudo-terminal, as a person at a terminal uses it."""
    pytest.importorskip("readline")
    pty = pytest.importorskip("pty")
    termios = pytest.importorskip("termios")
    (tmp_path / "config.toml").write_text((ROOT / "config.toml").read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / ".shuangyou_history").write_text("/help\n:users\n", encoding="utf-8")  # from an earlier run
    terminal, console_side = pty.openpty()
    process = _console_on(console_side, home=tmp_path)
    os.close(console_side)
    try:
        seen = _read_until(terminal, b"You \xe2\x80\xba ")  # the prompt: "You › "
        os.write(terminal, UP + UP + b"\r")
        seen += _read_until(terminal, "你可以在这里做的事".encode())  # /help's answer
        seen += _read_until(terminal, b"You \xe2\x80\xba ")
        os.write(terminal, CTRL_C)
        assert process.wait(timeout=30) == 0, seen.decode(errors="replace")
        modes = termios.tcgetattr(terminal)
    finally:
        if process.poll() is None:
            process.kill()
        os.close(terminal)

    assert (tmp_path / ".shuangyou_history").read_text(encoding="utf-8").splitlines() == ["/help", ":users", "/help"]
    assert modes[3] & termios.ECHO and modes[3] & termios.ICANON, "the terminal was left as readline set it"


def _console_on(terminal: int, *, home: Path) -> subprocess.Popen[bytes]:
    """The console in its own session, with `terminal` as its controlling terminal (so that Ctrl-C interrupts it)."""
    import fcntl
    import termios

    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("SHUANGYOU_") and key not in OWN_VARIABLES
    }
    environment.update(PYTHONPATH=str(ROOT), HOME=str(home), TERM="xterm")

    def take_the_terminal() -> None:
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    return subprocess.Popen(
        [sys.executable, "-m", "bot", "console"],
        stdin=terminal, stdout=terminal, stderr=terminal, cwd=home, env=environment, preexec_fn=take_the_terminal,
    )  # fmt: skip


def _read_until(terminal: int, marker: bytes, timeout: float = 60) -> bytes:
    """What the console writes to the terminal, up to and including `marker`."""
    seen, deadline = b"", time.monotonic() + timeout
    while marker not in seen:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([terminal], [], [], remaining)[0]:
            raise AssertionError(f"no {marker!r} on the terminal; it shows {seen.decode(errors='replace')!r}")
        seen += os.read(terminal, 65536)
    return seen
