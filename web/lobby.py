"""/lobby: the sections' board on the screen of the service hall, for the public and the staff passing by.

It shows what members see on /ranking's sections' board and nothing more: the current period's ranking (or the one
?period= names), the movement since the last posted snapshot, the raters and the 好评率 of each ranked section as a
bar chart, the sections without enough ratings by name only, and the review QR codes of the sections (the pages of
web/reviews.py). Nothing about individuals, ever.

A screen is read from three metres: large type, high contrast, at most ROWS_PER_PAGE sections and CODES_PER_PAGE
codes at a time. A small script fetches the next page (/lobby/board, the same screen without the page around it)
every PAGE_SECONDS when there are several, every REFRESH_SECONDS when there is one, and swaps it in only when it
changed: nothing flickers. Without the script the page refreshes itself (<noscript> meta refresh).

Fast at any size: the board is the kept one (storage/boards.py), read in one transaction with the movements and the
review tokens; the SVG of each QR code is made once per link. `[web] lobby = false` turns the page off (404);
`[web] lobby_key` makes it /lobby?key=… only (403 without), and the key is carried into the refreshes.
"""

from __future__ import annotations

import functools
import hmac
import math
from dataclasses import dataclass
from urllib.parse import urlencode

import segno
from markupsafe import Markup
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot import export
from bot.i18n import Html, Translator, translator
from handlers.ranking import apart_line, board_kind, board_of, movement, period_label
from handlers.reviews import web_review_link
from storage import campaigns, reviews, snapshots
from storage.models import Period, TargetKind
from storage.reviews import SectionLink
from storage.scoring import Board, Standing, shown
from web.guards import language_code, other_language_code, reader_language
from web.pages import render
from web.reviews import message
from web.site import Site, site_of

ROWS_PER_PAGE = 12
CODES_PER_PAGE = 9
PAGE_SECONDS = 20  # how long a page stays when the board has several
REFRESH_SECONDS = 60  # how often a board of one page is read again
PERIOD_LIMIT = 40
CODES_KEPT = 4_096  # QR codes' SVGs kept, one per section's link


@dataclass(frozen=True)
class Line:
    """A ranked section's line: its bar is `score` percent long."""

    rank: int
    name: str
    score: float
    movement: str  # ▲2, ▼1, "new" or nothing
    direction: str  # "up", "down", "new" or "" (its colour)
    raters: int
    good_rate: str  # "96%", or "" without reviews


@dataclass(frozen=True)
class Code:
    name: str
    svg: Markup


@dataclass(frozen=True)
class Screen:
    """One page of the board, as shown."""

    heading: str
    lines: list[Line]
    empty: str  # said when nobody is ranked (or there is no period to show)
    apart: str  # the sections without enough ratings, by name
    codes: list[Code]
    page: int
    pages: int
    updated: str  # HH:MM, the campaign's time


# --- the routes -----------------------------------------------------------------------------------------------------


async def lobby_page(request: Request) -> Response:
    """The whole screen, with the script that keeps it fresh."""
    return await show(request, "lobby.html")


async def lobby_board(request: Request) -> Response:
    """The screen without the page around it: what the script swaps in."""
    return await show(request, "lobby_board.html")


async def show(request: Request, template: str) -> Response:
    site = site_of(request)
    language = reader_language(request, site.settings.bot.default_language)
    refused = refusal(request, site, language)
    if refused is not None:
        return refused
    wanted = request.query_params.get("period", "")[:PERIOD_LIMIT].strip()
    tr = translator(language)
    try:
        screen = await read_screen(site, tr, wanted, page_asked(request))
    except export.NoSuchPeriod as error:
        return message(request, site, language, tr.gettext("No such period"), no_such_period(tr, error), 404)
    carried = carried_query(request, language, wanted)
    return render(
        request,
        template,
        language,
        campaign=site.settings.campaign.title(language),
        screen=screen,
        source="/lobby/board?" + urlencode(carried),
        next_page="/lobby?" + urlencode({**carried, "page": (screen.page + 1) % screen.pages}),
        switch="/lobby?" + urlencode({**carried, "lang": other_language_code(language)}),
        seconds=PAGE_SECONDS if screen.pages > 1 else REFRESH_SECONDS,
    )


def refusal(request: Request, site: Site, language: str) -> Response | None:
    """Off: no such page. With a key: only for whoever has it (compared in constant time)."""
    web = site.settings.web
    if not web.lobby:
        raise HTTPException(404)
    given = request.query_params.get("key", "")
    if web.lobby_key and not hmac.compare_digest(given.encode(), web.lobby_key.encode()):
        tr = translator(language)
        text = tr.gettext("This board is shown only with its key. Open the address the administrators gave you.")
        return message(request, site, language, tr.gettext("A key is needed"), text, 403)
    return None


def page_asked(request: Request) -> int:
    text = request.query_params.get("page", "")
    return int(text) if text.isdigit() and len(text) < 6 else 0


def carried_query(request: Request, language: str, wanted: str) -> dict[str, str]:
    """What every refresh asks again: the period asked for, the key, the language shown."""
    carried = {"period": wanted, "key": request.query_params.get("key", ""), "lang": language_code(language)}
    return {name: value for name, value in carried.items() if value}


def no_such_period(tr: Translator, error: export.NoSuchPeriod) -> Html:
    return tr.gettext(
        "There is no period “{wanted}”. /lobby alone shows the current board; /lobby?period= shows a month "
        "({months}), a quarter ({quarters}) or a campaign's year ({years}).",
        wanted=error.wanted,
        months=error.months,
        quarters=error.quarters,
        years=error.years,
    )


# --- reading ------------------------------------------------------------------------------------------------------


async def read_screen(site: Site, tr: Translator, wanted: str, page: int) -> Screen:
    """The page of the board, in one transaction: the kept board, the last snapshot's ranks and the review links of
    the page's codes (made here, once, for the sections that have none yet)."""
    async with site.services.db.transaction() as session:
        period = await chosen_period(session, site, wanted)
        if period is None:
            return nothing_to_show(site, tr)
        board = await board_of(session, site, period, TargetKind.SECTION)
        before = await snapshots.previous_ranks(session=session, period_id=period.id or 0, kind=TargetKind.SECTION)
        sections, linked = await reviews.count_section_links(session=session)
        if linked < sections:
            await reviews.create_missing_review_tokens(session=session)
        pages = max(pages_of(len(board.ranked), ROWS_PER_PAGE), pages_of(sections, CODES_PER_PAGE))
        page %= pages
        first, last = page_slice(sections, page, CODES_PER_PAGE)
        links = await reviews.list_section_links(session=session, offset=first, limit=last - first)
    return screen_of(site, tr, board, before, links, page, pages)


async def chosen_period(session: AsyncSession, site: Site, wanted: str) -> Period | None:
    """The period ?period= names (raises NoSuchPeriod), else the current one of the posted snapshots' kind."""
    if wanted:
        return await export.named_period(session, wanted)
    return await campaigns.period_at(session=session, kind=board_kind(site.settings), today=site.today())


# --- showing ------------------------------------------------------------------------------------------------------


def screen_of(
    site: Site,
    tr: Translator,
    board: Board,
    before: dict[int, int] | None,
    links: list[SectionLink],
    page: int,
    pages: int,
) -> Screen:
    first, last = page_slice(len(board.ranked), page, ROWS_PER_PAGE)
    return Screen(
        heading=tr.gettext("Sections' ranking · {period}", period=period_label(tr, board.period)),
        lines=[line(tr, standing, before) for standing in board.ranked[first:last]],
        empty="" if board.ranked else tr.gettext("Nobody has enough ratings yet in this period."),
        apart=apart_line(tr, board),
        codes=[code(site, link) for link in links if link.token],
        page=page,
        pages=pages,
        updated=f"{site.now().astimezone(site.settings.tz):%H:%M}",
    )


def nothing_to_show(site: Site, tr: Translator) -> Screen:
    updated = f"{site.now().astimezone(site.settings.tz):%H:%M}"
    text = tr.gettext("There is no campaign period to show yet.")
    return Screen(tr.gettext("Sections' ranking"), [], text, "", [], 0, 1, updated)


def pages_of(count: int, most: int) -> int:
    return max(1, math.ceil(count / most))


def page_slice(count: int, page: int, most: int) -> tuple[int, int]:
    """Where the screen's page `page` begins and ends in a list of `count` things shown at most `most` at a time,
    as many on each of its pages as can be (13 sections: 7 and 6, not 12 and 1). A list with fewer pages than the
    screen's turns over again meanwhile."""
    pages = pages_of(count, most)
    per_page = math.ceil(count / pages)
    own = page % pages
    return own * per_page, min(count, (own + 1) * per_page)


def line(tr: Translator, standing: Standing, before: dict[int, int] | None) -> Line:
    moved = movement(tr, standing.target_id, standing.rank, before).strip()
    return Line(
        rank=standing.rank or 0,
        name=standing.name,
        score=shown(standing.score) or 0.0,
        movement=moved,
        direction=direction(moved),
        raters=standing.raters,
        good_rate=f"{round(100 * standing.good_rate)}%" if standing.good_rate is not None else "",
    )


def direction(moved: str) -> str:
    if not moved:
        return ""
    return {"▲": "up", "▼": "down"}.get(moved[0], "new")


def code(site: Site, link: SectionLink) -> Code:
    return Code(link.name, code_svg(web_review_link(site.settings, link.token or "")))


@functools.lru_cache(maxsize=CODES_KEPT)
def code_svg(link: str) -> Markup:
    """The QR code of a link as inline SVG (black on white, whatever the page's colours; sized by the page)."""
    svg = segno.make(link, error="m").svg_inline(omitsize=True, border=2, dark="#000", light="#fff")
    return Markup(svg)


ROUTES = [
    Route("/lobby", lobby_page, methods=["GET", "HEAD"]),
    Route("/lobby/board", lobby_board, methods=["GET", "HEAD"]),
]
