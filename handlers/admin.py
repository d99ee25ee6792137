"""/members: admins look people up and change their role or section, or deactivate them.

A deactivated member keeps their history but is no longer rated or reminded, and loses their menu. The member is
told of every change, and their command menu follows their new role.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.access import ADMIN_ONLY, PRIVATE, CommandSpec, audience_of
from bot.callbacks import CallbackData
from bot.context import BotContext
from bot.i18n import N_, Translator, escape
from handlers.common import (
    Refusal,
    Replies,
    Viewer,
    admin_viewer,
    button,
    chat_type,
    load_viewer,
    member_translator,
    navigation_row,
    paged_buttons,
    require,
    role_name,
    sender,
)
from handlers.presses import Press, on_press
from handlers.registration import Decide
from handlers.tasks import hand_back_tasks
from storage import audit, dialogs, invites, members, sections
from storage.models import Dialog, Member, MemberStatus, Role, Section

STEP_SEARCH = "members.search"
MEMBERS_COMMAND = CommandSpec(
    "members", N_("Find members; change their role, section or status"), ADMIN_ONLY, PRIVATE, takes_arguments=True
)
COMMANDS = (MEMBERS_COMMAND,)
N_NO_MEMBER = N_("That member does not exist. Send /members again.")
PER_PAGE = 8
STAFF_ROLES = (Role.STAFF, Role.HEAD, Role.LEADER, Role.ADMIN)
STATUS_NAMES = {
    MemberStatus.ACTIVE: N_("active"),
    MemberStatus.PENDING: N_("waiting for approval"),
    MemberStatus.REJECTED: N_("rejected"),
    MemberStatus.INACTIVE: N_("deactivated"),
}


@dataclass(frozen=True)
class MembersPage(CallbackData):
    PREFIX = "memp"
    page: int


@dataclass(frozen=True)
class OpenMember(CallbackData):
    PREFIX = "memo"
    member_id: int


@dataclass(frozen=True)
class SetRole(CallbackData):
    """Making someone an administrator is asked again first (`confirmed` on the second press)."""

    PREFIX = "memr"
    member_id: int
    role: Role
    confirmed: bool = False


@dataclass(frozen=True)
class MoveChoices(CallbackData):
    PREFIX = "memm"
    member_id: int
    page: int


@dataclass(frozen=True)
class MoveTo(CallbackData):
    PREFIX = "memt"
    member_id: int
    section_id: int


@dataclass(frozen=True)
class SetActive(CallbackData):
    """Deactivating is asked again first (`confirmed` on the second press)."""

    PREFIX = "mema"
    member_id: int
    active: bool
    confirmed: bool = False


def render_card(tr: Translator, member: Member, section: Section | None) -> str:
    lines = [
        f"<b>{escape(member.display_name)}</b>",
        tr.gettext("Role: {role}", role=role_name(tr, member.role)),
        tr.gettext("Section: {section}", section=section.name if section else "—"),
        tr.gettext("Status: {status}", status=tr.gettext(STATUS_NAMES[member.status])),
    ]
    if member.organisation:
        lines.append(tr.gettext("Organisation: {name}", name=member.organisation))
    if member.telegram_id is None:
        lines.append(tr.gettext("Has not started the bot yet."))
    elif member.username:
        lines.append(f"@{escape(member.username)}")
    return "\n".join(lines)


def card_keyboard(tr: Translator, member: Member) -> InlineKeyboardMarkup:
    member_id = member.id or 0
    rows = []
    if member.role != Role.INDUSTRY and member.status == MemberStatus.ACTIVE:
        rows.append(
            [
                button(("✓ " if member.role == role else "") + role_name(tr, role), SetRole(member_id, role).pack())
                for role in STAFF_ROLES
            ]
        )
        rows.append([button(tr.gettext("Move to another section"), MoveChoices(member_id, 0).pack())])
    if member.status == MemberStatus.PENDING:
        rows.append(
            [
                button(tr.gettext("Approve"), Decide(member_id, True).pack()),
                button(tr.gettext("Reject"), Decide(member_id, False).pack()),
            ]
        )
    if member.status == MemberStatus.ACTIVE:
        rows.append([button(tr.gettext("Deactivate"), SetActive(member_id, False).pack())])
    elif member.status == MemberStatus.INACTIVE:
        rows.append([button(tr.gettext("Reactivate"), SetActive(member_id, True).pack())])
    rows.append([button(tr.gettext("‹ All members"), MembersPage(0).pack())])
    return InlineKeyboardMarkup(rows)


def member_label(tr: Translator, member: Member, section_name: str) -> str:
    state = (
        role_name(tr, member.role) if member.status == MemberStatus.ACTIVE else tr.gettext(STATUS_NAMES[member.status])
    )
    return f"{member.display_name} · {section_name} · {state}"


async def list_page(session: AsyncSession, tr: Translator, page: int) -> tuple[str, InlineKeyboardMarkup]:
    """One page of members, read from the database a page at a time."""
    total = await members.count_members(session=session)
    pages = max(1, math.ceil(total / PER_PAGE))
    page = min(max(page, 0), pages - 1)
    found = await members.list_members(session=session, offset=page * PER_PAGE, limit=PER_PAGE)
    names = await _section_names(session)
    rows = [
        [
            button(
                member_label(tr, member, names.get(member.section_id, "—")),
                OpenMember(member.id or 0).pack(),
            )
        ]
        for member in found
    ]
    if pages > 1:
        rows.append(navigation_row(tr, page, pages, lambda number: MembersPage(number).pack()))
    text = tr.ngettext("{n} member. Choose one:", "{n} members. Choose one:", total)
    return text + "\n" + tr.gettext("Or type part of a name to find someone."), InlineKeyboardMarkup(rows)


async def cmd_members(update: Update, context: BotContext) -> None:
    """Lists the members, paged; `/members NAME` finds by part of the name."""
    replies = Replies()
    async with context.db.transaction() as session:
        viewer = await load_viewer(session=session, context=context, user=sender(update))
        require(viewer, MEMBERS_COMMAND, chat_type(update))
        query = " ".join(context.args or [])[:64]
        if query:
            await find(session, context, query, replies)
        else:
            text, keyboard = await list_page(session, context.tr, 0)
            await dialogs.set_dialog(
                session=session, telegram_id=viewer.user.id, step=STEP_SEARCH, data={}, now=context.now()
            )
            replies.reply(text, keyboard)
    await replies.deliver(update, context)


async def ask_search(
    session: AsyncSession, context: BotContext, viewer: Viewer, dialog: Dialog, text: str, replies: Replies
) -> None:
    """Part of a name typed after /members."""
    require(viewer, MEMBERS_COMMAND, "private")
    await find(session, context, " ".join(text.split())[:64], replies)


async def find(session: AsyncSession, context: BotContext, query: str, replies: Replies) -> None:
    found = await members.find_members(session=session, name_part=query)
    if not found:
        replies.reply(context.tr.gettext("Nobody's name contains “{query}”.", query=query))
    else:
        names = await _section_names(session)
        rows = [
            [
                button(
                    member_label(context.tr, member, names.get(member.section_id, "—")),
                    OpenMember(member.id or 0).pack(),
                )
            ]
            for member in found[:20]
        ]
        replies.reply(context.tr.gettext("Found:"), InlineKeyboardMarkup(rows))


@on_press(MembersPage, who=admin_viewer, expired=N_NO_MEMBER)
async def press_page(press: Press[MembersPage]) -> None:
    session, context, replies, data = press.session, press.context, press.replies, press.data
    replies.edit(*await list_page(session, context.tr, data.page))


@on_press(OpenMember, who=admin_viewer, expired=N_NO_MEMBER)
async def press_open(press: Press[OpenMember]) -> None:
    session, context, replies, data = press.session, press.context, press.replies, press.data
    member = await _member(session, data.member_id)
    await _show_card(session, context.tr, member, replies)


@on_press(SetRole, who=admin_viewer, expired=N_NO_MEMBER)
async def press_role(press: Press[SetRole]) -> None:
    """Gives a member another role; they are told and their menu follows."""
    session, context, replies, viewer, data = press.session, press.context, press.replies, press.viewer, press.data
    member = await _member(session, data.member_id)
    if data.role not in STAFF_ROLES or member.role == Role.INDUSTRY or member.status != MemberStatus.ACTIVE:
        raise Refusal(N_("That change is not possible for this member."))
    if member.id == viewer.member_id and data.role != Role.ADMIN:
        raise Refusal(N_("You can't take away your own administrator role; ask another administrator."))
    if data.role == Role.HEAD and member.section_id is None:
        raise Refusal(N_("A head needs a section: move the member to a section first."))
    asking = data.role == Role.ADMIN and member.role != Role.ADMIN and not data.confirmed
    if asking:
        await _ask_first(
            session,
            context.tr,
            member,
            context.tr.gettext(
                "Make {name} an administrator? Administrators can change every member's role, void ratings "
                "and decide registrations.",
                name=member.display_name,
            ),
            button(
                context.tr.gettext("Yes, make them an administrator"),
                SetRole(member.id or 0, Role.ADMIN, True).pack(),
            ),
            replies,
        )
    elif member.role != data.role:
        old = member.role
        member.role = data.role
        await members.save_member(session=session, member=member)
        await audit.record_audit(
            session=session,
            actor_id=viewer.member_id,
            action="member.role",
            subject=f"member:{member.id}",
            detail=f"{old.value} → {member.role.value}",
        )
        _tell(
            context,
            member,
            replies,
            N_("An administrator changed your role: you are now {role}. Send /help to see what you can do."),
            role_key=member.role,
        )
    if not asking:
        replies.toast(context.tr.gettext("Saved."))
        await _show_card(session, context.tr, member, replies)


@on_press(MoveChoices, who=admin_viewer, expired=N_NO_MEMBER)
async def press_move_choices(press: Press[MoveChoices]) -> None:
    session, context, replies, data = press.session, press.context, press.replies, press.data
    member = await _member(session, data.member_id)
    choices = [section for section in await sections.list_sections(session=session) if section.id != member.section_id]
    if not choices:
        raise Refusal(N_("There is no other section to move to."))
    items = [(section.name, MoveTo(member.id or 0, section.id or 0).pack()) for section in choices]
    rows = paged_buttons(context.tr, items, data.page, lambda number: MoveChoices(member.id or 0, number).pack())
    rows.append([button(context.tr.gettext("‹ Back"), OpenMember(member.id or 0).pack())])
    replies.edit(
        context.tr.gettext("Move {name} to which section?", name=member.display_name), InlineKeyboardMarkup(rows)
    )


@on_press(MoveTo, who=admin_viewer, expired=N_NO_MEMBER)
async def press_move(press: Press[MoveTo]) -> None:
    """Moves a member to another section; they are told."""
    session, context, replies, viewer, data = press.session, press.context, press.replies, press.viewer, press.data
    member = await _member(session, data.member_id)
    section = await sections.get_section(session=session, section_id=data.section_id)
    if section is None or section.archived_at is not None or member.role == Role.INDUSTRY:
        raise Refusal(N_("That change is not possible for this member."))
    if member.section_id != section.id:
        left = member.section_id
        member.section_id = section.id
        await members.save_member(session=session, member=member)
        await audit.record_audit(
            session=session,
            actor_id=viewer.member_id,
            action="member.section",
            subject=f"member:{member.id}",
            detail=section.name,
        )
        _tell(
            context,
            member,
            replies,
            N_("An administrator moved you to {section}."),
            section=section.name,
        )
        if left is not None:
            await hand_back_tasks(session, context, member, left, viewer, replies)
    replies.toast(context.tr.gettext("Saved."))
    await _show_card(session, context.tr, member, replies)


@on_press(SetActive, who=admin_viewer, expired=N_NO_MEMBER)
async def press_active(press: Press[SetActive]) -> None:
    """Deactivates a member (history kept; no longer rated or reminded), or reactivates them."""
    session, context, replies, viewer, data = press.session, press.context, press.replies, press.viewer, press.data
    member = await _member(session, data.member_id)
    if member.id == viewer.member_id:
        raise Refusal(N_("You can't deactivate yourself; ask another administrator."))
    wanted = MemberStatus.ACTIVE if data.active else MemberStatus.INACTIVE
    if member.status not in (MemberStatus.ACTIVE, MemberStatus.INACTIVE):
        raise Refusal(N_("That change is not possible for this member."))
    asking = not data.active and member.status == MemberStatus.ACTIVE and not data.confirmed
    if asking:
        await _ask_first(
            session,
            context.tr,
            member,
            context.tr.gettext(
                "Deactivate {name}? They will no longer be rated or reminded and will lose their commands; their "
                "history is kept, and Reactivate brings them back.",
                name=member.display_name,
            ),
            button(context.tr.gettext("Yes, deactivate"), SetActive(member.id or 0, False, True).pack()),
            replies,
        )
    elif member.status != wanted:
        member.status = wanted
        await members.save_member(session=session, member=member)
        if not data.active:  # their personal link from the roster, and links they made, register no one now
            await invites.revoke_links_of_member(session=session, member_id=member.id or 0, now=context.now())
            if member.section_id is not None:
                await hand_back_tasks(session, context, member, member.section_id, viewer, replies)
        await audit.record_audit(
            session=session,
            actor_id=viewer.member_id,
            action="member.reactivated" if data.active else "member.deactivated",
            subject=f"member:{member.id}",
        )
        if data.active:
            _tell(
                context,
                member,
                replies,
                N_("An administrator reactivated your membership. Send /help to see what you can do."),
            )
        else:
            _tell(
                context,
                member,
                replies,
                N_("An administrator deactivated your membership of the campaign. Your history is kept."),
            )
    if not asking:
        replies.toast(context.tr.gettext("Saved."))
        await _show_card(session, context.tr, member, replies)


def _tell(
    context: BotContext, member: Member, replies: Replies, msgid: str, role_key: Role | None = None, **params: str
) -> None:
    """Tells the member in their language, and gives them the menu of their new role."""
    if member.telegram_id is None:
        return
    tr = member_translator(context.settings, member)
    if role_key is not None:
        params["role"] = role_name(tr, role_key)
    replies.send(member.telegram_id, tr.gettext(msgid, **params))
    replies.menu_for(
        member,
        audience_of(member, member.telegram_id, context.settings.bot.admins),
        context.settings.bot.default_language,
    )


async def _ask_first(
    session: AsyncSession, tr: Translator, member: Member, question: str, yes: InlineKeyboardButton, replies: Replies
) -> None:
    """The card with the question under it, the button that does it, and one back to the card: nothing changes."""
    keyboard = InlineKeyboardMarkup([[yes], [button(tr.gettext("‹ Back"), OpenMember(member.id or 0).pack())]])
    replies.edit(await _card_text(session, tr, member) + "\n\n" + question, keyboard)


async def _show_card(session: AsyncSession, tr: Translator, member: Member, replies: Replies) -> None:
    replies.edit(await _card_text(session, tr, member), card_keyboard(tr, member))


async def _card_text(session: AsyncSession, tr: Translator, member: Member) -> str:
    section = await sections.get_section(session=session, section_id=member.section_id) if member.section_id else None
    return render_card(tr, member, section)


async def _section_names(session: AsyncSession) -> dict[int | None, str]:
    return {
        section.id: section.name for section in await sections.list_sections(session=session, include_archived=True)
    }


async def _member(session: AsyncSession, member_id: int) -> Member:
    member = await members.get_member(session=session, member_id=member_id)
    if member is None:
        raise Refusal(N_NO_MEMBER)
    return member


TEXT_STEPS = {STEP_SEARCH: ask_search}


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    return [
        CommandHandler(MEMBERS_COMMAND.name, cmd_members),
        CallbackQueryHandler(press_page, pattern=MembersPage.pattern()),
        CallbackQueryHandler(press_open, pattern=OpenMember.pattern()),
        CallbackQueryHandler(press_role, pattern=SetRole.pattern()),
        CallbackQueryHandler(press_move_choices, pattern=MoveChoices.pattern()),
        CallbackQueryHandler(press_move, pattern=MoveTo.pattern()),
        CallbackQueryHandler(press_active, pattern=SetActive.pattern()),
    ]
