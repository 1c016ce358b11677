"""Planning rules and writes. Every write runs in a transaction; the maths is
in :mod:`hotline.workforce` (pure, no Django).

Expected calls per interval come from :func:`expected_calls`: the
forecast module when it is installed, else the imported interval statistics
of the same weekday and time averaged over past weeks (a deliberately simple
stand-in, replaceable in one place).
"""

from __future__ import annotations

import datetime as dt
import importlib
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from hotline.core import clock
from hotline.organisation.models import Role, User
from hotline.planning import imports
from hotline.planning.models import (
    IntervalStat,
    Queue,
    Schedule,
    ScheduleAssignment,
    ScheduleShift,
    ScheduleStatus,
    ShiftTemplate,
    StaffingTarget,
)
from hotline.workforce import scheduling, simulation, staffing

DAYS = 7
MINUTES_PER_DAY = 24 * 60
HISTORY_WEEKS = 8
DEFAULT_AHT = 300.0


def solver_seconds() -> float:
    """Time limit of each solver run (settings.HOTLINE["PLANNING_SOLVER_SECONDS"], default 20 s)."""
    return float(settings.HOTLINE.get("PLANNING_SOLVER_SECONDS", 20))


class PlanningError(Exception):
    """A planning rule refused the request; the message is shown to the user."""


def _forecast_module():
    """hotline.workforce.forecast once it exists (being written concurrently), else None."""
    try:
        return importlib.import_module("hotline.workforce.forecast")
    except ImportError:
        return None


def monday_of(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


# --------------------------------------------------------------------------- import


@dataclass(frozen=True)
class ImportResult:
    rows: int
    queues: list[str]
    first: dt.datetime
    last: dt.datetime


def import_interval_stats(*, data: bytes, filename: str) -> ImportResult:
    """Insert or update interval statistics from a CSV/xlsx file: every row or none.

    Raises :class:`imports.FileRejected` with each bad row's number.
    """
    rows = imports.parse(data, filename)
    queues = {q.code: q for q in Queue.objects.filter(code__in={r.queue for r in rows})}
    unknown = [imports.RowError(r.number, gettext("unknown queue %(code)s.") % {"code": repr(r.queue)})
               for r in rows if r.queue not in queues]
    if unknown:
        raise imports.FileRejected(unknown)
    objects = [
        IntervalStat(queue=queues[r.queue], start=r.start, interval_minutes=r.interval_minutes, offered=r.offered,
                     answered=r.answered, aht_seconds=r.aht_seconds, abandoned=r.abandoned)
        for r in rows
    ]
    with transaction.atomic():
        IntervalStat.objects.bulk_create(
            objects, batch_size=500, update_conflicts=True, unique_fields=["queue", "start"],
            update_fields=["interval_minutes", "offered", "answered", "aht_seconds", "abandoned"],
        )
    return ImportResult(rows=len(rows), queues=sorted(queues), first=min(r.start for r in rows),
                        last=max(r.start for r in rows))


@transaction.atomic
def save_target(*, queue: Queue, **values: object) -> StaffingTarget:
    target, _ = StaffingTarget.objects.select_for_update().get_or_create(queue=queue)
    for name, value in values.items():
        setattr(target, name, value)
    target.full_clean()
    target.save()
    return target


STANDARD_QUEUES = (("repair", "故障报修"), ("complaint", "投诉举报"), ("general", "综合咨询"))


@transaction.atomic
def create_queue(*, name: str, code: str) -> Queue:
    queue = Queue(name=name, code=code)
    queue.full_clean()
    queue.save()
    StaffingTarget.objects.create(queue=queue)
    return queue


@transaction.atomic
def add_standard_queues() -> int:
    """The 95598 queues: repair, complaint, general (with default targets); skips codes that exist."""
    created = 0
    for code, name in STANDARD_QUEUES:
        queue, new = Queue.objects.get_or_create(code=code, defaults={"name": name})
        StaffingTarget.objects.get_or_create(queue=queue)
        created += new
    return created


@transaction.atomic
def add_standard_templates() -> int:
    """Create the typical round-the-clock 95598 shift set (skips names that exist)."""
    created = 0
    for tpl in scheduling.standard_templates():
        _, new = ShiftTemplate.objects.get_or_create(
            name=tpl.name,
            defaults={"start_time": dt.time(tpl.start_minute // 60, tpl.start_minute % 60),
                      "length_minutes": tpl.length_minutes, "breaks": [list(b) for b in tpl.breaks], "cost": tpl.cost},
        )
        created += new
    return created


# --------------------------------------------------------------------------- expected calls and requirement


@dataclass
class Expected:
    """Calls offered and AHT per interval of a week (Monday 00:00 first)."""

    offered: np.ndarray
    aht: np.ndarray
    source: str  # "forecast" | "history" | "none"
    weeks: int = 0  # past weeks averaged (history)


def _slot_arrays(rows, interval_minutes: int, days: int) -> tuple[np.ndarray, np.ndarray, dict[int, set]]:
    """Sum offered and handle time per (day-of-week slot) from stat rows; returns the dates seen per weekday."""
    per_day = MINUTES_PER_DAY // interval_minutes
    offered = np.zeros(days * per_day)
    handle = np.zeros(days * per_day)
    dates: dict[int, set] = {d: set() for d in range(DAYS)}
    for start, minutes, n, aht in rows:
        local = timezone.localtime(start)
        weekday = local.weekday()
        dates[weekday].add(local.date())
        minute = local.hour * 60 + local.minute
        parts = max(minutes // interval_minutes, 1)
        for p in range(parts):
            slot = weekday * per_day + (minute + p * interval_minutes) // interval_minutes
            offered[slot % offered.size] += n / parts
            handle[slot % offered.size] += n / parts * aht
    return offered, handle, dates


def history_average(*, queue: Queue, week_start: dt.date, interval_minutes: int) -> Expected:
    """Average of the same weekday and time over up to ``HISTORY_WEEKS`` weeks before ``week_start``.

    When nothing is older than the week (a fresh installation), every imported week is used.
    """
    begin = timezone.make_aware(dt.datetime.combine(week_start - dt.timedelta(weeks=HISTORY_WEEKS), dt.time()))
    end = timezone.make_aware(dt.datetime.combine(week_start, dt.time()))
    fields = ("start", "interval_minutes", "offered", "aht_seconds")
    rows = list(IntervalStat.objects.filter(queue=queue, start__gte=begin, start__lt=end).values_list(*fields))
    if not rows:
        rows = list(IntervalStat.objects.filter(queue=queue).values_list(*fields))
    offered, handle, dates = _slot_arrays(rows, interval_minutes, DAYS)
    per_day = MINUTES_PER_DAY // interval_minutes
    counts = np.repeat([max(len(dates[d]), 1) for d in range(DAYS)], per_day)
    with np.errstate(invalid="ignore", divide="ignore"):
        aht = np.where(offered > 0, handle / np.where(offered > 0, offered, 1), np.nan)
    mean_aht = float(np.nansum(handle) / offered.sum()) if offered.sum() > 0 else DEFAULT_AHT
    aht = np.where(np.isnan(aht) | (aht <= 0), mean_aht or DEFAULT_AHT, aht)
    weeks = max((len(v) for v in dates.values()), default=0)
    return Expected(offered=offered / counts, aht=aht, source="history" if rows else "none", weeks=weeks)


def forecast_stats(*, queue: Queue, interval_minutes: int):
    """The queue's imported statistics as the forecast module's ``IntervalStats`` on one grid.

    Rows finer than ``interval_minutes`` are summed, coarser ones split evenly; AHT is
    call-weighted, and the queue's mean AHT stands in where calls were offered but none handled.
    Returns None without statistics.
    """
    forecast = _forecast_module()
    rows = list(IntervalStat.objects.filter(queue=queue).values_list("start", "interval_minutes", "offered",
                                                                     "aht_seconds"))
    if forecast is None or not rows:
        return None
    step = dt.timedelta(minutes=interval_minutes)
    offered: dict[dt.datetime, float] = {}
    handle: dict[dt.datetime, float] = {}
    for start, minutes, n, aht in rows:
        local = timezone.localtime(start).replace(tzinfo=None)
        local -= dt.timedelta(minutes=(local.hour * 60 + local.minute) % interval_minutes)
        parts = max(minutes // interval_minutes, 1)
        for p in range(parts):
            key = local + p * step
            offered[key] = offered.get(key, 0.0) + n / parts
            handle[key] = handle.get(key, 0.0) + n / parts * aht
    total = sum(offered.values())
    mean_aht = (sum(handle.values()) / total) if total else DEFAULT_AHT
    keys = sorted(offered)
    aht = [(handle[k] / offered[k] if handle[k] > 0 else mean_aht or DEFAULT_AHT) if offered[k] > 0 else float("nan")
           for k in keys]
    return forecast.IntervalStats.from_arrays(np.array(keys, dtype="datetime64[m]"), queue.code,
                                              [offered[k] for k in keys], aht, interval_minutes)


def run_forecast(*, queue: Queue, start: dt.datetime, intervals: int, interval_minutes: int, method: str = "shape"):
    """The forecast module's ``Forecast`` from ``start`` (naive local), or None when it cannot run."""
    forecast = _forecast_module()
    stats = forecast_stats(queue=queue, interval_minutes=interval_minutes) if forecast is not None else None
    if stats is None:
        return None
    try:
        return forecast.forecast(stats, start, intervals, method, queue=queue.code)
    except ValueError:  # no history before the start, too short a history, ...
        return None


def expected_calls(*, queue: Queue, week_start: dt.date, interval_minutes: int) -> Expected:
    """Expected offered calls and AHT for a week; the single place where the forecast plugs in.

    The forecast module's ``shape`` method (day type x time of day, holidays) when it can run,
    else :func:`history_average`.
    """
    per_week = DAYS * MINUTES_PER_DAY // interval_minutes
    result = run_forecast(queue=queue, start=dt.datetime.combine(week_start, dt.time()), intervals=per_week,
                          interval_minutes=interval_minutes)
    if result is not None and np.all(np.isfinite(result.offered)):
        aht = np.asarray(result.aht_seconds, dtype=float)
        fallback = float(np.nanmean(aht)) if np.isfinite(aht).any() else DEFAULT_AHT
        aht = np.where(np.isfinite(aht) & (aht > 0), aht, fallback)
        return Expected(offered=np.asarray(result.offered, dtype=float), aht=aht, source="forecast")
    return history_average(queue=queue, week_start=week_start, interval_minutes=interval_minutes)


@dataclass
class Predicted:
    method: str
    offered: np.ndarray  # per interval of the day
    notes: tuple[str, ...]


def predicted_day(*, queue: Queue, day: dt.date, interval_minutes: int = 30, method: str = "shape") -> Predicted | None:
    """The out-of-sample forecast of one day (data before it only), or None without the forecast module/history."""
    result = run_forecast(queue=queue, start=dt.datetime.combine(day, dt.time()),
                          intervals=MINUTES_PER_DAY // interval_minutes, interval_minutes=interval_minutes,
                          method=method)
    if result is None:
        return None
    return Predicted(method, np.asarray(result.offered, dtype=float), tuple(result.notes))


def forecast_error(actual: np.ndarray, predicted: np.ndarray) -> float | None:
    """WAPE of one day (None without calls)."""
    total = float(np.sum(actual))
    return float(np.abs(np.asarray(actual) - np.asarray(predicted)).sum() / total) if total > 0 else None


def backtest(*, queue: Queue, interval_minutes: int = 30):
    """Rolling-origin back-test of every forecast method (None when the history is too short)."""
    forecast = _forecast_module()
    stats = forecast_stats(queue=queue, interval_minutes=interval_minutes) if forecast is not None else None
    if stats is None:
        return None
    days = stats.series(queue.code).offered.shape[0]
    origins = min(4, (days - 7 - 1) // 7 + 1)
    if origins < 1:
        return None
    try:
        return forecast.backtest(stats, queue.code, horizon_days=7, origins=origins)
    except ValueError:
        return None


def staffing_targets(target: StaffingTarget | None) -> tuple[staffing.StaffingTargets, dict]:
    """The workforce targets and required_agents() keywords of a queue's target row (defaults when absent)."""
    t = target or StaffingTarget()
    targets = staffing.StaffingTargets(
        service_level=t.service_level_pct / 100.0,
        answer_time=float(t.answer_seconds),
        max_asa=t.max_asa_seconds,
        max_abandon_rate=t.max_abandon_pct / 100.0 if t.max_abandon_pct is not None else None,
        max_occupancy=t.max_occupancy_pct / 100.0 if t.max_occupancy_pct is not None else None,
    )
    kwargs: dict = {"shrinkage": t.shrinkage_pct / 100.0}
    if t.patience_seconds:
        kwargs.update(model="erlang_a", patience=float(t.patience_seconds))
    return targets, kwargs


def _target_of(queue: Queue) -> StaffingTarget | None:
    return StaffingTarget.objects.filter(queue=queue).first()


@dataclass
class Requirement:
    queue: Queue
    interval_minutes: int
    offered: np.ndarray
    aht: np.ndarray
    agents: np.ndarray  # net, on the phones
    scheduled: np.ndarray  # gross, with shrinkage
    source: str
    weeks: int


def required_for_week(*, queue: Queue, week_start: dt.date, interval_minutes: int = 30) -> Requirement:
    expected = expected_calls(queue=queue, week_start=week_start, interval_minutes=interval_minutes)
    targets, kwargs = staffing_targets(_target_of(queue))
    result = staffing.required_agents_for_intervals(expected.offered, expected.aht, interval_minutes * 60, targets,
                                                    with_metrics=False, **kwargs)
    return Requirement(queue, interval_minutes, expected.offered, expected.aht, result.agents, result.scheduled,
                       expected.source, expected.weeks)


def required_total(*, week_start: dt.date, interval_minutes: int, queue: Queue | None) -> tuple[np.ndarray, str]:
    """Gross agents to schedule per interval: one queue, or the sum over every queue (no pooling gain assumed)."""
    queues = [queue] if queue is not None else list(Queue.objects.all())
    if not queues:
        raise PlanningError("Create a queue first.")
    total = np.zeros(DAYS * MINUTES_PER_DAY // interval_minutes, dtype=np.int64)
    sources = set()
    for q in queues:
        req = required_for_week(queue=q, week_start=week_start, interval_minutes=interval_minutes)
        total += req.scheduled
        sources.add(req.source)
    if sources == {"none"}:
        raise PlanningError("No interval statistics yet: import some first.")
    source = "forecast" if "forecast" in sources else "history"
    return total, source


# --------------------------------------------------------------------------- schedules


def workforce_template(tpl: ShiftTemplate) -> scheduling.ShiftTemplate:
    return scheduling.ShiftTemplate(tpl.name, tpl.start_minute, tpl.length_minutes,
                                    tuple((int(o), int(n)) for o, n in tpl.breaks or ()), tpl.cost)


def _templates_for(interval_minutes: int) -> list[ShiftTemplate]:
    templates = []
    for tpl in ShiftTemplate.objects.filter(active=True):
        try:
            workforce_template(tpl).covered(interval_minutes)
        except ValueError:
            continue  # not on the interval grid
        templates.append(tpl)
    if not templates:
        raise PlanningError("No active shift templates fit the interval; add the standard set first.")
    return templates


def _solve(required: np.ndarray, templates: list[ShiftTemplate], interval_minutes: int,
           time_limit: float) -> scheduling.WeeklySchedule:
    try:
        return scheduling.schedule_week(required, [workforce_template(t) for t in templates],
                                        interval_minutes=interval_minutes, time_limit=time_limit)
    except RuntimeError as exc:
        raise PlanningError(f"The solver found no schedule: {exc}") from exc


def _store_solution(schedule: Schedule, solution: scheduling.WeeklySchedule, templates: list[ShiftTemplate]) -> None:
    schedule.shifts.all().delete()
    schedule.assignments.all().delete()
    ScheduleShift.objects.bulk_create(
        ScheduleShift(schedule=schedule, template=templates[s], day=d, count=n) for d, s, n in solution.shifts()
    )
    schedule.required = [int(v) for v in solution.required]
    schedule.solver_status = solution.status
    schedule.mip_gap = float(solution.mip_gap)
    schedule.objective = float(solution.objective)
    schedule.solve_seconds = float(solution.seconds)
    schedule.agents_needed = solution.agents_needed
    schedule.roster_status = ""
    schedule.save()


def create_schedule(*, actor: User, week_start: dt.date, queue: Queue | None = None, interval_minutes: int = 30,
                    time_limit: float | None = None) -> Schedule:
    """Solve the week's shift counts for the requirement and store them as a draft."""
    week_start = monday_of(week_start)
    required, source = required_total(week_start=week_start, interval_minutes=interval_minutes, queue=queue)
    templates = _templates_for(interval_minutes)
    solution = _solve(required, templates, interval_minutes, time_limit or solver_seconds())  # slow part, outside the transaction
    with transaction.atomic():
        schedule = Schedule.objects.create(week_start=week_start, queue=queue, interval_minutes=interval_minutes,
                                           created_by=actor, required_source=source)
        _store_solution(schedule, solution, templates)
    return schedule


def _locked_draft(schedule: Schedule) -> Schedule:
    locked = Schedule.objects.select_for_update().get(pk=schedule.pk)
    if locked.is_published:
        raise PlanningError("A published schedule is read-only.")
    return locked


def resolve_schedule(*, schedule: Schedule, actor: User, time_limit: float | None = None) -> Schedule:
    """Recompute the requirement and solve again (hand edits and the roster are replaced)."""
    if schedule.is_published:
        raise PlanningError("A published schedule is read-only.")
    required, source = required_total(week_start=schedule.week_start, interval_minutes=schedule.interval_minutes,
                                      queue=schedule.queue)
    templates = _templates_for(schedule.interval_minutes)
    solution = _solve(required, templates, schedule.interval_minutes, time_limit or solver_seconds())
    with transaction.atomic():
        locked = _locked_draft(schedule)
        locked.required_source = source
        _store_solution(locked, solution, templates)
    return locked


def set_shift_counts(*, schedule: Schedule, counts: Mapping[tuple[int, int], int], actor: User) -> int:
    """Hand edit: ``counts[(template id, day)] = agents`` (0 removes). Returns how many cells changed.

    A changed count invalidates the roster, which is cleared.
    """
    with transaction.atomic():
        locked = _locked_draft(schedule)
        templates = {t.pk: t for t in ShiftTemplate.objects.filter(pk__in={k[0] for k in counts})}
        current = {(s.template_id, s.day): s for s in locked.shifts.all()}
        changed = 0
        for (template_id, day), count in counts.items():
            if template_id not in templates or not 0 <= day < DAYS:
                raise PlanningError("Unknown shift or day.")
            if count < 0:
                raise PlanningError("Agent counts cannot be negative.")
            row = current.get((template_id, day))
            if row is None and count:
                ScheduleShift.objects.create(schedule=locked, template=templates[template_id], day=day, count=count)
            elif row is not None and count == 0:
                row.delete()
            elif row is not None and row.count != count:
                row.count = count
                row.save(update_fields=["count"])
            else:
                continue
            changed += 1
        if changed:
            locked.assignments.all().delete()
            locked.solver_status = "edited"
            locked.mip_gap = None
            locked.agents_needed = None
            locked.roster_status = ""
            locked.save(update_fields=["solver_status", "mip_gap", "agents_needed", "roster_status"])
    return changed


def workforce_schedule(schedule: Schedule) -> scheduling.WeeklySchedule:
    """The stored shift counts as the workforce package's weekly schedule (coverage computed)."""
    shifts = list(schedule.shifts.select_related("template"))
    templates = sorted({s.template for s in shifts}, key=lambda t: (t.start_minute, t.name))
    index = {t.pk: i for i, t in enumerate(templates)}
    counts = np.zeros((DAYS, len(templates)), dtype=np.int64)
    for s in shifts:
        counts[s.day, index[s.template_id]] += s.count
    wf = [workforce_template(t) for t in templates]
    per_week = DAYS * MINUTES_PER_DAY // schedule.interval_minutes
    if templates:
        coverage = (scheduling.coverage_matrix(wf, schedule.interval_minutes) @ counts.ravel()).astype(np.int64)
    else:
        coverage = np.zeros(per_week, dtype=np.int64)
    required = np.asarray(schedule.required or [0] * per_week, dtype=np.int64)
    return scheduling.WeeklySchedule(wf, schedule.interval_minutes, counts, np.zeros(DAYS, dtype=np.int64), coverage,
                                     required, schedule.objective or 0.0, schedule.mip_gap or 0.0,
                                     schedule.solver_status, schedule.solve_seconds or 0.0)


def assign_schedule_agents(*, schedule: Schedule, actor: User, agents: list[User] | None = None,
                           time_limit: float | None = None, min_rest_hours: float = 11.0) -> int:
    """Put named agents (users with the agent role) on the shifts; returns assignments made."""
    if schedule.is_published:
        raise PlanningError("A published schedule is read-only.")
    people = agents if agents is not None else list(User.objects.filter(role=Role.AGENT, is_active=True).order_by("username"))
    week = workforce_schedule(schedule)
    if not week.shifts():
        raise PlanningError("The schedule has no shifts to assign.")
    busiest = int(week.counts.sum(axis=1).max())
    total = int(week.counts.sum())
    if busiest > len(people) or total > 5 * len(people):
        raise PlanningError(
            f"Not enough agents: {len(people)} agents, but {busiest} shifts on the busiest day and {total} in the week.")
    by_name = {str(u.pk): u for u in people}
    try:
        roster = scheduling.assign_agents(week, [scheduling.Agent(str(u.pk)) for u in people],
                                          min_rest_hours=min_rest_hours, time_limit=time_limit or solver_seconds())
    except RuntimeError as exc:
        raise PlanningError("No roster satisfies the rest and day limits with these agents.") from exc
    by_template = {t.name: t for t in ShiftTemplate.objects.filter(name__in={a[2] for a in roster.assignments})}
    with transaction.atomic():
        locked = _locked_draft(schedule)
        locked.assignments.all().delete()
        ScheduleAssignment.objects.bulk_create(
            ScheduleAssignment(schedule=locked, agent=by_name[name], day=day, template=by_template[tpl])
            for name, day, tpl in roster.assignments
        )
        locked.roster_status = roster.status
        locked.save(update_fields=["roster_status"])
    return len(roster.assignments)


def publish_schedule(*, schedule: Schedule, actor: User) -> Schedule:
    """Draft -> published (compare-and-set); afterwards nothing in it changes."""
    with transaction.atomic():
        if not ScheduleShift.objects.filter(schedule_id=schedule.pk).exists():
            raise PlanningError("The schedule has no shifts.")
        done = Schedule.objects.filter(pk=schedule.pk, status=ScheduleStatus.DRAFT).update(
            status=ScheduleStatus.PUBLISHED, published_at=clock.now(), published_by=actor)
        if not done:
            raise PlanningError("The schedule is already published.")
    schedule.refresh_from_db()
    return schedule


# --------------------------------------------------------------------------- now


@dataclass
class NowRow:
    queue: Queue
    offered: float  # calls in the current interval (observed in the last hour, else expected)
    observed: bool
    required: int  # agents on the phones needed now
    scheduled: int | None = None  # per this queue's own published schedule
    extra: int | None = None
    projected_service_level: float | None = None  # with the scheduled agents


@dataclass
class NowAnswer:
    at: dt.datetime
    interval_minutes: int
    rows: list[NowRow]
    required: int
    scheduled: int | None  # on the phones per the published schedule(s); None without one
    extra: int | None


def _published_coverage(week_start: dt.date, local: dt.datetime, queue: Queue | None) -> int | None:
    published = (Schedule.objects.filter(week_start=week_start, status=ScheduleStatus.PUBLISHED, queue=queue)
                 .order_by("-published_at").first())
    if published is None:
        return None
    per_day = MINUTES_PER_DAY // published.interval_minutes
    slot = local.weekday() * per_day + (local.hour * 60 + local.minute) // published.interval_minutes
    return int(workforce_schedule(published).coverage[slot])


def _need_now(offered: float, aht: float, current: int, target: StaffingTarget | None,
              interval_minutes: int) -> tuple[int, float | None]:
    """(required agents, projected service level with ``current``) -- staffing.extra_agents_now when present."""
    t = target or StaffingTarget()
    if hasattr(staffing, "extra_agents_now"):
        res = staffing.extra_agents_now(offered, aht, current, target_sl=t.service_level_pct / 100.0,
                                        t_seconds=float(t.answer_seconds), patience_seconds=t.patience_seconds,
                                        interval_minutes=interval_minutes)
        return int(res["required_agents"]), float(res["projected_service_level"])
    targets, kwargs = staffing_targets(target)
    kwargs.pop("shrinkage", None)
    need = staffing.required_agents_for_intervals([offered], [aht], interval_minutes * 60, targets,
                                                  with_metrics=False, **kwargs).agents
    return int(need[0]), None


def extra_agents_now(*, at: dt.datetime | None = None, interval_minutes: int = 30) -> NowAnswer:
    """How many more agents the shift leader needs on the phones right now.

    Calls: the latest imported interval of the last hour (what is really
    happening), else the expected calls of the current interval. Required:
    Erlang C/A at each queue's service-level target (agents on the phones,
    no shrinkage). Scheduled: coverage of this week's published schedule.
    """
    local = timezone.localtime(at or clock.now())
    week_start = monday_of(local.date())
    per_day = MINUTES_PER_DAY // interval_minutes
    slot = local.weekday() * per_day + (local.hour * 60 + local.minute) // interval_minutes
    rows = []
    for queue in Queue.objects.all():
        recent = (IntervalStat.objects.filter(queue=queue, start__lte=local, start__gte=local - dt.timedelta(hours=1))
                  .order_by("-start").first())
        if recent is not None:
            offered, minutes = float(recent.offered), recent.interval_minutes
            aht = recent.aht_seconds or DEFAULT_AHT
            observed = True
        else:
            expected = expected_calls(queue=queue, week_start=week_start, interval_minutes=interval_minutes)
            offered, aht, minutes, observed = float(expected.offered[slot]), float(expected.aht[slot]), interval_minutes, False
        own = _published_coverage(week_start, local, queue)
        need, projected = _need_now(offered, aht, own or 0, _target_of(queue), minutes)
        rows.append(NowRow(queue, offered * interval_minutes / minutes, observed, need, own,
                           max(need - own, 0) if own is not None else None, projected if own is not None else None))
    required = sum(r.required for r in rows)
    scheduled = _published_coverage(week_start, local, None)
    if scheduled is None and rows and all(r.scheduled is not None for r in rows):
        scheduled = sum(r.scheduled or 0 for r in rows)
    extra = max(required - scheduled, 0) if scheduled is not None else None
    return NowAnswer(local, interval_minutes, rows, required, scheduled, extra)


# --------------------------------------------------------------------------- what-if

# Bounds of a storm what-if, checked by the form and again here (a job's
# params may come from anywhere). Together with MAX_CALLS_PER_RUN and the
# time budget they keep any input from tying up a worker.
WHATIF_INTERVAL_MINUTES = 30
WHATIF_HOURS = (0.5, 24.0)  # one interval at least; at most a day, the two-day window's reach
WHATIF_FACTOR = (1.0, 20.0)  # 20x is past any storm in 95598 records; the load, not the factor, bounds the work
WHATIF_TARGET_PCT = (1.0, 99.9)  # 100 % cannot be proven by a confidence bound
WHATIF_REPLICATIONS = (10, 200)  # < 10: the t bound is too wide to prove much; > 200: 1/sqrt(n) gains little
WHATIF_CANDIDATES = 6  # staffing values simulated side by side per run
# Callers one simulation run may hold: time and memory grow with them
# (about 0.5 us and 50 bytes each here, so ~3 s and ~250 MB at the cap).
MAX_CALLS_PER_RUN = 5_000_000


def whatif_seconds() -> float:
    """Time budget of one storm what-if (settings.HOTLINE["PLANNING_WHATIF_SECONDS"], default 60 s)."""
    return float(settings.HOTLINE.get("PLANNING_WHATIF_SECONDS", 60))


@dataclass
class StormWindow:
    """The stretch of two days a storm is simulated on: four intervals either side."""

    offered: np.ndarray
    aht: np.ndarray
    begin: int  # index of the window's first interval from ``day`` 00:00
    surge: tuple[int, int]  # [first, last) within the window

    def labels(self, interval_minutes: int) -> list[str]:
        per_day = MINUTES_PER_DAY // interval_minutes
        out = []
        for i in range(self.begin, self.begin + self.offered.size):
            minute = (i % per_day) * interval_minutes
            out.append(f"{minute // 60:02d}:{minute % 60:02d}")
        return out


def storm_window(expected: Expected, *, day: dt.date, start: dt.time, hours: float,
                 interval_minutes: int = WHATIF_INTERVAL_MINUTES) -> StormWindow:
    per_day = MINUTES_PER_DAY // interval_minutes
    # two days, so a storm in the evening can run past midnight
    first_day = day.weekday() * per_day
    idx = (first_day + np.arange(2 * per_day)) % (DAYS * per_day)
    offered, aht = expected.offered[idx], expected.aht[idx]
    first = (start.hour * 60 + start.minute) // interval_minutes
    last = min(first + max(1, math.ceil(hours * 60 / interval_minutes)), 2 * per_day)
    begin, end = max(0, first - 4), min(2 * per_day, last + 4)
    return StormWindow(offered[begin:end], aht[begin:end], begin, (first - begin, last - begin))


def storm_calls_per_run(window: StormWindow, *, factor: float, replications: int,
                        interval_minutes: int = WHATIF_INTERVAL_MINUTES) -> float:
    """Expected callers in the largest simulation run of the what-if."""
    seconds = interval_minutes * 60
    model = simulation.SingleSkillModel(float(seconds), window.offered / seconds, window.aht, 0)
    first, last = window.surge
    return simulation.storm_calls_per_run(model, simulation.Surge(first, last, float(factor)),
                                          replications=replications, candidates=WHATIF_CANDIDATES,
                                          warmup_intervals=min(4, first))


def max_replications(window: StormWindow, *, factor: float) -> int:
    """Most replications whose runs stay within MAX_CALLS_PER_RUN (0: none fits)."""
    one = storm_calls_per_run(window, factor=factor, replications=1)
    return int(MAX_CALLS_PER_RUN // one) if one > 0 else WHATIF_REPLICATIONS[1]


def storm_load_check(*, queue: Queue, day: dt.date, start: dt.time, hours: float, factor: float,
                     replications: int) -> None:
    """The form's quick check of the load (past weeks' averages, no forecast run):
    raises PlanningError without statistics or when one run would be too large."""
    expected = history_average(queue=queue, week_start=monday_of(day), interval_minutes=WHATIF_INTERVAL_MINUTES)
    if expected.source == "none":
        raise PlanningError(gettext("No interval statistics for this queue yet."))
    _check_load(storm_window(expected, day=day, start=start, hours=hours), factor=factor, replications=replications)


def _check_load(window: StormWindow, *, factor: float, replications: int) -> None:
    calls = storm_calls_per_run(window, factor=factor, replications=replications)
    if calls <= MAX_CALLS_PER_RUN:
        return
    fits = max_replications(window, factor=factor)
    values = {"calls": f"{calls:,.0f}", "max": f"{MAX_CALLS_PER_RUN:,}", "fits": fits}
    if fits >= WHATIF_REPLICATIONS[0]:
        raise PlanningError(gettext("At this queue's call volume one simulation run would hold about %(calls)s callers "
                              "(at most %(max)s): use at most %(fits)d replications, or a shorter or smaller storm.")
                            % values)
    raise PlanningError(gettext("At this queue's call volume one simulation run would hold about %(calls)s callers "
                          "(at most %(max)s) even with the fewest replications: shorten the storm or lower the "
                          "factor.") % values)


@dataclass
class StormAnswer:
    queue: Queue | None  # None when the queue was deleted since
    queue_name: str
    day: dt.date
    interval_minutes: int
    labels: list[str]  # HH:MM per interval of the window
    surge: tuple[int, int]  # [first, last) within the window
    factor: float
    target: float
    offered: np.ndarray  # without the storm
    base_agents: np.ndarray  # net agents meeting the target without the storm
    extra_agents: np.ndarray  # simulated standby agents needed per interval
    erlang_extra: np.ndarray  # the Erlang first guess
    service_level: np.ndarray  # simulated, with the extras (NaN: not simulated)
    service_level_without: np.ndarray  # simulated, base staffing only
    decided: np.ndarray  # bool: the interval's extras were established by simulation
    searched: tuple[int, int]  # [first, last) intervals the simulation decides
    complete: bool  # everything decided and re-checked within the budget
    rechecked: bool
    replications: int
    budget_seconds: float
    seconds: float  # how long it took

    @property
    def standby(self) -> int:
        """Standby agents at the peak, among the intervals the simulation established."""
        return int(self.extra_agents[self.decided].max(initial=0))

    @property
    def provisional_standby(self) -> int:
        """Peak including the intervals only estimated (Erlang) when the budget ran out."""
        return int(self.extra_agents.max(initial=0))

    @property
    def proven(self) -> int:
        return int(self.decided[self.searched[0]:self.searched[1]].sum())

    @property
    def to_decide(self) -> int:
        return self.searched[1] - self.searched[0]

    @property
    def proven_until(self) -> str | None:
        """End (HH:MM) of the last established interval; None when none is."""
        done = np.flatnonzero(self.decided)
        if not done.size:
            return None
        i = int(done[-1]) + 1
        if i < len(self.labels):
            return self.labels[i]
        minute = (int(self.labels[-1][:2]) * 60 + int(self.labels[-1][3:]) + self.interval_minutes) % MINUTES_PER_DAY
        return f"{minute // 60:02d}:{minute % 60:02d}"

    @property
    def agent_hours(self) -> float:
        return float(self.extra_agents[self.decided].sum()) * self.interval_minutes / 60.0

    def as_json(self) -> dict:
        """JSON for the job's result (NaN as null: PostgreSQL's jsonb has no NaN)."""
        def floats(a):
            return [None if not math.isfinite(v) else round(float(v), 6) for v in np.asarray(a, dtype=float)]

        return {
            "queue": self.queue.pk if self.queue else None, "queue_name": self.queue_name,
            "day": self.day.isoformat(), "interval_minutes": self.interval_minutes, "labels": self.labels,
            "surge": list(self.surge), "factor": self.factor, "target": self.target, "offered": floats(self.offered),
            "base_agents": [int(v) for v in self.base_agents], "extra_agents": [int(v) for v in self.extra_agents],
            "erlang_extra": [int(v) for v in self.erlang_extra], "service_level": floats(self.service_level),
            "service_level_without": floats(self.service_level_without),
            "decided": [bool(v) for v in self.decided], "searched": list(self.searched), "complete": self.complete,
            "rechecked": self.rechecked, "replications": self.replications, "budget_seconds": self.budget_seconds,
            "seconds": round(self.seconds, 2),
        }

    @classmethod
    def from_json(cls, data: dict) -> StormAnswer:
        def floats(a):
            return np.array([np.nan if v is None else v for v in a], dtype=float)

        return cls(
            Queue.objects.filter(pk=data.get("queue")).first(), data["queue_name"], dt.date.fromisoformat(data["day"]),
            int(data["interval_minutes"]), list(data["labels"]), tuple(data["surge"]), float(data["factor"]),
            float(data["target"]), floats(data["offered"]), np.array(data["base_agents"], dtype=np.int64),
            np.array(data["extra_agents"], dtype=np.int64), np.array(data["erlang_extra"], dtype=np.int64),
            floats(data["service_level"]), floats(data["service_level_without"]),
            np.array(data["decided"], dtype=bool), tuple(data["searched"]), bool(data["complete"]),
            bool(data["rechecked"]), int(data["replications"]), float(data["budget_seconds"]), float(data["seconds"]))


def _check_bounds(*, hours: float, factor: float, target_pct: float, replications: int) -> None:
    if not WHATIF_FACTOR[0] <= factor <= WHATIF_FACTOR[1]:
        raise PlanningError(gettext("The factor must be between 1 and 20."))
    if not WHATIF_HOURS[0] <= hours <= WHATIF_HOURS[1]:
        raise PlanningError(gettext("The storm lasts between half an hour and 24 hours."))
    if not WHATIF_TARGET_PCT[0] <= target_pct <= WHATIF_TARGET_PCT[1]:
        raise PlanningError(gettext("The service-level target must be between 1% and 99.9%."))
    if not WHATIF_REPLICATIONS[0] <= replications <= WHATIF_REPLICATIONS[1]:
        raise PlanningError(gettext("Replications must be between 10 and 200."))


# progress(fraction, intervals decided, intervals to decide, phase)
StormProgress = Callable[[float, int, int, str], None]


def storm_what_if(*, queue: Queue, day: dt.date, start: dt.time, hours: float, factor: float, target_pct: float,
                  replications: int = 40, seed: int = 0, time_budget: float | None = None,
                  progress: StormProgress | None = None) -> StormAnswer:
    """"A storm multiplies this queue's calls by ``factor`` from ``start`` for ``hours``: how many
    standby agents keep the service level >= ``target_pct``?" -- simulated with
    :func:`hotline.workforce.simulation.storm_extra_agents` on top of the staffing that meets the
    target without the storm.

    Slow (a background job's work): ``time_budget`` seconds (default :func:`whatif_seconds`) bound
    it; when they run out the answer holds what the simulation established by then
    (``complete`` False, ``decided`` per interval)."""
    started = time.monotonic()
    budget = whatif_seconds() if time_budget is None else float(time_budget)
    _check_bounds(hours=hours, factor=factor, target_pct=target_pct, replications=replications)
    interval_minutes = WHATIF_INTERVAL_MINUTES
    expected = expected_calls(queue=queue, week_start=monday_of(day), interval_minutes=interval_minutes)
    if expected.source == "none":
        raise PlanningError(gettext("No interval statistics for this queue yet."))
    window = storm_window(expected, day=day, start=start, hours=hours, interval_minutes=interval_minutes)
    _check_load(window, factor=factor, replications=replications)
    offered, aht = window.offered, window.aht
    first, last = window.surge
    target_row = _target_of(queue)
    targets, kwargs = staffing_targets(target_row)
    kwargs.pop("shrinkage", None)
    targets = staffing.StaffingTargets(target_pct / 100.0, targets.answer_time)
    seconds = interval_minutes * 60
    base = staffing.required_agents_for_intervals(offered, aht, seconds, targets, with_metrics=False, **kwargs).agents
    surged = offered.copy()
    surged[first:last] *= factor
    erlang = staffing.required_agents_for_intervals(surged, aht, seconds, targets, with_metrics=False, **kwargs).agents
    patience = float(target_row.patience_seconds) if target_row and target_row.patience_seconds else None
    model = simulation.SingleSkillModel(float(seconds), offered / seconds, aht, base, patience)

    def told(done: int, total: int, phase: str) -> None:
        if progress is not None:
            progress(0.95 if phase == "recheck" else 0.95 * done / max(total, 1), done, total, phase)

    answer = simulation.storm_extra_agents(model, simulation.Surge(first, last, float(factor)), target_pct / 100.0,
                                           answer_time=targets.answer_time, replications=replications,
                                           candidates=WHATIF_CANDIDATES, warmup_intervals=min(4, first), seed=seed,
                                           deadline=started + budget, progress=told)
    return StormAnswer(queue, queue.name, day, interval_minutes, window.labels(interval_minutes), (first, last),
                       float(factor), target_pct / 100.0, offered, base, answer.extra_agents,
                       np.maximum(erlang - base, 0), answer.service_level, answer.service_level_without,
                       answer.decided, answer.searched, answer.complete, answer.rechecked, replications, budget,
                       time.monotonic() - started)
