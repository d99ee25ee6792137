"""The update processor: different users' updates run side by side, one user's in the order they came."""

from __future__ import annotations

import asyncio
from typing import Any

from telegram import Update

from bot.updates_in_order import UpdatesInOrderPerUser


def message_from(user_id: int, update_id: int) -> Update:
    user = {"id": user_id, "is_bot": False, "first_name": f"User {user_id}"}
    message: dict[str, Any] = {"message_id": update_id, "date": 0, "chat": {"id": user_id, "type": "private"},
                               "from": user, "text": "hi"}  # fmt: skip
    return Update.de_json({"update_id": update_id, "message": message}, None)


async def test_a_slow_user_holds_up_only_their_own_next_update() -> None:
    processor = UpdatesInOrderPerUser()
    done: list[str] = []
    release = asyncio.Event()

    async def slow() -> None:
        await release.wait()
        done.append("ann first")

    async def record(what: str) -> None:
        done.append(what)

    ann_first = asyncio.create_task(processor.process_update(message_from(1, 1), slow()))
    ann_second = asyncio.create_task(processor.process_update(message_from(1, 2), record("ann second")))
    ben = asyncio.create_task(processor.process_update(message_from(2, 3), record("ben")))
    await asyncio.wait_for(ben, 1)
    assert done == ["ben"], "Ben is answered while Ann's first update is still at work"
    assert not ann_second.done(), "Ann's second update waits for her first"

    release.set()
    await asyncio.wait_for(asyncio.gather(ann_first, ann_second), 1)
    assert done == ["ben", "ann first", "ann second"]
    assert processor._turns == {}, "nothing is kept for users with no update in flight"
