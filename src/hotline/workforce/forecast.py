"""Forecast of offered calls and AHT per interval and queue (numbers only, no database).

Input is an :class:`IntervalStats` table -- interval start (naive local time,
Asia/Shanghai), queue, calls offered, average handle time in seconds -- at
15, 30 or 60 minutes, loaded from CSV (:func:`load_interval_csv`), xlsx
(:func:`load_interval_xlsx`) or built from arrays
(:meth:`IntervalStats.from_arrays`, e.g. from the call history).

Methods (``method=`` of :func:`forecast`):

``seasonal_naive``
    Each interval repeats the same interval one week earlier (several weeks
    back when the horizon is longer than a week, or that week was not
    observed).  The baseline every other method must beat.
``shape``
    Multiplicative day type x time of day: ``offered[day, i] = level x
    profile[type(day), i]``.  ``level`` is the current mean calls per
    ordinary day (each weekday weighted equally, last ``level_weeks``
    weeks); ``profile`` is the mean of ``offered[d, i] / level(d)`` over past
    days of that type (``level(d)`` the same level measured just before day
    d, so growth between then and now does not bias the profile).  Day types:
    Monday ... Sunday; ``holiday`` (PRC statutory holidays including the
    weekdays taken off in lieu -- ``chinese_calendar``), whose profile comes
    from every past holiday in the history; ``adjusted_workday`` (a Saturday
    or Sunday made a working day, 调休), forecast with the mean Monday-Friday
    profile.
``holt_winters``
    statsmodels' additive Holt-Winters (``ExponentialSmoothing``) with a
    one-week season, fitted on the last ``hw_weeks`` weeks (unobserved
    intervals filled with the seasonal-naive value); it knows nothing about
    holidays.

The AHT forecast is the same for every method: per time of day, the mean AHT
of the last ``level_weeks`` weeks weighted by the calls handled (so a quiet
interval's odd AHT counts little); where no calls were seen, the overall
weighted mean.

Known events are :class:`Uplift` (start, end, factor, queue or None) and
multiply the offered forecast of the intervals starting in [start, end).

:func:`backtest` runs every method from several rolling origins and reports
WAPE (sum |error| / sum actual) and MAE (mean absolute error in calls per
interval, overall and per time of day) so a planner can pick the method to
trust.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import warnings
from collections.abc import Iterable, Iterator, Sequence
import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import chinese_calendar
import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]
Method = Literal["seasonal_naive", "shape", "holt_winters"]
METHODS: tuple[Method, ...] = ("seasonal_naive", "shape", "holt_winters")
INTERVAL_CHOICES = (15, 30, 60)
DAY_TYPES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun", "holiday", "adjusted_workday")
MINUTE = np.timedelta64(1, "m")
DAY = np.timedelta64(1, "D")


class IntervalDataError(ValueError):
    """Bad interval statistics; the message names the row and column."""


# --------------------------------------------------------------------------- calendar


def day_type(day: dt.date) -> str:
    """``mon`` ... ``sun``, ``holiday`` (statutory, incl. in-lieu days) or ``adjusted_workday``.

    Outside the years ``chinese_calendar`` knows, the plain weekday.
    """
    weekday = DAY_TYPES[day.weekday()]
    try:
        off, name = chinese_calendar.get_holiday_detail(day)
        if chinese_calendar.is_in_lieu(day) or (off and name is not None):
            return "holiday"
        if day.weekday() >= 5 and chinese_calendar.is_workday(day):
            return "adjusted_workday"
    except NotImplementedError:
        # A year chinese_calendar does not know yet: the statutory holidays
        # from the ``holidays`` package (provisional: adjusted working
        # weekends appear there only once published).
        calendar = _provisional_year(day.year)
        if calendar is None:
            return weekday
        if day in calendar:
            return "holiday"
        if day.weekday() >= 5 and calendar.is_working_day(day):
            return "adjusted_workday"
    return weekday


@functools.lru_cache(maxsize=16)
def _provisional_year(year: int):
    import holidays

    try:
        return holidays.country_holidays("CN", years=year)
    except (NotImplementedError, KeyError):
        return None


def calendar_known(day: dt.date) -> bool:
    try:
        chinese_calendar.is_holiday(day)
    except NotImplementedError:
        return _provisional_year(day.year) is not None
    return True


# --------------------------------------------------------------------------- data


def _to_minute(value: Any) -> np.datetime64:
    return np.datetime64(value, "m")


@dataclass(frozen=True)
class IntervalStats:
    """Interval statistics: one row per (interval start, queue).

    ``start`` is datetime64[m] (naive local time), ``aht_seconds`` is NaN
    where nothing was handled.  Rows are sorted by queue then start.
    """

    start: NDArray[np.datetime64]
    queue: NDArray[np.str_]
    offered: FloatArray
    aht_seconds: FloatArray
    interval_minutes: int

    @classmethod
    def from_arrays(
        cls,
        start: ArrayLike,
        queue: ArrayLike | str,
        offered: ArrayLike,
        aht_seconds: ArrayLike,
        interval_minutes: int | None = None,
    ) -> IntervalStats:
        """Validate and sort; ``interval_minutes`` is inferred (15/30/60) when not given."""
        s = np.asarray(start, dtype="datetime64[m]").ravel()
        q = np.broadcast_to(np.asarray(queue, dtype=str), s.shape).copy()
        o = np.asarray(offered, dtype=float).ravel()
        h = np.asarray(aht_seconds, dtype=float).ravel()
        if not (s.size == q.size == o.size == h.size):
            raise IntervalDataError("start, queue, offered and aht_seconds must have the same length")
        rows = [
            (i + 1, {"start": (s[i], "start"), "queue": (q[i], "queue"), "offered": (o[i], "offered"),
                     "aht_seconds": (h[i], "aht_seconds")})
            for i in range(s.size)
        ]
        return _build(rows, interval_minutes, "row")

    def queues(self) -> list[str]:
        return sorted(set(self.queue.tolist()))

    def _pick(self, queue: str | None) -> str:
        names = self.queues()
        if queue is None:
            if len(names) != 1:
                raise ValueError(f"several queues {names}: say which one")
            return names[0]
        if queue not in names:
            raise ValueError(f"unknown queue {queue!r}; have {names}")
        return queue

    def series(self, queue: str | None = None) -> QueueSeries:
        """Whole days (midnight to midnight) of one queue; NaN where no row was given."""
        queue = self._pick(queue)
        mine = self.queue == queue
        start, offered, aht = self.start[mine], self.offered[mine], self.aht_seconds[mine]
        step = self.interval_minutes
        per_day = 1440 // step
        first = start.min().astype("datetime64[D]")
        last = start.max().astype("datetime64[D]")
        days = int((last - first) / DAY) + 1
        y = np.full(days * per_day, np.nan)
        a = np.full(days * per_day, np.nan)
        pos = ((start - first.astype("datetime64[m]")) / MINUTE).astype(np.int64) // step
        y[pos] = offered
        a[pos] = aht
        return QueueSeries(queue, first, step, y.reshape(days, per_day), a.reshape(days, per_day))


@dataclass
class QueueSeries:
    """One queue's statistics as whole days: ``offered[day, interval of day]`` (NaN = no row)."""

    queue: str
    first_day: np.datetime64  # datetime64[D]
    interval_minutes: int
    offered: FloatArray  # (days, per_day), NaN = not observed
    aht: FloatArray

    @property
    def per_day(self) -> int:
        return self.offered.shape[1]

    def dates(self, first: int = 0, count: int | None = None) -> list[dt.date]:
        n = self.offered.shape[0] - first if count is None else count
        base = (self.first_day + first * DAY).astype(dt.date)
        return [base + dt.timedelta(days=i) for i in range(n)]

    def truncate(self, origin: np.datetime64) -> QueueSeries:
        """History strictly before ``origin`` (datetime64[m]); later intervals become NaN."""
        step = self.interval_minutes
        n = int((origin - self.first_day.astype("datetime64[m]")) / MINUTE) // step
        if n <= 0:
            raise ValueError("no history before the forecast start")
        total = self.offered.size
        days = math.ceil(min(n, total) / self.per_day)
        y = self.offered.ravel()[: days * self.per_day].copy()
        a = self.aht.ravel()[: days * self.per_day].copy()
        y[n:] = np.nan
        a[n:] = np.nan
        return QueueSeries(self.queue, self.first_day, step, y.reshape(days, -1), a.reshape(days, -1))


# column name -> accepted header spellings (compared lower-case, stripped)
COLUMNS = {
    "start": ("start", "interval_start", "timestamp", "time", "datetime", "时间", "开始时间", "时段"),
    "queue": ("queue", "skill", "队列", "技能组"),
    "offered": ("offered", "calls", "calls_offered", "呼入量", "来电量"),
    "aht_seconds": ("aht_seconds", "aht", "平均处理时长"),
}


def _parse_time(value: Any) -> np.datetime64:
    if isinstance(value, np.datetime64):
        return value.astype("datetime64[m]")
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            raise ValueError("give local time without a time zone")
        return np.datetime64(value.replace(tzinfo=None), "m")
    if isinstance(value, dt.date):
        return np.datetime64(dt.datetime.combine(value, dt.time()), "m")
    if isinstance(value, str):
        text = value.strip().replace("/", "-")
        if not text:
            raise ValueError("empty")
        parsed = dt.datetime.fromisoformat(text)
        return _parse_time(parsed)
    raise ValueError(f"not a date-time: {value!r}")


def _parse_number(value: Any, *, allow_empty: bool) -> float:
    if value is None or (isinstance(value, str) and not value.strip()):
        if allow_empty:
            return math.nan
        raise ValueError("empty")
    if isinstance(value, bool):
        raise ValueError(f"not a number: {value!r}")
    x = float(value.strip().replace(",", "") if isinstance(value, str) else value)
    if isinstance(value, float | np.floating) and math.isnan(x) and allow_empty:
        return math.nan
    if not math.isfinite(x):
        raise ValueError(f"not a finite number: {value!r}")
    return x


def _build(rows: Iterable[tuple[int, dict[str, tuple[Any, str]]]], interval_minutes: int | None, what: str) -> IntervalStats:
    """rows: (row number, {column: (raw value, column label for messages)})."""
    starts: list[np.datetime64] = []
    queues: list[str] = []
    offered: list[float] = []
    aht: list[float] = []
    numbers: list[int] = []
    labels: dict[str, str] = {}
    for number, cells in rows:

        def fail(col: str, message: str, number: int = number, cells: dict = cells) -> IntervalDataError:
            return IntervalDataError(f"{what} {number}, column {cells[col][1]}: {message}")

        raw, _ = cells["start"]
        try:
            t = _parse_time(raw)
        except (ValueError, TypeError) as exc:
            raise fail("start", f"cannot read {raw!r} as a date-time ({exc})") from None
        q = cells["queue"][0] if "queue" in cells else "default"
        q = "" if q is None else str(q).strip()
        if not q:
            raise fail("queue", "empty queue name")
        try:
            o = _parse_number(cells["offered"][0], allow_empty=False)
        except (ValueError, TypeError) as exc:
            raise fail("offered", f"{exc}") from None
        if o < 0:
            raise fail("offered", f"negative calls offered ({o:g})")
        try:
            h = _parse_number(cells["aht_seconds"][0], allow_empty=True)
        except (ValueError, TypeError) as exc:
            raise fail("aht_seconds", f"{exc}") from None
        if math.isnan(h) and o > 0:
            raise fail("aht_seconds", "AHT missing for an interval with calls")
        if h < 0 or (h == 0 and o > 0):
            raise fail("aht_seconds", f"AHT must be > 0 seconds where calls were offered (got {h:g})")
        starts.append(t)
        queues.append(q)
        offered.append(o)
        aht.append(h if o > 0 else math.nan)
        numbers.append(number)
        labels.update({k: v[1] for k, v in cells.items()})
    if not starts:
        raise IntervalDataError("no data rows")
    s = np.array(starts, dtype="datetime64[m]")
    q = np.array(queues, dtype=str)
    num = np.array(numbers)
    order = np.lexsort((s, q))
    s, q, num = s[order], q[order], num[order]
    o, h = np.array(offered)[order], np.array(aht)[order]
    same_queue = q[1:] == q[:-1]
    dup = np.flatnonzero(same_queue & (s[1:] == s[:-1]))
    if dup.size:
        i = dup[0]
        raise IntervalDataError(
            f"{what} {num[i + 1]}, column {labels.get('start', 'start')}: interval {s[i + 1]} of queue {q[i]!r} "
            f"already given in {what} {num[i]}"
        )
    minutes = s.astype(np.int64)  # minutes since the epoch (local)
    if interval_minutes is None:
        diffs = np.diff(minutes)[same_queue]
        if diffs.size == 0:
            raise IntervalDataError("cannot infer the interval length from one row per queue; give interval_minutes")
        interval_minutes = int(diffs.min())
        if interval_minutes not in INTERVAL_CHOICES:
            i = int(np.flatnonzero(same_queue & (np.diff(minutes) == interval_minutes))[0]) + 1
            raise IntervalDataError(
                f"{what} {num[i]}, column {labels.get('start', 'start')}: only {interval_minutes} minutes after the "
                f"previous interval; intervals must be 15, 30 or 60 minutes"
            )
    elif interval_minutes not in INTERVAL_CHOICES:
        raise IntervalDataError(f"interval must be 15, 30 or 60 minutes, not {interval_minutes}")
    off = np.flatnonzero(minutes % interval_minutes)
    if off.size:
        i = off[0]
        raise IntervalDataError(
            f"{what} {num[i]}, column {labels.get('start', 'start')}: {s[i]} is not on a {interval_minutes}-minute boundary"
        )
    close = np.flatnonzero(same_queue & (np.diff(minutes) < interval_minutes))
    if close.size:
        i = close[0] + 1
        raise IntervalDataError(
            f"{what} {num[i]}, column {labels.get('start', 'start')}: {s[i]} overlaps the previous "
            f"{interval_minutes}-minute interval"
        )
    return IntervalStats(s, q, o, h, int(interval_minutes))


def _header_map(header: Sequence[Any]) -> dict[str, int]:
    found: dict[str, int] = {}
    for idx, name in enumerate(header):
        key = "" if name is None else str(name).strip().lower()
        for col, aliases in COLUMNS.items():
            if key in aliases:
                if col in found:
                    raise IntervalDataError(f"header row: two columns for {col!r} ({header[found[col]]!r}, {name!r})")
                found[col] = idx
    missing = [c for c in ("start", "offered", "aht_seconds") if c not in found]
    if missing:
        raise IntervalDataError(
            f"header row: missing column(s) {missing}; expected {{start, queue, offered, aht_seconds}} "
            f"(got {list(header)})"
        )
    return found


def _col_letter(idx: int) -> str:
    out = ""
    idx += 1
    while idx:
        idx, r = divmod(idx - 1, 26)
        out = chr(65 + r) + out
    return out


def load_interval_csv(
    source: str | Path | io.TextIOBase, *, interval_minutes: int | None = None, default_queue: str = "default"
) -> IntervalStats:
    """Read ``start,queue,offered,aht_seconds`` (header required; ``queue`` optional).

    ``start`` is ISO local time (``2024-06-01 08:15`` or ``2024-06-01T08:15:00``).
    Errors name the file line (the header is line 1) and the column.
    """
    if isinstance(source, str | Path):
        with open(source, newline="", encoding="utf-8-sig") as fh:
            return load_interval_csv(fh, interval_minutes=interval_minutes, default_queue=default_queue)
    reader = csv.reader(source)
    try:
        header = next(reader)
    except StopIteration:
        raise IntervalDataError("empty file") from None
    cols = _header_map(header)

    def rows() -> Iterator[tuple[int, dict[str, tuple[Any, str]]]]:
        for line, values in enumerate(reader, start=2):
            if not any(v.strip() for v in values):
                continue
            if len(values) < len(header):
                raise IntervalDataError(f"line {line}: {len(values)} fields, header has {len(header)}")
            cells = {c: (values[i], f"{_col_letter(i)} ({header[i]})") for c, i in cols.items()}
            cells.setdefault("queue", (default_queue, "queue"))
            yield line, cells

    return _build(rows(), interval_minutes, "line")


def load_interval_xlsx(
    source: str | Path | io.BufferedIOBase,
    *,
    sheet: str | None = None,
    interval_minutes: int | None = None,
    default_queue: str = "default",
) -> IntervalStats:
    """Same columns as :func:`load_interval_csv` from the first (or named) sheet; header in row 1."""
    import openpyxl

    book = openpyxl.load_workbook(source, read_only=True, data_only=True)
    try:
        ws = book[sheet] if sheet is not None else book.worksheets[0]
        it = ws.iter_rows(values_only=True)
        try:
            header = list(next(it))
        except StopIteration:
            raise IntervalDataError("empty sheet") from None
        cols = _header_map(header)

        def rows() -> Iterator[tuple[int, dict[str, tuple[Any, str]]]]:
            for number, values in enumerate(it, start=2):
                values = list(values) + [None] * (len(header) - len(values))
                if all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
                    continue
                cells = {c: (values[i], f"{_col_letter(i)} ({header[i]})") for c, i in cols.items()}
                cells.setdefault("queue", (default_queue, "queue"))
                yield number, cells

        return _build(rows(), interval_minutes, "row")
    finally:
        book.close()


# --------------------------------------------------------------------------- forecasts


@dataclass(frozen=True)
class Uplift:
    """Known event: offered calls x ``factor`` for intervals starting in [start, end)."""

    start: dt.datetime | str | np.datetime64
    end: dt.datetime | str | np.datetime64
    factor: float
    queue: str | None = None  # None: every queue
    name: str = ""


@dataclass(frozen=True)
class Forecast:
    queue: str
    method: str
    interval_minutes: int
    start: NDArray[np.datetime64]  # interval starts, datetime64[m]
    offered: FloatArray  # calls per interval (uplifts applied)
    aht_seconds: FloatArray
    baseline: FloatArray  # calls per interval before uplifts
    day_types: tuple[str, ...]  # one per calendar day covered, in order
    notes: tuple[str, ...] = ()

    @property
    def arrival_rate(self) -> FloatArray:
        """Calls per second, for :func:`hotline.workforce.staffing.required_agents`."""
        return self.offered / (self.interval_minutes * 60.0)


@dataclass(frozen=True)
class ShapeFit:
    """The ``shape`` model: ``offered = level x profiles[day type]`` (calls per interval)."""

    level: float  # calls per ordinary day, now
    profiles: dict[str, FloatArray]  # day type -> fraction of ``level`` per interval of the day
    days_used: dict[str, int]  # past days each profile was estimated from
    aht_profile: FloatArray  # seconds, per interval of the day
    notes: tuple[str, ...] = ()


def _as_uplift(u: Uplift | Sequence[Any]) -> Uplift:
    if isinstance(u, Uplift):
        return u
    return Uplift(*u)


def apply_uplifts(
    start: NDArray[np.datetime64], offered: FloatArray, queue: str, uplifts: Iterable[Uplift | Sequence[Any]]
) -> FloatArray:
    """Multiply ``offered`` where an uplift for ``queue`` (or every queue) covers the interval start."""
    out = np.array(offered, dtype=float)
    for raw in uplifts:
        u = _as_uplift(raw)
        if u.factor < 0 or not math.isfinite(u.factor):
            raise ValueError(f"uplift factor must be finite and >= 0, got {u.factor}")
        if u.queue is not None and u.queue != queue:
            continue
        lo, hi = _parse_time(u.start), _parse_time(u.end)
        if hi <= lo:
            raise ValueError(f"uplift {u.name or ''} ends before it starts")
        out[(start >= lo) & (start < hi)] *= u.factor
    return out


def _daily_totals(y: FloatArray) -> FloatArray:
    """Calls per day; NaN if any interval of the day is unobserved."""
    return np.where(np.isnan(y).any(axis=1), np.nan, np.nansum(y, axis=1))


def _levels(totals: FloatArray, types: Sequence[str], weekdays: Sequence[int], weeks: int) -> FloatArray:
    """level[d]: mean daily calls over the ``weeks`` weeks before day d (ordinary days only).

    Each weekday's mean is taken first and the weekday means are averaged, so a
    missing or holiday Monday does not tilt the level.  NaN where no data.
    """
    n = totals.size
    ordinary = np.array([t in DAY_TYPES[:7] for t in types]) & np.isfinite(totals)
    sums = np.zeros((n + 1, 7))
    counts = np.zeros((n + 1, 7))
    wd = np.asarray(weekdays)
    sums[1:][np.arange(n)[ordinary], wd[ordinary]] = totals[ordinary]
    counts[1:][np.arange(n)[ordinary], wd[ordinary]] = 1
    sums = np.cumsum(sums, axis=0)
    counts = np.cumsum(counts, axis=0)
    window = 7 * weeks
    out = np.full(n + 1, np.nan)
    for d in range(n + 1):  # level before day d (uses days d-window .. d-1)
        lo = max(0, d - window)
        c = counts[d] - counts[lo]
        s = sums[d] - sums[lo]
        have = c > 0
        if have.any():
            out[d] = float(np.mean(s[have] / c[have]))
    return out


def fit_shape(
    data: IntervalStats | QueueSeries,
    *,
    queue: str | None = None,
    before: dt.datetime | dt.date | str | None = None,
    profile_weeks: int = 6,
    level_weeks: int = 4,
) -> ShapeFit:
    """Fit the day-type x time-of-day model on the history (before ``before`` if given)."""
    series = data.series(queue) if isinstance(data, IntervalStats) else data
    if before is not None:
        series = series.truncate(_parse_time(before))
    y = series.offered
    dates = series.dates()
    types = [day_type(d) for d in dates]
    weekdays = [d.weekday() for d in dates]
    notes: list[str] = []
    if not all(calendar_known(d) for d in (dates[0], dates[-1])):
        notes.append("history partly outside the years any holiday calendar knows: plain weekdays used there")
    totals = _daily_totals(y)
    levels = _levels(totals, types, weekdays, level_weeks)
    level_now = levels[-1]
    if not np.isfinite(level_now) or level_now <= 0:
        raise ValueError("not enough complete ordinary days to estimate the level")
    # a day's own level: the level measured before it, or the first one available
    day_level = levels[:-1].copy()
    first_ok = np.flatnonzero(np.isfinite(day_level))
    if first_ok.size:
        day_level[: first_ok[0]] = day_level[first_ok[0]]
    ratio = y / day_level[:, None]
    n_days = len(dates)
    recent = np.arange(n_days) >= n_days - 7 * profile_weeks
    profiles: dict[str, FloatArray] = {}
    used: dict[str, int] = {}
    for name in DAY_TYPES[:7] + ("holiday",):
        sel = np.array([t == name for t in types]) & np.isfinite(day_level)
        if name != "holiday":
            sel &= recent
        rows = ratio[sel]
        ok = np.isfinite(rows)
        used[name] = int(sel.sum())
        if ok.any(axis=0).all():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                profiles[name] = np.nanmean(rows, axis=0)
    weekday_profiles = [profiles[n] for n in DAY_TYPES[:5] if n in profiles]
    if len(profiles) < 7 or not weekday_profiles:
        missing = [n for n in DAY_TYPES[:7] if n not in profiles]
        raise ValueError(f"not enough history for the shape model (no complete data for {missing})")
    profiles["adjusted_workday"] = np.mean(weekday_profiles, axis=0)
    used["adjusted_workday"] = sum(used[n] for n in DAY_TYPES[:5])
    if "holiday" not in profiles:
        profiles["holiday"] = profiles["sun"]
        notes.append("no public holiday in the history: holidays forecast like Sundays")
    aht_profile = fit_shape_aht(series, level_weeks)
    return ShapeFit(float(level_now), profiles, used, aht_profile, tuple(notes))


def _seasonal_naive(history: FloatArray, steps: int, season: int) -> FloatArray:
    """history flat (NaN = unobserved); value of the same slot one (or more) weeks earlier."""
    n = history.size
    out = np.full(steps, np.nan)
    idx = n + np.arange(steps)
    src = idx - season * ((idx - n) // season + 1)
    for _ in range(max(1, n // season + 1)):
        ok = src >= 0
        vals = np.full(steps, np.nan)
        vals[ok] = history[src[ok]]
        fill = np.isnan(out) & ~np.isnan(vals)
        out[fill] = vals[fill]
        if not np.isnan(out).any():
            break
        src = src - season
    return np.nan_to_num(out)


def _holt_winters(history: FloatArray, steps: int, season: int, weeks: int) -> FloatArray:
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    y = history[-season * weeks :].copy()
    gaps = np.flatnonzero(np.isnan(y))
    if gaps.size:  # fill from the same slot in neighbouring weeks
        filled = y.copy()
        for shift in (season, -season, 2 * season, -2 * season):
            src = gaps - shift
            ok = (src >= 0) & (src < y.size)
            take = gaps[ok][np.isnan(filled[gaps[ok]])]
            filled[take] = y[take - shift]
        y = np.nan_to_num(filled)
    if y.size < 2 * season:
        raise ValueError("Holt-Winters needs at least two weeks of history")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = ExponentialSmoothing(
            y, trend=None, seasonal="add", seasonal_periods=season, initialization_method="heuristic"
        ).fit()
        out = np.asarray(fit.forecast(steps), dtype=float)
    return np.maximum(out, 0.0)


def _horizon(series: QueueSeries, start: Any, intervals: int) -> tuple[np.datetime64, NDArray[np.datetime64]]:
    step = series.interval_minutes
    origin = _parse_time(start)
    if int(origin.astype(np.int64)) % step:
        raise ValueError(f"forecast start must be on a {step}-minute boundary")
    if intervals <= 0:
        raise ValueError("horizon must be at least one interval")
    return origin, origin + np.arange(intervals) * step * MINUTE


def forecast_series(
    series: QueueSeries,
    start: Any,
    intervals: int,
    method: Method = "shape",
    *,
    uplifts: Iterable[Uplift | Sequence[Any]] = (),
    profile_weeks: int = 6,
    level_weeks: int = 4,
    hw_weeks: int = 8,
) -> Forecast:
    """Forecast one queue's :class:`QueueSeries` from ``start`` using only data before ``start``."""
    step = series.interval_minutes
    per_day = series.per_day
    origin, stamps = _horizon(series, start, intervals)
    hist = series.truncate(origin)
    flat = hist.offered.ravel()
    if np.isnan(flat).all():
        raise ValueError("no observed history before the forecast start")
    # steps from the end of the (padded) history to the end of the horizon
    hist_end = hist.first_day.astype("datetime64[m]") + flat.size * step * MINUTE
    lead = int((origin - hist_end) / MINUTE) // step  # >= 0 if start after history, < 0 within the last day
    season = 7 * per_day
    notes: list[str] = []
    first_day = stamps[0].astype("datetime64[D]")
    n_days = int((stamps[-1].astype("datetime64[D]") - first_day) / DAY) + 1
    dates = [first_day.astype(dt.date) + dt.timedelta(days=i) for i in range(n_days)]
    types = tuple(day_type(d) for d in dates)
    day_idx = ((stamps.astype("datetime64[D]") - first_day) / DAY).astype(np.int64)
    slot = ((stamps - stamps.astype("datetime64[D]")) / MINUTE).astype(np.int64) // step
    fit = fit_shape(hist, profile_weeks=profile_weeks, level_weeks=level_weeks) if method == "shape" else None
    if method == "seasonal_naive" or method == "holt_winters":
        # flat history up to the origin (drop the NaN tail of the last partial day)
        upto = flat.size + min(lead, 0)
        h = flat[:upto]
        gap = max(lead, 0)
        if method == "seasonal_naive":
            values = _seasonal_naive(h, gap + intervals, season)[gap:]
        else:
            values = _holt_winters(h, gap + intervals, season, hw_weeks)[gap:]
    elif method == "shape":
        assert fit is not None
        values = np.array([fit.profiles[types[d]][i] for d, i in zip(day_idx, slot)]) * fit.level
        notes.extend(fit.notes)
    else:
        raise ValueError(f"unknown method {method!r}; use one of {METHODS}")
    aht = (fit.aht_profile if fit is not None else fit_shape_aht(hist, level_weeks))[slot]
    if not all(calendar_known(d) for d in dates):
        notes.append("horizon partly outside the years any holiday calendar knows: plain weekdays used there")
    offered = apply_uplifts(stamps, values, series.queue, uplifts)
    return Forecast(series.queue, method, step, stamps, offered, aht, values, types, tuple(notes))


def fit_shape_aht(series: QueueSeries, weeks: int = 4) -> FloatArray:
    """Volume-weighted AHT per time of day over the last ``weeks`` weeks (overall mean where no calls)."""
    y, a = series.offered, series.aht
    recent = np.arange(y.shape[0]) >= y.shape[0] - 7 * weeks
    w = np.where(np.isfinite(a) & np.isfinite(y), y, 0.0)[recent]
    ah = np.nan_to_num(a[recent])
    weight = w.sum(axis=0)
    overall = float((w * ah).sum() / weight.sum()) if weight.sum() > 0 else math.nan
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(weight > 0, (w * ah).sum(axis=0) / weight, overall)


def forecast(
    stats: IntervalStats,
    start: dt.datetime | dt.date | str,
    intervals: int,
    method: Method = "shape",
    *,
    queue: str | None = None,
    uplifts: Iterable[Uplift | Sequence[Any]] = (),
    profile_weeks: int = 6,
    level_weeks: int = 4,
    hw_weeks: int = 8,
) -> Forecast:
    """Offered calls and AHT for ``intervals`` intervals from ``start`` (local time) for one queue.

    Only statistics before ``start`` are used, so a start inside the history
    is an honest out-of-sample forecast.  ``uplifts``: :class:`Uplift` or
    ``(start, end, factor, queue or None)`` tuples.
    """
    return forecast_series(
        stats.series(queue), start, intervals, method, uplifts=uplifts,
        profile_weeks=profile_weeks, level_weeks=level_weeks, hw_weeks=hw_weeks,
    )


# --------------------------------------------------------------------------- back-test


def wape(actual: ArrayLike, predicted: ArrayLike) -> float:
    """Weighted absolute percentage error: sum |actual - predicted| / sum actual (NaN actuals skipped)."""
    a, p = np.asarray(actual, dtype=float), np.asarray(predicted, dtype=float)
    ok = np.isfinite(a)
    total = a[ok].sum()
    return float(np.abs(a[ok] - p[ok]).sum() / total) if total > 0 else math.nan


def mae(actual: ArrayLike, predicted: ArrayLike) -> float:
    """Mean absolute error per interval (calls), NaN actuals skipped."""
    a, p = np.asarray(actual, dtype=float), np.asarray(predicted, dtype=float)
    ok = np.isfinite(a)
    return float(np.abs(a[ok] - p[ok]).mean()) if ok.any() else math.nan


@dataclass(frozen=True)
class BacktestScore:
    method: str
    wape: float  # pooled over every origin
    mae: float  # calls per interval, pooled
    mae_by_interval: FloatArray  # per time of day (interval of the day), pooled
    aht_mae: float  # seconds, weighted by actual calls
    wape_by_origin: tuple[float, ...]
    mae_by_origin: tuple[float, ...]
    error: str = ""  # set when the method could not run (then the numbers are NaN)


@dataclass(frozen=True)
class BacktestReport:
    queue: str
    origins: tuple[np.datetime64, ...]
    horizon_intervals: int
    scores: dict[str, BacktestScore] = field(default_factory=dict)

    @property
    def best(self) -> str:
        """Method with the lowest pooled WAPE."""
        ok = {m: s.wape for m, s in self.scores.items() if math.isfinite(s.wape)}
        if not ok:
            raise ValueError("no method could be back-tested")
        return min(ok, key=ok.__getitem__)

    def table(self) -> list[dict[str, object]]:
        """One row per method, best first: method, wape, mae, aht_mae, error."""
        rows = [
            {"method": m, "wape": s.wape, "mae": s.mae, "aht_mae": s.aht_mae, "error": s.error}
            for m, s in self.scores.items()
        ]
        return sorted(rows, key=lambda r: (not math.isfinite(r["wape"]), r["wape"]))  # type: ignore[arg-type]


def backtest(
    stats: IntervalStats,
    queue: str | None = None,
    *,
    methods: Sequence[Method] = METHODS,
    horizon_days: int = 7,
    origins: int = 4,
    step_days: int = 7,
    uplifts: Iterable[Uplift | Sequence[Any]] = (),
    **options: int,
) -> BacktestReport:
    """Rolling-origin back-test: forecast ``horizon_days`` from each of ``origins`` midnights.

    The last origin is ``horizon_days`` before the end of the last complete
    day; the others are ``step_days`` apart before it.  Each forecast uses
    only the data before its origin (plus ``uplifts``, i.e. events known in
    advance).  Intervals without an actual value are skipped.
    """
    series = stats.series(queue)
    per_day = series.per_day
    days = series.offered.shape[0]
    last = days - horizon_days  # index of the last origin day
    origin_days = [last - step_days * k for k in range(origins)][::-1]
    if origin_days[0] < 1:
        raise ValueError(f"history of {days} days is too short for {origins} origins of {horizon_days} days")
    stamps = [series.first_day + d * DAY for d in origin_days]
    horizon = horizon_days * per_day
    uplifts = list(uplifts)
    scores: dict[str, BacktestScore] = {}
    for method in methods:
        actual_all, pred_all, aht_err, aht_w = [], [], [], []
        by_origin_w, by_origin_m = [], []
        error = ""
        for d in origin_days:
            origin = (series.first_day + d * DAY).astype("datetime64[m]")
            actual = series.offered[d : d + horizon_days].ravel()
            actual_aht = series.aht[d : d + horizon_days].ravel()
            try:
                f = forecast_series(series, origin, horizon, method, uplifts=uplifts, **options)
            except (ValueError, np.linalg.LinAlgError) as exc:
                error = str(exc)
                break
            actual_all.append(actual)
            pred_all.append(f.offered)
            ok = np.isfinite(actual_aht) & np.isfinite(actual) & (actual > 0)
            aht_err.append(np.abs(actual_aht - f.aht_seconds)[ok] * actual[ok])
            aht_w.append(actual[ok])
            by_origin_w.append(wape(actual, f.offered))
            by_origin_m.append(mae(actual, f.offered))
        if error:
            nan = math.nan
            scores[method] = BacktestScore(method, nan, nan, np.full(per_day, nan), nan, (), (), error)
            continue
        a = np.concatenate(actual_all)
        p = np.concatenate(pred_all)
        err = np.abs(a - p).reshape(-1, per_day)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            by_slot = np.nanmean(err, axis=0)
        w = np.concatenate(aht_w)
        scores[method] = BacktestScore(
            method=method,
            wape=wape(a, p),
            mae=mae(a, p),
            mae_by_interval=by_slot,
            aht_mae=float(np.concatenate(aht_err).sum() / w.sum()) if w.sum() > 0 else math.nan,
            wape_by_origin=tuple(by_origin_w),
            mae_by_origin=tuple(by_origin_m),
        )
    return BacktestReport(series.queue, tuple(stamps), horizon, scores)
