"""The public's good/bad reviews (好差评): a section's review link and QR code (/ratinglink) for the service counter;
anyone served follows it and chooses one of five levels. The two lowest need a reason (tags or text) and open a
rectification task for the section, whose heads are told at once.

Against stuffing: the level buttons carry the token of the section's review link (a forged press for another section
finds no section), a Telegram account is one reviewer of a section per rating period (a later review replaces the
earlier one; at most one a day), and members of the organisation (active, pending or deactivated, industry raters
too) rate with /rate instead.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.access import ADMINS_AND_HEADS, PRIVATE, Audience, CommandSpec
from bot.callbacks import CallbackData
from bot.chart import renderer
from bot.config import ReasonTag, Settings
from bot.context import BotContext
from bot.dates import DATE_EXAMPLES
from bot.i18n import N_, Translator
from bot.labels import label_name, rectification_titles, why_bad
from bot.qr_card import Card, card_png
from handlers.common import (
    N_COMMENT_TOO_LONG,
    N_NOTE_TOO_LONG,
    N_REASON_TOO_LONG,
    Refusal,
    Replies,
    Viewer,
    button,
    callback_data,
    chat_type,
    load_viewer,
    member_translator,
    paged_buttons,
    read_due_date,
    reader_translator,
    require,
    sender,
    typed_text,
)
from handlers.presses import Press, on_press
from storage import audit, campaigns, dialogs, reminders, reviews, sections, tasks
from storage.models import Dialog, Member, MemberStatus, PeriodKind, PublicReview, Section, Task, TaskStatus

RATINGLINK = CommandSpec(
    "ratinglink",
    N_("Your section's review link and QR code"),
    ADMINS_AND_HEADS,
    PRIVATE,
    described_for=((Audience.ADMIN, N_("A section's review link and QR code, to print")),),
)
COMMANDS = (RATINGLINK,)
N_EXPIRED = N_("This button has expired. Open the review link again.")
N_SCAN = N_("Scan to review the service")
REVIEW_PAYLOAD = re.compile(r"^r_(.*)$")
STEP_REASON = "review.reason"
STEP_COMMENT = "review.comment"
TEXT_LIMIT = 500
NO_DELAY = dt.timedelta(0)
BAD = 2  # levels up to this need a reason
LEVELS = {  # the five levels of the government's 好差评
    5: N_("Very satisfied"),
    4: N_("Satisfied"),
    3: N_("Fairly satisfied"),
    2: N_("Dissatisfied"),
    1: N_("Very dissatisfied"),
}


@dataclass(frozen=True)
class Level(CallbackData):
    PREFIX = "rvl"
    token: str  # the section's review link token: only someone who opened the link has it
    level: int


@dataclass(frozen=True)
class Tag(CallbackData):
    PREFIX = "rvt"
    review_id: int
    index: int


@dataclass(frozen=True)
class Finish(CallbackData):
    PREFIX = "rvd"
    review_id: int


@dataclass(frozen=True)
class Appeal(CallbackData):
    """A head appeals a bad review (handled in handlers/moderation.py)."""

    PREFIX = "mda"
    review_id: int


@dataclass(frozen=True)
class LinkFor(CallbackData):
    PREFIX = "rvs"
    section_id: int


@dataclass(frozen=True)
class LinkPage(CallbackData):
    PREFIX = "rvp"
    page: int


def review_link(bot_username: str, token: str) -> str:
    return f"https://t.me/{bot_username}?start=r_{token}"


def web_review_link(settings: Settings, token: str) -> str:
    """The section's review page (web/reviews.py): what the printed QR code opens, Telegram or not."""
    return f"{settings.web.base_url()}/review/{token}"


def levels_keyboard(tr: Translator, token: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[button(tr.gettext(LEVELS[level]), Level(token, level).pack())] for level in LEVELS])


def tags_keyboard(tr: Translator, tags: tuple[ReasonTag, ...], review: PublicReview) -> InlineKeyboardMarkup:
    rows = [
        [button(("✓ " if tag.key in review.tags else "") + label_name(tr, tag), Tag(review.id or 0, index).pack())]
        for index, tag in enumerate(tags)
    ]
    rows.append([button(tr.gettext("Done"), Finish(review.id or 0).pack())])
    return InlineKeyboardMarkup(rows)


# --- the reviewer ------------------------------------------------------------------------------------------------


async def begin_review(
    session: AsyncSession, context: BotContext, viewer: Viewer, token: str, replies: Replies
) -> None:
    """`/start r_<token>`: anyone, registered or not, is asked how satisfied they are."""
    section = await reviews.section_by_review_token(session=session, token=token) if token else None
    if section is None or section.archived_at is not None:
        replies.reply(
            context.tr.gettext("This review link is not valid. Ask at the service counter for the current one.")
        )
        return
    _not_a_member(viewer)
    earlier = await reviews.todays_review(
        session=session, section_id=section.id or 0, reviewer_telegram_id=viewer.user.id, day=context.today()
    )
    if earlier is not None and earlier.complete:
        replies.reply(
            context.tr.gettext(
                "You already reviewed {section} today. Thank you! You can review again tomorrow.", section=section.name
            )
        )
        return
    if earlier is not None:
        await _ask_reason(session, context, viewer, earlier, replies)
        return
    replies.reply(
        context.tr.gettext("How satisfied are you with the service of <b>{section}</b>?", section=section.name),
        levels_keyboard(context.tr, token),
    )


@on_press(Level, expired=N_EXPIRED)
async def press_level(press: Press[Level]) -> None:
    session, context, replies, viewer, data = press.session, press.context, press.replies, press.viewer, press.data
    section = await reviews.section_by_review_token(session=session, token=data.token) if press else None
    if section is None or section.archived_at is not None or data.level not in LEVELS:
        raise Refusal(N_EXPIRED)
    _not_a_member(viewer)
    found = await reviews.reviewer_reviews(
        session=session, section_id=section.id or 0, reviewer_telegram_id=viewer.user.id, day=context.today()
    )
    if any(old.day == context.today() for old in found):
        raise Refusal(
            N_("You already reviewed {section} today. Thank you! You can review again tomorrow."),
            section=section.name,
        )
    review = await reviews.add_review(
        session=session,
        section_id=section.id or 0,
        reviewer_telegram_id=viewer.user.id,
        level=data.level,
        day=context.today(),
        language=context.language,
    )
    if review.complete:
        await replace_earlier(session, context.settings, review, context.now(), found)
    if data.level <= BAD:
        await _ask_reason(session, context, viewer, review, replies)
    else:
        await dialogs.set_dialog(
            session=session,
            telegram_id=viewer.user.id,
            step=STEP_COMMENT,
            data={"review_id": review.id},
            now=context.now(),
        )
        replies.edit(
            context.tr.gettext(
                "Thank you for your review of {section}: {level}. If you like, type a comment; it goes to the "
                "section without your name.",
                section=section.name,
                level=context.tr.gettext(LEVELS[data.level]),
            )
        )


async def _ask_reason(
    session: AsyncSession, context: BotContext, viewer: Viewer, review: PublicReview, replies: Replies
) -> None:
    await dialogs.set_dialog(
        session=session, telegram_id=viewer.user.id, step=STEP_REASON, data={"review_id": review.id}, now=context.now()
    )
    replies.edit(
        context.tr.gettext(
            "We are sorry. What went wrong? Choose one or more reasons and press Done, or type it in your own words."
        ),
        tags_keyboard(context.tr, context.settings.reviews.bad_reason_tags, review),
    )


@on_press(Tag, expired=N_EXPIRED)
async def press_tag(press: Press[Tag]) -> None:
    session, context, replies, viewer, data = press.session, press.context, press.replies, press.viewer, press.data
    review = await _own_open_review(session, viewer, data.review_id)
    tags = context.settings.reviews.bad_reason_tags
    if not 0 <= data.index < len(tags):
        raise Refusal(N_EXPIRED)
    key = tags[data.index].key
    review.tags = [t for t in review.tags if t != key] if key in review.tags else [*review.tags, key]
    await reviews.save_review(session=session, review=review)
    replies.edit(
        context.tr.gettext(
            "We are sorry. What went wrong? Choose one or more reasons and press Done, or type it in your own words."
        ),
        tags_keyboard(context.tr, tags, review),
    )


@on_press(Finish, expired=N_EXPIRED)
async def press_finish(press: Press[Finish]) -> None:
    session, context, replies, viewer, data = press.session, press.context, press.replies, press.viewer, press.data
    review = await _own_open_review(session, viewer, data.review_id)
    if not review.tags:
        raise Refusal(N_("Choose at least one reason, or type it in your own words."))
    await complete_bad_review(session, context, viewer, review, replies)


async def ask_reason(
    session: AsyncSession, context: BotContext, viewer: Viewer, dialog: Dialog, text: str, replies: Replies
) -> None:
    """The reviewer typed the reason of a bad review."""
    review = await _own_open_review(session, viewer, int(dialog.data.get("review_id", 0)))
    if text.strip() in {context.tr.gettext("Done"), "Done"}:  # typed instead of pressed
        if not review.tags:
            raise Refusal(N_("Choose at least one reason, or type it in your own words."))
    else:
        review.reason = typed_text(text, TEXT_LIMIT, N_REASON_TOO_LONG)
    await complete_bad_review(session, context, viewer, review, replies)


async def ask_comment(
    session: AsyncSession, context: BotContext, viewer: Viewer, dialog: Dialog, text: str, replies: Replies
) -> None:
    """The reviewer typed a comment to a good review."""
    review = await reviews.get_review(session=session, review_id=int(dialog.data.get("review_id", 0)))
    if review is None or review.reviewer_telegram_id != viewer.user.id:
        raise Refusal(N_EXPIRED)
    review.comment = typed_text(text, TEXT_LIMIT, N_COMMENT_TOO_LONG)
    await reviews.save_review(session=session, review=review)
    await dialogs.clear_dialog(session=session, telegram_id=viewer.user.id)
    section = await sections.get_section(session=session, section_id=review.section_id)
    assert section is not None
    await tell_heads(session, context, review.section_id, replies, comment_notice(section, review))
    replies.reply(context.tr.gettext("Thank you, your comment is recorded."))


async def open_rectification(
    session: AsyncSession, settings: Settings, review: PublicReview, now: dt.datetime
) -> tuple[Section, dt.date]:
    """A bad review's reason given in Telegram: the section gets a rectification task, the review is complete, and
    the reviewer's earlier reviews of the period are replaced. The section and the task's due day."""
    section = await sections.get_section(session=session, section_id=review.section_id)
    assert section is not None
    task = await rectification_task(session, settings, section, review.tags, review.reason, now)
    review.complete, review.task_id = True, task.id
    await reviews.save_review(session=session, review=review)
    await replace_earlier(session, settings, review, now)
    return section, task.due_on


async def rectification_task(
    session: AsyncSession, settings: Settings, section: Section, tags: list[str], reason: str, now: dt.datetime
) -> Task:
    """The section's task to look into a bad review, due in [reviews] rectify_working_days working days (the web
    page opens it before it stores the review, which then comes with its task in one INSERT)."""
    calendar = settings.calendar.work_calendar()
    due = calendar.add_working_days(now.astimezone(settings.tz).date(), settings.reviews.rectify_working_days)
    titles = rectification_titles(settings, tags, reason)
    return await tasks.create_task(
        session=session,
        section_id=section.id or 0,
        due_on=due,
        responsible_id=None,
        created_by_id=None,
        title=titles[settings.bot.default_language],  # stored as typed, escaped when shown
        title_by_language=titles,
    )


def bad_review_notice(settings: Settings, section: Section, review: PublicReview, due: dt.date) -> Notice:
    """What the section's heads read of a new bad review, with the button to appeal it; the reviewer's contact for
    a call back (回访) when they left one: only heads and admins ever see it."""

    def text(tr: Translator) -> str:
        notice: str = tr.gettext(
            "⚠️ A bad review of {section}: {level}. Reason: {why}. A rectification task is open until {day}; "
            "send /tasks.",
            section=section.name,
            level=tr.gettext(LEVELS[review.level]),
            why=why_bad(tr, settings, review.tags, review.reason),
            day=due.isoformat(),
        )
        if review.contact:
            notice += "\n" + tr.gettext("The reviewer asks to be called back: {contact}", contact=review.contact)
        return notice

    def keyboard(tr: Translator) -> InlineKeyboardMarkup:
        return InlineKeyboardMarkup(
            [[button(tr.gettext("Appeal: mistaken or malicious"), Appeal(review.id or 0).pack())]]
        )

    return Notice(text, keyboard)


def comment_notice(section: Section, review: PublicReview) -> Notice:
    """What the section's heads read of a good review's comment."""

    def text(tr: Translator) -> str:
        return tr.gettext(
            "💬 A comment with a review of {section} ({level}): {comment}",
            section=section.name,
            level=tr.gettext(LEVELS[review.level]),
            comment=review.comment,
        )

    return Notice(text, lambda _tr: None)


async def complete_bad_review(
    session: AsyncSession, context: BotContext, viewer: Viewer, review: PublicReview, replies: Replies
) -> None:
    """The reason is in: the section gets a rectification task, and its heads are told at once."""
    section, due = await open_rectification(session, context.settings, review, context.now())
    await dialogs.clear_dialog(session=session, telegram_id=viewer.user.id)
    notice = bad_review_notice(context.settings, section, review, due)
    await tell_heads(session, context, section.id or 0, replies, notice)
    replies.edit(
        context.tr.gettext(
            "Thank you. Your review is recorded and {section} must look into it by {day}.",
            section=section.name,
            day=due.isoformat(),
        )
    )


def _not_a_member(viewer: Viewer) -> None:
    """The public's reviews are the public's: members (active, waiting for approval or deactivated, industry raters
    too) and admins rate with /rate, where they count as who they are."""
    member = viewer.member
    if viewer.audience == Audience.ADMIN or (member is not None and member.status != MemberStatus.REJECTED):
        raise Refusal(
            N_(
                "Review links are for the people the sections serve. Members of the campaign rate sections with "
                "/rate instead."
            )
        )


async def replace_earlier(
    session: AsyncSession,
    settings: Settings,
    review: PublicReview,
    now: dt.datetime,
    found: list[PublicReview] | None = None,
) -> None:
    """A reviewer (a Telegram account, or a browser's cookie) is one reviewer of a section per rating period: their
    earlier reviews there are voided. `found`: their reviews of the section as read before this one was added
    (`reviews.reviewer_reviews`), else they are read now. The period is read only when there are earlier reviews:
    most reviewers have none."""
    if found is None:
        earlier = await reviews.other_reviews(session=session, review=review)
    else:
        earlier = [old for old in found if old.voided_at is None and old.id != review.id]
    if not earlier:
        return
    kind = PeriodKind(settings.campaign.rating_period)
    period = await campaigns.period_at(session=session, kind=kind, today=review.day)
    if period is not None:
        replaced = [old for old in earlier if period.starts_on <= old.day <= period.ends_on]
        await reviews.replace_reviews(session=session, earlier=replaced, now=now)


async def _own_open_review(session: AsyncSession, viewer: Viewer, review_id: int) -> PublicReview:
    review = await reviews.get_review(session=session, review_id=review_id)
    if review is None or review.reviewer_telegram_id != viewer.user.id:
        raise Refusal(N_EXPIRED)
    if review.complete:
        raise Refusal(N_("Your review is already recorded. Thank you!"))
    return review


# --- the section's link ------------------------------------------------------------------------------------------


async def cmd_ratinglink(update: Update, context: BotContext) -> None:
    """Heads get their own section's link and QR code; admins choose the section."""
    replies = Replies()
    card: Card | None = None
    async with context.db.transaction() as session:
        viewer = await load_viewer(session=session, context=context, user=sender(update))
        require(viewer, RATINGLINK, chat_type(update))
        if viewer.audience == Audience.HEAD and viewer.member is not None:
            section = await sections.get_section(session=session, section_id=viewer.member.section_id or 0)
            if section is None:
                raise Refusal(N_("You belong to no section."))
            card = await _link(session, context, section, replies)
        else:
            await _offer_sections(session, context, 0, replies)
    await replies.deliver(update, context)
    if card is not None:
        await _send_qr(update, context, card)


# Not an `on_press`: the QR code goes out after the reply, once the transaction has committed.
async def press_link_for(update: Update, context: BotContext) -> None:
    press = LinkFor.parse(callback_data(update))
    replies = Replies()
    async with context.db.transaction() as session:
        viewer = await load_viewer(session=session, context=context, user=sender(update))
        if viewer.audience != Audience.ADMIN:
            raise Refusal(N_("Only administrators can do that."))
        section = await sections.get_section(session=session, section_id=press.section_id if press else 0)
        if section is None or section.archived_at is not None:
            raise Refusal(N_("That section does not exist. Send /sections again."))
        card = await _link(session, context, section, replies)
    await replies.deliver(update, context)
    await _send_qr(update, context, card)


@on_press(LinkPage, expired=N_EXPIRED)
async def press_link_page(press: Press[LinkPage]) -> None:
    session, context, replies, viewer, data = press.session, press.context, press.replies, press.viewer, press.data
    if viewer.audience != Audience.ADMIN:
        raise Refusal(N_("Only administrators can do that."))
    await _offer_sections(session, context, data.page, replies)


async def _offer_sections(session: AsyncSession, context: BotContext, page: int, replies: Replies) -> None:
    choices = await sections.list_sections(session=session)
    if not choices:
        raise Refusal(N_("There are no sections yet. Add one with /sections first."))
    items = [(section.name, LinkFor(section.id or 0).pack()) for section in choices]
    rows = paged_buttons(context.tr, items, page, lambda number: LinkPage(number).pack())
    replies.edit(context.tr.gettext("The review link of which section?"), InlineKeyboardMarkup(rows))


async def _link(session: AsyncSession, context: BotContext, section: Section, replies: Replies) -> Card:
    """The link in the reply, and the card to print, in the reader's language."""
    token = await reviews.review_token(session=session, section=section)
    page = web_review_link(context.settings, token)
    tr = context.tr
    replies.edit(
        tr.gettext(
            "The review page of {section}:\n{page}\nIn Telegram: {link}\n\nPrint the QR code below and put it at the "
            "service counter: whoever is served scans it and leaves a review, with or without Telegram.",
            section=section.name,
            page=page,
            link=review_link(context.bot.username, token),
        )
    )
    campaign = context.settings.campaign.title(tr.language)
    return Card(page, section.name, campaign, tr.plain(N_SCAN))


async def _send_qr(update: Update, context: BotContext, card: Card) -> None:
    """The card to print, drawn once the transaction is over; the caption says whose it is."""
    chat = update.effective_chat
    assert chat is not None
    png = await card_png(renderer(context.settings.snapshots.font_file).font_path, card)
    caption = context.tr.gettext(
        "Review QR code of {section} ({campaign})", section=card.section, campaign=card.campaign
    )
    await context.bot.send_photo(chat.id, png, caption=caption)


# --- the section's answer, and the reviewer's follow-up (回访) ----------------------------------------------------

OUTCOMES = {
    "fixed": N_("Fixed"),
    "scheduled": N_("Scheduled to be fixed"),
    "explained": N_("Explained — no fault"),
}
STEP_OUTCOME = "review.outcome"
STEP_SCHEDULE = "review.schedule"


@dataclass(frozen=True)
class Outcome(CallbackData):
    PREFIX = "rvo"
    task_id: int
    outcome: str


@dataclass(frozen=True)
class FollowUp(CallbackData):
    PREFIX = "rvf"
    review_id: int
    satisfied: bool


@dataclass(frozen=True)
class SettleReview(CallbackData):
    """A leader closes a rectification its reviewer was not satisfied with."""

    PREFIX = "rvx"
    review_id: int


def outcome_keyboard(tr: Translator, task_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[button(tr.gettext(label), Outcome(task_id, key).pack())] for key, label in OUTCOMES.items()]
    )


def may_answer(viewer: Viewer, task: Task) -> bool:
    if viewer.audience in {Audience.LEADER, Audience.ADMIN}:
        return True
    return (
        viewer.audience == Audience.HEAD and viewer.member is not None and viewer.member.section_id == task.section_id
    )


@on_press(Outcome, expired=N_EXPIRED)
async def press_outcome(press: Press[Outcome]) -> None:
    """The head says how the bad review was dealt with; the note for the reviewer is typed next."""
    session, context, replies, viewer, data = press.session, press.context, press.replies, press.viewer, press.data
    task = await tasks.get_task(session=session, task_id=data.task_id) if press else None
    if data.outcome not in OUTCOMES or task is None:
        raise Refusal(N_("This button has expired. Send /tasks again."))
    if not may_answer(viewer, task):
        raise Refusal(N_("Only the section's head, leaders and administrators can do that."))
    if task.status != TaskStatus.OPEN or await reviews.review_of_task(session=session, task_id=task.id or 0) is None:
        raise Refusal(N_("This task is closed."))
    tr = context.tr
    if data.outcome == "scheduled":
        await dialogs.set_dialog(
            session=session,
            telegram_id=viewer.user.id,
            step=STEP_SCHEDULE,
            data={"task_id": task.id},
            now=context.now(),
        )
        replies.reply(
            tr.gettext(
                "By when will it be fixed? Type the date; the plan comes next. {examples}",
                examples=tr.gettext(DATE_EXAMPLES),
            )
        )
    else:
        await dialogs.set_dialog(
            session=session,
            telegram_id=viewer.user.id,
            step=STEP_OUTCOME,
            data={"task_id": task.id, "outcome": data.outcome},
            now=context.now(),
        )
        replies.reply(
            tr.gettext("Explain briefly why there was no fault; the reviewer will read it.")
            if data.outcome == "explained"
            else tr.gettext("Say briefly what was done; the reviewer will read it.")
        )


async def ask_schedule(
    session: AsyncSession, context: BotContext, viewer: Viewer, dialog: Dialog, text: str, replies: Replies
) -> None:
    due = read_due_date(context, text)
    await dialogs.set_dialog(
        session=session,
        telegram_id=viewer.user.id,
        step=STEP_OUTCOME,
        data={**dialog.data, "outcome": "scheduled", "due": due.isoformat()},
        now=context.now(),
    )
    replies.reply(context.tr.gettext("Say briefly what will be done; the reviewer will read it."))


async def ask_outcome(
    session: AsyncSession, context: BotContext, viewer: Viewer, dialog: Dialog, text: str, replies: Replies
) -> None:
    """The note is in: the review records the outcome, the task closes (or moves), the reviewer is asked."""
    note = typed_text(text, TEXT_LIMIT, N_NOTE_TOO_LONG)
    task = await tasks.get_task(session=session, task_id=int(dialog.data.get("task_id", 0)))
    review = await reviews.review_of_task(session=session, task_id=task.id or 0) if task else None
    if task is None or review is None or task.status != TaskStatus.OPEN or not may_answer(viewer, task):
        raise Refusal(N_("This task is closed."))
    outcome = str(dialog.data.get("outcome"))
    review.outcome, review.outcome_note = outcome, note
    await reviews.save_review(session=session, review=review)
    if outcome == "scheduled":
        due = dt.date.fromisoformat(str(dialog.data["due"]))
        await tasks.extend_task(session=session, task=task, due_on=due, reason=note, actor_id=viewer.member_id)
    else:
        await tasks.close_task(
            session=session,
            task=task,
            status=TaskStatus.DONE,
            actor_id=viewer.member_id,
            note=context.tr.plain(N_("{outcome} — {note}"), outcome=context.tr.plain(OUTCOMES[outcome]), note=note),
            now=context.now(),
        )
    await dialogs.clear_dialog(session=session, telegram_id=viewer.user.id)
    if from_the_web(review):  # no Telegram to write to: the review's own page shows the answer and asks
        replies.reply(
            context.tr.gettext(
                "Recorded. The reviewer reads it on their review's page, where they are asked whether they are "
                "satisfied now."
            )
        )
        return
    section = await sections.get_section(session=session, section_id=task.section_id)
    tr = reader_translator(context.settings, review.language)
    answer = (
        tr.gettext("Scheduled to be fixed by {day}", day=task.due_on.isoformat())
        if outcome == "scheduled"
        else tr.gettext(OUTCOMES[outcome])
    )
    keyboard = InlineKeyboardMarkup(
        [
            [
                button(tr.gettext("Yes, satisfied"), FollowUp(review.id or 0, True).pack()),
                button(tr.gettext("No"), FollowUp(review.id or 0, False).pack()),
            ]
        ]
    )
    replies.send(
        review.reviewer_telegram_id,
        tr.gettext(
            "About your review of {section} on {day}, the section answers: {answer}. {note}\nAre you satisfied now?",
            section=section.name if section else "?",
            day=review.day.isoformat(),
            answer=answer,
            note=note,
        ),
        keyboard,
    )
    replies.reply(context.tr.gettext("Recorded. The reviewer has been told and asked whether they are satisfied now."))


def from_the_web(review: PublicReview) -> bool:
    """A review from the web page: its reviewer is a browser's negative number, not a Telegram user (web/guards.py)."""
    return review.reviewer_telegram_id < 0


@on_press(FollowUp, expired=N_EXPIRED)
async def press_followup(press: Press[FollowUp]) -> None:
    """The reviewer answers the follow-up (回访); the answer is recorded, once. A reviewer still not satisfied is
    news for the section's heads: they are told, with what they answered."""
    session, context, replies, viewer, data = press.session, press.context, press.replies, press.viewer, press.data
    review = await reviews.get_review(session=session, review_id=data.review_id) if press else None
    if review is None or review.reviewer_telegram_id != viewer.user.id or not review.outcome:
        raise Refusal(N_EXPIRED)
    if review.followup_satisfied is not None:
        raise Refusal(N_("Your answer is recorded already. Thank you."))
    review.followup_satisfied = data.satisfied
    await reviews.save_review(session=session, review=review)
    if not data.satisfied:
        await tell_still_unsatisfied(session, context, review, replies)
    replies.edit(context.tr.gettext("Thank you for telling us."))


async def still_unsatisfied_notices(session: AsyncSession, review: PublicReview) -> tuple[Notice, Notice]:
    """What the section's heads and the leaders read when the reviewer is not satisfied with the section's answer:
    the leaders may close it (until then it counts as not rectified)."""
    section = await sections.get_section(session=session, section_id=review.section_id)
    name = section.name if section else "?"

    def answer(tr: Translator) -> str:
        return tr.gettext(OUTCOMES[review.outcome]) if review.outcome in OUTCOMES else review.outcome

    def to_heads(tr: Translator) -> str:
        return tr.gettext(
            "⚠️ The reviewer of {section} on {day} is still not satisfied after your answer: {answer}. It counts "
            "as not rectified until a leader closes it.",
            section=name,
            day=review.day.isoformat(),
            answer=answer(tr),
        )

    def to_leaders(tr: Translator) -> str:
        return tr.gettext(
            "⚠️ The reviewer of {section} on {day} is not satisfied with how their bad review was dealt with "
            "({answer}: {note}). It counts as not rectified until you close it.",
            section=name,
            day=review.day.isoformat(),
            answer=answer(tr),
            note=review.outcome_note,
        )

    return Notice(to_heads, lambda _tr: None), Notice(to_leaders, lambda tr: settle_keyboard(tr, [(review, name)]))


async def tell_still_unsatisfied(
    session: AsyncSession, context: BotContext, review: PublicReview, replies: Replies
) -> None:
    """The reviewer said no in Telegram: the heads and the leaders are told now."""
    heads, leaders = await still_unsatisfied_notices(session, review)
    await tell_heads(session, context, review.section_id, replies, heads)
    _send(context.settings, await tasks.leaders(session=session), leaders, replies)


async def tell_still_unsatisfied_later(
    session: AsyncSession, settings: Settings, review: PublicReview, now: dt.datetime
) -> None:
    """The reviewer said no on the web page: the heads and the leaders are told through the outbox."""
    heads, leaders = await still_unsatisfied_notices(session, review)
    await tell_heads_later(session, settings, review.section_id, heads, now)
    await _queue(session, settings, await tasks.leaders(session=session), leaders, now)


def settle_keyboard(tr: Translator, unsettled: list[tuple[PublicReview, str]]) -> InlineKeyboardMarkup:
    """A Close button for each rectification a reviewer was not satisfied with (its section's name given)."""
    return InlineKeyboardMarkup(
        [
            [
                button(
                    tr.gettext("✔ Close: {section}, {day}", section=name, day=review.day.isoformat()),
                    SettleReview(review.id or 0).pack(),
                )
            ]
            for review, name in unsettled[:20]
        ]
    )


@on_press(SettleReview, expired=N_("This button has expired."))
async def press_settle(press: Press[SettleReview]) -> None:
    """A leader (or admin) closes it: it counts as rectified again; once only."""
    session, context, replies, viewer, data = press.session, press.context, press.replies, press.viewer, press.data
    if viewer.audience not in {Audience.LEADER, Audience.ADMIN}:
        raise Refusal(N_("Only leaders and administrators can do that."))
    review = await reviews.get_review(session=session, review_id=data.review_id)
    if review is None or review.followup_satisfied is not False or review.voided_at is not None:
        raise Refusal(N_("This button has expired."))
    if review.settled_at is not None:
        raise Refusal(N_("This is already closed."))
    await reviews.settle_review(session=session, review=review, now=context.now())
    await audit.record_audit(
        session=session, actor_id=viewer.member_id, action="review.settled", subject=f"review:{review.id}"
    )
    section = await sections.get_section(session=session, section_id=review.section_id)
    replies.toast(context.tr.gettext("Closed."))
    replies.reply(
        context.tr.gettext(
            "Closed: the bad review of {section} on {day} counts as rectified now.",
            section=section.name if section else "?",
            day=review.day.isoformat(),
        )
    )


@dataclass(frozen=True)
class Notice:
    """A message to someone, written in their language when sent."""

    text: Callable[[Translator], str]
    keyboard: Callable[[Translator], InlineKeyboardMarkup | None]


async def tell_heads_later(
    session: AsyncSession, settings: Settings, section_id: int, notice: Notice, now: dt.datetime
) -> None:
    """Tells each active head of the section through the outbox (from the web page, where there is no update to
    answer): kept in the same transaction as what it tells of, sent within seconds, retried if Telegram fails."""
    await _queue(session, settings, await tasks.section_heads(session=session, section_id=section_id), notice, now)


async def _queue(
    session: AsyncSession, settings: Settings, members: list[Member], notice: Notice, now: dt.datetime
) -> None:
    """The notice for each of `members` in their language, kept for the outbox in one statement."""
    kept = []
    for member in members:
        if member.telegram_id is not None:
            tr = member_translator(settings, member)
            keyboard = notice.keyboard(tr)
            markup = keyboard.to_dict() if keyboard is not None else None
            kept.append(reminders.KeptNotice(member.telegram_id, notice.text(tr), markup))
    if kept:
        await reminders.queue_notices(session=session, notices=kept, now=now, delay=NO_DELAY)


async def tell_heads(
    session: AsyncSession, context: BotContext, section_id: int, replies: Replies, notice: Notice
) -> None:
    """Tells each active head of the section, in their own language, once the update's transaction has committed."""
    _send(context.settings, await tasks.section_heads(session=session, section_id=section_id), notice, replies)


def _send(settings: Settings, members: list[Member], notice: Notice, replies: Replies) -> None:
    """The notice for each of `members` in their language, sent with the update's answer (the twin of `_queue`)."""
    for member in members:
        if member.telegram_id is not None and member.status == MemberStatus.ACTIVE:
            tr = member_translator(settings, member)
            replies.send(member.telegram_id, notice.text(tr), notice.keyboard(tr))


TEXT_STEPS = {
    STEP_REASON: ask_reason,
    STEP_COMMENT: ask_comment,
    STEP_OUTCOME: ask_outcome,
    STEP_SCHEDULE: ask_schedule,
}


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    return [
        CommandHandler(RATINGLINK.name, cmd_ratinglink),
        CallbackQueryHandler(press_level, pattern=Level.pattern()),
        CallbackQueryHandler(press_tag, pattern=Tag.pattern()),
        CallbackQueryHandler(press_finish, pattern=Finish.pattern()),
        CallbackQueryHandler(press_link_for, pattern=LinkFor.pattern()),
        CallbackQueryHandler(press_link_page, pattern=LinkPage.pattern()),
        CallbackQueryHandler(press_outcome, pattern=Outcome.pattern()),
        CallbackQueryHandler(press_followup, pattern=FollowUp.pattern()),
        CallbackQueryHandler(press_settle, pattern=SettleReview.pattern()),
    ]
