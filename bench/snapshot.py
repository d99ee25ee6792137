"""Leaderboard snapshots at scale: 500 sections and 10,000 members on a database of 1 M ratings (by default).

Measured, each with its wall time, the peak of Python allocations (tracemalloc, in a second run: tracing slows the
code down, so times come from an untraced run) and the growth of the process's peak resident memory (VmHWM, reset
through /proc/self/clear_refs before each step):

- taking the snapshot (`take_snapshot`: both boards of the campaign, stored as JSON) — what /snapshot and the
  scheduled posts do first, inside their transaction;
- the text of the post (`snapshot_text`) as configured (top 10), at the configured maximum (top 50), and with all
  500 sections (beyond what Telegram takes in one message, to see the cost grow);
- the chart (`ChartRenderer.render`) with the same numbers of bars, sections and individuals.

Why: a snapshot is posted every Monday and at each month's end, and an admin can ask for one at any time; the bot
must stay responsive and small while it is drawn.

    python -m bench.snapshot [--backend sqlite|postgresql|both] [--size 1m] [--repeat 5]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gc
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import data
from bench.common import backend_parser, chosen_backends, load_note, percentile
from bench.ranking import NOW, bench_settings
from bot.chart import Bar, ChartRenderer
from bot.config import Settings
from bot.i18n import translator
from jobs.snapshots import chart_panels, snapshot_text
from storage import campaigns, snapshots
from storage.models import PeriodKind, Snapshot
from storage.session import Database

TOPS = (10, 50, data.SECTIONS)
STATUS = Path("/proc/self/status")


def status_kb(field: str) -> int:
    """A VmRSS / VmHWM line of /proc/self/status, in kB."""
    for line in STATUS.read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def reset_peak() -> None:
    """Sets VmHWM back to the current RSS (Linux: writing 5 to clear_refs), so that a step's own peak shows."""
    Path("/proc/self/clear_refs").write_text("5")


@dataclass
class Figure:
    name: str
    seconds: list[float]
    python_peak_mb: float
    rss_growth_mb: float


async def measure(name: str, step: Callable[[], Awaitable[Any]], repeat: int) -> Figure:
    """Times `step` `repeat` times, then runs it once more under tracemalloc and with VmHWM reset."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        await step()
        times.append(time.perf_counter() - started)
    gc.collect()
    reset_peak()
    before = status_kb("VmRSS")
    tracemalloc.start()
    await step()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    growth = status_kb("VmHWM") - before
    return Figure(name, times, peak / 2**20, growth / 1024)


def with_top(settings: Settings, top: int) -> Settings:
    """The settings with [snapshots] top = `top` (past the config's limit of 50 for the 500-section run)."""
    return settings.model_copy(update={"snapshots": settings.snapshots.model_copy(update={"top": top})})


async def steps(db: Database, settings: Settings, repeat: int) -> list[Figure]:
    tr = translator(settings.bot.default_language)
    renderer = ChartRenderer(settings.snapshots.font_file)
    figures: list[Figure] = []
    taken: list[Snapshot] = []

    async def take() -> None:
        async with db.transaction() as session:
            period = await campaigns.period_at(session=session, kind=PeriodKind.CAMPAIGN, today=NOW.date())
            assert period is not None
            slot = f"bench:{time.time_ns()}"
            now = dt.datetime.now(dt.UTC)
            made = await snapshots.take_snapshot(
                session=session, rules=settings.scoring_rules(), period=period, slot=slot, now=now, today=NOW.date()
            )
            assert made is not None
            taken.append(detached(made))
            await session.rollback()  # the cached database stays as it was

    figures.append(await measure("take_snapshot (both boards)", take, 1))  # slow where the boards are
    snapshot = taken[-1]
    for top in TOPS:
        tuned = with_top(settings, top)

        async def text(tuned: Settings = tuned) -> None:
            async with db.transaction() as session:
                await snapshot_text(session, tuned, tr, snapshot)

        figures.append(await measure(f"text, top {top}", text, repeat))
        if renderer.available:
            panels = chart_panels(tr, tuned, snapshot)
            figures.append(await measure(f"chart, top {top} ({bars(panels)} bars)", chart(renderer, panels), repeat))
    return figures


def detached(snapshot: Snapshot) -> Snapshot:
    """A copy that outlives the rolled-back transaction, as if it were the newest snapshot of the period."""
    return Snapshot(
        id=10**9,
        slot=snapshot.slot,
        period_id=snapshot.period_id,
        sections=list(snapshot.sections),
        members=list(snapshot.members),
        taken_at=snapshot.taken_at,
    )


def bars(panels: list[tuple[str, list[Bar]]]) -> int:
    return sum(len(items) for _, items in panels)


def chart(renderer: ChartRenderer, panels: list[tuple[str, list[Bar]]]) -> Callable[[], Awaitable[bytes]]:
    async def draw() -> bytes:
        return await renderer.render_async("Leaderboard — bench", panels)

    return draw


def print_figures(backend: str, size: int, figures: list[Figure]) -> None:
    print(f"\n{backend}, {data.size_label(size)} ratings")
    print(f"{'step':<36} {'p50':>10} {'max':>10} {'python peak':>12} {'RSS growth':>11}")
    for figure in figures:
        print(
            f"{figure.name:<36} {percentile(figure.seconds, 0.5) * 1000:>7.1f} ms "
            f"{max(figure.seconds) * 1000:>7.1f} ms {figure.python_peak_mb:>9.1f} MB {figure.rss_growth_mb:>8.1f} MB"
        )


async def main_async(args: argparse.Namespace) -> None:
    backends = chosen_backends(args.backend)
    size = data.SIZES[args.size]
    print(f"machine: {load_note()}; {args.repeat} timed runs per step, one more traced")
    async with data.maybe_postgres(backends) as server:
        for backend in backends:
            built = await data.build(backend, size, server)
            url = await data.working_copy(built, server, f"snapshot_{backend}")  # its long transaction locks SQLite
            db = Database(url)
            try:
                figures = await steps(db, bench_settings(url), args.repeat)
            finally:
                await db.close()
                await data.drop_copy(url, server)
            print_figures(backend, size, figures)


def main() -> None:
    parser = backend_parser("Times and sizes the leaderboard snapshot: both boards, its text and its chart.")
    parser.add_argument("--size", default="1m", choices=tuple(data.SIZES), help="stored ratings (1m)")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of each step (5)")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
