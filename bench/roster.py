"""A 10,000-row roster imported into the running bot's database: how long the import holds the write lock, and how
long the bot's own transactions wait meanwhile.

The import is the one `python -m bot import-staff` runs (the file read and checked first, then one transaction).
Beside it a "bot" makes a short write transaction every 20 ms, as updates do, on the same database through its own
engine, and records how long each waited; with SQLite's BEGIN IMMEDIATE a writer waits for the whole import.

    .venv/bin/python -m bench.roster --backend sqlite --rows 10000
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time

from bench.common import backend_parser, chosen_backends, fresh_database, load_note, percentile, print_table
from bot.roster import read_roster
from storage import audit, roster, sections
from storage.migrate import upgrade_database
from storage.models import SectionKind
from storage.session import Database

SECTIONS = 500
BYSTANDER_EVERY = 0.02
TARGET_SECONDS = 2.0


def roster_csv(rows: int) -> bytes:
    """`rows` people over SECTIONS sections: a tenth with a username, a tenth with a Telegram id, the rest neither."""
    lines = ["name,section,role,telegram,kind"]
    for number in range(rows):
        telegram = f"@user_{number}" if number % 10 == 1 else str(10_000_000 + number) if number % 10 == 2 else ""
        role = "head" if number % 20 == 0 else "staff"
        lines.append(f"员工{number:05},科室{number % SECTIONS:03},{role},{telegram},")
    return ("\n".join(lines) + "\n").encode()


async def bystander(db: Database, stop: asyncio.Event, waits: list[float]) -> None:
    """A short write transaction every BYSTANDER_EVERY seconds, as the bot's updates make; each one's time."""
    while not stop.is_set():
        started = time.perf_counter()
        async with db.transaction() as session:
            await audit.record_audit(session=session, actor_id=None, action="bench.tick", subject="bench")
        waits.append(time.perf_counter() - started)
        await asyncio.sleep(BYSTANDER_EVERY)


async def run_once(url: str, rows: int, *, again: bool) -> dict[str, float]:
    data = roster_csv(rows)
    started = time.perf_counter()
    entries = read_roster(data)
    checked = time.perf_counter() - started
    db, bot_db = Database(url), Database(url)
    try:
        await upgrade_database(db.engine)
        async with db.transaction() as session:  # a campaign under way: the sections exist already
            for number in range(SECTIONS):
                await sections.create_section(session=session, name=f"科室{number:03}", kind=SectionKind.OFFICE)
        if again:
            async with db.transaction() as session:
                await roster.import_roster(session=session, entries=list(entries), now=now(), invite_days=30)
        stop, waits = asyncio.Event(), list[float]()
        ticking = asyncio.create_task(bystander(bot_db, stop, waits))
        await asyncio.sleep(0.2)
        started = time.perf_counter()
        async with db.transaction() as session:
            await roster.import_roster(session=session, entries=list(entries), now=now(), invite_days=30)
        held = time.perf_counter() - started
        await asyncio.sleep(0.2)
        stop.set()
        await ticking
    finally:
        await db.close()
        await bot_db.close()
    return {
        "checked": checked,
        "held": held,
        "wait_p50": percentile(waits, 0.5),
        "wait_max": max(waits),
    }


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def main() -> None:
    parser = backend_parser(__doc__ or "")
    parser.add_argument("--rows", type=int, default=10_000)
    args = parser.parse_args()
    lines: list[list[str]] = []
    for backend in chosen_backends(args.backend):
        for again in (False, True):
            async with fresh_database(backend) as (url, _workdir):
                figures = await run_once(url, args.rows, again=again)
            what = "again (all updated)" if again else "first (all new)"
            lines.append(
                [
                    backend,
                    what,
                    f"{figures['checked']:.2f} s",
                    f"{figures['held']:.2f} s",
                    f"{figures['wait_p50'] * 1000:.1f} ms",
                    f"{figures['wait_max']:.2f} s",
                    f"< {TARGET_SECONDS:.0f} s",
                ]
            )
            print(f"RESULT {backend} import_{'again' if again else 'first'}_lock_seconds {figures['held']:.3f}")
    header = ["backend", "import", "file checked", "transaction (write lock)", "bot wait p50", "bot wait max", "target"]
    print_table(f"A {args.rows:,}-row roster into the running bot's database ({load_note()})", [header, *lines])


if __name__ == "__main__":
    asyncio.run(main())
