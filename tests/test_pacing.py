"""The Pacer keeps the bot within Telegram's ~30 messages in any one second, even when some messages are late."""

from __future__ import annotations

import asyncio
import random

from bot.pacing import RATE, Pacer


async def test_no_second_holds_thirty_messages_even_when_some_go_late() -> None:
    pacer, moments = Pacer(RATE), []
    loop = asyncio.get_running_loop()
    for number in range(60):
        async with pacer:
            moments.append(loop.time())
        if number % 7 == 0:  # the sender was busy: the next message is asked for late
            await asyncio.sleep(random.uniform(0, 2 / RATE))
    busiest = max(sum(1 for moment in moments if start <= moment < start + 1.0) for start in moments)
    assert busiest <= 30  # Telegram refuses the 31st


async def test_messages_go_in_the_order_they_were_asked_for() -> None:
    pacer, order = Pacer(RATE), []

    async def send(number: int) -> None:
        async with pacer:
            order.append(number)

    senders = []
    for number in range(10):
        senders.append(asyncio.create_task(send(number)))
        await asyncio.sleep(0)
    await asyncio.gather(*senders)
    assert order == list(range(10))
