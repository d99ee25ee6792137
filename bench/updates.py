"""Update handling: how many updates a second the real bot handles, and how long each one takes.

A thousand registered members each make a complete rating (/rate, the kind, the section, five scores, No comment,
Confirm: ten updates) at the same time, `--concurrency` of them in flight, through the real Application on the
in-process Bot API, as the tests' `bot` fixture builds it. An update's time runs from handing it to the
Application (parsing included) to the last handler finishing. Beside it, on the same transport and machine:

- the framework floor: a bare python-telegram-bot Application with one echo handler, the same number of updates
  at the same concurrency: what python-telegram-bot and the transport cost on their own;
- the framework floor of a press: a bare Application that answers a button and edits its message with the rating
  form's 26-button keyboard, as most of a rating flow's updates do, without the database;
- the storage floor: one INSERT and COMMIT at a time through the same async engine (and on SQLite through the
  sqlite3 module too): what one durable write costs on its own.

Under concurrency an update's time includes its wait behind the others (Little's law: time ≈ in flight ÷ rate),
so the time per update is also measured one member at a time (service time). The bot's own pacing to Telegram's
~30 messages a second (AIORateLimiter) is off for the main figures, since it measures Telegram's limit rather
than the bot; one more, small run has it on to show what members would see.

Run from the repository: `python -m bench.updates [--backend sqlite|postgresql|both]`.
"""

from __future__ import annotations

import asyncio
import cProfile
import datetime as dt
import functools
import logging
import random
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from sqlalchemy import text
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bench.common import (
    backend_parser,
    chosen_backends,
    fresh_database,
    load_note,
    milliseconds,
    percentile,
    print_table,
)
from bot.app import OFFLINE_TOKEN, build_application, collect_less_often, on_start
from bot.clock import ManualClock
from bot.config import BotSettings, Settings
from bot.context import BotApplication
from bot.fake_api import FakeBotApi
from bot.fake_users import FakeTelegram, FakeUser, NoSuchButton
from storage import groups, ratings, scoring
from storage.migrate import upgrade_database
from storage.session import SQLITE_PRAGMAS, Database
from tests.factories import make_member, make_section

AnyApplication = Application[Any, Any, Any, Any, Any, Any]

ADMIN_ID = 900_001
START_TIME = dt.datetime(2026, 6, 10, 2, 0, tzinfo=dt.UTC)  # as tests/conftest.py: a Wednesday in the campaign
FIRST_MEMBER = 100_001
SECTIONS = 8  # every member sees the other seven sections on one page of buttons
SCORES = ("①4", "②5", "③3", "④4", "⑤5")
UPDATES_PER_FLOW = 3 + len(SCORES) + 2  # /rate, kind, section, five scores, No comment, Confirm
TARGET_P99 = 0.020
TARGET_RATE = 300.0


@dataclass
class Figures:
    """What one run measured: how many updates (or writes) in how long, and the time of each."""

    name: str
    seconds: float = 0.0
    durations: list[float] = field(default_factory=list)
    failures: list[int] = field(default_factory=list)  # members whose rating flow broke off
    presses: list[float] = field(default_factory=list)  # the score presses' own times (KIND "score")

    @property
    def count(self) -> int:
        return len(self.durations)

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0

    @property
    def p50(self) -> float:
        return percentile(self.durations, 0.50)

    @property
    def p99(self) -> float:
        return percentile(self.durations, 0.99)

    @property
    def p50_presses(self) -> float:
        return percentile(self.presses, 0.50)


async def timed_process(application: AnyApplication, update: dict[str, Any], durations: list[float]) -> None:
    """Hands one update to the Application as the updater would, and records how long it took to handle."""
    started = time.perf_counter()
    await application.process_update(Update.de_json(update, application.bot))
    durations.append(time.perf_counter() - started)


KIND: ContextVar[str] = ContextVar("bench_update_kind", default="")  # "score" while a score is pressed


class TimedTelegram(FakeTelegram):
    """FakeTelegram whose deliveries are timed into `figures` (a score press's also into its `presses`). With
    `processor`, each update goes through the Application's update processor as the updater hands it over (side
    by side, each user's in order: bot/updates_in_order.py); without, straight to `process_update`."""

    def __init__(
        self, application: AnyApplication, api: FakeBotApi, figures: Figures, *, processor: bool = False
    ) -> None:
        super().__init__(cast(BotApplication, application), api)
        self.figures = figures
        self.processor = processor

    async def deliver(self, update: dict[str, Any]) -> None:
        parsed = Update.de_json({"update_id": self.api.next_update_id(), **update}, self.application.bot)
        started = time.perf_counter()
        if self.processor:
            processing = self.application.process_update(parsed)
            await self.application.update_processor.process_update(parsed, processing)
        else:
            await self.application.process_update(parsed)
        took = time.perf_counter() - started
        self.figures.durations.append(took)
        if KIND.get() == "score":
            self.figures.presses.append(took)


async def in_flight(jobs: Sequence[Callable[[], Awaitable[None]]], concurrency: int) -> float:
    """Runs the jobs with at most `concurrency` at a time; returns the wall time in seconds."""
    semaphore = asyncio.Semaphore(concurrency)

    async def run(job: Callable[[], Awaitable[None]]) -> None:
        async with semaphore:
            await job()

    started = time.perf_counter()
    await asyncio.gather(*(run(job) for job in jobs))
    return time.perf_counter() - started


# --- the bot -----------------------------------------------------------------------------------------------------


class LogCount(logging.Handler):
    """Counts the warnings and errors the bot logs ("database is locked" answered as busy is a warning): a fast run
    that fails its updates measures nothing."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.warnings = 0
        self.errors = 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR:
            self.errors += 1
        else:
            self.warnings += 1


@asynccontextmanager
async def rating_bot(db: Database, *, paced: bool) -> AsyncIterator[tuple[BotApplication, FakeBotApi]]:
    """The real Application on the in-process Bot API, as the tests' `bot` fixture builds it (on_start included);
    users are never flood-guarded, and `paced` turns the bot's own pacing to Telegram's rates on."""
    settings = Settings(database_url=db.url, bot=BotSettings(admins=(ADMIN_ID,), flood_burst=1_000_000))
    api = FakeBotApi()
    application = build_application(settings, db=db, request=api, clock=ManualClock(START_TIME), flood_limits=paced)
    async with application:
        await on_start(application)
        collect_less_often()  # as `python -m bot run` does
        yield application, api


async def register_members(db: Database, count: int) -> list[tuple[int, str]]:
    """`count` active staff spread over the sections; returns (telegram id, the section each will rate)."""
    sections = [await make_section(db, f"科室{number:02d}") for number in range(SECTIONS)]
    raters: list[tuple[int, str]] = []
    for number in range(count):
        own, target = sections[number % SECTIONS], sections[(number + 1) % SECTIONS]
        await make_member(db, FIRST_MEMBER + number, f"Rater {number}", section=own, language="en")
        raters.append((FIRST_MEMBER + number, target.name))
    return raters


async def rate(user: FakeUser, target: str, think: float = 0.0) -> None:
    """One complete rating of a section, as tests/test_ratings.py makes it; `think` seconds (±25 %) before each
    update after the first, as a person takes."""

    async def pause() -> None:
        if think:
            await asyncio.sleep(think * random.uniform(0.75, 1.25))

    if think:  # people do not all start at the same moment
        await asyncio.sleep(random.uniform(0, 2 * think))
    await user.send("/rate")
    for label in ("A section or station", target):
        await pause()
        await user.press(label)
    for label in SCORES:
        await pause()
        KIND.set("score")
        await user.press(label)
        KIND.set("")
    for label in ("No comment", "✅ Confirm"):
        await pause()
        await user.press(label)


async def try_rate(user: FakeUser, target: str, failures: list[int], think: float = 0.0) -> None:
    """`rate`, noting the member in `failures` when the bot's answer lacks the next button (it answered that it
    is busy, say): the flow stops there, as a person would have to start again."""
    try:
        await rate(user, target, think)
    except NoSuchButton:
        failures.append(user.id)


async def rating_flows(db: Database, raters: Sequence[tuple[int, str]], concurrency: int, *, paced: bool) -> Figures:
    """Every rater rates their section, `concurrency` at a time, on a bot of their own."""
    figures = Figures(f"rating flows, {len(raters)} members, {concurrency} in flight" + (", paced" if paced else ""))
    async with rating_bot(db, paced=paced) as (application, api):
        world = TimedTelegram(application, api, figures, processor=True)
        users = [(world.private_user(f"Rater {tg_id}", user_id=tg_id), target) for tg_id, target in raters]
        jobs = [functools.partial(try_rate, user, target, figures.failures) for user, target in users]
        figures.seconds = await in_flight(jobs, concurrency)
    return figures


BYSTANDER_ID = 990_001
FLOODER_ID = 990_002
GROUP_ID = -100_990_001
THINK = 2.5  # seconds a person takes between two updates of a rating flow
ASK_EVERY = 0.2  # the bystander's /whoami


@dataclass
class Bystander:
    flows: Figures
    asking: Figures
    unanswered: int = 0


async def bystander_scenario(db: Database, raters: Sequence[tuple[int, str]]) -> Bystander:
    """Raters flow at a person's pace on the bot paced to Telegram's limits, while someone who is not a member sends
    /help to the campaign group, 30 at once and then one a second, and a member asks /whoami in private every half
    second: how long the member waits, and whether anyone's answer is lost."""
    result = Bystander(
        Figures(f"{len(raters)} rating flows at a person's pace ({THINK} s), paced, beside a /help flood"),
        Figures("a bystander's /whoami meanwhile, paced"),
    )
    await make_member(db, BYSTANDER_ID, "Bystander", language="en")
    async with db.transaction() as session:
        await groups.bind_campaign_group(session=session, chat_id=GROUP_ID, title="双优活动群", bound_by_id=None)
    async with rating_bot(db, paced=True) as (application, api):
        flows = TimedTelegram(application, api, result.flows, processor=True)
        group = flows.group("双优活动群", chat_id=GROUP_ID)
        flooder = TimedTelegram(application, api, Figures("flood"), processor=True).private_user(
            "Flooder", user_id=FLOODER_ID
        )
        group.add(flooder)
        asker = TimedTelegram(application, api, result.asking, processor=True).private_user(
            "Bystander", user_id=BYSTANDER_ID
        )
        done = asyncio.Event()

        async def flood() -> None:
            await asyncio.gather(*(flooder.send("/help", chat=group) for _ in range(30)))
            while not done.is_set():
                await flooder.send("/help", chat=group)
                await asyncio.sleep(1)

        async def ask() -> None:
            while not done.is_set():
                if not (await asker.send("/whoami")).texts:
                    result.unanswered += 1
                await asyncio.sleep(ASK_EVERY)

        beside = [asyncio.create_task(flood()), asyncio.create_task(ask())]
        users = [(flows.private_user(f"Rater {tg_id}", user_id=tg_id), target) for tg_id, target in raters]
        jobs = [functools.partial(try_rate, user, target, result.flows.failures, THINK) for user, target in users]
        result.flows.seconds = await in_flight(jobs, len(jobs))
        done.set()
        await asyncio.gather(*beside)
    return result


async def count_ratings(db: Database) -> int:
    async with db.transaction() as session:
        return len(await ratings.list_ratings(session=session))


# --- the floors --------------------------------------------------------------------------------------------------


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is not None:
        await message.reply_text(message.text or "…")


async def echo_user(
    application: AnyApplication, api: FakeBotApi, user_id: int, messages: int, into: list[float]
) -> None:
    """One user who sends `messages` texts one after the other, each answered by the echo handler."""
    user = {"id": user_id, "is_bot": False, "first_name": f"Echo {user_id}"}
    api.ensure_user(user)
    for number in range(messages):
        message = api.record_user_message(user_id, user, f"hello {number}")
        await timed_process(
            application, {"update_id": api.next_update_id(), "message": api.message_dict(message)}, into
        )


def bare_application(api: FakeBotApi) -> AnyApplication:
    """A python-telegram-bot Application with none of the bot's handlers, on the in-process Bot API."""
    return ApplicationBuilder().token(OFFLINE_TOKEN).request(api).get_updates_request(api).build()


async def framework_floor(users: int, messages: int, concurrency: int) -> Figures:
    """A bare Application with one echo handler on the same in-process Bot API: python-telegram-bot's own cost."""
    figures = Figures(f"framework floor: echo, {users * messages} updates, {concurrency} in flight")
    api = FakeBotApi()
    application = bare_application(api)
    application.add_handler(MessageHandler(filters.TEXT, echo))
    async with application:
        collect_less_often()  # as for the bot
        jobs = [
            functools.partial(echo_user, application, api, FIRST_MEMBER + number, messages, figures.durations)
            for number in range(users)
        ]
        figures.seconds = await in_flight(jobs, concurrency)
    return figures


FORM_TEXT = "Rating: 科室01 · 2026-06-01 – 06-30\n" + "\n".join(f"{mark} standard: —" for mark in "①②③④⑤")


def form_keyboard(chosen: int) -> InlineKeyboardMarkup:
    """The rating form's keyboard: five standards of five scores, and Cancel (26 buttons), `chosen` ticked."""
    rows = [
        [InlineKeyboardButton(f"{mark}{score}" + ("✓" * (score == chosen)), callback_data=f"sc:1:{index}:{score}")
         for score in range(1, 6)]
        for index, mark in enumerate("①②③④⑤")
    ]  # fmt: skip
    return InlineKeyboardMarkup([*rows, [InlineKeyboardButton("Cancel", callback_data="fs:1:cancel")]])


async def show_form(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if update.effective_message is not None:
        await update.effective_message.reply_text(FORM_TEXT, reply_markup=form_keyboard(0))


async def press_form(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    if query is not None and query.data is not None:
        await query.answer()
        await query.edit_message_text(FORM_TEXT, reply_markup=form_keyboard(int(query.data.rsplit(":", 1)[1])))


async def press_floor_flow(user: FakeUser) -> None:
    """/form, then nine presses on the form's keyboard (a score press's share of a rating flow: ten updates)."""
    await user.send("/form")
    KIND.set("score")
    for score in (1, 2, 3, 4, 5, 4, 3, 2, 1):
        await user.press(f"①{score}")
    KIND.set("")


async def press_floor(users: int, concurrency: int) -> Figures:
    """A bare Application that does what a score press does in python-telegram-bot, without the database: answers
    the button and edits its message with the form's 26-button keyboard. What a press costs the framework."""
    updates = users * UPDATES_PER_FLOW
    figures = Figures(f"framework floor: a form's button pressed, {updates} updates, {concurrency} in flight")
    api = FakeBotApi()
    application = bare_application(api)
    application.add_handler(CommandHandler("form", show_form))
    application.add_handler(CallbackQueryHandler(press_form))
    async with application:
        collect_less_often()
        world = TimedTelegram(application, api, figures)
        jobs = [
            functools.partial(press_floor_flow, world.private_user(f"Presser {number}", user_id=FIRST_MEMBER + number))
            for number in range(users)
        ]
        figures.seconds = await in_flight(jobs, concurrency)
    return figures


async def engine_floor(db: Database, operations: int) -> Figures:
    """One INSERT and COMMIT at a time through the bot's own async engine: one durable write, nothing else."""
    figures = Figures(f"storage floor: insert+commit, async engine ({db.engine.dialect.name})")
    async with db.engine.begin() as connection:
        await connection.execute(text("CREATE TABLE bench_floor (id INTEGER PRIMARY KEY, note VARCHAR(40))"))
    started = time.perf_counter()
    for number in range(operations):
        began = time.perf_counter()
        async with db.engine.begin() as connection:
            await connection.execute(text("INSERT INTO bench_floor VALUES (:id, :note)"), {"id": number, "note": "x"})
        figures.durations.append(time.perf_counter() - began)
    figures.seconds = time.perf_counter() - started
    async with db.engine.begin() as connection:
        await connection.execute(text("DROP TABLE bench_floor"))
    return figures


def sqlite3_floor(path: Path, operations: int) -> Figures:
    """The same write through the sqlite3 module, synchronously, with the bot's pragmas: SQLite's own cost."""
    figures = Figures("storage floor: insert+commit, sqlite3 module (no asyncio)")
    connection = sqlite3.connect(path, isolation_level=None)
    for pragma in SQLITE_PRAGMAS:
        connection.execute(f"PRAGMA {pragma}")
    connection.execute("CREATE TABLE bench_sqlite3 (id INTEGER PRIMARY KEY, note TEXT)")
    started = time.perf_counter()
    for number in range(operations):
        began = time.perf_counter()
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("INSERT INTO bench_sqlite3 VALUES (?, ?)", (number, "x"))
        connection.execute("COMMIT")
        figures.durations.append(time.perf_counter() - began)
    figures.seconds = time.perf_counter() - started
    connection.close()
    return figures


# --- one backend -------------------------------------------------------------------------------------------------


@dataclass
class Options:
    members: int
    concurrency: int
    sequential: int
    paced: int
    bystander: int
    writes: int
    profile: Path | None


@dataclass
class BotRuns:
    runs: list[Figures]
    bystander: Bystander
    checks: list[tuple[str, str]]
    lost: int  # ratings not stored


async def measure_bot(db: Database, options: Options) -> BotRuns:
    """The bot's runs (concurrent, one at a time, paced, beside a flood) and the checks that they did what they
    should."""
    raters = await register_members(db, options.members + options.sequential + options.paced + options.bystander)
    concurrent_raters = raters[: options.members]
    sequential_raters = raters[options.members : options.members + options.sequential]
    paced_raters = raters[options.members + options.sequential : options.members + options.sequential + options.paced]
    bystander_raters = raters[options.members + options.sequential + options.paced :]
    logged = LogCount()
    logging.getLogger().addHandler(logged)
    profiler = cProfile.Profile() if options.profile else None
    try:
        if profiler is not None:
            profiler.enable()
        runs = [await rating_flows(db, concurrent_raters, options.concurrency, paced=False)]
        if profiler is not None and options.profile is not None:
            profiler.disable()
            profiler.dump_stats(options.profile.with_name(f"{options.profile.stem}-{db.engine.dialect.name}.prof"))
        runs.append(await rating_flows(db, sequential_raters, 1, paced=False))
        if paced_raters:
            runs.append(await rating_flows(db, paced_raters, options.concurrency, paced=True))
        beside = await bystander_scenario(db, bystander_raters)
    finally:
        logging.getLogger().removeHandler(logged)
    stored = await count_ratings(db)
    expected = len(raters) * UPDATES_PER_FLOW
    checks = [
        ("ratings stored", f"{stored} of {len(raters)}"),
        ("updates handled", f"{sum(run.count for run in [*runs, beside.flows])} of {expected}"),
        *((f"flows broken off: {run.name}", str(len(run.failures))) for run in [*runs, beside.flows]),
        ("the bystander's /whoami unanswered", f"{beside.unanswered} of {beside.asking.count}"),
        ("warnings logged (e.g. database busy)", str(logged.warnings)),
        ("errors logged", str(logged.errors)),
        ("python -m bot check", await tally_problems(db)),
    ]
    return BotRuns(runs, beside, checks, len(raters) - stored)


async def tally_problems(db: Database) -> str:
    """What `python -m bot check` says of the tallies after the runs."""
    async with db.transaction() as session:
        problems = await scoring.check_tallies(session=session)
    return "clean" if not problems else f"{len(problems)} problems: {problems[:3]}"


async def measure_backend(backend: str, options: Options) -> None:
    async with fresh_database(backend) as (url, workdir):
        db = Database(url)
        try:
            await upgrade_database(db.engine)
            bot = await measure_bot(db, options)
            floors = [await engine_floor(db, options.writes)]
        finally:
            await db.close()
        if backend == "sqlite":
            floors.append(await asyncio.to_thread(sqlite3_floor, workdir / "floor.db", options.writes))
    updates = options.members * UPDATES_PER_FLOW
    framework = await framework_floor(options.members, UPDATES_PER_FLOW, options.concurrency)
    pressing = await press_floor(options.members, options.concurrency)
    pressing_alone = await press_floor(options.sequential, 1)
    assert framework.count == pressing.count == updates
    runs = [*bot.runs, bot.bystander.flows, bot.bystander.asking]
    report(backend, runs, [framework, pressing, pressing_alone, *floors], bot.checks)
    concurrent, sequential = bot.runs[0], bot.runs[1]
    RESULTS.extend(
        [
            (backend, "flow_ratio_to_press_floor", concurrent.rate / pressing.rate),
            (backend, "flow_ratio_to_press_floor_sequential", sequential.rate / pressing_alone.rate),
            (backend, "score_press_median_ratio", percentile(sequential.presses, 0.5) / pressing_alone.p50_presses),
            (backend, "p99_ms_sequential", sequential.p99 * 1000),
            (backend, "bystander_p99_ms", bot.bystander.asking.p99 * 1000),
            (backend, "ratings_lost", bot.lost),
        ]
    )


RESULTS: list[tuple[str, str, float]] = []  # printed last, one `RESULT <backend> <name> <number>` line each


# --- the report --------------------------------------------------------------------------------------------------


def figures_row(run: Figures) -> list[object]:
    return [run.name, run.count, f"{run.rate:.0f}", milliseconds(run.p50), milliseconds(run.p99)]


def verdict(run: Figures) -> str:
    p99 = "met" if run.p99 < TARGET_P99 else "missed"
    rate = "met" if run.rate >= TARGET_RATE else "missed"
    return f"p99 {p99}, rate {rate}"


def report(backend: str, runs: list[Figures], floors: list[Figures], checks: list[tuple[str, str]]) -> None:
    rows: list[list[object]] = [["run", "updates", "updates/s", "p50", "p99", "targets (p99 < 20 ms, ≥ 300/s)"]]
    rows.extend([*figures_row(run), verdict(run)] for run in runs)
    rows.extend([*figures_row(floor), ""] for floor in floors)
    print_table(f"Update handling on {backend} ({load_note()})", rows)
    ratios: list[list[object]] = [["run", "floor", "rate ÷ floor's", "p50 × floor's", "p99 × floor's"]]
    for run in runs:
        for floor in floors:
            ratios.append([run.name, floor.name, f"{run.rate / floor.rate:.3f}", f"{run.p50 / floor.p50:.1f}",
                           f"{run.p99 / floor.p99:.1f}"])  # fmt: skip
    print_table(f"Against the floors on {backend}", ratios)
    print_table(f"Checks on {backend}", [["check", "value"], *checks])


def parse_options() -> tuple[tuple[str, ...], Options]:
    parser = backend_parser(__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--members", type=int, default=1000, help="members rating at the same time (1000)")
    parser.add_argument("--concurrency", type=int, default=50, help="members in flight at once (50)")
    parser.add_argument("--sequential", type=int, default=300, help="members rating one at a time (300)")
    parser.add_argument("--paced", type=int, default=50, help="members rating on a bot paced to Telegram (50)")
    parser.add_argument("--bystander", type=int, default=50, help="members rating beside a /help flood (50)")
    parser.add_argument("--writes", type=int, default=2000, help="insert+commit operations for the floor (2000)")
    parser.add_argument("--profile", type=Path, help="write cProfile stats of the concurrent run to this file")
    arguments = parser.parse_args()
    options = Options(arguments.members, arguments.concurrency, arguments.sequential, arguments.paced,
                      arguments.bystander, arguments.writes, arguments.profile)  # fmt: skip
    return chosen_backends(arguments.backend), options


async def main() -> None:
    backends, options = parse_options()
    for backend in backends:
        await measure_backend(backend, options)
    for backend, name, value in RESULTS:
        print(f"RESULT {backend} {name} {value:.4g}")


def quiet_logging() -> None:
    """The bot's warnings reach LogCount to be counted, but only errors are printed among the figures."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        handler.setLevel(logging.ERROR)


if __name__ == "__main__":
    quiet_logging()
    asyncio.run(main())
