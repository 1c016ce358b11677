"""The two holiday libraries behind the working-day calendar, read-only.

``chinesecalendar`` carries the State Council's published notices (holidays
and adjusted working weekends) for the years it covers: official data.
``holidays`` (country CN) knows the statutory festivals of any year from
1950 to 2100, lunar dates included, and moves a festival that falls on a
weekend to the next weekday; where it carries a year's published notice it
has the adjusted working weekends too. Used for years ``chinesecalendar``
does not cover, it is only provisional: the real notice decides which
weekends are worked, and only an administrator's entry (or a new
``chinesecalendar`` release) makes the year certain.

No Django here: these answers never change while the process runs.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

import chinese_calendar
import holidays

CHINESECALENDAR = "chinesecalendar"
HOLIDAYS = "holidays"
WEEKDAYS = "weekdays"  # nothing knows the year: Monday to Friday


@dataclass(frozen=True)
class LibraryDay:
    working: bool
    source: str
    name: str = ""  # the festival's name on a day off for one


@lru_cache(maxsize=256)
def chinesecalendar_covers(year: int) -> bool:
    try:
        chinese_calendar.is_workday(dt.date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


@lru_cache(maxsize=256)
def _holidays_year(year: int) -> holidays.HolidayBase:
    return holidays.China(years=year, language="zh_CN")


def holidays_covers(year: int) -> bool:
    return len(_holidays_year(year)) > 0


def holidays_has_notice(year: int) -> bool:
    """Whether ``holidays`` carries the year's published substitutions
    (its adjusted working weekends), not only the statutory festivals."""
    from holidays.countries.china import ChinaStaticHolidays

    return year in ChinaStaticHolidays.special_public_holidays


def source_of(year: int) -> str:
    if chinesecalendar_covers(year):
        return CHINESECALENDAR
    if holidays_covers(year):
        return HOLIDAYS
    return WEEKDAYS


_SUFFIX = re.compile(r"[（(].*[）)]$")


def _festival_name(raw: str) -> str:
    # "春节（补假）" and "休息日（由 2026-02-14 调休）" name the day off, not the festival.
    return _SUFFIX.sub("", raw).strip()


_CHINESECALENDAR_NAMES = {holiday.value: holiday.chinese for holiday in chinese_calendar.Holiday}


@lru_cache(maxsize=8192)
def library_day(day: dt.date) -> LibraryDay:
    """The day as the best library for its year has it."""
    if chinesecalendar_covers(day.year):
        working = bool(chinese_calendar.is_workday(day))
        name = ""
        if not working:
            _, english = chinese_calendar.get_holiday_detail(day)
            name = _CHINESECALENDAR_NAMES.get(english, english or "")
        return LibraryDay(working, CHINESECALENDAR, name)
    if holidays_covers(day.year):
        calendar = _holidays_year(day.year)
        name = calendar.get(day) or ""
        return LibraryDay(bool(calendar.is_working_day(day)), HOLIDAYS, _festival_name(name.split(";")[0]))
    return LibraryDay(day.weekday() < 5, WEEKDAYS)


@dataclass(frozen=True)
class Range:
    name: str
    first_day: dt.date
    last_day: dt.date


def suggested_notice(year: int) -> tuple[list[Range], list[dt.date]]:
    """The year as the libraries have it, in the notice's own shape: each run
    of consecutive days off that holds a festival is one holiday range
    (weekends joined, as the notice counts them), and the worked weekends."""
    ranges: list[Range] = []
    run: list[tuple[dt.date, str]] = []
    workdays: list[dt.date] = []

    def close_run() -> None:
        names = Counter(name for _, name in run if name)
        if names:
            ranges.append(Range(names.most_common(1)[0][0], run[0][0], run[-1][0]))
        run.clear()

    day = dt.date(year, 1, 1)
    while day.year == year:
        info = library_day(day)
        if info.working:
            close_run()
            if day.weekday() >= 5:
                workdays.append(day)
        else:
            run.append((day, info.name))
        day += dt.timedelta(days=1)
    close_run()
    return ranges, workdays


def warm() -> None:
    """The libraries' tables for this year and the next (core.warmup): the
    holiday library's first year costs a request a fifth of a second."""
    from hotline.core import clock

    this_year = clock.now().year
    for year in (this_year, this_year + 1):
        source_of(year)
        _holidays_year(year)
