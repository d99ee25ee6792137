"""The context every callback receives: settings, database, clock and the user's language."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from telegram import Update
from telegram.ext import Application, CallbackContext, ExtBot

from bot.access import CommandSpec
from bot.clock import Clock
from bot.config import Settings
from bot.i18n import Translator, pick_language, translator
from bot.recent import Recent
from bot.signing import Keys
from storage.boards import BoardCache
from storage.session import Database

SERVICES_KEY = "shuangyou.services"
FORM_LABELS_KEPT = 20_000
RECENT_UPDATES_KEPT = 100_000  # update ids: about 6 MB
CHOSEN_LANGUAGES_KEPT = 10_000  # far more than the updates in hand at once


@dataclass(frozen=True)
class Services:
    """What the application is built with; lives in `bot_data` under SERVICES_KEY."""

    settings: Settings
    db: Database
    clock: Clock
    commands: tuple[CommandSpec, ...]
    text_steps: Mapping[str, Any] = field(default_factory=dict)  # dialog step → handlers.common.Step
    # One delivery round at a time in this process (the repeating job, the console's :time, /snapshot): a second
    # round could otherwise take over rows whose claim lapsed while the first is still sending them.
    outbox_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    boards: BoardCache = field(default_factory=BoardCache)  # the boards this process keeps between requests
    keys: Keys = field(default_factory=Keys)  # read from the database at start-up (bot/app.py on_start)
    # What the rating form shows but does not carry in its buttons (a target's name, a typed comment), as last read:
    # a press needs no database unless the process restarted in the middle of the form.
    form_labels: Recent[tuple[str, int], str] = field(default_factory=lambda: Recent(FORM_LABELS_KEPT))
    recent_updates: Recent[int, bool] = field(default_factory=lambda: Recent(RECENT_UPDATES_KEPT))  # handlers.flood
    # When each group last heard the bot answer someone who is not a member (handlers.common._may_answer_in_group)
    outsider_answers: Recent[int, dt.datetime] = field(default_factory=lambda: Recent(RECENT_UPDATES_KEPT))
    # The language chosen by the member behind an update: the error handler's context is made afresh, and a refusal
    # must speak the member's language, not their Telegram's.
    chosen_languages: Recent[int, str] = field(default_factory=lambda: Recent(CHOSEN_LANGUAGES_KEPT))


class CampaignReader(Protocol):
    """What reading the campaign's boards needs, in a handler (BotContext) or on a web page (web.site.Site)."""

    @property
    def services(self) -> Services: ...

    @property
    def settings(self) -> Settings: ...

    def today(self) -> dt.date: ...


BotApplication = Application[ExtBot[None], "BotContext", dict[Any, Any], dict[Any, Any], dict[Any, Any], Any]


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """`context` in every handler and job."""

    def __init__(self, application: BotApplication, chat_id: int | None = None, user_id: int | None = None) -> None:
        super().__init__(application, chat_id=chat_id, user_id=user_id)
        self._telegram_language: str | None = None
        self._chosen_language: str | None = None
        self._update_id: int | None = None

    @classmethod
    def from_update(cls, update: object, application: Application[Any, Any, Any, Any, Any, Any]) -> BotContext:
        context = super().from_update(update, application)
        if isinstance(update, Update):
            context._update_id = update.update_id
            context._chosen_language = context.services.chosen_languages.get(update.update_id)
            if update.effective_user:
                context._telegram_language = update.effective_user.language_code
        return context

    @property
    def services(self) -> Services:
        services: Services = self.application.bot_data[SERVICES_KEY]
        return services

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def db(self) -> Database:
        return self.services.db

    def now(self) -> dt.datetime:
        return self.services.clock.now()

    def today(self) -> dt.date:
        """Today in the campaign's time zone: the day deadlines, periods and reviews are counted in."""
        return self.now().astimezone(self.settings.tz).date()

    def use_language(self, chosen: str | None) -> None:
        """Speaks the member's chosen language from now on in this update."""
        self._chosen_language = chosen
        if chosen is not None and self._update_id is not None:
            self.services.chosen_languages.put(self._update_id, chosen)

    @property
    def language(self) -> str:
        return pick_language(
            chosen=self._chosen_language,
            telegram=self._telegram_language,
            default=self.settings.bot.default_language,
        )

    @property
    def tr(self) -> Translator:
        return translator(self.language)
