"""/sections: the office sections (科室) and grassroots stations (站所), with their heads and member counts.

Admins add, rename, archive and restore them from the same list. An archived section keeps its members and
history but leaves registration, ratings and the ranking.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.access import ADMIN_ONLY, ANY_CHAT, MEMBERS, CommandSpec
from bot.callbacks import CallbackData
from bot.context import BotContext
from bot.i18n import N_, Translator
from handlers.common import (
    Refusal,
    Replies,
    Viewer,
    admin_viewer,
    button,
    chat_type,
    clean_name,
    existing_section,
    load_viewer,
    paged_buttons,
    require,
    require_admin,
    sender,
)
from handlers.presses import Press, on_press
from storage import audit, dialogs, sections
from storage.models import Dialog, Section, SectionKind
from storage.sections import DuplicateSectionName, SectionRow

SECTIONS = CommandSpec("sections", N_("The sections and stations, their heads and how many members"), MEMBERS, ANY_CHAT)
COMMANDS = (SECTIONS,)
STEP_NEW = "section.new"
STEP_RENAME = "section.rename"
N_EXPIRED = N_("This button has expired. Send /sections again.")
KIND_NAMES = {SectionKind.OFFICE: N_("Office sections (科室)"), SectionKind.STATION: N_("Stations (站所)")}
KIND_BUTTONS = {SectionKind.OFFICE: N_("Office section (科室)"), SectionKind.STATION: N_("Station (站所)")}


@dataclass(frozen=True)
class ManagePage(CallbackData):
    PREFIX = "secp"
    page: int


@dataclass(frozen=True)
class OpenSection(CallbackData):
    PREFIX = "seco"
    section_id: int


@dataclass(frozen=True)
class AddSection(CallbackData):
    PREFIX = "seca"
    kind: str  # "" to choose the kind, else a SectionKind value


@dataclass(frozen=True)
class RenameSection(CallbackData):
    PREFIX = "secr"
    section_id: int


@dataclass(frozen=True)
class ArchiveSection(CallbackData):
    PREFIX = "secx"
    section_id: int
    archived: bool


def render_overview(tr: Translator, rows: list[SectionRow]) -> str:
    if not rows:
        return tr.gettext("No sections have been set up yet.")
    lines: list[str] = []
    for kind in SectionKind:
        of_kind = [row for row in rows if row.kind == kind and not row.archived]
        if of_kind:
            lines.append(f"\n<b>{tr.gettext(KIND_NAMES[kind])}</b>")
            lines += [render_row(tr, row) for row in of_kind]
    archived = [row for row in rows if row.archived]
    if archived:
        lines.append("\n<b>" + tr.gettext("Archived") + "</b>")
        lines += [render_row(tr, row) for row in archived]
    return "\n".join(lines).strip()


def render_row(tr: Translator, row: SectionRow) -> str:
    heads = tr.series(row.heads) if row.heads else tr.gettext("no head yet")
    return tr.ngettext(
        "• {name} — {heads} — {n} member", "• {name} — {heads} — {n} members", row.members, name=row.name, heads=heads
    )


def manage_keyboard(tr: Translator, rows: list[SectionRow], page: int) -> InlineKeyboardMarkup:
    items = [(("🗄 " if row.archived else "✎ ") + row.name, OpenSection(row.id).pack()) for row in rows]
    keyboard = [[button(tr.gettext("➕ Add a section"), AddSection("").pack())]]
    keyboard += paged_buttons(tr, items, page, lambda number: ManagePage(number).pack())
    return InlineKeyboardMarkup(keyboard)


def section_card(tr: Translator, section: Section) -> tuple[str, InlineKeyboardMarkup]:
    archived = section.archived_at is not None
    text: str = tr.gettext("<b>{name}</b>\n{kind}", name=section.name, kind=tr.gettext(KIND_BUTTONS[section.kind]))
    if archived:
        text += "\n" + tr.gettext("Archived: not offered for registration, ratings or the ranking.")
    keyboard = InlineKeyboardMarkup(
        [
            [button(tr.gettext("Rename"), RenameSection(section.id or 0).pack())],
            [
                button(
                    tr.gettext("Restore") if archived else tr.gettext("Archive"),
                    ArchiveSection(section.id or 0, not archived).pack(),
                )
            ],
            [button(tr.gettext("‹ All sections"), ManagePage(0).pack())],
        ]
    )
    return text, keyboard


async def cmd_sections(update: Update, context: BotContext) -> None:
    """Lists the sections; admins in private also get the buttons to manage them."""
    replies = Replies()
    async with context.db.transaction() as session:
        viewer = await load_viewer(session=session, context=context, user=sender(update))
        require(viewer, SECTIONS, chat_type(update))
        managing = viewer.audience in ADMIN_ONLY and chat_type(update) == "private"
        rows = await sections.section_overview(session=session, include_archived=managing)
        markup = manage_keyboard(context.tr, rows, 0) if managing else None
        replies.reply(render_overview(context.tr, rows), markup)
    await replies.deliver(update, context)


@on_press(ManagePage, who=admin_viewer, expired=N_EXPIRED)
async def press_manage_page(press: Press[ManagePage]) -> None:
    """Admin: the list of sections again, at a page."""
    rows = await sections.section_overview(session=press.session, include_archived=True)
    press.replies.edit(render_overview(press.tr, rows), manage_keyboard(press.tr, rows, press.data.page))


@on_press(OpenSection, who=admin_viewer, expired=N_EXPIRED)
async def press_open(press: Press[OpenSection]) -> None:
    """Admin: one section's card with what can be done to it."""
    section = await existing_section(press.session, press.data.section_id)
    press.replies.edit(*section_card(press.tr, section))


@on_press(AddSection, who=admin_viewer, expired=N_EXPIRED)
async def press_add(press: Press[AddSection]) -> None:
    """Admin: add a section, first its kind, then its name (typed)."""
    tr, kind = press.tr, press.data.kind
    if kind not in {"", *SectionKind}:
        raise Refusal(N_EXPIRED)
    if not kind:
        kinds = [[button(tr.gettext(KIND_BUTTONS[each]), AddSection(each.value).pack())] for each in SectionKind]
        press.replies.edit(tr.gettext("What kind of section?"), InlineKeyboardMarkup(kinds))
        return
    await dialogs.set_dialog(
        session=press.session,
        telegram_id=press.viewer.user.id,
        step=STEP_NEW,
        data={"kind": kind},
        now=press.context.now(),
    )
    press.replies.edit(tr.gettext("Type the name of the new section (or /cancel)."))


async def ask_new_name(
    session: AsyncSession, context: BotContext, viewer: Viewer, dialog: Dialog, text: str, replies: Replies
) -> None:
    """Admin typed the name of a new section."""
    require_admin(viewer)
    name = clean_name(text)
    try:
        section = await sections.create_section(session=session, name=name, kind=SectionKind(dialog.data["kind"]))
    except DuplicateSectionName:
        raise Refusal(N_("There is already a section called {name}. Type another name."), name=name) from None
    await dialogs.clear_dialog(session=session, telegram_id=viewer.user.id)
    await audit.record_audit(
        session=session,
        actor_id=viewer.member_id,
        action="section.created",
        subject=f"section:{section.id}",
        detail=section.name,
    )
    text, markup = section_card(context.tr, section)
    replies.reply(context.tr.gettext("Section added.") + "\n\n" + text, markup)


@on_press(RenameSection, who=admin_viewer, expired=N_EXPIRED)
async def press_rename(press: Press[RenameSection]) -> None:
    """Admin: rename a section; the new name is typed."""
    section = await existing_section(press.session, press.data.section_id)
    await dialogs.set_dialog(
        session=press.session,
        telegram_id=press.viewer.user.id,
        step=STEP_RENAME,
        data={"section_id": section.id},
        now=press.context.now(),
    )
    press.replies.edit(press.tr.gettext("Type the new name of {name} (or /cancel).", name=section.name))


async def ask_rename(
    session: AsyncSession, context: BotContext, viewer: Viewer, dialog: Dialog, text: str, replies: Replies
) -> None:
    """Admin typed a section's new name."""
    require_admin(viewer)
    section = await existing_section(session, int(dialog.data.get("section_id", 0)))
    old_name, name = section.name, clean_name(text)
    try:
        await sections.rename_section(session=session, section=section, name=name)
    except DuplicateSectionName:
        raise Refusal(N_("There is already a section called {name}. Type another name."), name=name) from None
    await dialogs.clear_dialog(session=session, telegram_id=viewer.user.id)
    await audit.record_audit(
        session=session,
        actor_id=viewer.member_id,
        action="section.renamed",
        subject=f"section:{section.id}",
        detail=f"{old_name} → {section.name}",
    )
    text, markup = section_card(context.tr, section)
    replies.reply(context.tr.gettext("Renamed.") + "\n\n" + text, markup)


@on_press(ArchiveSection, who=admin_viewer, expired=N_EXPIRED)
async def press_archive(press: Press[ArchiveSection]) -> None:
    """Admin: archive a section (or restore it)."""
    session, archived = press.session, press.data.archived
    section = await existing_section(session, press.data.section_id)
    await sections.set_archived(session=session, section=section, archived=archived, now=press.context.now())
    await audit.record_audit(
        session=session,
        actor_id=press.viewer.member_id,
        action="section.archived" if archived else "section.restored",
        subject=f"section:{section.id}",
        detail=section.name,
    )
    press.replies.toast(press.tr.gettext("Archived.") if archived else press.tr.gettext("Restored."))
    press.replies.edit(*section_card(press.tr, section))


TEXT_STEPS = {STEP_NEW: ask_new_name, STEP_RENAME: ask_rename}


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    return [
        CommandHandler(SECTIONS.name, cmd_sections),
        CallbackQueryHandler(press_manage_page, pattern=ManagePage.pattern()),
        CallbackQueryHandler(press_open, pattern=OpenSection.pattern()),
        CallbackQueryHandler(press_add, pattern=AddSection.pattern()),
        CallbackQueryHandler(press_rename, pattern=RenameSection.pattern()),
        CallbackQueryHandler(press_archive, pattern=ArchiveSection.pattern()),
    ]
