"""Alembic environment: runs on a connection handed over by storage/migrate.py, or on its own."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from alembic import context
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

from storage.models import AwareDateTime  # also registers the tables on SQLModel.metadata
from storage.session import create_engine

target_metadata = SQLModel.metadata


def render_item(kind: str, item: Any, autogen_context: Any) -> str | Literal[False]:
    """Writes our column types as plain SQLAlchemy types, so revisions do not import the models."""
    if kind == "type" and isinstance(item, AwareDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def do_run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        render_item=render_item,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations(url: str) -> None:
    engine = create_engine(url)
    async with engine.connect() as connection:
        await connection.run_sync(do_run_migrations)
    await engine.dispose()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        do_run_migrations(connection)
    else:
        asyncio.run(run_async_migrations(context.config.get_main_option("sqlalchemy.url") or ""))


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `python -m bot migrate`")
run_migrations_online()
