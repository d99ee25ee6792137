"""The one source of time, so that tests and the console can travel instead of sleeping."""

from __future__ import annotations

import datetime as dt


class Clock:
    """The real time, always aware (UTC)."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


class ManualClock(Clock):
    """Time that moves only when told to."""

    def __init__(self, start: dt.datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = start

    def now(self) -> dt.datetime:
        return self._now

    def set(self, moment: dt.datetime) -> None:
        if moment.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = moment

    def advance(self, delta: dt.timedelta) -> None:
        self._now += delta


class ShiftedClock(Clock):
    """The real time moved by an offset: the console's way to travel to a deadline and see the reminders."""

    def __init__(self) -> None:
        self._offset = dt.timedelta()

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self._offset

    def set(self, moment: dt.datetime) -> None:
        if moment.tzinfo is None:
            raise ValueError("ShiftedClock needs an aware datetime")
        self._offset = moment - dt.datetime.now(dt.UTC)
