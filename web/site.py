"""What every page handler reaches through the request: the bot's services (settings, database, clock, kept
boards, keys), the guards, and the bot itself where a page needs it (its username for links, the webhook's queue)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from starlette.requests import Request

from bot.config import Settings
from bot.context import BotApplication, Services
from web.guards import Guards


@dataclass
class Site:
    services: Services
    application: BotApplication | None = None  # None: the pages alone (some tests)
    _guards: Guards | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def guards(self) -> Guards:
        """Made on first use: the key is read from the database when the bot starts (bot/app.py on_start)."""
        if self._guards is None:
            if not self.services.keys.web:
                raise RuntimeError("the web key is not loaded yet: the bot has not started")
            self._guards = Guards(self.services.keys.web, self.settings.web.reviews_per_address_per_hour)
        return self._guards

    def now(self) -> dt.datetime:
        return self.services.clock.now()

    def today(self) -> dt.date:
        return self.now().astimezone(self.settings.tz).date()

    @property
    def bot_token(self) -> str | None:
        """The token of the bot the pages belong to (a Mini App's data is signed with it): the running bot's, else
        the configured one."""
        if self.application is not None:
            return self.application.bot.token
        return self.settings.bot_token.get_secret_value() if self.settings.bot_token else None

    @property
    def bot_username(self) -> str:
        if self.application is None:
            return ""
        try:
            return self.application.bot.username
        except RuntimeError:  # not initialised: no Telegram link to offer
            return ""


def site_of(request: Request) -> Site:
    site: Site = request.app.state.site
    return site
