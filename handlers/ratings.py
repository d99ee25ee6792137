"""/rate: colleagues rate sections and one another on the campaign's standards; industry raters rate sections.

Choose sections or colleagues, then the target (typing part of a name narrows the list), then one message edited
in place with 1–5 for each standard, then an optional comment, then Confirm. The form lives in the database, so a
restart loses nothing, and nothing counts until Confirm. Every press is checked against the database: the
presser owns the form, the form is open, the period is current, the target may still be rated.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatType
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.access import ANY_CHAT, MEMBERS, Audience, CommandSpec
from bot.callbacks import CallbackData
from bot.config import Settings, Standard
from bot.context import BotContext
from bot.i18n import CHINESE, N_, Translator, escape
from handlers.common import (
    Refusal,
    Replies,
    Viewer,
    button,
    callback_data,
    chat_type,
    load_viewer,
    paged_buttons,
    require,
    sender,
    typed_text,
)
from storage import dialogs, members, ratings, sections
from storage.models import (
    Dialog,
    FormStatus,
    Member,
    Period,
    PeriodKind,
    RaterGroup,
    RatingForm,
    TargetKind,
)

RATE = CommandSpec(
    "rate",
    N_("Rate a section or a colleague"),
    MEMBERS,
    ANY_CHAT,
    described_for=((Audience.INDUSTRY, N_("Rate a section or station")),),
)
COMMANDS = (RATE,)
DEEP_LINK = "rate"
STEP_SEARCH = "rate.search"
STEP_COMMENT = "rate.comment"
COMMENT_LIMIT = 500
MARKS = "①②③④⑤⑥⑦⑧⑨⑩"


@dataclass(frozen=True)
class ChooseKind(CallbackData):
    PREFIX = "rtk"
    kind: TargetKind


@dataclass(frozen=True)
class TargetPage(CallbackData):
    PREFIX = "rtp"
    kind: TargetKind
    page: int


@dataclass(frozen=True)
class PickTarget(CallbackData):
    PREFIX = "rtt"
    kind: TargetKind
    target_id: int
    replace: bool


@dataclass(frozen=True)
class Score(CallbackData):
    PREFIX = "rts"
    form_id: int
    index: int
    score: int


@dataclass(frozen=True)
class FormStep(CallbackData):
    """Skip the comment (→ confirm), Back (→ scores), Cancel, or Confirm."""

    PREFIX = "rtf"
    form_id: int
    action: str


@dataclass(frozen=True)
class StopChoosing(CallbackData):
    PREFIX = "rtx"


@dataclass(frozen=True)
class KeepRating(CallbackData):
    PREFIX = "rtkeep"


@dataclass(frozen=True)
class RateNow(CallbackData):
    PREFIX = "rtn"


@dataclass(frozen=True)
class MuteNudges(CallbackData):
    PREFIX = "rtm"


# --- texts -------------------------------------------------------------------------------------------------------


def standard_name(tr: Translator, standard: Standard) -> str:
    return standard.name_zh if tr.language == CHINESE else standard.name_en


def rating_value(scores: dict[str, int], standards: tuple[Standard, ...]) -> float:
    """The weighted mean of the standards' scores (the weights add up to 1)."""
    return round(sum(scores[standard.key] * standard.weight for standard in standards), 4)


def render_form(tr: Translator, settings: Settings, form: RatingForm, target: str, period: Period) -> str:
    lines: list[str] = [tr.gettext("<b>Rating {target}</b> · {period}", target=target, period=period_label(period))]
    for index, standard in enumerate(settings.campaign.standards):
        score = form.scores.get(standard.key)
        stars = "★" * score + "☆" * (5 - score) if score else "—"
        lines.append(f"{MARKS[index]} {escape(standard_name(tr, standard))}: {stars}")
    if form.comment:
        lines.append(tr.gettext("Comment: {comment}", comment=form.comment))
    return "\n".join(lines)


def period_label(period: Period) -> str:
    return f"{period.starts_on:%Y-%m-%d} – {period.ends_on:%m-%d}"


def scores_keyboard(tr: Translator, settings: Settings, form: RatingForm) -> InlineKeyboardMarkup:
    rows: list[list[InlineKeyboardButton]] = []
    for index, standard in enumerate(settings.campaign.standards):
        chosen = form.scores.get(standard.key)
        rows.append(
            [
                button(
                    f"{MARKS[index]}{score}" + ("✓" if score == chosen else ""),
                    Score(form.id or 0, index, score).pack(),
                )
                for score in range(1, 6)
            ]
        )
    rows.append([button(tr.gettext("Cancel"), FormStep(form.id or 0, "cancel").pack())])
    return InlineKeyboardMarkup(rows)


def comment_keyboard(tr: Translator, form: RatingForm) -> InlineKeyboardMarkup:
    """No comment, and Keep the comment when the rater wrote one before going back to the scores."""
    form_id = form.id or 0
    keep = [[button(tr.gettext("Keep the comment"), FormStep(form_id, "keep").pack())]] if form.comment else []
    return InlineKeyboardMarkup(
        [
            *keep,
            [button(tr.gettext("No comment"), FormStep(form_id, "skip").pack())],
            [
                button(tr.gettext("‹ Back"), FormStep(form_id, "back").pack()),
                button(tr.gettext("Cancel"), FormStep(form_id, "cancel").pack()),
            ],
        ]
    )


def confirm_keyboard(tr: Translator, form: RatingForm) -> InlineKeyboardMarkup:
    form_id = form.id or 0
    return InlineKeyboardMarkup(
        [
            [button(tr.gettext("✅ Confirm"), FormStep(form_id, "confirm").pack())],
            [
                button(tr.gettext("‹ Back"), FormStep(form_id, "back").pack()),
                button(tr.gettext("Cancel"), FormStep(form_id, "cancel").pack()),
            ],
        ]
    )


# --- who may rate what -------------------------------------------------------------------------------------------


def rater_group(viewer: Viewer) -> RaterGroup:
    return RaterGroup.INDUSTRY if viewer.audience == Audience.INDUSTRY else RaterGroup.INTERNAL


async def check_target(session: AsyncSession, viewer: Viewer, kind: TargetKind, target_id: int) -> str:
    """The target's name, if this rater may rate it; refuses self, own section, archived and inactive targets."""
    assert viewer.member is not None
    if kind == TargetKind.SECTION:
        section = await sections.get_section(session=session, section_id=target_id)
        if section is None or section.archived_at is not None:
            raise Refusal(N_("That section can't be rated. Send /rate again."))
        if section.id == viewer.member.section_id:
            raise Refusal(N_("Nobody rates their own section."))
        return section.name
    if viewer.audience == Audience.INDUSTRY:
        raise Refusal(N_("Industry raters rate sections only."))
    colleague = await members.get_member(session=session, member_id=target_id)
    if colleague is None or colleague.id == viewer.member.id:
        raise Refusal(N_("Nobody rates themselves."))
    colleagues = await ratings.rateable_colleagues(session=session, rater_id=viewer.member.id or 0)
    allowed = {member.id for member, _ in colleagues}
    if colleague.id not in allowed:
        raise Refusal(N_("That colleague can't be rated. Send /rate again."))
    return colleague.display_name


def rating_period_kind(context: BotContext) -> PeriodKind:
    return PeriodKind(context.settings.campaign.rating_period)


async def open_period(session: AsyncSession, context: BotContext) -> Period:
    period = await ratings.current_period(session=session, kind=rating_period_kind(context), today=context.today())
    if period is None:
        raise Refusal(
            N_("Ratings are open during the campaign only ({starts} to {ends})."),
            starts=context.settings.campaign.starts.isoformat(),
            ends=context.settings.campaign.ends.isoformat(),
        )
    return period


# --- the steps ---------------------------------------------------------------------------------------------------


async def cmd_rate(update: Update, context: BotContext) -> None:
    """In private: what to rate. In a group: a button to the private chat, since ratings are never public."""
    replies = Replies()
    async with context.db.transaction() as session:
        viewer = await load_viewer(session=session, context=context, user=sender(update))
        if chat_type(update) != ChatType.PRIVATE:
            link = f"https://t.me/{context.bot.username}?start={DEEP_LINK}"
            keyboard = InlineKeyboardMarkup([[InlineKeyboardButton(context.tr.gettext("Rate in private"), url=link)]])
            replies.reply(context.tr.gettext("Ratings are made in private, never in the group."), keyboard)
        else:
            require(viewer, RATE, "private")
            await begin(session, context, viewer, replies)
    await replies.deliver(update, context)


async def begin(session: AsyncSession, context: BotContext, viewer: Viewer, replies: Replies) -> None:
    await open_period(session, context)
    if viewer.audience == Audience.INDUSTRY:
        await offer_targets(session, context, viewer, TargetKind.SECTION, 0, "", replies)
        return
    keyboard = InlineKeyboardMarkup(
        [
            [button(context.tr.gettext("A section or station"), ChooseKind(TargetKind.SECTION).pack())],
            [button(context.tr.gettext("A colleague"), ChooseKind(TargetKind.MEMBER).pack())],
            [button(context.tr.gettext("Cancel"), StopChoosing().pack())],
        ]
    )
    replies.reply(context.tr.gettext("What would you like to rate?"), keyboard)


async def offer_targets(
    session: AsyncSession,
    context: BotContext,
    viewer: Viewer,
    kind: TargetKind,
    page: int,
    narrowed: str,
    replies: Replies,
    *,
    new_message: bool = False,
) -> None:
    """The paged list of targets; typing part of a name narrows it."""
    assert viewer.member is not None
    tr = context.tr
    if kind == TargetKind.SECTION:
        choices = await ratings.rateable_sections(session=session, own_section_id=viewer.member.section_id)
        found = [(section.name, section.id or 0) for section in choices]
    else:
        colleagues = await ratings.rateable_colleagues(session=session, rater_id=viewer.member.id or 0)
        found = colleague_choices(colleagues)
    if narrowed:
        found = [(name, target_id) for name, target_id in found if narrowed.lower() in name.lower()]
    await dialogs.set_dialog(
        session=session, telegram_id=viewer.user.id, step=STEP_SEARCH, data={"kind": kind.value}, now=context.now()
    )
    items = [(name, PickTarget(kind, target_id, False).pack()) for name, target_id in found]
    rows = paged_buttons(tr, items, page, lambda number: TargetPage(kind, number).pack())
    rows.append([button(tr.gettext("Cancel"), StopChoosing().pack())])
    if not found and narrowed and await _names_own(session, viewer, kind, narrowed):
        own = N_("Nobody rates their own section.") if kind == TargetKind.SECTION else N_("Nobody rates themselves.")
        text = tr.gettext("{reason} Type another part of the name, or /cancel.", reason=tr.gettext(own))
    elif not found:
        text = tr.gettext("Nothing matches “{text}”. Type another part of the name, or /cancel.", text=narrowed)
    else:
        text = tr.gettext("Whom do you rate? Choose, or type part of the name to narrow the list.")
    if new_message:
        replies.reply(text, InlineKeyboardMarkup(rows))
    else:
        replies.edit(text, InlineKeyboardMarkup(rows))


async def _names_own(session: AsyncSession, viewer: Viewer, kind: TargetKind, narrowed: str) -> bool:
    """Whether the typed part of a name is the rater's own name (or section's), which is never offered."""
    assert viewer.member is not None
    if kind == TargetKind.MEMBER:
        return narrowed.lower() in viewer.member.display_name.lower()
    if viewer.member.section_id is None:
        return False
    section = await sections.get_section(session=session, section_id=viewer.member.section_id)
    return section is not None and narrowed.lower() in section.name.lower()


def colleague_choices(colleagues: list[tuple[Member, str]]) -> list[tuple[str, int]]:
    """(label, member id): the name, and the section after it where two colleagues share a name."""
    shared = {name for name, count in Counter(member.display_name for member, _ in colleagues).items() if count > 1}
    return [
        (f"{member.display_name} · {section}" if member.display_name in shared else member.display_name, member.id or 0)
        for member, section in colleagues
    ]


async def press_stop_choosing(update: Update, context: BotContext) -> None:
    """Cancel before a target is chosen: the search that waited for typed text is dropped."""
    replies = Replies()
    async with context.db.transaction() as session:
        viewer = await _rater(session, context, update)
        await dialogs.clear_dialog(session=session, telegram_id=viewer.user.id, steps=(STEP_SEARCH,))
        replies.edit(context.tr.gettext("Rating cancelled; nothing was saved."))
    await replies.deliver(update, context)


async def press_kind(update: Update, context: BotContext) -> None:
    press = ChooseKind.parse(callback_data(update))
    replies = Replies()
    async with context.db.transaction() as session:
        viewer = await _rater(session, context, update)
        if press is None:
            raise Refusal(N_("This button has expired. Send /rate again."))
        if press.kind == TargetKind.MEMBER and viewer.audience == Audience.INDUSTRY:
            raise Refusal(N_("Industry raters rate sections only."))
        await offer_targets(session, context, viewer, press.kind, 0, "", replies)
    await replies.deliver(update, context)


async def press_page(update: Update, context: BotContext) -> None:
    press = TargetPage.parse(callback_data(update))
    replies = Replies()
    async with context.db.transaction() as session:
        viewer = await _rater(session, context, update)
        if press is None:
            raise Refusal(N_("This button has expired. Send /rate again."))
        await offer_targets(session, context, viewer, press.kind, press.page, "", replies)
    await replies.deliver(update, context)


async def ask_search(
    session: AsyncSession, context: BotContext, viewer: Viewer, dialog: Dialog, text: str, replies: Replies
) -> None:
    """The rater typed part of a name."""
    _require_rater(viewer)
    kind = TargetKind(str(dialog.data.get("kind", TargetKind.SECTION.value)))
    await offer_targets(session, context, viewer, kind, 0, " ".join(text.split())[:32], replies, new_message=True)


async def press_target(update: Update, context: BotContext) -> None:
    """The target is chosen: an earlier rating this period is shown first; else the form starts."""
    press = PickTarget.parse(callback_data(update))
    replies = Replies()
    async with context.db.transaction() as session:
        viewer = await _rater(session, context, update)
        if press is None:
            raise Refusal(N_("This button has expired. Send /rate again."))
        name = await check_target(session, viewer, press.kind, press.target_id)
        period = await open_period(session, context)
        assert viewer.member is not None
        earlier = await ratings.get_rating(
            session=session,
            rater_id=viewer.member.id or 0,
            target_kind=press.kind,
            target_id=press.target_id,
            period_id=period.id or 0,
        )
        if earlier is not None and not press.replace:
            await dialogs.clear_dialog(session=session, telegram_id=viewer.user.id)
            scores = " ".join(
                f"{MARKS[i]}{earlier.scores.get(s.key, '—')}" for i, s in enumerate(context.settings.campaign.standards)
            )
            keyboard = InlineKeyboardMarkup(
                [
                    [
                        button(
                            context.tr.gettext("Rate again, replacing it"),
                            PickTarget(press.kind, press.target_id, True).pack(),
                        )
                    ],
                    [button(context.tr.gettext("Keep it"), KeepRating().pack())],
                ]
            )
            replies.edit(
                context.tr.gettext(
                    "You already rated {name} in this period: {scores}. Replace that rating?", name=name, scores=scores
                ),
                keyboard,
            )
        else:
            form = await ratings.open_form(
                session=session,
                rater_id=viewer.member.id or 0,
                target_kind=press.kind,
                target_id=press.target_id,
                period_id=period.id or 0,
            )
            await dialogs.clear_dialog(session=session, telegram_id=viewer.user.id)
            replies.edit(
                render_form(context.tr, context.settings, form, name, period)
                + "\n\n"
                + context.tr.gettext("Choose 1 (poor) to 5 (excellent) for each standard."),
                scores_keyboard(context.tr, context.settings, form),
            )
    await replies.deliver(update, context)


async def press_score(update: Update, context: BotContext) -> None:
    """One standard's score; when all are given, on to the comment."""
    press = Score.parse(callback_data(update))
    replies = Replies()
    async with context.db.transaction() as session:
        viewer = await _rater(session, context, update)
        form, name, period = await _own_open_form(session, context, viewer, press.form_id if press else 0)
        standards = context.settings.campaign.standards
        assert press is not None
        if not 0 <= press.index < len(standards) or not 1 <= press.score <= 5:
            raise Refusal(N_("This button has expired. Send /rate again."))
        form.scores[standards[press.index].key] = press.score
        form.stage = "comment" if all(s.key in form.scores for s in standards) else "scores"
        await ratings.save_form(session=session, form=form)
        await _show_stage(session, context, viewer, form, name, period, replies)
    await replies.deliver(update, context)


async def _show_stage(
    session: AsyncSession,
    context: BotContext,
    viewer: Viewer,
    form: RatingForm,
    name: str,
    period: Period,
    replies: Replies,
    *,
    new_message: bool = False,
) -> None:
    tr, settings = context.tr, context.settings
    text = render_form(tr, settings, form, name, period)
    if form.stage == "scores":
        markup = scores_keyboard(tr, settings, form)
        text += "\n\n" + tr.gettext("Choose 1 (poor) to 5 (excellent) for each standard.")
    elif form.stage == "comment":
        await dialogs.set_dialog(
            session=session, telegram_id=viewer.user.id, step=STEP_COMMENT, data={"form_id": form.id}, now=context.now()
        )
        markup = comment_keyboard(tr, form)
        text += "\n\n" + (
            tr.gettext("Keep the comment, type a new one, or choose No comment.")
            if form.comment
            else tr.gettext("Add a comment? Type it (they will read it without your name), or choose No comment.")
        )
    else:
        markup = confirm_keyboard(tr, form)
        text += "\n\n" + tr.gettext("Nothing counts until you confirm. Confirm this rating?")
    if new_message:
        replies.reply(text, markup)
    else:
        replies.edit(text, markup)


async def ask_comment(
    session: AsyncSession, context: BotContext, viewer: Viewer, dialog: Dialog, text: str, replies: Replies
) -> None:
    """The rater typed a comment."""
    form, name, period = await _own_open_form(session, context, viewer, int(dialog.data.get("form_id", 0)))
    comment = typed_text(text, COMMENT_LIMIT, N_("A comment has at most {limit} characters; this one has {length}."))
    form.comment, form.stage = comment, "confirm"
    await ratings.save_form(session=session, form=form)
    await dialogs.clear_dialog(session=session, telegram_id=viewer.user.id)
    await _show_stage(session, context, viewer, form, name, period, replies, new_message=True)


async def press_step(update: Update, context: BotContext) -> None:
    """No comment, Back, Cancel or Confirm."""
    press = FormStep.parse(callback_data(update))
    replies = Replies()
    async with context.db.transaction() as session:
        viewer = await _rater(session, context, update)
        if press is None or press.action not in {"skip", "keep", "back", "cancel", "confirm"}:
            raise Refusal(N_("This button has expired. Send /rate again."))
        form, name, period = await _own_open_form(session, context, viewer, press.form_id)
        tr = context.tr
        if press.action == "cancel":
            form.status = FormStatus.CANCELLED
            await ratings.save_form(session=session, form=form)
            await dialogs.clear_dialog(session=session, telegram_id=viewer.user.id)
            replies.edit(tr.gettext("Rating cancelled; nothing was saved."))
        elif press.action == "confirm":
            await confirm(session, context, viewer, form, name, replies)
        else:
            if press.action == "skip" and form.stage != "scores":
                form.comment, form.stage = "", "confirm"
            elif press.action == "keep" and form.stage == "comment":
                form.stage = "confirm"
            elif press.action == "back":
                form.stage = "scores"
            await ratings.save_form(session=session, form=form)
            await dialogs.clear_dialog(session=session, telegram_id=viewer.user.id)
            await _show_stage(session, context, viewer, form, name, period, replies)
    await replies.deliver(update, context)


async def confirm(
    session: AsyncSession, context: BotContext, viewer: Viewer, form: RatingForm, name: str, replies: Replies
) -> None:
    standards = context.settings.campaign.standards
    if form.stage != "confirm" or not all(s.key in form.scores for s in standards):
        raise Refusal(N_("Give every standard a score first."))
    rating = await ratings.confirm_form(
        session=session, form=form, rater_group=rater_group(viewer), value=rating_value(form.scores, standards)
    )
    if rating is None:
        replies.toast(context.tr.gettext("This rating is already saved."), alert=True)
        return
    replies.edit(
        context.tr.gettext(
            "Thank you! Your rating of {name} is saved. Only the administrators can see who gave it.", name=name
        )
    )


async def press_keep(update: Update, context: BotContext) -> None:
    """The rater keeps the earlier rating; nothing changes."""
    replies = Replies()
    replies.edit(context.tr.gettext("Your earlier rating stays as it was."))
    await replies.deliver(update, context)


async def press_rate_now(update: Update, context: BotContext) -> None:
    """The Rate button of a nudge."""
    replies = Replies()
    async with context.db.transaction() as session:
        viewer = await _rater(session, context, update)
        await begin(session, context, viewer, replies)
    await replies.deliver(update, context)


async def press_mute(update: Update, context: BotContext) -> None:
    """No more nudges for this member."""
    replies = Replies()
    async with context.db.transaction() as session:
        viewer = await _rater(session, context, update)
        assert viewer.member is not None
        viewer.member.mute_nudges = True
        await members.save_member(session=session, member=viewer.member)
        replies.edit(context.tr.gettext("You will get no more reminders to rate. /rate still works any time."))
    await replies.deliver(update, context)


# --- checks ------------------------------------------------------------------------------------------------------


def _require_rater(viewer: Viewer) -> None:
    if viewer.member is None or viewer.audience not in MEMBERS:
        raise Refusal(N_("/{command} is for registered members. Send /start to register."), command="rate")


async def _rater(session: AsyncSession, context: BotContext, update: Update) -> Viewer:
    viewer = await load_viewer(session=session, context=context, user=sender(update))
    _require_rater(viewer)
    return viewer


async def _own_open_form(
    session: AsyncSession, context: BotContext, viewer: Viewer, form_id: int
) -> tuple[RatingForm, str, Period]:
    """The presser's own open form, in the current period, for a target that may still be rated."""
    form = await ratings.get_form(session=session, form_id=form_id)
    if form is None or viewer.member is None or form.rater_id != viewer.member.id:
        raise Refusal(N_("This rating form is not yours. Send /rate to start your own."))
    if form.status != FormStatus.OPEN:
        raise Refusal(
            N_("This rating is already saved.")
            if form.status == FormStatus.CONFIRMED
            else N_("This rating form was closed. Send /rate to start again.")
        )
    period = await ratings.current_period_of_form(
        session=session, form=form, kind=rating_period_kind(context), today=context.today()
    )
    if period is None:
        await open_period(session, context)  # says so when the campaign is over
        raise Refusal(N_("That rating period has ended. Send /rate to rate in the current one."))
    name = await check_target(session, viewer, form.target_kind, form.target_id)
    return form, name, period


TEXT_STEPS = {STEP_SEARCH: ask_search, STEP_COMMENT: ask_comment}


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    return [
        CommandHandler(RATE.name, cmd_rate),
        CallbackQueryHandler(press_kind, pattern=ChooseKind.pattern()),
        CallbackQueryHandler(press_page, pattern=TargetPage.pattern()),
        CallbackQueryHandler(press_target, pattern=PickTarget.pattern()),
        CallbackQueryHandler(press_score, pattern=Score.pattern()),
        CallbackQueryHandler(press_step, pattern=FormStep.pattern()),
        CallbackQueryHandler(press_rate_now, pattern=RateNow.pattern()),
        CallbackQueryHandler(press_keep, pattern=KeepRating.pattern()),
        CallbackQueryHandler(press_stop_choosing, pattern=StopChoosing.pattern()),
        CallbackQueryHandler(press_mute, pattern=MuteNudges.pattern()),
    ]
