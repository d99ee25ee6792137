"""Joining the campaign: /start, registration with an administrator's approval, invitation links, /whoami.

A newcomer chooses their section, gives the name colleagues will see and sends the request; the admins get it
with Approve / Reject buttons and the applicant is told the outcome. An invitation link registers straight away.
A member of the imported roster is recognised by their Telegram username.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import InlineKeyboardMarkup, Update
from telegram.constants import ChatType
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot.access import ANY_CHAT, EVERYONE, MEMBERS, PRIVATE, Audience, CommandSpec
from bot.callbacks import CallbackData
from bot.config import Settings
from bot.context import BotContext
from bot.i18n import N_, Translator
from handlers import ratings, reviews
from handlers.common import (
    N_DEACTIVATED,
    N_ORGANISATION_TOO_LONG,
    Refusal,
    Replies,
    Viewer,
    admin_viewer,
    button,
    chat_type,
    clean_name,
    load_viewer,
    member_translator,
    paged_buttons,
    profile_name,
    require,
    role_name,
    sender,
)
from handlers.help import private_chat_button
from handlers.presses import Press, anyone, on_press
from storage import audit, dialogs, invites, members, sections
from storage.invites import InviteProblem
from storage.models import Dialog, Invite, InviteKind, Member, MemberStatus, Role, Section

START = CommandSpec("start", N_("Welcome and your next step"), EVERYONE, ANY_CHAT, takes_arguments=True)
WHOAMI = CommandSpec("whoami", N_("Your profile: name, section and role"), MEMBERS | {Audience.PENDING}, PRIVATE)
CANCEL = CommandSpec("cancel", N_("Stop what you are doing"), EVERYONE, PRIVATE, in_menu=False)
COMMANDS = (START, WHOAMI, CANCEL)
N_EXPIRED = N_("This button has expired. Send /start to begin again.")
N_NO_REQUEST = N_("This request no longer exists.")
N_NO_SECTION = N_("That section is no longer open for registration. Send /start to choose again.")

INVITE_PAYLOAD = re.compile(r"^i_(.*)$")
TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{10,40}$")
STEP_SECTION = "register.section"  # the list of sections is shown: a typed text is not a name yet
STEP_NAME = "register.name"
STEP_CONFIRM = "register.confirm"
STEP_ORGANISATION = "invite.organisation"
STEP_PROFILE_NAME = "profile.name"

N_RENAME_HINT = N_("To change the name colleagues see, send /whoami.")
INVITE_PROBLEMS = {
    InviteProblem.UNKNOWN: N_("This invitation link is not valid. Ask whoever sent it for a new one."),
    InviteProblem.EXPIRED: N_("This invitation link has expired. Ask whoever sent it for a new one."),
    InviteProblem.USED_UP: N_("This invitation link has already been used up. Ask whoever sent it for a new one."),
    InviteProblem.REVOKED: N_("This invitation link was withdrawn. Ask whoever sent it for a new one."),
}


@dataclass(frozen=True)
class PickSection(CallbackData):
    PREFIX = "reg"
    section_id: int


@dataclass(frozen=True)
class SectionPage(CallbackData):
    PREFIX = "regp"
    page: int


@dataclass(frozen=True)
class UseTelegramName(CallbackData):
    PREFIX = "regn"


@dataclass(frozen=True)
class KeepName(CallbackData):
    PREFIX = "regk"


@dataclass(frozen=True)
class SendRequest(CallbackData):
    PREFIX = "regok"


@dataclass(frozen=True)
class StopRegistration(CallbackData):
    PREFIX = "regx"


@dataclass(frozen=True)
class ChangeName(CallbackData):
    PREFIX = "myname"


@dataclass(frozen=True)
class Decide(CallbackData):
    PREFIX = "appr"
    member_id: int
    approve: bool


# --- texts and keyboards ---------------------------------------------------------------------------------------


def render_intro(tr: Translator, settings: Settings) -> str:
    return tr.gettext(
        "<b>Welcome to Shuangyou (双优)</b>, the assistant of the campaign “{campaign}”.\n\n"
        "Sections and stations keep their service commitments and deadlines here, colleagues and the people "
        "they serve rate them on the campaign's five standards, and everyone can follow the ranking.",
        campaign=settings.campaign.title(tr.language),
    )


def render_member(tr: Translator, member: Member, section: Section | None) -> str:
    if member.role == Role.INDUSTRY:
        return tr.gettext(
            "You are registered as {name} of {organisation}, {role}. Send /help to see what you can do.",
            name=member.display_name,
            organisation=member.organisation or "?",
            role=role_name(tr, member.role),
        )
    if section is None:
        return tr.gettext(
            "You are registered as {name}, {role}. Send /help to see what you can do.",
            name=member.display_name,
            role=role_name(tr, member.role),
        )
    return tr.gettext(
        "You are registered as {name}, {role} of {section}. Send /help to see what you can do.",
        name=member.display_name,
        role=role_name(tr, member.role),
        section=section.name,
    )


def section_keyboard(tr: Translator, choices: list[Section], page: int) -> InlineKeyboardMarkup:
    items = [(section.name, PickSection(section.id or 0).pack()) for section in choices]
    rows = paged_buttons(tr, items, page, lambda number: SectionPage(number).pack())
    rows.append([button(tr.gettext("Cancel"), StopRegistration().pack())])
    return InlineKeyboardMarkup(rows)


def name_keyboard(tr: Translator, telegram_name: str, kept_name: str = "") -> InlineKeyboardMarkup:
    """Telegram's name, and the name given before when the applicant came back by Change."""
    kept = [[button(tr.gettext("Keep “{name}”", name=kept_name[:40]), KeepName().pack())]] if kept_name else []
    return InlineKeyboardMarkup(
        [
            *kept,
            [button(tr.gettext("Use “{name}”", name=telegram_name[:40]), UseTelegramName().pack())],
            [button(tr.gettext("Choose another section"), SectionPage(0).pack())],
            [button(tr.gettext("Cancel"), StopRegistration().pack())],
        ]
    )


def confirm_keyboard(tr: Translator) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [button(tr.gettext("Send the request"), SendRequest().pack())],
            [
                button(tr.gettext("Change"), SectionPage(0).pack()),
                button(tr.gettext("Cancel"), StopRegistration().pack()),
            ],
        ]
    )


def decision_keyboard(tr: Translator, member_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                button(tr.gettext("Approve"), Decide(member_id, True).pack()),
                button(tr.gettext("Reject"), Decide(member_id, False).pack()),
            ]
        ]
    )


# --- /start ------------------------------------------------------------------------------------------------------


async def cmd_start(update: Update, context: BotContext) -> None:
    """Welcomes the user and leads them to the next step: registration, waiting, or /help."""
    user, message = sender(update), update.effective_message
    assert message is not None
    if message.chat.type != ChatType.PRIVATE:
        await message.reply_text(
            context.tr.gettext("Let's talk in private: registration and ratings are never done in the group."),
            reply_markup=private_chat_button(context.tr, context.bot.username),
        )
        return
    replies = Replies()
    async with context.db.transaction() as session:
        viewer = await load_viewer(session=session, context=context, user=user)
        payload = context.args[0] if context.args else ""
        if match := INVITE_PAYLOAD.match(payload):
            await follow_invite(session, context, viewer, match.group(1), replies)
        elif match := reviews.REVIEW_PAYLOAD.match(payload):
            await reviews.begin_review(session, context, viewer, match.group(1), replies)
        elif payload == ratings.DEEP_LINK and viewer.audience in MEMBERS:
            await ratings.begin(session, context, viewer, replies)
        else:
            await greet(session, context, viewer, replies)
    await replies.deliver(update, context)


async def greet(session: AsyncSession, context: BotContext, viewer: Viewer, replies: Replies) -> None:
    """Members get where they stand; newcomers get the introduction and the sections to choose from."""
    tr, settings = context.tr, context.settings
    member = viewer.member
    if viewer.audience == Audience.ADMIN and (member is None or member.status != MemberStatus.ACTIVE):
        member = await members.ensure_config_admin(
            session=session,
            telegram_id=viewer.user.id,
            display_name=profile_name(viewer.user),
            language=context.language,
        )
        replies.menu_for(member, Audience.ADMIN, settings.bot.default_language)
        replies.reply(render_intro(tr, settings) + "\n\n" + render_member(tr, member, None))
        return
    if viewer.audience == Audience.OUTSIDER and member is None and viewer.user.username:
        member = await bind_roster_member(session, context, viewer, replies)
        if member is not None:
            section = await _section_of(session, member)
            replies.reply(render_intro(tr, settings) + "\n\n" + render_member(tr, member, section))
            return
    if member is not None and member.status == MemberStatus.INACTIVE:
        replies.reply(tr.gettext(N_DEACTIVATED))
    elif member is not None and member.status == MemberStatus.ACTIVE:
        replies.reply(render_member(tr, member, await _section_of(session, member)))
    elif viewer.audience == Audience.PENDING:
        replies.reply(
            tr.gettext(
                "Your registration is waiting for an administrator's approval. I will tell you here as soon "
                "as it is decided."
            )
        )
    else:
        await offer_sections(session, context, viewer, replies, intro=render_intro(tr, settings))


async def bind_roster_member(
    session: AsyncSession, context: BotContext, viewer: Viewer, replies: Replies
) -> Member | None:
    """A member of the imported roster, recognised by username, is linked to this Telegram account."""
    assert viewer.user.username is not None
    member = await members.get_unbound_member_by_username(session=session, username=viewer.user.username)
    if member is None:
        return None
    member.telegram_id = viewer.user.id
    member.language = member.language or context.language
    await members.save_member(session=session, member=member)
    await audit.record_audit(
        session=session, actor_id=member.id, action="roster.matched", subject=f"member:{member.id}"
    )
    replies.menu_for(member, Audience(member.role.value), context.settings.bot.default_language)
    return member


async def offer_sections(
    session: AsyncSession, context: BotContext, viewer: Viewer, replies: Replies, *, intro: str = ""
) -> None:
    tr = context.tr
    choices = await sections.list_sections(session=session)
    head = f"{intro}\n\n" if intro else ""
    if not choices:
        replies.reply(
            head
            + tr.gettext(
                "You are not registered yet, and no sections have been set up for the campaign so far. "
                "Please ask an administrator, then send /start again."
            )
        )
        return
    await _choosing_section(session, context, viewer)
    replies.edit(
        head + tr.gettext("You are not registered yet. To register, choose your section:"),
        section_keyboard(tr, choices, 0),
    )


async def _choosing_section(session: AsyncSession, context: BotContext, viewer: Viewer) -> None:
    """The sections are shown: a section chosen before is forgotten (Back, Change), a name given is kept to be
    offered again, and typed text asks to choose."""
    earlier = await dialogs.get_dialog(session=session, telegram_id=viewer.user.id, now=context.now())
    name = _kept_name(earlier)
    await dialogs.set_dialog(
        session=session, telegram_id=viewer.user.id, step=STEP_SECTION, data={"name": name}, now=context.now()
    )


def _kept_name(dialog: Dialog | None) -> str:
    """The name the applicant gave before going back to the sections (Change at the confirmation)."""
    if dialog is None or dialog.step not in (STEP_SECTION, STEP_CONFIRM):
        return ""
    return str(dialog.data.get("name", ""))


async def _section_of(session: AsyncSession, member: Member) -> Section | None:
    if member.section_id is None:
        return None
    return await sections.get_section(session=session, section_id=member.section_id)


def _require_applicant(viewer: Viewer) -> None:
    if viewer.audience == Audience.PENDING:
        raise Refusal(N_("Your registration is already waiting for approval."))
    if viewer.audience != Audience.OUTSIDER:
        raise Refusal(N_("You are already registered. Send /whoami to see your profile."))


async def _applicant(session: AsyncSession, context: BotContext, update: Update) -> Viewer:
    viewer = await anyone(session, context, update)
    _require_applicant(viewer)
    return viewer


# --- registration with approval ----------------------------------------------------------------------------------


@on_press(SectionPage, who=_applicant, expired=N_EXPIRED)
async def press_section_page(press: Press[SectionPage]) -> None:
    """Shows another page of sections (also: back to choosing a section)."""
    choices = await sections.list_sections(session=press.session)
    if not choices:
        raise Refusal(N_EXPIRED)
    await _choosing_section(press.session, press.context, press.viewer)
    press.replies.edit(
        press.tr.gettext("To register, choose your section:"), section_keyboard(press.tr, choices, press.data.page)
    )


@on_press(PickSection, who=_applicant, expired=N_NO_SECTION)
async def press_section(press: Press[PickSection]) -> None:
    """The applicant chose a section; next, the name colleagues will see."""
    session, context, viewer = press.session, press.context, press.viewer
    section = await _open_section(session, press.data.section_id)
    earlier = await dialogs.get_dialog(session=session, telegram_id=viewer.user.id, now=context.now())
    kept_name = _kept_name(earlier)  # back here by Change at the confirmation: offered again
    await dialogs.set_dialog(
        session=session,
        telegram_id=viewer.user.id,
        step=STEP_NAME,
        data={"section_id": section.id, "name": kept_name},
        now=context.now(),
    )
    press.replies.edit(
        press.tr.gettext(
            "Section: <b>{section}</b>\n\nWhat name should your colleagues see? Type it, or use your Telegram name.",
            section=section.name,
        ),
        name_keyboard(press.tr, profile_name(viewer.user), kept_name),
    )


async def ask_section_choice(
    session: AsyncSession, context: BotContext, viewer: Viewer, dialog: Dialog, text: str, replies: Replies
) -> None:
    """Text typed while the sections are shown: a section is chosen from the list first."""
    _require_applicant(viewer)
    replies.reply(context.tr.gettext("Please choose your section from the list above first, or send /cancel."))


async def ask_name(
    session: AsyncSession, context: BotContext, viewer: Viewer, dialog: Dialog, text: str, replies: Replies
) -> None:
    """The applicant typed their name."""
    await _take_name(session, context, viewer, int(dialog.data.get("section_id", 0)), clean_name(text), replies)


async def _telegram_or_kept_name(press: Press[UseTelegramName] | Press[KeepName], keep: bool) -> None:
    """The applicant takes their Telegram name as their display name, or (Keep) the name they gave before."""
    session, context, viewer = press.session, press.context, press.viewer
    dialog = await _dialog_at(session, context, viewer, STEP_NAME)
    name = str(dialog.data.get("name", "")) if keep else profile_name(viewer.user)
    if not name:
        raise Refusal(N_EXPIRED)
    section_id = int(dialog.data.get("section_id", 0))
    await _take_name(session, context, viewer, section_id, clean_name(name), press.replies)


@on_press(UseTelegramName, who=_applicant, expired=N_EXPIRED)
async def press_telegram_name(press: Press[UseTelegramName]) -> None:
    await _telegram_or_kept_name(press, keep=False)


@on_press(KeepName, who=_applicant, expired=N_EXPIRED)
async def press_keep_name(press: Press[KeepName]) -> None:
    await _telegram_or_kept_name(press, keep=True)


async def _take_name(
    session: AsyncSession, context: BotContext, viewer: Viewer, section_id: int, name: str, replies: Replies
) -> None:
    _require_applicant(viewer)
    section = await _open_section(session, section_id)
    await dialogs.set_dialog(
        session=session,
        telegram_id=viewer.user.id,
        step=STEP_CONFIRM,
        data={"section_id": section.id, "name": name},
        now=context.now(),
    )
    replies.edit(
        context.tr.gettext(
            "Please check your request:\n\nName: <b>{name}</b>\nSection: <b>{section}</b>\n\n"
            "An administrator will approve it.",
            name=name,
            section=section.name,
        ),
        confirm_keyboard(context.tr),
    )


@on_press(SendRequest, who=_applicant, expired=N_EXPIRED)
async def press_send_request(press: Press[SendRequest]) -> None:
    """The applicant confirms: the request goes to every admin with Approve / Reject."""
    session, context, viewer = press.session, press.context, press.viewer
    dialog = await _dialog_at(session, context, viewer, STEP_CONFIRM)
    section = await _open_section(session, int(dialog.data.get("section_id", 0)))
    name = str(dialog.data.get("name", ""))
    member = await _request_membership(session, context, viewer, section, name, detail=section.name)
    press.replies.edit(await ask_admins(session, context, member, section, press.replies))


async def _request_membership(
    session: AsyncSession, context: BotContext, viewer: Viewer, section: Section, name: str, *, detail: str
) -> Member:
    """The applicant's pending membership of the section, recorded; the dialog that led to it is over."""
    member = await members.apply_for_membership(
        session=session,
        telegram_id=viewer.user.id,
        display_name=name,
        section_id=section.id or 0,
        language=context.language,
        username=viewer.user.username,
    )
    await dialogs.clear_dialog(session=session, telegram_id=viewer.user.id)
    await audit.record_audit(
        session=session,
        actor_id=member.id,
        action="registration.requested",
        subject=f"member:{member.id}",
        detail=detail,
    )
    return member


async def ask_admins(
    session: AsyncSession,
    context: BotContext,
    member: Member,
    section: Section,
    replies: Replies,
    *,
    invited_by: Member | None = None,
) -> str:
    """Sends a pending member's request to every admin with Approve / Reject; returns what to tell the applicant."""
    admins = await members.list_admin_chat_ids(session=session, config_admins=context.settings.bot.admins)
    for admin_chat_id in admins:
        admin = await members.get_member_by_telegram_id(session=session, telegram_id=admin_chat_id)
        tr = member_translator(context.settings, admin)
        text = render_request(tr, member, section)
        if invited_by is not None:
            text += "\n" + tr.gettext("Invited by {name} (a section head's link)", name=invited_by.display_name)
        replies.send(admin_chat_id, text, decision_keyboard(tr, member.id or 0))
    if not admins:
        return context.tr.gettext(
            "Your request is recorded, but the campaign has no administrator yet. Please tell the organisers."
        )
    return context.tr.gettext(
        "Your request has been sent to the administrators. I will tell you here as soon as it is decided."
    )


def render_request(tr: Translator, member: Member, section: Section) -> str:
    telegram = f"@{member.username}" if member.username else tr.gettext("id {id} (no username)", id=member.telegram_id)
    return tr.gettext(
        "<b>New registration</b>\nName: {name}\nSection: {section}\nTelegram: {telegram}",
        name=member.display_name,
        section=section.name,
        telegram=telegram,
    )


@on_press(StopRegistration, expired=N_EXPIRED)
async def press_stop(press: Press[StopRegistration]) -> None:
    """The applicant cancels the registration; nothing is kept (a dialog of another kind stays)."""
    await dialogs.clear_dialog(
        session=press.session, telegram_id=press.viewer.user.id, steps=(STEP_SECTION, STEP_NAME, STEP_CONFIRM)
    )
    press.replies.edit(press.tr.gettext("Registration cancelled. Send /start whenever you want to register."))


@on_press(Decide, who=admin_viewer, expired=N_NO_REQUEST)
async def press_decide(press: Press[Decide]) -> None:
    """An admin approves or rejects a registration; the applicant is told."""
    session, context = press.session, press.context
    applicant = await members.get_member(session=session, member_id=press.data.member_id)
    if applicant is None:
        raise Refusal(N_NO_REQUEST)
    section = await _section_of(session, applicant)
    if applicant.status != MemberStatus.PENDING:
        press.replies.toast(press.tr.gettext("This request was already decided."), alert=True)
        press.replies.edit(render_decided(press.tr, applicant, section))
    else:
        await decide(session, context, press.viewer, applicant, section, press.data.approve, press.replies)


async def decide(
    session: AsyncSession,
    context: BotContext,
    viewer: Viewer,
    applicant: Member,
    section: Section | None,
    approve: bool,
    replies: Replies,
) -> None:
    applicant.status = MemberStatus.ACTIVE if approve else MemberStatus.REJECTED
    await members.save_member(session=session, member=applicant)
    await audit.record_audit(
        session=session,
        actor_id=viewer.member_id,
        action="registration.approved" if approve else "registration.rejected",
        subject=f"member:{applicant.id}",
    )
    replies.edit(render_decided(context.tr, applicant, section, by=profile_name(viewer.user)))
    if applicant.telegram_id is None:
        return
    tr = member_translator(context.settings, applicant)
    if approve:
        text = tr.gettext(
            "Your registration was approved. Welcome to the campaign, {name}! Send /help to see what you can do.",
            name=applicant.display_name,
        )
        replies.menu_for(applicant, Audience.STAFF, context.settings.bot.default_language)
    else:
        text = tr.gettext(
            "Your registration was not approved. If you think this is a mistake, talk to your administrator; "
            "you can apply again with /start."
        )
    replies.send(applicant.telegram_id, text)


def render_decided(tr: Translator, applicant: Member, section: Section | None, by: str = "") -> str:
    if applicant.status == MemberStatus.ACTIVE:
        verdict = tr.gettext("✅ Approved")
    elif applicant.status == MemberStatus.REJECTED:
        verdict = tr.gettext("❌ Rejected")
    else:
        verdict = tr.gettext("Changed since")
    by_line = tr.gettext(" by {name}", name=by) if by else ""
    return tr.gettext(
        "{verdict}{by}: {name}, {section}",
        verdict=verdict,
        by=by_line,
        name=applicant.display_name,
        section=section.name if section else "—",
    )


async def _open_section(session: AsyncSession, section_id: int) -> Section:
    section = await sections.get_section(session=session, section_id=section_id)
    if section is None or section.archived_at is not None:
        raise Refusal(N_NO_SECTION)
    return section


async def _dialog_at(session: AsyncSession, context: BotContext, viewer: Viewer, step: str) -> Dialog:
    dialog = await dialogs.get_dialog(session=session, telegram_id=viewer.user.id, now=context.now())
    if dialog is None or dialog.step != step:
        raise Refusal(N_EXPIRED)
    return dialog


# --- invitation links --------------------------------------------------------------------------------------------


async def follow_invite(
    session: AsyncSession, context: BotContext, viewer: Viewer, token: str, replies: Replies
) -> None:
    """`/start i_<token>`: registers straight away (industry raters first give their organisation)."""
    tr = context.tr
    if viewer.member is not None and viewer.member.status == MemberStatus.INACTIVE:
        replies.reply(tr.gettext(N_DEACTIVATED))
        return
    invite = await invites.find_invite(session=session, token=token) if TOKEN_SHAPE.match(token) else None
    problem = invites.invite_problem(invite, context.now())
    if problem is not None:
        replies.reply(tr.gettext(INVITE_PROBLEMS[problem]))
        return
    assert invite is not None
    if (viewer.member is not None and viewer.member.status == MemberStatus.ACTIVE) or viewer.audience == Audience.ADMIN:
        replies.reply(tr.gettext("You are already registered. Send /whoami to see your profile."))
        return
    if invite.kind == InviteKind.INDUSTRY:
        await dialogs.set_dialog(
            session=session,
            telegram_id=viewer.user.id,
            step=STEP_ORGANISATION,
            data={"invite_id": invite.id},
            now=context.now(),
        )
        replies.reply(
            render_intro(tr, context.settings)
            + "\n\n"
            + tr.gettext(
                "You are invited as an <b>industry rater</b>: you will rate the service of the bureau's sections. "
                "Please type the name of your organisation."
            )
        )
        return
    await join_by_invite(session, context, viewer, invite, organisation=None, replies=replies)


async def ask_organisation(
    session: AsyncSession, context: BotContext, viewer: Viewer, dialog: Dialog, text: str, replies: Replies
) -> None:
    """An invited industry rater typed their organisation's name."""
    organisation = clean_name(text, problem=N_ORGANISATION_TOO_LONG)
    invite = await invites.get_invite(session=session, invite_id=int(dialog.data.get("invite_id", 0)))
    problem = invites.invite_problem(invite, context.now())
    if problem is not None:
        await dialogs.clear_dialog(session=session, telegram_id=viewer.user.id)
        replies.reply(context.tr.gettext(INVITE_PROBLEMS[problem]))
        return
    assert invite is not None
    await join_by_invite(session, context, viewer, invite, organisation=organisation, replies=replies)


async def join_by_invite(
    session: AsyncSession,
    context: BotContext,
    viewer: Viewer,
    invite: Invite,
    *,
    organisation: str | None,
    replies: Replies,
) -> None:
    tr = context.tr
    if not await invites.take_invite_use(session=session, invite=invite, now=context.now()):
        replies.reply(tr.gettext(INVITE_PROBLEMS[InviteProblem.USED_UP]))
        return
    if await invites.needs_approval(session=session, invite=invite, config_admins=context.settings.bot.admins):
        await _apply_through_link(session, context, viewer, invite, replies)
        return
    member = await _member_for_invite(session, viewer, invite)
    member.status = MemberStatus.ACTIVE
    if invite.kind != InviteKind.PERSONAL:  # a roster entry keeps the role and section of the roster
        member.role, member.section_id = invite.role, invite.section_id
    member.organisation = organisation if invite.kind == InviteKind.INDUSTRY else member.organisation
    member.language = member.language or context.language
    await members.save_member(session=session, member=member)
    await dialogs.clear_dialog(session=session, telegram_id=viewer.user.id)
    await audit.record_audit(
        session=session,
        actor_id=member.id,
        action="invite.used",
        subject=f"member:{member.id}",
        detail=f"invite:{invite.id}",
    )
    section = await _section_of(session, member)
    intro = "" if organisation else render_intro(tr, context.settings) + "\n\n"
    rename = "" if invite.kind in (InviteKind.PERSONAL, InviteKind.INDUSTRY) else "\n" + tr.gettext(N_RENAME_HINT)
    replies.reply(intro + render_member(tr, member, section) + rename)
    replies.menu_for(member, Audience(member.role.value), context.settings.bot.default_language)


async def _apply_through_link(
    session: AsyncSession, context: BotContext, viewer: Viewer, invite: Invite, replies: Replies
) -> None:
    """A head's link: the newcomer's request goes to the admins, as a /start registration does, naming the head."""
    section = await _open_section(session, invite.section_id or 0)
    member = await _request_membership(
        session, context, viewer, section, profile_name(viewer.user), detail=f"{section.name} invite:{invite.id}"
    )
    maker = await members.get_member(session=session, member_id=invite.created_by_id or 0)
    answer = await ask_admins(session, context, member, section, replies, invited_by=maker)
    replies.reply(render_intro(context.tr, context.settings) + "\n\n" + answer)


async def _member_for_invite(session: AsyncSession, viewer: Viewer, invite: Invite) -> Member:
    """The member row this invitation fills: the roster's for a personal link, else the user's own or a new one."""
    if invite.kind == InviteKind.PERSONAL and invite.member_id is not None:
        member = await members.get_member(session=session, member_id=invite.member_id)
        assert member is not None
        if member.status == MemberStatus.INACTIVE:  # deactivated after the link was made: it no longer registers
            raise Refusal(INVITE_PROBLEMS[InviteProblem.REVOKED])
        if viewer.member is not None and viewer.member.id != member.id:
            # An earlier request or rejection of this user gives way to the roster's entry.
            viewer.member.telegram_id = None
            viewer.member.status = MemberStatus.REJECTED
            await members.save_member(session=session, member=viewer.member)
        member.telegram_id = viewer.user.id
        member.username = members.normal_username(viewer.user.username) or member.username
        return member
    if viewer.member is not None:
        viewer.member.display_name = viewer.member.display_name or profile_name(viewer.user)
        return viewer.member
    return await members.create_member(
        session=session,
        telegram_id=viewer.user.id,
        display_name=profile_name(viewer.user),
        role=invite.role,
        status=MemberStatus.ACTIVE,
        section_id=invite.section_id,
        username=viewer.user.username,
    )


# --- /whoami, /cancel --------------------------------------------------------------------------------------------


async def cmd_whoami(update: Update, context: BotContext) -> None:
    """Shows the user's own profile."""
    replies = Replies()
    async with context.db.transaction() as session:
        viewer = await load_viewer(session=session, context=context, user=sender(update))
        require(viewer, WHOAMI, chat_type(update))
        if viewer.member is None:  # an admin named in the config, before their first /start
            viewer = Viewer(
                viewer.user,
                await members.ensure_config_admin(
                    session=session,
                    telegram_id=viewer.user.id,
                    display_name=profile_name(viewer.user),
                    language=context.language,
                ),
                Audience.ADMIN,
            )
        assert viewer.member is not None
        section = await _section_of(session, viewer.member)
        keyboard = None
        if viewer.member.status == MemberStatus.ACTIVE:
            keyboard = InlineKeyboardMarkup([[button(context.tr.gettext("Change my name"), ChangeName().pack())]])
        replies.reply(render_profile(context.tr, viewer, section), keyboard)
    await replies.deliver(update, context)


@on_press(ChangeName, expired=N_EXPIRED)
async def press_change_name(press: Press[ChangeName]) -> None:
    """A member changes the name colleagues see; it is typed next."""
    viewer = press.viewer
    if viewer.member is None or viewer.member.status != MemberStatus.ACTIVE:
        raise Refusal(N_EXPIRED)
    await dialogs.set_dialog(
        session=press.session, telegram_id=viewer.user.id, step=STEP_PROFILE_NAME, data={}, now=press.context.now()
    )
    press.replies.edit(press.tr.gettext("Type the name your colleagues should see (or /cancel)."))


async def ask_profile_name(
    session: AsyncSession, context: BotContext, viewer: Viewer, dialog: Dialog, text: str, replies: Replies
) -> None:
    """A member typed their new display name."""
    name = clean_name(text)
    if viewer.member is None or viewer.member.status != MemberStatus.ACTIVE:
        raise Refusal(N_("/{command} is for registered members. Send /start to register."), command="whoami")
    if await members.name_taken_in_section(session=session, member=viewer.member, name=name):
        raise Refusal(
            N_("Someone in your section is already called {name}. Please send a name that tells you apart."),
            name=name,
        )
    viewer.member.display_name = name
    await members.save_member(session=session, member=viewer.member)
    await dialogs.clear_dialog(session=session, telegram_id=viewer.user.id)
    replies.reply(context.tr.gettext("Done: your colleagues now see you as {name}.", name=name))


def render_profile(tr: Translator, viewer: Viewer, section: Section | None) -> str:
    member = viewer.member
    assert member is not None
    shown_role = Role.ADMIN if viewer.audience == Audience.ADMIN else member.role
    lines = [
        tr.gettext("<b>Your profile</b>"),
        tr.gettext("Name: {name}", name=member.display_name),
        tr.gettext("Role: {role}", role=role_name(tr, shown_role)),
    ]
    if member.organisation:
        lines.append(tr.gettext("Organisation: {name}", name=member.organisation))
    if member.role != Role.INDUSTRY:
        lines.append(tr.gettext("Section: {section}", section=section.name if section else "—"))
    if viewer.audience == Audience.PENDING:
        lines.append(tr.gettext("Status: waiting for an administrator's approval"))
    return "\n".join(lines)


async def cmd_cancel(update: Update, context: BotContext) -> None:
    """Stops a dialog the user is in, and any rating form left open."""
    replies = Replies()
    async with context.db.transaction() as session:
        viewer = await load_viewer(session=session, context=context, user=sender(update))
        require(viewer, CANCEL, chat_type(update))
        # The dialog it stops was dropped as the command came in (`Intake`); a rating form's buttons keep their
        # state and cost nothing, so one left half filled in stays where it is, harmless until confirmed.
        replies.reply(
            context.tr.gettext("Stopped. Send /help to see what you can do.")
            if viewer.left_dialog
            else context.tr.gettext("There is nothing to stop. Send /help to see what you can do.")
        )
    await replies.deliver(update, context)


TEXT_STEPS = {
    STEP_SECTION: ask_section_choice,
    STEP_NAME: ask_name,
    STEP_ORGANISATION: ask_organisation,
    STEP_PROFILE_NAME: ask_profile_name,
}


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    return [
        CommandHandler(START.name, cmd_start),
        CommandHandler(WHOAMI.name, cmd_whoami),
        CommandHandler(CANCEL.name, cmd_cancel, filters.ChatType.PRIVATE),
        CallbackQueryHandler(press_section_page, pattern=SectionPage.pattern()),
        CallbackQueryHandler(press_section, pattern=PickSection.pattern()),
        CallbackQueryHandler(press_telegram_name, pattern=UseTelegramName.pattern()),
        CallbackQueryHandler(press_keep_name, pattern=KeepName.pattern()),
        CallbackQueryHandler(press_send_request, pattern=SendRequest.pattern()),
        CallbackQueryHandler(press_stop, pattern=StopRegistration.pattern()),
        CallbackQueryHandler(press_decide, pattern=Decide.pattern()),
        CallbackQueryHandler(press_change_name, pattern=ChangeName.pattern()),
    ]
