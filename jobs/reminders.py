"""The reminder sweep: works out from the database which reminders are due today and plans each as a row with a
unique key. Running it twice, or on two instances at once, plans nothing twice; the outbox delivers the rows.

Default rules (config.toml [reminders]): 3 and 1 working days before the due date, on the due day, then every
working day while overdue, all at the morning digest time; a morning digest to each head of the tasks due within
`digest_days_ahead` days and those overdue; after `escalate_after_working_days` working days overdue an escalation
to the leaders, who also get one overdue summary a day. A head who is away hands their reminders to the section's
other heads, or to the leaders when there is none.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram.ext import Application

from bot.config import Settings
from bot.context import BotContext, Services
from bot.workdays import WorkCalendar
from storage import ratings, reminders, reviews, scoring, tasks, updates
from storage.models import Member, MemberStatus, Role, Task
from storage.reminders import PlannedReminder

logger = logging.getLogger(__name__)

JOB_NAME = "reminders.sweep"
ESCALATION_LIFETIME = dt.timedelta(days=7)
UPDATE_MEMORY = dt.timedelta(days=2)  # Telegram gives up redelivering an update long before this
FORM_COMMENT_MEMORY = dt.timedelta(days=7)  # a form left with a comment longer than this answers that it expired


def morning_of(day: dt.date, settings: Settings) -> tuple[dt.datetime, dt.datetime]:
    """When the day's reminders go out (the digest time) and when they are no use any more (end of work)."""
    tz = settings.tz
    send_at = dt.datetime.combine(day, settings.reminders.digest_time, tzinfo=tz)
    expires_at = dt.datetime.combine(day, settings.working_hours.ends, tzinfo=tz)
    return send_at.astimezone(dt.UTC), expires_at.astimezone(dt.UTC)


async def sweep_reminders(context: BotContext) -> None:
    """The JobQueue's entry point: the day's task reminders, the comments of ratings and, near a period's end, the
    rating nudges."""
    from jobs.comments import plan_comments  # the comments, nudges and snapshots use this module's morning_of
    from jobs.nudges import plan_nudges
    from jobs.snapshots import plan_snapshots

    planned = await plan_reminders(context.services, context.now())
    planned += await plan_comments(context.services, context.now())
    planned += await plan_nudges(context.services, context.now())
    if planned:
        logger.info("Planned %d reminders", planned)
    if await plan_snapshots(context.services, context.now()):
        logger.info("Took a leaderboard snapshot")
    async with context.services.db.transaction() as session:
        await updates.forget_updates(session=session, before=context.now() - UPDATE_MEMORY)
        await ratings.forget_comments(session=session, before=context.now() - FORM_COMMENT_MEMORY)
        today = context.now().astimezone(context.settings.tz).date()
        if published := await scoring.publish_ended_periods(session=session, today=today):
            logger.info("Published the final results of ended periods (%d tally rows)", published)


async def plan_reminders(services: Services, now: dt.datetime) -> int:
    """Plans today's reminders; returns how many were new."""
    settings = services.settings
    today = now.astimezone(settings.tz).date()
    calendar = settings.calendar.work_calendar()
    if not calendar.is_working_day(today):
        return 0
    async with services.db.transaction() as session:
        planner = _Planner(session, settings, calendar, today)
        for task in await tasks.list_open_tasks(session=session):
            await planner.plan_task(task)
        await planner.plan_digests()
        return await reminders.add_reminders(session=session, planned=planner.planned)


class _Planner:
    def __init__(self, session: AsyncSession, settings: Settings, calendar: WorkCalendar, today: dt.date) -> None:
        self.session, self.settings, self.calendar, self.today = session, settings, calendar, today
        self.send_at, self.expires_at = morning_of(today, settings)
        self.planned: list[PlannedReminder] = []
        self.digest_heads: set[int] = set()
        self.reminded: set[tuple[int, int]] = set()  # (member, task) reminded one by one today
        self.summary_news = False  # an overdue task the leaders are not being told about one by one today
        self._leaders: list[Member] | None = None

    async def leaders(self) -> list[Member]:
        if self._leaders is None:
            self._leaders = await tasks.leaders(session=self.session)
        return self._leaders

    def add(
        self, key: str, kind: str, member: Member, task: Task | None, expires_at: dt.datetime | None = None
    ) -> None:
        assert member.id is not None
        self.planned.append(
            PlannedReminder(
                key=key,
                kind=kind,
                member_id=member.id,
                day=self.today,
                next_attempt_at=self.send_at,
                expires_at=expires_at or self.expires_at,
                task_id=task.id if task else None,
            )
        )

    async def plan_task(self, task: Task) -> None:
        rules = self.settings.reminders
        kind = self.kind_for(task)
        recipients = await self.recipients(task)
        for member in recipients:
            if kind is not None:
                self.add(f"{kind}:{task.id}:{self.today}:{member.id}", kind, member, task)
                self.reminded.add((member.id or 0, task.id or 0))
        horizon = self.calendar.add_working_days(self.today, rules.digest_days_ahead)
        if task.due_on <= horizon:
            # The digest is for what is coming and gets no reminder of its own today.
            self.digest_heads.update(
                member.id
                for member in recipients
                if member.role == Role.HEAD and member.id and (member.id, task.id or 0) not in self.reminded
            )
        if task.due_on < self.today:
            await self.record_overdue(task)

    def kind_for(self, task: Task) -> str | None:
        rules = self.settings.reminders
        if task.due_on > self.today:
            days = self.calendar.working_days_between(self.today, task.due_on)
            return f"before{days}" if days in rules.days_before else None
        if task.due_on == self.today:
            return "due" if rules.on_due_day else None
        return "overdue" if rules.every_working_day_overdue else None

    async def record_overdue(self, task: Task) -> None:
        """Counts the working days overdue (the scoring deducts them) and escalates once past the limit."""
        days = self.calendar.working_days_between(task.due_on, self.today)
        if days > task.overdue_days:
            task.overdue_days = days
            await tasks.save_task(session=self.session, task=task)
        if days >= self.settings.reminders.escalate_after_working_days and task.escalated_at is None:
            task.escalated_at = self.send_at
            await tasks.save_task(session=self.session, task=task)
            for leader in await self.leaders():
                expires = self.send_at + ESCALATION_LIFETIME
                self.add(f"escalation:{task.id}:{task.due_on}:{leader.id}", "escalation", leader, task, expires)
        elif days >= self.settings.reminders.escalate_after_working_days:
            self.summary_news = True

    async def recipients(self, task: Task) -> list[Member]:
        """The section's heads who are here, and the responsible member; the leaders when no head is here."""
        heads = await tasks.section_heads(session=self.session, section_id=task.section_id)
        present = [head for head in heads if not self.away(head)]
        if task.responsible_id is not None and all(head.id != task.responsible_id for head in present):
            responsible = await self.session.get(Member, task.responsible_id)
            if responsible is not None and responsible.status == MemberStatus.ACTIVE and not self.away(responsible):
                present.append(responsible)
        if not any(head in present for head in heads):
            present += [leader for leader in await self.leaders() if leader not in present]
        return present

    def away(self, member: Member) -> bool:
        return member.away_until is not None and member.away_until >= self.today

    async def plan_digests(self) -> None:
        """A digest to each head with tasks coming up; the overdue summary to each leader when there is news."""
        for member_id in sorted(self.digest_heads):
            member = await self.session.get(Member, member_id)
            if member is not None:
                self.add(f"digest:{self.today}:{member_id}", "digest", member, None)
        news = self.summary_news or await tasks.unreachable_heads(session=self.session)
        if news or await reviews.list_unsettled_reviews(session=self.session):
            for leader in await self.leaders():
                self.add(f"summary:{self.today}:{leader.id}", "summary", leader, None)


def schedule(application: Application) -> None:  # type: ignore[type-arg]
    settings: Settings = application.bot_data["shuangyou.services"].settings
    assert application.job_queue is not None
    application.job_queue.run_repeating(
        sweep_reminders,
        interval=settings.reminders.sweep_interval_seconds,
        first=1,
        name=JOB_NAME,
        job_kwargs={"misfire_grace_time": 60, "coalesce": True},
    )
