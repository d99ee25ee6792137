"""Who opened a Mini App: Telegram's signed `initData`, checked as Telegram's documentation says
(core.telegram.org/bots/webapps, "Validating data received via the Mini App").

Telegram hands the page a query string (`Telegram.WebApp.initData`): the user as JSON, `auth_date`, `query_id` and
the like, and `hash`, the hex HMAC-SHA256 of the other fields under a key that only Telegram and the bot know:

    secret_key = HMAC_SHA256(key=b"WebAppData", message=bot_token)
    data_check_string = "\\n".join(f"{key}={value}" for every field but hash, sorted by key, values URL-decoded)
    valid when hex(HMAC_SHA256(key=secret_key, message=data_check_string)) == hash

A page of ours sends it back with every request; the server believes the user id in it only when the hash is right
(compared in constant time) and `auth_date` is recent: a string caught once (a shared screenshot, a proxy's log)
opens nothing after MAX_AGE. A field given twice is refused (which of the two was signed would be a guess).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl

MAX_AGE = dt.timedelta(hours=24)
CLOCK_SKEW = dt.timedelta(minutes=5)  # an auth_date this far ahead of our clock is still believed
INIT_DATA_LIMIT = 8_192  # characters; Telegram's are under 1,000
MAX_FIELDS = 32
HASH = re.compile(r"[0-9a-f]{64}")


class NotFromTelegram(Exception):
    """The data was not signed for this bot, or too long ago."""

    def __init__(self, reason: str, *, expired: bool = False) -> None:
        super().__init__(reason)
        self.expired = expired


@dataclass(frozen=True)
class MiniAppUser:
    """The Telegram user behind a checked initData."""

    telegram_id: int
    first_name: str
    last_name: str | None
    username: str | None
    language_code: str | None
    signed_at: dt.datetime


def verify_init_data(init_data: str, bot_token: str, now: dt.datetime, max_age: dt.timedelta = MAX_AGE) -> MiniAppUser:
    """The user of a Mini App's initData, if Telegram signed it for the bot of `bot_token` within `max_age` of
    `now`; else NotFromTelegram."""
    fields = _fields(init_data)
    received = fields.pop("hash", "")
    if not HASH.fullmatch(received):
        raise NotFromTelegram("no hash")
    if not hmac.compare_digest(init_data_hash(fields, bot_token), received):
        raise NotFromTelegram("wrong hash")
    signed_at = _signed_at(fields.get("auth_date", ""))
    if signed_at < now - max_age:
        raise NotFromTelegram("signed too long ago", expired=True)
    if signed_at > now + CLOCK_SKEW:
        raise NotFromTelegram("signed in the future")
    return _user(fields.get("user", ""), signed_at)


def init_data_hash(fields: dict[str, str], bot_token: str) -> str:
    """The hash Telegram puts beside these fields (all of them but `hash` itself)."""
    check = "\n".join(f"{key}={value}" for key, value in sorted(fields.items()) if key != "hash")
    return hmac.new(_secret_key(bot_token), check.encode(), hashlib.sha256).hexdigest()


@functools.lru_cache(maxsize=4)
def _secret_key(bot_token: str) -> bytes:
    return hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()


def _fields(init_data: str) -> dict[str, str]:
    if not init_data or len(init_data) > INIT_DATA_LIMIT:
        raise NotFromTelegram("no initData, or far too long")
    try:
        pairs = parse_qsl(init_data, keep_blank_values=True, strict_parsing=True, max_num_fields=MAX_FIELDS)
    except ValueError:
        raise NotFromTelegram("not a query string") from None
    fields = dict(pairs)
    if len(fields) != len(pairs):
        raise NotFromTelegram("a field given twice")
    return fields


def _signed_at(auth_date: str) -> dt.datetime:
    if not auth_date.isascii() or not auth_date.isdigit() or len(auth_date) > 12:
        raise NotFromTelegram("no auth_date")
    return dt.datetime.fromtimestamp(int(auth_date), dt.UTC)


def _user(data: str, signed_at: dt.datetime) -> MiniAppUser:
    """The `user` field's JSON (signed, so as Telegram wrote it; read with care all the same)."""
    try:
        user = json.loads(data)
    except ValueError:
        raise NotFromTelegram("no user") from None
    if not isinstance(user, dict):
        raise NotFromTelegram("no user")
    telegram_id = user.get("id")
    if not isinstance(telegram_id, int) or isinstance(telegram_id, bool) or telegram_id <= 0:
        raise NotFromTelegram("no user id")
    return MiniAppUser(
        telegram_id=telegram_id,
        first_name=_text(user.get("first_name")) or str(telegram_id),
        last_name=_text(user.get("last_name")),
        username=_text(user.get("username")),
        language_code=_text(user.get("language_code")),
        signed_at=signed_at,
    )


def _text(value: object) -> str | None:
    return value[:256] if isinstance(value, str) and value else None
