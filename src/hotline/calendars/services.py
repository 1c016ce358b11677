"""Natural and working time: PRC public holidays with adjusted working
weekends (调休) from the ``chinesecalendar`` library, plus overrides.

Deadline rule for working days: a limit of N working days that starts on a
working day ends at the same time of day on the N-th following working day.
A start on a non-working day counts from 00:00 of the next working day, so
the limit ends at 24:00 of the N-th working day (00:00 of the day after it).
"""

from __future__ import annotations

import datetime as dt
import logging
from functools import lru_cache

import chinese_calendar
from django.utils import timezone

from hotline.calendars.models import DayOverride
from hotline.core import cache

log = logging.getLogger(__name__)


class DurationUnit:
    MINUTES = "minutes"
    HOURS = "hours"
    CALENDAR_DAYS = "calendar_days"
    WORKING_DAYS = "working_days"

    ALL = (MINUTES, HOURS, CALENDAR_DAYS, WORKING_DAYS)


_warned_years: set[int] = set()


@lru_cache(maxsize=8192)
def _library_working_day(day: dt.date) -> bool:
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        # Year not yet in the library: Monday to Friday until an
        # administrator enters the published schedule as overrides.
        if day.year not in _warned_years:
            _warned_years.add(day.year)
            log.warning("no holiday data for %s; assuming Monday-Friday unless overridden", day.year)
        return day.weekday() < 5


def _all_overrides() -> dict[dt.date, bool]:
    # A handful of rows a year: read them all, cached for a few seconds.
    return cache.get("calendar-overrides", lambda: dict(DayOverride.objects.values_list("date", "is_working_day")))


def _overrides(start: dt.date, end: dt.date) -> dict[dt.date, bool]:
    return {d: w for d, w in _all_overrides().items() if start <= d <= end}


def is_working_day(day: dt.date) -> bool:
    override = _overrides(day, day)
    if day in override:
        return override[day]
    return _library_working_day(day)


def working_days_between(start: dt.date, end: dt.date) -> list[dt.date]:
    """Working days d with start <= d <= end."""
    overrides = _overrides(start, end)
    out = []
    day = start
    while day <= end:
        working = overrides[day] if day in overrides else _library_working_day(day)
        if working:
            out.append(day)
        day += dt.timedelta(days=1)
    return out


def next_working_day(day: dt.date, *, include_self: bool = False) -> dt.date:
    probe = day if include_self else day + dt.timedelta(days=1)
    for _ in range(10):
        window = working_days_between(probe, probe + dt.timedelta(days=40))
        if window:
            return window[0]
        probe += dt.timedelta(days=41)
    raise RuntimeError("no working day within 400 days; check calendar overrides")


def add_duration(start: dt.datetime, amount: int | float, unit: str) -> dt.datetime:
    """The deadline ``amount`` units after ``start`` (aware datetime)."""
    if timezone.is_naive(start):
        raise ValueError("add_duration needs an aware datetime")
    if amount < 0:
        raise ValueError("a time limit cannot be negative")
    if unit == DurationUnit.MINUTES:
        return start + dt.timedelta(minutes=amount)
    if unit == DurationUnit.HOURS:
        return start + dt.timedelta(hours=amount)
    if unit == DurationUnit.CALENDAR_DAYS:
        # Calendar days are wall-clock days in the center's time zone.
        local = timezone.localtime(start)
        return _combine(local.date() + dt.timedelta(days=int(amount)), local.timetz().replace(tzinfo=None), start)
    if unit == DurationUnit.WORKING_DAYS:
        return _add_working_days(start, int(amount))
    raise ValueError(f"unknown duration unit {unit!r}")


def _combine(day: dt.date, time_of_day: dt.time, like: dt.datetime) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, time_of_day), timezone.get_current_timezone())


def _add_working_days(start: dt.datetime, n: int) -> dt.datetime:
    local = timezone.localtime(start)
    day = local.date()
    time_of_day = local.time().replace(tzinfo=None)
    if not is_working_day(day):
        day = next_working_day(day)
        time_of_day = dt.time(0, 0)
    if n == 0:
        return _combine(day, time_of_day, start)
    horizon = day + dt.timedelta(days=n * 3 + 40)
    days = working_days_between(day + dt.timedelta(days=1), horizon)
    while len(days) < n:
        more_from = (days[-1] if days else horizon) + dt.timedelta(days=1)
        days += working_days_between(more_from, more_from + dt.timedelta(days=n * 3 + 40))
    return _combine(days[n - 1], time_of_day, start)

