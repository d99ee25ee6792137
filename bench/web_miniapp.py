"""/ranking's Mini App at scale: POST /app/ranking/board on the campaign of 500 sections, 10,000 members and
10 k … 10 M stored ratings (bench/data.py's databases).

Measured: a request as Telegram's web view sends it (initData signed with the bot's token, checked by the server),
from the request going in to the page's HTML coming out, through the real web app (build_web_app) beside the real
Application (bench.ranking's in-process bot): in process (httpx's ASGI transport, the server's own time) and over
HTTP to the embedded uvicorn on 127.0.0.1 (client and server in one event loop, so both sides' time). The boards
come from those the process keeps (storage/boards.py), as /ranking's do; "after a rating" is a request right after
a rating of a section, which computes the sections' board again from the section it changed. Target: p99 under
20 ms at 10 M ratings.

    python -m bench.web_miniapp [--backend sqlite|postgresql|both] [--sizes 10k,10m] [--repeat 300]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial

import httpx

from bench import data
from bench.common import backend_parser, chosen_backends, load_note, percentile
from bench.ranking import NOW, InProcessBot, in_process_bot, rate, timed
from bot.app import services_of
from bot.config import WebSettings
from storage.models import TargetKind
from tests.factories import telegram_init_data
from web.app import build_web_app
from web.miniapp import BOARD_PATH
from web.server import web_server

TARGET_P99 = 0.020
FIGURES = (
    "staff: sections",
    "leader: sections",
    "leader: individuals, month",
    "leader: individuals, last page",
    "staff: sections, after a rating",
    "over HTTP: staff: sections",
)


def init_data(bot: InProcessBot, telegram_id: int) -> str:
    """What Telegram hands the page of this user, signed with the bot's token a minute before NOW."""
    user = {"id": telegram_id, "first_name": "Bench", "language_code": "en"}
    return telegram_init_data(bot.app.bot.token, user, NOW - dt.timedelta(minutes=1))


async def ask(client: httpx.AsyncClient, body: Mapping[str, object]) -> None:
    """One board, checked: a refusal would be fast and wrong."""
    answer = await client.post(BOARD_PATH, json=body)
    if answer.status_code != 200 or not answer.text.startswith('<section class="board">'):
        raise AssertionError(f"{body.get('target')}: {answer.status_code} {answer.text[:300]}")


@asynccontextmanager
async def clients(bot: InProcessBot) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    """(in process through ASGI, over HTTP to the embedded server) on the same web app."""
    app = build_web_app(services_of(bot.app), bot.app)
    local = WebSettings(listen="127.0.0.1", port=0)
    async with web_server(app, local) as server:
        asgi = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://bench.example")
        http = httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}")
        async with asgi, http:
            yield asgi, http


@dataclass
class Row:
    backend: str
    size: int
    figures: dict[str, list[float]]


async def measure(backend: str, size: int, url: str, repeat: int, budget: float) -> Row:
    async with in_process_bot(url) as bot, clients(bot) as (asgi, http):
        staff = {"init_data": init_data(bot, data.STAFF_TELEGRAM_ID)}
        leader = {"init_data": init_data(bot, data.LEADER_TELEGRAM_ID)}
        people = {**leader, "target": "member", "period": "month"}
        values = itertools.cycle((4, 5))
        actions: dict[str, tuple[Callable[[], Awaitable[object]], Callable[[], Awaitable[object]] | None]] = {
            "staff: sections": (partial(ask, asgi, staff), None),
            "leader: sections": (partial(ask, asgi, leader), None),
            "leader: individuals, month": (partial(ask, asgi, people), None),
            "leader: individuals, last page": (partial(ask, asgi, {**people, "page": 99}), None),
            "staff: sections, after a rating": (
                partial(ask, asgi, staff),
                partial(rate, bot, TargetKind.SECTION, values),
            ),
            "over HTTP: staff: sections": (partial(ask, http, staff), None),
        }
        figures = {name: await timed(action, repeat, budget, prepare) for name, (action, prepare) in actions.items()}
    return Row(backend, size, figures)


def print_rows(rows: list[Row]) -> None:
    print(f"{'backend':<11} {'ratings':>8}  {'request':<34} {'p50':>8} {'p99':>8} {'max':>8} {'n':>4}  p99 < 20 ms")
    for row in rows:
        for name in FIGURES:
            times = row.figures[name]
            p99 = percentile(times, 0.99)
            print(
                f"{row.backend:<11} {data.size_label(row.size):>8}  {name:<34} {percentile(times, 0.5) * 1000:>5.1f} ms"
                f" {p99 * 1000:>5.1f} ms {max(times) * 1000:>5.1f} ms {len(times):>4}  "
                f"{'met' if p99 < TARGET_P99 else 'MISSED'}"
            )


async def main_async(args: argparse.Namespace) -> None:
    backends = chosen_backends(args.backend)
    rows: list[Row] = []
    print(f"machine: {load_note()}; {args.repeat} requests of each after warm-up", flush=True)
    async with data.maybe_postgres(backends) as server:
        async for built in data.each_database(backends, data.parse_sizes(args.sizes), server):
            rows.append(await measure(built.backend, built.size, built.url, args.repeat, args.budget))
            print_rows(rows[-1:])
    print()
    print_rows(rows)


def main() -> None:
    parser = backend_parser("Times the /ranking Mini App's board requests at 10 k … 10 M stored ratings.")
    parser.add_argument("--sizes", default="10k,10m", help="comma-separated: 10k, 100k, 1m, 10m")
    parser.add_argument("--repeat", type=int, default=300, help="timed requests of each (300)")
    parser.add_argument("--budget", type=float, default=60, help="seconds per figure at most (60)")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
