"""The one place where the Application is assembled: transport, defaults, handlers, error handling, start-up."""

from __future__ import annotations

import gc
import html
import json
import logging
from types import ModuleType
from typing import Any

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import AIORateLimiter, ApplicationBuilder, ContextTypes, Defaults
from telegram.request import BaseRequest, HTTPXRequest

import handlers.admin
import handlers.arguments
import handlers.commitments
import handlers.fallback
import handlers.flood
import handlers.group
import handlers.help
import handlers.invites
import handlers.moderation
import handlers.ranking
import handlers.ratings
import handlers.registration
import handlers.reports
import handlers.reviews
import handlers.sections
import handlers.tasks
import jobs
from bot.access import CommandSpec
from bot.clock import Clock
from bot.config import Settings
from bot.context import SERVICES_KEY, BotApplication, BotContext, Services
from bot.extbot import CampaignBot, RefusedRequest
from bot.i18n import N_
from bot.menus import set_default_menus
from bot.pacing import PacedRateLimiter
from bot.signing import Signer
from bot.updates_in_order import UpdatesInOrderPerUser
from bot.workdays import missing_schedule
from handlers.common import TELEGRAM_APOLOGY, Refusal, RepeatedUpdate, Replies, drop_dialog_after_refusal
from storage import campaigns, keys, scoring
from storage.session import Database, DatabaseUnavailable, wait_for_start_up_turn

logger = logging.getLogger(__name__)

# Order matters: the first handler that matches an update in a group takes it; the fallbacks come last.
FEATURES: tuple[ModuleType, ...] = (
    handlers.registration,  # /start with an invitation payload is one of its cases
    handlers.sections,
    handlers.invites,
    handlers.admin,
    handlers.group,
    handlers.commitments,
    handlers.tasks,
    handlers.ratings,
    handlers.reviews,
    handlers.moderation,
    handlers.ranking,
    handlers.reports,
    handlers.help,
    handlers.fallback,  # unknown commands, typed answers to dialogs, stale buttons: always last
)

# The in-process Bot API accepts any token of the right shape; it is never sent anywhere.
OFFLINE_TOKEN = "1000000:in-process-bot-api-token-0000000000"
RATE_LIMIT_RETRIES = 2
TELEGRAM_BASE_URL = "https://api.telegram.org/bot"
TELEGRAM_BASE_FILE_URL = "https://api.telegram.org/file/bot"
CONNECTION_POOL_SIZE = 256

APOLOGY = N_("Sorry, something went wrong on my side. It has been logged; please try again in a moment.")
BUSY = N_("I cannot reach my records just now, so I did nothing with that. Please send it again in a few minutes.")
TELEGRAM_REFUSED = N_(
    "Sorry, Telegram refused my answer ({reason}), so you did not see it. It has been logged for the administrators."
)


FIRST_COMMANDS = ("start", "help")


def all_commands() -> tuple[CommandSpec, ...]:
    """Every feature's commands, /start and /help first, then in the order of FEATURES."""
    specs: list[CommandSpec] = []
    for module in FEATURES:
        specs.extend(module.COMMANDS)
    names = [spec.name for spec in specs]
    if len(set(names)) != len(names):
        raise RuntimeError(f"two features declare the same command: {names}")
    return tuple(sorted(specs, key=lambda spec: spec.name not in FIRST_COMMANDS))


def all_text_steps() -> dict[str, Any]:
    """What each feature does with typed text when its dialog waits for it, by step name."""
    steps: dict[str, Any] = {}
    for module in FEATURES:
        steps.update(getattr(module, "TEXT_STEPS", {}))
    return steps


def build_application(
    settings: Settings,
    *,
    db: Database | None = None,
    request: BaseRequest | None = None,
    clock: Clock | None = None,
    rate_limit_retries: int = RATE_LIMIT_RETRIES,
    flood_limits: bool = True,
) -> BotApplication:
    """The Application for these settings; `request` replaces Telegram (the in-process Bot API). Without
    `flood_limits` the bot does not pace itself to Telegram's rates (for tests that post to a group a lot)."""
    token = settings.bot_token.get_secret_value() if settings.bot_token else OFFLINE_TOKEN
    bot = CampaignBot(
        token=token,
        base_url=settings.telegram_base_url or TELEGRAM_BASE_URL,
        base_file_url=settings.telegram_base_file_url or TELEGRAM_BASE_FILE_URL,
        request=request or HTTPXRequest(connection_pool_size=CONNECTION_POOL_SIZE),
        get_updates_request=request or HTTPXRequest(),
        defaults=Defaults(parse_mode=ParseMode.HTML, tzinfo=settings.tz),
        rate_limiter=(
            PacedRateLimiter(max_retries=rate_limit_retries)
            if flood_limits
            else AIORateLimiter(max_retries=rate_limit_retries, overall_max_rate=0, group_max_rate=0)
        ),
    )
    builder = (
        ApplicationBuilder()
        .bot(bot)
        .context_types(ContextTypes(context=BotContext))
        .concurrent_updates(UpdatesInOrderPerUser())
        .post_init(on_start)
        .post_shutdown(on_stop)
    )
    application: BotApplication = builder.build()  # type: ignore[assignment]
    application.bot_data[SERVICES_KEY] = Services(
        settings=settings,
        db=db or Database(settings.database_url),
        clock=clock or Clock(),
        commands=all_commands(),
        text_steps=all_text_steps(),
    )
    application.add_handler(handlers.flood.guard_handler(), group=handlers.flood.GROUP)
    # The rating form's presses are the busiest updates: their handlers are tried first (no other feature's match
    # them, so the order of FEATURES still holds for everything else).
    for module in sorted(FEATURES, key=lambda module: module is not handlers.ratings):
        application.add_handlers(module.handlers())
    application.add_handler(handlers.arguments.handler(), group=handlers.arguments.GROUP)
    application.add_error_handler(on_error)
    services = services_of(application)
    bot.on_chat_migrated(lambda old, new: handlers.group.follow_migration(services, old, new))
    return application


def services_of(application: BotApplication) -> Services:
    services: Services = application.bot_data[SERVICES_KEY]
    return services


async def on_start(application: BotApplication) -> None:
    """After the bot is initialised: the campaign rows, the command menus, the scheduled sweeps."""
    services = services_of(application)
    campaign = services.settings.campaign
    async with services.db.transaction() as session:
        await wait_for_start_up_turn(session)  # another instance may be starting too
        await campaigns.sync_campaign(
            session=session,
            name=campaign.name,
            starts=campaign.starts,
            ends=campaign.ends,
            publish_every=services.settings.scoring.min_raters,
        )
        today = services.clock.now().astimezone(services.settings.tz).date()
        await scoring.publish_ended_periods(session=session, today=today)  # periods that ended while it was down
        if await scoring.needs_rebuild(session=session):  # ratings from before the tallies existed
            logger.info("Counted the score tallies from %d rows", await scoring.rebuild_tallies(session=session))
        key = await keys.signing_key(session=session, name=keys.RATING_FORM_KEY, now=services.clock.now())
        web_key = await keys.signing_key(session=session, name=keys.WEB_KEY, now=services.clock.now())
    services.keys.rating_form = Signer(key, purpose=keys.RATING_FORM_KEY.encode())
    services.keys.web = web_key
    try:
        await set_default_menus(application.bot, services.commands, services.settings.bot.default_language)
    except TelegramError as error:
        logger.warning("Could not set the command menus: %s", error.message)
    jobs.schedule_all(application)
    if warning := missing_schedule(services.settings.calendar.work_calendar(), campaign.starts, campaign.ends):
        logger.warning("The campaign's working days may be wrong: %s.", warning)
    logger.info("Shuangyou is up as @%s", application.bot.username)


YOUNG_COLLECTION_EVERY = 20_000  # new container objects (Python's default: 700)


def collect_less_often() -> None:
    """For the bot's own process, once it is built (`python -m bot run`; not in tests, where objects frozen with one
    test's application would never be collected after it). Python's cycle collector runs every 700 new container
    objects, and every tenth and hundredth run walks older and then all objects, the libraries' long-lived ones
    included. An update makes thousands (Telegram objects, ORM rows) and a board of 10,000 people tens of thousands,
    so collections took a good share of the time. The objects that exist now (modules, classes, mappers) are frozen,
    never walked again, and collections come every YOUNG_COLLECTION_EVERY new objects (figures in bench/README.md).
    Memory freed by reference counting, most of it, is not affected."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_COLLECTION_EVERY, 10, 10)


async def on_stop(application: BotApplication) -> None:
    await services_of(application).db.close()


async def on_error(update: object, context: BotContext) -> None:
    """Logs what went wrong with the update, then answers the user briefly; never shows a traceback."""
    error = context.error
    if isinstance(error, Refusal):  # nothing changed, so nothing is claimed (a repeat is dropped in handlers.flood)
        await drop_dialog_after_refusal(context)
        await _tell_user(update, context, error.render(context.tr))
        return
    if isinstance(error, RepeatedUpdate):
        logger.info("Update %s was delivered again; it was acted on already", error.args[0])
        return
    if isinstance(error, DatabaseUnavailable):  # logged by the Database when the outage began
        await _tell_user(update, context, context.tr.gettext(BUSY))
        return
    if isinstance(error, Forbidden):
        logger.info("The user blocked the bot or left the chat: %s", error.message)
        return
    if isinstance(error, BadRequest):  # a refusal, not a failure: sending it again would be refused again
        method = error.method if isinstance(error, RefusedRequest) else "a request"
        logger.error("Telegram refused %s while handling update %s: %s", method, _update_id(update), error.message)
        await _tell_user(update, context, context.tr.gettext(TELEGRAM_REFUSED, reason=error.message))
        return
    if isinstance(error, NetworkError | RetryAfter):
        logger.warning("Telegram failed while handling update %s: %s", _update_id(update), error)
        await _tell_user(update, context, context.tr.gettext(TELEGRAM_APOLOGY))
        return
    logger.error("Unhandled error while handling update %s", _describe_update(update), exc_info=error)
    await _tell_user(update, context, context.tr.gettext(APOLOGY))


async def _tell_user(update: object, context: BotContext, text: str) -> None:
    if not isinstance(update, Update):
        return
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(html.unescape(text)[:200], show_alert=True)
        elif update.effective_chat is not None and update.effective_chat.type == "private":
            await context.bot.send_message(update.effective_chat.id, text)
        elif update.effective_message is not None:  # a group: the group's limits apply (handlers.common.Replies)
            replies = Replies()
            replies.reply(text)
            await replies.deliver(update, context)
    except (TelegramError, DatabaseUnavailable) as error:
        logger.warning("Could not tell the user about the error either: %s", error)


def _update_id(update: object) -> str:
    return str(update.update_id) if isinstance(update, Update) else "(not an update)"


def _describe_update(update: object) -> str:
    if isinstance(update, Update):
        return json.dumps(update.to_dict(), ensure_ascii=False)[:2000]
    return repr(update)[:2000]


class SecretFilter(logging.Filter):
    """Replaces the bot token in every log line: the Bot API's URLs carry it, and so may the errors that quote them."""

    def __init__(self, secret: str) -> None:
        super().__init__()
        self.secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.secret and self.secret in message:
            record.msg, record.args = message.replace(self.secret, "<BOT_TOKEN>"), None
        if record.exc_info and self.secret:
            text = logging.Formatter().formatException(record.exc_info)
            if self.secret in text:
                record.exc_info, record.exc_text = None, text.replace(self.secret, "<BOT_TOKEN>")
        return True


def _sweep_still_running(record: logging.LogRecord) -> bool:
    """Drops APScheduler's "skipped: maximum number of running instances reached": a sweep that is still at work
    when its next turn comes is how a long fan-out goes (one at a time), not something to warn about."""
    return "maximum number of running instances reached" not in record.getMessage()


def configure_logging(level: int = logging.INFO, *, secret: str = "") -> None:
    """Plain log lines, with the bot token blanked out of each; httpx quiet, since its request lines carry it."""
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=level)
    if secret:
        for handler in logging.getLogger().handlers:
            handler.addFilter(SecretFilter(secret))
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("apscheduler.scheduler").addFilter(_sweep_still_running)
    logging.getLogger("alembic").setLevel(logging.WARNING)
