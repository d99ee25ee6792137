"""Reminder fan-out: a real `python -m bot run` process reminds a thousand section heads of a task due today.

The process talks to the in-process Bot API served over HTTP (bot.http_api) with Telegram's flood limits on
(about 30 messages a second overall: beyond them, 429 with retry_after), prepared as
tests/test_http_api.py's kill -9 test prepares it (a time zone where it is now mid-morning, today a working day),
but left to finish. Measured: the time from the first reminder to the last, the rate achieved against the
~30 a second Telegram allows, the 429 answers the bot ran into, and the heads reminded never or twice.

Run from the repository: `python -m bench.fanout [--backend sqlite|postgresql|both]`.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func
from sqlmodel import col, select

from bench.common import ROOT, backend_parser, chosen_backends, fresh_database, load_note, print_table
from bench.startup import bot_environment
from bot.fake_api import FakeBotApi, FloodLimits, StoredMessage
from bot.http_api import HttpBotApi
from storage.models import Reminder
from storage.session import Database
from tests.test_http_api import HEAD_IDS, prepare_heads, working_morning

ALLOWED_RATE = FloodLimits.OVERALL[0] / FloodLimits.OVERALL[1]  # messages a second
TARGET_SHARE = 95.0  # % of the allowed rate
SETTLE_SECONDS = 6.0  # after the last head is reminded, a late second copy would have arrived by then
STOP_SECONDS = 30.0


@dataclass
class FanOut:
    """What one fan-out did, as the Bot API and the database saw it."""

    heads: int
    started: float = 0.0  # when the bot process was started (perf_counter)
    moments: list[float] = field(default_factory=list)  # when each reminder to a head arrived
    received: Counter[int] = field(default_factory=Counter)  # reminders per head
    refused: int = 0  # sendMessage answered 429
    other_failures: int = 0
    states: dict[str, int] = field(default_factory=dict)
    finished: bool = False

    @property
    def seconds(self) -> float:
        """From the first reminder to the last (the `heads`-th at most)."""
        moments = sorted(self.moments)[: self.heads]
        return moments[-1] - moments[0] if len(moments) > 1 else 0.0

    @property
    def rate(self) -> float:
        moments = min(len(self.moments), self.heads)
        return (moments - 1) / self.seconds if self.seconds else 0.0

    def pauses(self, at_least: float = 1.0) -> list[float]:
        """The gaps of `at_least` seconds or more between two reminders in a row (a 429's wait, an idle outbox)."""
        moments = sorted(self.moments)
        return [later - earlier for earlier, later in itertools.pairwise(moments) if later - earlier >= at_least]

    @property
    def lost(self) -> int:
        return sum(1 for number in range(self.heads) if self.received[HEAD_IDS + number] == 0)

    @property
    def doubled(self) -> int:
        return sum(count - 1 for count in self.received.values() if count > 1)


async def start_bot(server: HttpBotApi, workdir: Path, url: str, extra: dict[str, str]) -> asyncio.subprocess.Process:
    """`python -m bot run` on `url` and the HTTP Bot API, as the tests start it; its log goes to workdir/bot.log (a
    pipe nobody reads would fill up and stop it)."""
    environment = {**extra, **bot_environment(server, url)}
    with (workdir / "bot.log").open("wb") as log:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", cwd=workdir, env=environment,
            stdout=asyncio.subprocess.DEVNULL, stderr=log,
        )  # fmt: skip


async def stop_bot(process: asyncio.subprocess.Process) -> None:
    """SIGTERM, as systemd stops it; SIGKILL if it has not stopped within STOP_SECONDS."""
    process.terminate()
    try:
        await asyncio.wait_for(process.wait(), timeout=STOP_SECONDS)
    except TimeoutError:
        process.kill()
        await process.wait()


def watch(api: FakeBotApi, result: FanOut) -> None:
    """Notes the moment and the recipient of every message the bot sends to a head."""
    heads = range(HEAD_IDS, HEAD_IDS + result.heads)

    def listener(event: str, message: StoredMessage) -> None:
        if event == "sent" and message.chat_id in heads:
            result.moments.append(time.perf_counter())
            result.received[message.chat_id] += 1

    api.add_listener(listener)


async def wait_for_heads(result: FanOut, patience: float) -> bool:
    """Waits until every head has a reminder (True), or `patience` seconds (False)."""
    deadline = time.perf_counter() + patience
    while time.perf_counter() < deadline:
        if len(result.received) >= result.heads:
            return True
        await asyncio.sleep(0.1)
    return False


def count_refusals(api: FakeBotApi, result: FanOut) -> None:
    for call in api.calls_to("sendMessage"):
        if call.error is None:
            continue
        if call.error.startswith("Too Many Requests"):
            result.refused += 1
        else:
            result.other_failures += 1


async def reminder_states(url: str) -> dict[str, int]:
    """How many reminder rows are in each state, on either backend."""
    db = Database(url)
    try:
        async with db.transaction() as session:
            query = select(Reminder.status, func.count()).group_by(col(Reminder.status))
            return {str(status): int(count) for status, count in (await session.exec(query)).all()}
    finally:
        await db.close()


async def fan_out(backend: str, heads: int, patience: float) -> FanOut:
    """One fan-out to `heads` heads on a fresh database of `backend`."""
    result = FanOut(heads)
    async with fresh_database(backend) as (url, workdir):
        (workdir / "config.toml").write_text((ROOT / "config.toml").read_text(encoding="utf-8"), encoding="utf-8")
        zone, day = working_morning()
        await prepare_heads(url, heads, day)
        api = FakeBotApi(flood_limits=True)
        for number in range(heads):
            api.ensure_user({"id": HEAD_IDS + number, "is_bot": False, "first_name": f"Head {number}"})
        watch(api, result)
        extra = {"SHUANGYOU_BOT__TIME_ZONE": zone, "SHUANGYOU_CALENDAR__EXTRA_WORKDAYS": f'["{day.isoformat()}"]'}
        async with HttpBotApi(api) as server:
            result.started = time.perf_counter()
            process = await start_bot(server, workdir, url, extra)
            try:
                result.finished = await wait_for_heads(result, patience)
                await asyncio.sleep(SETTLE_SECONDS)
            finally:
                await stop_bot(process)
        count_refusals(api, result)
        result.states = await reminder_states(url)
    return result


def verdict(met: bool) -> str:
    return "met" if met else "missed"


def report(backend: str, result: FanOut) -> None:
    share = result.rate / ALLOWED_RATE * 100
    first = min(result.moments) - result.started if result.moments else float("nan")
    pauses = result.pauses()
    rows: list[list[object]] = [
        ["figure", "value", "target", ""],
        ["heads reminded", f"{len(result.received)} of {result.heads}", "all", verdict(result.finished)],
        ["start of the process to the first reminder", f"{first:.1f} s", "", ""],
        ["first reminder to the last", f"{result.seconds:.1f} s", "", ""],
        ["messages/s", f"{result.rate:.1f}", f"~{ALLOWED_RATE:.0f} allowed", ""],
        ["pauses of 1 s or more between two reminders", f"{len(pauses)}, {sum(pauses):.1f} s in all", "", ""],
        ["share of the allowed rate", f"{share:.1f} %", f"≥ {TARGET_SHARE:.0f} %", verdict(share >= TARGET_SHARE)],
        ["429 answers received", result.refused, "0", verdict(result.refused == 0)],
        ["other failed sendMessage calls", result.other_failures, "0", verdict(result.other_failures == 0)],
        ["lost (heads without a reminder)", result.lost, "0", verdict(result.lost == 0)],
        ["doubled (second copies)", result.doubled, "0", verdict(result.doubled == 0)],
        ["reminder rows by state", result.states, "", ""],
    ]
    print_table(f"Reminder fan-out on {backend} ({load_note()})", rows)


async def main() -> None:
    parser = backend_parser(__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--heads", type=int, default=1000, help="heads to remind (1000)")
    parser.add_argument("--patience", type=float, default=300.0, help="seconds to wait for the fan-out (300)")
    arguments = parser.parse_args()
    for backend in chosen_backends(arguments.backend):
        report(backend, await fan_out(backend, arguments.heads, arguments.patience))


if __name__ == "__main__":
    logging.getLogger("tornado.access").setLevel(logging.ERROR)  # not a line for each 429
    asyncio.run(main())
