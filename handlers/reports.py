"""/snapshot (admins post the leaderboard to the group at once) and /export (leaders and admins get the results as an
XLSX workbook and a CSV: of every period so far, or of one, `/export 2026-06`)."""

from __future__ import annotations

import asyncio

from telegram import Update
from telegram.error import BadRequest, Forbidden
from telegram.ext import BaseHandler, CommandHandler

from bot import export
from bot.access import ADMIN_ONLY, PRIVATE, CommandSpec
from bot.context import BotContext
from bot.i18n import N_, Translator
from handlers.common import Refusal, Replies, chat_type, load_viewer, require, sender
from handlers.ranking import LEADERS_AND_ADMINS, period_label
from jobs.outbox import deliver_one
from jobs.snapshots import CHART, SNAPSHOT, board_period, has_scores, plan_posts
from storage import groups, reminders, snapshots
from storage.models import Period, PeriodKind

SNAPSHOT_COMMAND = CommandSpec("snapshot", N_("Post the leaderboard to the campaign group now"), ADMIN_ONLY, PRIVATE)
EXPORT = CommandSpec(
    "export", N_("The results as a spreadsheet (XLSX and CSV)"), LEADERS_AND_ADMINS, PRIVATE, takes_arguments=True
)
COMMANDS = (SNAPSHOT_COMMAND, EXPORT)
WANTED_SHOWN = 32  # characters of a period asked for, at most, repeated in a reply
N_NO_SUCH_PERIOD = N_(
    "There is no period “{wanted}” to export. Send /export alone for every period so far, or /export with one period: "
    "a month ({months}), a quarter ({quarters}), a campaign's year ({years}), or campaign for the latest campaign."
)


async def cmd_snapshot(update: Update, context: BotContext) -> None:
    """Takes a snapshot now and posts it (the table, and the chart when a CJK font is there) through the outbox."""
    replies = Replies()
    async with context.db.transaction() as session:
        viewer = await load_viewer(session=session, context=context, user=sender(update))
        require(viewer, SNAPSHOT_COMMAND, chat_type(update))
        group = await groups.get_campaign_group(session=session)
        if group is None:
            raise Refusal(N_("No campaign group is bound yet: add me to the group and send /bindgroup there."))
        period = await board_period(session, context.settings, context.today())
        if period is None:
            raise Refusal(N_("The campaign is not running today, so there is no board to post."))
        now = context.now()
        slot = f"manual:{now:%Y%m%dT%H%M%S}:{viewer.member_id or 0}"
        snapshot = await snapshots.take_snapshot(
            session=session,
            rules=context.settings.scoring_rules(),
            period=period,
            slot=slot,
            now=now,
            today=context.today(),
            taken_by_id=viewer.member_id,
        )
        if snapshot is None:
            raise Refusal(N_("A snapshot was just posted. Try again in a minute."))
        await plan_posts(session, context.settings, snapshot, now)
        keys = [f"{kind}:{slot}" for kind in (SNAPSHOT, CHART)]
        empty = not has_scores(context.settings, snapshot)
        posts = await reminders.claim_reminders_by_key(
            session=session, keys=keys, now=now, lease=context.settings.outbox.lease
        )
        title = group.title
    sent = 0
    for reminder_id in posts:  # at once, whatever the working hours; the outbox records each
        sent += await deliver_one(context.services, context.bot, reminder_id)
    if sent and empty:
        replies.reply(
            context.tr.gettext("Posted to {group}: no scores yet, so the text alone, without a chart.", group=title)
        )
    elif sent:
        replies.reply(context.tr.gettext("Posted the leaderboard to {group}.", group=title))
    else:
        replies.reply(
            context.tr.gettext(
                "The leaderboard could not be posted to {group} just now; it will be retried.", group=title
            )
        )
    await replies.deliver(update, context)


async def cmd_export(update: Update, context: BotContext) -> None:
    """Sends the workbook and the CSV, per standard and rater group: of every period so far, or of the one named
    (`/export 2026-06`, `/export 2026-Q2`, `/export 2026`, `/export campaign`), as `python -m bot export --period`."""
    wanted = " ".join(context.args or [])[:WANTED_SHOWN]
    today = context.today()
    async with context.db.transaction() as session:
        viewer = await load_viewer(session=session, context=context, user=sender(update))
        require(viewer, EXPORT, chat_type(update))
        try:
            periods = await export.chosen_periods(session, wanted)
        except export.NoSuchPeriod as error:
            raise Refusal(
                N_NO_SUCH_PERIOD, wanted=wanted, months=error.months, quarters=error.quarters, years=error.years
            ) from None
        begun = [period for period in periods if period.starts_on <= today]
        if wanted and not begun:
            raise Refusal(
                N_("Nothing to export for {period}: it has not begun yet."),
                period=period_label(context.tr, periods[0]),
            )
        rows = await export.export_rows(session, context.settings, periods, today)
    if not rows:
        raise Refusal(N_("There is nothing to export yet: no sections or members."))
    tr, settings = context.tr, context.settings
    workbook = await asyncio.to_thread(export.workbook_bytes, tr, settings, rows)
    table = await asyncio.to_thread(export.csv_bytes, tr, settings, rows)
    chat_id = sender(update).id
    name = f"shuangyou-scores-{export.period_code(periods[0])}" if wanted else "shuangyou-scores"
    try:
        await context.bot.send_document(chat_id, workbook, filename=f"{name}.xlsx", caption=exported(tr, wanted, begun))
        await context.bot.send_document(chat_id, table, filename=f"{name}.csv")
    except (Forbidden, BadRequest) as error:
        raise Refusal(N_("The files could not be sent. Try again later.")) from error


def exported(tr: Translator, wanted: str, begun: list[Period]) -> str:
    """What the files hold: the one period asked for, or every period so far and how to ask for one."""
    if wanted:
        return tr.gettext(
            "Scores of every section and member in {period}, per standard and rater group.",
            period=period_label(tr, begun[0]),
        )
    return tr.gettext(
        "Scores of every section and member in every period so far: the campaign, its quarters and its months "
        "({months}), per standard and rater group. For one period only, send /export {month}, /export {quarter} or "
        "/export campaign.",
        months=export.period_range(begun, PeriodKind.MONTH),
        month=_last_code(begun, PeriodKind.MONTH),
        quarter=_last_code(begun, PeriodKind.QUARTER),
    )


def _last_code(periods: list[Period], kind: PeriodKind) -> str:
    return next((export.period_code(period) for period in reversed(periods) if period.kind == kind), "")


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    return [CommandHandler(SNAPSHOT_COMMAND.name, cmd_snapshot), CommandHandler(EXPORT.name, cmd_export)]
