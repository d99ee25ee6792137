"""What every feature needs: who is asking, refusals that become polite replies, replies sent after the commit,
and paged keyboards."""

from __future__ import annotations

import datetime as dt
import functools
import html
import logging
import math
import unicodedata
from collections.abc import Awaitable, Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Update, User, WebAppInfo
from telegram._utils.types import JSONDict
from telegram.constants import ChatType
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError

from bot.access import Audience, CommandSpec, audience_of, in_a_section
from bot.config import Settings
from bot.context import BotContext
from bot.dates import DATE_EXAMPLES, DateProblem, parse_due_date
from bot.extbot import CampaignBot
from bot.i18n import N_, Html, Translator, known_language, pick_language, translator
from bot.menus import set_member_menu
from bot.pacing import group_has_room
from storage import dialogs, members, reminders, sections, updates
from storage.models import CampaignGroup, Dialog, Member, MemberStatus, Role, Section
from storage.session import BEFORE_COMMIT_IF_WRITTEN, DatabaseUnavailable

logger = logging.getLogger(__name__)

NAME_LIMIT = 64
INVISIBLE = {"Cc", "Cf", "Co", "Cs", "Cn"}  # control, format (zero-width), private use, surrogates, unassigned
# What is wrong with a typed answer over its limit, by what was asked for (`TooLong` then asks for a shorter one).
N_NAME_TOO_LONG = N_("A name has at most {limit} characters; this one has {length}.")
N_ORGANISATION_TOO_LONG = N_("An organisation's name has at most {limit} characters; this one has {length}.")
N_TITLE_TOO_LONG = N_("A title has at most {limit} characters; this one has {length}.")
N_COMMITMENT_TOO_LONG = N_("A commitment has at most {limit} characters; this one has {length}.")
N_NOTE_TOO_LONG = N_("A note has at most {limit} characters; this one has {length}.")
N_REASON_TOO_LONG = N_("A reason has at most {limit} characters; this one has {length}.")
N_COMMENT_TOO_LONG = N_("A comment has at most {limit} characters; this one has {length}.")
N_SEND_SHORTER = N_("Please send a shorter one, or send /cancel to stop.")
PAGE_SIZE = 8


@dataclass
class Intake:
    """The update being handled, so that the first transaction that changes something for it claims it (once
    only): a repeated delivery then changes nothing. One that only reads claims nothing (Telegram does not deliver
    an update twice to a running bot, and `handlers.flood` drops a repeat that reaches the same process anyway).
    A command sent in private by `user_id` drops the answer a dialog waited for from them: a prompt left behind by
    another command never takes a later message."""

    bot_id: int
    update_id: int
    user_id: int | None = None
    command: bool = False
    claimed: bool = False
    dialog_dropped: bool = False
    audience: Audience | None = None  # once the sender is known (load_viewer)


CURRENT_UPDATE: ContextVar[Intake | None] = ContextVar("shuangyou_current_update", default=None)


class RepeatedUpdate(Exception):
    """This update was acted on before (a webhook retried, a poll repeated): it is dropped without a word."""


class Refusal(Exception):
    """An expected "no" for the user: the error handler replies with the text and nothing is committed."""

    def __init__(self, msgid: str, /, **params: object) -> None:
        super().__init__(msgid)
        self.msgid = msgid
        self.params = params

    def render(self, tr: Translator) -> Html:
        return tr.gettext(self.msgid, **self.params)


class TooLong(Refusal):
    """A typed answer over its limit. Like every refusal it changes nothing, so the dialog stays at the step that
    asked and takes the next message as a new answer to it: the reply says the limit (`problem`, with the length
    sent), then asks for a shorter one. Every typed name and text is refused so (`clean_name`, `typed_text`)."""

    def __init__(self, problem: str, /, *, limit: int, length: int) -> None:
        super().__init__(problem, limit=limit, length=length)

    def render(self, tr: Translator) -> Html:
        return tr.sentences(super().render(tr), tr.gettext(N_SEND_SHORTER))


class UnusableDate(Refusal):
    """A typed date that cannot be used: what is wrong with it, then examples of dates that work."""

    def render(self, tr: Translator) -> Html:
        return tr.sentences(super().render(tr), tr.gettext(DATE_EXAMPLES))


@dataclass(frozen=True)
class Viewer:
    """The user behind an update, as the database and the config know them; `left_dialog` when this update, a
    command, dropped a dialog that waited for their answer."""

    user: User
    member: Member | None
    audience: Audience
    left_dialog: bool = False

    @property
    def member_id(self) -> int | None:
        return self.member.id if self.member is not None else None


async def load_viewer(*, session: AsyncSession, context: BotContext, user: User) -> Viewer:
    """Reads the member (if any), switches to their language, and works out their audience. The update is claimed
    when this transaction commits, if it changed anything: a repeated delivery is rolled back (RepeatedUpdate)."""
    left_dialog = await _take_in(session, context)
    member = await members.get_member_by_telegram_id(session=session, telegram_id=user.id)
    return _viewer(context, user, member, left_dialog)


async def viewer_read_with(*, session: AsyncSession, context: BotContext, user: User, member: Member | None) -> Viewer:
    """`load_viewer` for a handler that read the member itself, in a statement that read more with it."""
    left_dialog = await _take_in(session, context)
    return _viewer(context, user, member, left_dialog)


async def _take_in(session: AsyncSession, context: BotContext) -> bool:
    """A command drops the dialog that waited for the user's answer (whether one did is returned); the update is
    claimed when the transaction commits, if it changed anything."""
    intake = CURRENT_UPDATE.get()
    left_dialog = False
    if intake is not None and not intake.claimed:
        if intake.command and intake.user_id is not None and not intake.dialog_dropped:
            intake.dialog_dropped = True
            left_dialog = await dialogs.clear_dialog(session=session, telegram_id=intake.user_id)
        session.info[BEFORE_COMMIT_IF_WRITTEN] = functools.partial(_claim, context=context, intake=intake)
    return left_dialog


def _viewer(context: BotContext, user: User, member: Member | None, left_dialog: bool) -> Viewer:
    if member is not None:
        if member.language is None and (telegram := known_language(user.language_code)):
            member.language = telegram  # kept at first contact: what is sent to them unasked speaks it too
        context.use_language(member.language)
    audience = audience_of(member, user.id, context.settings.bot.admins)
    intake = CURRENT_UPDATE.get()
    if intake is not None:
        intake.audience = audience
    return Viewer(user, member, audience, left_dialog)


async def drop_dialog_after_refusal(context: BotContext) -> None:
    """A refused command drops the dialog all the same, though the refusal rolled back the transaction that did."""
    intake = CURRENT_UPDATE.get()
    if intake is None or not intake.dialog_dropped or intake.user_id is None:
        return
    try:
        async with context.db.transaction() as session:
            await dialogs.clear_dialog(session=session, telegram_id=intake.user_id)
    except DatabaseUnavailable:
        pass  # the refusal stands all the same


async def _claim(session: AsyncSession, *, context: BotContext, intake: Intake) -> None:
    """Claims the update in the transaction about to commit its changes; a repeated delivery rolls back."""
    if not await updates.claim_update(
        session=session, bot_id=intake.bot_id, update_id=intake.update_id, now=context.now()
    ):
        raise RepeatedUpdate(intake.update_id)
    intake.claimed = True


def require(viewer: Viewer, spec: CommandSpec, chat_type: str) -> None:
    """Refuses a command to a user or in a chat the command is not for."""
    if viewer.audience not in spec.audiences:
        if viewer.member is not None and viewer.member.status == MemberStatus.INACTIVE:
            raise Refusal(N_DEACTIVATED)
        if viewer.audience == Audience.OUTSIDER:
            raise Refusal(N_("/{command} is for registered members. Send /start to register."), command=spec.name)
        if viewer.audience == Audience.PENDING:
            raise Refusal(N_("Your registration is still waiting for approval."))
        raise Refusal(N_("You can't use /{command}. Send /help to see the commands you can use."), command=spec.name)
    if chat_type not in spec.chats:
        raise Refusal(
            N_("/{command} works only in a private chat with me.")
            if chat_type != "private"
            else N_("/{command} works only in the campaign group."),
            command=spec.name,
        )


def require_admin(viewer: Viewer) -> None:
    if viewer.audience != Audience.ADMIN:
        raise Refusal(N_("Only administrators can do that."))


def callback_data(update: Update) -> str | None:
    """The data of the pressed button (parsed, and checked against the database, by each feature)."""
    return update.callback_query.data if update.callback_query else None


async def admin_viewer(session: AsyncSession, context: BotContext, update: Update) -> Viewer:
    """The user behind a button only admins may press."""
    viewer = await load_viewer(session=session, context=context, user=sender(update))
    require_admin(viewer)
    return viewer


async def existing_section(session: AsyncSession, section_id: int) -> Section:
    section = await sections.get_section(session=session, section_id=section_id)
    if section is None:
        raise Refusal(N_("That section does not exist. Send /sections again."))
    return section


def reader_translator(settings: Settings, language: str | None) -> Translator:
    """The texts for a reader the bot writes to unasked, in the language stored for them (else the default)."""
    return translator(pick_language(chosen=language, telegram=None, default=settings.bot.default_language))


def group_translator(settings: Settings, group: CampaignGroup | None) -> Translator:
    """The texts for the campaign group, in its language."""
    return reader_translator(settings, group.language if group is not None else None)


def member_translator(settings: Settings, member: Member | None) -> Translator:
    """The texts for someone the bot writes to unasked (a notice, a reminder), in their language."""
    return reader_translator(settings, member.language if member is not None else None)


def sender(update: Update) -> User:
    """The user behind an update the handlers accept (they all have one)."""
    user = update.effective_user
    if user is None:
        raise RuntimeError("this handler only accepts updates from users")
    return user


def chat_type(update: Update) -> str:
    return update.effective_chat.type if update.effective_chat else "private"


def clean_name(text: str, *, problem: str = N_NAME_TOO_LONG) -> str:
    """A name as typed: one line, runs of space made one, invisible characters dropped. Refuses names that are
    empty, invisible, commands, or longer than the column."""
    name = _visible(text)
    if not _is_a_name(name):
        raise Refusal(N_("Please send a name with letters or digits (a command is not a name)."))
    if len(name) > NAME_LIMIT:
        raise TooLong(problem, limit=NAME_LIMIT, length=len(name))
    return name


def profile_name(user: User) -> str:
    """The name of a Telegram profile, cleaned as a typed name is (zero-width and control characters, right-to-left
    overrides dropped; HTML stays text, escaped when shown) and cut to the column; a profile without a usable name
    gives its id."""
    name = _visible(user.full_name)[:NAME_LIMIT].strip()
    return name if _is_a_name(name) else f"#{user.id}"


def _visible(text: str) -> str:
    visible = "".join(char for char in text if unicodedata.category(char) not in INVISIBLE)
    return " ".join(visible.split())


def _is_a_name(name: str) -> bool:
    return bool(name) and not name.startswith("/") and any(unicodedata.category(char)[0] in "LN" for char in name)


N_DEACTIVATED = N_(
    "An administrator deactivated your membership of the campaign. If this is a mistake, ask them to reactivate it."
)


def typed_text(text: str, limit: int, problem: str) -> str:
    """Free text as typed (a title, a note, a comment, a reason): one line, not a command, not over `limit`.
    `problem` says the limit ("A title has at most {limit} characters; this one has {length}.")."""
    cleaned = " ".join(text.split())
    if not cleaned or cleaned.startswith("/"):
        raise Refusal(N_("Please type it as text, or send /cancel to stop."))
    if len(cleaned) > limit:
        raise TooLong(problem, limit=limit, length=len(cleaned))
    return cleaned


ROLE_NAMES = {
    Role.STAFF: N_("staff member"),
    Role.HEAD: N_("section head"),
    Role.LEADER: N_("leader"),
    Role.ADMIN: N_("administrator"),
    Role.INDUSTRY: N_("industry rater"),
}


def role_name(tr: Translator, role: Role) -> str:
    return tr.gettext(ROLE_NAMES[role])


# --- replies after the commit ------------------------------------------------------------------------------------


@dataclass
class _Outgoing:
    chat_id: int | None  # None: the chat of the update
    text: str
    markup: InlineKeyboardMarkup | None
    edit: bool


@dataclass
class _Menu:
    telegram_id: int
    audience: Audience
    language: str
    in_section: bool


TELEGRAM_APOLOGY = N_("Sorry, Telegram did not take my answer just now. Please send that again.")


@dataclass
class Replies:
    """What to send once the transaction has committed: nothing is announced that did not happen.

    `signed`: the pressed message's buttons carry the state (the rating form). Its edit goes out before the button
    is answered, and an edit Telegram does not take is not kept for the outbox (it would show a state that the
    buttons still in the chat do not have): the button's answer asks to press again, on the message as it is."""

    messages: list[_Outgoing] = field(default_factory=list)
    menus: list[_Menu] = field(default_factory=list)
    answer: str | None = None
    alert: bool = False
    signed: bool = False

    def reply(self, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
        self.messages.append(_Outgoing(None, text, markup, edit=False))

    def edit(self, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
        """Replaces the message whose button was pressed (or replies, for a typed message)."""
        self.messages.append(_Outgoing(None, text, markup, edit=True))

    def send(self, chat_id: int, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
        self.messages.append(_Outgoing(chat_id, text, markup, edit=False))

    def toast(self, text: str, *, alert: bool = False) -> None:
        self.answer, self.alert = text, alert

    def menu_for(self, member: Member, audience: Audience, default_language: str) -> None:
        if member.telegram_id is not None:
            language = pick_language(chosen=member.language, telegram=None, default=default_language)
            self.menus.append(_Menu(member.telegram_id, audience, language, in_a_section(member)))

    async def deliver(self, update: Update, context: BotContext) -> None:
        """The answer in this chat first, then the messages to other people, then the menus. A message Telegram
        does not take for now (5xx, a timeout, flood control) is kept for the outbox to send again, so that what
        was done is still said; an unreachable person is logged. Other failures here are raised at the end, after
        the others have their messages, for the error handler to answer."""
        query = update.callback_query
        if query is not None and self.signed:
            await self._deliver_signed(update, context, query)
            return
        if query is not None:
            await _answer_button(query, self.answer, self.alert)
        failure: TelegramError | None = None
        here = update.effective_chat
        group = here is not None and here.type != ChatType.PRIVATE
        if group and here is not None and not _may_answer_in_group(context, here.id):
            self.messages = [outgoing for outgoing in self.messages if outgoing.chat_id is not None]
        for outgoing in self.messages:
            if outgoing.chat_id is None and group and here is not None and not group_has_room(context.bot, here.id):
                await _queue_for_group(context, here.id, outgoing)
            elif outgoing.chat_id is None:
                try:
                    await self._deliver_here(update, outgoing)
                except TelegramError as error:
                    if _passing(error) and update.effective_chat is not None:
                        await _keep_notice(context, update.effective_chat.id, outgoing, error)
                    else:
                        failure = failure or error
        for outgoing in self.messages:
            if outgoing.chat_id is not None:
                await _deliver_notice(context, outgoing.chat_id, outgoing)
        for menu in self.menus:
            await _set_menu(context, menu)
        if failure is not None:
            raise failure

    async def _deliver_signed(self, update: Update, context: BotContext, query: CallbackQuery) -> None:
        for outgoing in self.messages:
            try:
                await self._deliver_here(update, outgoing)
            except TelegramError as error:
                if not _passing(error):
                    raise
                logger.warning("Telegram did not take the answer to a signed button: %s", error)
                await _answer_button(query, context.tr.gettext(TELEGRAM_APOLOGY), alert=True)
                return
        await _answer_button(query, self.answer, self.alert)

    @staticmethod
    async def _deliver_here(update: Update, outgoing: _Outgoing) -> None:
        query = update.callback_query
        if outgoing.edit and query is not None and query.message is not None:
            try:
                await _edit(query, outgoing)
            except BadRequest as error:
                if "message is not modified" not in error.message.lower():
                    raise
            return
        message = update.effective_message
        assert message is not None
        await message.reply_text(outgoing.text, reply_markup=outgoing.markup)


async def _edit(query: CallbackQuery, outgoing: _Outgoing) -> None:
    """Replaces the pressed message, without reading back what Telegram answers (bot/extbot.py)."""
    message = query.message
    assert message is not None
    bot = query.get_bot()
    if isinstance(bot, CampaignBot):
        await bot.edit_message_text_unread(
            outgoing.text, chat_id=message.chat.id, message_id=message.message_id, reply_markup=outgoing.markup
        )
    else:
        await query.edit_message_text(outgoing.text, reply_markup=outgoing.markup)


OUTSIDER_ANSWER_EVERY = dt.timedelta(minutes=1)


def _may_answer_in_group(context: BotContext, chat_id: int) -> bool:
    """A group hears the bot answer people who are not members (their /help, their refused commands) once a minute
    at most: nobody can make the bot spend the group's 20 messages a minute, or fill the group, by sending
    commands. Members' answers are not limited here."""
    intake = CURRENT_UPDATE.get()
    if intake is None or intake.audience not in (None, Audience.OUTSIDER):
        return True
    answered = context.services.outsider_answers
    last = answered.get(chat_id)
    if last is not None and context.now() - last < OUTSIDER_ANSWER_EVERY:
        logger.info("Not answering someone who is not a member in group %s again within a minute", chat_id)
        return False
    answered.put(chat_id, context.now())
    return True


async def _queue_for_group(context: BotContext, chat_id: int, outgoing: _Outgoing) -> None:
    """A reply to a group that has had its 20 messages this minute goes through the outbox, at the group's pace,
    instead of holding the handler until then."""
    async with context.db.transaction() as session:
        await _queue_notice(session, context, chat_id, outgoing)
    logger.info("Group %s has had its messages for this minute; the outbox sends the reply", chat_id)


def _passing(error: TelegramError) -> bool:
    """Telegram may take it later: a 5xx, a timeout, flood control (not a refusal such as 400 or 403)."""
    return isinstance(error, RetryAfter) or (isinstance(error, NetworkError) and not isinstance(error, BadRequest))


async def _answer_button(query: CallbackQuery, text: str | None, alert: bool) -> None:
    """Stops the button's spinner; if Telegram does not take that, the edit or reply that follows still says it."""
    try:
        await query.answer(text, show_alert=alert)
    except TelegramError as error:
        logger.warning("Telegram did not take the answer to a button: %s", error)


async def _deliver_notice(context: BotContext, chat_id: int, outgoing: _Outgoing) -> None:
    try:
        await context.bot.send_message(chat_id, outgoing.text, reply_markup=outgoing.markup)
    except TelegramError as error:
        if _passing(error):
            await _keep_notice(context, chat_id, outgoing, error)
        else:
            logger.warning("Could not reach chat %s: %s", chat_id, error.message)


async def _keep_notice(context: BotContext, chat_id: int, outgoing: _Outgoing, error: TelegramError) -> None:
    async def queue(session: AsyncSession) -> None:
        await _queue_notice(session, context, chat_id, outgoing)

    await _keep_for_outbox(context, queue, f"a message to chat {chat_id}", error)


async def _queue_notice(session: AsyncSession, context: BotContext, chat_id: int, outgoing: _Outgoing) -> None:
    """The message, kept for the outbox to send."""
    markup = outgoing.markup.to_dict() if outgoing.markup is not None else None
    await reminders.queue_notice(session=session, chat_id=chat_id, text=outgoing.text, markup=markup, now=context.now())


async def _set_menu(context: BotContext, menu: _Menu) -> None:
    try:
        await set_member_menu(
            context.bot,
            context.services.commands,
            menu.telegram_id,
            menu.audience,
            menu.language,
            in_section=menu.in_section,
        )
    except TelegramError as error:
        if not _passing(error):
            logger.warning("Could not set the command menu of %s: %s", menu.telegram_id, error)
            return

        async def queue(session: AsyncSession) -> None:
            await reminders.queue_menu(session=session, telegram_id=menu.telegram_id, now=context.now())

        await _keep_for_outbox(context, queue, f"the command menu of {menu.telegram_id}", error)


async def _keep_for_outbox(
    context: BotContext, queue: Callable[[AsyncSession], Awaitable[None]], what: str, error: TelegramError
) -> None:
    """Keeps what Telegram did not take for now in the database, for the outbox to send again."""
    try:
        async with context.db.transaction() as session:
            await queue(session)
    except DatabaseUnavailable:
        logger.warning("Lost %s: Telegram (%s) and the database both failed", what, error)
        return
    logger.warning("Telegram did not take %s (%s); the outbox sends it again", what, error)


Step = Callable[[AsyncSession, BotContext, Viewer, Dialog, str, Replies], Awaitable[None]]


# --- keyboards ---------------------------------------------------------------------------------------------------


def button(text: str, data: str) -> InlineKeyboardButton:
    """A button; its label is plain text, so a translation rendered for HTML (its values escaped) is turned back."""
    return InlineKeyboardButton(_label(text), callback_data=data)


def app_button(text: str, url: str) -> InlineKeyboardButton:
    """A button that opens a page of ours inside Telegram (a Mini App); Telegram takes only https addresses, and
    only in a private chat."""
    return InlineKeyboardButton(_label(text), web_app=WebAppInfo(url))


def _label(text: str) -> str:
    return html.unescape(text) if isinstance(text, Html) else text


class PlainKeyboard(InlineKeyboardMarkup):
    """Buttons with callback data (label, data), kept as the JSON Telegram reads rather than as an
    InlineKeyboardButton each: building 26 of those and turning them into JSON again cost more than the rest of a
    rating form's press (bench/README.md). For sending only: `inline_keyboard` is empty, `rows` has the buttons."""

    __slots__ = ("rows",)

    def __init__(self, rows: Sequence[Sequence[tuple[str, str]]]) -> None:
        super().__init__(())
        with self._unfrozen():
            self.rows = tuple(tuple((_label(text), data) for text, data in row) for row in rows)
        self._id_attrs = (self.rows,)

    def to_dict(self, recursive: bool = True) -> JSONDict:
        return {"inline_keyboard": [[{"text": text, "callback_data": data} for text, data in row] for row in self.rows]}


def paged_buttons(
    tr: Translator,
    items: Sequence[tuple[str, str]],
    page: int,
    page_data: Callable[[int], str],
    *,
    per_page: int = PAGE_SIZE,
) -> list[list[InlineKeyboardButton]]:
    """One button a row for the items of `page`, then ‹ and › to move between pages."""
    pages = max(1, math.ceil(len(items) / per_page))
    page = min(max(page, 0), pages - 1)
    rows = [[button(label, data)] for label, data in items[page * per_page : (page + 1) * per_page]]
    if pages > 1:
        rows.append(navigation_row(tr, page, pages, page_data))
    return rows


def navigation_row(
    tr: Translator,
    page: int,
    pages: int,
    page_data: Callable[[int], str],
    *,
    labels: tuple[str, str] | None = None,
) -> list[InlineKeyboardButton]:
    """‹ Previous · 2/5 · Next › (or the `labels` given for back and on, where a message pages two lists)."""
    back, on = labels or (tr.gettext("‹ Previous"), tr.gettext("Next ›"))
    navigation = []
    if page > 0:
        navigation.append(button(back, page_data(page - 1)))
    navigation.append(button(f"{page + 1}/{pages}", page_data(page)))
    if page < pages - 1:
        navigation.append(button(on, page_data(page + 1)))
    return navigation


DATE_PROBLEMS = {
    "unreadable": N_("I can't read “{text}” as a date."),
    "no_such_day": N_("There is no such day as {text}."),
    "past": N_("{text} is in the past; a deadline must be today or later."),
    "far": N_("{text} is more than three years away."),
}


def read_due_date(context: BotContext, text: str) -> dt.date:
    """The typed date; a deadline that falls on a day off moves to the next working day, as deadlines do."""
    calendar = context.settings.calendar.work_calendar()
    try:
        day = parse_due_date(text, today=context.today(), calendar=calendar)
    except DateProblem as problem:
        raise date_refusal(problem, text) from None
    return day if calendar.is_working_day(day) else calendar.next_working_day(day)


def date_refusal(problem: DateProblem, text: str) -> Refusal:
    """What is wrong with the typed date, and examples of dates that work."""
    return UnusableDate(DATE_PROBLEMS[problem.reason], text=text.strip()[:40])
