"""Voids and appeals: nothing is deleted, the audit log keeps who and why, scores follow the void."""

from __future__ import annotations

from sqlmodel import select

from storage import audit, ratings, tasks
from storage.models import PeriodKind, PublicReview, RaterGroup, Role, TargetKind, TaskStatus
from tests.conftest import ADMIN_ID, Bot
from tests.factories import make_member, make_section
from tests.test_reviews import bad_review


async def admin(bot: Bot):  # type: ignore[no-untyped-def]
    boss = bot.tg.private_user("Boss", user_id=ADMIN_ID)
    await boss.send("/start")
    return boss


async def the_review(bot: Bot) -> PublicReview:
    async with bot.db.transaction() as session:
        return (await session.exec(select(PublicReview))).one()


async def test_admin_voids_a_rating_with_a_reason(bot: Bot) -> None:
    section = await make_section(bot.db, "行政审批科")
    rater = await make_member(bot.db, 77, "Rater")
    async with bot.db.transaction() as session:
        period = await ratings.current_period(session=session, kind=PeriodKind.MONTH, today=bot.clock.now().date())
        assert period is not None
        new = ratings.NewRating(
            rater_id=rater.id or 0,
            rater_group=RaterGroup.INTERNAL,
            target_kind=TargetKind.SECTION,
            target_id=section.id or 0,
            period_id=period.id or 0,
            scores={"service": 1},
            comment="",
            value=1.0,
            form_nonce=1,
        )
        await ratings.store_rating(session=session, new=new, now=bot.clock.now())
    boss = await admin(bot)

    await boss.send("/moderate")
    assert "Rater → 行政审批科: 1.00" in boss.last_text()
    await boss.press("Void rating #1")
    await boss.send("同一人重复刷分")

    assert boss.last_text() == "Void, with the reason recorded. The scores leave it out."
    async with bot.db.transaction() as session:
        (rating,) = await ratings.list_ratings(session=session)
        log = await audit.list_audit(session=session, subject="rating:1")
    assert rating.voided_at is not None and rating.void_reason == "同一人重复刷分"
    assert [(entry.action, entry.detail) for entry in log] == [("rating.voided", "同一人重复刷分")]


async def test_head_appeals_a_bad_review_and_the_admin_voids_it(bot: Bot) -> None:
    section = await make_section(bot.db, "行政审批科")
    head = bot.tg.private_user("Head")
    await make_member(bot.db, head.id, "Head", role=Role.HEAD, section=section, language="en")
    boss = await admin(bot)
    await bad_review(bot, section)

    await head.press("Appeal: mistaken or malicious")
    await head.send("评价人从未来过窗口")
    assert head.last_text() == "Your appeal is sent to the administrators; you will be told their decision."
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

    appeal = await staff.press_data(f"mda:{review.id}", message=staff.last_message())
    void = await staff.press_data(f"mdv:review:{review.id}", message=staff.last_message())
    judge = await staff.press_data(f"mdj:{review.id}:1", message=staff.last_message())

    assert staff.last_text() == "You can't use /moderate. Send /help to see the commands you can use."
    assert appeal.answer == "Only the section's heads can appeal its reviews."
    assert void.answer == judge.answer == "Only administrators can do that."
    assert (await the_review(bot)).voided_at is None
