"""What every benchmark needs: the backends to run on, a fresh database on each, percentiles and a plain table."""

from __future__ import annotations

import argparse
import math
import os
import tempfile
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

from tests.pg_server import PostgresServer, find_bin_dir

ROOT = Path(__file__).resolve().parent.parent
BACKENDS = ("sqlite", "postgresql")


def backend_parser(description: str) -> argparse.ArgumentParser:
    """An argument parser with `--backend sqlite|postgresql|both` (default both); scripts add their own options."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--backend", choices=(*BACKENDS, "both"), default="both", help="default: both")
    return parser


def chosen_backends(choice: str) -> tuple[str, ...]:
    """The backends `--backend` names, in a fixed order."""
    return BACKENDS if choice == "both" else (choice,)


def sqlite_url(directory: Path, name: str = "shuangyou.db") -> str:
    """The SQLAlchemy URL of a SQLite database file in `directory` (created on first use)."""
    return f"sqlite+aiosqlite:///{directory / name}"


@contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL server (the tests' one, from the machine's binaries), stopped and removed after."""
    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise SystemExit("PostgreSQL binaries (initdb, pg_ctl) not found; install the postgresql package")
    server = PostgresServer(bin_dir)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@asynccontextmanager
async def fresh_database(backend: str) -> AsyncIterator[tuple[str, Path]]:
    """(URL of a new empty database, a temporary directory) on `backend`; both are gone afterwards."""
    with tempfile.TemporaryDirectory(prefix="shuangyou-bench-") as directory:
        workdir = Path(directory)
        if backend == "sqlite":
            yield sqlite_url(workdir), workdir
            return
        with postgres_server() as server:
            yield await server.create_database(), workdir


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile: `share` 0.5 is the median, 0.99 the 99th percentile; NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def milliseconds(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def load_note() -> str:
    """The machine's load when the figures were taken: other work on it slows them down."""
    one, five, fifteen = os.getloadavg()
    return f"{os.cpu_count()} CPUs, load average {one:.2f} {five:.2f} {fifteen:.2f}"


def print_table(title: str, rows: Sequence[Sequence[object]]) -> None:
    """Prints `rows` (the first one is the header) as a plain table with aligned columns, under `title`."""
    cells = [[str(cell) for cell in row] for row in rows]
    widths = [max(len(row[column]) for row in cells if column < len(row)) for column in range(len(cells[0]))]
    print(f"\n{title}")
    for number, row in enumerate(cells):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)).rstrip())
        if number == 0:
            print("  ".join("-" * width for width in widths))
    print(flush=True)
