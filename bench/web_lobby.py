"""/lobby, the hall's screen, at scale: 500 sections, 10,000 members, 10 k … 10 M stored ratings (bench/data.py).

Measured: GET /lobby (the whole page) and GET /lobby/board (what the screen fetches every 20–60 s), through the web
application in process (httpx's ASGI transport, from the request going in to the page read back) and over HTTP from
the real server in the bot's process (uvicorn on a free port), turning over the board's pages as the screen does.
Warm: the sections' board kept (storage/boards.py), nothing changed since; then right after a rating of a section
(the board ordered again around it, storage/journal.py) and after a change to both kinds of board that is not a
rating (a renamed section, a new period: computed afresh). Target (issue 23): p99 under 20 ms warm, at 10 M ratings.
The first request of all makes the 500 sections' review links (once, as a new section's are made later); then the
screen turns over every page once, which draws each section's QR code (about 4 ms each, once per process: segno
chooses the most readable mask), a figure of its own; the warm figures come after.

    python -m bench.web_lobby [--backend sqlite|postgresql|both] [--sizes 10k,10m] [--repeat 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial

import httpx
from starlette.applications import Starlette

from bench import data
from bench.common import backend_parser, chosen_backends, load_note, percentile, print_table
from bench.ranking import InProcessBot, in_process_bot, outdate_boards, rate, timed
from bot.app import services_of
from storage import boards
from storage.models import TargetKind
from web.app import build_web_app
from web.server import web_server

TARGET_P99 = 0.020
PAGES = re.compile(r'data-page="(\d+)" data-pages="(\d+)"')
WARM = ("GET /lobby", "GET /lobby/board", "GET /lobby/board over HTTP")
CHANGED = ("GET /lobby/board, section rated", "GET /lobby/board, both kinds changed")
FIRST_ROUND = "GET /lobby/board, first round (QR codes drawn)"
FIGURES = (*WARM, *CHANGED, FIRST_ROUND)


@dataclass
class Row:
    backend: str
    size: int
    figures: dict[str, list[float]]
    pages: int
    page_bytes: int


class Screen:
    """The hall's screen: asks for each page in turn, and checks it got a board (a refusal would be fast and wrong)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.pages = 1
        self.turn = itertools.count()
        self.size = 0

    async def ask(self, path: str) -> None:
        answer = await self.client.get(path, params={"page": next(self.turn) % self.pages})
        found = PAGES.search(answer.text)
        board = "<tbody>" in answer.text or 'class="empty"' in answer.text  # at 10 k, nobody has enough raters yet
        if answer.status_code != 200 or found is None or not board or "<svg" not in answer.text:
            raise AssertionError(f"{path} answered {answer.status_code}: {answer.text[:300]!r}")
        self.pages, self.size = int(found.group(2)), len(answer.content)


async def measure(backend: str, size: int, url: str, repeat: int, budget: float) -> Row:
    async with in_process_bot(url) as bot:
        app = build_web_app(services_of(bot.app), bot.app)
        transport = httpx.ASGITransport(app=app, client=("203.0.113.5", 40_000))
        async with httpx.AsyncClient(transport=transport, base_url="http://hall") as client:
            screen = Screen(client)
            await screen.ask("/lobby")  # the first: the sections' review links are made
            first_round = [await timed_once(partial(screen.ask, "/lobby/board")) for _ in range(screen.pages)]
            figures = {
                FIRST_ROUND: first_round,
                "GET /lobby": await timed(partial(screen.ask, "/lobby"), repeat, budget),
                "GET /lobby/board": await timed(partial(screen.ask, "/lobby/board"), repeat, budget),
                **await changed(bot, screen, max(10, repeat // 10), budget),
            }
        figures["GET /lobby/board over HTTP"] = await over_http(bot, app, repeat, budget)
    return Row(backend, size, figures, screen.pages, screen.size)


async def timed_once(action: Callable[[], Awaitable[None]]) -> float:
    started = time.perf_counter()
    await action()
    return time.perf_counter() - started


async def changed(bot: InProcessBot, screen: Screen, repeat: int, budget: float) -> dict[str, list[float]]:
    """The fragment right after a change to what the sections' board reads."""
    values = itertools.cycle((4, 5))
    before: dict[str, Callable[[], Awaitable[None]]] = {
        "GET /lobby/board, section rated": partial(rate, bot, TargetKind.SECTION, values),
        "GET /lobby/board, both kinds changed": partial(outdate_boards, bot, boards.EVERY_KIND),
    }
    return {
        name: await timed(partial(screen.ask, "/lobby/board"), repeat, budget, make) for name, make in before.items()
    }


async def over_http(bot: InProcessBot, app: Starlette, repeat: int, budget: float) -> list[float]:
    """The same fragment from the real web server (uvicorn in this process, a free port), over a kept connection."""
    web = bot.settings.web.model_copy(update={"port": 0})
    async with web_server(app, web) as server, httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as client:
        return await timed(partial(Screen(client).ask, "/lobby/board"), repeat, budget)


def print_rows(rows: list[Row]) -> None:
    table: list[list[object]] = [["backend", "ratings", "figure", "p50", "p99", "n", "target p99 < 20 ms"]]
    for row in rows:
        for name in FIGURES:
            times = row.figures[name]
            p99 = percentile(times, 0.99)
            verdict = ("met" if p99 < TARGET_P99 else "MISSED") if name in WARM else ""
            table.append(
                [
                    row.backend,
                    data.size_label(row.size),
                    name,
                    f"{percentile(times, 0.5) * 1000:.2f} ms",
                    f"{p99 * 1000:.2f} ms",
                    len(times),
                    verdict,
                ]
            )
    print_table("/lobby (500 sections; a page of the board: at most 12 sections and 9 QR codes)", table)
    for row in rows:
        print(f"{row.backend} {data.size_label(row.size)}: {row.pages} pages, a fragment of {row.page_bytes:,} bytes")


async def main_async(args: argparse.Namespace) -> None:
    backends = chosen_backends(args.backend)
    rows: list[Row] = []
    print(f"machine: {load_note()}; {args.repeat} requests after 3 warm-up ones", flush=True)
    async with data.maybe_postgres(backends) as server:
        async for built in data.each_database(backends, data.parse_sizes(args.sizes), server):
            # a copy of its own: its writes (the links, the ratings) and the transactions of its SQLite file are
            # not another benchmark's, nor theirs its
            label = f"web_lobby_{built.backend}_{data.size_label(built.size)}"
            url = await data.working_copy(built, server, label)
            try:
                rows.append(await measure(built.backend, built.size, url, args.repeat, args.budget))
            finally:
                await data.drop_copy(url, server)
            print_rows(rows[-1:])
    print_rows(rows)
    print(f"after: {load_note()}")


def main() -> None:
    parser = backend_parser("Times GET /lobby and its refreshes at 10 k … 10 M stored ratings.")
    parser.add_argument("--sizes", default="10k,10m", help="comma-separated: 10k, 100k, 1m, 10m")
    parser.add_argument("--repeat", type=int, default=1000, help="timed requests of each warm figure (1000)")
    parser.add_argument("--budget", type=float, default=60, help="seconds per figure at most (60)")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
