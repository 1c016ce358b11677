"""Reads for the calendar pages: a year as twelve month grids."""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

from hotline.calendars import services
from hotline.calendars.models import DayOverride

HOLIDAY = "holiday"  # a day off: a holiday, a weekday taken off in lieu, an override
ADJUSTED = "adjusted"  # a Saturday or Sunday worked (调休上班)
WEEKEND = "weekend"
WORKDAY = "workday"


@dataclass(frozen=True)
class Cell:
    day: dt.date
    kind: str
    name: str = ""
    # A date override (DayOverride) that decides this day whatever the notice says.
    override: bool = False


@dataclass(frozen=True)
class Month:
    number: int
    weeks: list[list[Cell | None]]  # Monday first; None pads the first and last week


@dataclass(frozen=True)
class YearGrid:
    year: int
    months: list[Month]
    holidays: int  # days off that are not ordinary weekends
    adjusted: int
    working: int


def _kind(day: dt.date, working: bool) -> str:
    weekend = day.weekday() >= 5
    if working:
        return ADJUSTED if weekend else WORKDAY
    return WEEKEND if weekend else HOLIDAY


def _grid(year: int, cells: dict[dt.date, Cell]) -> YearGrid:
    months = []
    for number in range(1, 13):
        weeks = [[cells[day] if day.month == number else None for day in week]
                 for week in calendar.Calendar(firstweekday=0).monthdatescalendar(year, number)]
        months.append(Month(number, weeks))
    values = list(cells.values())
    return YearGrid(year, months, holidays=sum(c.kind == HOLIDAY for c in values),
                    adjusted=sum(c.kind == ADJUSTED for c in values),
                    working=sum(c.kind in (WORKDAY, ADJUSTED) for c in values))


def current_year(year: int) -> YearGrid:
    """The year as deadlines count it now, every source applied."""
    cells = {}
    for info in services.days_info(dt.date(year, 1, 1), dt.date(year, 12, 31)):
        kind = _kind(info.day, info.working)
        if kind == WEEKEND and info.name:
            kind = HOLIDAY  # a weekend inside a holiday counts to the holiday
        cells[info.day] = Cell(info.day, kind, info.name, info.source == services.OVERRIDE)
    return _grid(year, cells)


def notice_preview(notice: services.NoticeData) -> YearGrid:
    """The year as ``notice`` would make it, date overrides still on top."""
    year = notice.year
    names = {}
    for holiday in notice.holidays:
        day = holiday.first_day
        while day <= holiday.last_day:
            names[day] = holiday.name
            day += dt.timedelta(days=1)
    workdays = set(notice.workdays)
    overrides = {row.date: row for row in DayOverride.objects.filter(date__year=year)}
    cells = {}
    day = dt.date(year, 1, 1)
    while day.year == year:
        if day in overrides:
            override = overrides[day]
            cells[day] = Cell(day, _kind(day, override.is_working_day), override.name, True)
        elif day in names:
            cells[day] = Cell(day, HOLIDAY, names[day])
        else:
            cells[day] = Cell(day, _kind(day, day in workdays or day.weekday() < 5))
        day += dt.timedelta(days=1)
    return _grid(year, cells)


def overrides_in(year: int) -> list[DayOverride]:
    return list(DayOverride.objects.filter(date__year=year))
