"""Voids and appeals: nothing is deleted, the audit log keeps who and why, scores follow the void."""

from __future__ import annotations

import pytest
from sqlmodel import select

from bot.fake_users import FakeUser
from handlers.moderation import ModeratePage, Void
from storage import audit, members, ratings, reviews, tasks
from storage.models import MemberStatus, PeriodKind, PublicReview, RaterGroup, Role, Section, TargetKind, TaskStatus
from tests.conftest import ADMIN_ID, Bot
from tests.factories import make_member, make_section
from tests.test_reviews import bad_review, link_of


async def admin(bot: Bot):  # type: ignore[no-untyped-def]
    boss = bot.tg.private_user("Boss", user_id=ADMIN_ID)
    await boss.send("/start")
    return boss


async def the_review(bot: Bot) -> PublicReview:
    async with bot.db.transaction() as session:
        return (await session.exec(select(PublicReview))).one()


async def rate_section(bot: Bot, count: int) -> Section:
    """`count` colleagues rate a section, rating #n by "Rater n" with the value n (1 to 5, then again)."""
    section = await make_section(bot.db, "行政审批科")
    async with bot.db.transaction() as session:
        period = await ratings.current_period(session=session, kind=PeriodKind.MONTH, today=bot.clock.now().date())
        assert period is not None
        for number in range(1, count + 1):
            rater = await members.create_member(
                session=session,
                telegram_id=None,
                display_name=f"Rater {number}",
                role=Role.STAFF,
                status=MemberStatus.ACTIVE,
            )
            new = ratings.NewRating(
                rater_id=rater.id or 0,
                rater_group=RaterGroup.INTERNAL,
                target_kind=TargetKind.SECTION,
                target_id=section.id or 0,
                period_id=period.id or 0,
                scores={"service": (number - 1) % 5 + 1},
                comment="",
                value=float((number - 1) % 5 + 1),
                form_nonce=number,
            )
            await ratings.store_rating(session=session, new=new, now=bot.clock.now())
    return section


async def public_reviews(bot: Bot, section: Section, count: int) -> None:
    """`count` good reviews of the section by as many visitors."""
    async with bot.db.transaction() as session:
        for number in range(1, count + 1):
            await reviews.add_review(
                session=session,
                section_id=section.id or 0,
                reviewer_telegram_id=50_000 + number,
                level=5,
                day=bot.clock.now().date(),
            )


async def voided(bot: Bot) -> list[int]:
    async with bot.db.transaction() as session:
        return [rating.id or 0 for rating in await ratings.list_ratings(session=session) if rating.voided_at]


def labels(user: FakeUser) -> list[str]:
    return [label for row in user.buttons() for label in row]


async def test_admin_voids_a_rating_with_a_reason(bot: Bot) -> None:
    await rate_section(bot, 1)
    boss = await admin(bot)

    await boss.send("/moderate")
    assert "Rater 1 → 行政审批科: 1.00" in boss.last_text()
    await boss.press("Void rating #1")
    assert boss.last_text() == "Why should rating #1 be voided? The reason is kept in the audit log (or /cancel)."
    await boss.send("同一人重复刷分")

    assert boss.last_text() == "Voided, with the reason recorded. It no longer counts in the scores."
    async with bot.db.transaction() as session:
        (rating,) = await ratings.list_ratings(session=session)
        log = await audit.list_audit(session=session, subject="rating:1")
    assert rating.voided_at is not None and rating.void_reason == "同一人重复刷分"
    assert [(entry.action, entry.detail) for entry in log] == [("rating.voided", "同一人重复刷分")]


async def test_admin_pages_back_to_an_old_rating_and_voids_it(bot: Bot) -> None:
    await rate_section(bot, 20)
    boss = await admin(bot)

    await boss.send("/moderate")
    listing = boss.last_message()
    assert listing.text.startswith("Ratings, newest first: 1–8 of 20\n#20 Rater 20 → 行政审批科: 5.00\n")
    assert "Void rating #1" not in labels(boss)
    assert ["1/3", "Older ratings ›"] in boss.buttons()
    await boss.press("Older ratings ›")
    older = await boss.press("Older ratings ›")

    assert older.messages == [] and [message.message_id for message in older.edited] == [listing.message_id]
    page = boss.last_message()
    assert page.text.startswith(
        "Ratings, newest first: 17–20 of 20\n"
        "#4 Rater 4 → 行政审批科: 4.00\n#3 Rater 3 → 行政审批科: 3.00\n"
        "#2 Rater 2 → 行政审批科: 2.00\n#1 Rater 1 → 行政审批科: 1.00\n"
    )
    assert boss.buttons()[:5] == [["Void rating #4"], ["Void rating #3"], ["Void rating #2"], ["Void rating #1"],
                                  ["‹ Newer ratings", "3/3"]]  # fmt: skip
    await boss.press("Void rating #1")
    await boss.send("评分人已离职，误评")

    assert boss.last_text() == "Voided, with the reason recorded. It no longer counts in the scores."
    assert await voided(bot) == [1]
    await boss.send("/moderate")
    assert boss.last_text().startswith("Ratings, newest first: 1–8 of 19\n")


async def test_ratings_and_reviews_page_on_their_own(bot: Bot) -> None:
    section = await rate_section(bot, 9)
    await public_reviews(bot, section, 10)
    boss = await admin(bot)
    await boss.send("/moderate")

    await boss.press("Older reviews ›")
    await boss.press("Older ratings ›")

    text = boss.last_text()
    assert "Ratings, newest first: 9–9 of 9\n#1 Rater 1" in text
    assert "Public reviews, newest first: 9–10 of 10\n#2 行政审批科: Very satisfied\n#1 行政审批科" in text
    assert boss.buttons() == [
        ["Void rating #1"],
        ["‹ Newer ratings", "2/2"],
        ["Void review #2"],
        ["Void review #1"],
        ["‹ Newer reviews", "2/2"],
    ]


async def test_a_page_press_past_the_end_shows_the_last_page(bot: Bot) -> None:
    await rate_section(bot, 3)
    boss = await admin(bot)
    await boss.send("/moderate")

    await boss.press_data(ModeratePage(999_999_999, -4).pack(), message=boss.last_message())

    assert boss.last_text().startswith("Ratings, newest first: 1–3 of 3\n#3 Rater 3")
    assert "Public reviews: nothing to void." in boss.last_text()


@pytest.mark.parametrize("argument", ["3", "#3", "＃3", "# 3"])
async def test_admin_opens_a_rating_by_its_number(bot: Bot, argument: str) -> None:
    await rate_section(bot, 20)
    boss = await admin(bot)

    await boss.send(f"/moderate {argument}")

    assert boss.last_text() == "Rating\n#3 Rater 3 → 行政审批科: 3.00"
    assert boss.buttons() == [["Void rating #3"], ["‹ All ratings and reviews"]]
    await boss.press("Void rating #3")
    await boss.send("刷分")
    assert await voided(bot) == [3]


async def test_a_void_rating_is_shown_with_its_reason_and_cannot_be_voided_again(bot: Bot) -> None:
    await rate_section(bot, 3)
    boss = await admin(bot)
    await boss.send("/moderate 2")
    card = boss.last_message()
    await boss.press("Void rating #2")
    await boss.send("刷分")

    again = await boss.press("Void rating #2", message_id=card.message_id)
    await boss.send("/moderate 2")

    assert boss.last_text() == "Rating\n#2 Rater 2 → 行政审批科: 2.00\nVoid since 2026-06-10: 刷分"
    assert again.answer == "That one is already void or does not exist."
    assert boss.buttons() == [["‹ All ratings and reviews"]]
    await boss.press("‹ All ratings and reviews")
    assert boss.last_text().startswith("Ratings, newest first: 1–2 of 2\n#3 Rater 3")


async def test_admin_opens_a_review_by_its_number_and_voids_it(bot: Bot) -> None:
    section = await make_section(bot.db, "行政审批科")
    await bad_review(bot, section)
    boss = await admin(bot)

    await boss.send("/moderate 1")

    assert boss.last_text() == "Public review\n#1 行政审批科: Dissatisfied (等了很久)"
    assert boss.buttons() == [["Void review #1"], ["‹ All ratings and reviews"]]
    await boss.press("Void review #1")
    assert boss.last_text() == "Why should review #1 be voided? The reason is kept in the audit log (or /cancel)."
    await boss.send("恶意差评")
    review = await the_review(bot)
    assert review.voided_at is not None and review.void_reason == "恶意差评"
    async with bot.db.transaction() as session:
        task = await tasks.get_task(session=session, task_id=review.task_id or 0)
    assert task is not None and task.status == TaskStatus.CANCELLED


async def test_a_number_shows_the_rating_and_the_review_that_share_it(bot: Bot) -> None:
    section = await rate_section(bot, 1)
    await bad_review(bot, section)
    boss = await admin(bot)

    await boss.send("/moderate 1")

    assert boss.last_text() == (
        "Rating\n#1 Rater 1 → 行政审批科: 1.00\n\nPublic review\n#1 行政审批科: Dissatisfied (等了很久)"
    )
    assert boss.buttons() == [["Void rating #1"], ["Void review #1"], ["‹ All ratings and reviews"]]


async def test_a_review_still_being_written_is_not_found(bot: Bot) -> None:
    section = await make_section(bot.db, "行政审批科")
    visitor = bot.tg.private_user("Visitor", language="en")
    await visitor.send(await link_of(bot, section))
    await visitor.press("Dissatisfied")  # the reason is not given yet
    boss = await admin(bot)

    await boss.send("/moderate 1")
    void = await boss.press_data(Void("review", 1).pack(), message=boss.last_message())

    assert boss.bot_messages()[-1].text == "There is no rating or review #1. Send /moderate for the list."
    assert void.answer == "That one is already void or does not exist."


WHAT_TO_SEND = (
    "Send /moderate for the list of ratings and reviews, /moderate and a number from it (e.g. /moderate 100), or "
    "/moderate and an address, for the web page's reviews from it."
)


@pytest.mark.parametrize(
    ("argument", "answer"),
    [
        ("abc", WHAT_TO_SEND),
        ("<b>1</b>", WHAT_TO_SEND),
        ("1 2", WHAT_TO_SEND),
        ("-1", WHAT_TO_SEND),
        ("#", WHAT_TO_SEND),
        ("rating", WHAT_TO_SEND),
        ("1" * 19, WHAT_TO_SEND),
        ("9" * 4000, WHAT_TO_SEND),
        ("0", "There is no rating or review #0. Send /moderate for the list."),
        ("100", "There is no rating or review #100. Send /moderate for the list."),
        ("2147483648", "There is no rating or review #2147483648. Send /moderate for the list."),
        ("9" * 18, f"There is no rating or review #{'9' * 18}. Send /moderate for the list."),
    ],
)
async def test_a_bad_argument_says_what_to_send_and_changes_nothing(bot: Bot, argument: str, answer: str) -> None:
    await rate_section(bot, 2)
    boss = await admin(bot)
    await boss.send("/moderate")
    await boss.press("Void rating #1")  # waits for a reason

    sent = await boss.send(f"/moderate {argument}")
    await boss.send("a reason typed after the bad command")

    assert sent.texts == [answer]
    assert boss.last_text() != "Voided, with the reason recorded. It no longer counts in the scores."
    assert await voided(bot) == []


async def test_a_forged_void_of_a_huge_number_changes_nothing(bot: Bot) -> None:
    await rate_section(bot, 1)
    boss = await admin(bot)
    await boss.send("/moderate")

    void = await boss.press_data(Void("rating", 10**18).pack(), message=boss.last_message())

    assert void.answer == "That one is already void or does not exist."
    assert await voided(bot) == []


async def test_head_appeals_a_bad_review_and_the_admin_voids_it(bot: Bot) -> None:
    section = await make_section(bot.db, "行政审批科")
    head = bot.tg.private_user("Head")
    await make_member(bot.db, head.id, "Head", role=Role.HEAD, section=section, language="en")
    boss = await admin(bot)
    await bad_review(bot, section)

    await head.press("Appeal: mistaken or malicious")
    await head.send("评价人从未来过窗口")
    assert head.last_text() == "Your appeal has been sent to the administrators; I will tell you their decision."
    assert boss.last_text().startswith("Appeal by Head against a bad review of 行政审批科")
    await boss.press("Void the review")

    assert head.last_text() == "Your appeal was granted: the review is void."
    review = await the_review(bot)
    assert review.appeal_status == "voided" and review.voided_at is not None
    async with bot.db.transaction() as session:
        task = await tasks.get_task(session=session, task_id=review.task_id or 0)
    assert task is not None and task.status == TaskStatus.CANCELLED


async def test_an_upheld_appeal_keeps_the_review(bot: Bot) -> None:
    section = await make_section(bot.db, "行政审批科")
    head = bot.tg.private_user("Head")
    await make_member(bot.db, head.id, "Head", role=Role.HEAD, section=section, language="en")
    boss = await admin(bot)
    await bad_review(bot, section)
    await head.press("Appeal: mistaken or malicious")
    await head.send("不是我们的问题")

    await boss.press("Uphold the review")
    again = await head.press("Appeal: mistaken or malicious")

    assert head.last_text() == "Your appeal was not granted: the review stands."
    assert again.answer == "This review was already appealed."
    review = await the_review(bot)
    assert review.appeal_status == "upheld" and review.voided_at is None


async def test_staff_cannot_appeal_or_void(bot: Bot) -> None:
    section = await make_section(bot.db, "行政审批科")
    staff = bot.tg.private_user("Staff")
    await make_member(bot.db, staff.id, "Staff", section=section, language="en")
    await bad_review(bot, section)
    review = await the_review(bot)
    await staff.send("/moderate")

    await staff.send("/moderate 1")
    assert staff.last_text() == "You can't use /moderate. Send /help to see the commands you can use."

    page = await staff.press_data("mdp:1:0", message=staff.last_message())
    appeal = await staff.press_data(f"mda:{review.id}", message=staff.last_message())
    void = await staff.press_data(f"mdv:review:{review.id}", message=staff.last_message())
    judge = await staff.press_data(f"mdj:{review.id}:1", message=staff.last_message())

    assert staff.last_text() == "You can't use /moderate. Send /help to see the commands you can use."
    assert appeal.answer == "Only the section's heads can appeal its reviews."
    assert page.answer == void.answer == judge.answer == "Only administrators can do that."
    assert (await the_review(bot)).voided_at is None
