"""/invite and /invites: invitation deep links for a section and a role, or for an industry rater.

Admins invite to any section (staff or head) and invite industry raters; heads invite to their own section.
A link carries an unguessable token stored in the database, with an expiry and a maximum number of uses, and
can be revoked. Following it is handled by registration.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.access import ADMINS_AND_HEADS, PRIVATE, Audience, CommandSpec
from bot.callbacks import CallbackData
from bot.context import BotContext
from bot.i18n import N_, Translator
from handlers.common import (
    Refusal,
    Replies,
    Viewer,
    button,
    chat_type,
    load_viewer,
    paged_buttons,
    require,
    role_name,
    sender,
)
from handlers.presses import Press, on_press
from storage import audit, invites, members, sections
from storage.models import Invite, InviteKind, Role, Section

INVITE = CommandSpec("invite", N_("Create an invitation link"), ADMINS_AND_HEADS, PRIVATE)
INVITES = CommandSpec("invites", N_("Your open invitation links"), ADMINS_AND_HEADS, PRIVATE)
COMMANDS = (INVITE, INVITES)
INVITE_ROLES = (Role.STAFF, Role.HEAD, Role.INDUSTRY)
LIST_LIMIT = 15
N_EXPIRED = N_("This button has expired. Send /invite again.")
N_HEADS_INVITE_STAFF = N_("Section heads can invite staff to their own section; ask an administrator for more.")


@dataclass(frozen=True)
class ChooseRole(CallbackData):
    PREFIX = "invk"
    role: Role


@dataclass(frozen=True)
class SectionPage(CallbackData):
    PREFIX = "invp"
    role: Role
    page: int


@dataclass(frozen=True)
class ForSection(CallbackData):
    PREFIX = "invs"
    role: Role
    section_id: int


@dataclass(frozen=True)
class Revoke(CallbackData):
    PREFIX = "invr"
    invite_id: int


def invite_link(bot_username: str, invite: Invite) -> str:
    return f"https://t.me/{bot_username}?start=i_{invite.token}"


def render_invite(tr: Translator, invite: Invite, section: Section | None, link: str, tz: dt.tzinfo) -> str:
    if invite.role == Role.INDUSTRY:
        who = tr.gettext("an industry rater")
    else:
        who = tr.gettext(
            "{role} of {section}", role=role_name(tr, invite.role), section=section.name if section else "—"
        )
    return tr.ngettext(
        "Invitation for {who}:\n{link}\n\nValid until {until}, for {n} person. Forward it to them.",
        "Invitation for {who}:\n{link}\n\nValid until {until}, for up to {n} people. Forward it to them.",
        invite.max_uses - invite.uses,
        who=who,
        link=link,
        until=invite.expires_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
    )


def render_invite_line(tr: Translator, invite: Invite, who: str, bot_username: str, tz: dt.tzinfo) -> str:
    return tr.gettext(
        "#{id} {who}: used {uses} of {max_uses}, valid until {until}\n{link}",
        id=invite.id,
        who=who,
        uses=invite.uses,
        max_uses=invite.max_uses,
        until=invite.expires_at.astimezone(tz).strftime("%Y-%m-%d"),
        link=invite_link(bot_username, invite),
    )


async def describe_invite(session: AsyncSession, tr: Translator, invite: Invite) -> str:
    """Whom the link is for: an industry rater, a role in a section, or one person of the roster."""
    if invite.kind == InviteKind.PERSONAL:
        person = await members.get_member(session=session, member_id=invite.member_id or 0)
        return tr.gettext("personal link of {name}", name=person.display_name if person else "?")
    if invite.role == Role.INDUSTRY:
        return tr.gettext("industry rater")
    section = await sections.get_section(session=session, section_id=invite.section_id or 0)
    return tr.gettext("{role} of {section}", role=role_name(tr, invite.role), section=section.name if section else "—")


def role_keyboard(tr: Translator, viewer: Viewer) -> InlineKeyboardMarkup:
    roles = INVITE_ROLES if viewer.audience == Audience.ADMIN else (Role.STAFF,)
    labels = {
        Role.STAFF: tr.gettext("Staff of a section"),
        Role.HEAD: tr.gettext("Head of a section"),
        Role.INDUSTRY: tr.gettext("Industry rater"),
    }
    return InlineKeyboardMarkup([[button(labels[role], ChooseRole(role).pack())] for role in roles])


async def cmd_invite(update: Update, context: BotContext) -> None:
    """Asks an admin whom the invitation is for; a head, who invites staff to their own section only, gets the
    link at once."""
    replies = Replies()
    async with context.db.transaction() as session:
        viewer = await load_viewer(session=session, context=context, user=sender(update))
        require(viewer, INVITE, chat_type(update))
        if viewer.audience == Audience.HEAD and viewer.member is not None:
            await _create(session, context, viewer, Role.STAFF, viewer.member.section_id, replies)
        else:
            replies.reply(context.tr.gettext("Whom is the invitation for?"), role_keyboard(context.tr, viewer))
    await replies.deliver(update, context)


async def _inviter(session: AsyncSession, context: BotContext, update: Update) -> Viewer:
    viewer = await load_viewer(session=session, context=context, user=sender(update))
    if viewer.audience not in ADMINS_AND_HEADS:
        raise Refusal(N_("Only administrators and section heads can do that."))
    return viewer


@on_press(ChooseRole, who=_inviter, expired=N_EXPIRED)
async def press_role(press: Press[ChooseRole]) -> None:
    """Industry raters get their link at once; staff and heads need a section (a head's own, for heads)."""
    viewer, role = press.viewer, press.data.role
    if role not in INVITE_ROLES:
        raise Refusal(N_EXPIRED)
    if viewer.audience != Audience.ADMIN and role != Role.STAFF:
        raise Refusal(N_HEADS_INVITE_STAFF)
    if role == Role.INDUSTRY:
        await _create(press.session, press.context, viewer, Role.INDUSTRY, None, press.replies)
    elif viewer.audience == Audience.HEAD:
        assert viewer.member is not None
        await _create(press.session, press.context, viewer, role, viewer.member.section_id, press.replies)
    else:
        await _offer_sections(press.session, press.context, role, 0, press.replies)


@on_press(SectionPage, who=_inviter, expired=N_EXPIRED)
async def press_section_page(press: Press[SectionPage]) -> None:
    if press.viewer.audience != Audience.ADMIN:
        raise Refusal(N_EXPIRED)
    await _offer_sections(press.session, press.context, press.data.role, press.data.page, press.replies)


@on_press(ForSection, who=_inviter, expired=N_EXPIRED)
async def press_section(press: Press[ForSection]) -> None:
    viewer, role = press.viewer, press.data.role
    if role not in (Role.STAFF, Role.HEAD):
        raise Refusal(N_EXPIRED)
    if viewer.audience != Audience.ADMIN and role != Role.STAFF:
        raise Refusal(N_HEADS_INVITE_STAFF)
    await _create(press.session, press.context, viewer, role, press.data.section_id, press.replies)


async def _offer_sections(session: AsyncSession, context: BotContext, role: Role, page: int, replies: Replies) -> None:
    tr = context.tr
    choices = await sections.list_sections(session=session)
    if not choices:
        raise Refusal(N_("There are no sections yet. Add one with /sections first."))
    items = [(section.name, ForSection(role, section.id or 0).pack()) for section in choices]
    rows = paged_buttons(tr, items, page, lambda number: SectionPage(role, number).pack())
    replies.edit(tr.gettext("For which section?"), InlineKeyboardMarkup(rows))


async def _create(
    session: AsyncSession, context: BotContext, viewer: Viewer, role: Role, section_id: int | None, replies: Replies
) -> None:
    """Checks the inviter may invite there, then makes the link."""
    section = None
    if role != Role.INDUSTRY:
        section = await sections.get_section(session=session, section_id=section_id or 0)
        if section is None or section.archived_at is not None:
            raise Refusal(N_("That section is not open. Send /invite again."))
        if viewer.audience == Audience.HEAD and (viewer.member is None or viewer.member.section_id != section.id):
            raise Refusal(N_("Heads can invite only to their own section."))
    settings = context.settings.invites
    invite = await invites.create_invite(
        session=session,
        kind=InviteKind.INDUSTRY if role == Role.INDUSTRY else InviteKind.MEMBER,
        role=role,
        section_id=section.id if section else None,
        created_by_id=viewer.member_id,
        expires_at=context.now() + dt.timedelta(days=settings.valid_days),
        max_uses=settings.max_uses if role == Role.STAFF else 1,
    )
    await audit.record_audit(
        session=session,
        actor_id=viewer.member_id,
        action="invite.created",
        subject=f"invite:{invite.id}",
        detail=f"{role.value} {section.name if section else ''}",
    )
    link = invite_link(context.bot.username, invite)
    keyboard = InlineKeyboardMarkup([[button(context.tr.gettext("Revoke this link"), Revoke(invite.id or 0).pack())]])
    text = render_invite(context.tr, invite, section, link, context.settings.tz)
    if await invites.needs_approval(session=session, invite=invite, config_admins=context.settings.bot.admins):
        text += "\n" + context.tr.gettext("Whoever joins through it waits for an administrator's approval.")
    replies.edit(text, keyboard)


async def cmd_invites(update: Update, context: BotContext) -> None:
    """Lists the open invitation links (admins: all; heads: their own), each with a Revoke button."""
    replies = Replies()
    async with context.db.transaction() as session:
        viewer = await load_viewer(session=session, context=context, user=sender(update))
        require(viewer, INVITES, chat_type(update))
        mine = None if viewer.audience == Audience.ADMIN else viewer.member_id
        open_invites = await invites.list_open_invites(session=session, now=context.now(), created_by_id=mine)
        tr = context.tr
        if not open_invites:
            replies.reply(tr.gettext("There are no open invitation links. Create one with /invite."))
        else:
            shown = open_invites[:LIST_LIMIT]
            lines: list[str] = [tr.gettext("<b>Open invitation links</b>")]
            for invite in shown:
                who = await describe_invite(session, tr, invite)
                lines.append(render_invite_line(tr, invite, who, context.bot.username, context.settings.tz))
            if len(open_invites) > LIST_LIMIT:
                lines.append(tr.gettext("… and {n} more.", n=len(open_invites) - LIST_LIMIT))
            rows = [
                [button(tr.gettext("Revoke #{id}", id=invite.id), Revoke(invite.id or 0).pack())] for invite in shown
            ]
            replies.reply("\n\n".join(lines), InlineKeyboardMarkup(rows))
    await replies.deliver(update, context)


@on_press(Revoke, who=_inviter, expired=N_("That invitation link does not exist."))
async def press_revoke(press: Press[Revoke]) -> None:
    """Revokes a link: admins any, heads their own. Nothing else changes."""
    session, viewer, tr = press.session, press.viewer, press.tr
    invite = await invites.get_invite(session=session, invite_id=press.data.invite_id)
    if invite is None or (invite.kind == InviteKind.PERSONAL and viewer.audience != Audience.ADMIN):
        raise Refusal(N_("That invitation link does not exist."))
    if viewer.audience != Audience.ADMIN and invite.created_by_id != viewer.member_id:
        raise Refusal(N_("You can revoke only the links you made."))
    await invites.revoke_invite(session=session, invite=invite, now=press.context.now())
    await audit.record_audit(
        session=session, actor_id=viewer.member_id, action="invite.revoked", subject=f"invite:{invite.id}"
    )
    press.replies.toast(tr.gettext("Revoked: the link no longer works."), alert=True)
    press.replies.edit(tr.gettext("Invitation #{id} was revoked; its link no longer works.", id=invite.id))


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    return [
        CommandHandler(INVITE.name, cmd_invite),
        CommandHandler(INVITES.name, cmd_invites),
        CallbackQueryHandler(press_role, pattern=ChooseRole.pattern()),
        CallbackQueryHandler(press_section_page, pattern=SectionPage.pattern()),
        CallbackQueryHandler(press_section, pattern=ForSection.pattern()),
        CallbackQueryHandler(press_revoke, pattern=Revoke.pattern()),
    ]
