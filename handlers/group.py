"""The campaign group: bound with /bindgroup, followed when it becomes a supergroup, dropped when the bot leaves."""

from __future__ import annotations

import logging

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import ChatMemberUpdated, Update
from telegram.constants import ChatMemberStatus
from telegram.ext import BaseHandler, ChatMemberHandler, CommandHandler, MessageHandler, filters

from bot.access import ADMIN_ONLY, GROUPS, CommandSpec
from bot.context import BotContext, Services
from bot.i18n import N_
from handlers.common import Replies, chat_type, load_viewer, member_translator, require, sender
from storage import audit, groups, members

logger = logging.getLogger(__name__)

BINDGROUP = CommandSpec("bindgroup", N_("Make this group the campaign group"), ADMIN_ONLY, GROUPS)
COMMANDS = (BINDGROUP,)
GONE = {ChatMemberStatus.LEFT, ChatMemberStatus.BANNED}


async def cmd_bindgroup(update: Update, context: BotContext) -> None:
    """An admin makes this group the one where snapshots and nudges are posted."""
    chat = update.effective_chat
    assert chat is not None
    replies = Replies()
    async with context.db.transaction() as session:
        viewer = await load_viewer(session=session, context=context, user=sender(update))
        require(viewer, BINDGROUP, chat_type(update))  # in private: "works only in the campaign group"
        before = await groups.get_campaign_group(session=session)
        if before is not None and before.chat_id == chat.id:
            replies.reply(context.tr.gettext("This group already is the campaign group."))
        else:
            await groups.bind_campaign_group(
                session=session, chat_id=chat.id, title=chat.title or "", bound_by_id=viewer.member_id
            )
            await audit.record_audit(
                session=session, actor_id=viewer.member_id, action="group.bound", subject=f"chat:{chat.id}"
            )
            text: str = context.tr.gettext(
                "This group is now the campaign group: the leaderboard snapshots and reminders of the "
                "campaign will be posted here."
            )
            if before is not None:
                text += "\n" + context.tr.gettext("It replaces “{title}”.", title=before.title)
            replies.reply(text)
    await replies.deliver(update, context)


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
        MessageHandler(filters.StatusUpdate.MIGRATE, on_migration),
        ChatMemberHandler(on_bot_membership, ChatMemberHandler.MY_CHAT_MEMBER),
    ]
