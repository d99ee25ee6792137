"""`python -m bot backup`: a consistent copy of the live SQLite database, while the bot runs.

SQLite's online backup API copies the database page by page under its own locks, so the copy is a consistent
snapshot even while the bot writes (WAL mode). PostgreSQL has its own tools; `pg_dump` is explained instead.
Restoring: stop the bot, put the copy in the database's place (or point DATABASE_URL at it), start the bot.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from contextlib import closing
from pathlib import Path

from sqlalchemy.engine import make_url

from storage.files import OutputError, private_output

PG_DUMP_HELP = """\
The database is PostgreSQL: back it up with its own tools, which copy a live database consistently:
  pg_dump --format=custom --file=shuangyou.dump '{url}'
and restore into an empty database (with the bot stopped) with:
  pg_restore --clean --if-exists --no-owner --dbname='{url}' shuangyou.dump"""


class BackupError(Exception):
    """A backup that cannot be made; the message says why in one line."""


def sqlite_path(database_url: str) -> Path | None:
    url = make_url(database_url)
    if not url.drivername.startswith("sqlite"):
        return None
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database has nothing to back up")
    return Path(url.database)


def default_backup_name(now: dt.datetime) -> Path:
    return Path(f"shuangyou-backup-{now:%Y%m%d-%H%M%S}.db")


def backup_sqlite(source: Path, target: Path) -> int:
    """Copies `source` to `target` (0600) with the online backup API; returns the copy's size in bytes. The copy is
    made under a temporary name and checked before it takes its own: a failure (a full disk) leaves nothing."""
    if not source.exists():
        raise BackupError(f"there is no database at {source}")
    if target.exists():
        raise BackupError(f"{target} exists already; choose another --out")
    try:
        with private_output(target) as partial:
            _copy(source, partial)
    except OutputError as error:
        raise BackupError(str(error)) from None
    return target.stat().st_size


def _copy(source: Path, partial: Path) -> None:
    try:
        with (
            closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as live,
            closing(sqlite3.connect(partial)) as copy,
        ):
            live.backup(copy)
        with closing(sqlite3.connect(partial)) as copy:
            status = copy.execute("PRAGMA integrity_check").fetchone()[0]
    except sqlite3.Error as error:
        raise BackupError(f"cannot copy {source}: {error}") from None
    if status != "ok":
        raise BackupError(f"the copy failed its integrity check ({status}); nothing was kept")


def postgres_help(database_url: str) -> str:
    url = make_url(database_url).set(drivername="postgresql")
    return PG_DUMP_HELP.format(url=url.render_as_string(hide_password=True))
