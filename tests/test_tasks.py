"""/task, /tasks and a task's card: the dialogue, dates typed as people type them, Done, Extend, Cancel, and the
refusals for other sections' tasks."""

from __future__ import annotations

import datetime as dt

from storage import tasks
from storage.models import Role, Section, TaskStatus
from tests.conftest import Bot
from tests.factories import make_member, make_section

TODAY = dt.date(2026, 6, 10)  # the test clock's day (a Wednesday)


async def head_of(bot: Bot, section: Section, user_id: int = 501, name: str = "Head"):  # type: ignore[no-untyped-def]
    await make_member(bot.db, user_id, name, role=Role.HEAD, section=section, language="en")
    return bot.tg.private_user(name, user_id=user_id)


async def only_task(bot: Bot):  # type: ignore[no-untyped-def]
    async with bot.db.transaction() as session:
        (task,) = await tasks.list_open_tasks(session=session)
    return task


async def test_head_adds_a_task_in_a_short_dialogue(bot: Bot) -> None:
    section = await make_section(bot.db, "办公室")
    head = await head_of(bot, section)
    await make_member(bot.db, 502, "小王", section=section)

    await head.send("/task")
    assert head.last_text() == "New task for 办公室. Type its title (or /cancel)."
    await head.send("回复 <企业> 投诉")
    assert head.last_text().startswith("When is it due? For example:")
    await head.send("+3wd")
    assert head.buttons() == [["Head"], ["小王"], ["Nobody in particular"]]
    await head.press("小王")

    assert head.last_text().startswith("Task added.\n\n回复 <企业> 投诉\nSection: 办公室\nResponsible: 小王\n")
    assert "Due 2026-06-15 (in 3 working days)" in head.last_text()
    task = await only_task(bot)
    assert (task.title, task.due_on, task.status) == ("回复 <企业> 投诉", dt.date(2026, 6, 15), TaskStatus.OPEN)


async def test_bad_dates_get_examples_and_the_dialogue_waits(bot: Bot) -> None:
    section = await make_section(bot.db)
    head = await head_of(bot, section)
    await head.send("/task")
    await head.send("Title")

    await head.send("someday")
    assert head.last_text() == (
        "I can't read “someday” as a date. For example: 2026-12-05, 12-05, 5 Dec, tomorrow, +3d (days) or +5wd "
        "(working days)."
    )
    await head.send("2026-06-01")
    assert head.last_text().startswith("2026-06-01 is in the past; a deadline must be today or later.")
    await head.send("2026-06-31")
    assert head.last_text().startswith("There is no such day as 2026-06-31. For example:")
    await head.send("明天")

    assert head.last_text() == "Due 2026-06-11 (in 1 working day).\nWho is responsible for it?"
    async with bot.db.transaction() as session:
        assert await tasks.list_open_tasks(session=session) == []


async def test_an_over_long_title_is_refused_and_asked_for_again(bot: Bot) -> None:
    section = await make_section(bot.db, "办公室")
    head = await head_of(bot, section)
    await head.send("/task")

    await head.send("<b>长长长</b>" * 1000)  # 10,000 characters, HTML among them

    assert head.last_text() == (
        "A title has at most 200 characters; this one has 10000. Please send a shorter one, or send /cancel to stop."
    )
    await head.send("   ")
    assert head.last_text() == "Please type it as text, or send /cancel to stop."
    await head.send("<b>回复</b> & 投诉")
    assert head.last_text().startswith("When is it due?"), "the next message answered the title again"
    await head.send("明天")
    await head.press("Nobody in particular")
    assert "&lt;b&gt;回复&lt;/b&gt; &amp; 投诉" in head.last_message().html
    assert (await only_task(bot)).title == "<b>回复</b> & 投诉"


async def test_an_over_long_note_or_reason_is_asked_for_again(bot: Bot) -> None:
    section = await make_section(bot.db)
    head = await head_of(bot, section)
    await head.send("/task")
    await head.send("Title")
    await head.send("+3wd")
    await head.press("Nobody in particular")
    task_id = (await only_task(bot)).id
    await head.press("📅 Extend")
    await head.send("+5wd")

    await head.send("x" * 501)
    assert head.last_text() == (
        "A reason has at most 500 characters; this one has 501. Please send a shorter one, or send /cancel to stop."
    )
    await head.send("Waiting for the supplier")
    assert head.last_text().startswith("Extended.")
    await head.press("✅ Done")
    await head.send("y" * 501)
    assert head.last_text().startswith("A note has at most 500 characters; this one has 501. Please send a shorter")
    await head.send("Sent on time")

    async with bot.db.transaction() as session:
        task = await tasks.get_task(session=session, task_id=task_id or 0)
    assert task is not None and (task.status, task.extensions, task.note) == (TaskStatus.DONE, 1, "Sent on time")


async def test_leader_chooses_the_section_first(bot: Bot) -> None:
    await make_section(bot.db, "办公室")
    await make_section(bot.db, "财务科")
    leader = bot.tg.private_user("Leader")
    await make_member(bot.db, leader.id, "Leader", role=Role.LEADER, language="en")

    await leader.send("/task")
    await leader.press("财务科")
    await leader.send("年度预算")
    await leader.send("2026-07-01")
    await leader.press("Nobody in particular")

    task = await only_task(bot)
    assert (task.title, task.due_on) == ("年度预算", dt.date(2026, 7, 1))


async def test_staff_cannot_add_tasks(bot: Bot) -> None:
    section = await make_section(bot.db)
    staff = bot.tg.private_user("Staff")
    await make_member(bot.db, staff.id, "Staff", section=section, language="en")

    await staff.send("/task")

    assert staff.last_text() == "You can't use /task. Send /help to see the commands you can use."


async def test_extend_asks_date_and_reason_and_counts_extensions(bot: Bot) -> None:
    section = await make_section(bot.db)
    head = await head_of(bot, section)
    async with bot.db.transaction() as session:
        await tasks.create_task(
            session=session,
            section_id=section.id or 0,
            title="Report",
            due_on=TODAY + dt.timedelta(days=2),
            responsible_id=None,
            created_by_id=None,
        )
    await head.send("/tasks")
    await head.press("2026-06-12 · Report")

    await head.press("📅 Extend")
    await head.send("2026-06-11")
    assert head.last_text() == "The new date must be after the current one, 2026-06-12."
    await head.send("2026-06-18")
    await head.send("等待企业补充材料")

    task = await only_task(bot)
    assert (task.due_on, task.extensions) == (dt.date(2026, 6, 18), 1)
    async with bot.db.transaction() as session:
        events = [(e.kind, e.detail) for e in await tasks.list_events(session=session, task_id=task.id or 0)]
    assert events[-1] == ("extended", "2026-06-12 → 2026-06-18: 等待企业补充材料")


async def test_leaders_see_extensions_and_cancel(bot: Bot) -> None:
    section = await make_section(bot.db, "办公室")
    leader = bot.tg.private_user("Leader")
    await make_member(bot.db, leader.id, "Leader", role=Role.LEADER, language="en")
    async with bot.db.transaction() as session:
        task = await tasks.create_task(
            session=session,
            section_id=section.id or 0,
            title="Report",
            due_on=TODAY,
            responsible_id=None,
            created_by_id=None,
        )
        await tasks.extend_task(
            session=session, task=task, due_on=TODAY + dt.timedelta(days=5), reason="r", actor_id=None
        )

    await leader.send("/tasks")
    await leader.press("2026-06-15 · 办公室 · Report")
    assert "Extended 1 time." in leader.last_text()
    await leader.press("✖ Cancel")
    assert leader.last_text().endswith("Cancel this task?")
    await leader.press("Yes, cancel it")

    async with bot.db.transaction() as session:
        stored = await tasks.get_task(session=session, task_id=task.id or 0)
    assert stored is not None and stored.status == TaskStatus.CANCELLED
    assert "Cancelled." in leader.last_text()


async def test_heads_cannot_touch_another_sections_tasks(bot: Bot) -> None:
    own, other = await make_section(bot.db, "办公室"), await make_section(bot.db, "财务科")
    head = await head_of(bot, own)
    async with bot.db.transaction() as session:
        foreign = await tasks.create_task(
            session=session,
            section_id=other.id or 0,
            title="Secret",
            due_on=TODAY,
            responsible_id=None,
            created_by_id=None,
        )
    await head.send("/tasks")
    assert head.last_text() == "There are no open tasks."

    for data in (f"tk:{foreign.id}", f"tkd:{foreign.id}:1", f"tke:{foreign.id}", f"tkc:{foreign.id}"):
        sent = await head.press_data(data, message=head.last_message())
        assert sent.answer and "Secret" not in sent.answer, data

    stored = await only_task(bot)
    assert stored.status == TaskStatus.OPEN and stored.extensions == 0


async def test_responsible_staff_may_mark_done_with_a_note(bot: Bot) -> None:
    section = await make_section(bot.db)
    staff = bot.tg.private_user("Staff")
    member = await make_member(bot.db, staff.id, "Staff", section=section, language="en")
    async with bot.db.transaction() as session:
        await tasks.create_task(
            session=session,
            section_id=section.id or 0,
            title="Reply",
            due_on=TODAY,
            responsible_id=member.id,
            created_by_id=None,
        )

    await staff.send("/tasks")
    await staff.press("2026-06-10 · Reply")
    assert staff.buttons()[0] == ["✅ Done"]
    await staff.press("✅ Done")
    await staff.send("已答复")

    assert staff.last_text() == "✅ “Reply” is done. Thank you!"
    async with bot.db.transaction() as session:
        assert await tasks.list_open_tasks(session=session) == []


async def test_away_with_a_bad_date_changes_nothing(bot: Bot) -> None:
    section = await make_section(bot.db)
    head = await head_of(bot, section)

    await head.send("/away yesterday-ish")
    await head.send("/away")

    assert head.bot_messages()[0].text.startswith("I can't read “yesterday-ish” as a date.")
    assert head.last_text().startswith("You are not marked away.")


async def test_leaders_filter_tasks_by_section(bot: Bot) -> None:
    office, finance = await make_section(bot.db, "办公室"), await make_section(bot.db, "财务科")
    leader = bot.tg.private_user("Leader")
    await make_member(bot.db, leader.id, "Leader", role=Role.LEADER, language="en")
    async with bot.db.transaction() as session:
        for section, title in ((office, "A"), (finance, "B")):
            await tasks.create_task(
                session=session,
                section_id=section.id or 0,
                title=title,
                due_on=TODAY,
                responsible_id=None,
                created_by_id=None,
            )

    await leader.send("/tasks 财务")

    assert leader.buttons() == [["2026-06-10 · 财务科 · B"]]


async def test_people_of_the_task_are_told_what_others_did(bot: Bot) -> None:
    section = await make_section(bot.db, "办公室")
    head = await head_of(bot, section)
    staff = bot.tg.private_user("Staff")
    await make_member(bot.db, staff.id, "小王", section=section, language="en")
    leader = bot.tg.private_user("Leader")
    await make_member(bot.db, leader.id, "Leader", role=Role.LEADER, language="en")

    await head.send("/task")
    await head.send("Report")
    await head.send("2026-06-12")
    await head.press("小王")
    assert staff.last_text() == "📋 Head gave you a task: “Report”, due 2026-06-12. Send /tasks to see it."
    await leader.send("/tasks")
    await leader.press("2026-06-12 · 办公室 · Report")
    await leader.press("📅 Extend")
    await leader.send("2026-06-17")
    await leader.send("材料未齐")

    assert head.last_text() == "📅 Leader extended “Report” to 2026-06-17: 材料未齐"
    assert staff.last_text() == "📅 Leader extended “Report” to 2026-06-17: 材料未齐"
    await leader.send("/tasks")
    await leader.press("2026-06-17 · 办公室 · Report")
    assert "Last extension: 2026-06-12 → 2026-06-17: 材料未齐" in leader.last_text()


async def test_a_deadline_on_a_day_off_moves_to_the_next_working_day(bot: Bot) -> None:
    section = await make_section(bot.db)
    head = await head_of(bot, section)
    await head.send("/task")
    await head.send("Report")

    await head.send("2026-06-13")  # a Saturday

    assert head.last_text().startswith(
        "2026-06-13 is not a working day, so the deadline is the next working day. Due 2026-06-15 (in 3 working days)."
    )


async def test_away_says_what_happens_to_a_staff_members_reminders(bot: Bot) -> None:
    section = await make_section(bot.db)
    staff = bot.tg.private_user("Staff")
    await make_member(bot.db, staff.id, "Staff", section=section, language="en")

    await staff.send("/away off")
    assert staff.last_text() == "You were not marked away."
    await staff.send("/away 2026-06-01")
    assert staff.last_text() == "2026-06-01 is in the past; say until when you will be away."
    await staff.send("/away 2026-06-20")

    assert staff.last_text() == "You are away until 2026-06-20 (that day included): no reminders reach you."


async def test_leader_filter_without_a_match_says_so(bot: Bot) -> None:
    leader = bot.tg.private_user("Leader")
    await make_member(bot.db, leader.id, "Leader", role=Role.LEADER, language="en")

    await leader.send("/tasks 火星")

    assert leader.last_text() == "No open tasks in a section whose name contains “火星”."
