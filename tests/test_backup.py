"""`python -m bot backup`: a consistent copy of the live SQLite database, restored by putting it in place."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import stat
import subprocess
from pathlib import Path

import pytest

from tests.cli import call_cli, run_cli
from tests.conftest import Bot
from tests.factories import make_member, make_section
from tests.small_disk import SmallDisk


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_backup_of_the_running_bot_restores_everything(bot: Bot, tmp_path: Path) -> None:
    section = await make_section(bot.db, "办公室")
    for number in range(20):
        await make_member(bot.db, 800 + number, f"Member {number}", section=section)
    copy = tmp_path / "copy.db"

    async def keep_writing() -> None:  # the bot keeps working while the copy is made
        for number in range(20, 40):
            await make_member(bot.db, 800 + number, f"Member {number}", section=section)

    env = {"DATABASE_URL": str(bot.db.engine.url)}
    made, _ = await asyncio.gather(
        asyncio.to_thread(run_cli, "backup", "--out", str(copy), cwd=tmp_path, env=env), keep_writing()
    )

    assert made.returncode == 0, made.stderr
    assert f"to {copy}" in made.stdout
    with sqlite3.connect(copy) as restored:
        assert restored.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        count = restored.execute("SELECT count(*) FROM member").fetchone()[0]
    assert 20 <= count <= 40
    restored_env = {"DATABASE_URL": f"sqlite+aiosqlite:///{copy}"}
    checked = await asyncio.to_thread(run_cli, "check", cwd=tmp_path, env=restored_env)
    assert "ok  database" in checked.stdout and "ok  score tallies" in checked.stdout
    again = await asyncio.to_thread(run_cli, "backup", "--out", str(copy), cwd=tmp_path, env=env)
    assert again.returncode == 1 and "exists already" in again.stderr


def test_postgresql_is_backed_up_with_its_own_tools(tmp_path: Path) -> None:
    result = run_cli("backup", cwd=tmp_path, env={"DATABASE_URL": "postgresql+asyncpg://bot:secret@db/shuangyou"})

    assert result.returncode == 0
    assert "pg_dump --format=custom" in result.stdout and "pg_restore" in result.stdout
    assert "secret" not in result.stdout


def test_no_database_no_backup(tmp_path: Path) -> None:
    result = run_cli("backup", cwd=tmp_path, env={"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'none.db'}"})

    assert result.returncode == 1 and "there is no database at" in result.stderr


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_database_backup_export_and_links_are_for_their_owner_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], request: pytest.FixtureRequest
) -> None:
    previous = os.umask(0o022)  # the usual umask: files readable by everyone on the machine unless made otherwise
    request.addfinalizer(lambda: os.umask(previous))
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{fresh / 'shuangyou.db'}"}
    (fresh / "roster.csv").write_text("name,section,role\n张三,办公室,head\n", encoding="utf-8")

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return call_cli(monkeypatch, capsys, *args, cwd=fresh, env=env)

    assert cli("import-staff", "roster.csv", "--bot-username", "ShuangyouBot", "--out", "invites.csv").returncode == 0
    assert cli("export", "--out", "scores.xlsx").returncode == 0
    assert cli("backup", "--out", "copy.db").returncode == 0

    made = {path.name: mode(path) for path in fresh.iterdir() if path.name != "roster.csv"}
    assert {"shuangyou.db", "invites.csv", "scores.xlsx", "scores.csv", "copy.db"} <= set(made)
    assert made == dict.fromkeys(made, 0o600)  # the database's -wal and -shm files too


def test_a_backup_or_export_to_a_full_disk_says_so_in_one_line_and_leaves_nothing(
    small_disk: SmallDisk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "shuangyou.db"
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{database}"}
    assert call_cli(monkeypatch, capsys, "migrate", cwd=tmp_path, env=env).returncode == 0
    small_disk.fill()
    target = small_disk.mount_point / "copy.db"

    backed_up = call_cli(monkeypatch, capsys, "backup", "--out", str(target), cwd=tmp_path, env=env)
    exported_to = small_disk.mount_point / "x.xlsx"
    exported = call_cli(monkeypatch, capsys, "export", "--out", str(exported_to), cwd=tmp_path, env=env)

    assert backed_up.returncode == 1
    assert backed_up.stderr.startswith("backup: cannot ") and backed_up.stderr.count("\n") == 1
    assert "full" in backed_up.stderr or "No space left" in backed_up.stderr
    assert exported.returncode == 1
    assert exported.stderr == f"export: cannot write {exported_to}: No space left on device\n"
    assert sorted(path.name for path in small_disk.mount_point.iterdir()) == ["filler"]
