"""Text after a command: used where the command takes it (/ranking 2026-06), said to be unused where it does not
(/sections 办公室), refused where it would mislead (a staff member's /tasks NAME); /away stays within the campaign."""

from __future__ import annotations

from storage.models import Role
from tests.conftest import Bot
from tests.factories import make_member, make_section
from tests.test_ranking import Campaign


async def test_a_command_that_takes_nothing_answers_and_says_the_text_was_not_used(bot: Bot) -> None:
    section = await make_section(bot.db, "办公室")
    alice = bot.tg.private_user("Alice")
    await make_member(bot.db, alice.id, "Alice", section=section, language="en")

    sent = await alice.send("/sections 办公室 <b>")

    assert sent.texts[0].startswith("Office sections")
    assert sent.texts[-1] == "(“办公室 <b>” after /sections was not used: /sections takes nothing after it.)"
    assert len((await alice.send("/sections")).messages) == 1, "nothing more without text after it"


async def test_the_note_speaks_the_members_chosen_language(bot: Bot) -> None:
    section = await make_section(bot.db, "办公室")
    wang = bot.tg.private_user("Wang", language="en")
    await make_member(bot.db, wang.id, "小王", section=section, language="zh_CN")

    sent = await wang.send("/whoami please")

    assert sent.texts[-1] == "（/whoami 后面的“please”没有用到：/whoami 不需要任何参数。）"


async def test_ranking_shows_the_period_typed_after_it(bot: Bot) -> None:
    campaign = await Campaign(bot).build()
    leader = campaign.user(campaign.leader)

    await leader.send("/ranking 2026-6")
    assert leader.last_text().splitlines()[0] == "Sections — 2026-06"
    await leader.send("/ranking 2026-13")
    assert leader.last_text().startswith(
        "There is no period “2026-13”. Send /ranking alone for the current board, or with a month (2026-05 …"
    )


async def test_staff_cannot_filter_tasks_by_section(bot: Bot) -> None:
    section = await make_section(bot.db, "办公室")
    staff = bot.tg.private_user("Staff")
    await make_member(bot.db, staff.id, "Staff", section=section, language="en")

    await staff.send("/tasks 财务科")

    assert (
        staff.last_text()
        == "Only leaders and administrators choose a section with /tasks NAME; send /tasks alone for yours."
    )


async def test_away_stays_within_the_campaign(bot: Bot, settings) -> None:  # type: ignore[no-untyped-def]
    section = await make_section(bot.db, "办公室")
    head = bot.tg.private_user("Head")
    await make_member(bot.db, head.id, "Head", role=Role.HEAD, section=section, language="en")
    after = settings.campaign.ends.replace(year=settings.campaign.ends.year + 1)

    await head.send(f"/away {after.isoformat()}")

    assert head.last_text() == (
        f"{after.isoformat()} is after the campaign, which ends on {settings.campaign.ends.isoformat()}: say until "
        "when you will be away before then."
    )
    await head.send("/away")
    assert head.last_text().startswith("You are not marked away.")
