"""/rate: colleagues rate sections and one another on the campaign's standards; industry raters rate sections.

Choose sections or colleagues, then the target (typing part of a name narrows the list), then one message edited
in place with 1–5 for each standard, then an optional comment, then Confirm. The form's state travels signed in
its own buttons (handlers/rating_form.py): its presses need no database, a restart loses nothing, and nothing counts
until Confirm, which checks everything again in one short transaction: the rater may rate, the target may be rated
by them, the form's period is the current one.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections import Counter
from dataclasses import dataclass, replace

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatType
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.access import ANY_CHAT, MEMBERS, Audience, CommandSpec, audience_of
from bot.callbacks import CallbackData
from bot.config import Settings, Standard
from bot.context import BotContext
from bot.i18n import N_, Translator
from bot.labels import label_name
from bot.signing import Signer
from handlers import rating_form
from handlers.common import (
    N_COMMENT_TOO_LONG,
    PlainKeyboard,
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
    viewer_read_with,
)
from handlers.presses import Press, on_press
from handlers.rating_form import FormPress, FormState, Stage, Step, score_action
from storage import dialogs, members, ratings, sections
from storage.models import (
    Dialog,
    Member,
    Period,
    PeriodKind,
    RaterGroup,
    Rating,
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
N_EXPIRED = N_("This button has expired. Send /rate again.")
DEEP_LINK = "rate"
STEP_SEARCH = "rate.search"
STEP_COMMENT = "rate.comment"
COMMENT_LIMIT = 500
MARKS = "①②③④⑤⑥⑦⑧⑨⑩"
COMMENT_LABEL = "comment"  # the form labels' kind of a typed comment (the others are the target kinds)
N_CAMPAIGN_ONLY = N_("Ratings are open during the campaign only ({starts} to {ends}).")
N_PERIOD_ENDED = N_("That rating period has ended. Send /rate to rate in the current one.")


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


def rating_value(scores: dict[str, int], standards: tuple[Standard, ...]) -> float:
    """The weighted mean of the standards' scores (the weights add up to 1)."""
    return round(sum(scores[standard.key] * standard.weight for standard in standards), 4)


def period_label(starts: dt.date, ends: dt.date) -> str:
    return f"{starts:%Y-%m-%d} – {ends:%m-%d}"


@dataclass(frozen=True)
class FormView:
    """What the form message shows besides its state: the target's name and the comment typed, if any."""

    target: str
    comment: str = ""


def render_form(tr: Translator, settings: Settings, state: FormState, view: FormView) -> str:
    lines: list[str] = [
        tr.gettext(
            "<b>Rating {target}</b> · {period}",
            target=view.target,
            period=period_label(state.period_starts, state.period_ends),
        )
    ]
    for index, standard in enumerate(settings.campaign.standards):
        score = state.scores[index]
        stars = "★" * score + "☆" * (5 - score) if score else "—"
        lines.append(
            f"{MARKS[index]} " + tr.gettext("{standard}: {stars}", standard=label_name(tr, standard), stars=stars)
        )
    if view.comment:
        lines.append(tr.gettext("Comment: {comment}", comment=view.comment))
    text = "\n".join(lines) + "\n\n"
    if state.stage == Stage.SCORES:
        return text + tr.gettext("Choose 1 (poor) to 5 (excellent) for each standard.")
    if state.stage == Stage.COMMENT:
        return text + (
            tr.gettext("Keep the comment, write a new one, or choose No comment.")
            if view.comment
            else tr.gettext("Add a comment? They will read it without your name. Or choose No comment.")
        )
    return text + tr.gettext("Nothing counts until you confirm. Confirm this rating?")


def form_keyboard(tr: Translator, signer: Signer, user_id: int, state: FormState) -> PlainKeyboard:
    """The buttons of the form at its stage, each signed with the state for this rater."""

    pack = rating_form.packer(signer, user_id, state)
    rows: list[list[tuple[str, str]]] = []
    if state.stage == Stage.SCORES:
        for index, chosen in enumerate(state.scores):
            rows.append(
                [
                    (f"{MARKS[index]}{score}" + ("✓" if score == chosen else ""), pack(score_action(index, score)))
                    for score in range(1, 6)
                ]
            )
        rows.append([(tr.gettext("Cancel"), pack(Step.CANCEL))])
        return PlainKeyboard(rows)
    if state.stage == Stage.COMMENT:
        if state.comment_id:
            rows.append([(tr.gettext("Keep the comment"), pack(Step.KEEP))])
        rows.append([(tr.gettext("✍️ Write a comment"), pack(Step.WRITE))])
        rows.append([(tr.gettext("No comment"), pack(Step.NO_COMMENT))])
    else:
        rows.append([(tr.gettext("✅ Confirm"), pack(Step.CONFIRM))])
    rows.append([(tr.gettext("‹ Back"), pack(Step.BACK)), (tr.gettext("Cancel"), pack(Step.CANCEL))])
    return PlainKeyboard(rows)


# --- who may rate what -------------------------------------------------------------------------------------------


def rater_group(viewer: Viewer) -> RaterGroup:
    return RaterGroup.INDUSTRY if viewer.audience == Audience.INDUSTRY else RaterGroup.INTERNAL


def judge_target(viewer: Viewer, kind: TargetKind, target_id: int, name: str | None, section_id: int | None) -> str:
    """The target's name if this rater may rate it: never themselves or their own section, industry raters
    sections only; `name` is None for a target that may not be rated at all (archived, deactivated, a leader)."""
    assert viewer.member is not None
    if kind == TargetKind.SECTION:
        if name is None:
            raise Refusal(N_("That section can't be rated. Send /rate again."))
        if section_id == viewer.member.section_id:
            raise Refusal(N_("You cannot rate your own section."))
        return name
    if viewer.audience == Audience.INDUSTRY:
        raise Refusal(N_("Industry raters rate sections only."))
    if target_id == viewer.member.id:
        raise Refusal(N_("You cannot rate yourself."))
    if name is None:
        raise Refusal(N_("That colleague can't be rated. Send /rate again."))
    return name


def rating_period_kind(context: BotContext) -> PeriodKind:
    return PeriodKind(context.settings.campaign.rating_period)


async def open_period(session: AsyncSession, context: BotContext) -> Period:
    period = await ratings.current_period(session=session, kind=rating_period_kind(context), today=context.today())
    return _require_period(context, period)


def _require_period(context: BotContext, period: Period | None) -> Period:
    """The current rating period; outside the campaign's dates there is none to rate in."""
    if period is None:
        campaign = context.settings.campaign
        raise Refusal(N_CAMPAIGN_ONLY, starts=campaign.starts.isoformat(), ends=campaign.ends.isoformat())
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
        own = N_("You cannot rate your own section.") if kind == TargetKind.SECTION else N_("You cannot rate yourself.")
        text = tr.gettext("{reason} Type another part of the name, or /cancel.", reason=tr.gettext(own))
    elif not found:
        text = tr.gettext("Nothing matches “{text}”. Type another part of the name, or /cancel.", text=narrowed)
    else:
        text = tr.gettext("Whom would you like to rate? Choose, or type part of a name to narrow the list.")
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


# --- checks ------------------------------------------------------------------------------------------------------


def _require_rater(viewer: Viewer) -> None:
    if viewer.member is None or viewer.audience not in MEMBERS:
        raise Refusal(N_("/{command} is for registered members. Send /start to register."), command="rate")


async def _rater(session: AsyncSession, context: BotContext, update: Update) -> Viewer:
    viewer = await load_viewer(session=session, context=context, user=sender(update))
    _require_rater(viewer)
    return viewer


@on_press(StopChoosing, who=_rater, expired=N_EXPIRED)
async def press_stop_choosing(press: Press[StopChoosing]) -> None:
    """Cancel before a target is chosen: the search that waited for typed text is dropped."""
    await dialogs.clear_dialog(session=press.session, telegram_id=press.viewer.user.id, steps=(STEP_SEARCH,))
    press.replies.edit(press.tr.gettext("Rating cancelled; nothing was saved."))


@on_press(ChooseKind, who=_rater, expired=N_EXPIRED)
async def press_kind(press: Press[ChooseKind]) -> None:
    if press.data.kind == TargetKind.MEMBER and press.viewer.audience == Audience.INDUSTRY:
        raise Refusal(N_("Industry raters rate sections only."))
    await offer_targets(press.session, press.context, press.viewer, press.data.kind, 0, "", press.replies)


@on_press(TargetPage, who=_rater, expired=N_EXPIRED)
async def press_page(press: Press[TargetPage]) -> None:
    data = press.data
    await offer_targets(press.session, press.context, press.viewer, data.kind, data.page, "", press.replies)


async def ask_search(
    session: AsyncSession, context: BotContext, viewer: Viewer, dialog: Dialog, text: str, replies: Replies
) -> None:
    """The rater typed part of a name."""
    _require_rater(viewer)
    kind = TargetKind(str(dialog.data.get("kind", TargetKind.SECTION.value)))
    await offer_targets(session, context, viewer, kind, 0, " ".join(text.split())[:32], replies, new_message=True)


async def press_target(update: Update, context: BotContext) -> None:
    """The target is chosen: an earlier rating this period is shown first; else the form starts. The presser, the
    target, the period and the earlier rating are read in one statement (not on the press skeleton, whose
    presser is read alone: handlers/presses.py)."""
    data, user = PickTarget.parse(callback_data(update)), sender(update)
    replies = Replies()
    async with context.db.transaction() as session:
        if data is None:
            _require_rater(await load_viewer(session=session, context=context, user=user))
            raise Refusal(N_EXPIRED)
        grounds = await ratings.target_grounds(
            session=session,
            rater_telegram_id=user.id,
            kind=data.kind,
            target_id=data.target_id,
            period_kind=rating_period_kind(context),
            today=context.today(),
        )
        viewer = await viewer_read_with(session=session, context=context, user=user, member=grounds.rater)
        _require_rater(viewer)
        name = judge_target(viewer, data.kind, data.target_id, grounds.target, grounds.target_section_id)
        period = _require_period(context, grounds.period)
        await dialogs.clear_dialog(session=session, telegram_id=user.id)
        if grounds.earlier is not None and not data.replace:
            offer_replacing(context, data, name, grounds.earlier, replies)
        else:
            context.services.form_labels.put((data.kind.value, data.target_id), name)
            show_form(context, user.id, new_form(context, data, period), FormView(name), replies)
    await replies.deliver(update, context)


def offer_replacing(context: BotContext, data: PickTarget, name: str, earlier: Rating, replies: Replies) -> None:
    """The rater rated this target in this period already: replace that rating, or keep it."""
    scores = " ".join(
        f"{MARKS[i]}{earlier.scores.get(s.key, '—')}" for i, s in enumerate(context.settings.campaign.standards)
    )
    keyboard = InlineKeyboardMarkup(
        [
            [
                button(
                    context.tr.gettext("Rate again, replacing it"), PickTarget(data.kind, data.target_id, True).pack()
                )
            ],
            [button(context.tr.gettext("Keep it"), KeepRating().pack())],
        ]
    )
    text = context.tr.gettext(
        "You already rated {name} in this period: {scores}. Replace that rating?", name=name, scores=scores
    )
    replies.edit(text, keyboard)


def new_form(context: BotContext, data: PickTarget, period: Period) -> FormState:
    return FormState(
        kind=data.kind,
        target_id=data.target_id,
        period_id=period.id or 0,
        period_starts=period.starts_on,
        period_ends=period.ends_on,
        opened_at=int(context.now().timestamp()),
        nonce=secrets.randbelow(2**31),
        scores=(0,) * len(context.settings.campaign.standards),
        language=context.language,
    )


def show_form(
    context: BotContext, user_id: int, state: FormState, view: FormView, replies: Replies, *, new_message: bool = False
) -> None:
    tr = context.tr
    text = render_form(tr, context.settings, state, view)
    keyboard = form_keyboard(tr, form_signer(context), user_id, state)
    if new_message:
        replies.reply(text, keyboard)
    else:
        replies.edit(text, keyboard)


def form_signer(context: BotContext) -> Signer:
    signer = context.services.keys.rating_form
    if signer is None:
        raise RuntimeError("the rating form's key is read when the bot starts (bot/app.py on_start)")
    return signer


async def press_form(update: Update, context: BotContext) -> None:
    """A press on the rating form. Its state is in the pressed button, signed for the presser: a score, No comment,
    Keep, Back and Cancel need no database (unless the process restarted mid-form and the target's name or the
    comment must be read again); Write a comment and Confirm go to `ask_for_comment` and `confirm`."""
    user = sender(update)
    press = rating_form.read(
        form_signer(context), user.id, callback_data(update), len(context.settings.campaign.standards)
    )
    context.use_language(press.state.language)
    if press.action == Step.CONFIRM:
        await confirm(update, context, press.state)
        return
    _require_current(context, press.state.period_starts, press.state.period_ends)
    replies = Replies(signed=True)
    if press.action == Step.CANCEL:
        replies.edit(context.tr.gettext("Rating cancelled; nothing was saved."))
    elif press.action == Step.WRITE:
        await ask_for_comment(context, user.id, press.state, replies)
    else:
        state = _next_state(context, press)
        show_form(context, user.id, state, await form_view(context, state), replies)
    await replies.deliver(update, context)


def _next_state(context: BotContext, press: FormPress) -> FormState:
    state = press.state
    if (chosen := press.score) is not None:
        index, score = chosen
        if index >= len(state.scores):
            raise Refusal(rating_form.N_EXPIRED)
        return state.scored(index, score)
    if press.action == Step.BACK:
        return replace(state, stage=Stage.SCORES)
    if press.action == Step.NO_COMMENT and state.complete:
        return replace(state, stage=Stage.CONFIRM, comment_id=0)
    if press.action == Step.KEEP and state.complete and state.comment_id:
        return replace(state, stage=Stage.CONFIRM)
    if press.action == Step.SHOW:
        return state
    raise Refusal(rating_form.N_EXPIRED)


def _require_current(context: BotContext, starts: dt.date, ends: dt.date) -> None:
    """The form's period (from `starts` to `ends`) still holds today, inside the campaign."""
    today, campaign = context.today(), context.settings.campaign
    if not campaign.starts <= today <= campaign.ends:
        raise Refusal(N_CAMPAIGN_ONLY, starts=campaign.starts.isoformat(), ends=campaign.ends.isoformat())
    if not starts <= today <= ends:
        raise Refusal(N_PERIOD_ENDED)


async def form_view(context: BotContext, state: FormState) -> FormView:
    """The target's name and the comment, as this process last read them; read again only after a restart."""
    labels = context.services.form_labels
    name = labels.get((state.kind.value, state.target_id))
    comment = labels.get((COMMENT_LABEL, state.comment_id)) if state.comment_id else ""
    if name is None or comment is None:
        async with context.db.transaction() as session:
            name, comment = await _read_view(session, state)
        labels.put((state.kind.value, state.target_id), name)
        if state.comment_id:
            labels.put((COMMENT_LABEL, state.comment_id), comment)
    return FormView(name, comment)


async def _read_view(session: AsyncSession, state: FormState) -> tuple[str, str]:
    if state.kind == TargetKind.SECTION:
        section = await sections.get_section(session=session, section_id=state.target_id)
        name = section.name if section is not None else None
    else:
        colleague = await members.get_member(session=session, member_id=state.target_id)
        name = colleague.display_name if colleague is not None else None
    comment = await ratings.get_comment(session=session, comment_id=state.comment_id) if state.comment_id else ""
    if name is None or comment is None:
        raise Refusal(rating_form.N_EXPIRED)
    return name, comment


async def ask_for_comment(context: BotContext, user_id: int, state: FormState, replies: Replies) -> None:
    """Write a comment: the next message the rater types is the comment (a dialog holds the form till then)."""
    if not state.complete:
        raise Refusal(rating_form.N_EXPIRED)
    async with context.db.transaction() as session:
        data = {"form": rating_form.pack(form_signer(context), user_id, state, Step.WRITE)}
        await dialogs.set_dialog(session=session, telegram_id=user_id, step=STEP_COMMENT, data=data, now=context.now())
    signer, tr = form_signer(context), context.tr
    back = button(tr.gettext("‹ Back"), rating_form.pack(signer, user_id, state, Step.SHOW))
    cancel = button(tr.gettext("Cancel"), rating_form.pack(signer, user_id, state, Step.CANCEL))
    replies.edit(
        tr.gettext(
            "Type your comment ({limit} characters at most). They will read it without your name.",
            limit=COMMENT_LIMIT,
        ),
        InlineKeyboardMarkup([[back, cancel]]),
    )


async def ask_comment(
    session: AsyncSession, context: BotContext, viewer: Viewer, dialog: Dialog, text: str, replies: Replies
) -> None:
    """The rater typed a comment: it is kept, and the form comes back to be confirmed."""
    _require_rater(viewer)
    press = rating_form.read(
        form_signer(context), viewer.user.id, str(dialog.data.get("form", "")), len(context.settings.campaign.standards)
    )
    _require_current(context, press.state.period_starts, press.state.period_ends)
    comment = typed_text(text, COMMENT_LIMIT, N_COMMENT_TOO_LONG)
    assert viewer.member is not None
    comment_id = await ratings.save_comment(
        session=session, rater_id=viewer.member.id or 0, text=comment, now=context.now()
    )
    await dialogs.clear_dialog(session=session, telegram_id=viewer.user.id)
    context.services.form_labels.put((COMMENT_LABEL, comment_id), comment)
    state = replace(press.state, stage=Stage.CONFIRM, comment_id=comment_id)
    show_form(context, viewer.user.id, state, await form_view(context, state), replies, new_message=True)


async def confirm(update: Update, context: BotContext, state: FormState) -> None:
    """Stores the rating in one short transaction that reads everything in one statement and checks it again: the
    rater may rate, the target may be rated by them, the form's period is the current one."""
    if state.stage != Stage.CONFIRM or not state.complete:
        raise Refusal(N_("Give every standard a score first."))
    user, standards = sender(update), context.settings.campaign.standards
    replies = Replies()
    async with context.db.transaction() as session:
        grounds = await ratings.rating_grounds(
            session=session,
            kind=state.kind,
            target_id=state.target_id,
            period_id=state.period_id,
            rater_telegram_id=user.id,
        )
        if grounds is None or grounds.period_kind != rating_period_kind(context):
            raise Refusal(N_PERIOD_ENDED)
        viewer = Viewer(user, grounds.rater, audience_of(grounds.rater, user.id, context.settings.bot.admins))
        _require_rater(viewer)
        _require_current(context, grounds.period_starts, grounds.period_ends)
        name = judge_target(viewer, state.kind, state.target_id, grounds.target, grounds.target_section_id)
        comment = await ratings.get_comment(session=session, comment_id=state.comment_id) if state.comment_id else ""
        if comment is None:  # typed more than FORM_COMMENT_MEMORY ago
            raise Refusal(rating_form.N_EXPIRED)
        scores = {standard.key: score for standard, score in zip(standards, state.scores, strict=True)}
        assert viewer.member is not None
        new = ratings.NewRating(
            rater_id=viewer.member.id or 0,
            rater_group=rater_group(viewer),
            target_kind=state.kind,
            target_id=state.target_id,
            period_id=state.period_id,
            scores=scores,
            comment=comment,
            value=rating_value(scores, standards),
            form_nonce=state.nonce,
        )
        if await ratings.store_confirmed(session=session, new=new, grounds=grounds, now=context.now()):
            replies.edit(
                context.tr.gettext(
                    "Thank you! Your rating of {name} is saved. Only the administrators can see who gave it.",
                    name=name,
                )
            )
        else:
            replies.toast(context.tr.gettext("This rating is already saved."), alert=True)
    await replies.deliver(update, context)


async def press_keep(update: Update, context: BotContext) -> None:
    """The rater keeps the earlier rating; nothing changes."""
    replies = Replies()
    replies.edit(context.tr.gettext("Your earlier rating stays as it was."))
    await replies.deliver(update, context)


@on_press(RateNow, who=_rater, expired=N_EXPIRED)
async def press_rate_now(press: Press[RateNow]) -> None:
    """The Rate button of a nudge."""
    await begin(press.session, press.context, press.viewer, press.replies)


@on_press(MuteNudges, who=_rater, expired=N_EXPIRED)
async def press_mute(press: Press[MuteNudges]) -> None:
    """No more nudges for this member."""
    member = press.viewer.member
    assert member is not None
    member.mute_nudges = True
    await members.save_member(session=press.session, member=member)
    press.replies.edit(press.tr.gettext("You will get no more reminders to rate. /rate still works any time."))


TEXT_STEPS = {STEP_SEARCH: ask_search, STEP_COMMENT: ask_comment}


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    return [
        CallbackQueryHandler(press_form, pattern=rating_form.PATTERN),
        CommandHandler(RATE.name, cmd_rate),
        CallbackQueryHandler(press_kind, pattern=ChooseKind.pattern()),
        CallbackQueryHandler(press_page, pattern=TargetPage.pattern()),
        CallbackQueryHandler(press_target, pattern=PickTarget.pattern()),
        CallbackQueryHandler(press_rate_now, pattern=RateNow.pattern()),
        CallbackQueryHandler(press_keep, pattern=KeepRating.pattern()),
        CallbackQueryHandler(press_stop_choosing, pattern=StopChoosing.pattern()),
        CallbackQueryHandler(press_mute, pattern=MuteNudges.pattern()),
    ]
