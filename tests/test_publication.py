"""What members see of a target moves in steps: it is published again once at least min_raters (3) new raters have
rated it since it was last published, and at the end of the period. Comparing two views, or watching a counter, never
gives one rater's scores."""

from __future__ import annotations

import datetime as dt

from jobs.reminders import JOB_NAME
from storage.models import Member, Role, Section
from tests.conftest import Bot
from tests.factories import make_member, make_section
from tests.test_scoring import rate, raters


async def section_with_head(bot: Bot) -> tuple[Section, Member]:
    section = await make_section(bot.db, "信息科")
    head = await make_member(bot.db, 520, "Xu Head", role=Role.HEAD, section=section, language="en")
    bot.tg.private_user("Xu Head", user_id=520)
    return section, head


async def view(bot: Bot, head: Member) -> str:
    user = bot.tg.private_user("Xu Head", user_id=head.telegram_id or 0)
    await user.send("/sectionscore")
    return user.last_text()


async def test_the_fourth_rater_s_scores_cannot_be_told_by_comparing_two_views(bot: Bot) -> None:
    section, head = await section_with_head(bot)
    colleagues = await raters(bot.db, 7)
    for rater, value in zip(colleagues[:3], (4, 3, 5), strict=True):
        await rate(bot.db, rater, section, value)
    three = await view(bot, head)
    assert "3 raters" in three and "By standard (1–5): Optimise service 4.00" in three

    await rate(bot.db, colleagues[3], section, 1)
    assert await view(bot, head) == three  # before and after the 4th: the same, to the last figure
    await rate(bot.db, colleagues[4], section, 2)
    assert await view(bot, head) == three

    await rate(bot.db, colleagues[5], section, 2)  # the third new rater: a step
    six = await view(bot, head)
    assert "6 raters" in six and "Optimise service 2.83" in six

    await rate(bot.db, colleagues[6], section, 5)
    assert await view(bot, head) == six


async def test_the_end_of_the_period_publishes_what_waits(bot: Bot) -> None:
    section, head = await section_with_head(bot)
    colleagues = await raters(bot.db, 4)
    for rater in colleagues:
        await rate(bot.db, rater, section, 4)
    assert "3 raters" in await view(bot, head)

    bot.clock.set(dt.datetime(2026, 7, 1, 1, 0, tzinfo=dt.UTC))  # July the 1st, 09:00 in Shanghai
    (sweep,) = bot.app.job_queue.get_jobs_by_name(JOB_NAME)  # type: ignore[union-attr]
    await sweep.run(bot.app)

    user = bot.tg.private_user("Xu Head", user_id=head.telegram_id or 0)
    await user.send("/sectionscore")
    await user.press("‹ 2026-06")
    assert "4 raters" in user.last_text()
