"""The daily operations report (C4c, C4d): yesterday's KPIs of a center,
each of its teams and agents, orders by type and state, overdue orders and
callbacks, with the previous 7 days for trend and a flag on every metric
on the wrong side of its target. Reads only; the page, the downloads and
the morning mail all show what ``daily_report`` returns."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, fields

from django.db.models import Count
from django.utils import formats, timezone
from django.utils.translation import gettext as gettext_now
from django.utils.translation import gettext_lazy as _

from hotline.calls import kpis as call_kpis
from hotline.calls.kpis import Figures, Period, rate
from hotline.core import clock
from hotline.organisation.models import Role, Unit, User
from hotline.reports import kpis
from hotline.reports import policies as targets
from hotline.reports.labels import LABELS, PER_MILLION, SECONDS, SHARE
from hotline.reports.models import Team
from hotline.timelimits.models import Clock, ClockStatus
from hotline.workorders.models import TERMINAL, State

TREND_DAYS = 7
DASH = "—"

CENTER_METRICS = tuple(LABELS)
PERSON_METRICS = ("answered", "aht_s", "ring_pass_rate", "satisfaction", "orders_accepted", "callback_rate",
                  "complaints_per_answered_call", "omission_rate")
# Order KPIs of the center, by the keys of ``kpis.ORDER_KPIS`` (repeat requests counted month to date).
CENTER_ORDER_KPIS = tuple(k for k in kpis.ORDER_KPIS if k != "repeat_request_rate")
PERSON_ORDER_KPIS = ("callback_rate", "complaints_per_answered_call", "omission_rate")


# --- how a figure reads ---------------------------------------------------------------

def text(value: float | None, kind: str) -> str:
    if value is None:
        return DASH
    if kind == SHARE:
        # Rounded first: number_format cuts a float's digits off.
        return f"{formats.number_format(round(value * 100, 2), 2)}%"
    if kind == SECONDS:
        return gettext_now("%(seconds)s s") % {"seconds": formats.number_format(round(value, 1), 1)}
    if kind == PER_MILLION:
        return formats.number_format(round(value, 2), 2)
    return formats.number_format(int(value), 0, force_grouping=True)


def target_text(target: float | None, kind: str, direction: str) -> str:
    if target is None:
        return ""
    sign = "≥" if direction == "min" else "≤"
    if kind == SHARE:
        return f"{sign} {formats.number_format(target, 3 if target % 1 else 0)}%"
    if kind == SECONDS:
        return f"{sign} " + gettext_now("%(seconds)s s") % {"seconds": f"{target:g}"}
    return f"{sign} {target:g}"


@dataclass
class Metric:
    """One metric of a row: its value, the value of each trend day, its
    target (in the unit it reads in: percent for shares) and the flag."""

    key: str
    value: float | None
    trend: list[float | None] = field(default_factory=list)

    @property
    def label(self):
        return LABELS[self.key][0]

    @property
    def kind(self) -> str:
        return LABELS[self.key][1]

    @property
    def target(self) -> tuple[float | None, str]:
        return targets.target(self.key)

    def flag(self, value: float | None) -> bool:
        """C4d: on the wrong side of its target; an empty figure never is."""
        goal, direction = self.target
        if goal is None or value is None:
            return False
        shown = value * 100 if self.kind == SHARE else value
        # Compared as shown, to the report's precision: 99.9995% is not "below 99.999%".
        shown = round(shown, 6)
        return shown < goal if direction == "min" else shown > goal

    @property
    def flagged(self) -> bool:
        return self.flag(self.value)

    @property
    def text(self) -> str:
        return text(self.value, self.kind)

    @property
    def target_text(self) -> str:
        goal, direction = self.target
        return target_text(goal, self.kind, direction)

    @property
    def trend_cells(self) -> list[dict]:
        return [{"text": text(v, self.kind), "flagged": self.flag(v)} for v in self.trend]


@dataclass
class Row:
    name: str
    metrics: list[Metric]

    @property
    def flagged(self) -> int:
        return sum(m.flagged for m in self.metrics)


@dataclass
class DailyReport:
    center: Unit
    day: dt.date
    trend_days: list[dt.date]
    generated_at: dt.datetime
    center_metrics: list[Metric]
    teams: list[Row]
    agents: list[Row]
    type_names: list[str]
    state_labels: list[str]
    by_type: list[dict]
    state_totals: list[int]
    orders_total: int
    overdue: list[dict]
    overdue_count: int
    callbacks: dict
    missed_callbacks: list[dict]

    @property
    def flagged(self) -> list[Metric]:
        return [m for m in self.center_metrics if m.flagged]

    @property
    def person_labels(self) -> list:
        return [LABELS[k][0] for k in PERSON_METRICS]


# --- the figures ----------------------------------------------------------------------

def _sum(items: list[Figures]) -> Figures:
    out = Figures()
    for f in items:
        for spec in fields(Figures):
            setattr(out, spec.name, getattr(out, spec.name) + getattr(f, spec.name))
    return out


def call_figures(period: Period, scope: kpis.Scope) -> Figures:
    """The call figures of a scope: an agent's; a team's (its members'
    summed: each answered call has one agent); a center's: every queue of
    its switch, as the wallboard counts them (calls carry no center)."""
    settings = call_kpis.Settings.current()
    if scope.agent is not None:
        return call_kpis.figures(period, agent=scope.agent, settings=settings)
    if scope.members is not None:
        users = User.objects.filter(pk__in=scope.members)
        return _sum([call_kpis.figures(period, agent=u, settings=settings) for u in users])
    return call_kpis.figures(period, queue=scope.queue, settings=settings)


def _inquiry_talk(period: Period, scope: kpis.Scope) -> float | None:
    """C3f over the scope's answered calls (its centers' queues, an agent's,
    a team's): mean talk time of the calls whose orders are all inquiries,
    as ``calls.kpis.inquiry_talk`` counts one queue's."""
    from django.db.models import Exists, OuterRef, Sum

    from hotline.workorders.models import OrderContact

    links = OrderContact.objects.filter(contact=OuterRef("contact"))
    inquiry = call_kpis.INQUIRY_TYPES
    qs = (scope.answered_calls(period).filter(contact__isnull=False, talk_s__isnull=False)
          .filter(Exists(links.filter(order__business_type__code__in=inquiry)))
          .exclude(Exists(links.exclude(order__business_type__code__in=inquiry))))
    row = qs.aggregate(n=Count("pk"), talk=Sum("talk_s"))
    return rate(row["talk"], row["n"])


def figures_of(period: Period, scope: kpis.Scope, *, keys: tuple[str, ...]) -> dict[str, float | None]:
    """Every metric of ``keys`` for one period and scope."""
    out: dict[str, float | None] = {}
    f = call_figures(period, scope)
    calls = {
        "offered": f.offered, "answered": f.answered, "answer_rate": rate(f.answered, f.offered),
        "service_level": rate(f.answered_within_T, f.offered), "abandon_rate": rate(f.abandoned, f.offered),
        "asa_s": rate(f.wait_answered_s, f.answered), "aht_s": rate(f.handle_s, f.answered),
        "ring_pass_rate": rate(f.ring_pass, f.ring_known), "satisfaction": rate(f.satisfied, f.surveys),
    }
    out.update({k: v for k, v in calls.items() if k in keys})
    if "avg_inquiry_talk_s" in keys:
        out["avg_inquiry_talk_s"] = _inquiry_talk(period, scope)
    if "orders_accepted" in keys:
        out["orders_accepted"] = scope.orders().filter(created_at__gte=period.start, created_at__lt=period.end).count()
    for key in keys:
        if key in kpis.ORDER_KPIS and key != "repeat_request_rate":
            out[key] = kpis.ORDER_KPIS[key][0](period, scope).rate
    if "repeat_request_rate" in keys:
        local = timezone.localtime(period.start)
        month = Period(local.replace(day=1, hour=0, minute=0, second=0, microsecond=0), period.end)
        out["repeat_request_rate"] = kpis.repeat_requests(month, scope).rate
    return out


# --- who ------------------------------------------------------------------------------

def agents_of(center: Unit) -> list[User]:
    return list(User.objects.filter(role=Role.AGENT, is_active=True, unit__path__startswith=center.path)
                .order_by("agent_number", "username"))


def teams_of(center: Unit) -> list[Team]:
    return list(Team.objects.filter(center=center, active=True).prefetch_related("members").order_by("name"))


def _person_rows(period: Period, center: Unit, scopes: list[tuple[str, tuple[int, ...]]],
                 figures: kpis.PersonFigures) -> list[Row]:
    """A row per agent or team (name, its users' ids) from the counts read
    once for all of them (``kpis.person_counts``)."""
    rows = []
    for name, users in scopes:
        c, complaints = figures.of(users)
        values = {
            "answered": c.answered, "aht_s": rate(c.handle_s, c.answered), "ring_pass_rate": rate(c.ring_pass, c.ring_known),
            "satisfaction": rate(c.satisfied, c.surveys), "orders_accepted": c.orders_accepted,
            "callback_rate": rate(c.callbacks_due - c.callbacks_missed, c.callbacks_due),
            "complaints_per_answered_call": rate(complaints, c.answered), "omission_rate": rate(c.unhandled, c.requests),
        }
        rows.append(Row(name=name, metrics=[Metric(k, values[k]) for k in PERSON_METRICS]))
    return rows


# --- orders ---------------------------------------------------------------------------

def _orders_by_type_and_state(period: Period, scope: kpis.Scope) -> dict:
    rows = (scope.orders().filter(created_at__gte=period.start, created_at__lt=period.end).order_by()
            .values("business_type__name", "business_type__sort_order", "state").annotate(n=Count("pk")))
    states = [s for s in State if any(r["state"] == s.value for r in rows)]
    types: dict[str, dict[str, int]] = {}
    order = {}
    for r in rows:
        types.setdefault(r["business_type__name"], {})[r["state"]] = r["n"]
        order[r["business_type__name"]] = r["business_type__sort_order"]
    names = sorted(types, key=lambda n: (order[n], n))
    by_type = [{"name": n, "counts": [types[n].get(s.value, 0) for s in states], "total": sum(types[n].values())}
               for n in names]
    return {"type_names": names, "state_labels": [s.label for s in states], "by_type": by_type,
            "state_totals": [sum(t["counts"][i] for t in by_type) for i in range(len(states))],
            "orders_total": sum(t["total"] for t in by_type)}


OVERDUE_LIMIT = 50


def _overdue(scope: kpis.Scope, now: dt.datetime) -> tuple[list[dict], int]:
    """Open orders of the scope with a limit passed and still running now,
    the longest overdue first."""
    from hotline.workorders import labels

    qs = (Clock.objects.filter(status=ClockStatus.RUNNING, due_at__lt=now, order__isnull=False)
          .exclude(order__state__in=TERMINAL).filter(order__in=scope.orders()))
    count = qs.values("order_id").distinct().count()
    out, seen = [], set()
    for c in qs.select_related("order__business_type", "responsible_unit").order_by("due_at")[:OVERDUE_LIMIT * 3]:
        if c.order_id in seen:
            continue
        seen.add(c.order_id)
        out.append({"number": c.order.number, "type": c.order.business_type.name, "state": c.order.get_state_display(),
                    "metric": labels.label(labels.METRICS, c.metric), "due_at": c.due_at,
                    "overdue": _hours(now - c.due_at), "unit": c.responsible_unit.name if c.responsible_unit else ""})
        if len(out) >= OVERDUE_LIMIT:
            break
    return out, count


def _hours(span: dt.timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    return f"{minutes // 60}:{minutes % 60:02d}"


def _callbacks(period: Period, scope: kpis.Scope, now: dt.datetime) -> tuple[dict, list[dict]]:
    """Callbacks due in the period: done in limit, done late, closed
    without one, still waiting (past due); the missed ones listed."""
    clocks = (kpis.order_clocks(period, scope, metric="callback").select_related("order__business_type")
              .only("order_id", "status", "stopped_by", "due_at", "order__number", "order__business_type__name"))
    kept = late = closed = waiting = 0
    missed: dict[int, dict] = {}
    counted: dict[int, str] = {}
    for c in clocks.order_by("due_at"):
        if c.status == ClockStatus.MET and c.stopped_by == "callback":
            outcome = "kept"
        elif c.status == ClockStatus.RUNNING:
            outcome = "waiting"
        elif c.stopped_by == "callback":
            outcome = "late"
        else:
            outcome = "closed"
        # An order counts once: its worst round.
        worst = {"kept": 0, "late": 1, "closed": 2, "waiting": 3}
        if c.order_id in counted and worst[counted[c.order_id]] >= worst[outcome]:
            continue
        counted[c.order_id] = outcome
        if outcome != "kept":
            missed[c.order_id] = {"number": c.order.number, "type": c.order.business_type.name, "due_at": c.due_at,
                                  "outcome": outcome}
        else:
            missed.pop(c.order_id, None)
    for outcome in counted.values():
        kept += outcome == "kept"
        late += outcome == "late"
        closed += outcome == "closed"
        waiting += outcome == "waiting"
    labels = {"late": _("Called back late"), "closed": _("Closed without a callback"),
              "waiting": _("Not called back yet")}
    rows = [{**m, "outcome_label": labels[m["outcome"]]} for m in missed.values()]
    return {"due": len(counted), "kept": kept, "late": late, "closed": closed, "waiting": waiting,
            "rate": rate(kept, len(counted))}, rows


# --- the report -----------------------------------------------------------------------

def yesterday(now: dt.datetime | None = None) -> dt.date:
    return timezone.localtime(now or clock.now()).date() - dt.timedelta(days=1)


def daily_report(center: Unit, day: dt.date, *, trend: bool = True) -> DailyReport:
    """The daily operations report of ``center`` for ``day`` (the center's
    calendar day), with the ``TREND_DAYS`` days before it."""
    now = clock.now()
    period = Period.day(day)
    scope = kpis.Scope(unit=center)
    trend_days = [day - dt.timedelta(days=n) for n in range(TREND_DAYS, 0, -1)] if trend else []
    values = figures_of(period, scope, keys=CENTER_METRICS)
    history = [figures_of(Period.day(d), scope, keys=CENTER_METRICS) for d in trend_days]
    metrics = [Metric(k, values[k], [h[k] for h in history]) for k in CENTER_METRICS]
    team_scopes = [(t.name, tuple(m.pk for m in t.members.all())) for t in teams_of(center)]
    agent_scopes = [(f"{a.agent_number} {a.display_name or a.username}".strip(), (a.pk,)) for a in agents_of(center)]
    # Every agent's and team's counts in one grouped query per figure (a center has hundreds of agents).
    users = sorted({pk for _name, pks in team_scopes + agent_scopes for pk in pks})
    people = kpis.person_counts(period, center, users, ring_limit_s=call_kpis.Settings.current().ring_limit_s())
    teams = _person_rows(period, center, team_scopes, people)
    agents = _person_rows(period, center, agent_scopes, people)
    overdue, overdue_count = _overdue(scope, now)
    callbacks, missed = _callbacks(period, scope, now)
    return DailyReport(center=center, day=day, trend_days=trend_days, generated_at=now, center_metrics=metrics,
                       teams=teams, agents=agents, overdue=overdue, overdue_count=overdue_count,
                       callbacks=callbacks, missed_callbacks=missed, **_orders_by_type_and_state(period, scope))
