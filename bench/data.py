"""A campaign database at scale, built in bulk and cached, for the scale benchmarks (ranking, snapshot, memory,
start-up).

What it holds: 500 sections (1 head and 19 staff each: 10,000 scored members), 10 leaders, an admin, 1,000 industry
raters, a bound campaign group, two late (done) tasks per section, N stored ratings spread over the campaign's months
May–November (60 % internal ratings of colleagues, 30 % internal ratings of sections, 10 % industry ratings of
sections; 0.1 % voided) and N/10 public reviews (0.1 % bad, unrectified). Each rater rates the same targets every
month, as people do, so a rater counts once per target in the quarter and the campaign.

How: the schema comes from the migrations (`upgrade_database`), the campaign rows from `sync_campaign`; rows go in
with multi-row `executemany` on SQLite and COPY (`copy_records_to_table`) on PostgreSQL, generated in chunks so that
10 M ratings are never one Python list. Each rating and review is written with its `tally` column (what it adds to the
tallies, `rating_contribution`); the tallies and rater marks are then computed from the raw rows in SQL, as
`rebuild_tallies` does in Python (which cannot hold 10 M ORM rows): `python -m bench.data --check` compares them with
`check_tallies`. A first snapshot is taken with the product's `take_snapshot`, so that boards show movements.

Built databases are kept under /tmp/shuangyou-bench/ (SQLite files; PostgreSQL databases in a cluster whose data
directory stays there between runs), so a second run starts at once: `python -m bench.data --sizes 10k,100k`.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import itertools
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from bench.common import backend_parser, chosen_backends
from bot.config import DEFAULT_STANDARDS, Settings
from handlers.ratings import rating_value
from storage import campaigns, scoring, snapshots
from storage.migrate import upgrade_database
from storage.models import Period, PeriodKind
from storage.session import Database
from tests.pg_server import OS_USER, PostgresServer, find_bin_dir

CACHE = Path("/tmp/shuangyou-bench")
SIZES = {"10k": 10_000, "100k": 100_000, "1m": 1_000_000, "10m": 10_000_000}
YEAR = dt.date.today().year
CAMPAIGN_STARTS, CAMPAIGN_ENDS = dt.date(YEAR, 5, 1), dt.date(YEAR, 12, 31)
RATED_MONTHS = (5, 6, 7, 8, 9, 10, 11)
SECTIONS = 500
PER_SECTION = 20  # 1 head, 19 staff
MEMBERS = SECTIONS * PER_SECTION
INDUSTRY = 1_000
LEADERS = 10
# Member ids: scored members 1..10,000, then the leaders, the admin, the industry raters.
LEADER_ID = MEMBERS + 1
ADMIN_ID = MEMBERS + LEADERS + 1
INDUSTRY_BASE = ADMIN_ID + 1
TELEGRAM_BASE = 1_000_000  # a member's Telegram id is this plus their member id
LEADER_TELEGRAM_ID = TELEGRAM_BASE + LEADER_ID
STAFF_TELEGRAM_ID = TELEGRAM_BASE + 2  # member 2: a staff member of section 1
ADMIN_TELEGRAM_ID = TELEGRAM_BASE + ADMIN_ID
GROUP_CHAT_ID = -1_001_234_567_890
GROUP_TITLE = "双优活动群"
CHUNK = 50_000
TEMPLATE_ATTEMPTS = 120
SEED = 20_260_501
# Multipliers that scatter raters over the members (coprime with the counts, so each is a bijection).
SCATTER_MEMBERS, SCATTER_INDUSTRY = 7_919, 389
QUALITY_MEANS = (3.0, 3.5, 4.0, 4.4, 4.8)
COMBOS_PER_QUALITY = 4_096


def sqlite_path(size: int) -> Path:
    return CACHE / f"sqlite-{YEAR}-{size}.db"


def pg_name(size: int) -> str:
    return f"bench_{YEAR}_{size}"


def parse_sizes(text: str) -> list[int]:
    """Sizes by name, "10k,1m" → [10000, 1000000]."""
    return [SIZES[part.strip().lower()] for part in text.split(",") if part.strip()]


def size_label(size: int) -> str:
    return next((label for label, value in SIZES.items() if value == size), str(size))


# --- PostgreSQL: a cluster kept under /tmp/shuangyou-bench/pg between runs ----------------------------------------


class CachedPostgresServer(PostgresServer):
    """The tests' PostgresServer, but its data directory stays in the cache (initdb only the first time), so that
    built databases survive; `stop` stops the server and keeps the files."""

    def __init__(self, bin_dir: Path) -> None:
        super().__init__(bin_dir)
        shutil.rmtree(self.root, ignore_errors=True)  # the temporary root the parent made
        self.root = CACHE / "pg"
        self.data = self.root / "data"
        self.owned = True  # False: another benchmark started it and stops it

    def running_port(self) -> int | None:
        """The port of the server already running on the cached cluster (another benchmark's), if any."""
        pid_file = self.data / "postmaster.pid"
        if not pid_file.exists():
            return None
        lines = pid_file.read_text().splitlines()
        try:
            os.kill(int(lines[0]), 0)
        except (ProcessLookupError, ValueError, IndexError):
            return None
        return int(lines[3])

    def start(self) -> None:
        if (port := self.running_port()) is not None:
            self.port, self.owned = port, False
            return
        if (self.data / "PG_VERSION").exists():
            self.root.chmod(0o755)
            options = (
                f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200 "
                "-c shared_buffers=512MB -c maintenance_work_mem=512MB -c work_mem=64MB"
            )
            self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "log"), "-w",
                      "-o", options, "start")  # fmt: skip
            return
        self.root.mkdir(parents=True, exist_ok=True)
        super().start()
        self.stop()
        self.start()

    def stop(self) -> None:
        if self.owned:
            self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def url(self, name: str) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{name}"

    async def admin(self) -> asyncpg.Connection:
        return await asyncpg.connect(host="127.0.0.1", port=self.port, user="postgres", database="postgres")


def start_postgres() -> CachedPostgresServer:
    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise SystemExit("PostgreSQL binaries (initdb, pg_ctl) not found; install the postgresql package")
    CACHE.mkdir(parents=True, exist_ok=True)
    (CACHE / "pg").mkdir(exist_ok=True)
    if PostgresServer(bin_dir)._as_root:
        shutil.chown(CACHE / "pg", user=OS_USER)
    server = CachedPostgresServer(bin_dir)
    server.start()
    return server


@asynccontextmanager
async def maybe_postgres(backends: Sequence[str]) -> AsyncIterator[CachedPostgresServer | None]:
    """The cached PostgreSQL cluster, started when a backend needs it and stopped afterwards."""
    if "postgresql" not in backends:
        yield None
        return
    server = await asyncio.to_thread(start_postgres)
    try:
        yield server
    finally:
        await asyncio.to_thread(server.stop)


# --- what the rows hold -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Combo:
    """One set of five scores, ready to write: its JSON, its value and its tally contribution."""

    scores: str
    value: float
    tally: str


def make_combos() -> list[list[Combo]]:
    """COMBOS_PER_QUALITY score sets for each target quality, drawn once (a row picks one at random)."""
    rng = random.Random(SEED)
    keys = [standard.key for standard in DEFAULT_STANDARDS]
    table: list[list[Combo]] = []
    for mean in QUALITY_MEANS:
        combos = []
        for _ in range(COMBOS_PER_QUALITY):
            scores = {key: min(5, max(1, round(rng.gauss(mean, 0.8)))) for key in keys}
            value = rating_value(scores, DEFAULT_STANDARDS)
            tally = {"value": float(value), **{scoring.STANDARD_PREFIX + k: float(v) for k, v in scores.items()}}
            combos.append(Combo(json.dumps(scores), value, json.dumps(tally)))
        table.append(combos)
    return table


@dataclass(frozen=True)
class Encoding:
    """How values are written: SQLite gets strings as SQLAlchemy stores them, PostgreSQL typed values (COPY)."""

    sqlite: bool

    def moment(self, value: dt.datetime) -> Any:
        return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f") if self.sqlite else value

    def day(self, value: dt.date) -> Any:
        return value.isoformat() if self.sqlite else value

    def flag(self, value: bool) -> Any:
        return int(value) if self.sqlite else value


def created(month: int, index: int) -> dt.datetime:
    return dt.datetime(YEAR, month, 1 + index % 28, 1 + index % 9, index % 60, tzinfo=dt.UTC)


SECTION_COLUMNS = ("id", "name", "kind", "created_at")
MEMBER_COLUMNS = (
    "id", "telegram_id", "display_name", "section_id", "role", "status", "language", "organisation", "reachable",
    "mute_nudges", "created_at", "updated_at",
)  # fmt: skip
TASK_COLUMNS = (
    "id", "section_id", "title", "due_on", "status", "extensions", "overdue_days", "note", "created_at", "closed_at",
)  # fmt: skip
RATING_COLUMNS = (
    "id", "rater_id", "rater_group", "target_kind", "target_id", "period_id", "scores", "value", "comment",
    "comment_delivered", "created_at", "updated_at", "voided_at", "void_reason", "tally",
)  # fmt: skip
REVIEW_COLUMNS = (
    "id", "section_id", "reviewer_telegram_id", "level", "tags", "reason", "comment", "day", "complete", "outcome",
    "outcome_note", "appeal_status", "appeal_reason", "void_reason", "tally", "created_at",
)  # fmt: skip


def section_rows(enc: Encoding) -> list[tuple[Any, ...]]:
    at = enc.moment(created(4, 0))
    return [
        (number, f"{'科室' if number % 5 else '站所'}{number:03d}", "office" if number % 5 else "station", at)
        for number in range(1, SECTIONS + 1)
    ]


def member_rows(enc: Encoding) -> list[tuple[Any, ...]]:
    at, yes, no = enc.moment(created(4, 1)), enc.flag(True), enc.flag(False)

    def row(member_id: int, name: str, section: int | None, role: str, org: str | None = None) -> tuple[Any, ...]:
        language = "en" if member_id % 3 == 0 else "zh"
        return (member_id, TELEGRAM_BASE + member_id, name, section, role, "active", language, org, yes, no, at, at)

    rows = [
        row(member_id, f"成员{member_id:05d}", (member_id - 1) // PER_SECTION + 1,
            "head" if (member_id - 1) % PER_SECTION == 0 else "staff")
        for member_id in range(1, MEMBERS + 1)
    ]  # fmt: skip
    rows += [row(LEADER_ID + n, f"局领导{n}", 1, "leader") for n in range(LEADERS)]
    rows.append(row(ADMIN_ID, "管理员", 1, "admin"))
    rows += [row(INDUSTRY_BASE + n, f"企业{n:04d}", None, "industry", f"企业{n:04d}") for n in range(INDUSTRY)]
    return rows


def task_rows(enc: Encoding) -> list[tuple[Any, ...]]:
    """Two tasks per section, both done, the second some working days late (a deduction)."""
    rows = []
    for section in range(1, SECTIONS + 1):
        for number, late in ((0, 0), (1, section % 4)):
            due = dt.date(YEAR, 6 + (section + number) % 5, 10)
            closed = dt.datetime.combine(due + dt.timedelta(days=late), dt.time(3), dt.UTC)
            rows.append(
                (2 * section - 1 + number, section, f"任务{section}-{number}", enc.day(due), "done", 0, late, "",
                 enc.moment(created(5, section)), enc.moment(closed))
            )  # fmt: skip
    return rows


def quality(target: int) -> int:
    return (target * 2_654_435_761 >> 7) % len(QUALITY_MEANS)


def rating_target(index: int) -> tuple[int, str, str, int, int]:
    """Rating number `index` → (rater id, rater group, target kind, target id, month index); distinct for distinct
    indexes (the unique rater/target/period), the same rater–target pairs month after month."""
    block, rest = divmod(index, 10)
    if rest < 6:  # a colleague
        pair, month = divmod(block * 6 + rest, len(RATED_MONTHS))
        rater, step = (pair * SCATTER_MEMBERS) % MEMBERS, pair // MEMBERS + 1
        return rater + 1, "internal", "member", (rater + step) % MEMBERS + 1, month
    if rest < 9:  # a section, by a member of another section
        pair, month = divmod(block * 3 + rest - 6, len(RATED_MONTHS))
        rater, step = (pair * SCATTER_MEMBERS) % MEMBERS, pair // MEMBERS + 1
        return rater + 1, "internal", "section", (rater // PER_SECTION + step) % SECTIONS + 1, month
    pair, month = divmod(block, len(RATED_MONTHS))  # a section, by an industry rater
    rater, step = (pair * SCATTER_INDUSTRY) % INDUSTRY, pair // INDUSTRY
    return INDUSTRY_BASE + rater, "industry", "section", (rater * 7 + step) % SECTIONS + 1, month


def rating_chunks(size: int, enc: Encoding, month_ids: list[int]) -> Iterator[list[tuple[Any, ...]]]:
    """The ratings, CHUNK rows at a time."""
    combos = make_combos()
    moments = {(m, i): enc.moment(created(RATED_MONTHS[m], i)) for m in range(len(RATED_MONTHS)) for i in range(252)}
    no = enc.flag(False)
    for start in range(0, size, CHUNK):
        rng = random.Random(SEED + start)
        chunk = []
        for index in range(start, min(size, start + CHUNK)):
            rater, group, kind, target, month = rating_target(index)
            combo = combos[quality(target)][rng.getrandbits(12)]
            at = moments[(month, index % 252)]
            voided = index % 1000 == 999
            chunk.append(
                (index + 1, rater, group, kind, target, month_ids[month], combo.scores, combo.value, "", no, at, at,
                 at if voided else None, "bench" if voided else "", "{}" if voided else combo.tally)
            )  # fmt: skip
        yield chunk


def review_chunks(count: int, enc: Encoding) -> Iterator[list[tuple[Any, ...]]]:
    """The public reviews (complete; 0.1 % bad and not rectified), CHUNK rows at a time."""
    days = (CAMPAIGN_STARTS + dt.timedelta(days=n) for n in range(10_000))
    rated_days = [day for day in days if day.month in RATED_MONTHS and day.year == YEAR]
    yes = enc.flag(True)
    for start in range(0, count, CHUNK):
        chunk = []
        for index in range(start, min(count, start + CHUNK)):
            section = (index * 7 + index // SECTIONS) % SECTIONS + 1
            level = (1 + index % 2) if index % 1000 == 500 else 3 + (index * 31 + section) % 3
            tally: dict[str, float] = {"value": float(level), "raters": 1.0}
            tally["bad" if level <= 2 else "good"] = 1.0
            day = rated_days[index % len(rated_days)]
            at = enc.moment(dt.datetime.combine(day, dt.time(4), dt.UTC))
            chunk.append(
                (index + 1, section, 2_000_000_000 + index, level, "[]", "太慢" if level <= 2 else "", "",
                 enc.day(day), yes, "", "", "", "", "", json.dumps(tally), at)
            )  # fmt: skip
        yield chunk


# --- loading --------------------------------------------------------------------------------------------------------


@dataclass
class Built:
    """A database ready for the benchmarks."""

    backend: str
    size: int
    url: str
    load_seconds: float  # 0 when it came from the cache
    cached: bool


async def prepare_schema(url: str) -> dict[int, list[int]]:
    """Migrations and the campaign's periods; returns each rated month's period id → the periods containing it."""
    db = Database(url)
    try:
        await upgrade_database(db.engine)
        async with db.transaction() as session:
            await campaigns.sync_campaign(
                session=session, name="争创优质服务科室，争当优质服务个人", starts=CAMPAIGN_STARTS, ends=CAMPAIGN_ENDS
            )
            months = await campaigns.list_all_periods(session=session, kind=PeriodKind.MONTH)
            containing: dict[int, list[int]] = {}
            for period in months:
                if period.starts_on.month in RATED_MONTHS and period.id is not None:
                    containing[period.id] = await scoring.periods_containing(session=session, period_id=period.id)
        return containing
    finally:
        await db.close()


def tally_statements(json_score: Callable[[str], str]) -> list[str]:
    """rebuild_tallies in SQL: rater marks and tallies from the ratings and reviews (temp tables bench_pmap, the
    rated month → the periods containing it, and bench_rg, rater → group, must exist)."""
    keys = [standard.key for standard in DEFAULT_STANDARDS]
    sums = ", ".join(f"SUM({json_score(key)}) AS s_{key}" for key in keys)
    measures = [("'value'", "a.v")] + [(f"'{scoring.STANDARD_PREFIX}{key}'", f"a.s_{key}") for key in keys]
    rollups = " UNION ALL ".join(
        f"SELECT m.outer_id, a.target_kind, a.target_id, a.rater_group, {name}, SUM({column}), SUM(a.n) "
        "FROM bench_agg a JOIN bench_pmap m ON m.inner_id = a.period_id "
        "GROUP BY m.outer_id, a.target_kind, a.target_id, a.rater_group"
        for name, column in measures
    )
    tally = "INSERT INTO score_tally (period_id, target_kind, target_id, rater_group, measure, total, count) "
    reviews = (
        "SELECT p.id, 'section', r.section_id, 'public', {measure}, {total}, COUNT(*) FROM public_review r "
        "JOIN period p ON p.starts_on <= r.day AND p.ends_on >= r.day "
        "WHERE r.complete AND r.voided_at IS NULL {where} GROUP BY p.id, r.section_id"
    )
    return [
        f"CREATE TEMP TABLE bench_agg AS SELECT period_id, target_kind, target_id, rater_group, SUM(value) AS v, "
        f"COUNT(*) AS n, {sums} FROM rating WHERE voided_at IS NULL "
        "GROUP BY period_id, target_kind, target_id, rater_group",
        tally + rollups,
        tally + "SELECT k.period_id, k.target_kind, k.target_id, g.rater_group, 'raters', COUNT(*), COUNT(*) "
        "FROM rater_mark k JOIN bench_rg g ON g.rater_id = k.rater_id "
        "GROUP BY k.period_id, k.target_kind, k.target_id, g.rater_group",
        tally + reviews.format(measure="'value'", total="SUM(r.level)", where=""),
        tally + reviews.format(measure="'raters'", total="COUNT(*)", where=""),
        tally + reviews.format(measure="'good'", total="COUNT(*)", where="AND r.level >= 3"),
        tally + reviews.format(measure="'bad'", total="COUNT(*)", where="AND r.level <= 2"),
        "UPDATE score_tally SET shown_total = total, shown_count = count",  # all published, as after a repair
    ]


RATER_MARKS = (
    "INSERT INTO rater_mark (period_id, target_kind, target_id, rater_id, ratings) "
    "SELECT m.outer_id, r.target_kind, r.target_id, r.rater_id, COUNT(*) FROM rating r "
    "JOIN bench_pmap m ON m.inner_id = r.period_id WHERE r.voided_at IS NULL "
    "GROUP BY m.outer_id, r.target_kind, r.target_id, r.rater_id"
)
RATER_GROUPS = "SELECT id, CASE WHEN role = 'industry' THEN 'industry' ELSE 'internal' END FROM member"
GROUP_ROW = "INSERT INTO campaign_group (chat_id, title, bound_at) VALUES ({chat}, '{title}', {at})"


class Phases:
    """Prints how long each loading step took (to standard error, as it goes: 10 M ratings take a while)."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.last = time.perf_counter()

    def done(self, step: str) -> None:
        now = time.perf_counter()
        print(f"  [{self.label}] {step}: {now - self.last:.1f} s", file=sys.stderr, flush=True)
        self.last = now


def load_sqlite(path: Path, size: int, containing: dict[int, list[int]]) -> None:
    """Everything but the schema, through one sqlite3 connection (journal off while loading: a scratch file)."""
    enc = Encoding(sqlite=True)
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-2000000", "temp_store=MEMORY"):
            connection.execute(f"PRAGMA {pragma}")
        connection.execute("BEGIN")
        put = _sqlite_writer(connection)
        put("section", SECTION_COLUMNS, [section_rows(enc)])
        put("member", MEMBER_COLUMNS, [member_rows(enc)])
        put("task", TASK_COLUMNS, [task_rows(enc)])
        phases = Phases(f"sqlite {size_label(size)}")
        put("rating", RATING_COLUMNS, rating_chunks(size, enc, sorted(containing)))
        phases.done("ratings")
        put("public_review", REVIEW_COLUMNS, review_chunks(size // 10, enc))
        phases.done("reviews")
        connection.execute(GROUP_ROW.format(chat=GROUP_CHAT_ID, title=GROUP_TITLE, at="'2026-05-01 00:00:00.000000'"))
        connection.execute("CREATE TEMP TABLE bench_pmap (inner_id INTEGER, outer_id INTEGER)")
        pairs = [(inner, outer) for inner, outers in containing.items() for outer in outers]
        connection.executemany("INSERT INTO bench_pmap VALUES (?, ?)", pairs)
        connection.execute("CREATE TEMP TABLE bench_rg (rater_id INTEGER, rater_group TEXT)")
        connection.execute(f"INSERT INTO bench_rg {RATER_GROUPS}")
        put("rater_mark", MARK_COLUMNS, sqlite_rater_marks(connection, containing))
        phases.done("rater marks")
        for number, statement in enumerate(tally_statements(lambda key: f"json_extract(scores, '$.{key}')")):
            connection.execute(statement)
            phases.done(f"tally statement {number}")
        connection.execute("COMMIT")
        connection.execute("PRAGMA journal_mode=WAL")
        phases.done("commit")
    finally:
        connection.close()


MARK_COLUMNS = ("period_id", "target_kind", "target_id", "rater_id", "ratings")


def sqlite_rater_marks(
    connection: sqlite3.Connection, containing: dict[int, list[int]]
) -> Iterator[list[tuple[Any, ...]]]:
    """RATER_MARKS without SQLite's GROUP BY over the 3 × N joined rows (at 10 M it ran past 17 minutes): the ratings
    are read in the order of their unique index (rater, target, period), so one rater–target's months come together
    and are counted here; the marks are sorted into the order of their own unique index before they go in."""
    ratings = connection.execute(
        "SELECT rater_id, target_kind, target_id, period_id FROM rating WHERE voided_at IS NULL "
        "ORDER BY rater_id, target_kind, target_id"
    )
    marks: list[tuple[int, str, int, int, int]] = []
    for (rater, kind, target), rows in itertools.groupby(ratings, key=lambda row: row[:3]):
        months = Counter(outer for *_, period in rows for outer in containing[period])
        marks.extend((outer, kind, target, rater, count) for outer, count in months.items())
    marks.sort()  # (period, kind, target, rater) is unique, so the count never decides
    for start in range(0, len(marks), CHUNK):
        yield marks[start : start + CHUNK]


def _sqlite_writer(connection: sqlite3.Connection) -> Callable[[str, Sequence[str], Any], None]:
    def put(table: str, columns: Sequence[str], chunks: Any) -> None:
        statement = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        for chunk in chunks:
            connection.executemany(statement, chunk)

    return put


async def load_postgres(url: str, size: int, containing: dict[int, list[int]]) -> None:
    """Everything but the schema, with COPY, then VACUUM ANALYZE (what autovacuum does on a settled database)."""
    enc = Encoding(sqlite=False)
    parts = make_url(url)
    connection = await asyncpg.connect(host=parts.host, port=parts.port, user=parts.username, database=parts.database)
    try:
        # The rows are generated consistent, so the foreign keys' per-row triggers are skipped while loading (at 10 M
        # ratings they made the COPY take 13 minutes), and the GROUP BYs may hash in memory.
        await connection.execute("SET session_replication_role = replica")
        await connection.execute("SET work_mem = '1GB'")
        async with connection.transaction():
            phases = Phases(f"postgresql {size_label(size)}")
            for table, columns, chunks in (
                ("section", SECTION_COLUMNS, [section_rows(enc)]),
                ("member", MEMBER_COLUMNS, [member_rows(enc)]),
                ("task", TASK_COLUMNS, [task_rows(enc)]),
                ("rating", RATING_COLUMNS, rating_chunks(size, enc, sorted(containing))),
                ("public_review", REVIEW_COLUMNS, review_chunks(size // 10, enc)),
            ):
                for chunk in chunks:
                    await connection.copy_records_to_table(table, records=chunk, columns=list(columns))
                phases.done(table)
            await connection.execute(GROUP_ROW.format(chat=GROUP_CHAT_ID, title=GROUP_TITLE, at="now()"))
            await connection.execute("CREATE TEMP TABLE bench_pmap (inner_id INTEGER, outer_id INTEGER)")
            pairs = [(inner, outer) for inner, outers in containing.items() for outer in outers]
            await connection.executemany("INSERT INTO bench_pmap VALUES ($1, $2)", pairs)
            await connection.execute("CREATE TEMP TABLE bench_rg (rater_id INTEGER, rater_group TEXT)")
            await connection.execute(f"INSERT INTO bench_rg {RATER_GROUPS}")
            await connection.execute(RATER_MARKS)
            phases.done("rater marks")
            for number, statement in enumerate(tally_statements(lambda key: f"(scores->>'{key}')::float8")):
                await connection.execute(statement)
                phases.done(f"tally statement {number}")
            for table in ("section", "member", "task", "rating", "public_review"):
                await connection.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
                )
        phases.done("commit")
        await connection.execute("VACUUM ANALYZE")
        phases.done("vacuum analyze")
    finally:
        await connection.close()


async def take_first_snapshot(url: str) -> None:
    """A snapshot of the campaign board a week ago, with the product's code: the base of the ▲▼ movements."""
    db = Database(url)
    try:
        async with db.transaction() as session:
            period = await campaigns.period_at(session=session, kind=PeriodKind.CAMPAIGN, today=CAMPAIGN_STARTS)
            assert isinstance(period, Period)
            await snapshots.take_snapshot(
                session=session,
                rules=Settings().scoring_rules(),
                period=period,
                slot="weekly:bench",
                now=dt.datetime(YEAR, 11, 16, 1, tzinfo=dt.UTC),
                today=dt.date(YEAR, 11, 16),
            )
    finally:
        await db.close()


async def build_sqlite(size: int) -> Built:
    path = sqlite_path(size)
    if path.exists():
        return Built("sqlite", size, f"sqlite+aiosqlite:///{path}", 0.0, True)
    scratch = path.with_suffix(".building")
    await asyncio.to_thread(_remove_files, scratch)
    started = time.perf_counter()
    url = f"sqlite+aiosqlite:///{scratch}"
    containing = await prepare_schema(url)
    await asyncio.to_thread(load_sqlite, scratch, size, containing)
    await take_first_snapshot(url)
    await asyncio.to_thread(_checkpoint, scratch)
    scratch.rename(path)
    return Built("sqlite", size, f"sqlite+aiosqlite:///{path}", time.perf_counter() - started, False)


def _checkpoint(path: Path) -> None:
    connection = sqlite3.connect(path)
    try:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()


async def build_postgres(server: CachedPostgresServer, size: int) -> Built:
    name, marker = pg_name(size), CACHE / f"pg-{pg_name(size)}.done"
    if marker.exists():
        return Built("postgresql", size, server.url(name), 0.0, True)
    started = time.perf_counter()
    url = await empty_database("postgresql", server, name)
    containing = await prepare_schema(url)
    await load_postgres(url, size, containing)
    await take_first_snapshot(url)
    marker.write_text(url)
    return Built("postgresql", size, url, time.perf_counter() - started, False)


async def build(backend: str, size: int, server: CachedPostgresServer | None) -> Built:
    """The cached database of that size on that backend, built first when there is none (a cached one is migrated
    to the current schema, as the bot does when it starts)."""
    if backend == "sqlite":
        built = await build_sqlite(size)
    else:
        assert server is not None
        built = await build_postgres(server, size)
    if built.cached:
        db = Database(built.url)
        try:
            await upgrade_database(db.engine)
        finally:
            await db.close()
    return built


async def each_database(
    backends: Sequence[str], sizes: Sequence[int], server: CachedPostgresServer | None
) -> AsyncIterator[Built]:
    """The cached databases of every backend and size, in turn, each built first if there is none (said when it is,
    with how long it took)."""
    for backend in backends:
        for size in sizes:
            built = await build(backend, size, server)
            if not built.cached:
                print(f"built {backend} {size_label(size)} in {built.load_seconds:.1f} s", flush=True)
            yield built


# --- working copies -------------------------------------------------------------------------------------------------


async def working_copy(built: Built, server: CachedPostgresServer | None, name: str) -> str:
    """A copy of a built database that a benchmark may change (a real bot writes snapshots, processed updates)."""
    if built.backend == "sqlite":
        target = CACHE / f"{name}.db"
        await asyncio.to_thread(_sqlite_copy, sqlite_path(built.size), target)
        return f"sqlite+aiosqlite:///{target}"
    assert server is not None
    admin = await server.admin()
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        for attempt in range(TEMPLATE_ATTEMPTS):  # a template cannot be copied while another benchmark reads it
            try:
                await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{pg_name(built.size)}"')
                break
            except asyncpg.ObjectInUseError:
                if attempt == TEMPLATE_ATTEMPTS - 1:
                    raise
                await asyncio.sleep(5)
    finally:
        await admin.close()
    return server.url(name)


async def empty_database(backend: str, server: CachedPostgresServer | None, name: str) -> str:
    """A new database with no schema at all (the bot migrates it when it starts)."""
    if backend == "sqlite":
        target = CACHE / f"{name}.db"
        await asyncio.to_thread(_remove_files, target)
        return f"sqlite+aiosqlite:///{target}"
    assert server is not None
    admin = await server.admin()
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return server.url(name)


async def drop_copy(url: str, server: CachedPostgresServer | None) -> None:
    parts = make_url(url)
    if parts.get_backend_name() == "sqlite":
        await asyncio.to_thread(_remove_files, Path(parts.database or ""))
        return
    assert server is not None
    admin = await server.admin()
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{parts.database}" WITH (FORCE)')
    finally:
        await admin.close()


def _remove_files(path: Path) -> None:
    """A SQLite file and its -wal and -shm companions (the cache directory is made when missing)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for leftover in path.parent.glob(f"{path.name}*"):
        leftover.unlink()


def _sqlite_copy(source: Path, target: Path) -> None:
    _remove_files(target)
    origin, copy = sqlite3.connect(source), sqlite3.connect(target)
    try:
        origin.backup(copy)
    finally:
        copy.close()
        origin.close()


# --- checking -------------------------------------------------------------------------------------------------------


async def check(url: str) -> list[str]:
    """The product's own recomputation (`check_tallies`) against the tallies built here."""
    db = Database(url)
    try:
        async with db.transaction() as session:
            return await scoring.check_tallies(session=session)
    finally:
        await db.close()


def bot_check(url: str) -> tuple[int, str]:
    """`python -m bot check` on the database: (exit status, its output)."""
    environment = {key: value for key, value in os.environ.items() if key not in {"BOT_TOKEN", "DATABASE_URL"}}
    environment["DATABASE_URL"] = url
    result = subprocess.run(
        [sys.executable, "-m", "bot", "check"], capture_output=True, text=True, env=environment, check=False,
        cwd=Path(__file__).resolve().parent.parent,
    )  # fmt: skip
    return result.returncode, (result.stdout + result.stderr).strip()


async def main_async(args: argparse.Namespace) -> None:
    backends = chosen_backends(args.backend)
    print(f"{'backend':<11} {'ratings':>8} {'load':>10} {'cached':>7} {'db size':>9}  check")
    async with maybe_postgres(backends) as server:
        for size in parse_sizes(args.sizes):
            for backend in backends:
                built = await build(backend, size, server)
                verdict = ""
                if args.check:
                    problems = await check(built.url)
                    verdict = "check_tallies ok" if not problems else f"{len(problems)} problems: {problems[:2]}"
                if args.bot_check:
                    status, output = await asyncio.to_thread(bot_check, built.url)
                    verdict += f"; bot check exit {status}" + ("" if status == 0 else f": {output}")
                print(
                    f"{backend:<11} {size_label(size):>8} {built.load_seconds:>9.1f}s {built.cached!s:>7} "
                    f"{await database_size(built, server):>9}  {verdict}",
                    flush=True,
                )


async def database_size(built: Built, server: CachedPostgresServer | None) -> str:
    if built.backend == "sqlite":
        return f"{sqlite_path(built.size).stat().st_size / 2**30:.2f} GB"
    assert server is not None
    admin = await server.admin()
    try:
        size = await admin.fetchval("SELECT pg_database_size($1)", pg_name(built.size))
    finally:
        await admin.close()
    return f"{int(size) / 2**30:.2f} GB"


def main() -> None:
    parser = backend_parser("Builds (or finds cached) campaign databases of 10k … 10M ratings.")
    parser.add_argument("--sizes", default="10k,100k,1m", help="comma-separated: 10k, 100k, 1m, 10m")
    parser.add_argument("--check", action="store_true", help="compare the tallies with check_tallies")
    parser.add_argument("--bot-check", action="store_true", help="run `python -m bot check` on each database")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
