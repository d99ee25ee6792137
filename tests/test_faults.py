"""Telegram failing under the bot: 429, 5xx, timeouts, blocked users, groups that migrate."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from sqlmodel import select

from bot.app import build_application, configure_logging, on_start
from bot.fake_users import FakeTelegram
from jobs.outbox import deliver_due
from storage.models import ProcessedUpdate
from tests.conftest import ADMIN_ID, Bot
from tests.factories import make_member, make_section

WELCOME = "Welcome to Shuangyou"


async def test_reply_hit_by_429_is_retried_and_delivered(bot: Bot) -> None:
    alice = bot.tg.private_user("Alice")
    bot.api.fail_next("sendMessage", retry_after=1)

    sent = await alice.send("/start")

    assert len(sent.messages) == 1 and WELCOME in sent.texts[0]
    attempts = bot.api.calls_to("sendMessage")
    assert [call.ok for call in attempts] == [False, True]
    assert attempts[0].error == "Too Many Requests: retry after 1"


@pytest.mark.parametrize("fault", [{"status": 502}, {"status": 500}, {"timeout": True}])
async def test_answer_lost_to_server_error_or_timeout_comes_later_from_the_outbox(
    bot: Bot, fault: dict[str, object], caplog: pytest.LogCaptureFixture
) -> None:
    alice = bot.tg.private_user("Alice")
    bot.api.fail_next("sendMessage", **fault)  # type: ignore[arg-type]

    sent = await alice.send("/start")
    assert sent.texts == [], "no apology: the answer is kept"
    bot.clock.advance(dt.timedelta(seconds=35))
    await deliver_due(bot.app.bot_data["shuangyou.services"], bot.app.bot)

    assert WELCOME in alice.last_text()
    assert not any(record.exc_info for record in caplog.records), "no traceback in the log either"
    assert any("the outbox sends it again" in record.getMessage() for record in caplog.records)


async def test_an_answer_kept_at_night_goes_out_at_night(bot: Bot) -> None:
    evening = dt.datetime(2026, 6, 10, 23, 30, tzinfo=bot.app.bot_data["shuangyou.services"].settings.tz)
    bot.clock.set(evening)  # outside working hours: reminders wait for the morning, answers do not
    alice = bot.tg.private_user("Alice")
    bot.api.fail_next("sendMessage", status=502)

    await alice.send("/start")
    bot.clock.advance(dt.timedelta(seconds=35))
    await deliver_due(bot.app.bot_data["shuangyou.services"], bot.app.bot)

    assert WELCOME in alice.last_text()


@pytest.mark.parametrize("fault", [{"status": 502}, {"timeout": True}])
async def test_an_answer_to_an_unknown_command_lost_comes_later(
    bot: Bot, fault: dict[str, object], caplog: pytest.LogCaptureFixture
) -> None:
    alice = bot.tg.private_user("Alice")
    bot.api.fail_next("sendMessage", **fault)  # type: ignore[arg-type]

    sent = await alice.send("/nonsense")
    bot.clock.advance(dt.timedelta(seconds=35))
    await deliver_due(bot.app.bot_data["shuangyou.services"], bot.app.bot)

    assert sent.texts == []
    assert alice.last_text().startswith("I don't know the command /nonsense.")
    assert not any(record.exc_info for record in caplog.records), "no traceback in the log either"
    assert any("the outbox sends it again" in record.getMessage() for record in caplog.records)


async def test_bot_survives_and_answers_the_next_message_after_a_fault(bot: Bot) -> None:
    alice = bot.tg.private_user("Alice")
    bot.api.fail_next("sendMessage", status=503)
    await alice.send("/start")

    sent = await alice.send("/help")

    assert sent.texts[0].startswith("What you can do here")


async def test_user_who_blocked_the_bot_is_logged_not_apologised_to(bot: Bot, caplog: pytest.LogCaptureFixture) -> None:
    alice = bot.tg.private_user("Alice")
    bot.api.fail_next("sendMessage", blocked=True)
    caplog.set_level(logging.INFO)

    sent = await alice.send("/start")

    assert sent.messages == []
    assert len(bot.api.calls_to("sendMessage")) == 1
    assert any("blocked the bot" in record.getMessage() for record in caplog.records)


async def test_reply_to_a_group_that_became_a_supergroup_goes_to_the_new_chat(bot: Bot) -> None:
    alice = bot.tg.private_user("Alice")
    group = bot.tg.group("Old group", chat_id=-4_001)
    group.add(alice)
    bot.api.fail_next("sendMessage", migrate_to=-100_4_001)

    await alice.send("/help@ShuangyouBot", chat=group)

    supergroup = bot.api.chats[-100_4_001]
    assert supergroup.type == "supergroup"
    texts = [message.text for message in supergroup.messages.values() if message.from_bot]
    assert texts and texts[-1].startswith("What you can do here")


async def test_every_fault_leaves_no_traceback_in_any_message(bot: Bot) -> None:
    alice = bot.tg.private_user("Alice")
    for fault in ({"retry_after": 1}, {"status": 500}, {"timeout": True}, {"blocked": True}):
        bot.api.fail_next("sendMessage", **fault)
        await alice.send("/start")

    texts = [message.text for message in alice.bot_messages()]
    assert texts and not any("Traceback" in text or "Error" in text for text in texts)
    assert bot.api.pending_faults == 0


def test_the_token_never_reaches_the_log(capsys: pytest.CaptureFixture[str]) -> None:
    token = "123456789:AAEabcdefghijklmnopqrstuvwxyz012345678"
    handler = logging.StreamHandler()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        configure_logging(logging.DEBUG, secret=token)
        logging.getLogger("telegram.request").warning("POST https://api.telegram.org/bot%s/getMe failed", token)
        try:
            raise RuntimeError(f"https://api.telegram.org/bot{token}/sendMessage")
        except RuntimeError:
            logging.getLogger("bot").exception("Sending failed")
    finally:
        root.removeHandler(handler)
    written = capsys.readouterr().err
    assert "getMe failed" in written and "Sending failed" in written and "<BOT_TOKEN>" in written
    assert token not in written


@pytest.mark.flood_control
async def test_a_flooding_user_is_slowed_down_and_the_others_are_not(bot: Bot) -> None:
    flooder, other = bot.tg.private_user("Flood"), bot.tg.private_user("Calm")

    answers = [len((await flooder.send("/help")).messages) for _ in range(300)]

    assert sum(answers[:30]) == 30  # the burst is served
    warning = flooder.bot_messages()[30].text
    assert warning == "Too many messages at once. Wait a few seconds, then try again."
    assert sum(answers[31:]) == 0  # told once, then dropped quietly
    assert (await other.send("/help")).texts[0].startswith("What you can do here")
    bot.clock.advance(dt.timedelta(seconds=2))  # 3 a second come back
    assert len((await flooder.send("/help")).messages) == 1


async def test_an_update_delivered_twice_is_acted_on_once(bot: Bot) -> None:
    home = await make_section(bot.db, "办公室")
    staff = bot.tg.private_user("Sun", language="en")
    await make_member(bot.db, staff.id, "Sun", section=home, language="en")
    message = bot.api.record_user_message(
        staff.id, staff.user, "/away 2026-06-20", entities=[{"type": "bot_command", "offset": 0, "length": 5}]
    )
    update = {"update_id": 4242, "message": bot.api.message_dict(message)}

    await bot.tg.deliver(update)
    await bot.tg.deliver(update)  # a webhook retried, or a poll repeated after a crash

    assert len(staff.bot_messages()) == 1
    async with bot.db.transaction() as session:
        claims = (await session.exec(select(ProcessedUpdate))).all()
    assert [(claim.update_id, claim.bot_id) for claim in claims if claim.update_id == 4242] == [(4242, bot.app.bot.id)]


async def test_a_change_delivered_to_another_instance_too_is_made_once(bot: Bot) -> None:
    """The other instance (or this one after a restart) has not seen the update: the claim in the database stops
    it; a read is claimed by nobody and answered by both."""
    home = await make_section(bot.db, "办公室")
    staff = bot.tg.private_user("Sun", language="en")
    await make_member(bot.db, staff.id, "Sun", section=home, language="en")
    away = bot.api.record_user_message(
        staff.id, staff.user, "/away 2026-06-20", entities=[{"type": "bot_command", "offset": 0, "length": 5}]
    )
    whoami = bot.api.record_user_message(
        staff.id, staff.user, "/whoami", entities=[{"type": "bot_command", "offset": 0, "length": 7}]
    )
    updates = [{"update_id": 4300 + n, "message": bot.api.message_dict(m)} for n, m in enumerate((away, whoami))]
    for update in updates:
        await bot.tg.deliver(update)

    settings_ = bot.app.bot_data["shuangyou.services"].settings
    other = build_application(settings_, db=bot.db, request=bot.api, clock=bot.clock)
    async with other:
        await on_start(other)
        for update in updates:
            await FakeTelegram(other, bot.api).deliver(update)

    texts = [message.text for message in staff.bot_messages()]
    assert len(texts) == 3 and sum(text.startswith("You are away") for text in texts) <= 1, texts
    async with bot.db.transaction() as session:
        claims = (await session.exec(select(ProcessedUpdate))).all()
    assert sorted(claim.update_id for claim in claims if claim.update_id >= 4300) == [4300]


@pytest.mark.parametrize("fault", [{"status": 502}, {"timeout": True}])
async def test_a_new_menu_telegram_did_not_take_is_set_later_as_the_role_is_by_then(
    bot: Bot, fault: dict[str, object], caplog: pytest.LogCaptureFixture
) -> None:
    await make_section(bot.db, "行政审批科")
    boss = bot.tg.private_user("Boss", user_id=ADMIN_ID)
    await boss.send("/start")
    alice = bot.tg.private_user("Alice")
    await alice.send("/start")
    await alice.press("行政审批科")
    await alice.send("王爱丽")
    await alice.press("Send the request")
    bot.api.fail_next("setMyCommands", **fault)  # type: ignore[arg-type]

    await boss.press("Approve")
    assert menu_of(bot, alice.id) == []
    bot.clock.advance(dt.timedelta(seconds=35))
    await deliver_due(bot.app.bot_data["shuangyou.services"], bot.app.bot)

    assert "rate" in menu_of(bot, alice.id) and "members" not in menu_of(bot, alice.id)
    assert any("the outbox sends it again" in record.getMessage() for record in caplog.records)


def menu_of(bot: Bot, telegram_id: int) -> list[str]:
    return [command["command"] for command in bot.api.commands.get((f"chat:{telegram_id}", ""), [])]


@pytest.mark.allow_errors
async def test_an_answer_telegram_refuses_is_logged_as_an_error_with_its_method_and_the_user_is_told(
    bot: Bot,
) -> None:
    alice = bot.tg.private_user("Alice")
    bot.api.fail_next("sendMessage", status=400, chat_id=alice.id)

    await alice.send("/help")

    assert alice.last_text().startswith("Sorry, Telegram refused my answer (")
    assert "Please send that again" not in alice.last_text()
    (logged,) = [record.getMessage() for record in bot.errors.records]
    assert logged.startswith("Telegram refused sendMessage while handling update ")
