"""/commitments: each section's public service commitments (服务承诺), kept by its head or an admin."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.access import ANY_CHAT, MEMBERS, Audience, CommandSpec
from bot.callbacks import CallbackData
from bot.context import BotContext
from bot.i18n import N_, Translator, escape
from handlers.common import (
    N_COMMITMENT_TOO_LONG,
    Refusal,
    Replies,
    Viewer,
    button,
    chat_type,
    existing_section,
    load_viewer,
    paged_buttons,
    require,
    sender,
    typed_text,
)
from handlers.presses import Press, on_press
from storage import commitments, dialogs, sections
from storage.models import Commitment, Dialog, Section

COMMITMENTS = CommandSpec(
    "commitments", N_("The sections' service commitments"), MEMBERS, ANY_CHAT, takes_arguments=True
)
COMMANDS = (COMMITMENTS,)
N_EXPIRED = N_("This button has expired. Send /commitments again.")
TEXT_LIMIT = 300
STEP_NEW = "commitment.new"
STEP_EDIT = "commitment.edit"


@dataclass(frozen=True)
class ShowSection(CallbackData):
    PREFIX = "cms"
    section_id: int


@dataclass(frozen=True)
class SectionPage(CallbackData):
    PREFIX = "cmp"
    page: int


@dataclass(frozen=True)
class AddCommitment(CallbackData):
    PREFIX = "cma"
    section_id: int


@dataclass(frozen=True)
class EditCommitment(CallbackData):
    PREFIX = "cme"
    commitment_id: int


@dataclass(frozen=True)
class RemoveCommitment(CallbackData):
    """Asked again first (`confirmed` on the second press)."""

    PREFIX = "cmr"
    commitment_id: int
    confirmed: bool = False


def keeps(viewer: Viewer, section_id: int) -> bool:
    """Heads keep their own section's commitments; admins every section's."""
    if viewer.audience == Audience.ADMIN:
        return True
    return viewer.audience == Audience.HEAD and viewer.member is not None and viewer.member.section_id == section_id


def render_list(tr: Translator, section: Section, items: list[Commitment]) -> str:
    if not items:
        return tr.gettext("{section} has not published any service commitments yet.", section=section.name)
    lines: list[str] = [tr.gettext("<b>Service commitments of {section}</b>", section=section.name)]
    lines += [f"{number}. {escape(item.text)}" for number, item in enumerate(items, start=1)]
    return "\n".join(lines)


def list_keyboard(tr: Translator, section: Section, items: list[Commitment]) -> InlineKeyboardMarkup:
    rows = [[button(tr.gettext("➕ Add a commitment"), AddCommitment(section.id or 0).pack())]]
    for number, item in enumerate(items, start=1):
        rows.append(
            [
                button(tr.gettext("✎ {number}", number=number), EditCommitment(item.id or 0).pack()),
                button(tr.gettext("🗑 {number}", number=number), RemoveCommitment(item.id or 0).pack()),
            ]
        )
    return InlineKeyboardMarkup(rows)


async def show(
    session: AsyncSession, context: BotContext, viewer: Viewer, section: Section, replies: Replies, where: str
) -> None:
    """One section's commitments; in a private chat with the keeper's buttons, and the way to the other sections."""
    items = await commitments.list_commitments(session=session, section_id=section.id or 0)
    markup = None
    if where == "private":
        keeper = keeps(viewer, section.id or 0)
        rows = [list(row) for row in list_keyboard(context.tr, section, items).inline_keyboard] if keeper else []
        rows.append([button(context.tr.gettext("‹ Other sections"), SectionPage(0).pack())])
        markup = InlineKeyboardMarkup(rows)
    replies.edit(render_list(context.tr, section, items), markup)


async def cmd_commitments(update: Update, context: BotContext) -> None:
    """`/commitments` shows one's own section's; `/commitments NAME` another's; leaders, admins and those without a
    section choose one."""
    replies = Replies()
    async with context.db.transaction() as session:
        viewer = await load_viewer(session=session, context=context, user=sender(update))
        require(viewer, COMMITMENTS, chat_type(update))
        wanted = " ".join(context.args or [])[:64]
        section = await _find(session, wanted) if wanted else None
        if wanted and section is None:
            raise Refusal(N_("There is no section called “{name}”. Send /sections to see them."), name=wanted)
        own_first = viewer.audience not in {Audience.LEADER, Audience.ADMIN}
        if section is None and own_first and viewer.member is not None and viewer.member.section_id is not None:
            section = await sections.get_section(session=session, section_id=viewer.member.section_id)
        if section is None:
            await _offer_sections(session, context, 0, replies)
        else:
            await show(session, context, viewer, section, replies, chat_type(update))
    await replies.deliver(update, context)


async def _find(session: AsyncSession, wanted: str) -> Section | None:
    matches = [s for s in await sections.list_sections(session=session) if wanted.lower() in s.name.lower()]
    exact = [s for s in matches if s.name.lower() == wanted.lower()]
    found = exact or matches
    return found[0] if found else None


async def _offer_sections(session: AsyncSession, context: BotContext, page: int, replies: Replies) -> None:
    choices = await sections.list_sections(session=session)
    if not choices:
        raise Refusal(N_("There are no sections yet. Add one with /sections first."))
    items = [(section.name, ShowSection(section.id or 0).pack()) for section in choices]
    rows = paged_buttons(context.tr, items, page, lambda number: SectionPage(number).pack())
    replies.edit(context.tr.gettext("Whose commitments?"), InlineKeyboardMarkup(rows))


@on_press(SectionPage, expired=N_EXPIRED)
async def press_section_page(press: Press[SectionPage]) -> None:
    session, context, replies, viewer, data = press.session, press.context, press.replies, press.viewer, press.data
    require(viewer, COMMITMENTS, chat_type(press.update))
    await _offer_sections(session, context, data.page, replies)


@on_press(ShowSection, expired=N_EXPIRED)
async def press_show(press: Press[ShowSection]) -> None:
    session, context, replies, viewer, data = press.session, press.context, press.replies, press.viewer, press.data
    require(viewer, COMMITMENTS, chat_type(press.update))
    section = await existing_section(session, data.section_id)
    await show(session, context, viewer, section, replies, chat_type(press.update))


@on_press(AddCommitment, expired=N_EXPIRED)
async def press_add(press: Press[AddCommitment]) -> None:
    session, context, replies, viewer, data = press.session, press.context, press.replies, press.viewer, press.data
    section = await existing_section(session, data.section_id)
    _require_keeper(viewer, section.id or 0)
    await dialogs.set_dialog(
        session=session,
        telegram_id=viewer.user.id,
        step=STEP_NEW,
        data={"section_id": section.id},
        now=context.now(),
    )
    replies.reply(context.tr.gettext("Type the new commitment, in one or two sentences (or /cancel)."))


@on_press(EditCommitment, expired=N_EXPIRED)
async def press_edit(press: Press[EditCommitment]) -> None:
    session, context, replies, viewer, data = press.session, press.context, press.replies, press.viewer, press.data
    item = await _commitment(session, data.commitment_id)
    _require_keeper(viewer, item.section_id)
    await dialogs.set_dialog(
        session=session,
        telegram_id=viewer.user.id,
        step=STEP_EDIT,
        data={"commitment_id": item.id},
        now=context.now(),
    )
    replies.reply(context.tr.gettext("Now it reads:\n{text}\n\nType the new wording (or /cancel).", text=item.text))


@on_press(RemoveCommitment, expired=N_EXPIRED)
async def press_remove(press: Press[RemoveCommitment]) -> None:
    session, context, replies, viewer, data = press.session, press.context, press.replies, press.viewer, press.data
    item = await _commitment(session, data.commitment_id)
    _require_keeper(viewer, item.section_id)
    section = await existing_section(session, item.section_id)
    if press is not None and not data.confirmed:
        tr = context.tr
        keyboard = InlineKeyboardMarkup(
            [
                [button(tr.gettext("Yes, remove it"), RemoveCommitment(item.id or 0, True).pack())],
                [button(tr.gettext("‹ Back"), ShowSection(section.id or 0).pack())],
            ]
        )
        replies.edit(
            tr.gettext("Remove this commitment of {section}?\n{text}", section=section.name, text=item.text),
            keyboard,
        )
    else:
        await commitments.remove_commitment(session=session, commitment=item, now=context.now())
        replies.toast(context.tr.gettext("Removed."))
        await show(session, context, viewer, section, replies, "private")


async def ask_new(
    session: AsyncSession, context: BotContext, viewer: Viewer, dialog: Dialog, text: str, replies: Replies
) -> None:
    section = await existing_section(session, int(dialog.data.get("section_id", 0)))
    _require_keeper(viewer, section.id or 0)
    await commitments.add_commitment(
        session=session,
        section_id=section.id or 0,
        text=typed_text(text, TEXT_LIMIT, N_COMMITMENT_TOO_LONG),
        created_by_id=viewer.member_id,
    )
    await dialogs.clear_dialog(session=session, telegram_id=viewer.user.id)
    await show(session, context, viewer, section, replies, "private")


async def ask_edit(
    session: AsyncSession, context: BotContext, viewer: Viewer, dialog: Dialog, text: str, replies: Replies
) -> None:
    item = await _commitment(session, int(dialog.data.get("commitment_id", 0)))
    _require_keeper(viewer, item.section_id)
    await commitments.edit_commitment(
        session=session, commitment=item, text=typed_text(text, TEXT_LIMIT, N_COMMITMENT_TOO_LONG)
    )
    await dialogs.clear_dialog(session=session, telegram_id=viewer.user.id)
    await show(session, context, viewer, await existing_section(session, item.section_id), replies, "private")


def _require_keeper(viewer: Viewer, section_id: int) -> None:
    if not keeps(viewer, section_id):
        raise Refusal(N_("Only the section's head and administrators can change its commitments."))


async def _commitment(session: AsyncSession, commitment_id: int) -> Commitment:
    item = await commitments.get_commitment(session=session, commitment_id=commitment_id)
    if item is None:
        raise Refusal(N_("That commitment no longer exists. Send /commitments again."))
    return item


TEXT_STEPS = {STEP_NEW: ask_new, STEP_EDIT: ask_edit}


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    return [
        CommandHandler(COMMITMENTS.name, cmd_commitments),
        CallbackQueryHandler(press_section_page, pattern=SectionPage.pattern()),
        CallbackQueryHandler(press_show, pattern=ShowSection.pattern()),
        CallbackQueryHandler(press_add, pattern=AddCommitment.pattern()),
        CallbackQueryHandler(press_edit, pattern=EditCommitment.pattern()),
        CallbackQueryHandler(press_remove, pattern=RemoveCommitment.pattern()),
    ]
