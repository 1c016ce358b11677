"""Which source decides a day, and that a provisional year is never silent."""

import datetime as dt
import logging
from zoneinfo import ZoneInfo

import pytest

from hotline.calendars import services, sources
from hotline.calendars.models import DayOverride
from hotline.calendars.services import DurationUnit, YearStatus, add_duration, is_working_day

SH = ZoneInfo("Asia/Shanghai")
pytestmark = pytest.mark.django_db


def at(*args):
    return dt.datetime(*args, tzinfo=SH)


def notice_2027(**changes):
    # A stand-in for the 2027 notice, unlike the library on purpose:
    # Spring Festival Feb 5-12, Saturday Feb 20 worked; no Feb 9-10 in lieu elsewhere.
    data = {
        "year": 2027,
        "holidays": [services.HolidayRange("元旦", dt.date(2027, 1, 1), dt.date(2027, 1, 3)),
                     services.HolidayRange("春节", dt.date(2027, 2, 5), dt.date(2027, 2, 12))],
        "workdays": [dt.date(2027, 2, 20)],
        "reference": "国办发明电〔2026〕99号",
    }
    data.update(changes)
    return services.NoticeData(**data)


@pytest.mark.rule("D1m")
def test_2027_spring_festival_from_the_provisional_source_is_not_a_working_day():
    # chinesecalendar 1.11 stops at 2026; the holidays library knows the festival.
    assert not sources.chinesecalendar_covers(2027)
    for day in (5, 8, 9, 10):  # Eve (Fri), festival Mon, and the two weekdays in lieu of Sat/Sun
        assert not is_working_day(dt.date(2027, 2, day)), day
    assert is_working_day(dt.date(2027, 2, 4))
    assert is_working_day(dt.date(2027, 2, 11))
    info = services.days_info(dt.date(2027, 2, 8), dt.date(2027, 2, 8))[0]
    assert (info.working, info.source, info.name) == (False, sources.HOLIDAYS, "春节")


@pytest.mark.rule("D1m")
def test_adjusted_working_weekend_where_chinesecalendar_has_it():
    assert services.year_status(2026) == YearStatus.OFFICIAL
    assert services.year_source(2026) == sources.CHINESECALENDAR
    assert is_working_day(dt.date(2026, 2, 14))  # Saturday, worked for the Spring Festival
    assert is_working_day(dt.date(2026, 2, 28))  # Saturday
    assert is_working_day(dt.date(2026, 9, 20))  # Sunday, worked for National Day
    assert not is_working_day(dt.date(2026, 2, 21))  # an ordinary Saturday
    assert not is_working_day(dt.date(2026, 2, 20))  # Friday, in lieu of Feb 14


@pytest.mark.rule("D1m")
def test_adjusted_working_weekend_where_the_notice_is_entered(world):
    services.save_notice(user=world.admin, data=notice_2027())
    assert services.year_status(2027) == YearStatus.ENTERED
    assert is_working_day(dt.date(2027, 2, 20))  # Saturday in the notice
    assert not is_working_day(dt.date(2027, 2, 27))  # an ordinary Saturday


@pytest.mark.rule("D1m")
def test_an_entered_notice_wins_over_both_libraries(world):
    # Over holidays (2027): Feb 11-12 off as entered, though the library works them.
    assert is_working_day(dt.date(2027, 2, 11))
    services.save_notice(user=world.admin, data=notice_2027())
    assert not is_working_day(dt.date(2027, 2, 11))
    assert not is_working_day(dt.date(2027, 2, 12))
    # Only the notice counts now: the library's Labour Day in lieu (May 3-4) is gone.
    assert is_working_day(dt.date(2027, 5, 3))

    # Over chinesecalendar (2026): National Day to Oct 8, Oct 10 and Sep 20 not worked.
    services.save_notice(user=world.admin, data=services.NoticeData(
        2026, [services.HolidayRange("国庆节", dt.date(2026, 10, 1), dt.date(2026, 10, 8))], []))
    assert services.year_status(2026) == YearStatus.ENTERED
    assert not is_working_day(dt.date(2026, 10, 8))
    assert not is_working_day(dt.date(2026, 10, 10))
    assert not is_working_day(dt.date(2026, 9, 20))
    assert is_working_day(dt.date(2026, 2, 20))  # no Spring Festival in this (partial) notice

    # A single-date override still decides its day over the notice.
    DayOverride.objects.create(date=dt.date(2026, 10, 8), is_working_day=True, name="抢修保电")
    assert is_working_day(dt.date(2026, 10, 8))


@pytest.mark.rule("D1m")
def test_a_provisional_year_is_reported_and_logged(caplog):
    assert services.year_status(2027) == YearStatus.PROVISIONAL
    assert services.year_source(2027) == sources.HOLIDAYS
    services._warned_years.discard(2027)
    with caplog.at_level(logging.WARNING, logger="hotline.calendars.services"):
        is_working_day(dt.date(2027, 3, 1))
    assert any("2027" in r.getMessage() and "provisional" in r.getMessage() for r in caplog.records)
    # The next year is asked for from 60 days before it starts, this year always.
    assert services.provisional_years(dt.date(2026, 12, 1)) == [2027]
    assert services.provisional_years(dt.date(2026, 11, 2)) == [2027]
    assert services.provisional_years(dt.date(2026, 11, 1)) == []
    assert services.provisional_years(dt.date(2027, 3, 1)) == [2027]


@pytest.mark.rule("D1m")
def test_a_year_no_library_knows_falls_back_to_weekdays_and_is_provisional():
    assert services.year_source(2101) == sources.WEEKDAYS
    assert services.year_status(2101) == YearStatus.PROVISIONAL
    assert is_working_day(dt.date(2101, 1, 3))  # a Monday, New Year's Day unknown
    assert not is_working_day(dt.date(2101, 1, 1))  # a Saturday


@pytest.mark.rule("D1l", "D1m")
def test_working_days_across_the_2027_spring_festival_land_after_it(world):
    start = at(2027, 2, 4, 10, 0)  # Thursday, the day before the festival's eve
    # Provisional: Feb 5-10 off; Feb 11, 12, 15.
    assert add_duration(start, 3, DurationUnit.WORKING_DAYS) == at(2027, 2, 15, 10, 0)
    # Calendar days (the default) count the festival.
    assert add_duration(start, 3, DurationUnit.CALENDAR_DAYS) == at(2027, 2, 7, 10, 0)
    # With the notice entered: Feb 5-12 off, Sat Feb 20 worked: Feb 15, 16, 17, 18, 19, 20.
    services.save_notice(user=world.admin, data=notice_2027())
    assert add_duration(start, 6, DurationUnit.WORKING_DAYS) == at(2027, 2, 20, 10, 0)
    # Started inside the festival: from 00:00 of the first working day after it.
    assert add_duration(at(2027, 2, 8, 9, 0), 1, DurationUnit.WORKING_DAYS) == at(2027, 2, 16, 0, 0)


def test_the_library_suggests_the_notice_shape():
    ranges, workdays = sources.suggested_notice(2026)
    spring = next(r for r in ranges if r.name == "春节")
    assert (spring.first_day, spring.last_day) == (dt.date(2026, 2, 15), dt.date(2026, 2, 23))
    assert dt.date(2026, 2, 14) in workdays and dt.date(2026, 10, 10) in workdays
    ranges, workdays = sources.suggested_notice(2027)
    assert any(r.name == "春节" and r.first_day == dt.date(2027, 2, 5) for r in ranges)
    assert workdays == []
