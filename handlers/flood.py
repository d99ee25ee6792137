"""Flood control: a user who sends updates faster than a person can is slowed down before any database work.

Each user has a bucket of `[bot] flood_burst` updates that refills at `flood_rate` a second (by the bot's clock).
An update that finds the bucket empty is dropped: the user is told once per flood to slow down, and the others,
whose updates wait behind the flood, lose no more than the microseconds it takes to drop it. Runs first (handler
group -10).

An update this process has seen already (a webhook's retry, a repeated poll) is dropped here at no cost; one seen
by another process, or before a restart, is dropped when it would change something (handlers.common.Intake).

Edits are dropped here too: Telegram sends an old message again when its sender edits it, and the bot acts on what
was sent, not on edits (an edited old /snapshot would otherwise post another snapshot).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from telegram import Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop, BaseHandler, TypeHandler, filters

from bot.context import BotContext
from bot.recent import Recent
from handlers.common import CURRENT_UPDATE, Intake

logger = logging.getLogger(__name__)

BURST = 30
RATE = 3.0
TRACKED_USERS = 10_000  # the least recently seen are forgotten first
GROUP = -10


@dataclass
class Bucket:
    tokens: float
    stamp: float
    warned: bool = False


class FloodGuard:
    def __init__(self, burst: int = BURST, rate: float = RATE) -> None:
        self.burst, self.rate = burst, rate
        self.buckets: Recent[int, Bucket] = Recent(TRACKED_USERS)

    def admit(self, user_id: int, now: float) -> tuple[bool, bool]:
        """(whether the update may go on, whether to tell the user to slow down now)."""
        bucket = self.buckets.get(user_id)
        if bucket is None:
            bucket = Bucket(float(self.burst), now)
            self.buckets.put(user_id, bucket)
        bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.stamp) * self.rate)
        bucket.stamp = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            bucket.warned = False
            return True, False
        warn, bucket.warned = not bucket.warned, True
        return False, warn


GUARD_KEY = "shuangyou.flood"


async def guard_update(update: Update, context: BotContext) -> None:
    if update.edited_message is not None or update.edited_channel_post is not None:
        raise ApplicationHandlerStop
    if not context.services.recent_updates.add(update.update_id, True):
        logger.info("Update %s was delivered again; it was handled already", update.update_id)
        raise ApplicationHandlerStop
    user, chat = update.effective_user, update.effective_chat
    private_command = chat is not None and chat.type == ChatType.PRIVATE and bool(filters.COMMAND.check_update(update))
    CURRENT_UPDATE.set(Intake(context.bot.id, update.update_id, user.id if user else None, private_command))
    if user is None:
        return
    if GUARD_KEY not in context.application.bot_data:
        config = context.settings.bot
        context.application.bot_data[GUARD_KEY] = FloodGuard(config.flood_burst, config.flood_rate)
    guard: FloodGuard = context.application.bot_data[GUARD_KEY]
    admitted, warn = guard.admit(user.id, context.now().timestamp())
    if admitted:
        return
    if warn:
        text = context.tr.gettext("Too many messages at once. Wait a few seconds, then try again.")
        try:
            if update.callback_query is not None:
                await update.callback_query.answer(text, show_alert=True)
            elif update.effective_chat is not None and update.effective_chat.type == "private":
                await context.bot.send_message(update.effective_chat.id, text)
        except TelegramError:
            pass  # the warning is a courtesy; the update is dropped either way
    raise ApplicationHandlerStop


def guard_handler() -> BaseHandler[Update, BotContext, None]:
    """Added in its own handler group before every feature's (bot/app.py)."""
    return TypeHandler(Update, guard_update)
