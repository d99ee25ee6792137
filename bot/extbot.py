"""The bot object: python-telegram-bot's ExtBot, following groups that became supergroups, sending texts too long
for one message as several (bot/message_parts.py), and naming the method Telegram refused."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import InlineKeyboardMarkup, Message
from telegram._utils.defaultvalue import DEFAULT_NONE
from telegram._utils.types import JSONDict
from telegram.error import BadRequest, ChatMigrated
from telegram.ext import ExtBot

from bot.message_parts import split_message

logger = logging.getLogger(__name__)

MigrationHook = Callable[[int, int], Awaitable[None]]


class RefusedRequest(BadRequest):
    """Telegram's "bad request", with the method it refused (`sendMessage`, `editMessageText`, ...)."""

    __slots__ = ("method",)

    def __init__(self, message: str, method: str) -> None:
        super().__init__(message)
        self.method = method


class CampaignBot(ExtBot[None]):
    """When Telegram answers "group chat was upgraded to a supergroup chat", the call is made again on the new
    chat id and the migration hooks learn of the move, so that no feature has to handle it on its own."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._migration_hooks: list[MigrationHook] = []

    def on_chat_migrated(self, hook: MigrationHook) -> None:
        """`await hook(old_chat_id, new_chat_id)` runs whenever a chat is found to have moved."""
        self._migration_hooks.append(hook)

    async def send_message(self, chat_id: Any, text: str, *args: Any, **kwargs: Any) -> Message:
        """A text too long for one message goes as several; the keyboard comes with the last."""
        *first, last = split_message(text)
        if first:
            without_keyboard = {key: value for key, value in kwargs.items() if key != "reply_markup"}
            for part in first:
                await super().send_message(chat_id, part, *args, **without_keyboard)
        return await super().send_message(chat_id, last, *args, **kwargs)

    async def edit_message_text(self, text: str, *args: Any, **kwargs: Any) -> Message | bool:
        """An edit too long for one message: the message shows the first part, the rest follows as new messages,
        the keyboard with the last (a list's actions stay reachable)."""
        first, *rest = split_message(text)
        chat_id = kwargs.get("chat_id")
        if not rest or chat_id is None:
            return await super().edit_message_text(text if not rest else first, *args, **kwargs)
        markup: InlineKeyboardMarkup | None = kwargs.pop("reply_markup", None)
        await super().edit_message_text(first, *args, **kwargs)
        for part in rest[:-1]:
            await self.send_message(chat_id, part)
        return await self.send_message(chat_id, rest[-1], reply_markup=markup)

    async def edit_message_text_unread(
        self, text: str, *, chat_id: int, message_id: int, reply_markup: InlineKeyboardMarkup | None = None
    ) -> None:
        """`edit_message_text` for a caller that does not use the edited message. Telegram answers with the whole
        message, keyboard included, and python-telegram-bot would parse it into a Message: a form's 26 buttons
        cost as much to read back as to build, on every press (bench/README.md). The request is the same one
        `edit_message_text` sends, with the bot's defaults (parse mode, link previews) put in by `_post`."""
        if len(split_message(text)) > 1:
            await self.edit_message_text(text, chat_id=chat_id, message_id=message_id, reply_markup=reply_markup)
            return
        data: JSONDict = {
            "text": text,
            "chat_id": chat_id,
            "message_id": message_id,
            "parse_mode": DEFAULT_NONE,
            "link_preview_options": DEFAULT_NONE,
            "reply_markup": reply_markup,
        }
        await self._post("editMessageText", data)

    async def _do_post(self, endpoint: str, data: JSONDict, **timeouts: Any) -> bool | JSONDict | list[JSONDict]:
        try:
            return await super()._do_post(endpoint, data, **timeouts)
        except BadRequest as error:
            if isinstance(error, RefusedRequest):
                raise
            raise RefusedRequest(error.message, endpoint) from error
        except ChatMigrated as error:
            old_chat_id = data.get("chat_id")
            if not isinstance(old_chat_id, int | str):
                raise
            new_chat_id = int(error.new_chat_id)
            logger.info("Chat %s became the supergroup %s; following it", old_chat_id, new_chat_id)
            for hook in self._migration_hooks:
                await hook(int(old_chat_id), new_chat_id)
            return await super()._do_post(endpoint, {**data, "chat_id": new_chat_id}, **timeouts)
