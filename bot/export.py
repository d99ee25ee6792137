"""The results as files: an XLSX workbook (a sheet for sections, one for individuals) and a CSV with the same rows.

Per target and period: rank, score (as /ranking shows it), the score before deductions, the deductions and why, the
raters, the mean of each rater group and each standard, the public reviews, and for sections the participation (the
share of the section's members who rated in the period). Used by /export and `python -m bot export`.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import Settings
from bot.i18n import N_, Translator
from bot.labels import label_name
from storage import campaigns, ratings, scoring
from storage.models import Period, PeriodKind, RaterGroup, TargetKind
from storage.scoring import Standing, shown

GROUPS = (RaterGroup.INDUSTRY, RaterGroup.INTERNAL, RaterGroup.PUBLIC)
GROUP_NAMES = {
    RaterGroup.INDUSTRY: N_("Industry"),
    RaterGroup.INTERNAL: N_("Internal"),
    RaterGroup.PUBLIC: N_("Public"),
}
KIND_NAMES = {TargetKind.SECTION: N_("section"), TargetKind.MEMBER: N_("member")}
PERIOD_ORDER = {PeriodKind.CAMPAIGN: 0, PeriodKind.QUARTER: 1, PeriodKind.MONTH: 2}
CAMPAIGN = "campaign"  # the latest campaign, as a period asked for
# A month (2026-06, 2026-6), a quarter (2026-Q2, 2026Q2, 2026-q2) or a campaign's year (2026), as typed.
TYPED_PERIOD = re.compile(r"(?P<year>\d{4})(?:-(?P<month>\d{1,2})|-?[Qq](?P<quarter>[1-4]))?")


@dataclass(frozen=True)
class ExportRow:
    period: str
    kind: TargetKind
    name: str
    section: str
    standing: Standing
    participation: tuple[int, int] | None  # (rated, members), sections only


def period_code(period: Period) -> str:
    """2026-06, 2026-Q2 or 2026: how periods are named on the command line and in the files."""
    if period.kind == PeriodKind.MONTH:
        return f"{period.starts_on:%Y-%m}"
    if period.kind == PeriodKind.QUARTER:
        return f"{period.starts_on.year}-Q{(period.starts_on.month - 1) // 3 + 1}"
    return str(period.starts_on.year)


async def chosen_periods(session: AsyncSession, wanted: str | None) -> list[Period]:
    """Every period (campaign, quarters, months) when nothing is wanted, else the one named: a month (2026-06), a
    quarter (2026-Q2), a campaign by its year (2026) or the latest campaign ("campaign"). Raises NoSuchPeriod, which
    names the periods there are, when there is no such period."""
    periods: list[Period] = []
    for kind in (PeriodKind.CAMPAIGN, PeriodKind.QUARTER, PeriodKind.MONTH):
        periods += await campaigns.list_all_periods(session=session, kind=kind)
    if not wanted or not wanted.strip():
        return periods
    code = typed_period(wanted)
    if code == CAMPAIGN:
        found = [p for p in periods if p.kind == PeriodKind.CAMPAIGN][-1:]
    else:
        found = [p for p in periods if period_code(p) == code]
    if not found:
        raise NoSuchPeriod(wanted, periods)
    return found


async def named_period(session: AsyncSession, wanted: str) -> Period:
    """The one period a typed text names (2026-10, 2026-Q4, 2026, campaign), for a board; raises NoSuchPeriod."""
    if not wanted.strip():
        raise NoSuchPeriod(wanted, await chosen_periods(session, None))
    return (await chosen_periods(session, wanted))[0]


def typed_period(text: str) -> str | None:
    """The code of the period a typed text names (2026-6 → 2026-06, 2026-q2 → 2026-Q2, 2026, campaign), or None
    when it names none."""
    text = text.strip()
    if text.lower() == CAMPAIGN:
        return CAMPAIGN
    match = TYPED_PERIOD.fullmatch(text)
    if match is None:
        return None
    year, month, quarter = match.group("year", "month", "quarter")
    if month is not None:
        return f"{year}-{int(month):02}"
    return f"{year}-Q{quarter}" if quarter is not None else year


def period_range(periods: list[Period], kind: PeriodKind) -> str:
    """The periods of that kind by their first and last, "2026-05 … 2026-12" (one alone: itself)."""
    codes = [period_code(period) for period in periods if period.kind == kind]
    if len(codes) <= 1:
        return "".join(codes)
    return f"{codes[0]} … {codes[-1]}" if kind != PeriodKind.CAMPAIGN else ", ".join(codes)


class NoSuchPeriod(ValueError):
    """The period asked for is none of the campaigns' (or the text names no period at all)."""

    def __init__(self, wanted: str, periods: list[Period]) -> None:
        self.wanted = wanted
        self.months = period_range(periods, PeriodKind.MONTH)
        self.quarters = period_range(periods, PeriodKind.QUARTER)
        self.years = period_range(periods, PeriodKind.CAMPAIGN)
        super().__init__(
            f"no period {wanted!r}; a period is a month ({self.months}), a quarter ({self.quarters}), a campaign's "
            f"year ({self.years}) or {CAMPAIGN} (the latest campaign)"
        )


async def export_rows(
    session: AsyncSession, settings: Settings, periods: list[Period], today: dt.date
) -> list[ExportRow]:
    """The rows of the periods begun by today (the later ones hold nothing yet)."""
    rules = settings.scoring_rules()
    rows: list[ExportRow] = []
    for period in (p for p in periods if p.starts_on <= today):
        shares = await ratings.participation(session=session, period=period)
        for kind in (TargetKind.SECTION, TargetKind.MEMBER):
            board = await scoring.compute_board(session=session, rules=rules, period=period, kind=kind, today=today)
            for standing in [*board.ranked, *board.unranked]:
                share = shares.get(standing.target_id, (0, 0)) if kind == TargetKind.SECTION else None
                rows.append(ExportRow(period_code(period), kind, standing.name, standing.section_name, standing, share))
    return rows


def headers(tr: Translator, settings: Settings, kind: TargetKind) -> list[str]:
    names: list[str] = [tr.gettext("Period"), tr.gettext("Name")]
    if kind == TargetKind.MEMBER:
        names.append(tr.gettext("Section"))
    names += [tr.gettext("Rank"), tr.gettext("Score"), tr.gettext("Before deductions"), tr.gettext("Deducted")]
    names += [tr.gettext("Raters")]
    if kind == TargetKind.SECTION:
        names += [tr.gettext("Working days overdue"), tr.gettext("Bad reviews not rectified")]
        for group in GROUPS:
            group_name = tr.gettext(GROUP_NAMES[group])
            names += [tr.gettext("{group} mean", group=group_name), tr.gettext("{group} raters", group=group_name)]
    names += [label_name(tr, standard) for standard in settings.campaign.standards]
    if kind == TargetKind.SECTION:
        names += [
            tr.gettext("Good reviews"),
            tr.gettext("Bad reviews"),
            tr.gettext("Rectified"),
            tr.gettext("Good-review rate"),
        ]
        names += [tr.gettext("Members who rated"), tr.gettext("Members"), tr.gettext("Participation")]
    return names


def _rounded(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def values(settings: Settings, row: ExportRow) -> list[object]:
    """The row's cells. Means of fewer raters than the minimum stay empty: they could be traced to the raters."""
    s = row.standing
    min_raters = settings.scoring.min_raters
    cells: list[object] = [row.period, row.name]
    if row.kind == TargetKind.MEMBER:
        cells.append(row.section)
    enough = s.enough
    cells += [s.rank, shown(s.score) if enough else None, _rounded(s.base, 2) if enough else None, s.deduction]
    cells += [s.raters]
    if row.kind == TargetKind.SECTION:
        cells += [s.overdue_days, s.unrectified]
        for group in GROUPS:
            scores = s.groups.get(group)
            shown_mean = _rounded(scores.mean, 3) if scores and scores.raters >= min_raters else None
            cells += [shown_mean, scores.raters if scores else 0]
    means = s.standard_means() if enough and s.standard_raters >= min_raters else {}
    cells += [_rounded(means.get(standard.key), 3) for standard in settings.campaign.standards]
    if row.kind == TargetKind.SECTION:
        cells += [s.good, s.bad, s.rectified, _rounded(s.good_rate, 3)]
        rated, members = row.participation or (0, 0)
        cells += [rated, members, round(rated / members, 3) if members else None]
    return cells


# A spreadsheet takes a cell that starts with one of these for a formula (or its start): a member or section named
# `=HYPERLINK(...)` must stay a name. Such text cells are written as text in both files.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def is_formula_like(value: object) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


def csv_cell(value: object) -> object:
    """The cell for the CSV: text that a spreadsheet would take for a formula gets a leading apostrophe, which
    spreadsheets read as "this is text" (OWASP's advice on CSV injection)."""
    if value is None:
        return ""
    return f"'{value}" if is_formula_like(value) else value


def workbook_bytes(tr: Translator, settings: Settings, rows: list[ExportRow]) -> bytes:
    from openpyxl import Workbook  # imported when a workbook is written: it adds seconds to every start-up

    book = Workbook()
    first = book.active
    assert first is not None
    book.remove(first)
    shares = {tr.gettext("Good-review rate"), tr.gettext("Participation")}
    for kind, title in ((TargetKind.SECTION, tr.gettext("Sections")), (TargetKind.MEMBER, tr.gettext("Individuals"))):
        sheet = book.create_sheet(title[:31])
        sheet.append(headers(tr, settings, kind))
        for row in rows:
            if row.kind == kind:
                sheet.append(values(settings, row))
                for cell in sheet[sheet.max_row]:
                    if is_formula_like(cell.value):  # openpyxl made a formula of it: make it text again
                        cell.data_type, cell.quotePrefix = "s", True
        sheet.freeze_panes = "C2"
        for column in sheet.iter_cols(min_row=1, max_row=1):
            if column[0].value in shares:  # 好评率 and participation as percentages, like the bot shows them
                for cell in sheet[column[0].column_letter][1:]:
                    cell.number_format = "0%"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def csv_bytes(tr: Translator, settings: Settings, rows: list[ExportRow]) -> bytes:
    """Both kinds in one table, sections first, with a column saying which; UTF-8 with a BOM for Excel."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    section_headers = headers(tr, settings, TargetKind.SECTION)
    writer.writerow([tr.gettext("Kind"), *section_headers[:2], tr.gettext("Section"), *section_headers[2:]])
    for row in rows:
        cells = values(settings, row)
        if row.kind == TargetKind.MEMBER:
            cells = _as_section_columns(settings, cells)
        else:
            cells = [*cells[:2], row.name, *cells[2:]]
        writer.writerow([tr.gettext(KIND_NAMES[row.kind]), *map(csv_cell, cells)])
    return buffer.getvalue().encode("utf-8-sig")


def _as_section_columns(settings: Settings, cells: list[object]) -> list[object]:
    """A member's cells laid out in the sections' columns (the columns only sections have stay empty)."""
    standards = len(settings.campaign.standards)
    period, name, section, rank, score, base, deducted, raters = cells[:8]
    group_cells: list[object] = [None] * (2 + 2 * len(GROUPS))
    return [period, name, section, rank, score, base, deducted, raters, *group_cells, *cells[8 : 8 + standards]]
