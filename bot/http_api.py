"""The in-process Bot API served over HTTP on 127.0.0.1, so that real `python -m bot run` processes (started with
TELEGRAM_BASE_URL=http://127.0.0.1:PORT/bot) can be driven, killed and restarted by tests, with the same fault
injection. Requests arrive as python-telegram-bot sends them to Telegram: form fields (JSON-encoded where they are
structures) or multipart uploads, at /bot<token>/<method>.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from tornado.httpserver import HTTPServer
from tornado.httputil import HTTPServerRequest
from tornado.netutil import bind_sockets
from tornado.web import Application, RequestHandler

from bot.fake_api import FakeBotApi, UploadedFile

JSON_FIELDS = {
    "reply_markup", "entities", "caption_entities", "commands", "scope", "allowed_updates", "media",
    "link_preview_options", "reply_parameters",
}  # fmt: skip


def read_fields(request: HTTPServerRequest) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
    fields: dict[str, Any] = {}
    if request.headers.get("Content-Type", "").startswith("application/json") and request.body:
        fields.update(json.loads(request.body))
    for name, values in request.body_arguments.items():
        value = values[-1].decode()
        fields[name] = json.loads(value) if name in JSON_FIELDS else value
    files = {name: UploadedFile(parts[0].filename, parts[0].body) for name, parts in request.files.items()}
    return fields, files


class _Endpoint(RequestHandler):
    def initialize(self, api: FakeBotApi) -> None:
        self.api = api

    async def post(self, method: str) -> None:
        fields, files = read_fields(self.request)
        status, body = await self.api.handle(method, fields, files)
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(body)

    get = post


class HttpBotApi:
    """`async with HttpBotApi(api) as server:` serves `api` at `server.base_url` until the block ends."""

    def __init__(self, api: FakeBotApi) -> None:
        self.api = api
        self.port = 0
        self._server: HTTPServer | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    async def __aenter__(self) -> HttpBotApi:
        app = Application([(r"/bot[^/]+/(\w+)", _Endpoint, {"api": self.api})])
        sockets = bind_sockets(0, "127.0.0.1")
        self.port = sockets[0].getsockname()[1]
        self._server = HTTPServer(app)
        self._server.add_sockets(sockets)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.stop()
            await asyncio.wait_for(self._server.close_all_connections(), timeout=5)
