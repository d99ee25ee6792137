"""Pacing what the bot sends to Telegram's overall limit of about 30 messages in any one second.

AIORateLimiter's default is a bucket of 30 that lets 30 go at once and 30 a second more: up to 60 in a second after
a burst, hence 429s, each of which stops every request for retry_after + 0.1 s. A bucket of one (one message each
1/29 s) never makes 30 in a second, but every wake-up of the event loop comes a little late and the lateness adds
up: a fan-out reached 93 % of the limit. The Pacer keeps messages on a grid of 1/29 s instead (the generic cell
rate algorithm): a message that comes up to TOLERANCE late does not push the ones after it, so the long-run rate is
the full 29 a second, and any 31 messages in a row still span more than a second.
"""

from __future__ import annotations

import asyncio

from aiolimiter import AsyncLimiter
from telegram import Bot
from telegram.ext import AIORateLimiter

RATE = 29.0  # messages a second, overall
TOLERANCE = 0.25  # of the interval: how early a message may go to make up for the lateness of the one before


class Pacer(AsyncLimiter):
    """One acquisition each 1/rate seconds on a fixed grid, in the order they were asked for."""

    __slots__ = ("_due", "_interval", "_tolerance", "_turn")

    def __init__(self, rate: float, tolerance: float = TOLERANCE) -> None:
        super().__init__(1, 1 / rate)
        self._interval = 1 / rate
        self._tolerance = tolerance * self._interval
        self._due = 0.0  # when the next message is due on the grid (the event loop's clock)
        self._turn = asyncio.Lock()

    async def acquire(self, amount: float = 1) -> None:
        async with self._turn:
            loop = asyncio.get_running_loop()
            wait = self._due - self._tolerance - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            self._due = max(loop.time(), self._due) + self._interval


class PacedRateLimiter(AIORateLimiter):
    """AIORateLimiter (20 a minute to one group, retries after a 429) with the overall limit kept by a Pacer."""

    def __init__(self, *, max_retries: int, rate: float = RATE) -> None:
        super().__init__(overall_max_rate=1, overall_time_period=1 / rate, max_retries=max_retries)
        self._base_limiter = Pacer(rate)

    def group_has_room(self, chat_id: int) -> bool:
        """Whether a message to this group would go out now rather than wait for the group's 20 a minute (reads
        AIORateLimiter's own limiter of the group, which it makes on the group's first message)."""
        limiter = self._group_limiters.get(chat_id)
        return limiter is None or limiter.has_capacity()


def group_has_room(bot: Bot, chat_id: int) -> bool:
    """See PacedRateLimiter.group_has_room; a bot that does not pace itself (tests, bench) always has room."""
    limiter = getattr(bot, "rate_limiter", None)
    return not isinstance(limiter, PacedRateLimiter) or limiter.group_has_room(chat_id)
