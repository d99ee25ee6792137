"""`python -m bot backup`: a consistent copy of the live SQLite database, restored by putting it in place."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from tests.cli import run_cli
from tests.conftest import Bot
from tests.factories import make_member, make_section


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
