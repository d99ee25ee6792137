"""/rate: the whole form with Back and Cancel, replacing, refusals forced with forged buttons, double Confirm,
a restart in the middle, industry raters, and random presses that never store a rating without Confirm."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event

from bot.app import build_application, on_start
from bot.clock import ManualClock
from bot.config import Settings
from bot.fake_users import FakeTelegram, FakeUser
from bot.signing import Signer
from handlers import rating_form
from handlers.common import Refusal
from handlers.rating_form import FormPress, FormState, Stage, Step, score_action
from jobs.comments import plan_comments
from jobs.outbox import deliver_due
from storage import members, ratings
from storage.models import Member, RaterGroup, Rating, Role, TargetKind
from storage.session import Database
from tests.conftest import Bot, running_bot
from tests.factories import make_member, make_section
from tests.test_scoring import rate, raters

SCORES = ("①4", "②5", "③3", "④4", "⑤5")  # value 0.2 × (4 + 5 + 3 + 4 + 5) = 4.2


async def rater(bot: Bot, role: Role = Role.STAFF) -> tuple[FakeUser, Member]:
    own = await make_section(bot.db, "办公室")
    await make_section(bot.db, "行政审批科")
    user = bot.tg.private_user("Rater")
    member = await make_member(
        bot.db, user.id, "Rater", role=role, section=own if role != Role.INDUSTRY else None, language="en"
    )
    return user, member


async def stored(bot: Bot) -> list[Rating]:
    async with bot.db.transaction() as session:
        return await ratings.list_ratings(session=session)


async def fill(user: FakeUser, target: str = "行政审批科") -> None:
    await user.send("/rate")
    await user.press("A section or station")
    await user.press(target)
    for label in SCORES:
        await user.press(label)


async def test_a_full_rating_with_back_and_a_comment(bot: Bot) -> None:
    user, member = await rater(bot)

    await fill(user)
    assert user.last_text().endswith("Add a comment? They will read it without your name. Or choose No comment.")
    await user.press("‹ Back")
    await user.press("①2")
    await user.press("No comment")
    await user.press("‹ Back")
    await user.press("①4")
    await user.press("✍️ Write a comment")
    assert user.last_text() == "Type your comment (500 characters at most). They will read it without your name."
    await user.press("‹ Back")
    assert user.last_text().endswith("Or choose No comment.")
    await user.press("✍️ Write a comment")
    await user.send("窗口服务 <很> 热情")
    assert "Comment: 窗口服务 <很> 热情" in user.last_text()
    assert await stored(bot) == [], "nothing counts before Confirm"
    await user.press("✅ Confirm")

    assert (
        user.last_text()
        == "Thank you! Your rating of 行政审批科 is saved. Only the administrators can see who gave it."
    )
    (rating,) = await stored(bot)
    assert (rating.rater_id, rating.rater_group, rating.target_kind) == (
        member.id,
        RaterGroup.INTERNAL,
        TargetKind.SECTION,
    )
    assert rating.scores == {"service": 4, "efficiency": 5, "innovation": 3, "rules": 4, "satisfaction": 5}
    assert rating.value == 4.2 and rating.comment == "窗口服务 <很> 热情"


async def test_going_back_after_a_comment_offers_to_keep_it(bot: Bot) -> None:
    user, _ = await rater(bot)
    await fill(user)
    await user.press("✍️ Write a comment")
    await user.send("很耐心")
    await user.press("‹ Back")

    await user.press("②4")

    assert user.last_text().endswith("Keep the comment, write a new one, or choose No comment.")
    assert "Comment: 很耐心" in user.last_text()
    await user.press("Keep the comment")
    await user.press("✅ Confirm")
    (rating,) = await stored(bot)
    assert (rating.comment, rating.scores["efficiency"]) == ("很耐心", 4)


async def test_typing_while_the_scores_wait_points_to_the_buttons(bot: Bot) -> None:
    user, _ = await rater(bot)
    await user.send("/rate")
    await user.press("A section or station")
    await user.press("行政审批科")

    sent = await user.send("all good")
    pressed = await user.press("①4")

    assert sent.texts == ["I work with commands and buttons. Send /help to see what you can do."]
    assert pressed.edited[0].text.startswith("Rating 行政审批科"), "the form's buttons still work"


async def test_cancel_saves_nothing(bot: Bot) -> None:
    user, _ = await rater(bot)
    await fill(user)

    await user.press("Cancel")

    assert user.last_text() == "Rating cancelled; nothing was saved."
    assert await stored(bot) == []


async def test_rating_again_shows_the_earlier_one_and_replaces_it(bot: Bot) -> None:
    user, _ = await rater(bot)
    await fill(user)
    await user.press("No comment")
    await user.press("✅ Confirm")

    await user.send("/rate")
    await user.press("A section or station")
    await user.press("行政审批科")
    assert user.last_text() == "You already rated 行政审批科 in this period: ①4 ②5 ③3 ④4 ⑤5. Replace that rating?"
    await user.press("Rate again, replacing it")
    for label in ("①1", "②1", "③1", "④1", "⑤1"):
        await user.press(label)
    await user.press("No comment")
    await user.press("✅ Confirm")

    (rating,) = await stored(bot)
    assert rating.value == 1.0


async def test_own_section_and_self_are_not_offered_and_refused_when_forced(bot: Bot) -> None:
    user, member = await rater(bot)
    await make_member(bot.db, 9001, "Colleague", section=None)
    await user.send("/rate")
    await user.press("A section or station")
    assert user.buttons() == [["行政审批科"], ["Cancel"]]
    own_section = member.section_id

    forged_section = await user.press_data(f"rtt:section:{own_section}:0", message=user.last_message())
    forged_self = await user.press_data(f"rtt:member:{member.id}:0", message=user.last_message())

    assert forged_section.answer == "You cannot rate your own section."
    assert forged_self.answer == "You cannot rate yourself."
    assert await stored(bot) == []


async def test_a_forged_press_on_another_users_form_changes_nothing(bot: Bot) -> None:
    user, _ = await rater(bot)
    await fill(user)
    mallory = bot.tg.private_user("Mallory")
    await make_member(bot.db, mallory.id, "Mallory", section=None, language="en")
    await mallory.send("/help")
    await user.press("No comment")
    _, confirm = user.find_button("✅ Confirm")
    _, back = user.find_button("‹ Back")

    sent = await mallory.press_data(confirm, message=mallory.last_message())
    scored = await mallory.press_data(back, message=mallory.last_message())

    assert sent.answer == scored.answer == "This rating form is not yours. Send /rate to start your own."
    assert await stored(bot) == []


async def test_two_confirm_presses_at_once_store_one_rating(bot: Bot) -> None:
    user, _ = await rater(bot)
    await fill(user)
    await user.press("No comment")
    message, data = user.find_button("✅ Confirm")

    first, second = await asyncio.gather(user.press_data(data, message=message), user.press_data(data, message=message))

    assert len(await stored(bot)) == 1
    assert "This rating is already saved." in {first.answer, second.answer}


async def test_a_restart_in_the_middle_loses_nothing(bot: Bot) -> None:
    user, _ = await rater(bot)
    await user.send("/rate")
    await user.press("A section or station")
    await user.press("行政审批科")
    await user.press("①4")
    await user.press("②5")

    settings_ = bot.app.bot_data["shuangyou.services"].settings
    fresh = build_application(settings_, db=bot.db, request=bot.api, clock=bot.clock)
    async with fresh:
        await on_start(fresh)
        again = FakeTelegram(fresh, bot.api).private_user("Rater", user_id=user.id)
        for label in ("③3", "④4", "⑤5"):
            await again.press(label)
        await again.press("No comment")
        await again.press("✅ Confirm")

    (rating,) = await stored(bot)
    assert rating.value == 4.2


async def test_a_form_left_open_past_its_period_is_refused_and_stores_nothing(bot: Bot) -> None:
    user, _ = await rater(bot)
    await fill(user)
    form_message = user.last_message()
    no_comment = user.find_button("No comment")[1]

    bot.clock.set(dt.datetime(2026, 7, 1, 2, 0, tzinfo=dt.UTC))
    next_month = await user.press_data(no_comment, message=form_message)
    bot.clock.set(dt.datetime(2027, 1, 4, 2, 0, tzinfo=dt.UTC))
    after_the_campaign = await user.press_data(no_comment, message=form_message)

    assert next_month.answer == "That rating period has ended. Send /rate to rate in the current one."
    assert after_the_campaign.answer == "Ratings are open during the campaign only (2026-05-01 to 2026-12-31)."
    assert await stored(bot) == []
    assert user.last_text().endswith("Or choose No comment."), "the presses changed nothing"


async def test_industry_raters_rate_sections_only(bot: Bot) -> None:
    user, _ = await rater(bot, Role.INDUSTRY)

    await user.send("/rate")
    assert user.buttons() == [["办公室"], ["行政审批科"], ["Cancel"]]
    forged = await user.press_data("rtk:member", message=user.last_message())
    await user.press("行政审批科")
    for label in SCORES:
        await user.press(label)
    await user.press("No comment")
    await user.press("✅ Confirm")

    assert forged.answer == "Industry raters rate sections only."
    (rating,) = await stored(bot)
    assert rating.rater_group == RaterGroup.INDUSTRY


async def test_colleagues_are_rated_and_narrowed_by_typing(bot: Bot) -> None:
    user, _ = await rater(bot)
    section = await make_section(bot.db, "财务科")
    for name in ("张三", "张四", "李五"):
        await make_member(bot.db, None, name, section=section)
    await user.send("/rate")
    await user.press("A colleague")

    await user.send("张")

    assert user.buttons() == [["张三"], ["张四"], ["Cancel"]]
    await user.press("张四")
    assert user.last_text().startswith("Rating 张四")


async def test_colleagues_sharing_a_name_are_told_apart_by_their_section(bot: Bot) -> None:
    user, _ = await rater(bot)
    finance, permits = await make_section(bot.db, "财务科"), await make_section(bot.db, "审批科")
    await make_member(bot.db, None, "张三", section=finance)
    twin = await make_member(bot.db, None, "张三", section=permits)
    await make_member(bot.db, None, "李五", section=finance)
    await user.send("/rate")
    await user.press("A colleague")

    assert user.buttons() == [["李五"], ["张三 · 财务科"], ["张三 · 审批科"], ["Cancel"]]
    await user.press("张三 · 审批科")
    for label in SCORES:
        await user.press(label)
    await user.press("No comment")
    await user.press("✅ Confirm")
    (rating,) = await stored(bot)
    assert rating.target_id == twin.id


async def test_typing_ones_own_name_says_why_it_is_not_offered(bot: Bot) -> None:
    user, _ = await rater(bot)
    await user.send("/rate")
    await user.press("A section or station")

    own_section = await user.send("办公")
    nothing = await user.send("xyz")
    await user.send("/rate")
    await user.press("A colleague")
    own_name = await user.send("rat")

    assert own_section.texts == ["You cannot rate your own section. Type another part of the name, or /cancel."]
    assert nothing.texts == ["Nothing matches “xyz”. Type another part of the name, or /cancel."]
    assert own_name.texts == ["You cannot rate yourself. Type another part of the name, or /cancel."]


async def test_choosing_what_to_rate_can_be_cancelled(bot: Bot) -> None:
    user, _ = await rater(bot)
    await user.send("/rate")
    assert user.buttons() == [["A section or station"], ["A colleague"], ["Cancel"]]
    await user.press("A section or station")

    await user.press("Cancel")
    typed = await user.send("行政")

    assert user.bot_messages()[-2].text == "Rating cancelled; nothing was saved."
    assert typed.texts == ["I work with commands and buttons. Send /help to see what you can do."]
    assert await stored(bot) == []


async def test_rate_in_the_group_points_to_private(bot: Bot) -> None:
    user, _ = await rater(bot)
    group = bot.tg.group()
    group.add(user)

    await user.send("/rate", chat=group)

    assert group.last_text() == "Ratings are made in private, never in the group."
    assert group.bot_messages()[-1].button_rows()[0][0]["url"] == "https://t.me/ShuangyouBot?start=rate"


async def test_outsiders_cannot_rate(bot: Bot) -> None:
    stranger = bot.tg.private_user("Stranger")

    await stranger.send("/rate")

    assert stranger.last_text() == "/rate is for registered members. Send /start to register."


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    presses=st.lists(
        st.one_of(
            st.integers(0, 40),  # the n-th button of the bot's last message with buttons (Confirm never)
            st.sampled_from(["rtt:section:2:0", "rtt:member:1:1", "rtk:section", "rtk:member", "rtp:section:9"]),
            st.binary(min_size=1, max_size=44).map(lambda raw: "rf:" + base64.urlsafe_b64encode(raw).decode()),
            st.text(max_size=64).filter(lambda t: len(t.encode()) <= 64),
        ),
        max_size=12,
    )
)
async def test_random_presses_never_store_a_rating_without_confirm(bot: Bot, presses: list[int | str]) -> None:
    """Real buttons pressed in any order, and forged ones. The same bot serves every example, so the rater and the
    sections are made once."""
    user = bot.tg.private_user("Fuzzer", user_id=424242)
    if not await _member(bot, 424242):
        await make_section(bot.db, "办公室")
        await make_section(bot.db, "财务科")
        await make_member(bot.db, 424242, "Fuzzer", language="en")
    before = len(await stored(bot))
    await user.send("/rate")
    for press in presses:
        if isinstance(press, str):
            await user.press_data(press, message=user.last_message())
            continue
        labels = [label for row in user.buttons() for label in row if label != "✅ Confirm"]
        if labels:
            await user.press(labels[press % len(labels)])

    assert not bot.errors.records
    assert len(await stored(bot)) == before


async def test_form_presses_touch_no_database(bot: Bot) -> None:
    """A score, Back, No comment, Keep and Cancel press on the form: no SQL statement at all."""
    user, _ = await rater(bot)
    await user.send("/rate")
    await user.press("A section or station")
    await user.press("行政审批科")
    await user.press("①4")  # the target's name is known from here on

    counted: list[tuple[str, int]] = []
    for label in (*SCORES[1:], "‹ Back", "①5", "No comment", "‹ Back", "②4", "Cancel"):
        with statements_counted(bot.db) as statements:
            await user.press(label)
        counted.append((label, len(statements)))
    await user.send("/rate")
    await user.press("A section or station")
    await user.press("行政审批科")
    for label in SCORES:
        await user.press(label)
    await user.press("✍️ Write a comment")
    await user.send("很好")
    await user.press("‹ Back")
    with statements_counted(bot.db) as statements:
        await user.press("②4")
        await user.press("Keep the comment")
    counted.append(("Keep the comment", len(statements)))

    assert counted == [(label, 0) for label, _ in counted]
    assert user.last_text().endswith("Confirm this rating?") and "Comment: 很好" in user.last_text()


@contextlib.contextmanager
def statements_counted(db: Database) -> Iterator[list[str]]:
    """The SQL statements sent to the database meanwhile (BEGIN and COMMIT included)."""
    statements: list[str] = []

    def note(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    def note_commit(_conn: object) -> None:
        statements.append("COMMIT")

    event.listen(db.engine.sync_engine, "before_cursor_execute", note)
    event.listen(db.engine.sync_engine, "commit", note_commit)
    try:
        yield statements
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", note)
        event.remove(db.engine.sync_engine, "commit", note_commit)


def round_trips(db: Database, statements: list[str]) -> int:
    """The statements and COMMIT, and BEGIN where the driver sends it on its own (asyncpg); on SQLite it goes with
    the first statement (storage/sqlite_driver.py)."""
    return len(statements) + int(bool(statements) and db.engine.dialect.name == "postgresql")


def test_the_largest_form_fits_in_a_button() -> None:
    signer = Signer(b"k" * 32, b"rating_form")
    largest = FormState(
        kind=TargetKind.MEMBER,
        target_id=2**32 - 1,
        period_id=2**32 - 1,
        period_starts=dt.date(2179, 6, 1),
        period_ends=dt.date(2179, 6, 6),  # 2000-01-01 + 65,535 days
        opened_at=2**32 - 1,
        nonce=2**31 - 1,
        scores=(5,) * rating_form.MAX_STANDARDS,
        stage=Stage.CONFIRM,
        comment_id=2**32 - 1,
        language="zh_CN",
    )
    user_id = -(2**63)

    data = rating_form.pack(signer, user_id, largest, max(Step))

    assert len(data.encode()) <= 64
    assert rating_form.read(signer, user_id, data, rating_form.MAX_STANDARDS) == FormPress(largest, max(Step))


def test_a_form_press_is_read_only_as_signed_for_its_presser() -> None:
    signer = Signer(b"k" * 32, b"rating_form")
    state = FormState(TargetKind.SECTION, 7, 3, dt.date(2026, 6, 1), dt.date(2026, 6, 30), 1_781_000_000, 42, (4, 0))
    data = rating_form.pack(signer, 1001, state, score_action(1, 5))
    tampered = data[:-20] + ("A" if data[-20] != "A" else "B") + data[-19:]

    assert rating_form.read(signer, 1001, data, 2).score == (1, 5)
    with pytest.raises(Refusal) as other_user:
        rating_form.read(signer, 1002, data, 2)
    with pytest.raises(Refusal) as forged:
        rating_form.read(signer, 1001, tampered, 2)
    with pytest.raises(Refusal) as other_key:
        rating_form.read(Signer(b"j" * 32, b"rating_form"), 1001, data, 2)
    with pytest.raises(Refusal) as garbage:
        rating_form.read(signer, 1001, "rf:abc", 2)

    assert other_user.value.msgid == forged.value.msgid == other_key.value.msgid == rating_form.N_NOT_YOURS
    assert garbage.value.msgid == rating_form.N_EXPIRED


async def _member(bot: Bot, telegram_id: int) -> bool:
    async with bot.db.transaction() as session:
        return await members.get_member_by_telegram_id(session=session, telegram_id=telegram_id) is not None


async def rate_colleague(bot: Bot, name: str, target: str, comment: str) -> None:
    user = bot.tg.private_user(name)
    if not await _member(bot, user.id):
        await make_member(bot.db, user.id, name, language="en")
    await user.send("/rate")
    await user.press("A colleague")
    await user.press(target)
    for label in SCORES:
        await user.press(label)
    await user.press("✍️ Write a comment")
    await user.send(comment)
    await user.press("✅ Confirm")


async def pass_on_comments(bot: Bot) -> None:
    """The reminder sweep's part that passes comments on, then the outbox."""
    services = bot.app.bot_data["shuangyou.services"]
    await plan_comments(services, bot.clock.now())
    await deliver_due(services, bot.app.bot)


def comments_in(text: str) -> set[str]:
    head, *lines = text.splitlines()
    assert head == "💬 Comments from colleagues' ratings of Target (without names):"
    return {line.removeprefix("• ") for line in lines}


async def test_comments_reach_the_colleague_in_shuffled_batches_at_most_once_a_day(bot: Bot) -> None:
    section = await make_section(bot.db, "办公室")
    target = bot.tg.private_user("Target")
    await make_member(bot.db, target.id, "Target", section=section, language="en")

    await rate_colleague(bot, "Ann", "Target", "耐心细致")
    await rate_colleague(bot, "Ben", "Target", "回复<很快>")
    await pass_on_comments(bot)
    assert target.bot_messages() == [], "two comments: too few to stay anonymous"
    await rate_colleague(bot, "Cat", "Target", "很专业")
    assert target.bot_messages() == [], "nothing at the moment a rater confirms: the time would tell who it was"
    await pass_on_comments(bot)
    assert comments_in(target.last_text()) == {"耐心细致", "回复<很快>", "很专业"}
    assert "Ann" not in target.last_text() and "Ben" not in target.last_text()

    for name, comment in (("Dan", "再接再厉"), ("Eve", "态度好"), ("Fay", "很耐心")):
        await rate_colleague(bot, name, "Target", comment)
    await pass_on_comments(bot)
    assert len(target.bot_messages()) == 1, "at most one batch a day"
    bot.clock.advance(dt.timedelta(days=1))
    await pass_on_comments(bot)
    assert len(target.bot_messages()) == 2
    assert comments_in(target.last_text()) == {"再接再厉", "态度好", "很耐心"}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the shuffle is the same on any backend
async def test_a_batch_of_comments_comes_in_no_fixed_order(bot: Bot) -> None:
    section = await make_section(bot.db, "办公室")
    target = bot.tg.private_user("Target")
    await make_member(bot.db, target.id, "Target", section=section, language="en")
    comments = [f"意见{number}" for number in range(6)]
    orders = set()
    for round_ in range(3):
        for number, comment in enumerate(comments):
            await rate_colleague(bot, f"R{round_}x{number}", "Target", comment)
        await pass_on_comments(bot)
        orders.add(tuple(line.removeprefix("• ") for line in target.last_text().splitlines()[1:]))
        bot.clock.advance(dt.timedelta(days=1))
    assert len(orders) > 1  # three batches of six in the same order: one chance in 720²


async def test_keep_leaves_the_earlier_rating(bot: Bot) -> None:
    user, _ = await rater(bot)
    await fill(user)
    await user.press("No comment")
    await user.press("✅ Confirm")
    await user.send("/rate")
    await user.press("A section or station")
    await user.press("行政审批科")
    await user.press("Keep it")
    assert user.last_text() == "Your earlier rating stays as it was."
    assert len(await stored(bot)) == 1


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_batch_of_long_comments_arrives_whole_in_parts(
    settings: Settings, db: Database, clock: ManualClock
) -> None:
    nine = settings.model_copy(update={"scoring": settings.scoring.model_copy(update={"min_raters": 9})})
    async with running_bot(nine, db, clock, flood_limits=False) as bot:
        section = await make_section(bot.db, "办公室")
        target = bot.tg.private_user("Target")
        person = await make_member(bot.db, target.id, "Target", section=section, language="en")
        for number, rater in enumerate(await raters(bot.db, 9)):
            await rate(bot.db, rater, person, 4, comment=f"{number}:" + "很" * 490)

        await pass_on_comments(bot)

        received = target.bot_messages()
        assert len(received) == 2 and all(len(message.text) <= 4096 for message in received)
        lines = [
            line for message in received for line in message.text.splitlines()[1 if message is received[0] else 0 :]
        ]
        assert sorted(line.split(":")[0].removeprefix("• ") for line in lines) == [str(n) for n in range(9)]
        assert bot.errors.records == []


async def test_a_comment_waits_for_the_step_that_shows_its_rating(bot: Bot) -> None:
    section = await make_section(bot.db, "办公室")
    target = bot.tg.private_user("Target")
    person = await make_member(bot.db, target.id, "Target", section=section, language="en")
    quiet = await raters(bot.db, 3)
    await rate_colleague(bot, "Ann", "Target", "耐心细致")
    await rate_colleague(bot, "Ben", "Target", "回复很快")
    await rate(bot.db, quiet[0], person, 4)  # the third rater: a step, which shows Ann's and Ben's ratings
    await rate_colleague(bot, "Cat", "Target", "很专业")  # not in any step yet

    await pass_on_comments(bot)
    bot.clock.advance(dt.timedelta(days=1))
    await pass_on_comments(bot)
    assert target.bot_messages() == [], "three comments wait, but Cat's rating is in no published view yet"

    for rater in quiet[1:]:
        await rate(bot.db, rater, person, 4)  # the sixth rater: the next step, with Cat's rating in it
    await pass_on_comments(bot)
    assert comments_in(target.last_text()) == {"耐心细致", "回复很快", "很专业"}


async def test_confirm_is_one_short_transaction(bot: Bot) -> None:
    user, _ = await rater(bot)
    await fill(user)
    await user.press("No comment")

    with statements_counted(bot.db) as statements:
        await user.press("✅ Confirm")

    assert statements[-1] == "COMMIT"
    assert round_trips(bot.db, statements) <= 7, statements
    (rating,) = await stored(bot)
    assert rating.value == 4.2


async def test_choosing_a_target_reads_in_one_statement(bot: Bot) -> None:
    """The target press reads the presser, the target, the current period and an earlier rating in one statement,
    then drops the search that waited for a typed name: 3 round trips on SQLite, COMMIT included."""
    user, _ = await rater(bot)
    await user.send("/rate")
    await user.press("A section or station")

    with statements_counted(bot.db) as statements:
        await user.press("行政审批科")

    assert round_trips(bot.db, statements) == 3 + int(bot.db.engine.dialect.name == "postgresql"), statements
    assert statements[0].lstrip().startswith("SELECT") and statements[1].startswith("DELETE FROM dialog"), statements
    assert "行政审批科" in user.last_text() and user.buttons()[0] == ["①1", "①2", "①3", "①4", "①5"]


async def rate_section(user: FakeUser, bot: Bot, target: str) -> None:
    await make_member(bot.db, user.id, user.name, section=None, language="en")
    await fill(user, target)
    await user.press("No comment")
    await user.press("✅ Confirm")


async def test_confirm_reads_once_and_writes_what_changed(bot: Bot) -> None:
    """Confirm's transaction, statement by statement: 6 round trips for a first rating on SQLite (7 on
    PostgreSQL, whose BEGIN is a trip of its own), 5 for a replacement, 2 more at a publication step (every third
    rater of a target)."""
    user, _ = await rater(bot)
    for number in range(2):
        await rate_section(bot.tg.private_user(f"Other {number}"), bot, "行政审批科")
    await fill(user)
    await user.press("No comment")
    with statements_counted(bot.db) as third:
        await user.press("✅ Confirm")
    await user.send("/rate")
    await user.press("A section or station")
    await user.press("行政审批科")
    await user.press("Rate again, replacing it")
    for label in ("①1", "②1", "③1", "④1", "⑤1"):
        await user.press(label)
    await user.press("No comment")
    with statements_counted(bot.db) as replaced:
        await user.press("✅ Confirm")

    own_begin = int(bot.db.engine.dialect.name == "postgresql")
    assert round_trips(bot.db, third) == 8 + own_begin and "UPDATE score_tally SET shown_total" in third[-4], third
    assert round_trips(bot.db, replaced) == 5 + own_begin, replaced
    assert len(await stored(bot)) == 3
