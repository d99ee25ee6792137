"""/app/ranking: /ranking as a Telegram Mini App, opened by the button under /ranking's board in a private chat.

The page (GET) is a shell: Telegram's script, which hands it the signed `initData`, and a small script of ours that
posts that to /app/ranking/board with the board wanted (target, period, page) and shows the HTML it gets back. The
server believes nobody: it checks initData's signature and age (web/telegram_login.py), finds the member by their
Telegram id, and shows them what /ranking would show them in a private chat, refused the same way and read the same
way (handlers.ranking.read_ranking: the boards the process keeps, one transaction), in their language, with their
own section (or, on the individuals' board, their own line) marked and the page holding it opened first.

Telegram's colours come in CSS variables (--tg-theme-bg-color, ...) that Telegram's script sets; the page falls back
to its own outside Telegram. Telegram's script is the one thing loaded from elsewhere (Content-Security-Policy).
"""

from __future__ import annotations

import json
import math
import re
import secrets
from dataclasses import dataclass

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from telegram import User
from telegram.constants import ChatType

from bot.access import audience_of
from bot.config import RANKING_APP_PATH
from bot.i18n import N_, Html, Translator, pick_language, translator
from handlers.common import Refusal, Viewer, require
from handlers.ranking import (
    PERIOD_KIND_NAMES,
    RANKING,
    Leaderboard,
    RankView,
    apart_line,
    board_kind,
    board_title,
    movement,
    period_label,
    read_ranking,
    review_figures,
    score_summary,
    target_choices,
)
from storage import members
from storage.models import Member, Period, PeriodKind, TargetKind
from storage.scoring import Board, Standing, shown
from storage.session import DatabaseUnavailable
from web.guards import reader_language
from web.pages import render
from web.site import Site, site_of
from web.telegram_login import MiniAppUser, NotFromTelegram, verify_init_data

BOARD_PATH = RANKING_APP_PATH + "/board"
PAGE_ROWS = 100  # a screen scrolls well through a hundred; the individuals' board of 10,000 is paged
BODY_LIMIT = 16_384  # bytes: initData is under 1,000
PERIOD = re.compile(r"(month|quarter|campaign)(?::([1-9][0-9]{0,9}))?")
TELEGRAM_SCRIPT = "https://telegram.org/js/telegram-web-app.js"
N_OPEN_FROM_TELEGRAM = N_("Open this board from Telegram: send /ranking to the bot and press “Open as a board”.")
N_TOO_OLD = N_("This board was opened more than a day ago. Close it and open it again from /ranking.")
N_BAD_REQUEST = N_("The board could not understand that request. Close it and open it again from /ranking.")
N_UNAVAILABLE = N_("The board cannot be read just now. Please try again in a few minutes.")


@dataclass(frozen=True)
class Asked:
    """What the page posted: the signed initData and the board wanted (page None: the page holding the viewer)."""

    init_data: str
    target: TargetKind
    period_kind: PeriodKind | None  # None: the period /ranking opens with
    period_id: int
    page: int | None


@dataclass(frozen=True)
class Line:
    """One line of the board, as /ranking's `standing_line` says it."""

    rank: int | None
    name: str
    section: str
    score: float | None
    move: str
    trend: str  # up, down, new or "": for the colour
    raters: Markup
    figures: Markup
    mine: bool


# --- the shell ------------------------------------------------------------------------------------------------------


async def app_page(request: Request) -> Response:
    """The shell Telegram opens; the board comes with the first post of its script."""
    site = site_of(request)
    language = reader_language(request, site.settings.bot.default_language)
    nonce = secrets.token_urlsafe(16)
    response = render(
        request,
        "miniapp.html",
        language,
        campaign=site.settings.campaign.title(language),
        board_path=BOARD_PATH,
        telegram_script=TELEGRAM_SCRIPT,
        nonce=nonce,
        outside=N_OPEN_FROM_TELEGRAM,
    )
    response.headers["Content-Security-Policy"] = (
        f"default-src 'none'; script-src {TELEGRAM_SCRIPT} 'nonce-{nonce}'; style-src 'unsafe-inline'; "
        "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'"
    )
    return response


# --- the board --------------------------------------------------------------------------------------------------------


async def board_part(request: Request) -> Response:
    """The board for the Telegram user whose signed initData came with the request, or why not."""
    site = site_of(request)
    language = reader_language(request, site.settings.bot.default_language)
    body = await read_body(request)
    asked = read_asked(body) if body is not None else None
    if asked is None:
        status = 400 if body is not None else 413
        return refusal(request, language, translator(language).gettext(N_BAD_REQUEST), status)
    token = site.bot_token
    if token is None:
        return refusal(request, language, translator(language).gettext(N_OPEN_FROM_TELEGRAM), 401)
    try:
        user = verify_init_data(asked.init_data, token, site.now())
    except NotFromTelegram as problem:
        text = N_TOO_OLD if problem.expired else N_OPEN_FROM_TELEGRAM
        return refusal(request, language, translator(language).gettext(text), 401)
    try:
        return await board_for(request, site, user, asked)
    except DatabaseUnavailable:
        return refusal(request, language, translator(language).gettext(N_UNAVAILABLE), 503)


async def board_for(request: Request, site: Site, user: MiniAppUser, asked: Asked) -> Response:
    """/ranking's board for this user, in one transaction; rendered after it."""
    settings = site.settings
    async with site.services.db.transaction() as session:
        member = await members.get_member_by_telegram_id(session=session, telegram_id=user.telegram_id)
        language = pick_language(
            chosen=member.language if member else None,
            telegram=user.language_code,
            default=settings.bot.default_language,
        )
        tr = translator(language)
        viewer = Viewer(
            User(user.telegram_id, user.first_name, False, user.last_name, user.username, user.language_code),
            member,
            audience_of(member, user.telegram_id, settings.bot.admins),
        )
        kind = asked.period_kind or board_kind(settings)
        view = RankView(asked.target, kind, asked.period_id, 0)
        try:
            require(viewer, RANKING, ChatType.PRIVATE)
            leaderboard = await read_ranking(session, site, viewer, view, ChatType.PRIVATE)
        except Refusal as refused:
            return refusal(request, language, refused.render(tr), 403)
    return show_board(request, site, tr, leaderboard, asked, member)


def read_asked(body: bytes) -> Asked | None:
    """The posted JSON, checked field by field; None when it is not what our page sends."""
    try:
        posted = json.loads(body)
    except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested past Python's stack
        return None
    if not isinstance(posted, dict):
        return None
    init_data, target, period, page = (posted.get(key) for key in ("init_data", "target", "period", "page"))
    if not isinstance(init_data, str) or target not in (None, *TargetKind):
        return None
    found = PERIOD.fullmatch(period) if isinstance(period, str) else None
    if period is not None and found is None:
        return None
    if page is not None and (not isinstance(page, int) or isinstance(page, bool) or not 0 <= page < 1_000_000):
        return None
    return Asked(
        init_data=init_data,
        target=TargetKind(target or TargetKind.SECTION),
        period_kind=PeriodKind(found.group(1)) if found else None,
        period_id=int(found.group(2) or 0) if found else 0,
        page=page,
    )


async def read_body(request: Request) -> bytes | None:
    """The body, or None past BODY_LIMIT (read no further than that, whatever Content-Length says)."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > BODY_LIMIT:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > BODY_LIMIT:
            return None
    return bytes(body)


# --- showing ----------------------------------------------------------------------------------------------------------


def show_board(
    request: Request, site: Site, tr: Translator, leaderboard: Leaderboard, asked: Asked, member: Member | None
) -> Response:
    board, period = leaderboard.board, leaderboard.period
    mine = own_target(board, member)
    pages = max(1, math.ceil(len(board.ranked) / PAGE_ROWS))
    page = asked.page if asked.page is not None else (board.position(mine) or 0) // PAGE_ROWS if mine else 0
    page = min(max(page, 0), pages - 1)
    standings = board.ranked[page * PAGE_ROWS : (page + 1) * PAGE_ROWS]
    own = board.find(mine) if mine else None
    period_value = f"{period.kind}:{period.id}"
    return render(
        request,
        "miniapp_board.html",
        tr.language,
        title=board_title(tr, board),
        target=board.kind,
        period=period_value,
        targets=[(kind, label, kind == board.kind) for kind, label in target_choices(tr) if leaderboard.individuals],
        kinds=[(kind, tr.gettext(name), kind == period.kind) for kind, name in PERIOD_KIND_NAMES.items()],
        earlier=_period_choice(tr, leaderboard.earlier),
        later=_period_choice(tr, leaderboard.later),
        own_heading=_own_heading(tr, board, own),
        own_summary=score_summary(tr, own, board, site.settings.scoring.min_raters) if own else "",
        lines=[line(tr, standing, leaderboard.previous, mine) for standing in standings],
        nobody=not board.ranked,
        apart=apart_line(tr, board) if page == pages - 1 else "",
        page=page,
        pages=pages,
        previous_label=tr.gettext("‹ Previous"),
        next_label=tr.gettext("Next ›"),
    )


def own_target(board: Board, member: Member | None) -> int | None:
    """The viewer's own section on the sections' board, themselves on the individuals'."""
    if member is None:
        return None
    return member.section_id if board.kind == TargetKind.SECTION else member.id


def line(tr: Translator, standing: Standing, previous: dict[int, int] | None, mine: int | None) -> Line:
    move = movement(tr, standing.target_id, standing.rank, previous).strip()
    trend = "up" if move.startswith("▲") else "down" if move.startswith("▼") else "new" if move else ""
    return Line(
        rank=standing.rank,
        name=standing.name,
        section=standing.section_name if standing.kind == TargetKind.MEMBER else "",
        score=shown(standing.score),
        move=move,
        trend=trend,
        raters=Markup(tr.ngettext("{n} rater", "{n} raters", standing.raters)),
        figures=Markup(review_figures(tr, standing)),
        mine=standing.target_id == mine,
    )


def _period_choice(tr: Translator, period: Period | None) -> tuple[str, str] | None:
    """A neighbouring period's button: its label and what the page posts for it."""
    return (period_label(tr, period), f"{period.kind}:{period.id}") if period is not None else None


def _own_heading(tr: Translator, board: Board, own: Standing | None) -> Html | str:
    if own is None:
        return ""
    if board.kind == TargetKind.SECTION:
        return tr.gettext("Your section, {section}", section=own.name)
    return tr.gettext("You")


def refusal(request: Request, language: str, text: str, status: int) -> Response:
    """Why there is no board, in place of it."""
    return render(request, "miniapp_refusal.html", language, status=status, message=Html(text))


ROUTES = [
    Route(RANKING_APP_PATH, app_page, methods=["GET", "HEAD"]),
    Route(BOARD_PATH, board_part, methods=["POST"]),
]
