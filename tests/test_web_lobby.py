"""/lobby: the sections' board on the hall's screen, through the ASGI app in process (httpx), beside the running bot:
the ranking with its movements, raters and 好评率, the sections apart, the review QR codes (decoded), pages, the
fragment the screen refreshes itself with, ?period=, both languages, the switch off and the key. Never a person."""

from __future__ import annotations

import asyncio
import dataclasses
import html
import re
from collections.abc import AsyncIterator

import httpx
import pytest_asyncio
import zxingcpp
from PIL import Image
from sqlmodel import delete

from bot.app import services_of
from bot.config import Settings
from handlers.reviews import web_review_link
from storage import reviews, snapshots
from storage.models import Period, PeriodKind, Section
from tests.conftest import Bot
from tests.factories import make_member, make_section
from tests.test_ranking import Campaign
from tests.test_scoring import JUNE, period_of, rate, raters, review
from web.app import build_web_app
from web.lobby import CODES_PER_PAGE, PAGE_SECONDS, REFRESH_SECONDS

SCREEN = ("203.0.113.9", 40_000)
KEY = "hall-screen-7f3a"


def browser(bot: Bot, **web: object) -> httpx.AsyncClient:
    """The hall's screen, on the pages of the running bot; `web` changes [web] settings for it."""
    services = services_of(bot.app)
    if web:
        settings = services.settings
        services = dataclasses.replace(
            services, settings=settings.model_copy(update={"web": settings.web.model_copy(update=web)})
        )
    transport = httpx.ASGITransport(app=build_web_app(services, bot.app), client=SCREEN)
    return httpx.AsyncClient(
        transport=transport, base_url="https://shuangyou.example", headers={"Accept-Language": "en"}
    )


@pytest_asyncio.fixture
async def screen(bot: Bot) -> AsyncIterator[httpx.AsyncClient]:
    async with browser(bot) as client:
        yield client


def settings_of(bot: Bot) -> Settings:
    return services_of(bot.app).settings


def text_of(response: httpx.Response) -> str:
    """What the screen shows: the tags gone, the entities read, the spaces collapsed."""
    without_svg = re.sub(r"<svg.*?</svg>", " ", response.text, flags=re.S)
    without_tags = re.sub(r"<(script|style).*?</\1>|<[^>]+>", " ", without_svg, flags=re.S)
    return " ".join(html.unescape(without_tags).split())


def rows_of(response: httpx.Response) -> list[str]:
    """The board's lines, each as its cells' texts."""
    body = response.text.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in response.text else ""
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", body, flags=re.S)
    return [" ".join(html.unescape(re.sub(r"<[^>]+>", " ", row)).split()) for row in rows]


def codes_of(response: httpx.Response) -> list[tuple[str, str]]:
    """(section's name, the link its QR code holds), each code decoded from the SVG on the page."""
    found = re.findall(r'<div class="code">(<svg.*?</svg>)</div><div class="label">(.*?)</div>', response.text, re.S)
    return [(html.unescape(label), decoded(svg)) for svg, label in found]


def decoded(svg: str) -> str:
    """The SVG drawn module by module (segno's path: a horizontal line per run of dark modules) and read back."""
    size = int(re.search(r'viewBox="0 0 (\d+) \d+"', svg).group(1))  # type: ignore[union-attr]
    path = re.search(r'class="qrline"[^>]*\sd="([^"]+)"', svg).group(1)  # type: ignore[union-attr]
    scale = 8
    image = Image.new("L", (size * scale, size * scale), 255)
    x = y = 0.0
    for command, first, second in re.findall(r"([Mmh])(-?[\d.]+)(?: (-?[\d.]+))?", path):
        if command == "M":
            x, y = float(first), float(second)
        elif command == "m":
            x, y = x + float(first), y + float(second)
        else:
            image.paste(0, (int(x * scale), int(y) * scale, int((x + float(first)) * scale), (int(y) + 1) * scale))
            x += float(first)
    (result,) = zxingcpp.read_barcodes(image)
    return str(result.text)


async def tokens(bot: Bot) -> dict[str, str | None]:
    async with bot.db.transaction() as session:
        return {link.name: link.token for link in await reviews.list_section_links(session=session)}


async def take_snapshot(bot: Bot) -> None:
    """A snapshot of the campaign board, what the posted boards and the movements are measured against."""
    async with bot.db.transaction() as session:
        await snapshots.take_snapshot(
            session=session,
            rules=settings_of(bot).scoring_rules(),
            period=await period_of(bot.db, JUNE, PeriodKind.CAMPAIGN),
            slot="weekly:2026-06-08",
            now=bot.clock.now(),
            today=JUNE,
        )


async def test_the_screen_shows_the_sections_ranking_with_scores_raters_and_chart(
    bot: Bot, screen: httpx.AsyncClient
) -> None:
    await Campaign(bot).build()

    page = await screen.get("/lobby")

    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    shown = text_of(page)
    assert settings_of(bot).campaign.title("en") in shown and "Sections' ranking · the 2026 campaign" in shown
    office, market = rows_of(page)
    assert re.fullmatch(r"1 办公室 \d+\.\d 3 –", office), office
    assert re.fullmatch(r"2 市场科 \d+\.\d 3 –", market), market
    assert page.text.count('<div class="bar" style="width: ') == 2, "a bar of the chart for each ranked section"
    assert "Not enough ratings yet: " in shown and "质监站 <b>&" in shown, "the sections apart, by name only"
    assert "Updated 10:00" in shown and "Page 1 of" not in shown
    assert f'content="{REFRESH_SECONDS};url=/lobby?lang=en&amp;page=0"' in page.text, (
        "without the script, it refreshes itself"
    )
    assert 'data-source="/lobby/board?lang=en"' in page.text and "<script>" in page.text
    assert "http://" not in page.text.replace(settings_of(bot).web.base_url(), ""), "nothing from elsewhere"


async def test_nobody_is_ever_named_on_the_screen(bot: Bot, screen: httpx.AsyncClient) -> None:
    campaign = await Campaign(bot).build()
    person = await make_member(bot.db, 777, "Zhuang Qianqian", section=campaign.office)
    for voter in campaign.voters[:3]:
        await rate(bot.db, voter, person, 5)

    pages = [await screen.get("/lobby"), await screen.get("/lobby/board"), await screen.get("/lobby?lang=zh")]

    for page in pages:
        for name in ("Zhuang Qianqian", "小王", "Sun Staff", "Hu Head", "Lee Leader", "Boss"):
            assert name not in html.unescape(page.text)
        assert not re.search(r">R\d+<", page.text), "nor a rater"


async def test_movements_since_the_last_snapshot_and_a_newcomer(bot: Bot, screen: httpx.AsyncClient) -> None:
    campaign = await Campaign(bot).build()
    await take_snapshot(bot)
    for voter in await raters(bot.db, 8):
        await rate(bot.db, voter, campaign.market, 5)
        await rate(bot.db, voter, campaign.office, 1)
    for voter in (await raters(bot.db, 3))[:3]:
        await rate(bot.db, voter, campaign.station, 4)

    page = await screen.get("/lobby")

    lines = rows_of(page)
    assert lines[0].startswith("1 市场科 ") and " ▲1 " in lines[0]
    assert any(line.startswith("2 质监站 <b>& ") and " new " in line for line in lines), lines
    assert any(line.startswith("3 办公室 ") and " ▼2 " in line for line in lines), lines
    assert 'class="move up"' in page.text and 'class="move down"' in page.text and 'class="move new"' in page.text


async def test_the_good_review_rate_of_sections_with_reviews(bot: Bot, screen: httpx.AsyncClient) -> None:
    campaign = await Campaign(bot).build()
    for level in (5, 5, 4, 1):
        await review(bot.db, campaign.market, level)

    lines = rows_of(await screen.get("/lobby"))

    market = next(line for line in lines if "市场科" in line)
    office = next(line for line in lines if "办公室" in line)
    assert market.endswith(" 75%") and office.endswith(" –")


async def test_the_review_qr_codes_open_each_sections_review_page(bot: Bot, screen: httpx.AsyncClient) -> None:
    campaign = await Campaign(bot).build()
    async with bot.db.transaction() as session:
        office = await session.get(Section, campaign.office.id)
        assert office is not None
        printed = await reviews.review_token(session=session, section=office)  # /ratinglink made this one

    page = await screen.get("/lobby")

    made = await tokens(bot)
    assert made["办公室"] == printed, "a printed code stays valid"
    assert all(made.values()), "every section in use has its link now"
    codes = dict(codes_of(page))
    assert set(codes) == set(made)
    for name, token in made.items():
        assert codes[name] == web_review_link(settings_of(bot), token or "")
    assert "质监站 &lt;b&gt;&amp;" in page.text and "<b>&" not in page.text
    opened = await screen.get(codes["市场科"].removeprefix(settings_of(bot).web.base_url()))
    assert opened.status_code == 200 and "How satisfied are you with the service of 市场科?" in opened.text

    await screen.get("/lobby/board")
    assert await tokens(bot) == made, "made once, not on every refresh"


async def test_two_screens_opened_at_once_show_the_same_codes(bot: Bot, screen: httpx.AsyncClient) -> None:
    await Campaign(bot).build()

    pages = await asyncio.gather(*(screen.get("/lobby") for _ in range(4)))

    made = await tokens(bot)
    expected = {name: web_review_link(settings_of(bot), token or "") for name, token in made.items()}
    assert all(dict(codes_of(page)) == expected for page in pages), "no code made twice, none shown that is not kept"


async def test_the_fragment_is_the_screen_alone_and_follows_the_ratings(bot: Bot, screen: httpx.AsyncClient) -> None:
    campaign = await Campaign(bot).build()
    before = await screen.get("/lobby/board")
    assert before.status_code == 200 and before.text.lstrip().startswith('<div class="screen"')
    assert "<html" not in before.text and "<script" not in before.text
    assert rows_of(before)[0].startswith("1 办公室 ")

    for voter in await raters(bot.db, 8):
        await rate(bot.db, voter, campaign.market, 5)
        await rate(bot.db, voter, campaign.office, 2)
    after = await screen.get("/lobby/board")

    assert rows_of(after)[0].startswith("1 市场科 "), "the kept board is never a stale one"
    assert (await screen.head("/lobby/board")).status_code == 200


async def test_a_long_list_of_sections_turns_over_in_pages(bot: Bot, screen: httpx.AsyncClient) -> None:
    await Campaign(bot).build()
    for number in range(CODES_PER_PAGE + 1):
        await make_section(bot.db, f"站所{number:02}")
    sections = len(await tokens(bot))

    first = await screen.get("/lobby")
    second = await screen.get("/lobby/board?page=1&lang=en")
    again = await screen.get("/lobby/board?page=2&lang=en")

    assert 'data-page="0" data-pages="2"' in first.text and "Page 1 of 2" in text_of(first)
    assert f'content="{PAGE_SECONDS};url=/lobby?lang=en&amp;page=1"' in first.text
    assert 'data-page="1" data-pages="2"' in second.text and "Page 2 of 2" in text_of(second)
    shown = [name for page in (first, second) for name, _ in codes_of(page)]
    assert len(shown) == sections == len(set(shown)), "every section's code, once"
    assert [len(codes_of(page)) for page in (first, second)] == [7, 7], "14 codes: as many on each page"
    assert rows_of(second) == rows_of(first), "the two ranked sections stay on the board"
    assert 'data-page="0"' in again.text, "after the last page, the first"
    for wrong in ("-1", "x", "99999999999", "1e3"):
        assert (await screen.get(f"/lobby/board?page={wrong}")).status_code == 200


async def test_a_period_asked_for_and_one_that_does_not_exist(bot: Bot, screen: httpx.AsyncClient) -> None:
    await Campaign(bot).build()

    month = await screen.get("/lobby?period=2026-06")
    quarter = await screen.get("/lobby/board?period=2026-q2")
    may = await screen.get("/lobby?period=2026-5")

    assert "Sections' ranking · 2026-06" in text_of(month) and rows_of(month)[0].startswith("1 办公室 ")
    assert 'data-source="/lobby/board?period=2026-06&amp;lang=en"' in month.text, "the refreshes keep the period"
    assert "Sections' ranking · 2026 Q2" in text_of(quarter)
    assert "Nobody has enough ratings yet in this period." in text_of(may) and not rows_of(may)
    for wrong in ("2026-13", "2025", "<script>alert(1)</script>"):
        answer = await screen.get("/lobby", params={"period": wrong})
        assert answer.status_code == 404
        assert f"There is no period “{wrong}”." in text_of(answer) and "(2026-05 … 2026-12)" in text_of(answer)
        assert "<script>alert" not in answer.text
    chinese = await screen.get("/lobby/board?period=2026-13", headers={"Accept-Language": "zh-CN"})
    assert chinese.status_code == 404 and "没有周期“2026-13”。" in text_of(chinese)


async def test_without_any_campaign_period_the_screen_says_so(bot: Bot, screen: httpx.AsyncClient) -> None:
    async with bot.db.transaction() as session:
        await session.exec(delete(Period))

    page = await screen.get("/lobby")

    assert page.status_code == 200 and "There is no campaign period to show yet." in text_of(page)


async def test_chinese_by_default_or_by_the_browser_and_english_on_request(bot: Bot) -> None:
    await Campaign(bot).build()
    async with browser(bot) as screen:
        default = await screen.get("/lobby", headers={"Accept-Language": ""})
        chinese = await screen.get("/lobby", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
        english = await screen.get("/lobby?lang=en", headers={"Accept-Language": "zh-CN"})

    assert settings_of(bot).bot.default_language == "zh_CN"
    for page in (default, chinese):
        shown = text_of(page)
        assert '<html lang="zh-CN">' in page.text
        assert "科室排行榜：2026 年活动" in shown and "扫码评价我们的服务" in shown and "好评率" in shown
        assert "评分人数尚不足：" in shown and "更新于 10:00" in shown
        assert 'data-source="/lobby/board?lang=zh"' in page.text
    assert "Scan to review our service" in text_of(english) and '<html lang="en">' in english.text


async def test_the_screen_can_be_turned_off(bot: Bot) -> None:
    async with browser(bot, lobby=False) as screen:
        for path in ("/lobby", "/lobby/board", f"/lobby?key={KEY}"):
            answer = await screen.get(path)
            assert answer.status_code == 404 and "Page not found" in text_of(answer)
        assert "页面不存在" in text_of(await screen.get("/lobby", headers={"Accept-Language": "zh"}))


async def test_a_key_is_needed_when_one_is_set(bot: Bot) -> None:
    await Campaign(bot).build()
    async with browser(bot, lobby_key=KEY) as screen:
        missing = await screen.get("/lobby")
        wrong = await screen.get("/lobby/board?key=hall-screen-7f3b")
        longer = await screen.get(f"/lobby?key={KEY}x")
        chinese = await screen.get("/lobby?key=nope", headers={"Accept-Language": "zh-CN"})
        right = await screen.get(f"/lobby?key={KEY}&period=2026-06")
        refresh = await screen.get(f"/lobby/board?key={KEY}&page=1")

    for refused in (missing, wrong, longer):
        assert refused.status_code == 403 and "This board is shown only with its key." in text_of(refused)
        assert "办公室" not in refused.text
    assert chinese.status_code == 403 and "此排行榜须凭密钥查看。" in text_of(chinese)
    assert right.status_code == 200 and rows_of(right)[0].startswith("1 办公室 ")
    assert f'data-source="/lobby/board?period=2026-06&amp;key={KEY}&amp;lang=en"' in right.text
    assert f"/lobby?period=2026-06&amp;key={KEY}&amp;lang=zh" in right.text, "the language switch keeps the key"
    assert refresh.status_code == 200 and rows_of(refresh)
