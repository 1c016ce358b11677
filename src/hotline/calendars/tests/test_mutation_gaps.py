"""Working-day rules that mutation testing (scripts/mutation) showed no test
checked: zero limits, a long closure entered by an administrator, and the
inclusive count of working days."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from hotline.calendars.models import DayOverride
from hotline.calendars.services import (DurationUnit, add_duration, is_working_day, next_working_day,
                                        working_days_between)

SH = ZoneInfo("Asia/Shanghai")
pytestmark = pytest.mark.django_db


def at(*args):
    return dt.datetime(*args, tzinfo=SH)


@pytest.mark.rule("D1i", "D1m")
def test_a_zero_limit_is_due_at_once_or_at_the_start_of_the_next_working_day():
    friday = at(2026, 11, 20, 10, 0)
    assert add_duration(friday, 0, DurationUnit.MINUTES) == friday  # "immediate"
    assert add_duration(friday, 0, DurationUnit.WORKING_DAYS) == friday
    saturday = at(2026, 11, 21, 10, 0)
    assert add_duration(saturday, 0, DurationUnit.WORKING_DAYS) == at(2026, 11, 23, 0, 0)
    with pytest.raises(ValueError):
        add_duration(friday, -1, DurationUnit.MINUTES)


@pytest.mark.rule("D1m")
def test_a_long_closure_entered_by_the_administrator_moves_every_working_day_deadline_past_it():
    first, last = dt.date(2026, 11, 21), dt.date(2027, 1, 31)  # 72 days off
    DayOverride.objects.bulk_create([DayOverride(date=first + dt.timedelta(days=i), is_working_day=False, name="closure")
                                     for i in range((last - first).days + 1)])
    reopening = dt.date(2027, 2, 1)
    assert is_working_day(reopening)
    assert next_working_day(first) == reopening
    assert add_duration(at(2026, 11, 20, 10, 0), 1, DurationUnit.WORKING_DAYS) == at(2027, 2, 1, 10, 0)
    assert add_duration(at(2026, 11, 20, 10, 0), 2, DurationUnit.WORKING_DAYS) == at(2027, 2, 2, 10, 0)


@pytest.mark.rule("D1m")
def test_working_days_between_counts_both_ends():
    monday, friday = dt.date(2026, 11, 23), dt.date(2026, 11, 27)
    assert working_days_between(monday, friday) == [monday + dt.timedelta(days=i) for i in range(5)]
    assert working_days_between(friday, friday) == [friday]
