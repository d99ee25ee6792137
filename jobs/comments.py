"""Comments of ratings, passed on to the rated member (or a section's heads) without names: in batches of at least
`[scoring] min_raters` comments, shuffled, at most once a day per target and never before the morning's digest time,
so that neither the wording's order nor the moment a comment arrives tells who wrote it. Planned as outbox rows with
unique keys (one per target, reader and day) by the reminder sweep."""

from __future__ import annotations

import datetime as dt

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import Settings
from bot.context import Services
from bot.i18n import escape
from handlers.common import member_translator
from jobs.reminders import morning_of
from storage import members, ratings, reminders, sections, tasks
from storage.models import Member, MemberStatus, TargetKind
from storage.reminders import PlannedReminder

KEY = "comments"
LIFETIME = dt.timedelta(days=3)


async def plan_comments(services: Services, now: dt.datetime) -> int:
    """The day's batches of comments, once the digest time has come; returns how many messages were planned."""
    settings = services.settings
    today = now.astimezone(settings.tz).date()
    send_at, _ = morning_of(today, settings)
    if now < send_at:
        return 0
    async with services.db.transaction() as session:

        async def passed_today(kind: TargetKind, target_id: int) -> bool:
            return await reminders.planned_today(session=session, key_prefix=_key(kind, target_id), day=today)

        planned: list[PlannedReminder] = []
        for batch in await ratings.take_comment_batches(
            session=session, min_comments=settings.scoring.min_raters, passed_today=passed_today
        ):
            planned += await _messages(session, settings, batch, today, now)
        return await reminders.add_reminders(session=session, planned=planned)


def _key(kind: TargetKind, target_id: int) -> str:
    return f"{KEY}:{kind.value}:{target_id}:"


async def _messages(
    session: AsyncSession, settings: Settings, batch: ratings.CommentBatch, today: dt.date, now: dt.datetime
) -> list[PlannedReminder]:
    readers: list[Member]
    if batch.target_kind == TargetKind.MEMBER:
        person = await members.get_member(session=session, member_id=batch.target_id)
        readers, name = ([person] if person is not None else []), person.display_name if person else "?"
    else:
        section = await sections.get_section(session=session, section_id=batch.target_id)
        readers, name = (
            await tasks.section_heads(session=session, section_id=batch.target_id),
            section.name if section else "?",
        )
    planned = []
    for reader in readers:
        if reader.telegram_id is None or reader.status != MemberStatus.ACTIVE:
            continue
        tr = member_translator(settings, reader)
        lines: list[str] = [tr.gettext("💬 Comments from colleagues' ratings of {name} (without names):", name=name)]
        lines += [f"• {escape(comment)}" for comment in batch.comments]
        planned.append(
            PlannedReminder(
                key=f"{_key(batch.target_kind, batch.target_id)}{today}:{reader.id}",
                kind=reminders.NOTICE,
                member_id=reader.id,
                day=today,
                next_attempt_at=now,
                expires_at=now + LIFETIME,
                chat_id=reader.telegram_id,
                payload={"text": "\n".join(lines), "markup": None},
            )
        )
    return planned
