"""Rating nudges: on the last working days of a rating period, the campaign group hears how many members have not
rated yet (no names), and each of them gets a private reminder with Rate and Mute buttons. Planned as reminder
rows with unique keys, like every other scheduled message, and delivered by the outbox."""

from __future__ import annotations

import datetime as dt

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import InlineKeyboardMarkup

from bot.config import Settings
from bot.context import Services
from handlers.common import button, group_translator, member_translator
from handlers.ratings import MuteNudges, RateNow
from jobs.messages import Outgoing
from jobs.reminders import morning_of
from storage import groups, ratings, reminders
from storage.models import Member, PeriodKind, Reminder
from storage.reminders import PlannedReminder

NUDGE = "nudge"
NUDGE_GROUP = "nudge_group"


async def plan_nudges(services: Services, now: dt.datetime) -> int:
    settings = services.settings
    today = now.astimezone(settings.tz).date()
    calendar = settings.calendar.work_calendar()
    last_days = settings.nudges.last_working_days
    if not last_days or not calendar.is_working_day(today):
        return 0
    async with services.db.transaction() as session:
        period = await ratings.current_period(
            session=session, kind=PeriodKind(settings.campaign.rating_period), today=today
        )
        if period is None or calendar.working_days_between(today, period.ends_on) >= last_days:
            return 0
        yet = await ratings.members_yet_to_rate(session=session, period_id=period.id or 0)
        send_at, expires_at = morning_of(today, settings)
        planned = [
            PlannedReminder(f"nudge:{period.id}:{today}:{member.id}", NUDGE, member.id, today, send_at, expires_at)
            for member in yet
            if member.telegram_id is not None and not member.mute_nudges
        ]
        group = await groups.get_campaign_group(session=session)
        if group is not None and yet:
            planned.append(
                PlannedReminder(
                    f"nudge-group:{period.id}:{today}",
                    NUDGE_GROUP,
                    None,
                    today,
                    send_at,
                    expires_at,
                    chat_id=group.chat_id,
                )
            )
        return await reminders.add_reminders(session=session, planned=planned)


async def _open_period_end(session: AsyncSession, settings: Settings, now: dt.datetime) -> tuple[int, dt.date] | None:
    today = now.astimezone(settings.tz).date()
    period = await ratings.current_period(
        session=session, kind=PeriodKind(settings.campaign.rating_period), today=today
    )
    return (period.id or 0, period.ends_on) if period is not None else None


async def nudge_for_member(
    session: AsyncSession, settings: Settings, member: Member, now: dt.datetime
) -> Outgoing | None:
    period = await _open_period_end(session, settings, now)
    if period is None or member.telegram_id is None or member.mute_nudges:
        return None
    if member not in await ratings.members_yet_to_rate(session=session, period_id=period[0]):
        return None  # rated meanwhile
    tr = member_translator(settings, member)
    keyboard = InlineKeyboardMarkup(
        [
            [
                button(tr.gettext("Rate now"), RateNow().pack()),
                button(tr.gettext("Mute these reminders"), MuteNudges().pack()),
            ]
        ]
    )
    text = tr.gettext(
        "The rating period ends on {day} and you have not rated yet. It takes a minute.", day=period[1].isoformat()
    )
    return Outgoing(member.telegram_id, text, keyboard)


async def nudge_for_group(
    session: AsyncSession, settings: Settings, reminder: Reminder, now: dt.datetime
) -> Outgoing | None:
    period = await _open_period_end(session, settings, now)
    if period is None or reminder.chat_id is None:
        return None
    count = len(await ratings.members_yet_to_rate(session=session, period_id=period[0]))
    if not count:
        return None
    group = await groups.get_campaign_group(session=session)
    tr = group_translator(settings, group if group is not None and group.chat_id == reminder.chat_id else None)
    text = tr.ngettext(
        "{n} member has not rated yet; the rating period ends on {day}. Ratings are made in private: send me /rate.",
        "{n} members have not rated yet; the rating period ends on {day}. Ratings are made in private: send me /rate.",
        count,
        day=period[1].isoformat(),
    )
    return Outgoing(reminder.chat_id, text, None)
