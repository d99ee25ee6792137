"""/review/<token>: the public's reviews on the web, through the ASGI app in process (httpx), with the bot running
beside it: the heads hear of a bad review in Telegram, the reviewer follows it on a private page. Bad input: forged
tokens and links, a form without its hidden field or cookie, a second review, floods, huge and hostile text."""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import AsyncIterator

import httpx
import pytest_asyncio
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlmodel import select

from bot.app import services_of
from jobs.outbox import deliver_due
from storage import reviews, sections, tasks
from storage.models import PublicReview, Reminder, Role, Section, TaskStatus
from storage.reminders import NOTICE
from tests.conftest import ADMIN_ID, Bot
from tests.factories import make_member, make_section
from tests.test_ratings import round_trips, statements_counted
from web.app import build_web_app
from web.guards import REVIEWER_COOKIE

VISITOR = ("203.0.113.7", 50_000)


@pytest_asyncio.fixture
async def web(bot: Bot) -> AsyncIterator[httpx.AsyncClient]:
    """A browser on the review pages of the running bot."""
    app = build_web_app(services_of(bot.app), bot.app)
    transport = httpx.ASGITransport(app=app, client=VISITOR)
    english = {"Accept-Language": "en"}
    async with httpx.AsyncClient(transport=transport, base_url="https://shuangyou.example", headers=english) as client:
        yield client


async def page_of(bot: Bot, section: Section) -> str:
    async with bot.db.transaction() as session:
        return f"/review/{await reviews.review_token(session=session, section=section)}"


def form_field(page: str) -> str:
    found = re.search(r'name="form" value="([^"]+)"', page)
    assert found is not None, "the page has its form"
    return found.group(1)


async def open_and_send(web: httpx.AsyncClient, path: str, **fields: object) -> httpx.Response:
    """Opens the page as a browser does (taking its cookie and form), then sends the form with `fields`."""
    page = await web.get(path)
    assert page.status_code == 200
    return await web.post(path, data={"form": form_field(page.text), **fields})


def text_of(response: httpx.Response) -> str:
    """The page as a reader sees it (entities read)."""
    return html.unescape(response.text)


async def stored(bot: Bot) -> list[PublicReview]:
    async with bot.db.transaction() as session:
        return list((await session.exec(select(PublicReview).order_by(PublicReview.id))).all())  # type: ignore[arg-type]


async def test_the_page_speaks_the_browsers_language_and_switches(bot: Bot, web: httpx.AsyncClient) -> None:
    path = await page_of(bot, await make_section(bot.db, "行政审批科"))

    chinese = await web.get(path, headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"})
    english = await web.get(path + "?lang=en")
    kept = await web.get(path)

    assert chinese.status_code == 200 and "您对行政审批科的服务满意吗？" in text_of(chinese)
    assert '<html lang="zh-CN">' in text_of(chinese) and "非常满意" in text_of(chinese)
    assert "How satisfied are you with the service of 行政审批科?" in text_of(english)
    assert "How satisfied" in text_of(kept), "the switch is remembered"
    assert REVIEWER_COOKIE in web.cookies
    policy = chinese.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy and "script-src" not in policy
    assert len(chinese.content) < 100_000 and "<script" not in chinese.text and "http://" not in text_of(chinese)


async def test_an_unknown_or_archived_page_is_a_404_that_says_so(bot: Bot, web: httpx.AsyncClient) -> None:
    section = await make_section(bot.db, "办公室")
    path = await page_of(bot, section)
    async with bot.db.transaction() as session:
        archived = await session.get(Section, section.id)
        assert archived is not None
        archived.archived_at = bot.clock.now()
        session.add(archived)

    for wrong in (path, "/review/nosuchtoken", "/review/" + "x" * 500, "/review/%3Cscript%3E"):
        answer = await web.get(wrong, headers={"Accept-Language": "en"})
        assert answer.status_code == 404
        assert "This review page does not exist (any more)." in text_of(answer)
    chinese = await web.get("/nowhere", headers={"Accept-Language": "zh"})
    assert chinese.status_code == 404 and "页面不存在" in text_of(chinese)


async def test_a_good_review_is_stored_and_its_page_says_it_counts(bot: Bot, web: httpx.AsyncClient) -> None:
    path = await page_of(bot, await make_section(bot.db, "行政审批科"))

    sent = await open_and_send(web, path + "?lang=en", level="5", comment="办事很快")

    assert sent.status_code == 303
    (review,) = await stored(bot)
    assert (review.level, review.complete, review.comment) == (5, True, "办事很快")
    assert review.reviewer_telegram_id < 0 and review.client_address == VISITOR[0]
    status = await web.get(sent.headers["location"])
    assert "Thank you. Your review is recorded." in text_of(status)
    assert "It counts in the section's score. Thank you!" in text_of(status)
    again = await web.get(sent.headers["location"])
    assert "Thank you. Your review is recorded." not in text_of(again), "thanked once, not on every later visit"
    assert "It counts in the section's score. Thank you!" in text_of(again)


async def test_a_bad_review_opens_a_task_and_the_head_hears_with_the_contact(bot: Bot, web: httpx.AsyncClient) -> None:
    section = await make_section(bot.db, "行政审批科")
    head = bot.tg.private_user("Head")
    await make_member(bot.db, head.id, "Head", role=Role.HEAD, section=section, language="en")
    path = await page_of(bot, section)

    missing = await open_and_send(web, path + "?lang=en", level="1")
    assert missing.status_code == 400
    assert "Please say what went wrong" in text_of(missing) and await stored(bot) == []
    sent = await open_and_send(
        web, path, level="1", tag=["slow", "unfriendly", "forged"], reason="等了两个小时", contact="138 0000 0000"
    )

    assert sent.status_code == 303
    (review,) = await stored(bot)
    assert (review.tags, review.reason, review.contact, review.complete) == (
        ["slow", "unfriendly"],
        "等了两个小时",
        "138 0000 0000",
        True,
    )
    await deliver_due(services_of(bot.app), bot.app.bot)
    assert head.last_text().startswith(
        "⚠️ A bad review of 行政审批科: Very dissatisfied. Reason: Slow; Unfriendly; 等了"
    )
    assert head.last_text().endswith("The reviewer asks to be called back: 138 0000 0000")
    status = await web.get(sent.headers["location"])
    assert "The section must look into it by 2026-06-17." in text_of(status)


async def test_a_review_is_one_transaction_of_few_round_trips(bot: Bot, web: httpx.AsyncClient) -> None:
    """A review's POST (bench/web_reviews.py): one transaction; on SQLite 10 round trips for a good review with a
    comment, 12 for a bad one (its task, its event), COMMIT included; one more on PostgreSQL, whose BEGIN is a trip
    of its own. The review is inserted with its fields, tally and task at once, the reviewer's reviews are read
    once, and the heads' notices go in one INSERT."""
    section = await make_section(bot.db, "行政审批科")
    for number in range(2):
        head = bot.tg.private_user(f"Head {number}")
        await make_member(bot.db, head.id, f"Head {number}", role=Role.HEAD, section=section, language="en")
    path = await page_of(bot, section)

    counted = []
    for fields in ({"level": "5", "comment": "很好"}, {"level": "1", "tag": "slow", "contact": "138 0000 0000"}):
        web.cookies.clear()
        page = await web.get(path)
        with statements_counted(bot.db) as statements:
            sent = await web.post(path, data={"form": form_field(page.text), **fields})
        assert sent.status_code == 303 and statements.count("COMMIT") == 1, statements
        counted.append(round_trips(bot.db, statements))

    own_begin = int(bot.db.engine.dialect.name == "postgresql")
    assert counted == [10 + own_begin, 12 + own_begin]
    async with bot.db.transaction() as session:
        notices = (await session.exec(select(Reminder).where(Reminder.kind == NOTICE))).all()
    assert len(notices) == 4, "each head hears of each review"


async def test_the_head_answers_in_telegram_and_the_reviewer_says_no_on_the_page(
    bot: Bot, web: httpx.AsyncClient
) -> None:
    section = await make_section(bot.db, "行政审批科")
    head = bot.tg.private_user("Head")
    await make_member(bot.db, head.id, "Head", role=Role.HEAD, section=section, language="en")
    leader = bot.tg.private_user("Leader")
    await make_member(bot.db, leader.id, "Leader", role=Role.LEADER, language="en")
    path = await page_of(bot, section)
    sent = await open_and_send(web, path + "?lang=en", level="2", reason="窗口没人")
    await head.send("/tasks")
    await head.press("2026-06-17 · Rectify a bad review: 窗口没人")
    await head.press("✅ Done")
    await head.press("Fixed")
    await head.send("已安排专人值守")

    assert head.last_text().startswith("Recorded. The reviewer reads it on their review's page")
    status = await web.get(sent.headers["location"])
    assert "The section answers: Fixed. 已安排专人值守" in text_of(status) and "Are you satisfied now?" in text_of(
        status
    )
    answered = await web.post(sent.headers["location"], data={"form": form_field(status.text), "satisfied": "no"})

    assert answered.status_code == 200 and "Thank you for telling us." in text_of(answered)
    assert "Are you satisfied now?" not in text_of(answered), "answered once"
    (review,) = await stored(bot)
    assert review.followup_satisfied is False and "rectified" not in review.tally
    await deliver_due(services_of(bot.app), bot.app.bot)
    assert leader.last_text().startswith("⚠️ The reviewer of 行政审批科 on 2026-06-10 is not satisfied")
    assert leader.buttons() == [["✔ Close: 行政审批科, 2026-06-10"]]


async def test_a_form_without_its_field_or_cookie_or_from_elsewhere_changes_nothing(
    bot: Bot, web: httpx.AsyncClient
) -> None:
    path = await page_of(bot, await make_section(bot.db, "行政审批科"))
    page = await web.get(path + "?lang=en")
    token = form_field(page.text)

    no_field = await web.post(path, data={"level": "5"})
    forged_field = await web.post(path, data={"form": token[:-2] + "AA", "level": "5"})
    web.cookies.clear()
    no_cookie = await web.post(path, data={"form": token, "level": "5"})
    forged_link = await web.get(path + "/mine/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")

    assert [answer.status_code for answer in (no_field, forged_field, no_cookie)] == [403, 403, 403]
    assert "This form has expired." in text_of(no_cookie)
    assert forged_link.status_code == 404
    assert await stored(bot) == []


async def test_one_review_a_day_and_a_later_one_replaces_the_earlier(bot: Bot, web: httpx.AsyncClient) -> None:
    path = await page_of(bot, await make_section(bot.db, "行政审批科"))
    await open_and_send(web, path + "?lang=en", level="3")

    again = await open_and_send(web, path, level="5")
    assert again.status_code == 409 and "You already reviewed 行政审批科 today." in text_of(again)
    bot.clock.advance(dt.timedelta(days=1))
    tomorrow = await open_and_send(web, path, level="4")

    assert tomorrow.status_code == 303
    first, second = await stored(bot)
    assert first.voided_at is not None and second.voided_at is None, "one reviewer of the section per period"


async def test_an_address_that_floods_is_stopped(bot: Bot, web: httpx.AsyncClient) -> None:
    path = await page_of(bot, await make_section(bot.db, "行政审批科"))
    services_of(bot.app)  # the guards are made with the bot's key
    web_app = web._transport.app  # type: ignore[attr-defined]
    web_app.state.site.guards.posts_per_hour = 2

    answers = []
    for _ in range(3):
        web.cookies.clear()  # a new browser each time: the cookie rule alone would not stop them
        answers.append((await open_and_send(web, path + "?lang=en", level="5")).status_code)

    assert answers == [303, 303, 429]
    assert len(await stored(bot)) == 2


async def test_huge_and_hostile_text_is_cut_and_shown_as_text(bot: Bot, web: httpx.AsyncClient) -> None:
    section = await make_section(bot.db, "<b>科</b>")
    path = await page_of(bot, section)
    hostile = '<script>alert(1)</script>"&'

    sent = await open_and_send(web, path, level="1", reason=hostile * 1000, comment=hostile, contact=hostile * 10)

    (review,) = await stored(bot)
    assert len(review.reason) == 500 and len(review.contact) == 100 and review.reason.startswith("<script>")
    status = await web.get(sent.headers["location"] + "?lang=en")
    assert "<script>alert" not in status.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in status.text
    assert "&lt;b&gt;科&lt;/b&gt;" in status.text
    async with bot.db.transaction() as session:
        (task,) = await tasks.list_open_tasks(session=session)
    assert task.status == TaskStatus.OPEN


@hypothesis_settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    fields=st.dictionaries(
        st.sampled_from(["level", "tag", "reason", "comment", "contact", "form", "satisfied", "x"]),
        st.text(max_size=300),
        max_size=6,
    )
)
async def test_whatever_is_posted_the_answer_is_a_page_never_an_error(
    bot: Bot, web: httpx.AsyncClient, fields: dict[str, str]
) -> None:
    async with bot.db.transaction() as session:
        section = await sections.get_section_by_name(session=session, name="行政审批科")
    path = await page_of(bot, section or await make_section(bot.db, "行政审批科"))
    answer = await web.post(path, data=fields)
    assert answer.status_code in {303, 400, 403, 404, 409, 429}
    assert "Traceback" not in text_of(answer)


async def test_admins_see_the_reviews_of_one_address_together_with_their_contacts(
    bot: Bot, web: httpx.AsyncClient
) -> None:
    path = await page_of(bot, await make_section(bot.db, "行政审批科"))
    for level in ("5", "4"):
        web.cookies.clear()
        await open_and_send(web, path, level=level, contact="wx:abc")
    admin = bot.tg.private_user("Boss", user_id=ADMIN_ID)
    await admin.send("/start")

    await admin.send(f"/moderate {VISITOR[0]}")

    lines = admin.last_text().splitlines()
    assert lines[0] == f"2 reviews from {VISITOR[0]}, newest first:"
    assert all(line.endswith(f"· web, {VISITOR[0]} · contact: wx:abc") for line in lines[1:])
    assert [row[0] for row in admin.buttons()][:2] == ["Void review #2", "Void review #1"]
    await admin.send("/moderate 198.51.100.1")
    assert admin.last_text() == "No review came from 198.51.100.1."
    staff = bot.tg.private_user("Staff")
    await staff.send(f"/moderate {VISITOR[0]}")
    assert VISITOR[0] not in staff.last_text()
