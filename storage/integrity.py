"""Whether the database's own storage is sound (`python -m bot check`): pages SQLite can read back as they were
written, or no page PostgreSQL found damaged."""

from __future__ import annotations

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

SHOWN_PROBLEMS = 5
SQLITE_DAMAGE_CODES = {11, 26}  # SQLITE_CORRUPT, SQLITE_NOTADB


def is_damage(error: BaseException) -> bool:
    """Whether `error` is SQLite saying the file is damaged (it may say so before any check can run)."""
    code = getattr(getattr(error, "orig", None), "sqlite_errorcode", None)
    return isinstance(code, int) and code & 0xFF in SQLITE_DAMAGE_CODES


async def check_integrity(*, session: AsyncSession) -> list[str]:
    """What is damaged, in the database's own words; empty when nothing is. SQLite reads every page
    (`PRAGMA integrity_check`, about a second per 100 MB); PostgreSQL reports the pages whose checksum failed since
    the server started (where checksums are on; a full check needs the amcheck extension and a long read)."""
    connection = await session.connection()
    if connection.dialect.name == "sqlite":
        rows = (await connection.execute(text(f"PRAGMA integrity_check({SHOWN_PROBLEMS})"))).scalars().all()
        problems = [str(row) for row in rows]
        return [] if problems == ["ok"] else problems
    failures = (
        await connection.execute(
            text("SELECT coalesce(checksum_failures, 0) FROM pg_stat_database WHERE datname = current_database()")
        )
    ).scalar_one()
    return [f"{failures} pages failed their checksum"] if failures else []
