"""Reassigning tasks: from the task card, and when the responsible member is deactivated or moved away (their open
tasks fall back to the section, and its heads and the administrator are shown them with Reassign)."""

from __future__ import annotations

import datetime as dt

from handlers.tasks import ReassignTo
from storage import tasks
from storage.models import Role, Task
from tests.conftest import ADMIN_ID, Bot
from tests.factories import make_member, make_section

TODAY = dt.date(2026, 6, 10)


async def task_for(bot: Bot, section_id: int, title: str, responsible_id: int | None) -> Task:
    async with bot.db.transaction() as session:
        return await tasks.create_task(
            session=session,
            section_id=section_id,
            title=title,
            due_on=TODAY + dt.timedelta(days=2),
            responsible_id=responsible_id,
            created_by_id=None,
        )


async def reload_task(bot: Bot, task_id: int | None) -> Task:
    async with bot.db.transaction() as session:
        task = await tasks.get_task(session=session, task_id=task_id or 0)
    assert task is not None
    return task


async def test_head_reassigns_a_task_from_its_card(bot: Bot) -> None:
    office = await make_section(bot.db, "办公室")
    head = bot.tg.private_user("Head")
    await make_member(bot.db, head.id, "Head", role=Role.HEAD, section=office, language="en")
    wang, li = bot.tg.private_user("Wang"), bot.tg.private_user("Li")
    old = await make_member(bot.db, wang.id, "小王", section=office, language="zh_CN")
    new = await make_member(bot.db, li.id, "Li", section=office, language="en")
    task = await task_for(bot, office.id or 0, "Report", old.id)

    await head.send("/tasks")
    await head.press("2026-06-12 · Report")
    await head.press("👤 Reassign")
    assert head.last_text() == "Give “Report” to whom?"
    assert head.buttons() == [["Head"], ["Li"], ["✓ 小王"], ["Nobody in particular"], ["‹ Back"]]
    await head.press("Li")

    assert "Responsible: Li" in head.last_text()
    assert (await reload_task(bot, task.id)).responsible_id == new.id
    assert li.last_text() == "📋 Head gave you a task: “Report”, due 2026-06-12. Send /tasks to see it."
    assert wang.last_text() == "📋 Head已将“Report”改派他人，你不再负责该事项。"
    async with bot.db.transaction() as session:
        kinds = [event.kind for event in await tasks.list_events(session=session, task_id=task.id or 0)]
    assert kinds == ["created", "reassigned"]


async def test_staff_cannot_reassign_and_a_forged_press_changes_nothing(bot: Bot) -> None:
    office, other = await make_section(bot.db, "办公室"), await make_section(bot.db, "财务科")
    staff = bot.tg.private_user("Staff")
    member = await make_member(bot.db, staff.id, "Staff", section=office, language="en")
    stranger = await make_member(bot.db, 777, "Stranger", section=other, language="en")
    head = bot.tg.private_user("Head")
    await make_member(bot.db, head.id, "Head", role=Role.HEAD, section=office, language="en")
    task = await task_for(bot, office.id or 0, "Report", member.id)

    await staff.send("/tasks")
    await staff.press("2026-06-12 · Report")
    assert all("👤 Reassign" not in row for row in staff.buttons())
    sent = await staff.press_data(ReassignTo(task.id or 0, 0).pack(), message=staff.last_message())
    assert sent.answer == "Only the section's head, leaders and administrators can do that."
    assert (await reload_task(bot, task.id)).responsible_id == member.id

    await head.send("/tasks")
    await head.press("2026-06-12 · Report")
    sent = await head.press_data(ReassignTo(task.id or 0, stranger.id or 0).pack(), message=head.last_message())
    assert sent.answer == "That person is not in the section. Choose again from /tasks."
    assert (await reload_task(bot, task.id)).responsible_id == member.id


async def test_a_moved_members_tasks_go_to_the_heads_with_reassign(bot: Bot) -> None:
    market = await make_section(bot.db, "市场开发科")
    await make_section(bot.db, "办公室")
    head = bot.tg.private_user("科长")
    await make_member(bot.db, head.id, "科长", role=Role.HEAD, section=market, language="zh_CN")
    dai = bot.tg.private_user("Dai")
    member = await make_member(bot.db, dai.id, "戴斌", section=market, language="zh_CN")
    await make_member(bot.db, 601, "小李", section=market, language="zh_CN")
    first = await task_for(bot, market.id or 0, "走访企业", member.id)
    second = await task_for(bot, market.id or 0, "整理台账", member.id)
    boss = bot.tg.private_user("Boss", user_id=ADMIN_ID)
    await boss.send("/start")

    await boss.send("/members 戴")
    await boss.press("戴斌 · 市场开发科 · staff member")
    await boss.press("Move to another section")
    await boss.press("办公室")

    assert (await reload_task(bot, first.id)).responsible_id is None
    assert (await reload_task(bot, second.id)).responsible_id is None
    notice = "戴斌已不在市场开发科，其 2 项未办结事项交回科室，请指定新的责任人："
    assert head.last_text() == notice
    assert head.buttons() == [["👤 走访企业"], ["👤 整理台账"]]
    assert any(
        text.startswith("戴斌 is no longer in 市场开发科, so their 2 open tasks fall to the section")
        for text in [message.text for message in boss.bot_messages()]
    )
    await head.press("👤 走访企业")
    await head.press("小李")
    assert "责任人：小李" in head.last_text()
    assert "戴斌" not in head.last_text()


async def test_deactivating_a_member_hands_back_their_tasks(bot: Bot) -> None:
    office = await make_section(bot.db, "办公室")
    dai = bot.tg.private_user("Dai")
    member = await make_member(bot.db, dai.id, "Dai", section=office, language="en")
    task = await task_for(bot, office.id or 0, "Report", member.id)
    boss = bot.tg.private_user("Boss", user_id=ADMIN_ID)
    await boss.send("/start")

    await boss.send("/members Dai")
    await boss.press("Dai · 办公室 · staff member")
    await boss.press("Deactivate")
    await boss.press("Yes, deactivate")

    assert (await reload_task(bot, task.id)).responsible_id is None
    assert any(
        text == "Dai is no longer in 办公室, so their open task falls to the section until you give it to someone:"
        for text in [message.text for message in boss.bot_messages()]
    )
