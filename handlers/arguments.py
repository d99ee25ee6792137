"""Text typed after a command that takes none (`/sections 办公室`): the command answers as usual, then the bot says
that the text was not used, so that nobody thinks it filtered or chose something.

Its handler runs in a group after every feature's (bot/app.py): by then the command's answer is out, and the
member's chosen language is known (bot.context keeps it for the update).
"""

from __future__ import annotations

from collections.abc import Iterable

from telegram import Update
from telegram.ext import BaseHandler, MessageHandler, filters

from bot.access import CommandSpec
from bot.context import BotContext
from handlers.common import Replies
from handlers.fallback import command_name

GROUP = 1
SHOWN = 40  # of the unused text, in the note


def unused_text(text: str, specs: Iterable[CommandSpec]) -> tuple[str, str] | None:
    """(command, the text after it) when `text` is a command of ours that takes nothing after it, with text after."""
    parts = text.split(maxsplit=1)
    if not parts:
        return None
    command, rest = parts[0], parts[1:]
    name = command_name(command).removeprefix("/").lower()
    spec = next((spec for spec in specs if spec.name == name), None)
    unused = " ".join(rest[0].split()) if rest else ""
    if spec is None or spec.takes_arguments or not unused:
        return None
    return name, unused


async def note_unused_arguments(update: Update, context: BotContext) -> None:
    """After `/command text` in a private chat, when the command takes nothing after it."""
    message = update.effective_message
    found = unused_text(message.text, context.services.commands) if message and message.text else None
    if found is None:
        return
    name, unused = found
    replies = Replies()
    shown = unused if len(unused) <= SHOWN else unused[: SHOWN - 1] + "…"
    replies.reply(
        context.tr.gettext(
            "(“{text}” after /{command} was not used: /{command} takes nothing after it.)", text=shown, command=name
        )
    )
    await replies.deliver(update, context)


def handler() -> BaseHandler[Update, BotContext, None]:
    return MessageHandler(
        filters.UpdateType.MESSAGE & filters.ChatType.PRIVATE & filters.COMMAND, note_unused_arguments
    )
