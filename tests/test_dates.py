"""Working days and typed due dates."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.clock import ManualClock
from bot.config import Settings
from bot.dates import DateProblem, parse_due_date
from bot.workdays import WorkCalendar, missing_schedule
from storage.session import Database
from tests.conftest import running_bot

CN = WorkCalendar("CN")
TODAY = dt.date(2026, 9, 28)  # a Monday before the National Day holidays


def test_weekends_holidays_and_make_up_days() -> None:
    assert CN.is_working_day(dt.date(2026, 9, 28))
    assert not CN.is_working_day(dt.date(2026, 9, 27)), "an ordinary Sunday"
    assert CN.is_working_day(dt.date(2026, 9, 20)), "a Sunday that is a make-up working day (调休)"
    assert not CN.is_working_day(dt.date(2026, 10, 1)), "National Day"
    assert CN.is_working_day(dt.date(2026, 10, 10)), "a Saturday that is a make-up working day"


def test_extra_holidays_and_workdays_from_the_config() -> None:
    calendar = WorkCalendar("CN", extra_holidays=[dt.date(2026, 9, 28)], extra_workdays=[dt.date(2026, 9, 27)])

    assert not calendar.is_working_day(dt.date(2026, 9, 28))
    assert calendar.is_working_day(dt.date(2026, 9, 27))


def test_a_campaign_year_without_an_official_schedule_is_warned_of() -> None:
    known = missing_schedule(WorkCalendar("CN"), dt.date(2026, 5, 1), dt.date(2026, 12, 31))
    unknown = missing_schedule(WorkCalendar("CN"), dt.date(2027, 5, 1), dt.date(2027, 12, 31))

    assert known is None
    assert unknown is not None
    assert "no official schedule for CN 2027" in unknown and "up to 2026" in unknown
    assert "pip install -U holidays" in unknown


def test_no_schedule_warning_where_the_config_lists_the_year_or_the_country_moves_no_days() -> None:
    by_hand = WorkCalendar("CN", extra_workdays=[dt.date(2027, 2, 20)])

    assert missing_schedule(by_hand, dt.date(2027, 5, 1), dt.date(2027, 12, 31)) is None
    assert missing_schedule(WorkCalendar("US"), dt.date(2027, 5, 1), dt.date(2027, 12, 31)) is None


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_start_up_warns_of_a_campaign_year_without_an_official_calendar(
    settings: Settings, db: Database, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    campaign = settings.campaign.model_copy(update={"starts": dt.date(2027, 5, 1), "ends": dt.date(2027, 12, 31)})
    next_year = settings.model_copy(update={"campaign": campaign})

    with caplog.at_level(logging.WARNING, logger="bot.app"):
        async with running_bot(next_year, db, clock, flood_limits=False):
            pass

    (warning,) = [record.getMessage() for record in caplog.records if "official schedule" in record.getMessage()]
    assert "no official schedule for CN 2027" in warning and "upgrade the holidays package" in warning


def test_counting_working_days_across_the_golden_week() -> None:
    assert CN.add_working_days(dt.date(2026, 9, 30), 1) == dt.date(2026, 10, 8)
    assert CN.working_days_between(dt.date(2026, 9, 28), dt.date(2026, 10, 12)) == 6
    assert CN.working_days_between(dt.date(2026, 10, 12), dt.date(2026, 9, 28)) == -6


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-05", dt.date(2026, 12, 5)),
        ("2026/12/5", dt.date(2026, 12, 5)),
        ("12-05", dt.date(2026, 12, 5)),
        ("12/5", dt.date(2026, 12, 5)),
        ("12月5日", dt.date(2026, 12, 5)),
        ("2026年12月5日", dt.date(2026, 12, 5)),
        ("5 Dec", dt.date(2026, 12, 5)),
        ("Dec 5", dt.date(2026, 12, 5)),
        ("december 5, 2027", dt.date(2027, 12, 5)),
        ("01-10", dt.date(2027, 1, 10)),
        ("today", TODAY),
        ("明天", dt.date(2026, 9, 29)),
        ("后天", dt.date(2026, 9, 30)),
        ("+3d", dt.date(2026, 10, 1)),
        ("+3wd", dt.date(2026, 10, 8)),
        ("+5 工作日", dt.date(2026, 10, 10)),
    ],
)
def test_dates_as_people_type_them(text: str, expected: dt.date) -> None:
    assert parse_due_date(text, today=TODAY, calendar=CN) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [("2026-09-27", "past"), ("soon", "unreadable"), ("2026-02-30", "no_such_day"), ("13/45", "no_such_day"),
     ("02-29", "no_such_day"), ("31 Apr", "no_such_day"), ("+9999d", "far"), ("", "unreadable"), ("<b>", "unreadable")],
)  # fmt: skip
def test_bad_dates_are_refused(text: str, reason: str) -> None:
    with pytest.raises(DateProblem) as caught:
        parse_due_date(text, today=TODAY, calendar=CN)
    assert caught.value.reason == reason


def test_a_leap_day_without_a_year_is_the_next_one() -> None:
    assert parse_due_date("02-29", today=dt.date(2027, 12, 1), calendar=CN) == dt.date(2028, 2, 29)


@given(st.text(max_size=40))
def test_any_text_is_a_date_or_a_date_problem(text: str) -> None:
    try:
        day = parse_due_date(text, today=TODAY, calendar=CN)
    except DateProblem:
        return
    assert TODAY <= day <= TODAY + dt.timedelta(days=3 * 366)
