"""Resident memory of a running bot with 10,000 members and 1 M ratings (by default), after a /ranking and a snapshot.

A real `python -m bot run` process on a working copy of the built database, talking to the in-process Bot API over
HTTP (bench.startup's harness): it is driven by pushing updates into the FakeBotApi (a leader sends /ranking, the
admin sends /snapshot, which posts the table and the chart to the campaign group), and VmRSS / VmHWM are read from
/proc/<pid>/status when it listens, after the /ranking, and after the snapshot's chart has been sent. Why: the bot is
meant to run for months on a small server; the target is under 150 MB resident.

    python -m bench.memory [--backend sqlite|postgresql|both] [--size 1m]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path
from typing import Any

from bench import data
from bench.common import backend_parser, chosen_backends, load_note
from bench.startup import BotProcess, WatchedApi, bot_process

TARGET_MB = 150.0
ANSWER_TIMEOUT = 900.0  # a snapshot of 10,000 members' boards can take minutes before the fix in /tmp/bench-fixes
USERS = {
    data.LEADER_TELEGRAM_ID: {"id": data.LEADER_TELEGRAM_ID, "is_bot": False, "first_name": "Leader"},
    data.ADMIN_TELEGRAM_ID: {"id": data.ADMIN_TELEGRAM_ID, "is_bot": False, "first_name": "Admin"},
}


def memory_kb(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a process, in kB."""
    fields: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in {"VmRSS", "VmHWM"}:
            fields[name] = int(value.split()[0])
    return fields


def prepared_api() -> WatchedApi:
    api = WatchedApi()
    for user in USERS.values():
        api.ensure_user(dict(user))
    api.ensure_group(data.GROUP_CHAT_ID, data.GROUP_TITLE)
    return api


def push_command(api: WatchedApi, user_id: int, text: str) -> None:
    """A user types a command in private, as Telegram would deliver it to getUpdates."""
    user: dict[str, Any] = USERS[user_id]
    entities = [{"type": "bot_command", "offset": 0, "length": len(text)}]
    message = api.record_user_message(user_id, user, text, entities=entities)
    api.push_update({"message": api.message_dict(message)})


async def wait_for(api: WatchedApi, method: str, chat_id: int, before: int) -> float:
    """Waits until the bot has called `method` for `chat_id` more than `before` times; returns the seconds waited."""
    started = time.perf_counter()
    while sum(1 for call in api.calls_to(method) if int(call.params.get("chat_id", 0)) == chat_id) <= before:
        if time.perf_counter() - started > ANSWER_TIMEOUT:
            raise TimeoutError(f"no {method} to {chat_id} within {ANSWER_TIMEOUT:.0f} s")
        await asyncio.sleep(0.05)
    return time.perf_counter() - started


def sent_count(api: WatchedApi, method: str, chat_id: int) -> int:
    return sum(1 for call in api.calls_to(method) if int(call.params.get("chat_id", 0)) == chat_id)


async def drive(bot: BotProcess) -> list[tuple[str, dict[str, int], float]]:
    """Listening → /ranking → /snapshot (its chart sent): the memory after each, and how long each took."""
    api, pid = bot.api, bot.process.pid
    took = await bot.ready()
    readings = [("listening", memory_kb(pid), took)]
    await asyncio.sleep(3)  # the first sweeps (reminders, outbox) run 1–2 s after start
    readings.append(("idle 3 s later", memory_kb(pid), 0.0))
    before = sent_count(api, "sendMessage", data.LEADER_TELEGRAM_ID)
    push_command(api, data.LEADER_TELEGRAM_ID, "/ranking")
    waited = await wait_for(api, "sendMessage", data.LEADER_TELEGRAM_ID, before)
    readings.append(("after /ranking", memory_kb(pid), waited))
    before = sent_count(api, "sendPhoto", data.GROUP_CHAT_ID)
    push_command(api, data.ADMIN_TELEGRAM_ID, "/snapshot")
    waited = await wait_for(api, "sendPhoto", data.GROUP_CHAT_ID, before)
    readings.append(("after /snapshot (chart sent)", memory_kb(pid), waited))
    return readings


async def measure(backend: str, size: int, server: data.CachedPostgresServer | None) -> None:
    built = await data.build(backend, size, server)
    url = await data.working_copy(built, server, f"memory_{backend}")
    try:
        async with bot_process(url, prepared_api()) as bot:
            readings = await drive(bot)
    finally:
        await data.drop_copy(url, server)
    problems = bot.problems()
    print(f"\n{backend}, {data.size_label(size)} ratings, 10,000 members")
    print(f"{'moment':<30} {'VmRSS':>9} {'VmHWM':>9} {'took':>9}  target < {TARGET_MB:g} MB")
    for moment, kb, seconds in readings:
        verdict = "met" if kb["VmHWM"] / 1024 < TARGET_MB else "MISSED"
        print(f"{moment:<30} {kb['VmRSS'] / 1024:>6.1f} MB {kb['VmHWM'] / 1024:>6.1f} MB {seconds:>7.2f} s  {verdict}")
    print(f"the bot logged {len(problems)} warnings and errors" + "".join(f"\n  {line}" for line in problems[:5]))


async def main_async(args: argparse.Namespace) -> None:
    backends = chosen_backends(args.backend)
    print(f"machine: {load_note()}")
    async with data.maybe_postgres(backends) as server:
        for backend in backends:
            await measure(backend, data.SIZES[args.size], server)


def main() -> None:
    parser = backend_parser("Resident memory of a real bot process after /ranking and /snapshot.")
    parser.add_argument("--size", default="1m", choices=tuple(data.SIZES), help="stored ratings (1m)")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
