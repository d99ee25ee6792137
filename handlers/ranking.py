"""Scores in chat: /ranking (sections or individuals, a period chosen with buttons, paged, with the movement since
the last snapshot), /myscore, /sectionscore and /awards.

The boards come from the tallies (storage/scoring.py), so a board costs the same however many ratings there are.
Groups see names only, never @-mentions. Breakdowns by rater group and standard are shown only where enough people
rated for nobody's rating to be guessed.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatType
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot import export
from bot.access import ANY_CHAT, PRIVATE, Audience, CommandSpec
from bot.callbacks import CallbackData
from bot.config import Settings
from bot.context import BotContext, CampaignReader
from bot.export import GROUP_NAMES
from bot.i18n import N_, Translator, escape
from bot.labels import label_name
from handlers.common import (
    Refusal,
    Replies,
    Viewer,
    app_button,
    button,
    chat_type,
    existing_section,
    load_viewer,
    navigation_row,
    paged_buttons,
    require,
    sender,
)
from handlers.presses import Press, allowed, anyone, on_press
from storage import campaigns, groups, scoring, sections, snapshots, tasks
from storage.models import Period, PeriodKind, RaterGroup, Section, TargetKind, sort_name
from storage.scoring import Board, Standing, shown

SCORE_READERS = frozenset({Audience.STAFF, Audience.HEAD, Audience.LEADER, Audience.ADMIN})
LEADERS_AND_ADMINS = frozenset({Audience.LEADER, Audience.ADMIN})
RANKING = CommandSpec(
    "ranking",
    N_("The campaign's leaderboard; /ranking 2026-10 for one month"),
    SCORE_READERS | {Audience.INDUSTRY},
    ANY_CHAT,
    takes_arguments=True,
)
MYSCORE = CommandSpec("myscore", N_("Your score and your section's"), SCORE_READERS, PRIVATE, needs_section=True)
SECTIONSCORE = CommandSpec(
    "sectionscore",
    N_("A section's score in detail"),
    frozenset({Audience.HEAD, *LEADERS_AND_ADMINS}),
    PRIVATE,
    takes_arguments=True,
)
AWARDS = CommandSpec("awards", N_("The campaign's awards and the sections with problems"), LEADERS_AND_ADMINS, PRIVATE)
COMMANDS = (RANKING, MYSCORE, SECTIONSCORE, AWARDS)
PER_PAGE = 15
N_OWN_SECTION_ONLY = N_("Heads see their own section's score; leaders see every section's.")
APART_NAMES = 30  # "not enough ratings yet" names this many, then counts the rest
PERIOD_KIND_NAMES = {
    PeriodKind.MONTH: N_("Month"),
    PeriodKind.QUARTER: N_("Quarter"),
    PeriodKind.CAMPAIGN: N_("Campaign"),
}


@dataclass(frozen=True)
class RankView(CallbackData):
    """A board: sections or individuals, a period (0: the current one of that kind), a page."""

    PREFIX = "rk"
    target: TargetKind
    period_kind: PeriodKind
    period_id: int
    page: int


@dataclass(frozen=True)
class MyScoreView(CallbackData):
    PREFIX = "ms"
    period_kind: PeriodKind
    period_id: int


@dataclass(frozen=True)
class SectionScoreView(CallbackData):
    PREFIX = "ss"
    section_id: int
    period_kind: PeriodKind
    period_id: int


@dataclass(frozen=True)
class SectionChoices(CallbackData):
    PREFIX = "ssp"
    page: int


# --- texts ----------------------------------------------------------------------------------------------------------


def period_label(tr: Translator, period: Period) -> str:
    if period.kind == PeriodKind.MONTH:
        return f"{period.starts_on:%Y-%m}"
    if period.kind == PeriodKind.QUARTER:
        return tr.gettext(
            "{year} Q{quarter}", year=period.starts_on.year, quarter=(period.starts_on.month - 1) // 3 + 1
        )
    return tr.gettext("the {year} campaign", year=period.starts_on.year)


def movement(tr: Translator, target_id: int, rank: int | None, previous: dict[int, int] | None) -> str:
    """▲2, ▼1 or "new" against the last snapshot; nothing when unchanged or when there is nothing to compare."""
    if previous is None or rank is None:
        return ""
    before = previous.get(target_id)
    if before is None:
        return " " + tr.gettext("new")
    if before > rank:
        return f" ▲{before - rank}"
    if before < rank:
        return f" ▼{rank - before}"
    return ""


def shown_name(tr: Translator, standing: Standing) -> str:
    """The name on a board, escaped; a person's with their section."""
    if standing.kind == TargetKind.MEMBER:
        return tr.gettext("{name} ({section})", name=standing.name, section=standing.section_name)
    return escape(standing.name)


def review_figures(tr: Translator, standing: Standing) -> str:
    """好评率, and the bad reviews with how many are rectified when there are any."""
    if not standing.reviews:
        return ""
    rate = tr.gettext("good {rate}%", rate=round(100 * (standing.good_rate or 0)))
    if not standing.bad:
        return rate
    bad = tr.ngettext(
        "{n} bad review, {rectified} rectified",
        "{n} bad reviews, {rectified} rectified",
        standing.bad,
        rectified=standing.rectified,
    )
    return tr.gettext("{good}, {bad}", good=rate, bad=bad)


def standing_line(tr: Translator, standing: Standing, previous: dict[int, int] | None) -> str:
    move = movement(tr, standing.target_id, standing.rank, previous)
    parts = [
        f"{standing.rank}. {shown_name(tr, standing)} <b>{shown(standing.score)}</b>{move}",
        tr.ngettext("{n} rater", "{n} raters", standing.raters),
    ]
    figures = review_figures(tr, standing)
    if figures:
        parts.append(figures)
    return " · ".join(parts)


def apart_line(tr: Translator, board: Board) -> str:
    """The sections without enough ratings by name; the individuals, who are many, by number."""
    if not board.unranked:
        return ""
    if board.kind == TargetKind.MEMBER:
        return tr.ngettext(
            "{n} more person does not have enough ratings yet.",
            "{n} more people do not have enough ratings yet.",
            len(board.unranked),
        )
    names = tr.series(s.name for s in board.unranked[:APART_NAMES])
    more = len(board.unranked) - APART_NAMES
    if more > 0:
        names += tr.ngettext(" and {n} more", " and {n} more", more)
    return tr.gettext("Not enough ratings yet: {names}", names=names)


def board_title(tr: Translator, board: Board) -> str:
    if board.kind == TargetKind.SECTION:
        return tr.gettext("<b>Sections — {period}</b>", period=period_label(tr, board.period))
    return tr.gettext("<b>Individuals — {period}</b>", period=period_label(tr, board.period))


def render_board(tr: Translator, board: Board, previous: dict[int, int] | None, page: int) -> tuple[str, int, int]:
    """The text of one page of the board; (text, page, pages)."""
    pages = max(1, math.ceil(len(board.ranked) / PER_PAGE))
    page = min(max(page, 0), pages - 1)
    lines: list[str] = [board_title(tr, board)]
    lines += [standing_line(tr, s, previous) for s in board.ranked[page * PER_PAGE : (page + 1) * PER_PAGE]]
    if not board.ranked:
        lines.append(tr.gettext("Nobody has enough ratings yet in this period."))
    if page == pages - 1 and board.unranked:
        lines += ["", apart_line(tr, board)]
    return "\n".join(lines), page, pages


# --- access ---------------------------------------------------------------------------------------------------------


def may_see_individuals(settings: Settings, viewer: Viewer, where: str) -> bool:
    """Who may see the individual ranking is set in config.toml (leaders and admins by default); in the group,
    where everyone reads along, only when it is open to all staff."""
    allowed = settings.scoring.individual_ranking
    if where != ChatType.PRIVATE:
        return "staff" in allowed
    return viewer.audience.value in allowed


async def board_of(
    session: AsyncSession,
    reader: CampaignReader,
    period: Period,
    kind: TargetKind,
    standards_of: tuple[int, ...] | None = (),
) -> Board:
    """The board (one kept by the process, if still current); the per-standard means only of the targets in
    `standards_of` (a board lists scores only), of every target with None (computed afresh)."""
    if standards_of is None:
        return await scoring.compute_board(
            session=session, rules=reader.settings.scoring_rules(), period=period, kind=kind, today=reader.today()
        )
    return await reader.services.boards.board(
        session=session,
        rules=reader.settings.scoring_rules(),
        period=period,
        kind=kind,
        today=reader.today(),
        standards_of=standards_of,
    )


async def chosen_period(session: AsyncSession, reader: CampaignReader, kind: PeriodKind, period_id: int) -> Period:
    """The period a button names (checked: it exists and is of that kind), or the current one of the kind."""
    if period_id:
        period = await campaigns.get_period(session=session, period_id=period_id)
    else:
        period = await campaigns.period_at(session=session, kind=kind, today=reader.today())
    if period is None or period.kind != kind:
        raise Refusal(N_("There is no campaign period to show yet."))
    return period


def period_rows(
    tr: Translator,
    period: Period,
    earlier: Period | None,
    later: Period | None,
    pack: Callable[[PeriodKind, int], str],
) -> list[list[InlineKeyboardButton]]:
    """[Month] [Quarter] [Campaign], then ‹ earlier · later › within the kind."""
    kinds = [
        button(("✓ " if kind == period.kind else "") + tr.gettext(name), pack(kind, 0))
        for kind, name in PERIOD_KIND_NAMES.items()
    ]
    moves = []
    if earlier is not None:
        moves.append(button("‹ " + period_label(tr, earlier), pack(earlier.kind, earlier.id or 0)))
    if later is not None:
        moves.append(button(period_label(tr, later) + " ›", pack(later.kind, later.id or 0)))
    return [kinds, moves] if moves else [kinds]


async def neighbours(
    session: AsyncSession, reader: CampaignReader, period: Period
) -> tuple[Period | None, Period | None]:
    """The periods before and after, the future ones aside (nobody has rated in them yet)."""
    if period.kind == PeriodKind.CAMPAIGN:
        return None, None
    later = await campaigns.neighbour(session=session, period=period, step=1)
    if later is not None and later.starts_on > reader.today():
        later = None
    return await campaigns.neighbour(session=session, period=period, step=-1), later


# --- /ranking -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Leaderboard:
    """A board as /ranking shows it to one viewer, read in one go: what the chat's message and the Mini App's page
    (web/miniapp.py) are both made from."""

    period: Period
    board: Board
    previous: dict[int, int] | None  # ranks in the period's last snapshot, for the movements
    earlier: Period | None
    later: Period | None
    individuals: bool  # the viewer may switch to the individuals' board


async def read_ranking(
    session: AsyncSession, reader: CampaignReader, viewer: Viewer, view: RankView, where: str
) -> Leaderboard:
    """The board a viewer asked for, where they asked (a chat's type); refused as /ranking refuses it."""
    individuals = may_see_individuals(reader.settings, viewer, where)
    if view.target == TargetKind.MEMBER and not individuals:
        raise Refusal(
            N_("The ranking of individuals is for the campaign leaders.")
            if where == ChatType.PRIVATE
            else N_("The ranking of individuals is not shown in groups. Ask me in private.")
        )
    period = await chosen_period(session, reader, view.period_kind, view.period_id)
    board = await board_of(session, reader, period, view.target)
    before = await snapshots.previous_ranks(session=session, period_id=period.id or 0, kind=view.target)
    earlier, later = await neighbours(session, reader, period)
    return Leaderboard(period, board, before, earlier, later, individuals)


def target_choices(tr: Translator) -> tuple[tuple[TargetKind, str], ...]:
    return ((TargetKind.SECTION, tr.gettext("Sections")), (TargetKind.MEMBER, tr.gettext("Individuals")))


async def ranking_view(
    session: AsyncSession, context: BotContext, viewer: Viewer, view: RankView, where: str
) -> tuple[str, InlineKeyboardMarkup]:
    leaderboard = await read_ranking(session, context, viewer, view, where)
    tr, period, target = context.tr, leaderboard.period, view.target
    text, page, pages = render_board(tr, leaderboard.board, leaderboard.previous, view.page)
    rows: list[list[InlineKeyboardButton]] = []
    if leaderboard.individuals:
        rows.append(
            [
                button(("✓ " if target == kind else "") + label, RankView(kind, period.kind, period.id or 0, 0).pack())
                for kind, label in target_choices(tr)
            ]
        )
    rows += period_rows(
        tr, period, leaderboard.earlier, leaderboard.later, lambda kind, pid: RankView(target, kind, pid, 0).pack()
    )
    if pages > 1:
        rows.append(
            navigation_row(tr, page, pages, lambda number: RankView(target, period.kind, period.id or 0, number).pack())
        )
    app_url = context.settings.web.ranking_app_url()
    if where == ChatType.PRIVATE and app_url:
        rows.append([app_button(tr.gettext("Open as a board"), app_url)])
    return text, InlineKeyboardMarkup(rows)


def board_kind(settings: Settings) -> PeriodKind:
    """The period the posted snapshots show (config.toml [snapshots] board), so that /ranking's movements are
    measured against them."""
    return (
        PeriodKind.CAMPAIGN if settings.snapshots.board == "campaign" else PeriodKind(settings.campaign.rating_period)
    )


def default_view(context: BotContext) -> RankView:
    return RankView(TargetKind.SECTION, board_kind(context.settings), 0, 0)


async def require_ranking_chat(session: AsyncSession, viewer: Viewer, update: Update) -> None:
    """/ranking in private, or in the campaign group; never in another group the bot happens to be in."""
    require(viewer, RANKING, chat_type(update))
    if chat_type(update) == ChatType.PRIVATE:
        return
    group = await groups.get_campaign_group(session=session)
    chat = update.effective_chat
    if group is None or chat is None or chat.id != group.chat_id:
        raise Refusal(N_("The leaderboard is shown only in the campaign group. Ask me in private."))


async def cmd_ranking(update: Update, context: BotContext) -> None:
    """The sections' board of the period the snapshots show; buttons switch to individuals and other periods."""
    replies = Replies()
    async with context.db.transaction() as session:
        viewer = await load_viewer(session=session, context=context, user=sender(update))
        await require_ranking_chat(session, viewer, update)
        view = await wanted_view(session, context, " ".join(context.args or [])[:40])
        replies.reply(*await ranking_view(session, context, viewer, view, chat_type(update)))
    await replies.deliver(update, context)


async def wanted_view(session: AsyncSession, context: BotContext, wanted: str) -> RankView:
    """The sections' board of the period typed after /ranking (2026-10, 2026-Q4, 2026, campaign), or the default."""
    if not wanted:
        return default_view(context)
    try:
        period = await export.named_period(session, wanted)
    except export.NoSuchPeriod as error:
        raise Refusal(
            N_(
                "There is no period “{wanted}”. Send /ranking alone for the current board, or with a month "
                "({months}), a quarter ({quarters}) or a campaign's year ({years})."
            ),
            wanted=wanted,
            months=error.months,
            quarters=error.quarters,
            years=error.years,
        ) from None
    return RankView(TargetKind.SECTION, period.kind, period.id or 0, 0)


async def _ranking_viewer(session: AsyncSession, context: BotContext, update: Update) -> Viewer:
    viewer = await anyone(session, context, update)
    await require_ranking_chat(session, viewer, update)
    return viewer


@on_press(RankView, who=_ranking_viewer, default=default_view)
async def press_ranking(press: Press[RankView]) -> None:
    press.replies.edit(
        *await ranking_view(press.session, press.context, press.viewer, press.data, chat_type(press.update))
    )


# --- /myscore and /sectionscore -------------------------------------------------------------------------------------


def score_summary(tr: Translator, standing: Standing, board: Board, min_raters: int) -> str:
    if not standing.enough:  # how many rated so far is not said: each rating would show as it came
        return tr.gettext(
            "Not enough ratings yet: a score is shown once at least {needed} people of one rater group have rated.",
            needed=min_raters,
        )
    return tr.gettext(
        "<b>{score}</b> of 100 · rank {rank} of {count} · {raters}",
        score=shown(standing.score),
        rank=standing.rank,
        count=len(board.ranked),
        raters=tr.ngettext("{n} rater", "{n} raters", standing.raters),
    )


def breakdown_lines(tr: Translator, settings: Settings, standing: Standing) -> list[str]:
    """Per rater group and per standard (1–5), where enough people rated; deductions and reviews for sections."""
    min_raters = settings.scoring.min_raters
    lines: list[str] = []
    if not standing.enough:
        return lines  # a breakdown of fewer ratings than the minimum could be guessed back to the raters
    groups = [  # a group of fewer raters than the minimum is not on the board at all (storage.scoring._add_rows)
        tr.gettext(
            "{group} {mean} ({n})", group=tr.gettext(GROUP_NAMES[group]), mean=f"{scores.mean:.2f}", n=scores.raters
        )
        for group, scores in sorted(standing.groups.items())
        if scores.mean is not None and scores.raters >= min_raters
    ]
    if groups and standing.kind == TargetKind.SECTION:
        lines.append(tr.gettext("By rater group (1–5): {groups}", groups=" · ".join(groups)))
    means = standing.standard_means() if standing.standard_raters >= min_raters else {}
    named = [
        f"{label_name(tr, standard)} {means[standard.key]:.2f}"
        for standard in settings.campaign.standards
        if standard.key in means
    ]
    if named:
        lines.append(tr.gettext("By standard (1–5): {standards}", standards=" · ".join(named)))
    figures = review_figures(tr, standing)
    if figures:
        lines.append(tr.gettext("Public reviews: {figures}", figures=figures))
    if standing.deduction:
        lines.append(
            tr.gettext(
                "Deducted {points} points: {why}.",
                points=f"{standing.deduction:g}",
                why=deduction_reasons(tr, standing),
            )
        )
    return lines


def deduction_reasons(tr: Translator, standing: Standing) -> str:
    reasons = []
    if standing.overdue_days:
        reasons.append(tr.ngettext("{n} working day overdue", "{n} working days overdue", standing.overdue_days))
    if standing.unrectified:
        reasons.append(
            tr.ngettext("{n} bad review not rectified", "{n} bad reviews not rectified", standing.unrectified)
        )
    return tr.series(reasons)


def standing_block(
    tr: Translator, settings: Settings, heading: str, standing: Standing | None, board: Board
) -> list[str]:
    lines = [heading]
    if standing is None:
        lines.append(tr.gettext("Not on this board."))
        return lines
    lines.append(score_summary(tr, standing, board, settings.scoring.min_raters))
    return lines + breakdown_lines(tr, settings, standing)


async def myscore_view(
    session: AsyncSession, context: BotContext, viewer: Viewer, kind: PeriodKind, period_id: int
) -> tuple[str, InlineKeyboardMarkup | None]:
    tr, settings, member = context.tr, context.settings, viewer.member
    period = await chosen_period(session, context, kind, period_id)
    lines: list[str] = [tr.gettext("<b>Scores — {period}</b>", period=period_label(tr, period))]
    if member is not None and member.role in scoring.SCORED_ROLES:
        people = await board_of(session, context, period, TargetKind.MEMBER, (member.id or 0,))
        lines += ["", *standing_block(tr, settings, tr.gettext("<b>You</b>"), people.find(member.id or 0), people)]
    if member is not None and member.section_id is not None:
        board = await board_of(session, context, period, TargetKind.SECTION, (member.section_id,))
        standing = board.find(member.section_id)
        heading = f"<b>{escape(standing.name)}</b>" if standing else tr.gettext("<b>Your section</b>")
        lines += ["", *standing_block(tr, settings, heading, standing, board)]
    if len(lines) == 1:
        return tr.gettext("You are not in a section, so there is no score of yours to show."), None
    lines += ["", tr.gettext("Raters are not named.")]
    earlier, later = await neighbours(session, context, period)
    rows = period_rows(tr, period, earlier, later, lambda k, pid: MyScoreView(k, pid).pack())
    return "\n".join(lines), InlineKeyboardMarkup(rows)


async def cmd_myscore(update: Update, context: BotContext) -> None:
    """The member's own score and their section's, in the current rating period."""
    replies = Replies()
    async with context.db.transaction() as session:
        viewer = await load_viewer(session=session, context=context, user=sender(update))
        require(viewer, MYSCORE, chat_type(update))
        kind = PeriodKind(context.settings.campaign.rating_period)
        replies.reply(*await myscore_view(session, context, viewer, kind, 0))
    await replies.deliver(update, context)


def _own_period_view(context: BotContext) -> MyScoreView:
    return MyScoreView(PeriodKind(context.settings.campaign.rating_period), 0)


@on_press(MyScoreView, who=allowed(MYSCORE), default=_own_period_view)
async def press_myscore(press: Press[MyScoreView]) -> None:
    view = await myscore_view(press.session, press.context, press.viewer, press.data.period_kind, press.data.period_id)
    press.replies.edit(*view)


def may_see_section(viewer: Viewer, section_id: int) -> bool:
    if viewer.audience in LEADERS_AND_ADMINS:
        return True
    return viewer.audience == Audience.HEAD and viewer.member is not None and viewer.member.section_id == section_id


async def sectionscore_view(
    session: AsyncSession, context: BotContext, viewer: Viewer, view: SectionScoreView
) -> tuple[str, InlineKeyboardMarkup]:
    if not may_see_section(viewer, view.section_id):
        raise Refusal(N_OWN_SECTION_ONLY)
    tr = context.tr
    section = await existing_section(session, view.section_id)
    period = await chosen_period(session, context, view.period_kind, view.period_id)
    board = await board_of(session, context, period, TargetKind.SECTION, (section.id or 0,))
    heading = tr.gettext("<b>{section} — {period}</b>", section=section.name, period=period_label(tr, period))
    lines = standing_block(tr, context.settings, heading, board.find(section.id or 0), board)
    lines += ["", tr.gettext("Raters are not named.")]
    earlier, later = await neighbours(session, context, period)
    rows = period_rows(tr, period, earlier, later, lambda k, pid: SectionScoreView(view.section_id, k, pid).pack())
    if viewer.audience in LEADERS_AND_ADMINS:
        rows.append([button(tr.gettext("‹ All sections"), SectionChoices(0).pack())])
    return "\n".join(lines), InlineKeyboardMarkup(rows)


async def section_choices(session: AsyncSession, context: BotContext, page: int) -> tuple[str, InlineKeyboardMarkup]:
    kind = PeriodKind(context.settings.campaign.rating_period)
    items = [
        (section.name, SectionScoreView(section.id or 0, kind, 0).pack())
        for section in await sections.list_sections(session=session)
    ]
    if not items:
        raise Refusal(N_("There are no sections yet."))
    rows = paged_buttons(context.tr, items, page, lambda number: SectionChoices(number).pack())
    return context.tr.gettext("Which section?"), InlineKeyboardMarkup(rows)


async def find_section(session: AsyncSession, name: str) -> Section | None:
    wanted = name.strip().casefold()
    return next((s for s in await sections.list_sections(session=session) if s.name.casefold() == wanted), None)


async def cmd_sectionscore(update: Update, context: BotContext) -> None:
    """Heads: their own section. Leaders and admins: a section chosen with buttons, or named after the command."""
    replies = Replies()
    async with context.db.transaction() as session:
        viewer = await load_viewer(session=session, context=context, user=sender(update))
        require(viewer, SECTIONSCORE, chat_type(update))
        kind = PeriodKind(context.settings.campaign.rating_period)
        named = " ".join(context.args or [])[:64]
        section = await find_section(session, named) if named else None
        if named and section is None:
            replies.reply(context.tr.gettext("No section is called “{name}”.", name=named))
        if viewer.audience == Audience.HEAD:
            own = viewer.member.section_id if viewer.member is not None else None
            if own is None:
                raise Refusal(N_("You are not in a section yet. Ask an administrator to put you in one."))
            if section is not None and section.id != own:
                raise Refusal(N_OWN_SECTION_ONLY)
            replies.reply(*await sectionscore_view(session, context, viewer, SectionScoreView(own, kind, 0)))
        elif section is not None:
            view = SectionScoreView(section.id or 0, kind, 0)
            replies.reply(*await sectionscore_view(session, context, viewer, view))
        else:
            replies.reply(*await section_choices(session, context, 0))
    await replies.deliver(update, context)


@on_press(SectionChoices, who=allowed(SECTIONSCORE), expired=N_OWN_SECTION_ONLY)
async def press_section_choices(press: Press[SectionChoices]) -> None:
    if press.viewer.audience not in LEADERS_AND_ADMINS:
        raise Refusal(N_OWN_SECTION_ONLY)
    press.replies.edit(*await section_choices(press.session, press.context, press.data.page))


@on_press(SectionScoreView, who=allowed(SECTIONSCORE), expired=N_OWN_SECTION_ONLY)
async def press_sectionscore(press: Press[SectionScoreView]) -> None:
    press.replies.edit(*await sectionscore_view(press.session, press.context, press.viewer, press.data))


# --- /awards --------------------------------------------------------------------------------------------------------


def tie_break_key(rule: str, standing: Standing) -> float:
    """Smaller first: how equal scores (to one decimal) are ordered, as config.toml [awards] tie_break says."""
    if rule == "industry":
        industry = standing.groups.get(RaterGroup.INDUSTRY)
        return -(industry.mean or 0) if industry else 0
    if rule == "public":
        return -(standing.good_rate or 0)
    if rule == "deductions":
        return standing.deduction
    return -standing.raters


def award_places(board: Board, places: int, rule: str) -> list[tuple[int, Standing]]:
    """The first `places` by score, then the tie-break; still equal after both, they share the place."""
    ordered = sorted(board.ranked, key=lambda s: (-(shown(s.score) or 0), tie_break_key(rule, s), sort_name(s.name)))
    awarded: list[tuple[int, Standing]] = []
    for position, standing in enumerate(ordered, start=1):
        if awarded:
            last_place, last = awarded[-1]
            same = shown(last.score) == shown(standing.score) and tie_break_key(rule, last) == tie_break_key(
                rule, standing
            )
            place = last_place if same else position
        else:
            place = 1
        if place > places:
            break
        awarded.append((place, standing))
    return awarded


async def problem_lines(session: AsyncSession, tr: Translator, board: Board, today: dt.date) -> list[str]:
    """Sections with overdue tasks still open, or bad reviews not rectified in the campaign."""
    overdue: dict[int, int] = {}
    for task in await tasks.list_overdue_tasks(session=session, today=today):
        overdue[task.section_id] = overdue.get(task.section_id, 0) + 1
    lines: list[str] = []
    for standing in sorted([*board.ranked, *board.unranked], key=lambda s: sort_name(s.name)):
        problems = []
        if late := overdue.get(standing.target_id, 0):
            problems.append(tr.ngettext("{n} overdue task", "{n} overdue tasks", late))
        if standing.unrectified:
            problems.append(
                tr.ngettext("{n} bad review not rectified", "{n} bad reviews not rectified", standing.unrectified)
            )
        if problems:
            lines.append(tr.gettext("• {section}: {problems}", section=standing.name, problems=tr.series(problems)))
    return lines


async def awards_text(session: AsyncSession, context: BotContext) -> str:
    tr, settings = context.tr, context.settings
    period = await chosen_period(session, context, PeriodKind.CAMPAIGN, 0)
    awards = settings.awards
    section_board = await board_of(session, context, period, TargetKind.SECTION)
    people_board = await board_of(session, context, period, TargetKind.MEMBER)
    lines: list[str] = [
        tr.gettext("<b>优质服务科室 · Excellent service sections — {period}</b>", period=period_label(tr, period))
    ]
    lines += award_lines(tr, award_places(section_board, awards.sections, awards.tie_break))
    lines += ["", tr.gettext("<b>优质服务个人 · Excellent service individuals</b>")]
    lines += award_lines(tr, award_places(people_board, awards.individuals, awards.tie_break))
    lines += ["", tr.gettext("<b>Sections with unresolved problems</b>")]
    lines += await problem_lines(session, tr, section_board, context.today()) or [tr.gettext("None.")]
    lines += [
        "",
        tr.gettext("Equal scores are decided by: {rule}.", rule=tr.gettext(TIE_BREAK_NAMES[awards.tie_break])),
    ]
    return "\n".join(lines)


TIE_BREAK_NAMES = {
    "raters": N_("more raters"),
    "industry": N_("the higher industry rating"),
    "public": N_("the higher good-review rate"),
    "deductions": N_("fewer points deducted"),
}


def award_lines(tr: Translator, places: list[tuple[int, Standing]]) -> list[str]:
    if not places:
        return [tr.gettext("Nobody has enough ratings yet.")]
    lines: list[str] = []
    for place, standing in places:
        lines.append(
            f"{place}. {shown_name(tr, standing)} <b>{shown(standing.score)}</b> · "
            + tr.ngettext("{n} rater", "{n} raters", standing.raters)
        )
    return lines


async def cmd_awards(update: Update, context: BotContext) -> None:
    """The campaign's awards by the configured places and tie-break, and the sections that must deal with problems."""
    replies = Replies()
    async with context.db.transaction() as session:
        viewer = await load_viewer(session=session, context=context, user=sender(update))
        require(viewer, AWARDS, chat_type(update))
        replies.reply(await awards_text(session, context))
    await replies.deliver(update, context)


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    return [
        CommandHandler(RANKING.name, cmd_ranking),
        CommandHandler(MYSCORE.name, cmd_myscore),
        CommandHandler(SECTIONSCORE.name, cmd_sectionscore),
        CommandHandler(AWARDS.name, cmd_awards),
        CallbackQueryHandler(press_ranking, pattern=RankView.pattern()),
        CallbackQueryHandler(press_myscore, pattern=MyScoreView.pattern()),
        CallbackQueryHandler(press_sectionscore, pattern=SectionScoreView.pattern()),
        CallbackQueryHandler(press_section_choices, pattern=SectionChoices.pattern()),
    ]
