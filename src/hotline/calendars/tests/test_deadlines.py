import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from hotline.calendars.models import DayOverride
from hotline.calendars.services import DurationUnit, add_duration, is_working_day, next_working_day

SH = ZoneInfo("Asia/Shanghai")
pytestmark = pytest.mark.django_db


def at(*args):
    return dt.datetime(*args, tzinfo=SH)


def test_adjusted_working_weekend_is_a_working_day():
    assert is_working_day(dt.date(2026, 10, 10))  # Saturday, worked for National Day
    assert is_working_day(dt.date(2025, 9, 28))  # Sunday, worked for National Day 2025
    assert not is_working_day(dt.date(2026, 10, 1))
    assert not is_working_day(dt.date(2026, 10, 11))  # ordinary Sunday


def test_five_working_days_accepted_the_day_before_national_day_2026():
    # Oct 1-7 off, Sat Oct 10 worked: Oct 8, 9, 10, 12, 13.
    due = add_duration(at(2026, 9, 30, 10, 0), 5, DurationUnit.WORKING_DAYS)
    assert due == at(2026, 10, 13, 10, 0)


def test_five_working_days_accepted_the_day_before_national_day_2025():
    # 2025: Oct 1-8 off, Sat Oct 11 worked: Oct 9, 10, 11, 13, 14.
    due = add_duration(at(2025, 9, 30, 16, 30), 5, DurationUnit.WORKING_DAYS)
    assert due == at(2025, 10, 14, 16, 30)


def test_five_minutes_accepted_at_2358_crosses_midnight():
    due = add_duration(at(2026, 11, 22, 23, 58), 5, DurationUnit.MINUTES)
    assert due == at(2026, 11, 23, 0, 3)


def test_working_day_limit_starting_on_a_holiday_counts_from_next_working_day():
    # Oct 3 2026 is a holiday: counting starts Oct 8 00:00; 1 working day ends Oct 9 00:00.
    assert add_duration(at(2026, 10, 3, 15, 0), 1, DurationUnit.WORKING_DAYS) == at(2026, 10, 9, 0, 0)
    assert add_duration(at(2026, 10, 3, 15, 0), 2, DurationUnit.WORKING_DAYS) == at(2026, 10, 10, 0, 0)


def test_working_day_starting_on_an_ordinary_weekend():
    # Saturday 2026-11-21 → Monday 23rd counts as the first day.
    assert add_duration(at(2026, 11, 21, 9, 0), 1, DurationUnit.WORKING_DAYS) == at(2026, 11, 24, 0, 0)


def test_one_working_day_on_friday_ends_monday_same_time():
    assert add_duration(at(2026, 11, 20, 17, 45), 1, DurationUnit.WORKING_DAYS) == at(2026, 11, 23, 17, 45)


def test_calendar_days_and_hours():
    assert add_duration(at(2026, 9, 30, 10, 0), 5, DurationUnit.CALENDAR_DAYS) == at(2026, 10, 5, 10, 0)
    assert add_duration(at(2026, 9, 30, 22, 0), 3, DurationUnit.HOURS) == at(2026, 10, 1, 1, 0)


def test_override_makes_a_day_off_and_a_day_on():
    monday = dt.date(2026, 11, 23)
    DayOverride.objects.create(date=monday, is_working_day=False, name="storm")
    assert not is_working_day(monday)
    assert add_duration(at(2026, 11, 20, 10, 0), 1, DurationUnit.WORKING_DAYS) == at(2026, 11, 24, 10, 0)
    DayOverride.objects.create(date=dt.date(2026, 11, 22), is_working_day=True)
    assert next_working_day(dt.date(2026, 11, 21)) == dt.date(2026, 11, 22)


def test_a_year_beyond_chinesecalendar_follows_the_holidays_library():
    # 2099: no notice anywhere, the statutory festivals still known (provisional).
    assert is_working_day(dt.date(2099, 6, 1))  # a Monday
    assert not is_working_day(dt.date(2099, 6, 6))  # a Saturday
    assert not is_working_day(dt.date(2099, 1, 1))  # New Year's Day, a Thursday


def test_bad_input_is_refused():
    with pytest.raises(ValueError):
        add_duration(dt.datetime(2026, 1, 1), 5, DurationUnit.MINUTES)
    with pytest.raises(ValueError):
        add_duration(at(2026, 1, 1), 5, "fortnights")
    with pytest.raises(ValueError):
        add_duration(at(2026, 1, 1), -1, DurationUnit.MINUTES)
