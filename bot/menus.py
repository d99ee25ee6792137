"""The command menus Telegram shows: a default per chat type and language, and one per member."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllChatAdministrators,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
)
from telegram.error import BadRequest, Forbidden

from bot.access import Audience, CommandSpec, commands_for
from bot.i18n import CHINESE, ENGLISH, translator

logger = logging.getLogger(__name__)

# Telegram picks the menu by the two-letter language of the user's app; "" is everyone else.
MENU_LANGUAGE_CODES = {"en": ENGLISH, "zh": CHINESE}


def bot_commands(specs: Iterable[CommandSpec], language: str, audience: Audience) -> list[BotCommand]:
    tr = translator(language)
    return [BotCommand(spec.name, tr.gettext(spec.description_for(audience))) for spec in specs]


async def set_default_menus(bot: Bot, specs: tuple[CommandSpec, ...], default_language: str) -> None:
    """The menus of newcomers (private chats), of groups, and of group administrators, in each language."""
    menus = (
        (BotCommandScopeAllPrivateChats(), Audience.OUTSIDER, "private"),
        (BotCommandScopeAllGroupChats(), Audience.STAFF, "group"),
        (BotCommandScopeAllChatAdministrators(), Audience.ADMIN, "group"),
    )
    for code, language in (("", default_language), *MENU_LANGUAGE_CODES.items()):
        for scope, audience, chat in menus:
            chosen = commands_for(specs, audience, chat, menu_only=True)
            await bot.set_my_commands(bot_commands(chosen, language, audience), scope=scope, language_code=code or None)


async def set_member_menu(
    bot: Bot, specs: tuple[CommandSpec, ...], chat_id: int, audience: Audience, language: str, *, in_section: bool
) -> None:
    """The menu one member sees in their private chat; called when their role, section or status changes."""
    offered = commands_for(specs, audience, "private", menu_only=True, in_section=in_section)
    commands = bot_commands(offered, language, audience)
    try:
        await bot.set_my_commands(commands, scope=BotCommandScopeChat(chat_id))
    except (BadRequest, Forbidden) as error:
        logger.warning("Could not set the menu of chat %s: %s", chat_id, error.message)
