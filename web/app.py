"""The web application: every page's routes, and what an unknown address gets."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from bot.context import BotApplication, Services
from bot.i18n import translator
from web import lobby, miniapp, reviews, telegram
from web.guards import reader_language
from web.site import Site, site_of


def build_web_app(
    services: Services, application: BotApplication | None = None, *, webhook_path: str = ""
) -> Starlette:
    """The pages of `services`' campaign; with `webhook_path`, Telegram's updates are taken there for `application`."""
    routes: list[BaseRoute] = [
        Route("/healthz", healthz, methods=["GET", "HEAD"]),
        *reviews.ROUTES,
        *lobby.ROUTES,
        *miniapp.ROUTES,
    ]
    if webhook_path:
        routes.append(telegram.webhook_route(webhook_path))
    app = Starlette(routes=routes, exception_handlers={HTTPException: page_not_found})
    app.state.site = Site(services, application)
    return app


async def healthz(_request: Request) -> Response:
    return PlainTextResponse("ok")


async def page_not_found(request: Request, error: Exception) -> Response:
    """404 (and 405) in the reader's language, as the review pages' own."""
    site = site_of(request)
    language = reader_language(request, site.settings.bot.default_language)
    status = error.status_code if isinstance(error, HTTPException) else 500
    tr = translator(language)
    if status == 404:
        return reviews.message(
            request, site, language, tr.gettext("Page not found"), tr.gettext("There is no page at this address."), 404
        )
    return reviews.message(
        request, site, language, tr.gettext("Not possible"), tr.gettext("This page cannot do that."), status
    )
