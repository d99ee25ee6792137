"""The command line: `python -m bot run | console | migrate` (see `--help` of each)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import importlib.metadata
import logging
import signal
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from telegram import Bot, Update
from telegram.error import InvalidToken, TelegramError

from bot import backup, export
from bot.app import build_application, collect_less_often, configure_logging, on_start, on_stop, services_of
from bot.check import run_checks
from bot.config import ConfigError, Settings, load_settings
from bot.console import run_console
from bot.context import BotApplication
from bot.demo import run_demo
from bot.i18n import translator
from bot.roster import RosterError, read_roster
from storage import roster
from storage.files import OutputError, private_output, write_private
from storage.migrate import DatabaseTooNewError, upgrade_database
from storage.session import Database, DatabaseUnavailable
from storage.sqlite_driver import DriverMismatch
from web.app import build_web_app
from web.server import web_server, with_port_chosen
from web.telegram import webhook_secret

logger = logging.getLogger("bot")

EXIT_FAILURE = 1
EXIT_BAD_CONFIG = 2

NO_TOKEN = """\
No BOT_TOKEN is set, so I am not connecting to Telegram.
To run the real bot: open Telegram, talk to @BotFather, send /newbot, follow its questions,
and start me with the token it gives you:   BOT_TOKEN=123456789:AAE... python -m bot run
Starting the terminal console instead, on the database {database}."""


def installed_version() -> str:
    """This release's version, as installed (pyproject.toml)."""
    try:
        return importlib.metadata.version("shuangyou")
    except importlib.metadata.PackageNotFoundError:
        return "unknown (not installed: pip install -e .)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="Shuangyou (双优): the Telegram bot of a quality-service campaign.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {installed_version()}")
    parser.add_argument("--config", type=Path, help="the config file (default: $SHUANGYOU_CONFIG, else ./config.toml)")
    parser.add_argument("--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = commands.add_parser(
        "run",
        help="connect to Telegram (the default); without BOT_TOKEN, start the console",
        description="Connects to Telegram with BOT_TOKEN by long polling, or as a webhook with --webhook. "
        "Without BOT_TOKEN it explains how to get one and starts the terminal console.",
    )
    run.add_argument("--webhook", metavar="URL", help="the public HTTPS URL Telegram posts updates to")
    run.add_argument(
        "--port", type=int, help="the web server's port, for the pages and the webhook (default: [web] port, 8080)"
    )
    run.add_argument("--listen", help="the address it listens on (default: [web] listen, 127.0.0.1)")

    commands.add_parser(
        "console",
        help="talk to the bot in this terminal, without Telegram",
        description="Runs the bot on an in-process Bot API and talks to it as one or more users. "
        "Reads standard input too: printf '/start\\n/help\\n' | python -m bot console",
    )
    staff = commands.add_parser(
        "import-staff",
        help="create or update sections and members from a CSV roster",
        description="Reads a UTF-8 CSV with a header: name, section, role (staff, head, leader, admin), "
        "and optionally telegram (@username or numeric id) and kind (office or station). Everything is "
        "imported in one transaction, or nothing: the first bad row is reported with its line number. Running "
        "it again updates the same people. Members without Telegram get a personal invitation link each, "
        "written to --out.",
    )
    staff.add_argument("file", type=Path, help="the roster, a UTF-8 CSV file")
    staff.add_argument("--out", type=Path, default=Path("invites.csv"), help="where the invitation links go")
    staff.add_argument("--bot-username", help="the bot's @username, for the links (else asked from Telegram)")
    staff.add_argument("--valid-days", type=int, default=30, help="how long the personal links work (30)")

    exporting = commands.add_parser(
        "export",
        help="write the scores to an XLSX workbook and a CSV",
        description="Writes every section's and member's score per period, standard and rater group, with raters, "
        "deductions and participation, to --out (XLSX) and the same name with .csv.",
    )
    exporting.add_argument("--period", help="one period: 2026-06, 2026-Q2, 2026 or campaign (default: all)")
    exporting.add_argument("--out", type=Path, default=Path("shuangyou-scores.xlsx"), help="the workbook to write")
    checking = commands.add_parser(
        "check",
        help="check the database, the token, the chart font and the score tallies",
        description="Checks that the database is reachable and at this version's schema, that Telegram accepts "
        "BOT_TOKEN (getMe), that a font for Chinese charts is there, and that the score tallies match a "
        "recomputation from the raw ratings; a line each, exit status 1 when something is wrong. Changes nothing, "
        "except that --repair rebuilds the tallies.",
    )
    checking.add_argument("--repair", action="store_true", help="replace the tallies with the recomputation")
    commands.add_parser(
        "demo",
        help="fill a fresh database with a sample campaign, to try the console on",
        description="Makes up a city tourism bureau's campaign in the database at DATABASE_URL: 12 sections and "
        "stations, about 100 members, months of ratings and public reviews, tasks open, overdue and done, "
        "leaderboard snapshots and a campaign group. Then `python -m bot console` shows it all. A database that "
        "has members already is left alone (exit code 2).",
    )
    saving = commands.add_parser(
        "backup",
        help="copy the live SQLite database consistently (PostgreSQL: explains pg_dump)",
        description="Copies the SQLite database at DATABASE_URL with SQLite's online backup API, so the copy is "
        "consistent even while the bot runs. To restore: stop the bot, put the copy in the database's place (or "
        "point DATABASE_URL at it) and start the bot. For PostgreSQL it prints the pg_dump and pg_restore commands.",
    )
    saving.add_argument("--out", type=Path, help="the copy (default: shuangyou-backup-<date>-<time>.db)")
    commands.add_parser(
        "migrate",
        help="upgrade the database schema to this version",
        description="Upgrades the database at DATABASE_URL to the newest schema (start-up does this too).",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings(args.config)
    except ConfigError as error:
        print(f"config error: {error}", file=sys.stderr)
        return EXIT_BAD_CONFIG
    command = args.command or "run"
    at_the_console = command == "console" or (command == "run" and settings.bot_token is None)
    secret = settings.bot_token.get_secret_value() if settings.bot_token else ""
    configure_logging(logging.WARNING if at_the_console else getattr(logging, args.log_level), secret=secret)
    try:
        if command == "migrate":
            asyncio.run(migrate(settings))
        elif command == "import-staff":
            return asyncio.run(import_staff(settings, args))
        elif command == "demo":
            return asyncio.run(run_demo(settings))
        elif command == "export":
            return asyncio.run(export_scores(settings, args))
        elif command == "backup":
            return make_backup(settings, args)
        elif command == "check":
            return asyncio.run(check(settings, args))
        elif command == "console":
            asyncio.run(run_console(settings))
        elif settings.bot_token is None:
            database = make_url(settings.database_url).render_as_string(hide_password=True)
            print(NO_TOKEN.format(database=database), file=sys.stderr)
            asyncio.run(run_console(settings))
        else:
            run_bot(settings, args)
    except RosterError as error:
        for problem in str(error).splitlines():
            print(f"{args.file}: {problem}", file=sys.stderr)
        print("Nothing was imported.", file=sys.stderr)
        return EXIT_FAILURE
    except DatabaseTooNewError as error:
        print(f"database error: {error}", file=sys.stderr)
        return EXIT_BAD_CONFIG
    except OutputError as error:  # a file of the command's own (not the database): say which, and why
        print(f"{command}: {error}", file=sys.stderr)
        return EXIT_FAILURE
    except DriverMismatch as error:
        print(f"install error: {error}", file=sys.stderr)
        return EXIT_BAD_CONFIG
    except (SQLAlchemyError, OSError, DatabaseUnavailable) as error:
        where = make_url(settings.database_url).render_as_string(hide_password=True)
        reason = str(error).splitlines()[0] if str(error) else ""
        print(f"database error: cannot use {where}: {error.__class__.__name__}: {reason}", file=sys.stderr)
        return EXIT_FAILURE
    except InvalidToken:
        print("error: Telegram refused BOT_TOKEN; check it with @BotFather (/mybots → API Token)", file=sys.stderr)
        return EXIT_BAD_CONFIG
    except TelegramError as error:
        print(f"error: Telegram: {error}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        pass
    return 0


async def migrate(settings: Settings) -> None:
    """Upgrades the schema, then lets go of the connections (the bot opens its own in its own loop)."""
    db = Database(settings.database_url)
    try:
        before, after = await upgrade_database(db.engine)
    finally:
        await db.close()
    if before == after:
        logger.info("The database is up to date (schema %s).", after)


async def import_staff(settings: Settings, args: argparse.Namespace) -> int:
    """`import-staff`: the roster into the database in one transaction, the personal links into a CSV."""
    try:
        data = args.file.read_bytes()
    except OSError as error:
        print(f"{args.file}: cannot read it ({error.strerror})", file=sys.stderr)
        return EXIT_FAILURE
    rows = read_roster(data)
    needs_links = any(row.telegram_id is None and row.username is None for row in rows)
    username = args.bot_username.lstrip("@") if args.bot_username else None
    if needs_links and username is None:
        username = await bot_username(settings)
    db = Database(settings.database_url)
    try:
        await upgrade_database(db.engine)
        async with db.transaction() as session:
            report = await roster.import_roster(
                session=session, entries=list(rows), now=datetime.now(UTC), invite_days=args.valid_days
            )
    finally:
        await db.close()
    if report.invites:
        write_invites(args.out, report.invites, username or "")
    print(render_report(report, args.out))
    return 0


async def export_scores(settings: Settings, args: argparse.Namespace) -> int:
    """`export`: the workbook and the CSV, texts in the configured default language."""
    db = Database(settings.database_url)
    try:
        await upgrade_database(db.engine)
        async with db.transaction() as session:
            try:
                periods = await export.chosen_periods(session, args.period)
            except ValueError as error:
                print(f"export: {error}", file=sys.stderr)
                return EXIT_BAD_CONFIG
            rows = await export.export_rows(session, settings, periods, datetime.now(settings.tz).date())
    finally:
        await db.close()
    tr = translator(settings.bot.default_language)
    out: Path = args.out if args.out.suffix else args.out.with_suffix(".xlsx")
    await asyncio.to_thread(write_private, out, export.workbook_bytes(tr, settings, rows))
    await asyncio.to_thread(write_private, out.with_suffix(".csv"), export.csv_bytes(tr, settings, rows))
    print(f"Wrote {_count(len(rows), 'row')} to {out} and {out.with_suffix('.csv')}.")
    return 0


def make_backup(settings: Settings, args: argparse.Namespace) -> int:
    """`backup`: the SQLite copy, or how to back up PostgreSQL."""
    try:
        source = backup.sqlite_path(settings.database_url)
        if source is None:
            print(backup.postgres_help(settings.database_url))
            return 0
        target: Path = args.out or backup.default_backup_name(datetime.now(settings.tz))
        size = backup.backup_sqlite(source, target)
    except backup.BackupError as error:
        print(f"backup: {error}", file=sys.stderr)
        return EXIT_FAILURE
    print(f"Backed up {source} to {target} ({size:,} bytes). To restore: stop the bot and put it in its place.")
    return 0


async def check(settings: Settings, args: argparse.Namespace) -> int:
    """`check`: the database, the token, the chart font and the score tallies, a line each."""
    findings = await run_checks(settings, repair=args.repair)
    for finding in findings:
        print(finding.line())
    return 0 if all(finding.ok for finding in findings) else EXIT_FAILURE


async def bot_username(settings: Settings) -> str:
    if settings.bot_token is None:
        raise RosterError(
            "the links of members without Telegram need the bot's username: pass --bot-username NAME (or set BOT_TOKEN)"
        )
    base_url = settings.telegram_base_url or "https://api.telegram.org/bot"
    async with Bot(settings.bot_token.get_secret_value(), base_url=base_url) as bot:
        return bot.username


def write_invites(path: Path, invites: list[roster.PersonalInvite], username: str) -> None:
    """The personal links (each registers its person, heads included) into a CSV only its owner can read."""
    with private_output(path) as partial, partial.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["name", "section", "role", "link"])
        for invite in invites:
            writer.writerow(
                [invite.name, invite.section, invite.role.value, f"https://t.me/{username}?start=i_{invite.token}"]
            )


def render_report(report: roster.ImportReport, out: Path) -> str:
    total = report.created + report.updated
    text = (
        f"Imported {_count(total, 'member')} ({report.created} new, {report.updated} updated) "
        f"and {_count(report.sections_created, 'new section')}."
    )
    if report.invites:
        waiting = len(report.invites)
        text += f" {_count(waiting, 'member')} without Telegram yet: their personal links are in {out}."
    if report.deactivated:
        text += (
            f"\n{_count(len(report.deactivated), 'row')} matched a deactivated member, left deactivated "
            f"(reactivate them in /members if they are back): {_people(report.deactivated)}."
        )
    if report.same_name:
        text += (
            f"\n{_count(len(report.same_name), 'row')} had the name of an account that registered on its own; that "
            f"account was left as it is and the row got a personal link of its own. If they are the same person, "
            f"approve or change the account in /members and withdraw the link in /invites: {_people(report.same_name)}."
        )
    return text


def _people(rows: list[roster.LeftAlone]) -> str:
    return ", ".join(f"{row.name} ({row.section})" if row.section else row.name for row in rows)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def run_bot(settings: Settings, args: argparse.Namespace) -> None:
    settings = with_port_chosen(with_web_address(settings, getattr(args, "listen", None), getattr(args, "port", None)))
    asyncio.run(migrate(settings))
    application = build_application(settings)
    collect_less_often()
    asyncio.run(serve(application, settings, getattr(args, "webhook", None)))


def with_web_address(settings: Settings, listen: str | None, port: int | None) -> Settings:
    """--listen and --port, when given, win over [web] listen and port."""
    changes = {key: value for key, value in (("listen", listen), ("port", port)) if value is not None}
    return settings.model_copy(update={"web": settings.web.model_copy(update=changes)}) if changes else settings


async def serve(application: BotApplication, settings: Settings, webhook_url: str | None) -> None:
    """Long polling, or Telegram's webhook on the web server's port, with the web pages beside it, until SIGINT or
    SIGTERM; then everything stops in order (the updates in hand are finished)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, stop.set)
    path = urlparse(webhook_url).path.strip("/") if webhook_url else ""
    pages = build_web_app(services_of(application), application, webhook_path=path)
    async with application:
        await on_start(application)
        async with web_server(pages, settings.web) if settings.web.enabled or webhook_url else _nothing() as server:
            if webhook_url:
                assert settings.bot_token is not None
                await application.bot.set_webhook(
                    webhook_url,
                    secret_token=webhook_secret(settings.bot_token.get_secret_value()),
                    allowed_updates=Update.ALL_TYPES,
                )
            else:
                assert application.updater is not None
                await application.updater.start_polling(allowed_updates=Update.ALL_TYPES)
            await application.start()
            if server is not None:
                logger.info(
                    "Web pages at %s (listening on %s:%d)", settings.web.base_url(), settings.web.listen, server.port
                )
            await stop.wait()
            if application.updater is not None and application.updater.running:
                await application.updater.stop()
            await application.stop()
    await on_stop(application)


@contextlib.asynccontextmanager
async def _nothing() -> AsyncIterator[None]:
    yield None


if __name__ == "__main__":
    sys.exit(main())
