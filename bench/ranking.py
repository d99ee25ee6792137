"""/ranking and /myscore at scale: 500 sections, 10,000 members, 10 k … 10 M stored ratings.

Measured: the wall time of the real handlers through the real Application on the in-process Bot API (a leader
sends /ranking in private, a staff member sends /myscore), from the update going in to the answer being stored, and
the pure `compute_board` call (the sections' campaign board and the individuals' month board). The bot keeps boards
between requests (storage/boards.py): "/ranking" and "/myscore" are asked again with nothing changed, the "cold"
figures right after a change to what their boards read (a rating of a section, of a colleague, or a change to
both kinds), which computes those boards again. Why:
DESIGN.md says ranking cost must not grow with the number of ratings (the boards read pre-computed tallies), so the
time at 10 M ratings should be within 1.5 × the time at 10 k, and under 50 ms.

    python -m bench.ranking [--backend sqlite|postgresql|both] [--sizes 10k,100k,1m,10m] [--repeat 30]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import itertools
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial

from bench import data
from bench.common import backend_parser, chosen_backends, load_note, percentile
from bot.app import build_application, collect_less_often, on_start
from bot.clock import ManualClock
from bot.config import BotSettings, Settings
from bot.context import BotApplication
from bot.fake_api import FakeBotApi
from bot.fake_users import FakeTelegram, FakeUser
from storage import boards, campaigns, members, ratings, scoring, tasks
from storage.models import PeriodKind, RaterGroup, TargetKind
from storage.session import Database

NOW = dt.datetime(data.YEAR, 11, 25, 2, 0, tzinfo=dt.UTC)  # a Wednesday morning in Shanghai, in the campaign
TARGET_RATIO = 1.5
TARGET_SECONDS = 0.050
WARM_UP = 3


@dataclass
class InProcessBot:
    """The real Application on the in-process Bot API, on a built database, with its leader and a staff member."""

    app: BotApplication
    api: FakeBotApi
    db: Database
    settings: Settings
    leader: FakeUser
    staff: FakeUser
    admin: FakeUser


def bench_settings(url: str) -> Settings:
    """Default settings (config.toml's defaults), no flood control on the users: they are machines."""
    return Settings(database_url=url, bot=BotSettings(admins=(data.ADMIN_TELEGRAM_ID,), flood_burst=1_000_000))


@asynccontextmanager
async def in_process_bot(url: str) -> AsyncIterator[InProcessBot]:
    """As tests/conftest.py's `bot` fixture: build_application with FakeBotApi, then on_start."""
    settings = bench_settings(url)
    db = Database(url)
    api = FakeBotApi()
    app = build_application(settings, db=db, request=api, clock=ManualClock(NOW), flood_limits=False)
    try:
        async with app:
            await on_start(app)
            collect_less_often()  # as `python -m bot run` does
            tg = FakeTelegram(app, api)
            yield InProcessBot(
                app,
                api,
                db,
                settings,
                tg.private_user("Leader", user_id=data.LEADER_TELEGRAM_ID, language="en"),
                tg.private_user("Staff", user_id=data.STAFF_TELEGRAM_ID, language="en"),
                tg.private_user("Admin", user_id=data.ADMIN_TELEGRAM_ID, language="en"),
            )
    finally:
        await db.close()


async def timed(
    action: Callable[[], Awaitable[object]],
    repeat: int,
    budget: float,
    prepare: Callable[[], Awaitable[object]] | None = None,
) -> list[float]:
    """Seconds per call of `action`, after WARM_UP calls that are not counted (caches, the first connection).
    Where one call is slow (the first takes over a tenth of `budget` seconds) it stops after `budget` seconds, with at
    least one timed call: figures of minutes per call need no thirty repetitions to be seen."""
    started = time.perf_counter()
    await action()
    if time.perf_counter() - started > budget / 10:
        times = [time.perf_counter() - started]  # the first call is the figure: no warm-up to speak of here
    else:
        times = []
        for _ in range(WARM_UP - 1):
            await action()
    spent = sum(times)
    while len(times) < repeat and spent < budget:
        if prepare is not None:
            await prepare()
        started = time.perf_counter()
        await action()
        times.append(time.perf_counter() - started)
        spent += times[-1]
    return times


async def send_checked(user: FakeUser, command: str, looks_right: Callable[[list[str]], bool]) -> None:
    """The command, and a check that the bot answered it as expected (a refusal would be fast and wrong)."""
    sent = await user.send(command)
    if not sent.texts or not looks_right(sent.texts[-1].splitlines()):
        raise AssertionError(f"{command} answered {sent.texts!r}")


def a_board(lines: list[str]) -> bool:
    """A board's first page: a title, then ranked lines."""
    return len(lines) > 2 and lines[1].startswith("1. ")


def a_score(lines: list[str]) -> bool:
    """/myscore: a title, the member's block and the section's."""
    return len(lines) >= 6


async def board_call(bot: InProcessBot, kind: TargetKind, period_kind: PeriodKind) -> None:
    async with bot.db.transaction() as session:
        period = await campaigns.period_at(session=session, kind=period_kind, today=NOW.date())
        assert period is not None
        board = await scoring.compute_board(
            session=session, rules=bot.settings.scoring_rules(), period=period, kind=kind, today=NOW.date()
        )
        assert board.ranked or board.unranked


async def outdate_boards(bot: InProcessBot, kinds: frozenset[TargetKind]) -> None:
    """What a change to both kinds' boards that is not a rating does (a renamed section, a new period): both are
    computed afresh from every tally."""
    async with bot.db.transaction() as session:
        boards.outdate_boards(session=session, kinds=kinds)


async def rate(bot: InProcessBot, kind: TargetKind, values: Iterator[int]) -> None:
    """A leader's confirmed rating of section 1 or member 3 (a colleague of the staff member asking), as the bot's
    rating form stores it; its value alternates, so that each one changes the tallies. The board of its kind is
    then computed again from the target it changed (storage.journal). The rating stays in the database: one more
    among its millions."""
    target_id = 1 if kind == TargetKind.SECTION else 3
    value = next(values)
    async with bot.db.transaction() as session:
        period = await campaigns.period_at(session=session, kind=PeriodKind.MONTH, today=NOW.date())
        assert period is not None
        new = ratings.NewRating(
            rater_id=data.LEADER_ID,
            rater_group=RaterGroup.INTERNAL,
            target_kind=kind,
            target_id=target_id,
            period_id=period.id or 0,
            scores=dict.fromkeys((standard.key for standard in bot.settings.campaign.standards), value),
            comment="",
            value=float(value),
            form_nonce=value,  # alternates: every rating replaces the one before
        )
        confirmed = await ratings.store_rating(session=session, new=new, now=NOW)
        assert confirmed is not None


@dataclass
class Row:
    backend: str
    size: int
    figures: dict[str, list[float]]

    def median(self, name: str) -> float:
        return percentile(self.figures[name], 0.5)

    def p99(self, name: str) -> float:
        return percentile(self.figures[name], 0.99)


# Each of these calls comes right after a change to what its boards read: a rating of a section or of a colleague,
# a new late task or a renamed colleague (the board of that kind computed again from the target it changed; the
# other kind's board stays kept), or a change to both kinds that is not a rating (both computed afresh).
COLD = (
    *("/ranking cold", "/myscore cold", "/myscore, colleague rated", "/myscore, section rated"),
    *("/ranking, task added", "/myscore, colleague renamed"),
)
FIGURES = ("/ranking", "/myscore", *COLD, "board sections", "board members")


def changes_before(bot: InProcessBot) -> dict[str, Callable[[], Awaitable[None]]]:
    """The change made before each cold call."""
    values = itertools.cycle((4, 5))
    return {
        "/ranking cold": partial(rate, bot, TargetKind.SECTION, values),
        "/myscore cold": partial(outdate_boards, bot, boards.EVERY_KIND),
        "/myscore, colleague rated": partial(rate, bot, TargetKind.MEMBER, values),
        "/myscore, section rated": partial(rate, bot, TargetKind.SECTION, values),
        "/ranking, task added": partial(add_late_task, bot),
        "/myscore, colleague renamed": partial(rename_colleague, bot, itertools.cycle(("同事甲", "同事乙"))),
    }


async def rename_colleague(bot: InProcessBot, names: Iterator[str]) -> None:
    """Member 3 (a colleague of the staff member asking) renamed, as /members does it: the individuals' board is
    computed again from that member (storage.journal)."""
    async with bot.db.transaction() as session:
        member = await members.get_member(session=session, member_id=3)
        assert member is not None
        member.display_name = next(names)
        await members.save_member(session=session, member=member)


async def add_late_task(bot: InProcessBot) -> None:
    """A new task of section 2, due three days ago: its lateness counts on the sections' board, which is computed
    again from that section (storage.journal). The task stays in the database."""
    async with bot.db.transaction() as session:
        await tasks.create_task(
            session=session,
            section_id=2,
            title="Late",
            due_on=NOW.date() - dt.timedelta(days=3),
            responsible_id=None,
            created_by_id=None,
        )


async def measure(backend: str, size: int, url: str, repeat: int, budget: float) -> Row:
    async with in_process_bot(url) as bot:
        ranking = partial(send_checked, bot.leader, "/ranking", a_board)
        myscore = partial(send_checked, bot.staff, "/myscore", a_score)
        actions: dict[str, Callable[[], Awaitable[object]]] = {
            "/ranking": ranking,
            "/myscore": myscore,
            **{name: ranking if name.startswith("/ranking") else myscore for name in COLD},
            "board sections": lambda: board_call(bot, TargetKind.SECTION, PeriodKind.CAMPAIGN),
            "board members": lambda: board_call(bot, TargetKind.MEMBER, PeriodKind.MONTH),
        }
        before = changes_before(bot)
        figures = {name: await timed(action, repeat, budget, before.get(name)) for name, action in actions.items()}
    return Row(backend, size, figures)


def print_rows(rows: list[Row]) -> None:
    header = f"{'backend':<11} {'ratings':>8}" + "".join(
        f" {name + ' p50':>20} {'p99':>10} {'n':>3}" for name in FIGURES
    )
    print(header)
    for row in rows:
        cells = "".join(
            f" {row.median(n) * 1000:>17.1f} ms {row.p99(n) * 1000:>7.1f} ms {len(row.figures[n]):>3}" for n in FIGURES
        )
        print(f"{row.backend:<11} {data.size_label(row.size):>8}{cells}")


def print_ratios(rows: list[Row]) -> None:
    """Largest size against the smallest, per backend and figure, with the targets."""
    limit = f"{TARGET_SECONDS * 1000:g} ms"
    print(f"\ntargets: median at the largest size ≤ {TARGET_RATIO} × at the smallest, and ≤ {limit}")
    for backend in dict.fromkeys(row.backend for row in rows):
        mine = sorted((row for row in rows if row.backend == backend), key=lambda row: row.size)
        small, large = mine[0], mine[-1]
        for name in FIGURES:
            ratio = large.median(name) / small.median(name)
            met = ratio <= TARGET_RATIO and large.median(name) <= TARGET_SECONDS
            print(
                f"{backend:<11} {name:<26} {data.size_label(large.size)}/{data.size_label(small.size)} = "
                f"{ratio:.2f}  ({large.median(name) * 1000:.1f} ms)  {'met' if met else 'MISSED'}"
            )


async def main_async(args: argparse.Namespace) -> None:
    backends = chosen_backends(args.backend)
    rows: list[Row] = []
    print(f"machine: {load_note()}; {args.repeat} repetitions after {WARM_UP} warm-up calls", flush=True)
    async with data.maybe_postgres(backends) as server:
        async for built in data.each_database(backends, data.parse_sizes(args.sizes), server):
            rows.append(await measure(built.backend, built.size, built.url, args.repeat, args.budget))
            print_rows(rows[-1:])
    print()
    print_rows(rows)
    print_ratios(rows)


def main() -> None:
    parser = backend_parser("Times /ranking, /myscore and compute_board at 10 k … 10 M stored ratings.")
    parser.add_argument("--sizes", default="10k,100k,1m,10m", help="comma-separated: 10k, 100k, 1m, 10m")
    parser.add_argument("--repeat", type=int, default=30, help="timed repetitions of each (30)")
    parser.add_argument("--budget", type=float, default=120, help="seconds per figure when calls are slow (120)")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
