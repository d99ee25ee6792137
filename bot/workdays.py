"""Working days: weekends, public holidays and make-up working days (调休) of the configured country.

The `holidays` library keeps the official calendars (China's make-up weekend workdays included); config.toml can
add holidays and make-up days of its own.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable

import holidays


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
