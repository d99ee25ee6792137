"""The web pages in a real browser: Debian's chromium, driven by Playwright, on a real uvicorn server in the test's
running bot. A visitor on a phone sends a bad review and follows it; the head hears in Telegram and finds the
rectification task in /tasks; a browser without JavaScript sends a good review; a member opens /ranking's Mini App
(Telegram's WebApp faked in the page). Each page is kept as a screenshot
(tests/conftest.py SCREENSHOTS, a CI artifact) to be looked at.

One browser for the whole module: its tests, and the bot and database each test gets, run on the module's event
loop (a Playwright browser belongs to the loop that launched it). The browser adds nothing the in-process tests
(tests/test_web_reviews.py, on both backends) do not check of the database, so these run on SQLite only."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, Request, async_playwright, expect
from sqlmodel import select

from bot.app import services_of
from bot.clock import ManualClock
from bot.config import Settings
from bot.fake_users import FakeUser
from jobs.outbox import deliver_due
from storage import reviews
from storage.models import PublicReview, Role, Section
from storage.session import Database
from tests.conftest import SCREENSHOTS, Bot, bot_for_test, database_for_test
from tests.factories import make_member, make_section, telegram_init_data
from tests.test_ranking import Campaign
from web.app import build_web_app
from web.server import web_server

pytestmark = [
    pytest.mark.asyncio(loop_scope="module"),
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]
PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}


def chromium_path() -> str:
    """Debian's chromium (apt-get install chromium); Playwright drives it as it is, nothing is downloaded."""
    found = shutil.which("chromium")
    if found is None:
        message = "chromium not found; install Debian's chromium package (apt-get install chromium)"
        if os.environ.get("REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    return found


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Browser]:
    path = chromium_path()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=path, headless=True)
        yield launched
        await launched.close()


@pytest_asyncio.fixture(loop_scope="module")
async def db(settings: Settings) -> AsyncIterator[Database]:
    async with database_for_test(settings) as database:
        yield database


@pytest_asyncio.fixture(loop_scope="module")
async def bot(
    settings: Settings, db: Database, clock: ManualClock, request: pytest.FixtureRequest
) -> AsyncIterator[Bot]:
    async with bot_for_test(settings, db, clock, request) as running:
        yield running


@pytest_asyncio.fixture(loop_scope="module")
async def site(bot: Bot) -> AsyncIterator[str]:
    """The bot's web server, listening on a free port: its address."""
    services = services_of(bot.app)
    async with web_server(build_web_app(services, bot.app), services.settings.web) as server:
        yield f"http://127.0.0.1:{server.port}"


@asynccontextmanager
async def visitor(browser: Browser, *, only_pages: bool = True, **options: Any) -> AsyncIterator[Page]:
    """A browser tab of its own (cookies, language, screen); the test fails on a script error, and (`only_pages`)
    on any request but the pages' own: a review page inlines all it needs."""
    context = await browser.new_context(**options)
    page = await context.new_page()
    page.set_default_timeout(5_000)
    problems: list[str] = []

    def loaded(request: Request) -> None:
        if only_pages and request.resource_type != "document":
            problems.append(f"a page loaded {request.url}")

    page.on("request", loaded)
    page.on("pageerror", lambda error: problems.append(f"a script failed: {error}"))
    try:
        yield page
    finally:
        await context.close()
    assert not problems, problems


async def shoot(page: Page, name: str) -> None:
    await page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)


async def review_page(bot: Bot, site: str, section: Section) -> str:
    async with bot.db.transaction() as session:
        return f"{site}/review/{await reviews.review_token(session=session, section=section)}"


async def stored(bot: Bot) -> list[PublicReview]:
    async with bot.db.transaction() as session:
        return list((await session.exec(select(PublicReview).order_by(PublicReview.id))).all())  # type: ignore[arg-type]


async def test_a_bad_review_on_a_phone_reaches_the_head_as_a_task(bot: Bot, site: str, browser: Browser) -> None:
    section = await make_section(bot.db, "行政审批科")
    head = bot.tg.private_user("Head")
    await make_member(bot.db, head.id, "Head", role=Role.HEAD, section=section, language="en")

    async with visitor(browser, locale="zh-CN", **PHONE) as phone:
        await phone.goto(await review_page(bot, site, section))
        await expect(phone.get_by_role("heading", level=1)).to_have_text("您对行政审批科的服务满意吗？")
        await shoot(phone, "review-form-zh")
        await phone.get_by_label("非常不满意", exact=True).check()
        await phone.get_by_role("button", name="提交评价").click()
        await expect(phone.get_by_role("alert")).to_have_text("请说明问题所在：选择原因，或自己写明。")
        await expect(phone.get_by_label("非常不满意", exact=True)).to_be_checked()
        await shoot(phone, "review-form-error-zh")
        await phone.get_by_label("办事拖延").check()
        await phone.get_by_label("原因（请自己写明）").fill("等了两个小时")
        await phone.get_by_label("您的联系方式").fill("138 0000 0000")
        await phone.get_by_role("button", name="提交评价").click()

        await expect(phone.get_by_role("status")).to_have_text("谢谢！您的评价已记录。")
        assert "/mine/" in phone.url
        await expect(phone.locator("main")).to_contain_text("等了两个小时")
        await shoot(phone, "review-status-zh")
        (review,) = await stored(bot)
        assert (review.level, review.tags, review.contact) == (1, ["slow"], "138 0000 0000")
        await deliver_due(services_of(bot.app), bot.app.bot)
        assert head.last_text().startswith(
            "⚠️ A bad review of 行政审批科: Very dissatisfied. Reason: Slow; 等了两个小时"
        )
        assert head.last_text().endswith("The reviewer asks to be called back: 138 0000 0000")
        await head.send("/tasks")
        assert ["2026-06-17 · Rectify a bad review: Slow; 等了两个小时"] in head.buttons()
        await answer_the_review(head, "2026-06-17 · Rectify a bad review: Slow; 等了两个小时", "已安排专人值守")

        await phone.reload()
        await expect(phone.locator("main")).to_contain_text("科室答复：已整改。已安排专人值守")
        await shoot(phone, "review-followup-zh")
        await phone.get_by_role("button", name="不满意").click()
        await expect(phone.get_by_role("status")).to_have_text("感谢您的反馈。")
        await expect(phone.get_by_role("button")).to_have_count(0)
    (review,) = await stored(bot)
    assert review.followup_satisfied is False


async def answer_the_review(head: FakeUser, task: str, note: str) -> None:
    """The head closes the rectification task in Telegram with an answer the reviewer reads on the page."""
    for label in (task, "✅ Done", "Fixed"):
        await head.press(label)
    await head.send(note)
    assert head.last_text().startswith("Recorded. The reviewer reads it on their review's page")


async def test_without_javascript_a_good_review_is_sent(bot: Bot, site: str, browser: Browser) -> None:
    path = await review_page(bot, site, await make_section(bot.db, "办公室"))

    async with visitor(browser, java_script_enabled=False, locale="en-GB", **PHONE) as page:
        await page.goto(path)
        await expect(page.get_by_role("heading", level=1)).to_have_text(
            "How satisfied are you with the service of 办公室?"
        )
        await page.get_by_label("Very satisfied", exact=True).check()
        await shoot(page, "review-form-en-no-javascript")
        await page.get_by_label("A comment", exact=True).fill("Quick and kind")
        await page.get_by_role("button", name="Send my review").click()

        await expect(page.get_by_role("status")).to_have_text("Thank you. Your review is recorded.")
        await expect(page.locator("main")).to_contain_text("It counts in the section's score. Thank you!")
        await shoot(page, "review-status-en-no-javascript")
    (review,) = await stored(bot)
    assert (review.level, review.comment) == (5, "Quick and kind")


async def test_the_lobby_screen(bot: Bot, site: str, browser: Browser) -> None:
    """The hall's screen, 1080p (/lobby, built apart: skipped until it is in this tree)."""
    await review_page(bot, site, await make_section(bot.db, "行政审批科"))  # its QR code for the hall

    options = {"viewport": {"width": 1920, "height": 1080}, "locale": "zh-CN"}
    async with visitor(browser, only_pages=False, **options) as screen:
        response = await screen.goto(f"{site}/lobby")
        assert response is not None
        if response.status == 404:
            pytest.skip("no /lobby in this tree yet")
        assert response.status == 200
        campaign = services_of(bot.app).settings.campaign.title("zh_CN")
        await expect(screen.locator("body")).to_contain_text(campaign)
        await shoot(screen, "lobby")


# Telegram's script, as far as /app/ranking uses it: the page's route to telegram.org is blocked so this stays.
FAKE_WEB_APP = """window.Telegram = {WebApp: {initData: %s, ready() {}, expand() {}, setHeaderColor() {},
  setBackgroundColor() {}}};"""


@asynccontextmanager
async def in_telegram(browser: Browser, init_data: str) -> AsyncIterator[Page]:
    """A phone's Mini App view, Telegram's WebApp handing the page `init_data` (any script error fails the test)."""
    async with visitor(browser, only_pages=False, locale="zh-CN", **PHONE) as page:
        await page.route("https://telegram.org/**", lambda route: route.abort())
        await page.add_init_script(FAKE_WEB_APP % json.dumps(init_data))
        yield page


async def test_a_member_opens_the_ranking_mini_app(bot: Bot, site: str, browser: Browser) -> None:
    campaign = await Campaign(bot).build()
    member = await make_member(bot.db, 505, "孙小梅", section=campaign.market, language="zh_CN")
    user = {"id": member.telegram_id, "first_name": "孙小梅", "language_code": "zh-hans"}

    async with in_telegram(browser, telegram_init_data(bot.app.bot.token, user, bot.clock.now())) as phone:
        await phone.goto(f"{site}/app/ranking")
        await expect(phone.locator(".line .name")).to_have_text(["办公室", "市场科"])
        await expect(phone.locator(".line.mine .name")).to_have_text("市场科")
        await expect(phone.locator(".own-heading")).to_have_text("本科室：市场科")
        await expect(phone.get_by_role("heading", level=1)).to_contain_text("科室")
        await shoot(phone, "ranking-miniapp-zh")

    another_bot = telegram_init_data("1000001:another-bots-token-000000000000000", user, bot.clock.now())
    async with in_telegram(browser, another_bot) as phone, phone.expect_response(f"{site}/app/ranking/board") as posted:
        await phone.goto(f"{site}/app/ranking")
        assert (await posted.value).status == 401  # the server refused it, not the page for want of initData
        await expect(phone.get_by_role("alert")).to_have_text(
            "请在 Telegram 中打开排行榜：向机器人发送 /ranking，然后点击“打开排行榜页面”。"
        )
        await expect(phone.locator(".line")).to_have_count(0)
        await shoot(phone, "ranking-miniapp-refused")
