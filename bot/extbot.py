"""The bot object: python-telegram-bot's ExtBot, following groups that became supergroups."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from telegram._utils.types import JSONDict
from telegram.error import ChatMigrated
from telegram.ext import ExtBot

logger = logging.getLogger(__name__)

MigrationHook = Callable[[int, int], Awaitable[None]]


class CampaignBot(ExtBot[None]):
    """When Telegram answers "group chat was upgraded to a supergroup chat", the call is made again on the new
    chat id and the migration hooks learn of the move, so that no feature has to handle it on its own."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._migration_hooks: list[MigrationHook] = []

    def on_chat_migrated(self, hook: MigrationHook) -> None:
        """`await hook(old_chat_id, new_chat_id)` runs whenever a chat is found to have moved."""
        self._migration_hooks.append(hook)

    async def _do_post(self, endpoint: str, data: JSONDict, **timeouts: Any) -> bool | JSONDict | list[JSONDict]:
        try:
            return await super()._do_post(endpoint, data, **timeouts)
        except ChatMigrated as error:
            old_chat_id = data.get("chat_id")
            if not isinstance(old_chat_id, int | str):
                raise
            new_chat_id = int(error.new_chat_id)
            logger.info("Chat %s became the supergroup %s; following it", old_chat_id, new_chat_id)
            for hook in self._migration_hooks:
                await hook(int(old_chat_id), new_chat_id)
            return await super()._do_post(endpoint, {**data, "chat_id": new_chat_id}, **timeouts)
