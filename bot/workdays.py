"""Working days: weekends, public holidays and make-up working days (调休) of the configured country.

The `holidays` library keeps the official calendars (China's make-up weekend workdays included); config.toml can
add holidays and make-up days of its own.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable
from importlib import metadata

import holidays

# How many years around a campaign's are looked at for the country's make-up working days.
SCHEDULE_WINDOW = 3


class WorkCalendar:
    def __init__(
        self, country: str, *, extra_holidays: Iterable[dt.date] = (), extra_workdays: Iterable[dt.date] = ()
    ) -> None:
        self.country = country
        self.extra_holidays = frozenset(extra_holidays)
        self.extra_workdays = frozenset(extra_workdays)

    @functools.lru_cache(maxsize=8)  # noqa: B019 - a calendar lives as long as the application
    def _official(self, year: int) -> holidays.HolidayBase:
        return holidays.country_holidays(self.country, years=[year])

    def is_working_day(self, day: dt.date) -> bool:
        if day in self.extra_workdays:
            return True
        if day in self.extra_holidays:
            return False
        official = self._official(day.year)
        if day in official.weekend_workdays:
            return True
        return day.weekday() < 5 and day not in official

    def next_working_day(self, day: dt.date) -> dt.date:
        """The first working day after `day`."""
        day += dt.timedelta(days=1)
        while not self.is_working_day(day):
            day += dt.timedelta(days=1)
        return day

    def add_working_days(self, day: dt.date, count: int) -> dt.date:
        for _ in range(count):
            day = self.next_working_day(day)
        return day

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """Working days after `start` up to and including `end` (negative when `end` is earlier)."""
        if end < start:
            return -self.working_days_between(end, start)
        count, day = 0, start
        while day < end:
            day += dt.timedelta(days=1)
            count += self.is_working_day(day)
        return count


@functools.lru_cache(maxsize=16)
def shared_calendar(
    country: str, extra_holidays: tuple[dt.date, ...] = (), extra_workdays: tuple[dt.date, ...] = ()
) -> WorkCalendar:
    """One calendar per configuration, so that its holidays are looked up once a year, not once a call."""
    return WorkCalendar(country, extra_holidays=extra_holidays, extra_workdays=extra_workdays)


def missing_schedule(calendar: WorkCalendar, first: dt.date, last: dt.date) -> str | None:
    """A warning when the installed `holidays` release has no official schedule for a year from `first` to `last`
    of a country that moves working days every year (China's 调休), and config.toml adds none of that year's days;
    None when every year is known. Such a year's deadlines and reminders would count ordinary weekdays."""
    years = range(first.year, last.year + 1)
    scheduled = [year for year in range(first.year - SCHEDULE_WINDOW, last.year + 2) if _moves_days(calendar, year)]
    configured = {day.year for day in calendar.extra_workdays | calendar.extra_holidays}
    missing = [year for year in years if scheduled and year > max(scheduled) and year not in configured]
    if not missing:
        return None
    return (
        f"the working-day calendar has no official schedule for {calendar.country} "
        f"{', '.join(map(str, missing))} yet (holidays {metadata.version('holidays')} knows the make-up working days "
        f"up to {max(scheduled)}): deadlines and reminders count plain weekdays there. Once the year's schedule is "
        "published, upgrade the holidays package (pip install -U holidays, then bash scripts/lock), or list its days "
        "in config.toml [calendar] extra_holidays and extra_workdays"
    )


def _moves_days(calendar: WorkCalendar, year: int) -> bool:
    """Whether the official calendar of `year` has a weekend day made a working day."""
    return any(day.year == year for day in calendar._official(year).weekend_workdays)
