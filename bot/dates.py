"""Due dates typed the way people type them: 2026-12-05, 12-05, 12/5, 5 Dec, Dec 5, 12月5日, 今天, 明天, 后天,
+3d (days), +5wd (working days). A date that cannot be read, or lies in the past, is refused with examples."""

from __future__ import annotations

import datetime as dt
import re

from bot.i18n import N_
from bot.workdays import WorkCalendar

DATE_EXAMPLES = N_("For example: 2026-12-05, 12-05, 5 Dec, tomorrow, +3d (days) or +5wd (working days).")

MONTHS = {name: number for number, names in enumerate(
    (("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",), ("jun", "june"),
     ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"), ("oct", "october"), ("nov", "november"),
     ("dec", "december")), start=1) for name in names}  # fmt: skip
RELATIVE_WORDS = {"today": 0, "今天": 0, "tomorrow": 1, "明天": 1, "后天": 2}
HORIZON = dt.timedelta(days=3 * 366)


class DateProblem(Exception):
    """The text is not a usable due date; `reason` is "unreadable", "no_such_day" (2026-02-30), "past" or "far"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def parse_due_date(text: str, *, today: dt.date, calendar: WorkCalendar) -> dt.date:
    day = _read(text.strip().lower(), today, calendar)
    if day is None:
        raise DateProblem("unreadable")
    if day < today:
        raise DateProblem("past")
    if day - today > HORIZON:
        raise DateProblem("far")
    return day


def _read(text: str, today: dt.date, calendar: WorkCalendar) -> dt.date | None:
    if text in RELATIVE_WORDS:
        return today + dt.timedelta(days=RELATIVE_WORDS[text])
    if match := re.fullmatch(r"\+\s*(\d{1,4})\s*(d|wd|天|个工作日|工作日)", text):
        count = int(match.group(1))
        if match.group(2) in {"wd", "个工作日", "工作日"}:
            return calendar.add_working_days(today, count)
        return today + dt.timedelta(days=count)
    if match := re.fullmatch(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?", text):
        return _date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    if match := re.fullmatch(r"(\d{1,2})[-/.月](\d{1,2})日?", text):
        return _this_or_next_year(today, int(match.group(1)), int(match.group(2)))
    if match := re.fullmatch(r"(\d{1,2})\s+([a-z]+)\.?(?:\s+(\d{4}))?", text):
        return _named(today, match.group(2), int(match.group(1)), match.group(3))
    if match := re.fullmatch(r"([a-z]+)\.?\s+(\d{1,2})(?:,?\s+(\d{4}))?", text):
        return _named(today, match.group(1), int(match.group(2)), match.group(3))
    return None


def _date(year: int, month: int, day: int) -> dt.date:
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise DateProblem("no_such_day") from None


def _this_or_next_year(today: dt.date, month: int, day: int) -> dt.date:
    """A day without a year is the next such day: in December, "01-10" means next January (and "02-29" the next
    leap day within a year)."""
    candidates: list[dt.date] = []
    for year in (today.year, today.year + 1):
        try:
            candidates.append(dt.date(year, month, day))
        except ValueError:
            continue
    if not candidates:
        raise DateProblem("no_such_day")
    return next((candidate for candidate in candidates if candidate >= today), candidates[0])


def _named(today: dt.date, month_name: str, day: int, year: str | None) -> dt.date | None:
    month = MONTHS.get(month_name)
    if month is None:
        return None
    return _date(int(year), month, day) if year else _this_or_next_year(today, month, day)
