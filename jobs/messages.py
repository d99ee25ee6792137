"""What the outbox sends: a chat, a text and its buttons, composed from the database at sending time."""

from __future__ import annotations

from dataclasses import dataclass

from telegram import BotCommand, InlineKeyboardMarkup


@dataclass(frozen=True)
class Outgoing:
    chat_id: int
    text: str
    markup: InlineKeyboardMarkup | None
    photo: bytes | None = None  # sent as a picture with the text as its caption
    menu: list[BotCommand] | None = None  # not a message: the command menu of the (private) chat, set
