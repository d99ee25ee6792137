"""The public's good/bad reviews: the review link and QR code, five levels, reasons for bad reviews, the
rectification task and the heads told at once, one review a day."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image
from sqlmodel import select

from bot import chart
from bot.config import Settings
from bot.fake_users import FakeUser
from bot.i18n import translator
from handlers.reviews import SettleReview
from jobs.outbox import _summary
from storage import reviews, scoring, tasks
from storage.models import MemberStatus, PeriodKind, PublicReview, Role, Section, TargetKind
from tests.conftest import ADMIN_ID, Bot
from tests.factories import make_member, make_section
from tests.test_scoring import JUNE, period_of


async def link_of(bot: Bot, section: Section) -> str:
    async with bot.db.transaction() as session:
        token = await reviews.review_token(session=session, section=section)
    return f"/start r_{token}"


def token_of(link: str) -> str:
    return link.split("r_", 1)[1]


async def all_reviews(bot: Bot) -> list[PublicReview]:
    async with bot.db.transaction() as session:
        return list((await session.exec(select(PublicReview))).all())


def picture(png: bytes | None) -> Image.Image:
    assert png is not None and png.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(png))
    image.load()
    return image


def inked(image: Image.Image) -> bool:
    """Whether anything dark is drawn on the greyscale picture."""
    return sum(image.histogram()[:100]) > 0


def decoded(image: Image.Image) -> list[str]:
    return [result.text for result in zxingcpp.read_barcodes(image)]


async def test_head_gets_the_link_and_a_qr_code_that_names_the_section_and_the_campaign(bot: Bot) -> None:
    section = await make_section(bot.db, "行政审批科")
    head = bot.tg.private_user("Head")
    await make_member(bot.db, head.id, "Head", role=Role.HEAD, section=section, language="en")

    await head.send("/ratinglink")

    text, photo = head.bot_messages()[-2:]
    assert text.text.startswith("The review page of 行政审批科:\nhttp://127.0.0.1:0/review/")
    assert "\nIn Telegram: https://t.me/ShuangyouBot?start=r_" in text.text
    link = text.text.splitlines()[1]
    assert photo.text == "Review QR code of 行政审批科 (Excellent service: the best sections, the best staff)"
    card = picture(photo.photo)
    assert card.height > card.width > 600  # the names below and above the code: a card, not the bare square
    assert decoded(card) == [link]
    above, below = card.crop((0, 0, card.width, 100)), card.crop((0, card.height - 250, card.width, card.height))
    assert inked(above) and inked(below)  # written on, above and below the code


async def test_an_admin_gets_the_code_of_the_section_chosen_in_their_language(bot: Bot) -> None:
    await make_section(bot.db, "办公室")
    section = await make_section(bot.db, "行政审批科")
    admin = bot.tg.private_user("管理员", user_id=ADMIN_ID)
    await make_member(bot.db, admin.id, "管理员", role=Role.ADMIN, section=section, language="zh_CN")

    await admin.send("/ratinglink")
    await admin.press("行政审批科")

    text, photo = admin.bot_messages()[-2:]
    assert photo.text == "行政审批科服务评价二维码（争创优质服务科室，争当优质服务个人）"
    assert decoded(picture(photo.photo)) == [text.text.splitlines()[1].removeprefix("行政审批科的评价链接：")]


async def test_a_long_section_name_still_fits_and_the_code_still_reads(bot: Bot) -> None:
    name = "市文化广电和旅游局行政审批服务科（政务服务中心文旅窗口）第二服务组" + "<b>&"
    section = await make_section(bot.db, name)
    head = bot.tg.private_user("Head")
    await make_member(bot.db, head.id, "Head", role=Role.HEAD, section=section, language="en")

    await head.send("/ratinglink")

    text, photo = head.bot_messages()[-2:]
    assert photo.text.startswith(f"Review QR code of {name} (")
    card = picture(photo.photo)
    assert card.width == 720 and card.height > 900
    assert decoded(card) == [text.text.splitlines()[1]]


async def test_without_a_cjk_font_the_bare_code_goes_with_the_names_in_its_caption(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(chart, "KNOWN_FONTS", ())
    monkeypatch.setattr(chart, "FONT_DIR", Path("/nonexistent"))
    monkeypatch.setattr(chart, "_renderers", {})
    section = await make_section(bot.db, "行政审批科")
    head = bot.tg.private_user("Head")
    await make_member(bot.db, head.id, "Head", role=Role.HEAD, section=section, language="en")

    await head.send("/ratinglink")

    text, photo = head.bot_messages()[-2:]
    assert photo.text == "Review QR code of 行政审批科 (Excellent service: the best sections, the best staff)"
    code = picture(photo.photo)
    assert code.width == code.height
    assert decoded(code) == [text.text.splitlines()[1]]


async def test_a_card_that_cannot_be_drawn_is_logged_and_the_bare_code_goes(
    bot: Bot, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.ttf"
    broken.write_bytes(b"\x00\x01\x00\x00" + b"not really a font" * 8)  # a font's first bytes, then nonsense
    font = bot.app.bot_data["shuangyou.services"].settings.snapshots.font_file
    monkeypatch.setattr(chart, "_renderers", {font: chart.ChartRenderer(str(broken))})
    section = await make_section(bot.db, "行政审批科")
    head = bot.tg.private_user("Head")
    await make_member(bot.db, head.id, "Head", role=Role.HEAD, section=section, language="en")

    await head.send("/ratinglink")

    photo = head.last_message()
    assert photo.text.startswith("Review QR code of 行政审批科")
    code = picture(photo.photo)
    assert code.width == code.height
    (logged,) = bot.errors.records
    assert logged.getMessage().startswith("The review QR code of 行政审批科 could not be drawn with its names")
    bot.errors.records.clear()


async def test_a_visitor_leaves_a_good_review_with_a_comment(bot: Bot) -> None:
    section = await make_section(bot.db, "行政审批科")
    head = bot.tg.private_user("Head")
    await make_member(bot.db, head.id, "Head", role=Role.HEAD, section=section, language="en")
    visitor = bot.tg.private_user("Visitor")

    await visitor.send(await link_of(bot, section))
    assert visitor.last_text() == "How satisfied are you with the service of 行政审批科?"
    await visitor.press("Very satisfied")
    await visitor.send("窗口人员很耐心")

    assert visitor.last_text() == "Thank you, your comment is recorded."
    assert head.last_text() == "💬 A comment with a review of 行政审批科 (Very satisfied): 窗口人员很耐心"
    (review,) = await all_reviews(bot)
    assert (review.level, review.comment, review.complete, review.task_id) == (5, "窗口人员很耐心", True, None)


async def test_a_bad_review_needs_a_reason_and_opens_a_rectification_task(bot: Bot) -> None:
    section = await make_section(bot.db, "行政审批科")
    head = bot.tg.private_user("Head")
    await make_member(bot.db, head.id, "Head", role=Role.HEAD, section=section, language="en")
    chinese_head = bot.tg.private_user("科长")
    await make_member(bot.db, chinese_head.id, "科长", role=Role.HEAD, section=section, language="zh_CN")
    visitor = bot.tg.private_user("Visitor")

    await visitor.send(await link_of(bot, section))
    await visitor.press("Dissatisfied")
    missing = await visitor.press("Done")
    await visitor.press("Slow")
    await visitor.press("Came back again")
    await visitor.press("✓ Came back again")
    await visitor.press("Unfriendly")
    await visitor.press("Done")

    assert missing.answer == "Choose at least one reason, or type it in your own words."
    assert visitor.last_text() == "Thank you. Your review is recorded and 行政审批科 must look into it by 2026-06-17."
    assert head.last_text() == (
        "⚠️ A bad review of 行政审批科: Dissatisfied. Reason: Slow; Unfriendly. A rectification task is open "
        "until 2026-06-17; send /tasks."
    )
    assert "不满意" in chinese_head.last_text() and "办事拖延；态度不好" in chinese_head.last_text()
    assert not any(word in chinese_head.last_text() for word in ("Slow", "Unfriendly", "Dissatisfied"))
    (review,) = await all_reviews(bot)
    assert review.tags == ["slow", "unfriendly"], "the reasons are kept by key, shown in each reader's language"
    async with bot.db.transaction() as session:
        task = await tasks.get_task(session=session, task_id=review.task_id or 0)
    assert task is not None and task.section_id == section.id
    assert task.title_by_language == {
        "en": "Rectify a bad review: Slow; Unfriendly",
        "zh_CN": "差评整改：办事拖延；态度不好",
    }
    await chinese_head.send("/tasks")
    assert "差评整改：办事拖延；态度不好" in str(chinese_head.buttons())
    await head.send("/tasks")
    assert "Rectify a bad review: Slow; Unfriendly" in str(head.buttons())
    assert "visitor" not in head.last_text().lower(), "the reviewer stays anonymous"


async def test_a_typed_reason_completes_a_bad_review(bot: Bot) -> None:
    section = await make_section(bot.db, "行政审批科")
    visitor = bot.tg.private_user("Visitor")
    await visitor.send(await link_of(bot, section))
    await visitor.press("Very dissatisfied")

    await visitor.send("等了两个小时 <没人管>")

    (review,) = await all_reviews(bot)
    assert (review.level, review.reason, review.complete) == (1, "等了两个小时 <没人管>", True)


async def test_one_review_per_person_section_and_day(bot: Bot) -> None:
    section = await make_section(bot.db, "行政审批科")
    visitor = bot.tg.private_user("Visitor")
    link = await link_of(bot, section)
    await visitor.send(link)
    first_levels = visitor.last_message()
    await visitor.press("Satisfied")

    await visitor.send(link)
    again = await visitor.press_data(f"rvl:{token_of(link)}:5", message=first_levels)

    assert "You already reviewed 行政审批科 today" in visitor.last_text()
    assert again.answer is not None and "You already reviewed" in again.answer
    assert len(await all_reviews(bot)) == 1


@pytest.mark.parametrize("status", [MemberStatus.ACTIVE, MemberStatus.PENDING, MemberStatus.INACTIVE])
async def test_members_of_the_organisation_leave_no_public_reviews(bot: Bot, status: MemberStatus) -> None:
    own, other = await make_section(bot.db, "行政审批科"), await make_section(bot.db, "市场科")
    staff, rater = bot.tg.private_user("Staff"), bot.tg.private_user("Rater")
    await make_member(bot.db, staff.id, "Staff", section=own, language="en", status=status)
    await make_member(bot.db, rater.id, "Rater", role=Role.INDUSTRY, language="en")
    stranger = bot.tg.private_user("Stranger")
    await stranger.send(await link_of(bot, other))
    levels = stranger.last_message()

    refusal = (
        "Review links are for the people the sections serve. Members of the campaign rate sections with /rate instead."
    )
    for member in (staff, rater):
        await member.send(await link_of(bot, own))
        assert member.last_text() == refusal
        await member.send(await link_of(bot, other))
        assert member.last_text() == refusal
        forwarded = await member.press_data(levels.button_rows()[0][0]["callback_data"], message=levels)
        assert forwarded.answer == refusal
    await staff.send("/start r_nonsense")
    assert staff.last_text().startswith("This review link is not valid.")
    assert await all_reviews(bot) == []


async def test_a_review_press_without_the_section_s_token_changes_nothing(bot: Bot) -> None:
    section = await make_section(bot.db, "行政审批科")
    other = await make_section(bot.db, "市场科")
    visitor = bot.tg.private_user("Visitor")
    await visitor.send(await link_of(bot, section))
    levels = visitor.last_message()

    for forged in (f"rvl:{other.id}:1", "rvl:NoSuchToken123:1", f"rvl:{section.id}:1"):
        pressed = await visitor.press_data(forged, message=levels)
        assert pressed.answer == "This button has expired. Open the review link again."
    assert await all_reviews(bot) == []


async def test_one_account_is_one_reviewer_of_a_section_per_rating_period(bot: Bot) -> None:
    section = await make_section(bot.db, "行政审批科")
    visitor = bot.tg.private_user("Visitor")
    link = await link_of(bot, section)
    for day, level in enumerate(("Very dissatisfied", "Dissatisfied", "Satisfied")):
        bot.clock.advance(dt.timedelta(days=1 if day else 0))
        await visitor.send(link)
        await visitor.press(level)
        if level != "Satisfied":
            await visitor.press("Slow")
            await visitor.press("Done")

    live = [review for review in await all_reviews(bot) if review.voided_at is None]
    assert [(review.level, review.complete) for review in live] == [(4, True)]
    june = await period_of(bot.db, JUNE, PeriodKind.MONTH)
    async with bot.db.transaction() as session:
        every_group = dataclasses.replace(Settings().scoring_rules(), min_raters=1)  # to see the lone reviewer
        await scoring.publish_all(session=session)
        board = await scoring.compute_board(session=session, rules=every_group, period=june, kind=TargetKind.SECTION)
    standing = board.find(section.id or 0)
    assert standing is not None and (standing.raters, standing.good, standing.bad) == (1, 1, 0)


async def test_staff_cannot_get_review_links(bot: Bot) -> None:
    section = await make_section(bot.db)
    staff = bot.tg.private_user("Staff")
    await make_member(bot.db, staff.id, "Staff", section=section, language="en")

    await staff.send("/ratinglink")

    assert staff.last_text() == "You can't use /ratinglink. Send /help to see the commands you can use."


async def bad_review(bot: Bot, section: Section) -> FakeUser:
    visitor = bot.tg.private_user("Visitor", language="en")
    await visitor.send(await link_of(bot, section))
    await visitor.press("Dissatisfied")
    await visitor.send("等了很久")
    return visitor


async def test_head_answers_a_bad_review_and_the_reviewer_follows_up(bot: Bot) -> None:
    section = await make_section(bot.db, "行政审批科")
    head = bot.tg.private_user("Head")
    await make_member(bot.db, head.id, "Head", role=Role.HEAD, section=section, language="en")
    visitor = await bad_review(bot, section)

    await head.send("/tasks")
    await head.press("2026-06-17 · Rectify a bad review: 等了很久")
    await head.press("✅ Done")
    assert head.last_text() == "“Rectify a bad review: 等了很久”: how was the bad review dealt with?"
    await head.press("Fixed")
    await head.send("已增设取号窗口")

    assert head.last_text() == "Recorded. The reviewer has been told and asked whether they are satisfied now."
    assert visitor.last_text() == (
        "About your review of 行政审批科 on 2026-06-10, the section answers: Fixed. 已增设取号窗口\n"
        "Are you satisfied now?"
    )
    await visitor.press("Yes, satisfied")
    (review,) = await all_reviews(bot)
    assert (review.outcome, review.outcome_note, review.followup_satisfied) == ("fixed", "已增设取号窗口", True)
    async with bot.db.transaction() as session:
        assert await tasks.list_open_tasks(session=session) == []


async def test_a_rectification_put_on_a_schedule_keeps_its_task_open(bot: Bot) -> None:
    section = await make_section(bot.db, "行政审批科")
    head = bot.tg.private_user("Head")
    await make_member(bot.db, head.id, "Head", role=Role.HEAD, section=section, language="en")
    visitor = await bad_review(bot, section)
    await head.send("/tasks")
    await head.press("2026-06-17 · Rectify a bad review: 等了很久")
    await head.press("✅ Done")

    await head.press("Scheduled to be fixed")
    await head.send("2026-07-01")
    await head.send("新系统七月上线")
    offer = visitor.last_text()
    message, yes = visitor.find_button("Yes, satisfied")
    await visitor.press("No")
    again = await visitor.press_data(yes, message=message)

    (review,) = await all_reviews(bot)
    assert (review.outcome, review.followup_satisfied) == ("scheduled", False), "the first answer stands"
    assert again.answer == "Your answer is recorded already. Thank you."
    assert "the section answers: Scheduled to be fixed by 2026-07-01. 新系统七月上线" in offer
    assert visitor.last_text() == "Thank you for telling us."
    assert head.last_text() == (
        "⚠️ The reviewer of 行政审批科 on 2026-06-10 is still not satisfied after your answer: Scheduled to be fixed. "
        "It counts as not rectified until a leader closes it."
    )
    async with bot.db.transaction() as session:
        (task,) = await tasks.list_open_tasks(session=session)
    assert task.due_on.isoformat() == "2026-07-01"


async def test_an_unsatisfied_reviewer_undoes_the_rectification_until_a_leader_closes_it(
    bot: Bot, settings: Settings
) -> None:
    section = await make_section(bot.db, "行政审批科")
    head = bot.tg.private_user("Head")
    await make_member(bot.db, head.id, "Head", role=Role.HEAD, section=section, language="en")
    leader = bot.tg.private_user("Leader")
    await make_member(bot.db, leader.id, "局长", role=Role.LEADER, language="zh_CN")
    visitor = await bad_review(bot, section)
    await head.send("/tasks")
    await head.press("2026-06-17 · Rectify a bad review: 等了很久")
    await head.press("✅ Done")
    await head.press("Fixed")
    await head.send("已增设取号窗口")
    (review,) = await all_reviews(bot)
    assert "rectified" in review.tally, "counted as rectified once the head answers"

    await visitor.press("No")

    (review,) = await all_reviews(bot)
    assert "rectified" not in review.tally and review.tally["bad"] == 1
    assert leader.last_text() == (
        "⚠️ 行政审批科 2026-06-10 收到的差评，评价人对整改结果不满意（已整改：已增设取号窗口）。"
        "在你关闭之前，该差评按未整改计算。"
    )
    assert leader.buttons() == [["✔ 关闭：行政审批科，2026-06-10"]]
    async with bot.db.transaction() as session:
        summary, keyboard = await _summary(session, settings, translator("en"), dt.date(2026, 6, 11))
    assert summary.splitlines()[1:] == [
        "None.",
        "<b>Rectified, but the reviewer is not satisfied</b> (counts as not rectified until closed):",
        "• 行政审批科: review of 2026-06-10 — 已增设取号窗口",
    ]
    assert keyboard is not None

    forged = await head.press_data(SettleReview(review.id or 0).pack(), message=head.last_message())
    assert forged.answer == "Only leaders and administrators can do that."
    await leader.press("✔ 关闭：行政审批科，2026-06-10")
    again = await leader.press("✔ 关闭：行政审批科，2026-06-10")

    assert leader.last_text() == "已关闭：行政审批科 2026-06-10 收到的差评现按已整改计算。"
    assert again.answer == "这一项已经关闭。"
    (review,) = await all_reviews(bot)
    assert "rectified" in review.tally and review.settled_at is not None
    async with bot.db.transaction() as session:
        assert await _summary(session, settings, translator("en"), dt.date(2026, 6, 11)) == ("", None)


async def test_staff_cannot_answer_for_the_section(bot: Bot) -> None:
    section = await make_section(bot.db, "行政审批科")
    staff = bot.tg.private_user("Staff")
    await make_member(bot.db, staff.id, "Staff", section=section, language="en")
    await bad_review(bot, section)
    async with bot.db.transaction() as session:
        (task,) = await tasks.list_open_tasks(session=session)
    await staff.send("/help")

    forged = await staff.press_data(f"rvo:{task.id}:fixed", message=staff.last_message())

    assert forged.answer == "Only the section's head, leaders and administrators can do that."


async def test_a_reason_with_markup_is_stored_as_typed_and_shown_as_typed(bot: Bot) -> None:
    section = await make_section(bot.db, "行政审批科")
    head = bot.tg.private_user("Head")
    await make_member(bot.db, head.id, "Head", role=Role.HEAD, section=section, language="en")
    visitor = bot.tg.private_user("Visitor", language="en")
    await visitor.send(await link_of(bot, section))
    await visitor.press("Dissatisfied")
    await visitor.send("Tom & Jerry <b>rude</b>")

    async with bot.db.transaction() as session:
        (task,) = await tasks.list_open_tasks(session=session, section_id=section.id)
    assert task.title == "差评整改：Tom & Jerry <b>rude</b>"
    await head.send("/tasks")
    assert ["2026-06-17 · Rectify a bad review: Tom & Jerry <b>rude</b>"] in head.buttons()
    await head.press("2026-06-17 · Rectify a bad review: Tom & Jerry <b>rude</b>")
    assert "Rectify a bad review: Tom &amp; Jerry &lt;b&gt;rude&lt;/b&gt;" in head.last_message().html
    assert "Rectify a bad review: Tom & Jerry <b>rude</b>" in head.last_text()
