"""Nudges near the end of a rating period: a count in the group (no names), a private reminder to each member who
has not rated, with Rate and Mute buttons."""

from __future__ import annotations

import datetime as dt

from bot.context import Services
from jobs.nudges import plan_nudges
from jobs.outbox import deliver_due
from storage import groups, members, ratings
from storage.models import PeriodKind, RaterGroup, TargetKind
from tests.conftest import Bot
from tests.factories import make_member, make_section
from tests.test_reminders import morning


def services(bot: Bot) -> Services:
    return bot.app.bot_data["shuangyou.services"]  # type: ignore[no-any-return]


async def run_day(bot: Bot, day: dt.date) -> None:
    bot.clock.set(morning(day))
    await plan_nudges(services(bot), bot.clock.now())
    await deliver_due(services(bot), bot.app.bot)


async def test_members_who_have_not_rated_are_nudged_and_may_mute(bot: Bot) -> None:
    section = await make_section(bot.db, "办公室")
    target = await make_section(bot.db, "财务科")
    rated = await make_member(bot.db, 301, "Rated", section=section, language="en")
    await make_member(bot.db, 302, "Bea", section=section, language="en")
    await make_member(bot.db, 303, "Cai", section=section, language="en")
    bea, cai = bot.tg.private_user("Bea", user_id=302), bot.tg.private_user("Cai", user_id=303)
    bot.tg.private_user("Rated", user_id=301)
    group = bot.tg.group("双优活动群")
    async with bot.db.transaction() as session:
        await groups.bind_campaign_group(session=session, chat_id=group.id, title="双优活动群", bound_by_id=None)
        period = await ratings.current_period(session=session, kind=PeriodKind.MONTH, today=dt.date(2026, 6, 10))
        assert period is not None
        new = ratings.NewRating(
            rater_id=rated.id or 0,
            rater_group=RaterGroup.INTERNAL,
            target_kind=TargetKind.SECTION,
            target_id=target.id or 0,
            period_id=period.id or 0,
            scores={},
            comment="",
            value=4.0,
            form_nonce=1,
        )
        await ratings.store_rating(session=session, new=new, now=bot.clock.now())

    await run_day(bot, dt.date(2026, 6, 26))  # Fri: three working days left, too early
    assert bea.bot_messages() == [] and group.bot_messages() == []

    await run_day(bot, dt.date(2026, 6, 29))  # Mon: one of the last two working days
    assert bea.last_text() == "The rating period ends on 2026-06-30 and you have not rated yet. It takes a minute."
    assert bea.buttons() == [["Rate now", "Mute these reminders"]]
    assert group.last_text().startswith("2 名成员")
    assert "Rated" not in group.last_text() and "Bea" not in group.last_text()
    await bea.press("Mute these reminders")
    await cai.press("Rate now")
    assert cai.last_text() == "What would you like to rate?"

    await run_day(bot, dt.date(2026, 6, 30))
    assert [m.text for m in bea.bot_messages()] == [
        "You will get no more reminders to rate. /rate still works any time."
    ]
    assert len([m for m in cai.bot_messages() if m.text.startswith("The rating period ends")]) == 2
    assert len(group.bot_messages()) == 2


async def test_pushes_speak_the_readers_language_and_the_groups(bot: Bot) -> None:
    """A member with no language stored gets it from Telegram at first contact, and what is pushed to them later
    speaks it; the group's posts speak the group's language, not the default."""
    section = await make_section(bot.db, "办公室")
    await make_member(bot.db, 302, "Bea", section=section, language=None)
    await make_member(bot.db, 303, "蔡", section=section, language=None)
    bea = bot.tg.private_user("Bea", user_id=302, language="en")
    cai = bot.tg.private_user("蔡", user_id=303, language="zh-hans")
    await bea.send("/whoami")
    await cai.send("/whoami")
    group = bot.tg.group("Campaign group")
    async with bot.db.transaction() as session:
        await groups.bind_campaign_group(
            session=session, chat_id=group.id, title="Campaign group", bound_by_id=None, language="en"
        )
        stored = {member.display_name: member.language for member in await members.list_members(session=session)}

    await run_day(bot, dt.date(2026, 6, 29))

    assert stored == {"Bea": "en", "蔡": "zh_CN"}
    assert bea.last_text() == "The rating period ends on 2026-06-30 and you have not rated yet. It takes a minute."
    assert cai.last_text().startswith("本评分周期于 2026-06-30 结束")
    assert group.last_text().startswith("2 members have not rated yet")
