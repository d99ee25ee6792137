"""The command menus Telegram shows: a default per chat type and language, and one per member."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
)
from telegram.error import BadRequest, Forbidden

from bot.access import MEMBERS, Audience, CommandSpec, commands_for
from bot.i18n import CHINESE, ENGLISH, translator

logger = logging.getLogger(__name__)

# Telegram picks the menu by the two-letter language of the user's app; "" is everyone else.
MENU_LANGUAGE_CODES = {"en": ENGLISH, "zh": CHINESE}


def bot_commands(specs: Iterable[CommandSpec], language: str) -> list[BotCommand]:
    tr = translator(language)
    return [BotCommand(spec.name, tr.gettext(spec.description)) for spec in specs]


def group_specs(specs: Iterable[CommandSpec]) -> list[CommandSpec]:
    """Commands a member may use in the campaign group, whatever their role, each once."""
    chosen: dict[str, CommandSpec] = {}
    for audience in sorted(MEMBERS):
        for spec in commands_for(specs, audience, "group", menu_only=True):
            chosen.setdefault(spec.name, spec)
    return list(chosen.values())


async def set_default_menus(bot: Bot, specs: tuple[CommandSpec, ...], default_language: str) -> None:
    """The menus of newcomers (private chats) and of groups, in each language."""
    private = commands_for(specs, Audience.OUTSIDER, "private", menu_only=True)
    groups = group_specs(specs)
    for code, language in (("", default_language), *MENU_LANGUAGE_CODES.items()):
        await bot.set_my_commands(
            bot_commands(private, language),
            scope=BotCommandScopeAllPrivateChats(),
            language_code=code or None,
        )
        await bot.set_my_commands(
            bot_commands(groups, language), scope=BotCommandScopeAllGroupChats(), language_code=code or None
        )


async def set_member_menu(
    bot: Bot, specs: tuple[CommandSpec, ...], chat_id: int, audience: Audience, language: str
) -> None:
    """The menu one member sees in their private chat; called when their role or status changes."""
    commands = bot_commands(commands_for(specs, audience, "private", menu_only=True), language)
    try:
        await bot.set_my_commands(commands, scope=BotCommandScopeChat(chat_id))
    except (BadRequest, Forbidden) as error:
        logger.warning("Could not set the menu of chat %s: %s", chat_id, error.message)
