"""/ranking as a Telegram Mini App (/app/ranking), through the ASGI app in process (httpx) beside the running bot:
the page posts Telegram's signed initData and gets the board /ranking would show that member, in their language,
their own section or line marked. Bad input: initData forged, unsigned, old, signed for another bot, given twice;
people /ranking refuses; hostile names; bodies that are not ours or far too large."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import event
from telegram import InlineKeyboardMarkup
from telegram.error import BadRequest

from bot.app import services_of
from bot.clock import ManualClock
from bot.config import Settings
from handlers.common import app_button
from storage import campaigns, snapshots
from storage.models import MemberStatus, PeriodKind, Role
from storage.session import Database
from tests.conftest import Bot, running_bot
from tests.factories import make_member, make_section, telegram_init_data
from tests.test_ranking import Campaign
from tests.test_scoring import rate, raters
from web import miniapp
from web.app import build_web_app
from web.telegram_login import NotFromTelegram, verify_init_data

HTTPS = "https://shuangyou.example.gov.cn"
BOARD = "/app/ranking/board"
# A line of /ranking's message: rank, name (with the section for a person), score, then the rest.
CHAT_LINE = re.compile(r"(\d+)\. (.+?) (\d+\.\d)(?: |$)")
WEB_LINE = re.compile(
    r'<li class="line( mine)?".*?<span class="rank">(\d+)</span>.*?<span class="name">(.*?)</span>'
    r'(?: <span class="section">\((.*?)\)</span>)?.*?<span class="score">(\d+\.\d)',
    re.S,
)


@pytest_asyncio.fixture
async def web(bot: Bot) -> AsyncIterator[httpx.AsyncClient]:
    """Telegram's web view on the pages of the running bot."""
    async with page_client(bot) as client:
        yield client


def page_client(bot: Bot) -> httpx.AsyncClient:
    app = build_web_app(services_of(bot.app), bot.app)
    transport = httpx.ASGITransport(app=app, client=("198.51.100.4", 40_000))
    return httpx.AsyncClient(transport=transport, base_url=HTTPS, headers={"Accept-Language": "en"})


def signed_for(bot: Bot, telegram_id: int, *, language: str | None = "en", age: dt.timedelta = dt.timedelta()) -> str:
    """initData as Telegram gives it to the page of a user who opened it `age` ago, signed with the bot's token."""
    user: dict[str, Any] = {"id": telegram_id, "first_name": "Tester", "allows_write_to_pm": True}
    if language:
        user["language_code"] = language
    return telegram_init_data(bot.app.bot.token, user, bot.clock.now() - age)


async def board(web: httpx.AsyncClient, init_data: str, **wanted: object) -> httpx.Response:
    return await web.post(BOARD, json={"init_data": init_data, **wanted})


def web_lines(response: httpx.Response) -> list[tuple[int, str, float, bool]]:
    """(rank, name as /ranking writes it, score, marked as the viewer's) of each line on the page."""
    lines = []
    for mine, rank, name, section, score in WEB_LINE.findall(response.text):
        shown = html.unescape(name) + (f" ({html.unescape(section)})" if section else "")
        lines.append((int(rank), shown, float(score), bool(mine)))
    return lines


def chat_lines(text: str) -> list[tuple[int, str, float]]:
    return [(int(m[1]), m[2], float(m[3])) for line in text.splitlines() if (m := CHAT_LINE.match(line))]


def text_of(response: httpx.Response) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", response.text))


# --- what members see -------------------------------------------------------------------------------------------------


async def test_a_staff_member_sees_the_sections_board_with_their_section_marked(
    bot: Bot, web: httpx.AsyncClient
) -> None:
    campaign = await Campaign(bot).build()
    staff = campaign.user(campaign.staff)
    await staff.send("/ranking")

    answer = await board(web, signed_for(bot, staff.id))

    assert answer.status_code == 200, answer.text
    lines = web_lines(answer)
    assert [(rank, name, score) for rank, name, score, _ in lines] == chat_lines(staff.last_text())
    assert [name for _, name, _, mine in lines if mine] == ["市场科"]
    assert "Your section, 市场科" in text_of(answer) and "rank 2 of 2" in text_of(answer)
    assert "Sections — the 2026 campaign" in text_of(answer)
    assert 'data-target="member"' not in answer.text, "staff are not offered the individuals' board"
    assert "Not enough ratings yet: Raters " in text_of(answer) and "质监站 <b>&" in text_of(answer)


async def test_a_leader_sees_the_individuals_as_ranking_shows_them(bot: Bot, web: httpx.AsyncClient) -> None:
    campaign = await Campaign(bot).build()
    leader = campaign.user(campaign.leader)
    await leader.send("/ranking")
    await leader.press("Individuals")
    await leader.press("Month")

    answer = await board(web, signed_for(bot, leader.id), target="member", period="month")

    assert answer.status_code == 200
    assert [line[:3] for line in web_lines(answer)] == chat_lines(leader.last_text())
    assert [line[1] for line in web_lines(answer)][:2] == ["小王 (办公室)", "Sun Staff (市场科)"]
    assert "Individuals — 2026-06" in text_of(answer)
    assert 'data-period="month:' in answer.text and "‹ 2026-05" in text_of(answer)
    sections = await board(web, signed_for(bot, leader.id))
    assert [line[1] for line in web_lines(sections)] == ["办公室", "市场科"]
    assert [line[1] for line in web_lines(sections) if line[3]] == ["办公室"], "the leader's own section"


async def test_movements_since_the_last_snapshot_are_those_of_ranking(bot: Bot, web: httpx.AsyncClient) -> None:
    campaign = await Campaign(bot).build()
    settings = services_of(bot.app).settings
    async with bot.db.transaction() as session:
        period = await campaigns.period_at(session=session, kind=PeriodKind.CAMPAIGN, today=dt.date(2026, 6, 10))
        assert period is not None
        await snapshots.take_snapshot(
            session=session,
            rules=settings.scoring_rules(),
            period=period,
            slot="weekly:test",
            now=bot.clock.now(),
            today=dt.date(2026, 6, 10),
        )
    for voter in await raters(bot.db, 8):
        await rate(bot.db, voter, campaign.market, 5)
        await rate(bot.db, voter, campaign.office, 1)
    leader = campaign.user(campaign.leader)
    await leader.send("/ranking")

    answer = await board(web, signed_for(bot, leader.id))

    assert chat_lines(leader.last_text())[0][1] == "市场科" and "▲1" in leader.last_text()
    assert [line[:3] for line in web_lines(answer)] == chat_lines(leader.last_text())
    assert '<span class="move up">▲1</span>' in answer.text and '<span class="move down">▼1</span>' in answer.text


async def test_staff_see_their_own_line_when_the_individuals_are_open_to_staff(
    settings: Settings, db: Database, clock: ManualClock
) -> None:
    open_to_staff = settings.model_copy(
        update={"scoring": settings.scoring.model_copy(update={"individual_ranking": ("staff", "leader", "admin")})}
    )
    async with running_bot(open_to_staff, db, clock, flood_limits=False) as bot, page_client(bot) as web:
        campaign = await Campaign(bot).build()

        answer = await board(web, signed_for(bot, campaign.staff.telegram_id or 0), target="member")

        assert answer.status_code == 200
        assert [line[1] for line in web_lines(answer) if line[3]] == ["Sun Staff (市场科)"]
        assert "You" in text_of(answer) and "rank 2 of 2" in text_of(answer)


async def test_the_board_opens_at_the_page_holding_the_viewer(
    bot: Bot, web: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(miniapp, "PAGE_ROWS", 1)
    campaign = await Campaign(bot).build()
    init_data = signed_for(bot, campaign.staff.telegram_id or 0)

    own_page = await board(web, init_data)
    first_page = await board(web, init_data, period="campaign", page=0)
    past_the_end = await board(web, init_data, page=99)

    assert [line[1] for line in web_lines(own_page)] == ["市场科"] and "2/2" in text_of(own_page)
    assert 'data-page="0"' in own_page.text and "Not enough ratings yet" in text_of(own_page)
    assert [line[1] for line in web_lines(first_page)] == ["办公室"] and 'data-page="1"' in first_page.text
    assert [line[1] for line in web_lines(past_the_end)] == ["市场科"]


async def test_the_board_speaks_the_members_language_else_their_telegrams(bot: Bot, web: httpx.AsyncClient) -> None:
    section = await make_section(bot.db, "办公室")
    chosen = await make_member(bot.db, 611, "Chosen", section=section, language="zh_CN")
    unset = await make_member(bot.db, 612, "Unset", section=section)

    chinese = await board(web, signed_for(bot, chosen.telegram_id or 0, language="en"))
    from_telegram = await board(web, signed_for(bot, unset.telegram_id or 0, language="zh-hans"))
    default = await board(web, signed_for(bot, unset.telegram_id or 0, language=None))

    for answer in (chinese, from_telegram, default):  # config.toml's default language is Chinese
        assert answer.status_code == 200 and "科室" in text_of(answer) and "Sections" not in text_of(answer)
    english = await board(web, signed_for(bot, unset.telegram_id or 0, language="en"))
    assert "Sections" in text_of(english)


async def test_each_board_is_read_in_one_transaction(bot: Bot, web: httpx.AsyncClient) -> None:
    campaign = await Campaign(bot).build()
    begun: list[object] = []

    def count(connection: object) -> None:
        begun.append(connection)

    event.listen(bot.db.engine.sync_engine, "begin", count)
    try:
        answer = await board(web, signed_for(bot, campaign.leader.telegram_id or 0), target="member", period="month")
    finally:
        event.remove(bot.db.engine.sync_engine, "begin", count)

    assert answer.status_code == 200 and len(begun) == 1


async def test_names_are_shown_as_typed_never_as_markup(bot: Bot, web: httpx.AsyncClient) -> None:
    hostile = await make_section(bot.db, '<script>alert("x")</script> & <b>科</b>')
    viewer = await make_member(bot.db, 621, "<img src=x onerror=alert(1)>", section=hostile, language="en")
    for voter in await raters(bot.db, 3):
        await rate(bot.db, voter, hostile, 4)

    answer = await board(web, signed_for(bot, viewer.telegram_id or 0))

    assert answer.status_code == 200
    assert "<script>" not in answer.text and "<b>科" not in answer.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;b&gt;科&lt;/b&gt;" in answer.text
    assert [line[1] for line in web_lines(answer) if line[3]] == ['<script>alert("x")</script> & <b>科</b>']


def test_initdata_from_a_real_telegram_client_is_believed() -> None:
    """A published initData and its bot's token (docs.telegram-mini-apps.com, "Validating"): the check agrees with
    Telegram's own signing, not only with this suite's."""
    token = "5768337691:AAH5YkoiEuPk8-FZa32hStHTqXiLPtAEhx8"
    init_data = (
        "query_id=AAHdF6IQAAAAAN0XohDhrOrc&user=%7B%22id%22%3A279058397%2C%22first_name%22%3A%22Vladislav%22%2C"
        "%22last_name%22%3A%22Kibenko%22%2C%22username%22%3A%22vdkfrost%22%2C%22language_code%22%3A%22ru%22%2C"
        "%22is_premium%22%3Atrue%7D&auth_date=1662771648&hash=c501b71e775f74ce10e377dea85a7ea24ecd640b223ea86dfe453e0eaed2e2b2"
    )
    signed = dt.datetime.fromtimestamp(1662771648, dt.UTC)

    user = verify_init_data(init_data, token, signed + dt.timedelta(minutes=5))

    assert (user.telegram_id, user.first_name, user.username, user.language_code) == (
        279058397,
        "Vladislav",
        "vdkfrost",
        "ru",
    )
    with pytest.raises(NotFromTelegram):
        verify_init_data(init_data.replace("Vladislav", "Vladimir"), token, signed)
    with pytest.raises(NotFromTelegram) as old:
        verify_init_data(init_data, token, signed + dt.timedelta(days=2))
    assert old.value.expired


@given(
    st.text(max_size=600) | st.from_regex(r"(user=[^&]*&)?(auth_date=[0-9]{0,12}&)?hash=[0-9a-f]{64}", fullmatch=True)
)
def test_any_text_as_initdata_is_refused_as_not_from_telegram(text: str) -> None:
    with pytest.raises(NotFromTelegram):
        verify_init_data(text, "1000000:in-process-bot-api-token-0000000000", dt.datetime.now(dt.UTC))


# --- who is refused ---------------------------------------------------------------------------------------------------


async def test_initdata_not_signed_by_telegram_for_this_bot_now_is_refused(bot: Bot, web: httpx.AsyncClient) -> None:
    campaign = await Campaign(bot).build()
    leader_id, staff_id = campaign.leader.telegram_id or 0, campaign.staff.telegram_id or 0
    user = {"id": leader_id, "first_name": "Lee"}
    now = bot.clock.now()
    good = signed_for(bot, leader_id)
    forged = good.replace(f"%22id%22%3A{leader_id}", f"%22id%22%3A{staff_id}")
    assert forged != good
    wrong: dict[str, str] = {
        "forged user": forged,
        "hash cut off": re.sub(r"&hash=[0-9a-f]+", "", good),
        "hash of another": re.sub(r"hash=[0-9a-f]+", "hash=" + "0" * 64, good),
        "another bot's token": telegram_init_data("1000001:another-bots-token-000000000000000", user, now),
        "a field twice": good + "&auth_date=" + str(int(now.timestamp())),
        "signed in the future": telegram_init_data(bot.app.bot.token, user, now + dt.timedelta(hours=1)),
        "no user": telegram_init_data(bot.app.bot.token, {}, now).replace("user=%7B%7D&", ""),
        "empty": "",
        "not a query": "%%%",
    }
    for case, init_data in wrong.items():
        answer = await board(web, init_data)
        assert answer.status_code == 401, case
        assert "Open this board from Telegram: send /ranking" in text_of(answer), case
        assert "<li" not in answer.text, case

    old = await board(web, signed_for(bot, leader_id, age=dt.timedelta(hours=25)))
    assert old.status_code == 401 and "opened more than a day ago" in text_of(old)
    recent = await board(web, signed_for(bot, leader_id, age=dt.timedelta(hours=23)))
    assert recent.status_code == 200


async def test_people_ranking_refuses_are_refused_in_their_language(bot: Bot, web: httpx.AsyncClient) -> None:
    campaign = await Campaign(bot).build()
    await make_member(bot.db, 631, "Pending", status=MemberStatus.PENDING, language="en")
    await make_member(bot.db, 632, "Gone", section=campaign.office, status=MemberStatus.INACTIVE, language="en")

    stranger = await board(web, signed_for(bot, 630))
    stranger_zh = await board(web, signed_for(bot, 630, language="zh"))
    pending = await board(web, signed_for(bot, 631))
    gone = await board(web, signed_for(bot, 632))
    staff_asking_for_people = await board(web, signed_for(bot, campaign.staff.telegram_id or 0), target="member")

    assert stranger.status_code == 403 and "/ranking is for registered members. Send /start" in text_of(stranger)
    assert stranger_zh.status_code == 403 and "/start" in text_of(stranger_zh) and "registered" not in stranger_zh.text
    assert pending.status_code == 403 and "waiting for approval" in text_of(pending)
    assert gone.status_code == 403 and "<li" not in gone.text
    assert staff_asking_for_people.status_code == 403
    assert "The ranking of individuals is for the campaign leaders." in text_of(staff_asking_for_people)


async def test_requests_that_are_not_our_pages_are_refused(bot: Bot, web: httpx.AsyncClient) -> None:
    campaign = await Campaign(bot).build()
    init_data = signed_for(bot, campaign.leader.telegram_id or 0)
    not_ours: list[object] = [
        {"init_data": init_data, "target": "everyone"},
        {"init_data": init_data, "period": "decade"},
        {"init_data": init_data, "period": "month:-1"},
        {"init_data": init_data, "page": -1},
        {"init_data": init_data, "page": "1"},
        {"init_data": init_data, "page": True},
        {"init_data": 42},
        [init_data],
    ]
    for body in not_ours:
        answer = await web.post(BOARD, json=body)
        assert answer.status_code == 400, body
        assert "could not understand that request" in text_of(answer)
    for raw in (b"not json", b"\xff\xfe", b"[" * 10_000):
        assert (await web.post(BOARD, content=raw)).status_code == 400
    huge = await web.post(BOARD, content=json.dumps({"init_data": "x" * 20_000}))
    assert huge.status_code == 413
    streamed = await web.post(BOARD, content=chunks(b"x" * 4096, 10))  # no Content-Length
    assert streamed.status_code == 413
    no_period = await board(web, init_data, period="month:999999")
    assert no_period.status_code == 403 and "There is no campaign period to show yet." in text_of(no_period)
    assert (await web.get(BOARD)).status_code == 405


async def chunks(chunk: bytes, count: int) -> AsyncIterator[bytes]:
    for _ in range(count):
        yield chunk


# --- the page and the button ------------------------------------------------------------------------------------------


async def test_the_page_loads_telegrams_script_and_nothing_else_from_elsewhere(web: httpx.AsyncClient) -> None:
    page = await web.get("/app/ranking")

    assert page.status_code == 200
    assert '<script src="https://telegram.org/js/telegram-web-app.js"></script>' in page.text
    policy = page.headers["content-security-policy"]
    nonce = re.search(r"'nonce-([^']+)'", policy)
    assert nonce is not None and f'<script nonce="{nonce.group(1)}">' in page.text
    assert "script-src https://telegram.org/js/telegram-web-app.js 'nonce-" in policy and "connect-src 'self'" in policy
    assert "window.Telegram && window.Telegram.WebApp" in page.text and "app.initData" in page.text
    assert '"/app/ranking/board"' in page.text
    assert "Open this board from Telegram" in page.text  # what a browser outside Telegram shows
    assert nonce.group(1) not in (await web.get("/app/ranking")).text, "a new nonce for every page"


async def test_ranking_in_private_offers_the_board_app_only_on_an_https_address(
    settings: Settings, db: Database, clock: ManualClock
) -> None:
    public = settings.model_copy(update={"web": settings.web.model_copy(update={"public_url": HTTPS})})
    async with running_bot(public, db, clock, flood_limits=False) as bot:
        campaign = await Campaign(bot).build()
        leader = campaign.user(campaign.leader)
        await leader.send("/ranking")
        assert leader.buttons()[-1] == ["Open as a board"]
        assert leader.last_message().button_rows()[-1][0]["web_app"] == {"url": f"{HTTPS}/app/ranking"}
        await leader.press("Individuals")
        assert leader.buttons()[-1] == ["Open as a board"], "kept as the board changes"
        group = await campaign.group()
        await leader.send("/ranking", chat=group)
        assert ["Open as a board"] not in leader.buttons(chat=group), "Telegram refuses them in groups"
        assert not bot.errors.records

    async with running_bot(settings, db, clock, flood_limits=False) as bot:  # http://127.0.0.1:0: no button
        leader = bot.tg.private_user("Lee", user_id=campaign.leader.telegram_id or 0, language="en")
        await leader.send("/ranking")
        assert leader.buttons() and ["Open as a board"] not in leader.buttons()


async def test_the_bot_api_refuses_mini_app_buttons_on_http_or_in_groups(bot: Bot) -> None:
    alice = bot.tg.private_user("Alice")
    group = bot.tg.group("Group")
    await alice.send("/start")

    with pytest.raises(BadRequest, match=r"(?i)only https links are allowed"):
        await bot.app.bot.send_message(alice.id, "x", reply_markup=_app_markup("http://example.org/app"))
    with pytest.raises(BadRequest, match=r"(?i)button_type_invalid"):
        await bot.app.bot.send_message(group.id, "x", reply_markup=_app_markup(f"{HTTPS}/app/ranking"))
    await bot.app.bot.send_message(alice.id, "x", reply_markup=_app_markup(f"{HTTPS}/app/ranking"))
    assert alice.last_message().button_rows() == [[{"text": "Open", "web_app": {"url": f"{HTTPS}/app/ranking"}}]]


def _app_markup(url: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[app_button("Open", url)]])


async def test_a_leader_without_a_section_has_nothing_marked(bot: Bot, web: httpx.AsyncClient) -> None:
    campaign = await Campaign(bot).build()
    await make_member(bot.db, 641, "Lone Leader", role=Role.LEADER, language="en")

    answer = await board(web, signed_for(bot, 641))

    assert answer.status_code == 200 and len(web_lines(answer)) == 2 and campaign.office.name in answer.text
    assert not any(line[3] for line in web_lines(answer)) and 'class="own"' not in answer.text
