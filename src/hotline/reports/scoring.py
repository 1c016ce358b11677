"""The monthly center score out of 100 (C4g): each scored metric earns
its points against its target, then the month's deductions come off.

The items and deductions are the administrator's (``ScoreItem``,
``ScoreDeduction`` in the admin, "Reports"); until any is set up the
defaults below apply. A metric's points are earned

- ``proportional``: a metric with a floor (a rate of at least its target)
  earns points × value ÷ target, at most all of them; one with a ceiling
  (complaints, omissions: at most its target) earns all while within it,
  else points × target ÷ value;
- ``threshold``: all the points when the target is met, none otherwise.

A metric with nothing to count in the month (no complaint fell due, no
outage) earns its points: there was nothing to miss. The items' points
are scaled to a total of 100 when they add up to something else. Each
deduction takes its points off for every event of its kind in the month,
at most its cap; the score is never below 0. The targets are the daily
report's (``reports.policies``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

from hotline.calls.kpis import Period
from hotline.reports import kpis
from hotline.reports import policies as targets
from hotline.reports.labels import EVENTS, LABELS, SHARE
from hotline.reports.models import ScoreDeduction, ScoreItem, ScoreMethod

# (metric, points, method): the "six 100%" [000] and the calls' own figures, 100 in all.
DEFAULT_ITEMS = (
    ("answer_rate", 15, ScoreMethod.PROPORTIONAL), ("service_level", 10, ScoreMethod.PROPORTIONAL),
    ("ring_pass_rate", 10, ScoreMethod.PROPORTIONAL), ("callback_rate", 10, ScoreMethod.PROPORTIONAL),
    ("complaint_timeliness", 10, ScoreMethod.PROPORTIONAL), ("supervision_rate", 10, ScoreMethod.PROPORTIONAL),
    ("work_order_correctness", 10, ScoreMethod.PROPORTIONAL),
    ("outage_publication_timeliness", 10, ScoreMethod.PROPORTIONAL),
    ("satisfaction", 10, ScoreMethod.PROPORTIONAL), ("omission_rate", 5, ScoreMethod.PROPORTIONAL),
)
# (event, points each, cap): [000]'s "ringing longer than the limit −2 each time".
DEFAULT_DEDUCTIONS = (("ring_over_limit", 2, 20),)


@dataclass
class Earned:
    metric: str
    value: float | None
    target: float | None
    direction: str
    points: float
    method: str
    earned: float

    @property
    def label(self):
        return LABELS[self.metric][0]

    @property
    def text(self) -> str:
        from hotline.reports.selectors import text

        return text(self.value, LABELS[self.metric][1])

    @property
    def target_text(self) -> str:
        from hotline.reports.selectors import target_text

        return target_text(self.target, LABELS[self.metric][1], self.direction)


@dataclass
class Deducted:
    event: str
    count: int
    points_each: float
    cap: float
    deducted: float

    @property
    def label(self):
        return EVENTS[self.event]


@dataclass
class Score:
    center: object
    month: dt.date
    items: list[Earned]
    deductions: list[Deducted]

    @property
    def earned(self) -> float:
        return round(sum(i.earned for i in self.items), 2)

    @property
    def deducted(self) -> float:
        return round(sum(d.deducted for d in self.deductions), 2)

    @property
    def total(self) -> float:
        return max(0.0, round(self.earned - self.deducted, 2))


def month_period(month: dt.date) -> Period:
    start = dt.datetime(month.year, month.month, 1)
    following = dt.datetime(month.year + (month.month == 12), month.month % 12 + 1, 1)
    return Period(start, following)


def items() -> list[tuple[str, float, str]]:
    configured = [(i.metric, float(i.points), i.method) for i in ScoreItem.objects.filter(active=True)]
    return configured or [(m, float(p), str(method)) for m, p, method in DEFAULT_ITEMS]


def deductions() -> list[tuple[str, float, float]]:
    configured = [(d.event, float(d.points_each), float(d.cap)) for d in ScoreDeduction.objects.filter(active=True)]
    return configured or [(e, float(p), float(c)) for e, p, c in DEFAULT_DEDUCTIONS]


def earned(value: float | None, target: float | None, direction: str, points: float, method: str) -> float:
    """The points a metric earns (``value`` a share for rates, ``target`` in
    the unit it reads in: percent for shares)."""
    if value is None or target is None:
        return points  # nothing to count, or no target to miss
    if direction == "min":
        if method == ScoreMethod.THRESHOLD:
            return points if value >= target else 0.0
        return points * min(1.0, value / target) if target else points
    if method == ScoreMethod.THRESHOLD or value <= target:
        return points if value <= target else 0.0
    return points * target / value


def _events(period: Period, scope: kpis.Scope) -> dict[str, int]:
    """How often each deducted event happened in the month."""
    from hotline.reports.selectors import call_figures

    def missed(r: kpis.Ratio) -> int:
        return int(r.denominator - r.numerator)

    f = call_figures(period, scope)
    return {
        "ring_over_limit": f.ring_known - f.ring_pass,
        "callback_missed": missed(kpis.callback_rate(period, scope)),
        "complaint_late": missed(kpis.complaint_timeliness(period, scope)),
        "overdue_unsupervised": missed(kpis.supervision_rate(period, scope)),
        "outage_late": missed(kpis.outage_publication_timeliness(period, scope)),
        "omission": int(kpis.omission_rate(period, scope).numerator),
    }


def monthly_score(center, month: dt.date) -> Score:
    """The center's score of the calendar month of ``month`` (center's time zone)."""
    from hotline.reports.selectors import figures_of

    period = month_period(month)
    scope = kpis.Scope(unit=center)
    chosen = items()
    values = figures_of(period, scope, keys=tuple(m for m, _p, _method in chosen))
    total_points = sum(p for _m, p, _method in chosen)
    scale = 100.0 / total_points if total_points else 0.0
    out = []
    for metric, points, method in chosen:
        goal, direction = targets.target(metric)
        value = values.get(metric)
        shown = value * 100 if value is not None and LABELS[metric][1] == SHARE else value
        points = points * scale
        out.append(Earned(metric=metric, value=value, target=goal, direction=direction or "min", points=round(points, 2),
                          method=method, earned=round(earned(shown, goal, direction or "min", points, method), 2)))
    counts = _events(period, scope)
    off = []
    for event, each, cap in deductions():
        n = counts.get(event, 0)
        off.append(Deducted(event=event, count=n, points_each=each, cap=cap, deducted=round(min(cap, n * each), 2)))
    return Score(center=center, month=month.replace(day=1), items=out, deductions=off)


def this_month(now: dt.datetime | None = None) -> dt.date:
    from hotline.core import clock

    return timezone.localtime(now or clock.now()).date().replace(day=1)


