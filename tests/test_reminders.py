"""Reminders on a schedule, with a clock that travels: working days, holidays and make-up days, escalation, the
buttons on a reminder, faults during a fan-out, restarts, and two instances on one database."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlmodel import select

from bot.app import build_application, on_start
from bot.context import Services
from bot.fake_api import FakeBotApi, StoredMessage
from bot.fake_users import FakeUser
from jobs.outbox import deliver_due
from jobs.reminders import plan_reminders
from storage import reminders, tasks
from storage.models import Member, Reminder, ReminderStatus, Role, Section, TaskStatus
from storage.session import Database
from tests.conftest import Bot
from tests.factories import make_member, make_section, reload_member

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
DUE = dt.date(2026, 10, 9)  # a Friday just after the National Day holidays


def morning(day: dt.date, hour: int = 9, minute: int = 5) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI).astimezone(dt.UTC)


def services(bot: Bot) -> Services:
    return bot.app.bot_data["shuangyou.services"]  # type: ignore[no-any-return]


async def run_day(bot: Bot, day: dt.date, hour: int = 9) -> None:
    bot.clock.set(morning(day, hour))
    await plan_reminders(services(bot), bot.clock.now())
    await deliver_due(services(bot), bot.app.bot)


async def add_task(bot: Bot, section: Section, title: str = "回复企业投诉", due: dt.date = DUE) -> int:
    async with bot.db.transaction() as session:
        task = await tasks.create_task(
            session=session,
            section_id=section.id or 0,
            title=title,
            due_on=due,
            responsible_id=None,
            created_by_id=None,
        )
    assert task.id is not None
    return task.id


async def setup(bot: Bot) -> tuple[Section, Member, Member]:
    section = await make_section(bot.db, "行政审批科")
    head = await make_member(bot.db, 501, "王科长", role=Role.HEAD, section=section, language="en")
    leader = await make_member(bot.db, 601, "李局长", role=Role.LEADER, language="en")
    bot.tg.private_user("Head", user_id=501)
    bot.tg.private_user("Leader", user_id=601)
    return section, head, leader


def last_reminder(user: FakeUser) -> StoredMessage:
    return [m for m in user.bot_messages() if m.text.startswith(("⏰", "⚠️"))][-1]


def texts_to(bot: Bot, chat_id: int, prefix: str = "") -> list[str]:
    return [m.text for m in bot.api.chats[chat_id].messages.values() if m.from_bot and m.text.startswith(prefix)]


async def test_reminders_across_a_weekend_and_the_national_day_holidays(bot: Bot) -> None:
    section, _, _ = await setup(bot)
    await add_task(bot, section)

    day = dt.date(2026, 9, 26)
    while day <= dt.date(2026, 10, 13):
        await run_day(bot, day)
        day += dt.timedelta(days=1)

    task_reminders = [text for text in texts_to(bot, 501) if not text.startswith("Coming up")]
    assert task_reminders == [
        "⏰ Reminder: “回复企业投诉” (行政审批科) is due in 3 working days, on 2026-10-09.",  # Tue 29 Sep
        "⏰ Reminder: “回复企业投诉” (行政审批科) is due in 1 working day, on 2026-10-09.",  # Thu 8 Oct
        "⏰ Due today: “回复企业投诉” (行政审批科).",  # Fri 9 Oct
        "⚠️ Overdue: “回复企业投诉” (行政审批科) was due on 2026-10-09, 1 working day ago.",  # Sat 10 Oct, 调休
        "⚠️ Overdue: “回复企业投诉” (行政审批科) was due on 2026-10-09, 2 working days ago.",  # Mon 12 Oct
        "⚠️ Overdue: “回复企业投诉” (行政审批科) was due on 2026-10-09, 3 working days ago.",  # Tue 13 Oct
    ]
    assert texts_to(bot, 601, "🚨") == [
        "🚨 Escalated: “回复企业投诉” of 行政审批科 is 2 working days overdue (it was due 2026-10-09)."
    ]
    # The summary starts the day after the escalation: before, the head is reminded and the escalation is news.
    assert [t.splitlines()[1] for t in texts_to(bot, 601, "Overdue tasks today")] == [
        "• 行政审批科: 回复企业投诉 — 3 working days overdue"
    ]
    async with bot.db.transaction() as session:
        (task,) = await tasks.list_open_tasks(session=session)
    assert task.overdue_days == 3


async def test_nothing_is_sent_before_working_hours_or_on_days_off(bot: Bot) -> None:
    section, _, _ = await setup(bot)
    await add_task(bot, section, due=dt.date(2026, 10, 8))

    await run_day(bot, dt.date(2026, 10, 3))  # National Day holiday
    await run_day(bot, dt.date(2026, 9, 30), hour=7)  # before work
    assert texts_to(bot, 501) == []

    await run_day(bot, dt.date(2026, 9, 30), hour=10)
    assert texts_to(bot, 501, "⏰ Reminder") == [
        "⏰ Reminder: “回复企业投诉” (行政审批科) is due in 1 working day, on 2026-10-08."
    ]


async def test_a_sweep_run_twice_sends_each_reminder_once(bot: Bot) -> None:
    section, _, _ = await setup(bot)
    await add_task(bot, section)

    for _ in range(3):
        await run_day(bot, DUE)

    assert texts_to(bot, 501, "⏰") == ["⏰ Due today: “回复企业投诉” (行政审批科)."]


async def test_done_from_a_reminder_closes_the_task_and_stops_reminders(bot: Bot) -> None:
    section, _, _ = await setup(bot)
    task_id = await add_task(bot, section)
    head = bot.tg.private_user("Head", user_id=501)
    await run_day(bot, DUE)

    await head.press("✅ Done", message_id=last_reminder(head).message_id)
    await head.send("已电话回复企业")
    await run_day(bot, DUE + dt.timedelta(days=1))
    again = await head.press_data(f"tkd:{task_id}:0", message=head.bot_messages()[0])

    async with bot.db.transaction() as session:
        task = await tasks.get_task(session=session, task_id=task_id)
    assert task is not None and (task.status, task.note) == (TaskStatus.DONE, "已电话回复企业")
    assert not texts_to(bot, 501, "⚠️ Overdue")
    assert again.answer == "“回复企业投诉” is already done."


async def test_snooze_never_doubles_the_next_days_reminder(bot: Bot) -> None:
    section, _, _ = await setup(bot)
    await add_task(bot, section, due=dt.date(2026, 10, 13))  # Tue: 2 working days after Sat 10 (a make-up day)
    head = bot.tg.private_user("Head", user_id=501)
    await run_day(bot, dt.date(2026, 10, 12))  # Mon: due in 1 working day
    reminder = last_reminder(head)

    await head.press("⏰ Snooze", message_id=reminder.message_id)
    await run_day(bot, dt.date(2026, 10, 13))
    await head.press("⏰ Snooze", message_id=last_reminder(head).message_id)
    await run_day(bot, dt.date(2026, 10, 14))

    assert texts_to(bot, 501, "⏰ Reminder") == [reminder.text]
    assert texts_to(bot, 501, "⏰ Due today") == ["⏰ Due today: “回复企业投诉” (行政审批科)."]
    assert texts_to(bot, 501, "⚠️") == [
        "⚠️ Overdue: “回复企业投诉” (行政审批科) was due on 2026-10-13, 1 working day ago."
    ]


async def test_snooze_is_folded_into_the_next_days_own_reminder(bot: Bot) -> None:
    section, _, _ = await setup(bot)
    await add_task(bot, section, due=dt.date(2026, 10, 12))
    head = bot.tg.private_user("Head", user_id=501)
    await run_day(bot, DUE)  # Fri 9 Oct: due in 2 working days (Sat 10 is a make-up day) — no reminder by default
    await run_day(bot, dt.date(2026, 10, 10))  # Sat 10 Oct (make-up working day): due in 1 working day
    reminder = last_reminder(head)
    assert reminder.text.startswith("⏰ Reminder")

    sent = await head.press("⏰ Snooze", message_id=reminder.message_id)
    assert sent.answer == "I will remind you again on 2026-10-12."
    await head.press("⏰ Snooze", message_id=reminder.message_id)  # a second press changes nothing
    await run_day(bot, dt.date(2026, 10, 12))

    assert texts_to(bot, 501, "⏰ Reminder") == [reminder.text]
    assert texts_to(bot, 501, "⏰ Due today") == ["⏰ Due today: “回复企业投诉” (行政审批科)."], "not twice"


async def test_an_away_head_hands_reminders_to_the_leaders(bot: Bot) -> None:
    section, _, _ = await setup(bot)
    await add_task(bot, section)
    away_head = bot.tg.private_user("Head", user_id=501)
    await away_head.send("/away 2026-10-20")
    assert away_head.last_text().startswith("You are away until 2026-10-20")

    await run_day(bot, DUE)

    assert texts_to(bot, 501, "⏰") == []
    assert texts_to(bot, 601, "⏰") == ["⏰ Due today: “回复企业投诉” (行政审批科)."]


async def test_fan_out_survives_429_5xx_timeouts_and_a_blocked_head(bot: Bot) -> None:
    heads = []
    for number in range(12):
        section = await make_section(bot.db, f"科室{number:02d}")
        heads.append(
            await make_member(bot.db, 700 + number, f"Head {number}", role=Role.HEAD, section=section, language="en")
        )
        bot.tg.private_user(f"Head {number}", user_id=700 + number)
        await add_task(bot, section, title=f"Task {number}")
    bot.api.fail_next("sendMessage", retry_after=1, chat_id=700)
    bot.api.fail_next("sendMessage", status=502, chat_id=701)
    bot.api.fail_next("sendMessage", timeout=True, chat_id=702)
    bot.api.fail_next("sendMessage", blocked=True, chat_id=703, times=10)

    bot.clock.set(morning(DUE))
    await plan_reminders(services(bot), bot.clock.now())
    for minutes in (0, 1, 2, 5):  # the outbox sweeps again as time goes on; retries come due
        bot.clock.set(morning(DUE) + dt.timedelta(minutes=minutes))
        await deliver_due(services(bot), bot.app.bot)

    for number in range(12):
        expected = [] if number == 3 else [f"⏰ Due today: “Task {number}” (科室{number:02d})."]
        assert texts_to(bot, 700 + number, "⏰") == expected, number
    assert not (await reload_member(bot.db, heads[3].id)).reachable
    async with bot.db.transaction() as session:
        statuses = sorted(r.status for r in await reminders.list_reminders(session=session) if r.kind == "due")
    assert statuses == [ReminderStatus.FAILED] + [ReminderStatus.SENT] * 11


async def test_unreachable_heads_are_listed_for_the_leaders(bot: Bot) -> None:
    section, _, _ = await setup(bot)
    await add_task(bot, section, due=DUE - dt.timedelta(days=1))
    bot.api.fail_next("sendMessage", blocked=True, chat_id=501, times=5)

    await run_day(bot, dt.date(2026, 10, 9))
    await run_day(bot, dt.date(2026, 10, 10))

    assert any("Heads who blocked the bot and get no reminders: 王科长" in t for t in texts_to(bot, 601, "Overdue"))


async def test_restart_in_the_middle_of_a_delivery_sends_the_rest_once(bot: Bot, settings: object) -> None:
    """A crash after claiming: the claim lapses, a new application delivers what was left, nothing twice."""
    section, _, _ = await setup(bot)
    for number in range(5):
        await add_task(bot, section, title=f"Task {number}")
    bot.clock.set(morning(DUE))
    await plan_reminders(services(bot), bot.clock.now())
    async with bot.db.transaction() as session:  # the first process claims everything, sends nothing, dies
        await reminders.claim_due_reminders(
            session=session, now=bot.clock.now(), limit=3, lease=dt.timedelta(minutes=2)
        )

    bot.clock.set(morning(DUE) + dt.timedelta(minutes=3))
    fresh = build_application(services(bot).settings, db=bot.db, request=bot.api, clock=bot.clock)
    async with fresh:
        await on_start(fresh)
        await deliver_due(fresh.bot_data["shuangyou.services"], fresh.bot)
        await deliver_due(fresh.bot_data["shuangyou.services"], fresh.bot)

    due_texts = texts_to(bot, 501, "⏰ Due today")
    assert sorted(due_texts) == sorted(f"⏰ Due today: “Task {n}” (行政审批科)." for n in range(5))


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_two_instances_on_one_postgresql_send_each_reminder_once(bot: Bot) -> None:
    sections_ = [await make_section(bot.db, f"科室{n:02d}") for n in range(20)]
    for number, section in enumerate(sections_):
        await make_member(bot.db, 800 + number, f"Head {number}", role=Role.HEAD, section=section)
        await add_task(bot, section, title=f"Task {number}")
    other_api = FakeBotApi()
    for api in (bot.api, other_api):
        for number in range(20):
            api.ensure_user({"id": 800 + number, "is_bot": False, "first_name": f"Head {number}"})
    second_db = Database(services(bot).settings.database_url)
    second = build_application(services(bot).settings, db=second_db, request=other_api, clock=bot.clock)
    bot.clock.set(morning(DUE))
    try:
        async with second:
            await on_start(second)
            both = [services(bot), second.bot_data["shuangyou.services"]]
            await asyncio.gather(*(plan_reminders(s, bot.clock.now()) for s in both))
            await asyncio.gather(
                deliver_due(both[0], bot.app.bot), deliver_due(both[1], second.bot),
                deliver_due(both[0], bot.app.bot), deliver_due(both[1], second.bot),
            )  # fmt: skip
    finally:
        await second_db.close()

    sent = [c for api in (bot.api, other_api) for c in api.calls_to("sendMessage") if c.ok]
    due = sorted(c.params["text"] for c in sent if c.params["text"].startswith("⏰"))
    assert len(due) == 20 and len(set(due)) == 20


async def test_snooze_brings_the_reminder_back_on_a_day_without_one(bot: Bot) -> None:
    section, _, _ = await setup(bot)
    await add_task(bot, section, due=dt.date(2026, 10, 15))  # Thu
    head = bot.tg.private_user("Head", user_id=501)
    await run_day(bot, dt.date(2026, 10, 12))  # Mon: due in 3 working days
    first = last_reminder(head)

    sent = await head.press("⏰ Snooze", message_id=first.message_id)
    await run_day(bot, dt.date(2026, 10, 13))  # Tue: 2 working days, no reminder of its own by default

    assert sent.answer == "I will remind you again on 2026-10-13."
    assert texts_to(bot, 501, "⏰ Reminder") == [
        "⏰ Reminder: “回复企业投诉” (行政审批科) is due in 3 working days, on 2026-10-15.",
        "⏰ Reminder: “回复企业投诉” (行政审批科) is due in 2 working days, on 2026-10-15.",
    ]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_big_fan_out_goes_out_in_one_round_not_a_batch_per_sweep(bot: Bot) -> None:
    section = await make_section(bot.db, "行政审批科")
    for number in range(100):  # at the paced ~29 a second, within one round of ROUND_SECONDS
        await make_member(bot.db, 9000 + number, f"Head {number}", role=Role.HEAD, section=section, language="en")
        bot.tg.private_user(f"Head {number}", user_id=9000 + number)
    await add_task(bot, section, title="Task")

    bot.clock.set(morning(DUE))
    await plan_reminders(services(bot), bot.clock.now())
    sent = await deliver_due(services(bot), bot.app.bot)

    async with bot.db.transaction() as session:
        rows = await reminders.list_reminders(session=session)
    assert sent == len(rows) >= 100  # many batches, in one round
    assert {row.status for row in rows} == {ReminderStatus.SENT}


async def test_a_digest_and_a_summary_of_many_long_overdue_titles_arrive_in_parts(bot: Bot) -> None:
    section, _, _ = await setup(bot)
    for number in range(25):
        await add_task(bot, section, title=f"任务{number:02} " + "逾期" * 94 + " & <整改>", due=DUE)

    await run_day(bot, DUE + dt.timedelta(days=4))  # Tuesday: everything overdue, the leaders told

    to_head = [m for m in bot.api.chats[501].messages.values() if m.from_bot]
    to_leader = [m for m in bot.api.chats[601].messages.values() if m.from_bot]
    for received in (to_head, to_leader):
        assert received and all(len(message.text) <= 4096 for message in received)
    everything = "\n".join(message.text for message in to_head)
    assert all(f"任务{number:02}" in everything for number in range(25))
    assert "任务24" in "\n".join(message.text for message in to_leader)
    assert bot.errors.records == []
    async with bot.db.transaction() as session:
        failed = await session.exec(select(Reminder).where(Reminder.status == ReminderStatus.FAILED))
        assert failed.all() == []
