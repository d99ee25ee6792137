"""Start-up time of a real bot process: from launching `python -m bot run` to its first getUpdates call (the moment
it starts listening), on a database of 1 M ratings (by default) and, for comparison, on an empty one (a new database
that the bot migrates itself) and on a migrated empty one.

The process talks to the in-process Bot API served over HTTP (bot.http_api.HttpBotApi, TELEGRAM_BASE_URL and a fake
token, as tests/test_http_api.py does); the API notes the time of the first getUpdates. Why: after an upgrade or a
crash the bot is deaf until then, and start-up work that grows with the data (a tally rebuild, a sweep) shows here.

    python -m bench.startup [--backend sqlite|postgresql|both] [--size 1m] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import data
from bench.common import backend_parser, chosen_backends, load_note, percentile
from bot.fake_api import FakeBotApi, UploadedFile
from bot.http_api import HttpBotApi
from storage.migrate import upgrade_at

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456789:AAEabcdefghijklmnopqrstuvwxyz012345678"  # a fake one, as the tests use
READY_TIMEOUT = 600.0


class WatchedApi(FakeBotApi):
    """The in-process Bot API, noting when getUpdates is first called."""

    def __init__(self) -> None:
        super().__init__()
        self.first_get_updates: float | None = None

    async def handle(self, endpoint: str, params: dict[str, Any], files: dict[str, UploadedFile]) -> tuple[int, bytes]:
        if endpoint == "getUpdates" and self.first_get_updates is None:
            self.first_get_updates = time.perf_counter()
        return await super().handle(endpoint, params, files)


@dataclass
class BotProcess:
    process: asyncio.subprocess.Process
    api: WatchedApi
    launched: float  # perf_counter when it was launched
    workdir: Path
    log: str = ""  # its standard error, once it has stopped

    def problems(self) -> list[str]:
        """The WARNING and ERROR lines it logged (read after it stopped)."""
        return [line for line in self.log.splitlines() if " WARNING " in line or " ERROR " in line]

    async def ready(self) -> float:
        """Seconds from launch to the first getUpdates (waits for it)."""
        deadline = time.perf_counter() + READY_TIMEOUT
        while self.api.first_get_updates is None:
            if self.process.returncode is not None or time.perf_counter() > deadline:
                raise RuntimeError(f"the bot did not start (exit {self.process.returncode})")
            await asyncio.sleep(0.01)
        return self.api.first_get_updates - self.launched


def bot_environment(server: HttpBotApi, url: str) -> dict[str, str]:
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("SHUANGYOU_") and key not in {"BOT_TOKEN", "DATABASE_URL"}
    }
    environment.update(
        BOT_TOKEN=TOKEN,
        TELEGRAM_BASE_URL=server.base_url,
        TELEGRAM_BASE_FILE_URL=server.base_url.replace("/bot", "/file/bot"),
        DATABASE_URL=url,
        PYTHONPATH=str(ROOT),
    )
    return environment


@asynccontextmanager
async def bot_process(url: str, api: WatchedApi | None = None) -> AsyncIterator[BotProcess]:
    """`python -m bot run` on `url` against an HTTP Bot API, in a scratch directory with the repository's config;
    terminated (SIGTERM, then SIGKILL) afterwards."""
    api = api or WatchedApi()
    workdir = await asyncio.to_thread(scratch_directory)
    async with HttpBotApi(api) as server:
        with (workdir / "bot.log").open("wb") as log:  # a file, not a pipe nobody reads while it runs
            launched = time.perf_counter()
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", cwd=workdir, env=bot_environment(server, url),
                stdout=asyncio.subprocess.DEVNULL, stderr=log,
            )  # fmt: skip
        bot = BotProcess(process, api, launched, workdir)
        try:
            yield bot
        finally:
            await stop(process)
            bot.log = await asyncio.to_thread(read_log, workdir)


def scratch_directory() -> Path:
    """A directory to run the bot in, with the repository's config.toml."""
    workdir = Path(tempfile.mkdtemp(prefix="shuangyou-bench-run-"))
    shutil.copy(ROOT / "config.toml", workdir / "config.toml")
    return workdir


def read_log(workdir: Path) -> str:
    """The bot's log; the directory is removed."""
    try:
        return (workdir / "bot.log").read_text(errors="replace")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


async def stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), timeout=30)
        except TimeoutError:
            process.kill()
            await process.wait()


async def time_to_listen(url: str) -> float:
    async with bot_process(url) as bot:
        return await bot.ready()


async def measure(backend: str, size: int, repeat: int, server: data.CachedPostgresServer | None) -> dict[str, float]:
    """Median seconds to the first getUpdates on each database (a working copy each time: start-up writes)."""
    built = await data.build(backend, size, server)
    results: dict[str, list[float]] = {"new empty": [], "migrated empty": [], f"{data.size_label(size)} ratings": []}
    for run in range(repeat):
        name = f"startup_{backend}_{run}"
        for label in results:
            if label == "new empty":
                url = await data.empty_database(backend, server, name)
            elif label == "migrated empty":
                url = await upgrade_at(await data.empty_database(backend, server, name))
            else:
                url = await data.working_copy(built, server, name)
            try:
                results[label].append(await time_to_listen(url))
            finally:
                await data.drop_copy(url, server)
    return {label: percentile(times, 0.5) for label, times in results.items()}


async def main_async(args: argparse.Namespace) -> None:
    backends = chosen_backends(args.backend)
    size = data.SIZES[args.size]
    print(f"machine: {load_note()}; median of {args.repeat} launches each")
    print(f"{'backend':<11} {'database':<16} {'to first getUpdates':>20}")
    async with data.maybe_postgres(backends) as server:
        for backend in backends:
            for label, seconds in (await measure(backend, size, args.repeat, server)).items():
                print(f"{backend:<11} {label:<16} {seconds:>18.2f} s", flush=True)


def main() -> None:
    parser = backend_parser("Times `python -m bot run` from launch to its first getUpdates.")
    parser.add_argument("--size", default="1m", choices=tuple(data.SIZES), help="stored ratings (1m)")
    parser.add_argument("--repeat", type=int, default=3, help="launches per database (3)")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
