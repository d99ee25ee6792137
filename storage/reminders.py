"""Reminder rows: planned under unique keys (so a sweep that runs twice, or on two instances, plans each once),
claimed by one outbox at a time, and marked with how their delivery ended."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import and_, or_
from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Member, Reminder, ReminderStatus
from storage.session import upsert_insert

ESCALATION = "escalation"  # news for the leaders, never folded into a head's daily reminder
NOTICE = "notice"  # a message from a handler that Telegram did not take at once: the outbox sends it again
MENU = "menu"  # a member's command menu Telegram did not take at once: the outbox sets it again, as it is by then
# What answers a person's own action (kept because Telegram did not take it at once) goes out at any hour; what the
# bot starts itself (reminders, digests, nudges, snapshots) waits for working hours.
ANY_HOUR_KINDS = (NOTICE, MENU)
NOTICE_RETRY = dt.timedelta(seconds=30)
NOTICE_LIFETIME = dt.timedelta(days=2)


@dataclass(frozen=True)
class PlannedReminder:
    key: str
    kind: str
    member_id: int | None
    day: dt.date
    next_attempt_at: dt.datetime
    expires_at: dt.datetime
    task_id: int | None = None
    chat_id: int | None = None  # for a message to a group rather than a member
    payload: dict[str, Any] | None = None  # the text and buttons of a NOTICE


async def add_reminders(*, session: AsyncSession, planned: list[PlannedReminder]) -> int:
    """Inserts the reminders whose key is new; returns how many were new."""
    if not planned:
        return 0
    insert = upsert_insert(session)
    rows = [{**asdict(item), "status": ReminderStatus.PENDING.value, "attempts": 0, "error": ""} for item in planned]
    statement = insert(Reminder).values(rows).on_conflict_do_nothing(index_elements=["key"])
    result = await session.exec(statement)
    return int(result.rowcount or 0)


@dataclass(frozen=True)
class KeptNotice:
    """A message for the outbox to send: its chat, its text and its buttons (Telegram's JSON)."""

    chat_id: int
    text: str
    markup: dict[str, Any] | None = None


async def queue_notice(
    *,
    session: AsyncSession,
    chat_id: int,
    text: str,
    markup: dict[str, Any] | None,
    now: dt.datetime,
    delay: dt.timedelta = NOTICE_RETRY,
) -> None:
    """Keeps a notice for the outbox: one Telegram did not take (5xx, a timeout, flood control), sent again after
    `delay`; or one written where there is no update to answer (the web page), sent at once (no delay)."""
    await queue_notices(session=session, notices=[KeptNotice(chat_id, text, markup)], now=now, delay=delay)


async def queue_notices(
    *, session: AsyncSession, notices: list[KeptNotice], now: dt.datetime, delay: dt.timedelta = NOTICE_RETRY
) -> None:
    """Keeps several notices, in one statement (as `queue_notice`)."""
    planned = [
        _kept(NOTICE, notice.chat_id, {"text": notice.text, "markup": notice.markup}, now, delay) for notice in notices
    ]
    await add_reminders(session=session, planned=planned)


async def queue_menu(*, session: AsyncSession, telegram_id: int, now: dt.datetime) -> None:
    """Keeps a member's menu Telegram did not take for the outbox to set again (composed when it is sent)."""
    await add_reminders(session=session, planned=[_kept(MENU, telegram_id, None, now, NOTICE_RETRY)])


def _kept(
    kind: str, chat_id: int, payload: dict[str, Any] | None, now: dt.datetime, delay: dt.timedelta
) -> PlannedReminder:
    return PlannedReminder(
        key=f"{kind}:{uuid.uuid4().hex}",
        kind=kind,
        member_id=None,
        day=now.date(),
        next_attempt_at=now + delay,
        expires_at=now + NOTICE_LIFETIME,
        chat_id=chat_id,
        payload=payload,
    )


async def planned_today(*, session: AsyncSession, key_prefix: str, day: dt.date) -> bool:
    """Whether a message whose key starts with `key_prefix` was planned for `day` already."""
    query = select(Reminder.id).where(col(Reminder.key).startswith(key_prefix, autoescape=True), Reminder.day == day)
    return (await session.exec(query.limit(1))).first() is not None


async def claim_due_reminders(
    *,
    session: AsyncSession,
    now: dt.datetime,
    limit: int,
    lease: dt.timedelta,
    kinds: tuple[str, ...] | None = None,
) -> list[Reminder]:
    """Takes up to `limit` reminders (of these kinds; None: of any) that are due (or whose earlier claim lapsed)
    for this outbox alone.

    On PostgreSQL, FOR UPDATE SKIP LOCKED keeps two outboxes apart; on SQLite the transaction holds the write
    lock (BEGIN IMMEDIATE), which does the same.
    """
    due = or_(
        col(Reminder.status) == ReminderStatus.PENDING,
        and_(col(Reminder.status) == ReminderStatus.SENDING, col(Reminder.claimed_until) < now),
    )
    query = select(Reminder).where(due, col(Reminder.next_attempt_at) <= now)
    if kinds is not None:
        query = query.where(col(Reminder.kind).in_(kinds))
    query = (
        query.order_by(col(Reminder.next_attempt_at), col(Reminder.id)).limit(limit).with_for_update(skip_locked=True)
    )
    claimed = list((await session.exec(query)).all())
    for reminder in claimed:
        reminder.status, reminder.claimed_until = ReminderStatus.SENDING, now + lease
        reminder.attempts += 1
        session.add(reminder)
    await session.flush()
    return claimed


async def get_reminder(*, session: AsyncSession, reminder_id: int) -> Reminder | None:
    return await session.get(Reminder, reminder_id)


async def finish_reminder(
    *,
    session: AsyncSession,
    reminder_id: int,
    status: ReminderStatus,
    now: dt.datetime,
    error: str = "",
    retry_at: dt.datetime | None = None,
) -> None:
    """Records how a delivery ended: sent, skipped, failed, or pending again (retry_at)."""
    values: dict[str, object] = {"status": status, "error": error[:200], "claimed_until": None}
    if status == ReminderStatus.SENT:
        values["sent_at"] = now
    if retry_at is not None:
        values["next_attempt_at"] = retry_at
    await session.exec(update(Reminder).where(col(Reminder.id) == reminder_id).values(**values))


async def set_reachable(*, session: AsyncSession, member_id: int, reachable: bool) -> None:
    await session.exec(
        update(Member)
        .where(col(Member.id) == member_id, col(Member.reachable) != reachable)
        .values(reachable=reachable)
    )


async def list_reminders(*, session: AsyncSession, task_id: int | None = None) -> list[Reminder]:
    query = select(Reminder).order_by(col(Reminder.id))
    if task_id is not None:
        query = query.where(Reminder.task_id == task_id)
    return list((await session.exec(query)).all())


async def has_twin(*, session: AsyncSession, reminder: Reminder, statuses: tuple[ReminderStatus, ...]) -> bool:
    """Whether the member has another reminder of the same task that day in one of `statuses`."""
    query = select(Reminder.id).where(
        Reminder.task_id == reminder.task_id,
        Reminder.member_id == reminder.member_id,
        Reminder.day == reminder.day,
        col(Reminder.id) != reminder.id,
        col(Reminder.kind) != ESCALATION,
        col(Reminder.status).in_(statuses),
    )
    return (await session.exec(query)).first() is not None


async def claim_reminders_by_key(
    *, session: AsyncSession, keys: list[str], now: dt.datetime, lease: dt.timedelta
) -> list[int]:
    """Claims these pending reminders for the caller to deliver at once (the outbox sweep leaves claimed rows)."""
    query = select(Reminder).where(col(Reminder.key).in_(keys), col(Reminder.status) == ReminderStatus.PENDING)
    claimed = list((await session.exec(query.order_by(col(Reminder.id)).with_for_update(skip_locked=True))).all())
    for reminder in claimed:
        reminder.status, reminder.claimed_until = ReminderStatus.SENDING, now + lease
        reminder.attempts += 1
        session.add(reminder)
    await session.flush()
    return [reminder.id for reminder in claimed if reminder.id is not None]
