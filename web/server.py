"""The web server inside the bot's process and event loop (uvicorn), beside polling, the webhook or the console."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator, Iterator

import uvicorn
from starlette.applications import Starlette

from bot.config import Settings, WebSettings

logger = logging.getLogger(__name__)
STARTING_TIMEOUT = 10.0


def with_port_chosen(settings: Settings) -> Settings:
    """[web] port = 0 (any free port) is chosen before the bot is built, so that the links it gives name the port
    the pages are served on. (Another process could take it in between: the server then says so.)"""
    if settings.web.port != 0 or not settings.web.enabled:
        return settings
    with socket.socket(socket.AF_INET6 if ":" in settings.web.listen else socket.AF_INET) as probe:
        probe.bind((settings.web.listen, 0))
        port = int(probe.getsockname()[1])
    return settings.model_copy(update={"web": settings.web.model_copy(update={"port": port})})


class WebServerError(OSError):
    """The server could not start (the port is taken, the address is not this machine's)."""


class EmbeddedServer(uvicorn.Server):
    """uvicorn without signal handlers of its own: the bot (or the console) decides when it stops."""

    failed = False

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """uvicorn exits the process when it cannot listen; here that is the bot's to decide (it stops serving)."""
        try:
            await super().startup(sockets)
        except SystemExit:
            self.failed = self.should_exit = True

    @property
    def port(self) -> int:
        """The port it listens on (the one asked for, or the one the system chose for port 0)."""
        for server in self.servers:
            for sock in server.sockets:
                return int(sock.getsockname()[1])
        return self.config.port


@contextlib.asynccontextmanager
async def web_server(app: Starlette, web: WebSettings) -> AsyncIterator[EmbeddedServer]:
    """Serves `app` on [web] listen:port while the block runs. Behind a trusted reverse proxy ([web] trusted_proxies),
    the client's address is taken from X-Forwarded-For (the limits per address need it)."""
    config = uvicorn.Config(
        app,
        host=web.listen,
        port=web.port,
        lifespan="off",
        log_level="warning",
        access_log=False,
        proxy_headers=True,
        forwarded_allow_ips=web.trusted_proxies,
        server_header=False,
        timeout_graceful_shutdown=5,
    )
    server = EmbeddedServer(config)
    serving = asyncio.create_task(server.serve())
    try:
        await _started(server, serving, web)
        yield server
    finally:
        server.should_exit = True
        with contextlib.suppress(SystemExit, asyncio.CancelledError):
            await serving


async def _started(server: EmbeddedServer, serving: asyncio.Task[None], web: WebSettings) -> None:
    waited = 0.0
    while not server.started:
        if server.failed or serving.done() or waited > STARTING_TIMEOUT:
            server.should_exit = True
            raise WebServerError(f"the web server could not listen on {web.listen}:{web.port}")
        await asyncio.sleep(0.02)
        waited += 0.02
