"""Voids and appeals: admins void a rating or a public review with a reason (nothing is deleted; the audit log
keeps who did it and why), and a head may appeal a bad review as mistaken or malicious, for an admin to decide."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.access import ADMIN_ONLY, PRIVATE, Audience, CommandSpec
from bot.callbacks import CallbackData
from bot.context import BotContext
from bot.i18n import N_
from bot.labels import listed, why_bad
from handlers.common import (
    N_REASON_TOO_LONG,
    Refusal,
    Replies,
    Viewer,
    admin_viewer,
    button,
    chat_type,
    load_viewer,
    member_translator,
    require,
    sender,
    typed_text,
)
from handlers.presses import Press, on_press
from handlers.reviews import LEVELS, Appeal
from storage import audit, dialogs, members, ratings, reviews, sections, tasks
from storage.models import Dialog, PublicReview, TargetKind, TaskStatus

MODERATE = CommandSpec("moderate", N_("Recent ratings and reviews, to void one with a reason"), ADMIN_ONLY, PRIVATE)
COMMANDS = (MODERATE,)
N_EXPIRED = N_("This button has expired. Send /moderate again.")
STEP_VOID = "moderation.void"
STEP_APPEAL = "moderation.appeal"
REASON_LIMIT = 300


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


async def cmd_moderate(update: Update, context: BotContext) -> None:
    """The latest ratings (with their raters: admins only) and reviews, each with a Void button."""
    replies = Replies()
    async with context.db.transaction() as session:
        viewer = await load_viewer(session=session, context=context, user=sender(update))
        require(viewer, MODERATE, chat_type(update))
        tr = context.tr
        lines: list[str] = [tr.gettext("<b>Latest ratings</b>")]
        rows: list[list[InlineKeyboardButton]] = []
        for rating in await ratings.list_recent_ratings(session=session):
            rater = await members.get_member(session=session, member_id=rating.rater_id)
            target = await _target_name(session, rating.target_kind, rating.target_id)
            lines.append(
                tr.gettext(
                    "#{id} {rater} → {target}: {value}",
                    id=rating.id,
                    value=f"{rating.value:.2f}",
                    rater=rater.display_name if rater else "?",
                    target=target,
                )
            )
            rows.append([button(tr.gettext("Void rating #{id}", id=rating.id), Void("rating", rating.id or 0).pack())])
        lines.append("\n" + tr.gettext("<b>Latest public reviews</b>"))
        for review in await reviews.list_recent_reviews(session=session):
            section = await sections.get_section(session=session, section_id=review.section_id)
            lines.append(
                tr.gettext(
                    "#{id} {section}: {level} {why}",
                    id=review.id,
                    section=section.name if section else "?",
                    level=tr.gettext(LEVELS[review.level]),
                    why=why_bad(tr, context.settings, review.tags, listed(tr, [review.reason, review.comment])),
                )
            )
            rows.append([button(tr.gettext("Void review #{id}", id=review.id), Void("review", review.id or 0).pack())])
        replies.reply("\n".join(lines), InlineKeyboardMarkup(rows) if rows else None)
    await replies.deliver(update, context)


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
        raise Refusal(N_("This button has expired. Send /moderate again."))
    await dialogs.set_dialog(
        session=session,
        telegram_id=viewer.user.id,
        step=STEP_VOID,
        data={"kind": data.kind, "id": data.item_id},
        now=context.now(),
    )
    replies.reply(context.tr.gettext("Why is it void? The reason is kept in the audit log (or /cancel)."))


async def ask_void_reason(
    session: AsyncSession, context: BotContext, viewer: Viewer, dialog: Dialog, text: str, replies: Replies
) -> None:
    if viewer.audience != Audience.ADMIN:
        raise Refusal(N_("Only administrators can do that."))
    reason = typed_text(text, REASON_LIMIT, N_REASON_TOO_LONG)
    kind, item_id = str(dialog.data.get("kind")), int(dialog.data.get("id", 0))
    if kind == "rating":
        rating = await ratings.get_rating_by_id(session=session, rating_id=item_id)
        if rating is None or rating.voided_at is not None:
            raise Refusal(N_("That one is already void or does not exist."))
        await ratings.void_rating(session=session, rating=rating, reason=reason, now=context.now())
    else:
        review = await reviews.get_review(session=session, review_id=item_id)
        if review is None or review.voided_at is not None:
            raise Refusal(N_("That one is already void or does not exist."))
        await void_review_and_task(session, context, review, reason, viewer)
    await audit.record_audit(
        session=session, actor_id=viewer.member_id, action=f"{kind}.voided", subject=f"{kind}:{item_id}", detail=reason
    )
    await dialogs.clear_dialog(session=session, telegram_id=viewer.user.id)
    replies.reply(context.tr.gettext("Void, with the reason recorded. The scores leave it out."))


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
    replies.reply(context.tr.gettext("Your appeal is sent to the administrators; you will be told their decision."))


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
            await void_review_and_task(session, context, review, f"appeal: {review.appeal_reason}", viewer)
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
        CallbackQueryHandler(press_void, pattern=Void.pattern()),
        CallbackQueryHandler(press_appeal, pattern=Appeal.pattern()),
        CallbackQueryHandler(press_judge, pattern=Judge.pattern()),
    ]
