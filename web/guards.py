"""What keeps the web pages honest: who a browser is (a signed cookie), that a form was made by us for that browser
(CSRF), how often one address may post, the reader's language, and the private links of reviews.

A reviewer on the web has no Telegram account. The browser gets a random negative number, signed in a cookie, and
the number is the review's reviewer (`PublicReview.reviewer_telegram_id`; Telegram's ids are positive): the same
rules then hold as in Telegram, one review of a section per day and one per rating period. Clearing the cookie
makes a new reviewer, which is what the limit per address is for.
"""

from __future__ import annotations

import base64
import secrets
import time
from collections import deque

from starlette.requests import Request
from starlette.responses import Response

from bot.i18n import CHINESE, ENGLISH, known_language
from bot.recent import Recent
from bot.signing import MAC_BYTES, Signer

REVIEWER_COOKIE = "sy_reviewer"
LANGUAGE_COOKIE = "sy_lang"
COOKIE_YEARS = 2
REVIEWER_ID_BITS = 62  # negative 63-bit numbers, never a Telegram user's
ADDRESSES_KEPT = 50_000
HOUR = 3600.0
LANGUAGE_CHOICES = {"zh": CHINESE, "zh_cn": CHINESE, "zh-cn": CHINESE, "en": ENGLISH}


class Guards:
    """The signers of the web pages (made from the web key in the database when the bot starts) and the limit per
    address of this process."""

    def __init__(self, key: bytes, posts_per_hour: int) -> None:
        self._reviewer = Signer(key, purpose=b"web-reviewer")
        self._form = Signer(key, purpose=b"web-form")
        self._review_link = Signer(key, purpose=b"web-review-link")
        self.posts_per_hour = posts_per_hour
        self._posts: Recent[str, deque[float]] = Recent(ADDRESSES_KEPT)

    # --- the reviewer's cookie -------------------------------------------------------------------------------------

    def reviewer_of(self, request: Request) -> int | None:
        """The browser's reviewer number, if it carries a cookie we signed."""
        payload = self._reviewer.verify(0, _decoded(request.cookies.get(REVIEWER_COOKIE, "")))
        if payload is None or len(payload) != 8:
            return None
        number = int.from_bytes(payload, "big", signed=True)
        return number if number < 0 else None

    @staticmethod
    def new_reviewer() -> int:
        return -(secrets.randbits(REVIEWER_ID_BITS) + 1)

    def keep_reviewer(self, response: Response, reviewer: int, *, secure: bool) -> None:
        signed = self._reviewer.sign(0, reviewer.to_bytes(8, "big", signed=True))
        response.set_cookie(
            REVIEWER_COOKIE,
            _encoded(signed),
            max_age=COOKIE_YEARS * 365 * 24 * 3600,
            httponly=True,
            samesite="lax",
            secure=secure,
        )

    # --- forms -------------------------------------------------------------------------------------------------------

    def form_token(self, reviewer: int) -> str:
        """The hidden field of a form shown to this browser: another site cannot know it, so cannot post for it."""
        return _encoded(self._form.sign(reviewer, b"form"))

    def form_is_ours(self, reviewer: int | None, token: str) -> bool:
        return reviewer is not None and self._form.verify(reviewer, _decoded(token)) == b"form"

    # --- the review's private link -----------------------------------------------------------------------------------

    def review_link(self, review_id: int) -> str:
        """The unguessable part of a review's own page: whoever has it (the reviewer) sees what became of it."""
        return _encoded(self._review_link.sign(0, review_id.to_bytes(8, "big")))

    def review_of_link(self, link: str) -> int | None:
        payload = self._review_link.verify(0, _decoded(link))
        return int.from_bytes(payload, "big") if payload is not None and len(payload) == 8 else None

    # --- how often one address posts -------------------------------------------------------------------------------

    def may_post(self, address: str, now: float | None = None) -> bool:
        """Counts a post from `address`; False once it made `posts_per_hour` in the last hour (in this process)."""
        now = time.monotonic() if now is None else now
        posts = self._posts.get(address)
        if posts is None:
            posts = deque()
            self._posts.put(address, posts)
        while posts and posts[0] <= now - HOUR:
            posts.popleft()
        if len(posts) >= self.posts_per_hour:
            return False
        posts.append(now)
        return True


def client_address(request: Request) -> str:
    """The address the request came from (uvicorn takes it from the reverse proxy's X-Forwarded-For)."""
    return request.client.host if request.client is not None else "unknown"


def reader_language(request: Request, default: str) -> str:
    """?lang=zh|en (the page's switch), else the cookie it left, else the browser's languages, else the default."""
    chosen = LANGUAGE_CHOICES.get(request.query_params.get("lang", "").lower()) or known_language(
        request.cookies.get(LANGUAGE_COOKIE)
    )
    if chosen:
        return chosen
    for part in request.headers.get("accept-language", "").split(","):
        language = known_language(part.split(";")[0].strip())
        if language:
            return language
    return default


def language_code(language: str) -> str:
    """What ?lang= says for a language of the bot's ("zh" or "en")."""
    return "zh" if language == CHINESE else "en"


def other_language_code(language: str) -> str:
    """What the page's language switch asks for."""
    return "en" if language == CHINESE else "zh"


def keep_language(request: Request, response: Response, language: str) -> None:
    """The switch's choice is kept for the next pages."""
    if request.query_params.get("lang"):
        response.set_cookie(LANGUAGE_COOKIE, language, max_age=COOKIE_YEARS * 365 * 24 * 3600, samesite="lax")


def _encoded(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _decoded(text: str) -> bytes:
    if not text or len(text) > 4 * (MAC_BYTES + 64):
        return b""
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError):
        return b""
