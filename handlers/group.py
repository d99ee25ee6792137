"""The campaign group: bound with /bindgroup, followed when it becomes a supergroup, dropped when the bot leaves."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Chat, ChatMemberUpdated, InlineKeyboardMarkup, Update
from telegram.constants import ChatMemberStatus
from telegram.ext import BaseHandler, CallbackQueryHandler, ChatMemberHandler, CommandHandler, MessageHandler, filters

from bot.access import ADMIN_ONLY, GROUPS, CommandSpec
from bot.callbacks import CallbackData
from bot.context import BotContext, Services
from bot.i18n import CHINESE, ENGLISH, LANGUAGES, N_, translator
from handlers.common import (
    Refusal,
    Replies,
    Viewer,
    button,
    chat_type,
    group_translator,
    load_viewer,
    member_translator,
    require,
    sender,
)
from handlers.presses import Press, allowed, on_press
from storage import audit, groups, members

logger = logging.getLogger(__name__)

BINDGROUP = CommandSpec("bindgroup", N_("Make this group the campaign group"), ADMIN_ONLY, GROUPS, takes_arguments=True)
COMMANDS = (BINDGROUP,)
GONE = {ChatMemberStatus.LEFT, ChatMemberStatus.BANNED}


N_ALREADY_BOUND = N_(
    "This group is already the campaign group. /bindgroup zh or /bindgroup en chooses the language I post in here."
)
N_MOVE_EXPIRED = N_("This button has expired. Send /bindgroup again.")
LANGUAGE_ARGUMENTS = {"zh": CHINESE, "cn": CHINESE, "中文": CHINESE, "en": ENGLISH, "english": ENGLISH}


@dataclass(frozen=True)
class MoveGroup(CallbackData):
    """Make this group the campaign group instead of the one bound (`from_chat`), speaking `language`."""

    PREFIX = "gmv"
    from_chat: int
    language: str


@dataclass(frozen=True)
class KeepGroup(CallbackData):
    PREFIX = "gkp"


async def cmd_bindgroup(update: Update, context: BotContext) -> None:
    """An admin makes this group the one where snapshots and nudges are posted (asked first when another group is
    bound); `/bindgroup en` or `zh` sets the language the bot posts in there."""
    chat = update.effective_chat
    assert chat is not None
    replies = Replies()
    async with context.db.transaction() as session:
        viewer = await load_viewer(session=session, context=context, user=sender(update))
        require(viewer, BINDGROUP, chat_type(update))  # in private: "works only in the campaign group"
        language = _language_argument(context)
        before = await groups.get_campaign_group(session=session)
        if before is not None and before.chat_id == chat.id:
            if language is None:
                replies.reply(context.tr.gettext(N_ALREADY_BOUND))
            else:
                await groups.set_group_language(session=session, group=before, language=language)
                replies.reply(translator(language).gettext("From now on I post in this language in this group."))
        elif before is not None:
            moving = MoveGroup(before.chat_id, language or context.language)
            keyboard = InlineKeyboardMarkup(
                [
                    [button(context.tr.gettext("Make this the campaign group"), moving.pack())],
                    [button(context.tr.gettext("Keep “{title}”", title=before.title), KeepGroup().pack())],
                ]
            )
            replies.reply(
                context.tr.gettext(
                    "“{title}” is the campaign group now. Make this group the campaign group instead? The "
                    "snapshots and reminders would be posted here, and no longer there.",
                    title=before.title,
                ),
                keyboard,
            )
        else:
            replies.reply(await _bind(session, viewer, chat, language or context.language))
    await replies.deliver(update, context)


def _language_argument(context: BotContext) -> str | None:
    """The language named after /bindgroup, if any; an unknown one is refused."""
    if not context.args:
        return None
    language = LANGUAGE_ARGUMENTS.get(context.args[0].lower())
    if language is None or len(context.args) > 1:
        raise Refusal(N_("Send /bindgroup alone, or /bindgroup zh or /bindgroup en to choose the language I post in."))
    return language


async def _bind(session: AsyncSession, viewer: Viewer, chat: Chat, language: str) -> str:
    """Binds the chat; what to tell it, in its language."""
    await groups.bind_campaign_group(
        session=session, chat_id=chat.id, title=chat.title or "", bound_by_id=viewer.member_id, language=language
    )
    await audit.record_audit(
        session=session, actor_id=viewer.member_id, action="group.bound", subject=f"chat:{chat.id}"
    )
    return translator(language).gettext(
        "This group is now the campaign group: the leaderboard snapshots and reminders of the campaign will be "
        "posted here."
    )


@on_press(MoveGroup, who=allowed(BINDGROUP), expired=N_MOVE_EXPIRED)
async def press_move(press: Press[MoveGroup]) -> None:
    """The admin confirmed: this group replaces the bound one, and the old one is told where the posts went."""
    session, context, chat = press.session, press.context, press.update.effective_chat
    assert chat is not None
    before = await groups.get_campaign_group(session=session)
    if before is None or before.chat_id != press.data.from_chat or press.data.language not in LANGUAGES:
        raise Refusal(N_MOVE_EXPIRED)
    old_tr = group_translator(context.settings, before)
    press.replies.edit(await _bind(session, press.viewer, chat, press.data.language))
    press.replies.send(
        before.chat_id,
        old_tr.gettext(
            "This group is no longer the campaign group: the snapshots and reminders are posted in “{title}” now.",
            title=chat.title or "?",
        ),
    )


@on_press(KeepGroup, who=allowed(BINDGROUP))
async def press_keep(press: Press[KeepGroup]) -> None:
    press.replies.edit(press.tr.gettext("Nothing changed: the campaign group stays where it was."))


async def on_migration(update: Update, context: BotContext) -> None:
    """The group became a supergroup: its new chat id replaces the old one."""
    message = update.effective_message
    assert message is not None
    if message.migrate_to_chat_id:
        await follow_migration(context.services, message.chat.id, message.migrate_to_chat_id)


async def follow_migration(services: Services, old_chat_id: int, new_chat_id: int) -> None:
    async with services.db.transaction() as session:
        if await groups.move_campaign_group(session=session, old_chat_id=old_chat_id, new_chat_id=new_chat_id):
            await audit.record_audit(
                session=session,
                actor_id=None,
                action="group.migrated",
                subject=f"chat:{new_chat_id}",
                detail=f"from {old_chat_id}",
            )
            logger.info("The campaign group moved from %s to %s", old_chat_id, new_chat_id)


async def on_bot_membership(update: Update, context: BotContext) -> None:
    """The bot was added to a group (it says how to bind it) or removed (the binding is dropped, admins told)."""
    change = update.my_chat_member
    assert change is not None
    if change.chat.type == "private":
        return
    replies = Replies()
    async with context.db.transaction() as session:
        if change.new_chat_member.status in GONE:
            if await groups.unbind_campaign_group(session=session, chat_id=change.chat.id):
                await audit.record_audit(
                    session=session,
                    actor_id=None,
                    action="group.unbound",
                    subject=f"chat:{change.chat.id}",
                    detail="the bot was removed",
                )
                await _tell_admins(session, context, change, replies)
        elif _was_gone(change):
            replies.send(
                change.chat.id,
                context.tr.gettext(
                    "Hello! I am the assistant of the service-excellence campaign. An administrator can send "
                    "/bindgroup here to make this the campaign group."
                ),
            )
    await replies.deliver(update, context)


def _was_gone(change: ChatMemberUpdated) -> bool:
    return change.old_chat_member.status in GONE


async def _tell_admins(session: AsyncSession, context: BotContext, change: ChatMemberUpdated, replies: Replies) -> None:
    for chat_id in await members.list_admin_chat_ids(session=session, config_admins=context.settings.bot.admins):
        admin = await members.get_member_by_telegram_id(session=session, telegram_id=chat_id)
        tr = member_translator(context.settings, admin)
        replies.send(
            chat_id,
            tr.gettext(
                "I was removed from the campaign group “{title}”, so it is no longer bound. Add me to the group "
                "again and send /bindgroup there.",
                title=change.chat.title or str(change.chat.id),
            ),
        )


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    return [
        CommandHandler(BINDGROUP.name, cmd_bindgroup),
        CallbackQueryHandler(press_move, pattern=MoveGroup.pattern()),
        CallbackQueryHandler(press_keep, pattern=KeepGroup.pattern()),
        MessageHandler(filters.StatusUpdate.MIGRATE, on_migration),
        ChatMemberHandler(on_bot_membership, ChatMemberHandler.MY_CHAT_MEMBER),
    ]
