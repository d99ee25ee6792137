"""Deadline tasks (限时办结): /task creates one in a short dialogue, /tasks lists them with Done, Extend and Cancel,
/away hands one's reminders to others for a while. The buttons on reminders (Done, Snooze, Details) are here too.

Heads manage their own section's tasks; leaders and admins every section's; a task's responsible member may
mark it done. Every press is checked against the database.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.access import MEMBERS, PRIVATE, Audience, CommandSpec
from bot.callbacks import CallbackData
from bot.context import BotContext
from bot.dates import DATE_EXAMPLES, DateProblem, parse_due_date
from bot.i18n import N_, Translator, escape
from bot.labels import task_title
from handlers.common import (
    N_NOTE_TOO_LONG,
    N_REASON_TOO_LONG,
    N_TITLE_TOO_LONG,
    Refusal,
    Replies,
    Viewer,
    button,
    chat_type,
    date_refusal,
    load_viewer,
    member_translator,
    paged_buttons,
    profile_name,
    read_due_date,
    require,
    sender,
    typed_text,
)
from handlers.presses import Press, on_press
from handlers.reviews import outcome_keyboard
from jobs.reminders import morning_of
from storage import dialogs, members, reminders, sections, tasks
from storage import reviews as review_store
from storage.models import Dialog, Member, MemberStatus, Section, Task, TaskStatus

MANAGERS = frozenset({Audience.HEAD, Audience.LEADER, Audience.ADMIN})
OVERSEERS = frozenset({Audience.LEADER, Audience.ADMIN})
TASK = CommandSpec("task", N_("Add a task with a deadline"), MANAGERS, PRIVATE)
TASKS = CommandSpec(
    "tasks",
    N_("Your section's open tasks and their deadlines"),
    MEMBERS - {Audience.INDUSTRY},
    PRIVATE,
    described_for=tuple(
        (audience, N_("Open tasks and their deadlines; /tasks SECTION for one section")) for audience in OVERSEERS
    ),
    takes_arguments=True,
)
AWAY = CommandSpec(
    "away",
    N_("Away until a date: your reminders go to others"),
    MEMBERS - {Audience.INDUSTRY},
    PRIVATE,
    takes_arguments=True,
)
COMMANDS = (TASK, TASKS, AWAY)
N_EXPIRED = N_("This button has expired. Send /tasks again.")
N_EXPIRED_NEW = N_("This button has expired. Send /task again.")

TITLE_LIMIT = 200
NOTE_LIMIT = 500
STEP_TITLE = "task.title"
STEP_DUE = "task.due"
STEP_RESPONSIBLE = "task.responsible"  # answered with a button, not typed
STEP_NOTE = "task.note"
STEP_NEW_DUE = "task.extend"
STEP_REASON = "task.reason"


@dataclass(frozen=True)
class NewTaskSection(CallbackData):
    PREFIX = "tkns"
    section_id: int


@dataclass(frozen=True)
class NewTaskPage(CallbackData):
    PREFIX = "tknp"
    page: int


@dataclass(frozen=True)
class NewTaskResponsible(CallbackData):
    PREFIX = "tknr"
    member_id: int  # 0: nobody in particular


@dataclass(frozen=True)
class TaskPage(CallbackData):
    PREFIX = "tkl"
    page: int


@dataclass(frozen=True)
class OpenTask(CallbackData):
    PREFIX = "tk"
    task_id: int


@dataclass(frozen=True)
class FinishTask(CallbackData):
    PREFIX = "tkd"
    task_id: int
    now: bool  # True: without a note


@dataclass(frozen=True)
class ExtendTask(CallbackData):
    PREFIX = "tke"
    task_id: int


@dataclass(frozen=True)
class CancelTask(CallbackData):
    PREFIX = "tkc"
    task_id: int
    confirmed: bool


@dataclass(frozen=True)
class ReassignChoices(CallbackData):
    PREFIX = "tkrc"
    task_id: int
    page: int


@dataclass(frozen=True)
class ReassignTo(CallbackData):
    PREFIX = "tkra"
    task_id: int
    member_id: int  # 0: the section as a whole


@dataclass(frozen=True)
class Snooze(CallbackData):
    PREFIX = "rmz"
    reminder_id: int


# --- who may do what ---------------------------------------------------------------------------------------------


def manages(viewer: Viewer, task: Task) -> bool:
    if viewer.audience in OVERSEERS:
        return True
    return (
        viewer.audience == Audience.HEAD and viewer.member is not None and viewer.member.section_id == task.section_id
    )


def may_finish(viewer: Viewer, task: Task) -> bool:
    return manages(viewer, task) or (viewer.member is not None and viewer.member.id == task.responsible_id)


def may_see(viewer: Viewer, task: Task) -> bool:
    return may_finish(viewer, task) or (viewer.member is not None and viewer.member.section_id == task.section_id)


# --- texts -------------------------------------------------------------------------------------------------------


def render_due(tr: Translator, task: Task, today: dt.date, working_days: int) -> str:
    """ "due 2026-12-05 (in 3 working days)", "due today", "overdue by 2 working days"."""
    day = task.due_on.isoformat()
    if task.status != TaskStatus.OPEN:
        return tr.gettext("Was due {day}", day=day)
    if task.due_on == today:
        return tr.gettext("Due today ({day})", day=day)
    if task.due_on > today:
        return tr.ngettext("Due {day} (in {n} working day)", "Due {day} (in {n} working days)", working_days, day=day)
    return tr.ngettext(
        "Due {day}, overdue by {n} working day", "Due {day}, overdue by {n} working days", -working_days, day=day
    )


def render_card(
    tr: Translator,
    task: Task,
    section: Section | None,
    responsible: Member | None,
    due: str,
    *,
    overseer: bool,
    last_extension: str = "",
) -> str:
    lines = [
        f"<b>{escape(task_title(tr, task))}</b>",
        tr.gettext("Section: {section}", section=section.name if section else "—"),
        tr.gettext("Responsible: {name}", name=responsible.display_name if responsible else tr.gettext("the section")),
        due,
    ]
    if task.status != TaskStatus.OPEN:
        lines.append(tr.gettext("Done.") if task.status == TaskStatus.DONE else tr.gettext("Cancelled."))
        if task.note:
            lines.append(tr.gettext("Note: {note}", note=task.note))
    if overseer and task.extensions:
        lines.append(tr.ngettext("Extended {n} time.", "Extended {n} times.", task.extensions))
        if last_extension:
            lines.append(tr.gettext("Last extension: {detail}", detail=last_extension))
    return "\n".join(lines)


def card_keyboard(tr: Translator, viewer: Viewer, task: Task) -> InlineKeyboardMarkup:
    task_id = task.id or 0
    rows = []
    if task.status == TaskStatus.OPEN:
        actions = []
        if may_finish(viewer, task):
            actions.append(button(tr.gettext("✅ Done"), FinishTask(task_id, False).pack()))
        if manages(viewer, task):
            actions.append(button(tr.gettext("📅 Extend"), ExtendTask(task_id).pack()))
        if viewer.audience in OVERSEERS:
            actions.append(button(tr.gettext("✖ Cancel"), CancelTask(task_id, False).pack()))
        if actions:
            rows.append(actions)
        if manages(viewer, task):
            rows.append([button(tr.gettext("👤 Reassign"), ReassignChoices(task_id, 0).pack())])
    rows.append([button(tr.gettext("‹ All tasks"), TaskPage(0).pack())])
    return InlineKeyboardMarkup(rows)


def reminder_keyboard(tr: Translator, task_id: int, reminder_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                button(tr.gettext("✅ Done"), FinishTask(task_id, False).pack()),
                button(tr.gettext("⏰ Snooze"), Snooze(reminder_id).pack()),
                button(tr.gettext("Details"), OpenTask(task_id).pack()),
            ]
        ]
    )


async def task_card(
    session: AsyncSession, context: BotContext, viewer: Viewer, task: Task
) -> tuple[str, InlineKeyboardMarkup]:
    section = await sections.get_section(session=session, section_id=task.section_id)
    responsible = await members.get_member(session=session, member_id=task.responsible_id or 0)
    today = context.today()
    calendar = context.settings.calendar.work_calendar()
    due = render_due(context.tr, task, today, calendar.working_days_between(today, task.due_on))
    overseer = viewer.audience in OVERSEERS
    extensions = [
        e.detail for e in await tasks.list_events(session=session, task_id=task.id or 0) if e.kind == "extended"
    ]
    last = extensions[-1] if overseer and extensions else ""
    text = render_card(context.tr, task, section, responsible, due, overseer=overseer, last_extension=last)
    return text, card_keyboard(context.tr, viewer, task)


def render_chosen_date(context: BotContext, typed: str, day: dt.date) -> str:
    """What the typed date was read as, so that a surprise (next year, a day off moved) shows before saving."""
    calendar = context.settings.calendar.work_calendar()
    today = context.today()
    days = calendar.working_days_between(today, day)
    due = context.tr.ngettext(
        "Due {day} (in {n} working day).", "Due {day} (in {n} working days).", days, day=day.isoformat()
    )
    try:
        typed_day = parse_due_date(typed, today=today, calendar=calendar)
    except DateProblem:
        typed_day = day
    if typed_day != day:
        moved = context.tr.gettext(
            "{typed} is not a working day, so the deadline is the next working day.", typed=typed_day.isoformat()
        )
        return context.tr.sentences(moved, due)
    return due


async def tell_task_people(
    session: AsyncSession,
    context: BotContext,
    task: Task,
    actor: Viewer,
    replies: Replies,
    msgid: str,
    **params: object,
) -> None:
    """Tells the section's heads and the responsible member what someone else did to the task."""
    people = await tasks.section_heads(session=session, section_id=task.section_id)
    if task.responsible_id is not None and all(person.id != task.responsible_id for person in people):
        responsible = await members.get_member(session=session, member_id=task.responsible_id)
        people += [responsible] if responsible is not None else []
    for person in people:
        if person.id == actor.member_id or person.telegram_id is None or person.status != MemberStatus.ACTIVE:
            continue
        tr = member_translator(context.settings, person)
        replies.send(
            person.telegram_id, tr.gettext(msgid, title=task_title(tr, task), name=actor_name(actor), **params)
        )


def actor_name(viewer: Viewer) -> str:
    return viewer.member.display_name if viewer.member is not None else profile_name(viewer.user)


# --- /task: a new task in a short dialogue -----------------------------------------------------------------------


async def cmd_task(update: Update, context: BotContext) -> None:
    """Heads add to their own section; leaders and admins first choose the section."""
    replies = Replies()
    async with context.db.transaction() as session:
        viewer = await load_viewer(session=session, context=context, user=sender(update))
        require(viewer, TASK, chat_type(update))
        if viewer.audience == Audience.HEAD:
            assert viewer.member is not None
            section = await _open_section(session, viewer.member.section_id or 0)
            await _ask_title(session, context, viewer, section, replies)
        else:
            await _offer_sections(session, context, 0, replies)
    await replies.deliver(update, context)


async def _offer_sections(session: AsyncSession, context: BotContext, page: int, replies: Replies) -> None:
    choices = await sections.list_sections(session=session)
    if not choices:
        raise Refusal(N_("There are no sections yet. Add one with /sections first."))
    items = [(section.name, NewTaskSection(section.id or 0).pack()) for section in choices]
    rows = paged_buttons(context.tr, items, page, lambda number: NewTaskPage(number).pack())
    replies.edit(context.tr.gettext("A task for which section?"), InlineKeyboardMarkup(rows))


async def _viewer(session: AsyncSession, context: BotContext, update: Update) -> Viewer:
    viewer = await load_viewer(session=session, context=context, user=sender(update))
    if viewer.member is None or viewer.audience not in MEMBERS:
        raise Refusal(N_("This button has expired. Send /start to begin again."))
    return viewer


@on_press(NewTaskPage, who=_viewer, expired=N_EXPIRED_NEW)
async def press_new_task_page(press: Press[NewTaskPage]) -> None:
    session, context, replies, viewer, data = press.session, press.context, press.replies, press.viewer, press.data
    if viewer.audience not in OVERSEERS:
        raise Refusal(N_EXPIRED_NEW)
    await _offer_sections(session, context, data.page, replies)


@on_press(NewTaskSection, who=_viewer, expired=N_EXPIRED_NEW)
async def press_new_task_section(press: Press[NewTaskSection]) -> None:
    session, context, replies, viewer, data = press.session, press.context, press.replies, press.viewer, press.data
    if viewer.audience not in OVERSEERS:
        raise Refusal(N_EXPIRED_NEW)
    section = await _open_section(session, data.section_id)
    await _ask_title(session, context, viewer, section, replies)


async def _ask_title(
    session: AsyncSession, context: BotContext, viewer: Viewer, section: Section, replies: Replies
) -> None:
    await dialogs.set_dialog(
        session=session, telegram_id=viewer.user.id, step=STEP_TITLE, data={"section_id": section.id}, now=context.now()
    )
    replies.edit(context.tr.gettext("New task for {section}. Type its title (or /cancel).", section=section.name))


async def ask_title(
    session: AsyncSession, context: BotContext, viewer: Viewer, dialog: Dialog, text: str, replies: Replies
) -> None:
    title = typed_text(text, TITLE_LIMIT, N_TITLE_TOO_LONG)
    await dialogs.set_dialog(
        session=session,
        telegram_id=viewer.user.id,
        step=STEP_DUE,
        data={**dialog.data, "title": title},
        now=context.now(),
    )
    replies.reply(context.tr.gettext("When is it due? {examples}", examples=context.tr.gettext(DATE_EXAMPLES)))


async def ask_due(
    session: AsyncSession, context: BotContext, viewer: Viewer, dialog: Dialog, text: str, replies: Replies
) -> None:
    due_on = read_due_date(context, text)
    section = await _open_section(session, int(dialog.data.get("section_id", 0)))
    await dialogs.set_dialog(
        session=session,
        telegram_id=viewer.user.id,
        step=STEP_RESPONSIBLE,
        data={**dialog.data, "due_on": due_on.isoformat()},
        now=context.now(),
    )
    people = await tasks.list_section_staff(session=session, section_id=section.id or 0)
    rows = [[button(person.display_name, NewTaskResponsible(person.id or 0).pack())] for person in people[:20]]
    rows.append([button(context.tr.gettext("Nobody in particular"), NewTaskResponsible(0).pack())])
    replies.reply(
        render_chosen_date(context, text, due_on) + "\n" + context.tr.gettext("Who is responsible for it?"),
        InlineKeyboardMarkup(rows),
    )


async def ask_responsible_by_button(
    session: AsyncSession, context: BotContext, viewer: Viewer, dialog: Dialog, text: str, replies: Replies
) -> None:
    """Typed text where a button is expected."""
    replies.reply(context.tr.gettext("Please choose with the buttons above, or send /cancel to stop."))


@on_press(NewTaskResponsible, who=_viewer, expired=N_EXPIRED_NEW)
async def press_responsible(press: Press[NewTaskResponsible]) -> None:
    """The last step: the task is created."""
    session, context, replies, viewer, data = press.session, press.context, press.replies, press.viewer, press.data
    dialog = await dialogs.get_dialog(session=session, telegram_id=viewer.user.id, now=context.now())
    if dialog is None or dialog.step != STEP_RESPONSIBLE or viewer.audience not in MANAGERS:
        raise Refusal(N_EXPIRED_NEW)
    section = await _open_section(session, int(dialog.data["section_id"]))
    if viewer.audience == Audience.HEAD and (viewer.member is None or viewer.member.section_id != section.id):
        raise Refusal(N_("Heads add tasks to their own section only."))
    responsible = await members.get_member(session=session, member_id=data.member_id) if data.member_id else None
    if data.member_id and (responsible is None or responsible.section_id != section.id):
        raise Refusal(N_("That person is not in the section. Send /task again."))
    task = await tasks.create_task(
        session=session,
        section_id=section.id or 0,
        title=str(dialog.data["title"]),
        due_on=dt.date.fromisoformat(str(dialog.data["due_on"])),
        responsible_id=responsible.id if responsible else None,
        created_by_id=viewer.member_id,
    )
    await dialogs.clear_dialog(session=session, telegram_id=viewer.user.id)
    text, keyboard = await task_card(session, context, viewer, task)
    replies.edit(context.tr.gettext("Task added.") + "\n\n" + text, keyboard)
    _tell_reassigned(context, viewer, task, responsible, None, replies)


# --- /tasks and the task card ------------------------------------------------------------------------------------


async def cmd_tasks(update: Update, context: BotContext) -> None:
    """The open tasks: one's own section's, or every section's for leaders and admins."""
    replies = Replies()
    async with context.db.transaction() as session:
        viewer = await load_viewer(session=session, context=context, user=sender(update))
        require(viewer, TASKS, chat_type(update))
        replies.reply(*await task_list(session, context, viewer, 0, " ".join(context.args or [])[:64]))
    await replies.deliver(update, context)


async def task_list(
    session: AsyncSession, context: BotContext, viewer: Viewer, page: int, section_filter: str = ""
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The open tasks: one's section's; for leaders and admins every section's, or those whose name matches."""
    tr = context.tr
    everything = viewer.audience in OVERSEERS
    section_id = None if everything else (viewer.member.section_id if viewer.member else None)
    if not everything and section_filter:
        raise Refusal(
            N_("Only leaders and administrators choose a section with /tasks NAME; send /tasks alone for yours.")
        )
    if not everything and section_id is None:
        return tr.gettext("You belong to no section, so there are no tasks to show."), None
    open_tasks = await tasks.list_open_tasks(session=session, section_id=section_id)
    names = {
        section.id: section.name for section in await sections.list_sections(session=session, include_archived=True)
    }
    if everything and section_filter:
        open_tasks = [task for task in open_tasks if section_filter.lower() in names.get(task.section_id, "").lower()]
        if not open_tasks:
            return tr.gettext("No open tasks in a section whose name contains “{name}”.", name=section_filter), None
    if not open_tasks:
        return tr.gettext("There are no open tasks."), None
    today = context.today()
    items = []
    for task in open_tasks:
        mark = "⚠️ " if task.due_on < today else ""
        where = f"{names.get(task.section_id, '?')} · " if everything else ""
        items.append(
            (f"{mark}{task.due_on.isoformat()} · {where}{task_title(tr, task)}"[:64], OpenTask(task.id or 0).pack())
        )
    overdue = sum(task.due_on < today for task in open_tasks)
    text: str = tr.ngettext("{n} open task", "{n} open tasks", len(open_tasks))
    if overdue:
        text += tr.ngettext(", {n} overdue", ", {n} overdue", overdue)
    return text + tr.gettext(". Choose one:"), InlineKeyboardMarkup(
        paged_buttons(tr, items, page, lambda number: TaskPage(number).pack())
    )


@on_press(TaskPage, who=_viewer, expired=N_EXPIRED)
async def press_task_page(press: Press[TaskPage]) -> None:
    session, context, replies, viewer, data = press.session, press.context, press.replies, press.viewer, press.data
    require(viewer, TASKS, "private")
    text, keyboard = await task_list(session, context, viewer, data.page)
    replies.edit(text, keyboard)


@on_press(OpenTask, who=_viewer, expired=N_EXPIRED)
async def press_open_task(press: Press[OpenTask]) -> None:
    session, context, replies, viewer, data = press.session, press.context, press.replies, press.viewer, press.data
    task = await _task(session, data.task_id)
    if not may_see(viewer, task):
        raise Refusal(N_("This task belongs to another section."))
    text, keyboard = await task_card(session, context, viewer, task)
    if press.update.callback_query and press.update.callback_query.message and _is_reminder(press.update):
        replies.reply(text, keyboard)  # the reminder itself stays as it was
    else:
        replies.edit(text, keyboard)


def _is_reminder(update: Update) -> bool:
    message = update.callback_query.message if update.callback_query else None
    markup = getattr(message, "reply_markup", None)
    if markup is None:
        return False
    return any(
        str(button_.callback_data or "").startswith(f"{Snooze.PREFIX}:")
        for row in markup.inline_keyboard
        for button_ in row
    )


@on_press(FinishTask, who=_viewer, expired=N_EXPIRED)
async def press_finish(press: Press[FinishTask]) -> None:
    """Done: with a note typed next, or at once."""
    session, context, replies, viewer, data = press.session, press.context, press.replies, press.viewer, press.data
    task = await _task(session, data.task_id)
    if not may_finish(viewer, task):
        raise Refusal(N_("Only the section's head, the person responsible, leaders and administrators can do that."))
    if task.status != TaskStatus.OPEN:
        replies.toast(_closed_text(context.tr, task), alert=True)
    elif await review_store.review_of_task(session=session, task_id=task.id or 0) is not None:
        if not manages(viewer, task):
            raise Refusal(N_("Only the section's head, leaders and administrators can do that."))
        replies.reply(
            context.tr.gettext("“{title}”: how was the bad review dealt with?", title=task_title(context.tr, task)),
            outcome_keyboard(context.tr, task.id or 0),
        )
    elif data.now:
        await _finish(session, context, viewer, task, "", replies)
    else:
        await dialogs.set_dialog(
            session=session,
            telegram_id=viewer.user.id,
            step=STEP_NOTE,
            data={"task_id": task.id},
            now=context.now(),
        )
        keyboard = InlineKeyboardMarkup(
            [[button(context.tr.gettext("Done, without a note"), FinishTask(task.id or 0, True).pack())]]
        )
        replies.reply(
            context.tr.gettext(
                "“{title}”: type a short note on how it was done, or skip it.", title=task_title(context.tr, task)
            ),
            keyboard,
        )


async def ask_note(
    session: AsyncSession, context: BotContext, viewer: Viewer, dialog: Dialog, text: str, replies: Replies
) -> None:
    note = typed_text(text, NOTE_LIMIT, N_NOTE_TOO_LONG)
    task = await _task(session, int(dialog.data.get("task_id", 0)))
    if not may_finish(viewer, task):
        raise Refusal(N_("Only the section's head, the person responsible, leaders and administrators can do that."))
    if task.status != TaskStatus.OPEN:
        await dialogs.clear_dialog(session=session, telegram_id=viewer.user.id)
        replies.reply(_closed_text(context.tr, task))
        return
    await _finish(session, context, viewer, task, note, replies)


async def _finish(
    session: AsyncSession, context: BotContext, viewer: Viewer, task: Task, note: str, replies: Replies
) -> None:
    await tasks.close_task(
        session=session, task=task, status=TaskStatus.DONE, actor_id=viewer.member_id, note=note, now=context.now()
    )
    await dialogs.clear_dialog(session=session, telegram_id=viewer.user.id)
    await tell_task_people(session, context, task, viewer, replies, N_("✅ {name} marked “{title}” as done."))
    replies.toast(context.tr.gettext("Marked as done."))
    replies.reply(context.tr.gettext("✅ “{title}” is done. Thank you!", title=task_title(context.tr, task)))


def _closed_text(tr: Translator, task: Task) -> str:
    if task.status == TaskStatus.DONE:
        return tr.gettext("“{title}” is already done.", title=task_title(tr, task))
    return tr.gettext("“{title}” was cancelled.", title=task_title(tr, task))


@on_press(ExtendTask, who=_viewer, expired=N_EXPIRED)
async def press_extend(press: Press[ExtendTask]) -> None:
    """Extend: the new due date and then the reason are typed."""
    session, context, replies, viewer, data = press.session, press.context, press.replies, press.viewer, press.data
    task = await _task(session, data.task_id)
    if not manages(viewer, task):
        raise Refusal(N_("Only the section's head, leaders and administrators can do that."))
    if task.status != TaskStatus.OPEN:
        raise Refusal(N_("This task is closed."))
    await dialogs.set_dialog(
        session=session, telegram_id=viewer.user.id, step=STEP_NEW_DUE, data={"task_id": task.id}, now=context.now()
    )
    question = context.tr.gettext(
        "“{title}” is due {day}. What is the new due date?",
        title=task_title(context.tr, task),
        day=task.due_on.isoformat(),
    )
    replies.reply(context.tr.sentences(question, context.tr.gettext(DATE_EXAMPLES)))


async def ask_new_due(
    session: AsyncSession, context: BotContext, viewer: Viewer, dialog: Dialog, text: str, replies: Replies
) -> None:
    due_on = read_due_date(context, text)
    task = await _task(session, int(dialog.data.get("task_id", 0)))
    if due_on <= task.due_on:
        raise Refusal(N_("The new date must be after the current one, {day}."), day=task.due_on.isoformat())
    await dialogs.set_dialog(
        session=session,
        telegram_id=viewer.user.id,
        step=STEP_REASON,
        data={**dialog.data, "due_on": due_on.isoformat()},
        now=context.now(),
    )
    replies.reply(context.tr.gettext("Why does it need more time? (The leaders see the reason.)"))


async def ask_reason(
    session: AsyncSession, context: BotContext, viewer: Viewer, dialog: Dialog, text: str, replies: Replies
) -> None:
    reason = typed_text(text, NOTE_LIMIT, N_REASON_TOO_LONG)
    task = await _task(session, int(dialog.data.get("task_id", 0)))
    if not manages(viewer, task) or task.status != TaskStatus.OPEN:
        raise Refusal(N_("Only the section's head, leaders and administrators can do that."))
    due_on = dt.date.fromisoformat(str(dialog.data["due_on"]))
    await tasks.extend_task(session=session, task=task, due_on=due_on, reason=reason, actor_id=viewer.member_id)
    await dialogs.clear_dialog(session=session, telegram_id=viewer.user.id)
    await tell_task_people(
        session,
        context,
        task,
        viewer,
        replies,
        N_("📅 {name} extended “{title}” to {day}: {reason}"),
        day=due_on.isoformat(),
        reason=reason,
    )
    text_, keyboard = await task_card(session, context, viewer, task)
    replies.reply(context.tr.gettext("Extended.") + "\n\n" + text_, keyboard)


@on_press(CancelTask, who=_viewer, expired=N_EXPIRED)
async def press_cancel(press: Press[CancelTask]) -> None:
    """Leaders and admins cancel a task that is no longer needed, after confirming."""
    session, context, replies, viewer, data = press.session, press.context, press.replies, press.viewer, press.data
    task = await _task(session, data.task_id)
    if viewer.audience not in OVERSEERS:
        raise Refusal(N_("Only leaders and administrators can cancel a task."))
    if task.status != TaskStatus.OPEN:
        raise Refusal(N_("This task is closed."))
    if not data.confirmed:
        text, _ = await task_card(session, context, viewer, task)
        keyboard = InlineKeyboardMarkup(
            [
                [button(context.tr.gettext("Yes, cancel it"), CancelTask(task.id or 0, True).pack())],
                [button(context.tr.gettext("No, keep it"), OpenTask(task.id or 0).pack())],
            ]
        )
        replies.edit(text + "\n\n" + context.tr.gettext("Cancel this task?"), keyboard)
    else:
        await tasks.close_task(
            session=session,
            task=task,
            status=TaskStatus.CANCELLED,
            actor_id=viewer.member_id,
            note="",
            now=context.now(),
        )
        await tell_task_people(session, context, task, viewer, replies, N_("✖ {name} cancelled “{title}”."))
        text, keyboard = await task_card(session, context, viewer, task)
        replies.toast(context.tr.gettext("Cancelled."))
        replies.edit(text, keyboard)


@on_press(Snooze, who=_viewer, expired=N_EXPIRED)
async def press_snooze(press: Press[Snooze]) -> None:
    """Snooze: the same reminder again on the next working morning."""
    session, context, replies, viewer, data = press.session, press.context, press.replies, press.viewer, press.data
    reminder = await reminders.get_reminder(session=session, reminder_id=data.reminder_id) if press else None
    if reminder is None or viewer.member is None or reminder.member_id != viewer.member.id:
        raise Refusal(N_("This button has expired. Send /tasks to see the open tasks."))
    task = await _task(session, reminder.task_id or 0)
    if task.status != TaskStatus.OPEN:
        replies.toast(_closed_text(context.tr, task), alert=True)
    else:
        when = await snooze_reminder(session, context, reminder.id or 0)
        replies.toast(context.tr.gettext("I will remind you again on {day}.", day=when.isoformat()), alert=True)


async def snooze_reminder(session: AsyncSession, context: BotContext, reminder_id: int) -> dt.date:
    """Plans a copy of the reminder for the next working morning (once: a second press changes nothing)."""
    reminder = await reminders.get_reminder(session=session, reminder_id=reminder_id)
    assert reminder is not None and reminder.member_id is not None
    settings = context.settings
    day = settings.calendar.work_calendar().next_working_day(context.today())
    send_at, expires_at = morning_of(day, settings)
    await reminders.add_reminders(
        session=session,
        planned=[
            reminders.PlannedReminder(
                key=f"snooze:{reminder.id}",
                kind=reminder.kind,
                member_id=reminder.member_id,
                day=day,
                next_attempt_at=send_at,
                expires_at=expires_at,
                task_id=reminder.task_id,
            )
        ],
    )
    return day


# --- reassigning ------------------------------------------------------------------------------------------------


@on_press(ReassignChoices, who=_viewer, expired=N_EXPIRED)
async def press_reassign_choices(press: Press[ReassignChoices]) -> None:
    """The section's staff to give the task to, or the section as a whole."""
    session, context, replies, viewer, data = press.session, press.context, press.replies, press.viewer, press.data
    task = await _managed_open_task(session, viewer, data.task_id)
    tr = context.tr
    people = await tasks.list_section_staff(session=session, section_id=task.section_id)
    items = [
        (
            ("✓ " if person.id == task.responsible_id else "") + person.display_name,
            ReassignTo(task.id or 0, person.id or 0).pack(),
        )
        for person in people
    ]
    items.append((tr.gettext("Nobody in particular"), ReassignTo(task.id or 0, 0).pack()))
    rows = paged_buttons(tr, items, data.page, lambda number: ReassignChoices(task.id or 0, number).pack())
    rows.append([button(tr.gettext("‹ Back"), OpenTask(task.id or 0).pack())])
    replies.edit(tr.gettext("Give “{title}” to whom?", title=task_title(tr, task)), InlineKeyboardMarkup(rows))


@on_press(ReassignTo, who=_viewer, expired=N_EXPIRED)
async def press_reassign(press: Press[ReassignTo]) -> None:
    """The task changes hands; the new responsible member and the one it was taken from are told."""
    session, context, replies, viewer, data = press.session, press.context, press.replies, press.viewer, press.data
    task = await _managed_open_task(session, viewer, data.task_id)
    chosen = await members.get_member(session=session, member_id=data.member_id) if data.member_id else None
    if data.member_id and (
        chosen is None
        or all(
            person.id != chosen.id
            for person in await tasks.list_section_staff(session=session, section_id=task.section_id)
        )
    ):
        raise Refusal(N_("That person is not in the section. Choose again from /tasks."))
    previous = await members.get_member(session=session, member_id=task.responsible_id) if task.responsible_id else None
    if task.responsible_id != data.member_id and not (task.responsible_id is None and chosen is None):
        await tasks.reassign_task(session=session, task=task, responsible=chosen, actor_id=viewer.member_id)
        _tell_reassigned(context, viewer, task, chosen, previous, replies)
    replies.toast(context.tr.gettext("Saved."))
    replies.edit(*await task_card(session, context, viewer, task))


def _tell_reassigned(
    context: BotContext, viewer: Viewer, task: Task, chosen: Member | None, previous: Member | None, replies: Replies
) -> None:
    for person, msgid in (
        (chosen, N_("📋 {name} gave you a task: “{title}”, due {day}. Send /tasks to see it.")),
        (previous, N_("📋 {name} took “{title}” off you: you are no longer responsible for it.")),
    ):
        if person is None or person.id == viewer.member_id or person.telegram_id is None:
            continue
        if person.status != MemberStatus.ACTIVE:
            continue
        tr = member_translator(context.settings, person)
        replies.send(
            person.telegram_id,
            tr.gettext(msgid, name=actor_name(viewer), title=task_title(tr, task), day=task.due_on.isoformat()),
        )


async def hand_back_tasks(
    session: AsyncSession, context: BotContext, member: Member, section_id: int, actor: Viewer, replies: Replies
) -> None:
    """A member who leaves a section (deactivated or moved) is no longer responsible for its open tasks: they fall
    back to the section, and its heads and the administrator who made the change get them listed with Reassign."""
    released = await tasks.release_tasks_of(
        session=session, member_id=member.id or 0, section_id=section_id, actor_id=actor.member_id
    )
    if not released:
        return
    section = await sections.get_section(session=session, section_id=section_id)

    def handed_back(tr: Translator) -> tuple[str, InlineKeyboardMarkup]:
        text = tr.ngettext(
            "{name} is no longer in {section}, so their open task falls to the section until you give it to someone:",
            "{name} is no longer in {section}, so their {n} open tasks fall to the section until you give them to "
            "someone:",
            len(released),
            name=member.display_name,
            section=section.name if section else "—",
        )
        rows = [
            [button(f"👤 {task_title(tr, task)}"[:64], ReassignChoices(task.id or 0, 0).pack())]
            for task in released[:20]
        ]
        return text, InlineKeyboardMarkup(rows)

    for head in await tasks.section_heads(session=session, section_id=section_id):
        if head.telegram_id is not None and head.telegram_id != actor.user.id:
            replies.send(head.telegram_id, *handed_back(member_translator(context.settings, head)))
    replies.reply(*handed_back(context.tr))


# --- /away -------------------------------------------------------------------------------------------------------


async def cmd_away(update: Update, context: BotContext) -> None:
    """`/away DATE`: no reminders until that day (included); a head's go to the other heads or the leaders."""
    replies = Replies()
    async with context.db.transaction() as session:
        viewer = await load_viewer(session=session, context=context, user=sender(update))
        require(viewer, AWAY, chat_type(update))
        assert viewer.member is not None
        member, tr = viewer.member, context.tr
        text = " ".join(context.args or [])
        away = member.away_until is not None and member.away_until >= context.today()
        if not text:
            state = (
                tr.gettext("You are away until {day} (that day included).", day=member.away_until.isoformat())
                if away and member.away_until
                else tr.gettext("You are not marked away.")
            )
            usage = (
                tr.gettext("Send /away off when you are back.")
                if away
                else tr.gettext("Send /away DATE to mark yourself away.")
            )
            replies.reply(f"{state}\n{usage}")
        elif text.lower() in {"off", "back", "回来", "取消"}:
            member.away_until = None
            await members.save_member(session=session, member=member)
            replies.reply(
                tr.gettext("Welcome back: your reminders come to you again.")
                if away
                else tr.gettext("You were not marked away.")
            )
        else:
            member.away_until = read_away_date(context, text)
            await members.save_member(session=session, member=member)
            day = member.away_until.isoformat()
            replies.reply(
                tr.gettext(
                    "You are away until {day} (that day included): your reminders go to the other heads of your "
                    "section, or to the leaders.",
                    day=day,
                )
                if viewer.audience == Audience.HEAD
                else tr.gettext("You are away until {day} (that day included): no reminders reach you.", day=day)
            )
    await replies.deliver(update, context)


def read_away_date(context: BotContext, text: str) -> dt.date:
    """The last day away: today or later, and within the campaign (reminders stop after it anyway)."""
    try:
        day = parse_due_date(text, today=context.today(), calendar=context.settings.calendar.work_calendar())
    except DateProblem as problem:
        if problem.reason == "past":
            raise Refusal(
                N_("{text} is in the past; say until when you will be away."), text=text.strip()[:40]
            ) from None
        raise date_refusal(problem, text) from None
    ends = context.settings.campaign.ends
    if day > ends:
        raise Refusal(
            N_("{day} is after the campaign, which ends on {end}: say until when you will be away before then."),
            day=day.isoformat(),
            end=ends.isoformat(),
        )
    return day


# --- helpers -----------------------------------------------------------------------------------------------------


async def _task(session: AsyncSession, task_id: int) -> Task:
    task = await tasks.get_task(session=session, task_id=task_id)
    if task is None:
        raise Refusal(N_("That task does not exist. Send /tasks again."))
    return task


async def _managed_open_task(session: AsyncSession, viewer: Viewer, task_id: int) -> Task:
    task = await _task(session, task_id)
    if not manages(viewer, task):
        raise Refusal(N_("Only the section's head, leaders and administrators can do that."))
    if task.status != TaskStatus.OPEN:
        raise Refusal(N_("This task is closed."))
    return task


async def _open_section(session: AsyncSession, section_id: int) -> Section:
    section = await sections.get_section(session=session, section_id=section_id)
    if section is None or section.archived_at is not None:
        raise Refusal(N_("That section is not open. Send /task again."))
    return section


TEXT_STEPS = {
    STEP_TITLE: ask_title,
    STEP_DUE: ask_due,
    STEP_NOTE: ask_note,
    STEP_NEW_DUE: ask_new_due,
    STEP_REASON: ask_reason,
    STEP_RESPONSIBLE: ask_responsible_by_button,
}


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    return [
        CommandHandler(TASK.name, cmd_task),
        CommandHandler(TASKS.name, cmd_tasks),
        CommandHandler(AWAY.name, cmd_away),
        CallbackQueryHandler(press_new_task_page, pattern=NewTaskPage.pattern()),
        CallbackQueryHandler(press_new_task_section, pattern=NewTaskSection.pattern()),
        CallbackQueryHandler(press_responsible, pattern=NewTaskResponsible.pattern()),
        CallbackQueryHandler(press_task_page, pattern=TaskPage.pattern()),
        CallbackQueryHandler(press_open_task, pattern=OpenTask.pattern()),
        CallbackQueryHandler(press_finish, pattern=FinishTask.pattern()),
        CallbackQueryHandler(press_extend, pattern=ExtendTask.pattern()),
        CallbackQueryHandler(press_cancel, pattern=CancelTask.pattern()),
        CallbackQueryHandler(press_reassign_choices, pattern=ReassignChoices.pattern()),
        CallbackQueryHandler(press_reassign, pattern=ReassignTo.pattern()),
        CallbackQueryHandler(press_snooze, pattern=Snooze.pattern()),
    ]
