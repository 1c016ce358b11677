"""Reads for the planning pages (no writes)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from django.db.models import Count, Max, Min, Sum
from django.utils import timezone

from hotline.planning.models import (
    IntervalStat,
    Queue,
    Schedule,
    ScheduleAssignment,
    ScheduleStatus,
    ShiftTemplate,
)
from hotline.planning.services import (
    DAYS,
    MINUTES_PER_DAY,
    monday_of,
    workforce_schedule,
)


def queues_with_stats() -> list[Queue]:
    queues = list(Queue.objects.select_related("target").annotate(
        n_stats=Count("stats"), first_stat=Min("stats__start"), last_stat=Max("stats__start"),
        total_offered=Sum("stats__offered")))
    for q in queues:
        q.target_row = getattr(q, "target", None)  # the reverse one-to-one raises an AttributeError subclass
    return queues


def templates() -> list[ShiftTemplate]:
    return list(ShiftTemplate.objects.all())


@dataclass(frozen=True)
class PublishedShift:
    """A shift of one day in a published schedule: its agent (None where
    the schedule has shift counts but no roster) and the schedule's queue
    code ("" for every queue)."""

    agent: object | None
    template: ShiftTemplate
    queue: str


def published_shifts(day: dt.date) -> list[PublishedShift] | None:
    """The shifts of ``day`` in the published schedules of its week (the
    latest published per queue); None when its week has none."""
    out: list[PublishedShift] = []
    seen_queues: set[int | None] = set()
    schedules = list(Schedule.objects.filter(week_start=monday_of(day), status=ScheduleStatus.PUBLISHED)
                     .select_related("queue").order_by("-published_at", "-id"))
    if not schedules:
        return None
    for schedule in schedules:
        if schedule.queue_id in seen_queues:
            continue
        seen_queues.add(schedule.queue_id)
        code = schedule.queue.code if schedule.queue_id else ""
        assigned = list(schedule.assignments.filter(day=day.weekday()).select_related("agent", "template")
                        .order_by("template__start_time", "agent__username"))
        if assigned or schedule.assignments.exists():
            out.extend(PublishedShift(a.agent, a.template, code) for a in assigned)
            continue
        for shift in schedule.shifts.filter(day=day.weekday()).select_related("template"):
            out.extend(PublishedShift(None, shift.template, code) for _ in range(shift.count))
    return out


def recent_schedules(limit: int = 20) -> list[Schedule]:
    return list(Schedule.objects.select_related("queue", "created_by", "published_by")
                .annotate(n_shifts=Sum("shifts__count"))[:limit])


def latest_stat_date() -> dt.date | None:
    last = IntervalStat.objects.aggregate(last=Max("start"))["last"]
    return timezone.localtime(last).date() if last else None


@dataclass
class CoverageRow:
    index: int
    day: int
    label: str  # HH:MM
    required: int
    scheduled: int

    @property
    def diff(self) -> int:
        return self.scheduled - self.required

    @property
    def tone(self) -> str:
        return "under" if self.diff < 0 else ("over" if self.diff > 0 else "")


@dataclass
class Coverage:
    schedule: Schedule
    required: np.ndarray
    scheduled: np.ndarray
    rows: list[CoverageRow]

    @property
    def under_agent_hours(self) -> float:
        return float(np.maximum(self.required - self.scheduled, 0).sum()) * self.schedule.interval_minutes / 60

    @property
    def over_agent_hours(self) -> float:
        return float(np.maximum(self.scheduled - self.required, 0).sum()) * self.schedule.interval_minutes / 60

    @property
    def under_intervals(self) -> int:
        return int((self.scheduled < self.required).sum())

    @property
    def shift_hours(self) -> float:
        return float(self.scheduled.sum()) * self.schedule.interval_minutes / 60


def interval_label(index: int, interval_minutes: int) -> str:
    per_day = MINUTES_PER_DAY // interval_minutes
    minute = (index % per_day) * interval_minutes
    return f"{minute // 60:02d}:{minute % 60:02d}"


def coverage(schedule: Schedule) -> Coverage:
    week = workforce_schedule(schedule)
    per_day = MINUTES_PER_DAY // schedule.interval_minutes
    required = np.asarray(week.required, dtype=np.int64)
    scheduled = np.asarray(week.coverage, dtype=np.int64)
    rows = [CoverageRow(i, i // per_day, interval_label(i, schedule.interval_minutes), int(required[i]), int(scheduled[i]))
            for i in range(required.size)]
    return Coverage(schedule, required, scheduled, rows)


@dataclass
class CountCell:
    day: int
    count: int


@dataclass
class CountRow:
    template: ShiftTemplate
    cells: list[CountCell]

    @property
    def total(self) -> int:
        return sum(c.count for c in self.cells)


def count_grid(schedule: Schedule, *, all_templates: bool) -> list[CountRow]:
    """Shift templates x days; with ``all_templates`` also the active templates not used yet (for editing)."""
    counts: dict[tuple[int, int], int] = {}
    used = set()
    for s in schedule.shifts.all():
        counts[(s.template_id, s.day)] = s.count
        used.add(s.template_id)
    tpls = ShiftTemplate.objects.all()
    rows = []
    for t in tpls:
        if t.pk in used or (all_templates and t.active):
            rows.append(CountRow(t, [CountCell(d, counts.get((t.pk, d), 0)) for d in range(DAYS)]))
    return rows


def day_totals(rows: list[CountRow]) -> list[int]:
    return [sum(r.cells[d].count for r in rows) for d in range(DAYS)]


@dataclass
class AgentWeek:
    agent: object
    days: list[ShiftTemplate | None]

    @property
    def shifts(self) -> int:
        return sum(1 for d in self.days if d is not None)

    @property
    def hours(self) -> float:
        return sum(d.length_minutes for d in self.days if d is not None) / 60


def assignment_grid(schedule: Schedule) -> list[AgentWeek]:
    weeks: dict[int, AgentWeek] = {}
    for a in ScheduleAssignment.objects.filter(schedule=schedule).select_related("agent", "template"):
        week = weeks.setdefault(a.agent_id, AgentWeek(a.agent, [None] * DAYS))
        week.days[a.day] = a.template
    return sorted(weeks.values(), key=lambda w: (w.agent.agent_number or "", w.agent.username))


@dataclass
class ActualSeries:
    labels: list[str]
    starts: list[dt.datetime]
    offered: np.ndarray
    answered: np.ndarray
    aht: np.ndarray


def actual_day(*, queue: Queue, day: dt.date, interval_minutes: int = 30) -> ActualSeries:
    """Imported statistics of one day on the ``interval_minutes`` grid (finer rows summed, coarser split)."""
    per_day = MINUTES_PER_DAY // interval_minutes
    begin = timezone.make_aware(dt.datetime.combine(day, dt.time()))
    end = begin + dt.timedelta(days=1)
    offered = np.zeros(per_day)
    answered = np.zeros(per_day)
    handle = np.zeros(per_day)
    for s in IntervalStat.objects.filter(queue=queue, start__gte=begin, start__lt=end):
        local = timezone.localtime(s.start)
        minute = local.hour * 60 + local.minute
        parts = max(s.interval_minutes // interval_minutes, 1)
        for p in range(parts):
            slot = (minute + p * interval_minutes) // interval_minutes
            if slot < per_day:
                offered[slot] += s.offered / parts
                answered[slot] += s.answered / parts
                handle[slot] += s.offered / parts * s.aht_seconds
    with np.errstate(invalid="ignore", divide="ignore"):
        aht = np.where(offered > 0, handle / np.where(offered > 0, offered, 1), np.nan)
    labels = [interval_label(i, interval_minutes) for i in range(per_day)]
    starts = [begin + dt.timedelta(minutes=i * interval_minutes) for i in range(per_day)]
    return ActualSeries(labels, starts, offered, answered, aht)
