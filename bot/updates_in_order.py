"""Updates handled side by side, each user's in the order they came.

python-telegram-bot hands every update to the processor as a task of its own. Updates of different users (or, for
updates without a user, chats) run concurrently, so one user or group never waits for another's; one user's
updates run one after the other, so a typed answer is never overtaken by the press that came before it. An update
waiting for its user's turn holds one of the MAX_CONCURRENT slots; the slots are many, and a flood from one user is
dropped by handlers.flood as each of its updates comes up, in microseconds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

MAX_CONCURRENT = 1024


class UpdatesInOrderPerUser(BaseUpdateProcessor):
    def __init__(self, max_concurrent_updates: int = MAX_CONCURRENT) -> None:
        super().__init__(max_concurrent_updates)
        self._turns: dict[int, tuple[asyncio.Lock, int]] = {}  # the lock, and how many updates hold or want it

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = _key(update)
        if key is None:
            await coroutine
            return
        lock, users = self._turns.get(key, (None, 0))
        lock = lock or asyncio.Lock()
        self._turns[key] = (lock, users + 1)
        try:
            async with lock:
                await coroutine
        finally:
            lock, users = self._turns[key]
            if users <= 1:
                del self._turns[key]
            else:
                self._turns[key] = (lock, users - 1)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""


def _key(update: object) -> int | None:
    if not isinstance(update, Update):
        return None
    if update.effective_user is not None:
        return update.effective_user.id
    return update.effective_chat.id if update.effective_chat is not None else None
