"""What the bot waits for a user to type next. Kept in the database so that a restart loses nothing."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy.orm.util import identity_key
from sqlmodel import col, delete
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Dialog
from storage.session import upsert_insert

DIALOG_LIFETIME = dt.timedelta(hours=24)


async def get_dialog(*, session: AsyncSession, telegram_id: int, now: dt.datetime) -> Dialog | None:
    """The user's open dialog, unless it was left alone for more than a day."""
    dialog = await session.get(Dialog, telegram_id)
    if dialog is None or now - dialog.updated_at > DIALOG_LIFETIME:
        return None
    return dialog


async def set_dialog(
    *, session: AsyncSession, telegram_id: int, step: str, data: dict[str, Any], now: dt.datetime
) -> None:
    """Starts (or replaces) the user's dialog: one upsert, built once per dialect."""
    params = {"telegram_id": telegram_id, "step": step, "data": dict(data), "updated_at": now}
    await session.exec(_set(upsert_insert(session)), params=params)
    known = session.identity_map.get(identity_key(Dialog, telegram_id))
    if known is not None:
        session.expunge(known)  # read again if this session asks for it


@functools.cache
def _set(insert: Any) -> Any:
    table = Dialog.__table__  # type: ignore[attr-defined]
    statement = insert(table)
    replaced = ("step", "data", "updated_at")
    return statement.on_conflict_do_update(
        index_elements=["telegram_id"], set_={name: statement.excluded[name] for name in replaced}
    )


async def clear_dialog(*, session: AsyncSession, telegram_id: int, steps: tuple[str, ...] = ()) -> bool:
    """Whether there was a dialog (only one at one of `steps`, if given). One DELETE, without reading the dialog
    first; a dialog this session read is removed from it too."""
    if steps:
        result = await session.exec(_CLEAR_AT_STEPS, params={"telegram_id": telegram_id, "steps": list(steps)})
    else:
        result = await session.exec(_CLEAR, params={"telegram_id": telegram_id})
    return bool(result.rowcount)


# Built once: every private command and most presses clear a dialog.
_CLEAR = delete(Dialog).where(col(Dialog.telegram_id) == bindparam("telegram_id"))
_CLEAR_AT_STEPS = _CLEAR.where(col(Dialog.step).in_(bindparam("steps", expanding=True)))
