"""Voids and appeals: admins void a rating or a public review with a reason (nothing is deleted; the audit log
keeps who did it and why), and a head may appeal a bad review as mistaken or malicious, for an admin to decide."""

from __future__ import annotations

import datetime as dt
import ipaddress
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.access import ADMIN_ONLY, PRIVATE, Audience, CommandSpec
from bot.callbacks import CallbackData
from bot.context import BotContext
from bot.i18n import N_, Translator
from bot.labels import listed, why_bad
from handlers.common import (
    N_REASON_TOO_LONG,
    PAGE_SIZE,
    Refusal,
    Replies,
    Viewer,
    admin_viewer,
    button,
    chat_type,
    load_viewer,
    member_translator,
    navigation_row,
    require,
    sender,
    typed_text,
)
from handlers.presses import Press, on_press
from handlers.reviews import LEVELS, Appeal
from storage import audit, dialogs, members, ratings, reviews, sections, tasks
from storage.models import Dialog, PublicReview, Rating, TargetKind, TaskStatus

MODERATE = CommandSpec(
    "moderate",
    N_("Ratings and reviews, to void one with a reason; /moderate ID for one"),
    ADMIN_ONLY,
    PRIVATE,
    takes_arguments=True,
)
COMMANDS = (MODERATE,)
N_EXPIRED = N_("This button has expired. Send /moderate again.")
N_WHAT_TO_SEND = N_(
    "Send /moderate for the list of ratings and reviews, /moderate and a number from it (e.g. /moderate 100), or "
    "/moderate and an address, for the web page's reviews from it."
)
STEP_VOID = "moderation.void"
STEP_APPEAL = "moderation.appeal"
REASON_LIMIT = 300
# What may follow /moderate: a number as the list shows it (#100), or bare. Longer ones are no number of ours.
ITEM_NUMBER = re.compile(r"[#＃]?\s*(\d{1,18})")


@dataclass(frozen=True)
class Void(CallbackData):
    PREFIX = "mdv"
    kind: str  # "rating" or "review"
    item_id: int


@dataclass(frozen=True)
class Judge(CallbackData):
    PREFIX = "mdj"
    review_id: int
    void: bool


@dataclass(frozen=True)
class ModeratePage(CallbackData):
    """The page of the ratings and the page of the reviews that /moderate's message shows (0: the newest)."""

    PREFIX = "mdp"
    ratings_page: int
    reviews_page: int


async def cmd_moderate(update: Update, context: BotContext) -> None:
    """The ratings (with their raters: admins only) and public reviews not void, newest first and paged, each with a
    Void button; `/moderate ID` shows the rating and the review with that number."""
    replies = Replies()
    async with context.db.transaction() as session:
        viewer = await load_viewer(session=session, context=context, user=sender(update))
        require(viewer, MODERATE, chat_type(update))
        address = typed_address(context.args or [])
        if address is not None:
            replies.reply(*await reviews_from(session, context, address))
        elif context.args:
            replies.reply(*await numbered_items(session, context, wanted_number(context.args)))
        else:
            replies.reply(*await moderation_page(session, context, ModeratePage(0, 0)))
    await replies.deliver(update, context)


@on_press(ModeratePage, who=admin_viewer, expired=N_EXPIRED)
async def press_page(press: Press[ModeratePage]) -> None:
    """Admin: older or newer ratings or reviews, in place."""
    press.replies.edit(*await moderation_page(press.session, press.context, press.data))


def typed_address(args: Sequence[str]) -> str | None:
    """An internet address typed after /moderate (the reviews from the web page that came from it), if it is one."""
    if len(args) != 1:
        return None
    try:
        return str(ipaddress.ip_address(args[0]))
    except ValueError:
        return None


async def reviews_from(session: AsyncSession, context: BotContext, address: str) -> tuple[str, InlineKeyboardMarkup]:
    """The web page's reviews from one address, newest first, with their Void buttons: many from one place in a
    short time is what stuffing looks like."""
    tr = context.tr
    found = await reviews.list_reviews_from(session=session, address=address, limit=PAGE_SIZE * 2)
    if not found:
        raise Refusal(N_("No review came from {address}."), address=address)
    total = await reviews.count_reviews_from(session=session, address=address)
    lines: list[str] = [
        tr.ngettext(
            "<b>{n} review from {address}</b>, newest first:",
            "<b>{n} reviews from {address}</b>, newest first:",
            total,
            address=address,
        )
    ]
    lines += [await _review_line(session, context, review) + _void_mark(context, review) for review in found]
    rows = [_void_row(tr, "review", review.id or 0) for review in found if review.voided_at is None]
    rows.append([button(tr.gettext("‹ All ratings and reviews"), ModeratePage(0, 0).pack())])
    return "\n".join(lines), InlineKeyboardMarkup(rows)


def _void_mark(context: BotContext, review: PublicReview) -> str:
    return " " + context.tr.gettext("(void)") if review.voided_at is not None else ""


def wanted_number(args: Sequence[str]) -> int:
    """The number typed after /moderate; anything else is refused with what to send."""
    match = ITEM_NUMBER.fullmatch(" ".join(args))
    if match is None:
        raise Refusal(N_WHAT_TO_SEND)
    return int(match.group(1))


async def moderation_page(
    session: AsyncSession, context: BotContext, wanted: ModeratePage
) -> tuple[str, InlineKeyboardMarkup]:
    """One page of the ratings and one of the reviews, each read from the database a page at a time, with their
    Void buttons and, under each, the way to older and newer ones."""
    tr = context.tr
    rating_total = await ratings.count_standing_ratings(session=session)
    review_total = await reviews.count_standing_reviews(session=session)
    shown = ModeratePage(_within(wanted.ratings_page, rating_total), _within(wanted.reviews_page, review_total))
    found_ratings = await ratings.list_standing_ratings(
        session=session, offset=shown.ratings_page * PAGE_SIZE, limit=PAGE_SIZE
    )
    found_reviews = await reviews.list_standing_reviews(
        session=session, offset=shown.reviews_page * PAGE_SIZE, limit=PAGE_SIZE
    )
    lines = [_list_heading(tr, tr.gettext("Ratings"), shown.ratings_page, rating_total)]
    lines += [await _rating_line(session, tr, rating) for rating in found_ratings]
    lines += ["", _list_heading(tr, tr.gettext("Public reviews"), shown.reviews_page, review_total)]
    lines += [await _review_line(session, context, review) for review in found_reviews]
    lines += ["", tr.gettext("Void ones are not listed. /moderate ID shows one by its number, void or not.")]
    rows = [_void_row(tr, "rating", rating.id or 0) for rating in found_ratings]
    rows += _pager(
        tr,
        shown.ratings_page,
        rating_total,
        lambda number: replace(shown, ratings_page=number).pack(),
        (tr.gettext("‹ Newer ratings"), tr.gettext("Older ratings ›")),
    )
    rows += [_void_row(tr, "review", review.id or 0) for review in found_reviews]
    rows += _pager(
        tr,
        shown.reviews_page,
        review_total,
        lambda number: replace(shown, reviews_page=number).pack(),
        (tr.gettext("‹ Newer reviews"), tr.gettext("Older reviews ›")),
    )
    return "\n".join(lines), InlineKeyboardMarkup(rows)


def _pages(total: int) -> int:
    return max(1, math.ceil(total / PAGE_SIZE))


def _within(page: int, total: int) -> int:
    """The page asked for, among the pages there are (the list may have shrunk since the button was made)."""
    return min(max(page, 0), _pages(total) - 1)


def _pager(
    tr: Translator, page: int, total: int, page_data: Callable[[int], str], labels: tuple[str, str]
) -> list[list[InlineKeyboardButton]]:
    """The row that moves one list to newer or older items, if it has more than one page."""
    pages = _pages(total)
    return [navigation_row(tr, page, pages, page_data, labels=labels)] if pages > 1 else []


def _list_heading(tr: Translator, name: str, page: int, total: int) -> str:
    if total == 0:
        return tr.gettext("<b>{name}</b>: nothing to void.", name=name)
    first, last = page * PAGE_SIZE + 1, min((page + 1) * PAGE_SIZE, total)
    return tr.gettext(
        "<b>{name}</b>, newest first: {first}–{last} of {total}", name=name, first=first, last=last, total=total
    )


async def numbered_items(session: AsyncSession, context: BotContext, number: int) -> tuple[str, InlineKeyboardMarkup]:
    """The rating and the review numbered `number` (each kind counts on its own, so both may exist), each with its
    Void button unless it is void already."""
    tr = context.tr
    rating = await ratings.get_rating_by_id(session=session, rating_id=number)
    review = await _finished_review(session, number)
    if rating is None and review is None:
        raise Refusal(N_("There is no rating or review #{id}. Send /moderate for the list."), id=number)
    lines: list[str] = []
    rows: list[list[InlineKeyboardButton]] = []
    if rating is not None:
        lines += [tr.gettext("<b>Rating</b>"), await _rating_line(session, tr, rating)]
        lines += _void_state(context, rating.voided_at, rating.void_reason)
        rows += [_void_row(tr, "rating", number)] if rating.voided_at is None else []
    if review is not None:
        lines += [""] if lines else []
        lines += [tr.gettext("<b>Public review</b>"), await _review_line(session, context, review)]
        lines += _void_state(context, review.voided_at, review.void_reason)
        rows += [_void_row(tr, "review", number)] if review.voided_at is None else []
    rows.append([button(tr.gettext("‹ All ratings and reviews"), ModeratePage(0, 0).pack())])
    return "\n".join(lines), InlineKeyboardMarkup(rows)


def _void_state(context: BotContext, voided_at: dt.datetime | None, reason: str) -> list[str]:
    if voided_at is None:
        return []
    day = voided_at.astimezone(context.settings.tz).date().isoformat()
    return [context.tr.gettext("Void since {day}: {reason}", day=day, reason=reason)]


def _void_row(tr: Translator, kind: str, item_id: int) -> list[InlineKeyboardButton]:
    label = (
        tr.gettext("Void rating #{id}", id=item_id) if kind == "rating" else tr.gettext("Void review #{id}", id=item_id)
    )
    return [button(label, Void(kind, item_id).pack())]


async def _rating_line(session: AsyncSession, tr: Translator, rating: Rating) -> str:
    """A rating as /moderate shows it: its number, who rated (admins only see this), what, and the value."""
    rater = await members.get_member(session=session, member_id=rating.rater_id)
    return tr.gettext(
        "#{id} {rater} → {target}: {value}",
        id=rating.id,
        value=f"{rating.value:.2f}",
        rater=rater.display_name if rater else "?",
        target=await _target_name(session, rating.target_kind, rating.target_id),
    )


async def _review_line(session: AsyncSession, context: BotContext, review: PublicReview) -> str:
    """A public review as /moderate shows it: its number, the section, the level and why (never who wrote it)."""
    tr = context.tr
    section = await sections.get_section(session=session, section_id=review.section_id)
    name, level = section.name if section else "?", tr.gettext(LEVELS[review.level])
    why = why_bad(tr, context.settings, review.tags, listed(tr, [review.reason, review.comment]))
    if not why:  # a good review may come without a word
        line: str = tr.gettext("#{id} {section}: {level}", id=review.id, section=name, level=level)
    else:
        line = tr.gettext("#{id} {section}: {level} ({why})", id=review.id, section=name, level=level, why=why)
    if review.client_address:  # from the web page: where from (/moderate ADDRESS lists them), and the contact
        line += " · " + tr.gettext("web, {address}", address=review.client_address)
    if review.contact:
        line += " · " + tr.gettext("contact: {contact}", contact=review.contact)
    return line


async def _target_name(session: AsyncSession, kind: TargetKind, target_id: int) -> str:
    if kind == TargetKind.SECTION:
        section = await sections.get_section(session=session, section_id=target_id)
        return section.name if section else "?"
    member = await members.get_member(session=session, member_id=target_id)
    return member.display_name if member else "?"


@on_press(Void, who=admin_viewer, expired=N_EXPIRED)
async def press_void(press: Press[Void]) -> None:
    """Admin: void this rating or review; the reason is typed next."""
    session, context, replies, viewer, data = press.session, press.context, press.replies, press.viewer, press.data
    if data.kind not in {"rating", "review"}:
        raise Refusal(N_EXPIRED)
    await _voidable(session, data.kind, data.item_id)
    await dialogs.set_dialog(
        session=session,
        telegram_id=viewer.user.id,
        step=STEP_VOID,
        data={"kind": data.kind, "id": data.item_id},
        now=context.now(),
    )
    tr = context.tr
    replies.reply(
        tr.gettext(
            "Why should rating #{id} be voided? The reason is kept in the audit log (or /cancel).", id=data.item_id
        )
        if data.kind == "rating"
        else tr.gettext(
            "Why should review #{id} be voided? The reason is kept in the audit log (or /cancel).", id=data.item_id
        )
    )


async def ask_void_reason(
    session: AsyncSession, context: BotContext, viewer: Viewer, dialog: Dialog, text: str, replies: Replies
) -> None:
    if viewer.audience != Audience.ADMIN:
        raise Refusal(N_("Only administrators can do that."))
    reason = typed_text(text, REASON_LIMIT, N_REASON_TOO_LONG)
    kind, item_id = str(dialog.data.get("kind")), int(dialog.data.get("id", 0))
    item = await _voidable(session, kind, item_id)
    if isinstance(item, Rating):
        await ratings.void_rating(session=session, rating=item, reason=reason, now=context.now())
    else:
        await void_review_and_task(session, context, item, reason, viewer)
    await audit.record_audit(
        session=session, actor_id=viewer.member_id, action=f"{kind}.voided", subject=f"{kind}:{item_id}", detail=reason
    )
    await dialogs.clear_dialog(session=session, telegram_id=viewer.user.id)
    replies.reply(context.tr.gettext("Voided, with the reason recorded. It no longer counts in the scores."))


async def _voidable(session: AsyncSession, kind: str, item_id: int) -> Rating | PublicReview:
    """The rating or the finished review numbered `item_id`, if it is not void yet."""
    item: Rating | PublicReview | None
    if kind == "rating":
        item = await ratings.get_rating_by_id(session=session, rating_id=item_id)
    else:
        item = await _finished_review(session, item_id)
    if item is None or item.voided_at is not None:
        raise Refusal(N_("That one is already void or does not exist."))
    return item


async def _finished_review(session: AsyncSession, review_id: int) -> PublicReview | None:
    """The review, unless its reviewer is still writing it (it counts nowhere and is not listed yet)."""
    review = await reviews.get_review(session=session, review_id=review_id)
    return review if review is not None and review.complete else None


async def void_review_and_task(
    session: AsyncSession, context: BotContext, review: PublicReview, reason: str, viewer: Viewer
) -> None:
    """A void bad review no longer needs its rectification: the task is cancelled."""
    await reviews.void_review(session=session, review=review, reason=reason, now=context.now())
    task = await tasks.get_task(session=session, task_id=review.task_id or 0)
    if task is not None and task.status == TaskStatus.OPEN:
        await tasks.close_task(
            session=session,
            task=task,
            status=TaskStatus.CANCELLED,
            actor_id=viewer.member_id,
            note=reason,
            now=context.now(),
        )


# --- appeals -----------------------------------------------------------------------------------------------------


@on_press(Appeal, expired=N_EXPIRED)
async def press_appeal(press: Press[Appeal]) -> None:
    """A head appeals a bad review of their section; the reason is typed next."""
    session, context, replies, viewer, data = press.session, press.context, press.replies, press.viewer, press.data
    review = await _appealable(session, viewer, data.review_id)
    await dialogs.set_dialog(
        session=session,
        telegram_id=viewer.user.id,
        step=STEP_APPEAL,
        data={"review_id": review.id},
        now=context.now(),
    )
    replies.reply(
        context.tr.gettext("Why is this review mistaken or malicious? An administrator decides (or /cancel).")
    )


async def ask_appeal_reason(
    session: AsyncSession, context: BotContext, viewer: Viewer, dialog: Dialog, text: str, replies: Replies
) -> None:
    review = await _appealable(session, viewer, int(dialog.data.get("review_id", 0)))
    review.appeal_status, review.appeal_reason = "pending", typed_text(text, REASON_LIMIT, N_REASON_TOO_LONG)
    await reviews.save_review(session=session, review=review)
    await dialogs.clear_dialog(session=session, telegram_id=viewer.user.id)
    await audit.record_audit(
        session=session,
        actor_id=viewer.member_id,
        action="review.appealed",
        subject=f"review:{review.id}",
        detail=review.appeal_reason,
    )
    section = await sections.get_section(session=session, section_id=review.section_id)
    for chat_id in await members.list_admin_chat_ids(session=session, config_admins=context.settings.bot.admins):
        admin = await members.get_member_by_telegram_id(session=session, telegram_id=chat_id)
        tr = member_translator(context.settings, admin)
        keyboard = InlineKeyboardMarkup(
            [
                [
                    button(tr.gettext("Uphold the review"), Judge(review.id or 0, False).pack()),
                    button(tr.gettext("Void the review"), Judge(review.id or 0, True).pack()),
                ]
            ]
        )
        replies.send(
            chat_id,
            tr.gettext(
                "<b>Appeal</b> by {head} against a bad review of {section} ({level}: {why}).\nThe head says: {reason}",
                head=viewer.member.display_name if viewer.member else "?",
                section=section.name if section else "?",
                level=tr.gettext(LEVELS[review.level]),
                why=why_bad(tr, context.settings, review.tags, review.reason),
                reason=review.appeal_reason,
            ),
            keyboard,
        )
    replies.reply(
        context.tr.gettext("Your appeal has been sent to the administrators; I will tell you their decision.")
    )


@on_press(Judge, who=admin_viewer, expired=N_EXPIRED)
async def press_judge(press: Press[Judge]) -> None:
    """An admin decides an appeal; the decision is logged and the head told."""
    session, context, replies, viewer, data = press.session, press.context, press.replies, press.viewer, press.data
    review = await reviews.get_review(session=session, review_id=data.review_id) if press else None
    if review is None:
        raise Refusal(N_("This button has expired. Send /moderate again."))
    if review.appeal_status != "pending":
        replies.toast(context.tr.gettext("This appeal was already decided."), alert=True)
    else:
        review.appeal_status = "voided" if data.void else "upheld"
        await reviews.save_review(session=session, review=review)
        if data.void:
            reason = context.tr.plain(N_("Appeal granted — {reason}"), reason=review.appeal_reason)
            await void_review_and_task(session, context, review, reason, viewer)
        await audit.record_audit(
            session=session,
            actor_id=viewer.member_id,
            action=f"appeal.{review.appeal_status}",
            subject=f"review:{review.id}",
        )
        for head in await tasks.section_heads(session=session, section_id=review.section_id):
            if head.telegram_id is not None:
                tr = member_translator(context.settings, head)
                replies.send(
                    head.telegram_id,
                    tr.gettext("Your appeal was granted: the review is void.")
                    if data.void
                    else tr.gettext("Your appeal was not granted: the review stands."),
                )
        replies.edit(
            context.tr.gettext("Decided: the review is void.")
            if data.void
            else context.tr.gettext("Decided: the review stands.")
        )


async def _appealable(session: AsyncSession, viewer: Viewer, review_id: int) -> PublicReview:
    review = await reviews.get_review(session=session, review_id=review_id)
    if review is None or review.voided_at is not None:
        raise Refusal(N_("That review does not exist or is already void."))
    is_head = viewer.audience == Audience.HEAD and viewer.member is not None
    if not (is_head and viewer.member is not None and viewer.member.section_id == review.section_id):
        raise Refusal(N_("Only the section's heads can appeal its reviews."))
    if review.appeal_status:
        raise Refusal(N_("This review was already appealed."))
    return review


TEXT_STEPS = {STEP_VOID: ask_void_reason, STEP_APPEAL: ask_appeal_reason}


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    return [
        CommandHandler(MODERATE.name, cmd_moderate),
        CallbackQueryHandler(press_page, pattern=ModeratePage.pattern()),
        CallbackQueryHandler(press_void, pattern=Void.pattern()),
        CallbackQueryHandler(press_appeal, pattern=Appeal.pattern()),
        CallbackQueryHandler(press_judge, pattern=Judge.pattern()),
    ]
