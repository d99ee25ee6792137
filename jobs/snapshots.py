"""Leaderboard snapshots posted to the campaign group: on the configured weekday and on the last working day of each
month (config.toml [snapshots]), or at once by an admin (/snapshot).

The sweep stores the snapshot under a unique slot (weekly:2026-06-15, month_end:2026-06) and plans two outbox rows for
the group: the text table and the chart. Both are composed when sent, for the group as bound at that moment (a group
that migrated to a supergroup meanwhile gets them at its new id). Without a CJK font the chart row is skipped and the
table goes alone.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.chart import Bar, ChartError, renderer
from bot.config import Settings
from bot.context import Services
from bot.i18n import Translator, escape
from handlers.common import group_translator
from handlers.ranking import board_kind, movement, period_label
from jobs.messages import Outgoing
from storage import campaigns, groups, reminders, snapshots
from storage.models import Period, PeriodKind, Reminder, Snapshot, TargetKind
from storage.reminders import PlannedReminder

logger = logging.getLogger(__name__)

SNAPSHOT = "snapshot"
CHART = "chart"
POST_LIFETIME = dt.timedelta(days=1)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def due_slots(settings: Settings, now: dt.datetime) -> list[str]:
    """The snapshot slots whose moment has come today."""
    local = now.astimezone(settings.tz)
    today, config = local.date(), settings.snapshots
    calendar = settings.calendar.work_calendar()
    slots = []
    next_working_day = calendar.add_working_days(today, 1)
    last_working_day = calendar.is_working_day(today) and next_working_day.month != today.month
    weekly = WEEKDAYS[today.weekday()] == config.weekly_day and local.time() >= config.weekly_time
    if weekly and not last_working_day:  # on the month's last working day, the month-end board is the one
        slots.append(f"weekly:{today.isoformat()}")
    if last_working_day and local.time() >= config.month_end_time:
        slots.append(f"month_end:{today:%Y-%m}")
    return slots


async def board_period(session: AsyncSession, settings: Settings, today: dt.date) -> Period | None:
    """The period the posted board shows: the campaign so far, or the current rating period."""
    period = await campaigns.period_at(session=session, kind=board_kind(settings), today=today)
    campaign = await campaigns.period_at(session=session, kind=PeriodKind.CAMPAIGN, today=today)
    if period is None or campaign is None or not campaign.starts_on <= today <= campaign.ends_on:
        return None  # no snapshots outside the campaign
    return period


async def plan_snapshots(services: Services, now: dt.datetime) -> int:
    """Takes the snapshots that are due and plans their posts; returns how many were taken."""
    settings = services.settings
    slots = due_slots(settings, now)
    if not slots:
        return 0
    today = now.astimezone(settings.tz).date()
    taken = 0
    async with services.db.transaction() as session:
        period = await board_period(session, settings, today)
        if period is None:
            return 0
        for slot in slots:
            snapshot = await snapshots.take_snapshot(
                session=session, rules=settings.scoring_rules(), period=period, slot=slot, now=now, today=today
            )
            if snapshot is not None:
                taken += 1
                await plan_posts(session, settings, snapshot, now)
    return taken


async def plan_posts(session: AsyncSession, settings: Settings, snapshot: Snapshot, now: dt.datetime) -> int:
    """The table and the chart for the group, through the outbox; nothing when no group is bound."""
    group = await groups.get_campaign_group(session=session)
    if group is None:
        logger.info("Snapshot %s taken; no campaign group is bound, so it is not posted", snapshot.slot)
        return 0
    today = now.astimezone(settings.tz).date()
    expires_at = now + POST_LIFETIME  # posted in working hours: a board due at 17:00 may go out the next morning
    planned = [
        PlannedReminder(f"{kind}:{snapshot.slot}", kind, None, today, now, expires_at, chat_id=group.chat_id)
        for kind in post_kinds(settings, snapshot)
    ]
    return await reminders.add_reminders(session=session, planned=planned)


def has_scores(settings: Settings, snapshot: Snapshot) -> bool:
    """Whether the board shows anyone: an empty one is posted as its text alone, without an empty chart."""
    return bool(snapshot.sections or (settings.snapshots.individuals and snapshot.members))


def post_kinds(settings: Settings, snapshot: Snapshot) -> tuple[str, ...]:
    return (SNAPSHOT, CHART) if has_scores(settings, snapshot) else (SNAPSHOT,)


# --- composing ----------------------------------------------------------------------------------------------------


def entry_line(tr: Translator, entry: dict[str, Any], before: dict[int, int] | None) -> str:
    move = movement(tr, int(entry["id"]), int(entry["rank"]), before)
    return f"{entry['rank']}. {escape(str(entry['name']))} <b>{entry['score']}</b>{move}"


async def snapshot_text(session: AsyncSession, settings: Settings, tr: Translator, snapshot: Snapshot) -> str:
    period = await campaigns.get_period(session=session, period_id=snapshot.period_id)
    top = settings.snapshots.top
    day = snapshot.taken_at.astimezone(settings.tz).date().isoformat()
    label = period_label(tr, period) if period else "?"
    lines: list[str] = [tr.gettext("📊 <b>Leaderboard — {period}</b> ({day})", period=label, day=day)]
    if not has_scores(settings, snapshot):
        lines += ["", tr.gettext("No scores yet: nobody has enough ratings in this period."), ""]
        return "\n".join([*lines, tr.gettext("Send me /ranking for the whole board, or /rate to rate.")])
    parts = [
        (tr.gettext("<b>Sections</b>"), TargetKind.SECTION, snapshot.sections),
        (tr.gettext("<b>Individuals</b>"), TargetKind.MEMBER, snapshot.members),
    ]
    for heading, kind, entries in parts[: 2 if settings.snapshots.individuals else 1]:
        lines += ["", heading]
        before = await snapshots.previous_ranks(
            session=session, period_id=snapshot.period_id, kind=kind, before_id=snapshot.id
        )
        lines += [entry_line(tr, entry, before) for entry in entries[:top]]
        if not entries:
            lines.append(tr.gettext("Nobody has enough ratings yet."))
    lines += ["", tr.gettext("Send me /ranking for the whole board, or /rate to rate.")]
    return "\n".join(lines)


def chart_panels(tr: Translator, settings: Settings, snapshot: Snapshot) -> list[tuple[str, list[Bar]]]:
    top = settings.snapshots.top
    sections = [Bar(str(entry["name"]), float(entry["score"])) for entry in snapshot.sections[:top]]
    people = [Bar(str(entry["name"]), float(entry["score"])) for entry in snapshot.members[:top]]
    panels: list[tuple[str, list[Bar]]] = [(tr.gettext("Sections"), sections)]
    return [*panels, (tr.gettext("Individuals"), people)] if settings.snapshots.individuals else panels


async def compose_snapshot(
    session: AsyncSession, settings: Settings, reminder: Reminder, now: dt.datetime
) -> Outgoing | None:
    """The table or the chart of the snapshot the row names, for the group as bound now."""
    slot = reminder.key.split(":", 1)[1]
    snapshot = await snapshots.get_snapshot(session=session, slot=slot)
    group = await groups.get_campaign_group(session=session)
    if snapshot is None or group is None:
        return None
    tr = group_translator(settings, group)
    if reminder.kind == SNAPSHOT:
        return Outgoing(group.chat_id, await snapshot_text(session, settings, tr, snapshot), None)
    chart = renderer(settings.snapshots.font_file)
    if not chart.available:
        return None  # said once in the log; the table goes alone
    period = await campaigns.get_period(session=session, period_id=snapshot.period_id)
    title = tr.gettext("Leaderboard — {period}", period=period_label(tr, period) if period else "?")
    try:
        png = await chart.render_async(title, chart_panels(tr, settings, snapshot))
    except ChartError as error:
        logger.error("The leaderboard chart could not be drawn, so the table goes alone: %s", error)
        return None
    return Outgoing(group.chat_id, title, None, photo=png)
