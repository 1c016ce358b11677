"""Natural and working time: PRC public holidays with adjusted working
weekends (调休), from the sources below in this order (the first that knows
a date decides it):

1. a single-date override (``DayOverride``, the Django admin);
2. the year's State Council notice as an administrator entered it
   (``YearNotice``): the year is *entered*;
3. ``chinesecalendar``, the published notices: the year is *official*;
4. ``holidays`` (CN), the statutory festivals of any year 1950-2100: the
   year is *provisional* -- which weekends are worked is only known once
   the notice is out;
5. Monday to Friday, for a year no library knows: also *provisional*.

A provisional year is never silent: it is logged, ``year_status`` says so,
and administrators and shift leaders see a banner (context_processors).

Deadline rule for working days: a limit of N working days that starts on a
working day ends at the same time of day on the N-th following working day.
A start on a non-working day counts from 00:00 of the next working day, so
the limit ends at 24:00 of the N-th working day (00:00 of the day after it).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from hotline.calendars import sources
from hotline.calendars.models import DayOverride, NoticeHoliday, NoticeWorkday, YearNotice
from hotline.core import audit, cache, clock

log = logging.getLogger(__name__)


class DurationUnit:
    MINUTES = "minutes"
    HOURS = "hours"
    CALENDAR_DAYS = "calendar_days"
    WORKING_DAYS = "working_days"

    ALL = (MINUTES, HOURS, CALENDAR_DAYS, WORKING_DAYS)


class YearStatus:
    ENTERED = "entered"  # an administrator entered the State Council notice
    OFFICIAL = "official"  # chinesecalendar carries the published notice
    PROVISIONAL = "provisional"  # only the holidays library, or nothing

    ALL = (ENTERED, OFFICIAL, PROVISIONAL)


# Where a day's answer came from (DayInfo.source).
OVERRIDE = "override"
NOTICE = "notice"

# How far ahead the next year's notice is asked for (the State Council
# publishes it in November or December).
NEXT_YEAR_WARNING_DAYS = 60

_warned_years: set[int] = set()


@dataclass(frozen=True)
class _NoticeDays:
    off: dict[dt.date, str]  # day -> holiday name
    on: frozenset[dt.date]

    def working(self, day: dt.date) -> bool:
        return day in self.on or (day.weekday() < 5 and day not in self.off)


def _load_notices() -> dict[int, _NoticeDays]:
    off: dict[int, dict[dt.date, str]] = {year: {} for year in YearNotice.objects.values_list("year", flat=True)}
    on: dict[int, set[dt.date]] = {year: set() for year in off}
    for year, name, first, last in NoticeHoliday.objects.values_list("notice__year", "name", "first_day", "last_day"):
        day = first
        while day <= last:
            off[year][day] = name
            day += dt.timedelta(days=1)
    for year, day in NoticeWorkday.objects.values_list("notice__year", "date"):
        on[year].add(day)
    return {year: _NoticeDays(off[year], frozenset(on[year])) for year in off}


def _notices() -> dict[int, _NoticeDays]:
    # One notice a year, a few dozen rows: all of them, cached like the overrides.
    return cache.get("calendar-notices", _load_notices)


def _library_working_day(day: dt.date) -> bool:
    info = sources.library_day(day)
    if info.source != sources.CHINESECALENDAR and day.year not in _warned_years:
        _warned_years.add(day.year)
        if info.source == sources.HOLIDAYS:
            log.warning("calendar %s is provisional: statutory holidays from the holidays library, adjusted "
                        "working weekends unknown until an administrator enters the State Council notice", day.year)
        else:
            log.warning("no holiday data for %s; assuming Monday-Friday until an administrator enters "
                        "the State Council notice", day.year)
    return info.working


def _base_working_day(day: dt.date, notices: dict[int, _NoticeDays]) -> bool:
    notice = notices.get(day.year)
    if notice is not None:
        return notice.working(day)
    return _library_working_day(day)


def year_status(year: int) -> str:
    """``entered``, ``official`` or ``provisional`` (see YearStatus)."""
    if year in _notices():
        return YearStatus.ENTERED
    if sources.chinesecalendar_covers(year):
        return YearStatus.OFFICIAL
    return YearStatus.PROVISIONAL


def year_source(year: int) -> str:
    """Which source decides the year's days (overrides aside): ``notice``,
    ``chinesecalendar``, ``holidays`` or ``weekdays``."""
    return NOTICE if year in _notices() else sources.source_of(year)


def provisional_years(today: dt.date) -> list[int]:
    """The years that need a notice now: this year, and next year from
    NEXT_YEAR_WARNING_DAYS before it starts, while provisional."""
    years = [today.year]
    if (dt.date(today.year + 1, 1, 1) - today).days <= NEXT_YEAR_WARNING_DAYS:
        years.append(today.year + 1)
    return [year for year in years if year_status(year) == YearStatus.PROVISIONAL]


@dataclass(frozen=True)
class DayInfo:
    day: dt.date
    working: bool
    source: str  # override, notice, chinesecalendar, holidays, weekdays
    name: str = ""


def days_info(start: dt.date, end: dt.date) -> list[DayInfo]:
    """Each day from ``start`` to ``end``: worked or not, which source says so
    and the holiday's name."""
    overrides = {row.date: row for row in DayOverride.objects.filter(date__range=(start, end))}
    notices = _notices()
    out = []
    day = start
    while day <= end:
        override, notice = overrides.get(day), notices.get(day.year)
        if override is not None:
            out.append(DayInfo(day, override.is_working_day, OVERRIDE, override.name))
        elif notice is not None:
            out.append(DayInfo(day, notice.working(day), NOTICE, notice.off.get(day, "")))
        else:
            library = sources.library_day(day)
            out.append(DayInfo(day, _library_working_day(day), library.source, library.name))
        day += dt.timedelta(days=1)
    return out


def _all_overrides() -> dict[dt.date, bool]:
    # A handful of rows a year: read them all, cached for a few seconds.
    return cache.get("calendar-overrides", lambda: dict(DayOverride.objects.values_list("date", "is_working_day")))


def _overrides(start: dt.date, end: dt.date) -> dict[dt.date, bool]:
    return {d: w for d, w in _all_overrides().items() if start <= d <= end}


def is_working_day(day: dt.date) -> bool:
    override = _overrides(day, day)
    if day in override:
        return override[day]
    return _base_working_day(day, _notices())


def working_days_between(start: dt.date, end: dt.date) -> list[dt.date]:
    """Working days d with start <= d <= end."""
    overrides = _overrides(start, end)
    notices = _notices()
    out = []
    day = start
    while day <= end:
        working = overrides[day] if day in overrides else _base_working_day(day, notices)
        if working:
            out.append(day)
        day += dt.timedelta(days=1)
    return out


def next_working_day(day: dt.date) -> dt.date:
    """The first working day after ``day``."""
    probe = day + dt.timedelta(days=1)
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
        return _combine(local.date() + dt.timedelta(days=int(amount)), local.time())
    if unit == DurationUnit.WORKING_DAYS:
        return _add_working_days(start, int(amount))
    raise ValueError(f"unknown duration unit {unit!r}")


def _combine(day: dt.date, time_of_day: dt.time) -> dt.datetime:
    # The center's (current) time zone.
    return timezone.make_aware(dt.datetime.combine(day, time_of_day))


def _add_working_days(start: dt.datetime, n: int) -> dt.datetime:
    local = timezone.localtime(start)
    day = local.date()
    time_of_day = local.time()
    if not is_working_day(day):
        day = next_working_day(day)
        time_of_day = dt.time.min
    if n == 0:
        return _combine(day, time_of_day)
    # Windows of days one after the other until they hold n working days
    # (a long closure entered by the administrator can empty several).
    days: list[dt.date] = []
    last = day
    while len(days) < n:
        first, last = last + dt.timedelta(days=1), last + dt.timedelta(days=n * 3 + 40)
        days += working_days_between(first, last)
    return _combine(days[n - 1], time_of_day)



# --- a year's State Council notice -------------------------------------------------

# The longest holiday of any notice so far is ten days (2020); a longer range
# is more likely a mistyped month than a real holiday.
MAX_HOLIDAY_DAYS = 15
YEAR_RANGE = (2000, 2100)


@dataclass(frozen=True)
class HolidayRange:
    name: str
    first_day: dt.date
    last_day: dt.date


@dataclass(frozen=True)
class NoticeData:
    year: int
    holidays: list[HolidayRange]
    workdays: list[dt.date]
    reference: str = ""

    def as_detail(self) -> dict:
        return {"year": self.year, "reference": self.reference,
                "holidays": [{"name": h.name, "first_day": h.first_day.isoformat(), "last_day": h.last_day.isoformat()}
                             for h in self.holidays],
                "workdays": [day.isoformat() for day in sorted(self.workdays)]}


@dataclass(frozen=True)
class NoticeProblem:
    """One thing wrong in a notice: ``field`` is ``year``, ``holidays`` (with
    ``index`` into NoticeData.holidays and ``part`` name/first_day/last_day,
    or neither for the list as a whole) or ``workdays``."""
    field: str
    message: str
    index: int | None = None
    part: str | None = None


class NoticeInvalid(ValidationError):
    def __init__(self, problems: list[NoticeProblem]):
        self.problems = problems
        super().__init__([problem.message for problem in problems])


WEEKDAY_NAMES = (gettext_lazy("Monday"), gettext_lazy("Tuesday"), gettext_lazy("Wednesday"), gettext_lazy("Thursday"),
                 gettext_lazy("Friday"), gettext_lazy("Saturday"), gettext_lazy("Sunday"))


def _weekday_name(day: dt.date) -> str:
    return str(WEEKDAY_NAMES[day.weekday()])


def validate_notice(data: NoticeData, *, row_numbers: list[int] | None = None) -> list[NoticeProblem]:
    """Everything wrong with ``data``, each message naming its field.
    ``row_numbers`` are the holiday rows as the user sees them (1-based)."""
    rows = row_numbers or list(range(1, len(data.holidays) + 1))
    problems: list[NoticeProblem] = []
    year = data.year
    if not YEAR_RANGE[0] <= year <= YEAR_RANGE[1]:
        return [NoticeProblem("year", _("Year: enter a year from %(min)d to %(max)d.")
                              % {"min": YEAR_RANGE[0], "max": YEAR_RANGE[1]})]
    if not data.holidays:
        problems.append(NoticeProblem("holidays", _("Holidays: enter at least one holiday (name, first day, last day).")))
    labels = {"first_day": _("First day"), "last_day": _("Last day"), "name": _("Holiday name")}
    sound: list[tuple[int, HolidayRange]] = []
    for index, holiday in enumerate(data.holidays):
        row = rows[index]
        ok = True
        if not holiday.name.strip():
            problems.append(NoticeProblem("holidays", _("Holiday %(row)d, %(field)s: enter the holiday's name.")
                                          % {"row": row, "field": labels["name"]}, index, "name"))
        for part in ("first_day", "last_day"):
            day = getattr(holiday, part)
            if day.year != year:
                ok = False
                problems.append(NoticeProblem(
                    "holidays", _("Holiday %(row)d, %(field)s: %(date)s is not in %(year)d.")
                    % {"row": row, "field": labels[part], "date": day.isoformat(), "year": year}, index, part))
        if not ok:
            continue
        if holiday.last_day < holiday.first_day:
            problems.append(NoticeProblem(
                "holidays", _("Holiday %(row)d, %(field)s: %(last)s is before the first day %(first)s.")
                % {"row": row, "field": labels["last_day"], "last": holiday.last_day.isoformat(),
                   "first": holiday.first_day.isoformat()}, index, "last_day"))
            continue
        length = (holiday.last_day - holiday.first_day).days + 1
        if length > MAX_HOLIDAY_DAYS:
            problems.append(NoticeProblem(
                "holidays", _("Holiday %(row)d, %(field)s: the holiday would last %(days)d days; "
                              "a notice's holiday lasts at most %(max)d.")
                % {"row": row, "field": labels["last_day"], "days": length, "max": MAX_HOLIDAY_DAYS},
                index, "last_day"))
            continue
        sound.append((index, holiday))
    sound.sort(key=lambda item: item[1].first_day)
    for (index_a, a), (index_b, b) in zip(sound, sound[1:]):
        if b.first_day <= a.last_day:
            problems.append(NoticeProblem(
                "holidays", _("Holiday %(row)d, %(field)s: %(first)s overlaps holiday %(other)d (%(name)s, %(a)s to %(b)s).")
                % {"row": rows[index_b], "field": labels["first_day"], "first": b.first_day.isoformat(),
                   "other": rows[index_a], "name": a.name, "a": a.first_day.isoformat(), "b": a.last_day.isoformat()},
                index_b, "first_day"))
    workdays_label = _("Adjusted working days")
    seen: set[dt.date] = set()
    for day in data.workdays:
        args = {"field": workdays_label, "date": day.isoformat(), "year": year}
        if day in seen:
            problems.append(NoticeProblem("workdays", _("%(field)s: %(date)s is entered twice.") % args))
            continue
        seen.add(day)
        if day.year != year:
            problems.append(NoticeProblem("workdays", _("%(field)s: %(date)s is not in %(year)d.") % args))
            continue
        if day.weekday() < 5:
            problems.append(NoticeProblem(
                "workdays", _("%(field)s: %(date)s is a %(weekday)s; an adjusted working day is a Saturday or Sunday.")
                % {**args, "weekday": _weekday_name(day)}))
            continue
        inside = next(((i, h) for i, h in sound if h.first_day <= day <= h.last_day), None)
        if inside is not None:
            problems.append(NoticeProblem(
                "workdays", _("%(field)s: %(date)s falls inside holiday %(row)d (%(name)s).")
                % {**args, "row": rows[inside[0]], "name": inside[1].name}))
    return problems


def notice_data(year: int) -> NoticeData | None:
    """The entered notice of ``year``, or None."""
    notice = YearNotice.objects.filter(year=year).prefetch_related("holidays", "workdays").first()
    if notice is None:
        return None
    return NoticeData(year, [HolidayRange(h.name, h.first_day, h.last_day) for h in notice.holidays.all()],
                      [w.date for w in notice.workdays.all()], notice.reference)


def suggested_notice(year: int) -> NoticeData:
    """The entered notice, else the year as the libraries have it: a start
    for the administrator, who corrects it against the published notice."""
    entered = notice_data(year)
    if entered is not None:
        return entered
    ranges, workdays = sources.suggested_notice(year)
    return NoticeData(year, [HolidayRange(r.name, r.first_day, r.last_day) for r in ranges], workdays)


def save_notice(*, user, data: NoticeData) -> YearNotice:
    """Enter (or replace) ``year``'s notice: the year is then ``entered``.
    Raises NoticeInvalid, saving nothing, when the notice is wrong."""
    problems = validate_notice(data)
    if problems:
        raise NoticeInvalid(problems)
    with transaction.atomic():
        previous = notice_data(data.year)
        YearNotice.objects.filter(year=data.year).delete()
        notice = YearNotice.objects.create(year=data.year, reference=data.reference.strip(),
                                           entered_by=user if getattr(user, "pk", None) else None,
                                           entered_at=clock.now())
        NoticeHoliday.objects.bulk_create(NoticeHoliday(notice=notice, name=h.name.strip(), first_day=h.first_day,
                                                        last_day=h.last_day) for h in data.holidays)
        NoticeWorkday.objects.bulk_create(NoticeWorkday(notice=notice, date=day) for day in sorted(set(data.workdays)))
        # bulk_create sends no signals: tell every process here.
        cache.bump()
        detail = data.as_detail()
        detail["replaced"] = previous.as_detail() if previous else None
        detail["was"] = sources.source_of(data.year) if previous is None else NOTICE
        audit.record(user=user, action="calendar_notice", obj=("calendar_year", data.year), detail=detail)
    log.info("calendar %s: State Council notice entered (%d holidays, %d adjusted working days)",
             data.year, len(data.holidays), len(data.workdays))
    return notice
