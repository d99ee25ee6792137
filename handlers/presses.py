"""A button press, the one way: read the button's data, open one transaction, find out who is pressing (and refuse
those it is not for), act, and answer (edit the message, toast) once the transaction has committed.

    @on_press(OpenSection, who=admin_viewer, expired=N_("This button has expired. Send /sections again."))
    async def press_open(press: Press[OpenSection]) -> None:
        section = await existing_section(press.session, press.data.section_id)
        press.replies.edit(*section_card(press.tr, section))

The data of a button is only its shape (`CallbackData.parse`); what it points at is checked in the transaction.
Data that does not parse is refused with `expired`, after the presser's own refusal if they may not press at all.
The rating form's presses carry their state signed and need no transaction (handlers/ratings.py, rating_form.py);
the press choosing what to rate reads the presser with the target in one statement, so it is not on this skeleton.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Update

from bot.access import CommandSpec
from bot.callbacks import CallbackData
from bot.context import BotContext
from bot.i18n import N_, Translator
from handlers.common import Refusal, Replies, Viewer, callback_data, chat_type, load_viewer, require, sender

Data = TypeVar("Data", bound=CallbackData)
Handler = Callable[[Update, BotContext], Coroutine[Any, Any, None]]
WhoPresses = Callable[[AsyncSession, BotContext, Update], Awaitable[Viewer]]
N_EXPIRED = N_("This button has expired. Send /help to start again.")


@dataclass
class Press(Generic[Data]):
    """One press being handled: its data, the transaction, the presser, what to answer."""

    data: Data
    update: Update
    context: BotContext
    session: AsyncSession
    viewer: Viewer
    replies: Replies

    @property
    def tr(self) -> Translator:
        return self.context.tr


async def anyone(session: AsyncSession, context: BotContext, update: Update) -> Viewer:
    """Whoever presses (the action checks what they may do)."""
    return await load_viewer(session=session, context=context, user=sender(update))


def allowed(spec: CommandSpec) -> WhoPresses:
    """Whoever may use the command `spec` in this chat (a press on its message is the command again)."""

    async def who(session: AsyncSession, context: BotContext, update: Update) -> Viewer:
        viewer = await anyone(session, context, update)
        require(viewer, spec, chat_type(update))
        return viewer

    return who


def on_press(
    kind: type[Data],
    *,
    who: WhoPresses = anyone,
    expired: str = N_EXPIRED,
    default: Callable[[BotContext], Data] | None = None,
) -> Callable[[Callable[[Press[Data]], Awaitable[None]]], Handler]:
    """Makes `act` the handler of `kind`'s buttons (see the module's docstring); data that does not parse is
    `default` if there is one (the view a command opens with)."""

    def wrap(act: Callable[[Press[Data]], Awaitable[None]]) -> Handler:
        async def handle(update: Update, context: BotContext) -> None:
            data = kind.parse(callback_data(update))
            if data is None and default is not None:
                data = default(context)
            replies = Replies()
            async with context.db.transaction() as session:
                viewer = await who(session, context, update)
                if data is None:
                    raise Refusal(expired)
                await act(Press(data, update, context, session, viewer, replies))
            await replies.deliver(update, context)

        handle.__name__, handle.__doc__ = act.__name__, act.__doc__
        return handle

    return wrap
