"""/start: a welcome that says what the bot is for and what to do next; /help: the commands you may use."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatType
from telegram.ext import BaseHandler, CommandHandler

from bot.access import ANY_CHAT, EVERYONE, Audience, CommandSpec, commands_for
from bot.context import BotContext
from bot.i18n import N_, Html, Translator
from bot.menus import set_member_menu
from handlers.common import ROLE_NAMES, Viewer, load_viewer, sender
from storage import members

START = CommandSpec("start", N_("Welcome and your next step"), EVERYONE, ANY_CHAT)
HELP = CommandSpec("help", N_("What you can do here"), EVERYONE, ANY_CHAT)
COMMANDS = (START, HELP)


def private_chat_button(tr: Translator, bot_username: str) -> InlineKeyboardMarkup:
    """A button that opens the private chat with the bot."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(tr.gettext("Open a private chat with me"), url=f"https://t.me/{bot_username}")]]
    )


def render_welcome(tr: Translator, viewer: Viewer, campaign: str) -> str:
    intro = tr.gettext(
        "<b>Welcome to Shuangyou (双优)</b>, the assistant of the campaign “{campaign}”.\n\n"
        "Sections and stations keep their service commitments and deadlines here, colleagues and the people "
        "they serve rate them on the campaign's five standards, and everyone can follow the ranking.",
        campaign=campaign,
    )
    return f"{intro}\n\n{render_next_step(tr, viewer)}"


def render_next_step(tr: Translator, viewer: Viewer) -> str:
    if viewer.audience == Audience.OUTSIDER:
        return tr.gettext(
            "You are not registered yet. To take part, ask an administrator or your section head for an "
            "invitation link and open it; it brings you back here."
        )
    if viewer.audience == Audience.PENDING:
        return tr.gettext(
            "Your registration is waiting for an administrator's approval. I will tell you here as soon as it "
            "is decided."
        )
    assert viewer.member is not None
    return tr.gettext(
        "You are registered as {name}, {role}. Send /help to see what you can do.",
        name=viewer.member.display_name,
        role=tr.gettext(ROLE_NAMES[viewer.member.role]),
    )


def render_help(tr: Translator, specs: tuple[CommandSpec, ...], audience: Audience, chat_type: str) -> str:
    lines: list[str] = [tr.gettext("<b>What you can do here</b>")]
    lines += [
        Html(f"/{spec.name} — {tr.gettext(spec.description)}") for spec in commands_for(specs, audience, chat_type)
    ]
    if chat_type != ChatType.PRIVATE:
        lines.append(
            "\n" + tr.gettext("Registration, ratings and your own score are handled in a private chat with me.")
        )
    elif audience == Audience.OUTSIDER:
        lines.append("\n" + tr.gettext("Not registered yet? Ask an administrator for an invitation link."))
    return "\n".join(lines)


async def cmd_start(update: Update, context: BotContext) -> None:
    """Welcomes the user and says what to do next (in a group: points to the private chat)."""
    user, message = sender(update), update.effective_message
    assert message is not None
    if message.chat.type != ChatType.PRIVATE:
        await message.reply_text(
            context.tr.gettext("Let's talk in private: registration and ratings are never done in the group."),
            reply_markup=private_chat_button(context.tr, context.bot.username),
        )
        return
    async with context.db.transaction() as session:
        viewer = await load_viewer(session=session, context=context, user=user)
        first_visit_of_admin = viewer.audience == Audience.ADMIN and viewer.member is None
        if first_visit_of_admin:
            member = await members.ensure_config_admin(
                session=session, telegram_id=user.id, display_name=user.full_name
            )
            viewer = Viewer(user, member, Audience.ADMIN)
    await message.reply_text(render_welcome(context.tr, viewer, context.settings.campaign.name))
    if first_visit_of_admin:
        await set_member_menu(context.bot, context.services.commands, user.id, Audience.ADMIN, context.language)


async def cmd_help(update: Update, context: BotContext) -> None:
    """Lists the commands this user may use in this chat."""
    user, message = sender(update), update.effective_message
    assert message is not None
    async with context.db.transaction() as session:
        viewer = await load_viewer(session=session, context=context, user=user)
    await message.reply_text(render_help(context.tr, context.services.commands, viewer.audience, message.chat.type))


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    return [CommandHandler(START.name, cmd_start), CommandHandler(HELP.name, cmd_help)]
