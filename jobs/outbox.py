"""The outbox: delivers planned reminders through the rate-limited bot, once each.

A delivery claims a batch of due rows (FOR UPDATE SKIP LOCKED on PostgreSQL), composes each message from the
current state of the database in the recipient's language, sends it, and records the outcome: sent; skipped when
its moment has passed or its task is closed; retried later on 429, 5xx and timeouts; failed after too many tries,
or at once when the member blocked the bot (who is then marked unreachable, for the leaders' summary).
A crash between sending and recording sends that one reminder again after its claim lapses; nothing else doubles.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Bot, BotCommandScopeChat, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter
from telegram.ext import Application

from bot.access import CommandSpec, audience_of, commands_for, in_a_section
from bot.config import Settings
from bot.context import BotContext, Services
from bot.extbot import RefusedRequest
from bot.i18n import Translator, pick_language
from bot.labels import task_title
from bot.menus import bot_commands
from handlers.common import member_translator
from handlers.reviews import settle_keyboard
from handlers.tasks import reminder_keyboard
from jobs.messages import Outgoing
from jobs.nudges import NUDGE, NUDGE_GROUP, nudge_for_group, nudge_for_member
from jobs.snapshots import CHART, SNAPSHOT, compose_snapshot
from storage import members, reminders, sections, tasks
from storage import reviews as review_store
from storage.models import Member, MemberStatus, Reminder, ReminderStatus, Task, TaskStatus, sort_name

logger = logging.getLogger(__name__)

JOB_NAME = "outbox.deliver"
INTERVAL_SECONDS = 5
# A delivery round takes batch after batch while there is work due, for up to ROUND_SECONDS, so that a fan-out goes
# at the rate limiter's pace without a pause between sweeps (sweeps due while a round runs are skipped; a round
# capped under the interval left the outbox idle 0.6 s in every 5, an eighth of the rate). The cap only hands the
# lock back now and then, e.g. to a new setting of the working hours.
BATCH = 10
ROUND_SECONDS = 60.0
MAX_ATTEMPTS = 6
FIRST_BACKOFF = dt.timedelta(seconds=30)


async def sweep_outbox(context: BotContext) -> None:
    await deliver_due(context.services, context.bot)


def in_working_hours(settings: Settings, now: dt.datetime) -> bool:
    local = now.astimezone(settings.tz)
    hours = settings.working_hours
    calendar = settings.calendar.work_calendar()
    return calendar.is_working_day(local.date()) and hours.starts <= local.time() < hours.ends


async def deliver_due(services: Services, bot: Bot) -> int:
    """Delivers what is due now (outside working hours only what answers someone's own action: ANY_HOUR_KINDS),
    batch after batch for up to ROUND_SECONDS (so that a fan-out goes at the rate limiter's pace, not a batch per
    sweep); returns how many were sent.

    Messages go out one at a time, each recorded before the next is sent, so a crash leaves at most one message
    sent but not marked. The next message is composed while the current one is on its way: the database work
    then hides in the rate limiter's wait instead of adding to it."""
    kinds = None if in_working_hours(services.settings, services.clock.now()) else reminders.ANY_HOUR_KINDS
    sent = 0
    async with services.outbox_lock:
        due = _claimed(services, kinds)
        upcoming = asyncio.ensure_future(_next_ready(services, due))
        try:
            while (ready := await upcoming) is not None:
                upcoming = asyncio.ensure_future(_next_ready(services, due))
                sent += await _deliver(services, bot, ready)
        finally:
            upcoming.cancel()  # what it claimed is sent once its claim lapses
            await asyncio.gather(upcoming, return_exceptions=True)
            await due.aclose()
    return sent


async def deliver_one(services: Services, bot: Bot, reminder_id: int) -> int:
    """Delivers one claimed reminder; 1 when it was sent."""
    ready = await _ready(services, reminder_id)
    return 0 if ready is None else await _deliver(services, bot, ready)


@dataclass(frozen=True)
class Ready:
    """A claimed reminder composed as of now, to be sent."""

    reminder_id: int
    member_id: int | None
    attempts: int
    outgoing: Outgoing


async def _claimed(services: Services, kinds: tuple[str, ...] | None) -> AsyncGenerator[int, None]:
    """The ids of due reminders (of these kinds; None: of any), claimed a batch at a time, for up to ROUND_SECONDS."""
    started = time.monotonic()
    while True:
        async with services.db.transaction() as session:
            claimed = await reminders.claim_due_reminders(
                session=session,
                now=services.clock.now(),
                limit=BATCH,
                lease=services.settings.outbox.lease,
                kinds=kinds,
            )
            ids = [reminder.id for reminder in claimed if reminder.id is not None]
        for reminder_id in ids:
            yield reminder_id
        if len(ids) < BATCH or time.monotonic() - started > ROUND_SECONDS:
            return


async def _next_ready(services: Services, due: AsyncIterator[int]) -> Ready | None:
    """The next claimed reminder that still has something to say (the others are recorded as skipped)."""
    async for reminder_id in due:
        if (ready := await _ready(services, reminder_id)) is not None:
            return ready
    return None


async def _ready(services: Services, reminder_id: int) -> Ready | None:
    now = services.clock.now()
    async with services.db.transaction() as session:
        reminder = await reminders.get_reminder(session=session, reminder_id=reminder_id)
        assert reminder is not None
        if reminder.expires_at <= now:
            await _finish(session, reminder, ReminderStatus.SKIPPED, now, "its moment passed")
            return None
        if (
            reminder.kind != reminders.ESCALATION
            and reminder.task_id is not None
            and await _reminded_anyway(session, reminder)
        ):
            await _finish(session, reminder, ReminderStatus.SKIPPED, now, "reminded that day anyway")
            return None
        outgoing = await compose(session, services.settings, reminder, now, services.commands)
        if outgoing is None:
            await _finish(session, reminder, ReminderStatus.SKIPPED, now, "nothing to say any more")
            return None
        return Ready(reminder_id, reminder.member_id, reminder.attempts, outgoing)


async def _deliver(services: Services, bot: Bot, ready: Ready) -> int:
    status, error, retry_at, reachable = await _send(bot, ready.outgoing, ready.attempts, services.clock.now())
    async with services.db.transaction() as session:
        await reminders.finish_reminder(
            session=session,
            reminder_id=ready.reminder_id,
            status=status,
            now=services.clock.now(),
            error=error,
            retry_at=retry_at,
        )
        if reachable is not None and ready.member_id is not None:
            await reminders.set_reachable(session=session, member_id=ready.member_id, reachable=reachable)
    return int(status == ReminderStatus.SENT)


async def _send(
    bot: Bot, outgoing: Outgoing, attempts: int, now: dt.datetime
) -> tuple[ReminderStatus, str, dt.datetime | None, bool | None]:
    """(status, error, when to retry, whether the member is reachable) of one attempt."""
    try:
        if outgoing.menu is not None:
            await bot.set_my_commands(outgoing.menu, scope=BotCommandScopeChat(outgoing.chat_id))
        elif outgoing.photo is not None:
            await bot.send_photo(outgoing.chat_id, outgoing.photo, caption=outgoing.text, reply_markup=outgoing.markup)
        else:
            await bot.send_message(outgoing.chat_id, outgoing.text, reply_markup=outgoing.markup)
    except Forbidden as error:
        logger.info("Reminder to %s not delivered: %s", outgoing.chat_id, error.message)
        return ReminderStatus.FAILED, error.message, None, False
    except RetryAfter as error:
        wait = (
            error.retry_after
            if isinstance(error.retry_after, dt.timedelta)
            else dt.timedelta(seconds=error.retry_after)
        )
        return ReminderStatus.PENDING, "flood control", now + wait, None
    except BadRequest as error:
        method = error.method if isinstance(error, RefusedRequest) else "a request"
        logger.error("Telegram refused %s to chat %s: %s", method, outgoing.chat_id, error.message)
        return ReminderStatus.FAILED, error.message, None, None
    except NetworkError as error:  # 5xx and timeouts
        if attempts >= MAX_ATTEMPTS:
            return ReminderStatus.FAILED, str(error), None, None
        return ReminderStatus.PENDING, str(error), now + FIRST_BACKOFF * 2 ** (attempts - 1), None
    return ReminderStatus.SENT, "", None, True


async def _reminded_anyway(session: AsyncSession, reminder: Reminder) -> bool:
    """A snoozed copy is not needed when the day brings its own reminder of the task; nor is anything sent twice
    about one task to one member on one day."""
    if await reminders.has_twin(session=session, reminder=reminder, statuses=(ReminderStatus.SENT,)):
        return True
    pending = (ReminderStatus.PENDING, ReminderStatus.SENDING)
    return reminder.key.startswith("snooze:") and await reminders.has_twin(
        session=session, reminder=reminder, statuses=pending
    )


async def _finish(
    session: AsyncSession, reminder: Reminder, status: ReminderStatus, now: dt.datetime, why: str
) -> None:
    assert reminder.id is not None
    await reminders.finish_reminder(session=session, reminder_id=reminder.id, status=status, now=now, error=why)


# --- composing -----------------------------------------------------------------------------------------------------


async def compose(
    session: AsyncSession,
    settings: Settings,
    reminder: Reminder,
    now: dt.datetime,
    commands: tuple[CommandSpec, ...] = (),
) -> Outgoing | None:
    """The message as of now, in the member's language; None when there is nothing to say any more."""
    if reminder.kind == reminders.NOTICE:
        return kept_notice(reminder)
    if reminder.kind == reminders.MENU:
        return await kept_menu(session, settings, reminder, commands)
    if reminder.kind == NUDGE_GROUP:
        return await nudge_for_group(session, settings, reminder, now)
    if reminder.kind in (SNAPSHOT, CHART):
        return await compose_snapshot(session, settings, reminder, now)
    member = await members.get_member(session=session, member_id=reminder.member_id or 0)
    if member is None or member.status != MemberStatus.ACTIVE or member.telegram_id is None:
        return None
    tr = member_translator(settings, member)
    today = now.astimezone(settings.tz).date()
    if reminder.kind == "digest":
        text = await _digest(session, settings, tr, member, today)
        return Outgoing(member.telegram_id, text, None) if text else None
    if reminder.kind == NUDGE:
        return await nudge_for_member(session, settings, member, now)
    if reminder.kind == "summary":
        text, keyboard = await _summary(session, settings, tr, today)
        return Outgoing(member.telegram_id, text, keyboard) if text else None
    task = await tasks.get_task(session=session, task_id=reminder.task_id or 0)
    if task is None or task.status != TaskStatus.OPEN:
        return None
    text = await _task_text(session, settings, tr, reminder.kind, task, today)
    return Outgoing(member.telegram_id, text, reminder_keyboard(tr, task.id or 0, reminder.id or 0))


def kept_notice(reminder: Reminder) -> Outgoing | None:
    """A handler's notice as it was written when Telegram did not take it."""
    payload = reminder.payload or {}
    if reminder.chat_id is None or not payload.get("text"):
        return None
    markup = InlineKeyboardMarkup.de_json(payload["markup"], None) if payload.get("markup") else None
    return Outgoing(reminder.chat_id, str(payload["text"]), markup)


async def kept_menu(
    session: AsyncSession, settings: Settings, reminder: Reminder, commands: tuple[CommandSpec, ...]
) -> Outgoing | None:
    """The command menu of a member whose menu Telegram did not take, as their role and status are now."""
    telegram_id = reminder.chat_id
    if telegram_id is None:
        return None
    member = await members.get_member_by_telegram_id(session=session, telegram_id=telegram_id)
    audience = audience_of(member, telegram_id, settings.bot.admins)
    language = pick_language(
        chosen=member.language if member else None, telegram=None, default=settings.bot.default_language
    )
    offered = commands_for(commands, audience, "private", menu_only=True, in_section=in_a_section(member))
    menu = bot_commands(offered, language, audience)
    return Outgoing(telegram_id, "", None, menu=menu)


async def _task_text(
    session: AsyncSession, settings: Settings, tr: Translator, kind: str, task: Task, today: dt.date
) -> str:
    section = await sections.get_section(session=session, section_id=task.section_id)
    where = section.name if section else "?"
    days = settings.calendar.work_calendar().working_days_between(today, task.due_on)
    day = task.due_on.isoformat()
    if kind == "escalation":
        escalated = tr.ngettext(
            "🚨 Escalated: “{title}” of {section} is {n} working day overdue (it was due {day}).",
            "🚨 Escalated: “{title}” of {section} is {n} working days overdue (it was due {day}).",
            -days,
            title=task_title(tr, task),
            section=where,
            day=day,
        )
        if not task.extensions:
            return escalated
        return tr.sentences(escalated, tr.ngettext("Extended {n} time.", "Extended {n} times.", task.extensions))
    if days > 0:
        return tr.ngettext(
            "⏰ Reminder: “{title}” ({section}) is due in {n} working day, on {day}.",
            "⏰ Reminder: “{title}” ({section}) is due in {n} working days, on {day}.",
            days,
            title=task_title(tr, task),
            section=where,
            day=day,
        )
    if days == 0 and task.due_on >= today:
        return tr.gettext("⏰ Due today: “{title}” ({section}).", title=task_title(tr, task), section=where)
    return tr.ngettext(
        "⚠️ Overdue: “{title}” ({section}) was due on {day}, {n} working day ago.",
        "⚠️ Overdue: “{title}” ({section}) was due on {day}, {n} working days ago.",
        -days,
        title=task_title(tr, task),
        section=where,
        day=day,
    )


async def _digest(session: AsyncSession, settings: Settings, tr: Translator, head: Member, today: dt.date) -> str:
    if head.section_id is None:
        return ""
    calendar = settings.calendar.work_calendar()
    horizon = calendar.add_working_days(today, settings.reminders.digest_days_ahead)
    due = await tasks.list_tasks_due_by(session=session, section_id=head.section_id, due_by=horizon)
    if not due:
        return ""
    section = await sections.get_section(session=session, section_id=head.section_id)
    lines = [tr.gettext("<b>Coming up in {section}:</b>", section=section.name if section else "?")]
    for task in due:
        days = calendar.working_days_between(today, task.due_on)
        state = (
            tr.ngettext("overdue by {n} working day", "overdue by {n} working days", -days)
            if task.due_on < today
            else tr.gettext("due {day}", day=task.due_on.isoformat())
        )
        lines.append(tr.gettext("• {title} — {state}", title=task_title(tr, task), state=state))
    lines.append(tr.gettext("Send /tasks to act on them."))
    return "\n".join(lines)


async def _summary(
    session: AsyncSession, settings: Settings, tr: Translator, today: dt.date
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The leaders' summary: escalated tasks, most days overdue first; rectifications their reviewers were not
    satisfied with (each with Close); heads who get no reminders."""
    calendar = settings.calendar.work_calendar()
    escalated = settings.reminders.escalate_after_working_days
    overdue = [
        task
        for task in await tasks.list_overdue_tasks(session=session, today=today)
        if calendar.working_days_between(task.due_on, today) >= escalated
    ]
    unsettled = await review_store.list_unsettled_reviews(session=session)
    unreachable = await tasks.unreachable_heads(session=session)
    if not overdue and not unsettled and not unreachable:
        return "", None
    names = {s.id: s.name for s in await sections.list_sections(session=session, include_archived=True)}
    lines = [tr.gettext("<b>Overdue tasks today</b>")]
    for task in sorted(
        overdue, key=lambda task: (task.due_on, sort_name(names.get(task.section_id, "")), task.id or 0)
    ):
        days = calendar.working_days_between(task.due_on, today)
        lines.append(
            tr.ngettext(
                "• {section}: {title} — {n} working day overdue",
                "• {section}: {title} — {n} working days overdue",
                days,
                section=names.get(task.section_id, "?"),
                title=task_title(tr, task),
            )
        )
    if not overdue:
        lines.append(tr.gettext("None."))
    if unsettled:
        lines.append(
            tr.gettext("<b>Rectified, but the reviewer is not satisfied</b> (counts as not rectified until closed):")
        )
        lines += [
            tr.gettext(
                "• {section}: review of {day} — {answer}",
                section=names.get(review.section_id, "?"),
                day=review.day.isoformat(),
                answer=review.outcome_note,
            )
            for review in unsettled
        ]
    if unreachable:
        lines.append(
            tr.gettext(
                "Heads who blocked the bot and get no reminders: {names}",
                names=tr.series(head.display_name for head in unreachable),
            )
        )
    keyboard = (
        settle_keyboard(tr, [(review, names.get(review.section_id, "?")) for review in unsettled])
        if unsettled
        else None
    )
    return "\n".join(lines), keyboard


def schedule(application: Application) -> None:  # type: ignore[type-arg]
    assert application.job_queue is not None
    application.job_queue.run_repeating(
        sweep_outbox, interval=INTERVAL_SECONDS, first=2, name=JOB_NAME, job_kwargs={"misfire_grace_time": 30}
    )
