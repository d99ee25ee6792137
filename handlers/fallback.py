"""What the bot says to anything no feature took: unknown commands, plain text, stickers and the like."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import BaseHandler, CallbackQueryHandler, MessageHandler, filters

from bot.context import BotContext
from handlers.common import Replies, load_viewer, sender
from handlers.presses import N_EXPIRED
from storage import dialogs

COMMANDS = ()


def command_name(text: str) -> str:
    """ "/Foo@SomeBot args" → "/Foo" (cut to a sane length for the reply)."""
    return text.split(maxsplit=1)[0].split("@", 1)[0][:33]


def addressed_to(text: str, bot_username: str) -> bool:
    head = text.split(maxsplit=1)[0]
    return "@" in head and head.split("@", 1)[1].lower() == bot_username.lower()


async def on_unknown_command(update: Update, context: BotContext) -> None:
    """An unknown command: say so and point to /help. In groups only when the command names this bot."""
    message = update.effective_message
    assert message is not None and message.text is not None
    if message.chat.type != ChatType.PRIVATE and not addressed_to(message.text, context.bot.username):
        return
    replies = Replies()
    replies.reply(
        context.tr.gettext(
            "I don't know the command {command}. Send /help to see the commands you can use.",
            command=command_name(message.text),
        )
    )
    await replies.deliver(update, context)


async def on_other_message(update: Update, context: BotContext) -> None:
    """Text in the private chat: the answer a dialog waits for, or a pointer to /help."""
    message = update.effective_message
    assert message is not None
    replies = Replies()
    async with context.db.transaction() as session:
        viewer = await load_viewer(session=session, context=context, user=sender(update))
        dialog = await dialogs.get_dialog(session=session, telegram_id=viewer.user.id, now=context.now())
        step = context.services.text_steps.get(dialog.step) if dialog is not None else None
        if dialog is not None and step is not None and message.text is not None:
            await step(session, context, viewer, dialog, message.text, replies)
        elif dialog is not None and step is not None:
            replies.reply(context.tr.gettext("Please type your answer as text, or send /cancel to stop."))
        elif dialog is not None:  # a button is awaited
            replies.reply(
                context.tr.gettext("Please answer with the buttons of my last message, or send /cancel to stop.")
            )
        else:
            replies.reply(context.tr.gettext("I work with commands and buttons. Send /help to see what you can do."))
    await replies.deliver(update, context)


async def press_unknown_button(update: Update, context: BotContext) -> None:
    """A button no feature recognises: from an old message, or forged. Nothing changes."""
    query = update.callback_query
    assert query is not None
    await query.answer(context.tr.gettext(N_EXPIRED), show_alert=True)


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    new_messages = filters.UpdateType.MESSAGE
    return [
        MessageHandler(new_messages & filters.COMMAND, on_unknown_command),
        MessageHandler(new_messages & filters.ChatType.PRIVATE & ~filters.StatusUpdate.ALL, on_other_message),
        CallbackQueryHandler(press_unknown_button),
    ]
