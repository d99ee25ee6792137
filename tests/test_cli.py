"""The command line as an operator uses it: run, console, migrate, and their --help. Each command runs once as a real
process (`run_cli`); the other cases call the same `main` in this process (`call_cli`)."""

from __future__ import annotations

import argparse
import gc
import importlib.metadata
import sqlite3
import subprocess
from contextlib import closing
from functools import partial
from pathlib import Path
from typing import Protocol

import pytest
import sqlalchemy

import bot.__main__ as cli
from bot.app import YOUNG_COLLECTION_EVERY
from bot.config import Settings
from tests.cli import ROOT, call_cli, run_cli


class Cli(Protocol):
    def __call__(
        self, *args: str, cwd: Path, stdin: str = "", env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]: ...


@pytest.fixture
def in_process(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Cli:
    return partial(call_cli, monkeypatch, capsys)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A fresh directory holding the shipped config.toml, as a checkout would."""
    (tmp_path / "config.toml").write_text((ROOT / "config.toml").read_text(encoding="utf-8"), encoding="utf-8")
    return tmp_path


def test_console_answers_start_and_help_from_standard_input(workdir: Path) -> None:
    result = run_cli("console", cwd=workdir, stdin="/start\n/help\n")

    assert result.returncode == 0, result.stderr
    assert "欢迎使用双优助手" in result.stdout
    assert "/help — 你可以在这里做的事" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    assert (workdir / "shuangyou.db").exists()


def test_run_without_token_explains_botfather_and_starts_the_console(workdir: Path, in_process: Cli) -> None:
    result = in_process("run", cwd=workdir, stdin="/help\n", env={"SHUANGYOU_BOT__DEFAULT_LANGUAGE": "en"})

    assert result.returncode == 0, result.stderr
    assert "@BotFather" in result.stderr and "/newbot" in result.stderr
    assert "terminal console" in result.stderr and "sqlite+aiosqlite:///shuangyou.db" in result.stderr
    assert "/help — What you can do here" in result.stdout


def test_no_command_means_run(workdir: Path, in_process: Cli) -> None:
    result = in_process(cwd=workdir, stdin="/start\n")

    assert result.returncode == 0, result.stderr
    assert "@BotFather" in result.stderr and "欢迎使用双优助手" in result.stdout


@pytest.mark.parametrize(
    "command", [[], ["run"], ["console"], ["migrate"], ["import-staff"], ["check"], ["export"], ["demo"]]
)
def test_every_command_has_help(workdir: Path, command: list[str], in_process: Cli) -> None:
    result = in_process(*command, "--help", cwd=workdir)

    assert result.returncode == 0
    assert result.stdout.startswith("usage: python -m bot")


def test_help_of_the_real_process(workdir: Path) -> None:
    result = run_cli("--help", cwd=workdir)

    assert result.returncode == 0
    assert result.stdout.startswith("usage: python -m bot") and "console" in result.stdout


def test_version_is_printed(workdir: Path, in_process: Cli) -> None:
    result = in_process("--version", cwd=workdir)

    assert result.returncode == 0
    assert result.stdout.strip() == f"python -m bot {importlib.metadata.version('shuangyou')}"


def test_migrate_creates_the_schema(workdir: Path) -> None:
    result = run_cli("migrate", cwd=workdir)

    assert result.returncode == 0, result.stderr
    with sqlite3.connect(workdir / "shuangyou.db") as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"member", "section", "campaign", "period", "alembic_version"} <= tables


def test_database_newer_than_the_code_stops_start_up_with_one_line(workdir: Path, in_process: Cli) -> None:
    assert in_process("migrate", cwd=workdir).returncode == 0
    with sqlite3.connect(workdir / "shuangyou.db") as connection:
        connection.execute("UPDATE alembic_version SET version_num = '9999_future'")

    result = in_process("console", cwd=workdir, stdin="/start\n")

    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "database error: the database is at schema revision 9999_future, which this version of Shuangyou does "
        "not know: it was upgraded by a newer version. Run that version, or restore a backup taken before the upgrade."
    ]


def test_unreachable_database_is_one_line(workdir: Path, in_process: Cli) -> None:
    result = in_process("migrate", cwd=workdir, env={"DATABASE_URL": "postgresql://nobody:secret@127.0.0.1:1/none"})

    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("database error: cannot use postgresql+asyncpg://nobody:***@127.0.0.1:1/none")


def test_bad_token_shape_is_a_config_error(workdir: Path, in_process: Cli) -> None:
    result = in_process("run", cwd=workdir, env={"BOT_TOKEN": "hello"})

    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == "config error: environment: BOT_TOKEN: the token from @BotFather, shaped like 123456789:AAE..."
    )


def test_import_staff_with_a_bad_row_says_nothing_was_imported(workdir: Path, in_process: Cli) -> None:
    (workdir / "roster.csv").write_text("name,section,role\n张三,办公室,staff\n李四,办公室,boss\n", encoding="utf-8")

    result = in_process("import-staff", "roster.csv", "--bot-username", "ShuangyouBot", cwd=workdir)

    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-2:] == [
        "roster.csv: line 3: unknown role “boss” (expected staff, head, leader or admin)",
        "Nothing was imported.",
    ]
    assert not (workdir / "shuangyou.db").exists(), "the file is checked before the database is touched"


def test_import_staff_writes_the_personal_links(workdir: Path) -> None:
    (workdir / "roster.csv").write_text("name,section,role\n张三,办公室,staff\n", encoding="utf-8")

    result = run_cli("import-staff", "roster.csv", "--bot-username", "ShuangyouBot", "--out", "links.csv", cwd=workdir)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "Imported 1 member (1 new, 0 updated) and 1 new section. "
        "1 member without Telegram yet: their personal links are in links.csv."
    )
    assert "start=i_" in (workdir / "links.csv").read_text(encoding="utf-8-sig")


def test_check_reports_each_part_and_never_the_token(workdir: Path, in_process: Cli) -> None:
    token = "123456789:AAEabcdefghijklmnopqrstuvwxyz012345678"

    fresh = run_cli("check", cwd=workdir)
    assert fresh.returncode == 1
    assert "PROBLEM  database:" in fresh.stdout and "python -m bot migrate" in fresh.stdout

    assert in_process("migrate", cwd=workdir).returncode == 0
    healthy = in_process("check", cwd=workdir)
    assert healthy.returncode == 0, healthy.stdout
    assert [line.split(":")[0].split()[-1] for line in healthy.stdout.splitlines()] == [
        "config", "database", "tallies", "token", "font", "calendar",
    ]  # fmt: skip

    unreachable = in_process(
        "check", cwd=workdir, env={"BOT_TOKEN": token, "TELEGRAM_BASE_URL": "http://127.0.0.1:9/bot"}
    )
    assert unreachable.returncode == 1 and "PROBLEM  token: Telegram could not be asked" in unreachable.stdout
    assert token not in unreachable.stdout + unreachable.stderr


def test_check_fails_loudly_on_a_database_with_damaged_pages(workdir: Path, in_process: Cli) -> None:
    assert in_process("migrate", cwd=workdir).returncode == 0
    database = workdir / "shuangyou.db"
    with closing(sqlite3.connect(database)) as connection, connection:
        connection.execute("CREATE TABLE notes (body TEXT)")
        connection.execute("CREATE INDEX notes_body ON notes (body)")
        connection.executemany("INSERT INTO notes VALUES (?)", [(f"note-{number:04}",) for number in range(300)])
    content = database.read_bytes()  # one row's bytes changed where it is stored, as a bad disk would:
    at = content.index(b"note-0200")  # every query still runs, but the row and its index disagree
    database.write_bytes(content[:at] + b"note-9999" + content[at + 9 :])

    result = in_process("check", cwd=workdir)

    assert result.returncode == 1
    (line,) = [line for line in result.stdout.splitlines() if "database:" in line]
    assert line.startswith("PROBLEM  database: sqlite+aiosqlite:///shuangyou.db is damaged: ")
    assert line.endswith("Stop the bot and restore the last backup"), line


def test_a_campaign_year_without_an_official_calendar_is_a_warning_of_check(workdir: Path, in_process: Cli) -> None:
    assert in_process("migrate", cwd=workdir).returncode == 0
    next_year = {"SHUANGYOU_CAMPAIGN__STARTS": "2027-05-01", "SHUANGYOU_CAMPAIGN__ENDS": "2027-12-31"}

    result = in_process("check", cwd=workdir, env=next_year)

    assert result.returncode == 0, result.stdout
    (line,) = [line for line in result.stdout.splitlines() if "calendar:" in line]
    assert line.startswith("WARNING  calendar: the working-day calendar has no official schedule for CN 2027")
    assert "holidays" in line


def test_sqlalchemy_that_the_sqlite_driver_does_not_fit_stops_start_up_with_one_line(
    workdir: Path, in_process: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlalchemy, "__version__", "2.0.44")  # the release pyproject.toml allowed before

    result = in_process("migrate", cwd=workdir)

    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "install error: storage/sqlite_driver.py does not fit SQLAlchemy 2.0.44: it was written for SQLAlchemy 2.1.x "
        "and aiosqlite 0.22.x. Install the tested releases: pip install -c constraints.txt -e ."
    ]
    assert not (workdir / "shuangyou.db").exists()


def test_the_bot_process_collects_garbage_less_often_once_it_is_built(monkeypatch: pytest.MonkeyPatch) -> None:
    """`python -m bot run` freezes what the start-up made and raises the collector's threshold before it starts
    polling (the collector took a good share of every update and board: bench/README.md)."""
    seen: dict[str, int] = {}

    async def no_migration(_settings: Settings) -> None:
        return None

    async def serve(_application: object, _settings: Settings, _webhook: str | None) -> None:
        seen.update(threshold=gc.get_threshold()[0], frozen=gc.get_freeze_count())

    monkeypatch.setattr(cli, "migrate", no_migration)
    monkeypatch.setattr(cli, "build_application", lambda _settings: object())
    monkeypatch.setattr(cli, "serve", serve)
    threshold = gc.get_threshold()
    try:
        cli.run_bot(Settings(), argparse.Namespace(webhook=None, listen=None, port=None))
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
    assert seen["threshold"] == YOUNG_COLLECTION_EVERY
    assert seen["frozen"] > 0
