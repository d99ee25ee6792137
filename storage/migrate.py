"""Upgrading the schema with Alembic, from inside the running event loop."""

from __future__ import annotations

import functools
import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.session import Database, take_start_up_turn

logger = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"


class DatabaseTooNewError(Exception):
    """The database was migrated by a newer version of the bot than this one."""


def alembic_config(url: str = "") -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url)
    return config


@functools.cache
def _scripts() -> ScriptDirectory:
    """The revision files, parsed once per process (about 0.1 s each time)."""
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    head = _scripts().get_current_head()
    assert head is not None, "storage/migrations has no revisions"
    return head


def known_revisions() -> frozenset[str]:
    return frozenset(script.revision for script in _scripts().walk_revisions())


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as connection:
        return await connection.run_sync(_current)


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def upgrade_database(engine: AsyncEngine) -> tuple[str | None, str]:
    """Upgrades to the newest revision; returns (before, after). Refuses a database newer than the code. A database
    already at the newest revision is left alone without starting Alembic."""
    before = await current_revision(engine)
    after = head_revision()
    if before == after:
        return before, after
    if before is not None and before not in known_revisions():
        raise DatabaseTooNewError(
            f"the database is at schema revision {before}, which this version of Shuangyou does not know: "
            "it was upgraded by a newer version. Run that version, "
            "or restore a backup taken before the upgrade."
        )
    config = alembic_config(engine.url.render_as_string(hide_password=False))

    def upgrade(connection: Connection) -> None:
        take_start_up_turn(connection)
        config.attributes["connection"] = connection
        command.upgrade(config, "head")

    async with engine.begin() as connection:
        await connection.run_sync(upgrade)
    logger.info("Database schema upgraded from %s to %s", before or "empty", after)
    return before, after


async def upgrade_at(url: str) -> str:
    """Upgrades the database at `url` through an engine of its own, closed after; returns the URL (the tests' and
    the benchmarks' templates)."""
    database = Database(url)
    try:
        await upgrade_database(database.engine)
    finally:
        await database.close()
    return url


async def downgrade_database(engine: AsyncEngine, revision: str) -> None:
    """Steps the schema back (used by tests of the migrations themselves)."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))

    def downgrade(connection: Connection) -> None:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)

    async with engine.begin() as connection:
        await connection.run_sync(downgrade)
