"""/help: the commands this user may use here, by role and chat."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatType
from telegram.ext import BaseHandler, CommandHandler

from bot.access import ANY_CHAT, EVERYONE, Audience, CommandSpec, commands_for, in_a_section
from bot.context import BotContext
from bot.i18n import N_, Translator
from handlers.common import N_DEACTIVATED, Replies, Viewer, chat_type, load_viewer, sender
from storage.models import MemberStatus

HELP = CommandSpec("help", N_("What you can do here"), EVERYONE, ANY_CHAT)
COMMANDS = (HELP,)


def private_chat_button(tr: Translator, bot_username: str) -> InlineKeyboardMarkup:
    """A button that opens the private chat with the bot."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(tr.gettext("Open a private chat with me"), url=f"https://t.me/{bot_username}")]]
    )


def render_help(tr: Translator, specs: tuple[CommandSpec, ...], viewer: Viewer, where: str) -> str:
    audience = viewer.audience
    lines: list[str] = [tr.gettext("<b>What you can do here</b>")]
    lines += [
        f"/{spec.name} — {tr.gettext(spec.description_for(audience))}"
        for spec in commands_for(specs, audience, where, in_section=in_a_section(viewer.member))
    ]
    if where != ChatType.PRIVATE:
        lines.append(
            "\n" + tr.gettext("Registration, ratings and your own score are handled in a private chat with me.")
        )
    elif audience == Audience.OUTSIDER and viewer.member is not None and viewer.member.status == MemberStatus.INACTIVE:
        lines.append("\n" + tr.gettext(N_DEACTIVATED))
    elif audience == Audience.OUTSIDER:
        lines.append("\n" + tr.gettext("Not registered yet? Send /start to register, or open an invitation link."))
    elif audience == Audience.PENDING:
        lines.append("\n" + tr.gettext("Your registration is waiting for an administrator's approval."))
    return "\n".join(lines)


async def cmd_help(update: Update, context: BotContext) -> None:
    """Lists the commands this user may use in this chat."""
    replies = Replies()
    async with context.db.transaction() as session:
        viewer = await load_viewer(session=session, context=context, user=sender(update))
        replies.reply(render_help(context.tr, context.services.commands, viewer, chat_type(update)))
    await replies.deliver(update, context)


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    return [CommandHandler(HELP.name, cmd_help)]
