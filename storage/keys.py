"""The bot's secret keys: made once by whichever instance asks first, then read by every instance."""

from __future__ import annotations

import datetime as dt
import secrets

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import SigningKey
from storage.session import upsert_insert

RATING_FORM_KEY = "rating_form"
WEB_KEY = "web"  # the web pages' cookies, forms and private links (web/guards.py)
KEY_BYTES = 32


async def signing_key(*, session: AsyncSession, name: str, now: dt.datetime) -> bytes:
    """The key called `name`, made now if there is none yet (two instances starting at once agree on one)."""
    made = secrets.token_hex(KEY_BYTES)
    statement = (
        upsert_insert(session)(SigningKey)
        .values(name=name, secret=made, created_at=now)
        .on_conflict_do_nothing(index_elements=["name"])
    )
    await session.exec(statement)
    stored = (await session.exec(select(SigningKey.secret).where(SigningKey.name == name))).one()
    return bytes.fromhex(stored)
