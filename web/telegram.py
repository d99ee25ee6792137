"""Telegram's updates in webhook mode, on the web server's port (the custom-webhook pattern of
python-telegram-bot's documentation): checked against the secret given to Telegram, then queued for the bot."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from telegram import Update

from web.site import site_of

logger = logging.getLogger(__name__)
UPDATE_LIMIT = 1_048_576  # bytes; Telegram's updates are far smaller
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def webhook_secret(token: str) -> str:
    """The same on every instance behind one address, and not the token itself."""
    return hashlib.sha256(f"shuangyou-webhook:{token}".encode()).hexdigest()[:64]


def webhook_route(path: str) -> Route:
    return Route("/" + path.strip("/"), take_update, methods=["POST"])


async def take_update(request: Request) -> Response:
    """An update from Telegram: 200 once it is queued (Telegram then sends the next), 403 for anyone else."""
    site = site_of(request)
    application = site.application
    token = site.settings.bot_token
    if application is None or token is None:
        return Response(status_code=404)
    expected = webhook_secret(token.get_secret_value())
    if not hmac.compare_digest(request.headers.get(SECRET_HEADER, ""), expected):
        return Response(status_code=403)
    body = await request.body()
    if len(body) > UPDATE_LIMIT:
        return Response(status_code=413)
    try:
        update = Update.de_json(json.loads(body), application.bot)
    except (ValueError, TypeError, KeyError) as error:
        logger.warning("Telegram posted something that is not an update: %s", error)
        return Response(status_code=400)
    await application.update_queue.put(update)
    return Response(status_code=200)
