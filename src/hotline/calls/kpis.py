"""The call KPIs (C3a–i, C3r), counted as §5 of the spec says.

Every figure is computed by the database from the call records in one
aggregate query (``figures``), the same SQL on SQLite and PostgreSQL:

- a call belongs to the period of its offer (queue entry) time; periods
  are half-open ``[start, end)``; a time without an offset is in the
  center's time zone (C5a);
- each queue entry is one offered call of its queue (C5b);
- every exit without an answer is abandoned, a short abandon is one with
  wait ≤ S (C5c);
- an answered call's wait is its wait until the answer (queue_log's
  CONNECT hold time); its ring time the answering agent's ring; rings =
  ⌈ring ÷ ring cycle⌉, so "≤ N rings" is "ring ≤ N × cycle"; an answered
  call without a ring time is left out of the ring KPIs and counted as
  ``ring_unknown`` (C5d);
- AHT counts answered calls whose end is known; where the source carries
  no hold or after-call work (queue_log) it is talk time only, and
  ``aht_basis`` says so (C5e);
- a call still waiting or talking is not counted: ``in_progress`` (C5f);
- unplaced events make no call, so they are never counted (C5g); a
  duplicate event makes no second call (C5h);
- per agent: the calls the agent answered, plus the calls that rang the
  agent unanswered (``ring_no_answer``, C5i);
- a rate whose denominator is zero is None (``null`` in JSON), never 0 (C5j);
- ``asterisk_sl`` and ``asterisk_sl2`` are Asterisk's SL and SL2 as
  queues.conf defines them, to compare with a switch's own figures (C5k):
  SL = answered within T / answered; SL2 = (answered within T + abandoned
  within T) / (answered + abandoned).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

from django.db.models import (
    BooleanField,
    Count,
    ExpressionWrapper,
    F,
    FloatField,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from hotline.calls.models import IN_PROGRESS, Call, CallRing, CallStatus, RingOutcome

ANSWERED = Q(status=CallStatus.ENDED)
ABANDONED = Q(status=CallStatus.ABANDONED)
COUNTED = Q(status__in=[CallStatus.ENDED, CallStatus.ABANDONED])

AHT_FULL = "talk + hold + after-call work"
AHT_TALK_HOLD = "talk + hold: the source carries no after-call work"
AHT_TALK_ONLY = "talk only: the source carries no hold or after-call work"
AHT_MIXED = "talk + hold + after-call work where the source carries them, talk only for the other calls"


# --- rates: pure ------------------------------------------------------------------------

def rate(numerator: float | None, denominator: float | None) -> float | None:
    """numerator / denominator, None when the denominator is zero (C5j)."""
    if not denominator:
        return None
    return (numerator or 0) / denominator


def answer_rate(answered: int, offered: int) -> float | None:
    """C3a: answered / offered."""
    return rate(answered, offered)


def abandon_rate(abandoned: int, offered: int) -> float | None:
    """C3c: abandoned / offered."""
    return rate(abandoned, offered)


def service_level(answered_t: int, offered: int, *, short_abandoned: int = 0, exclude_short: bool = False
                  ) -> float | None:
    """C3b: answered within T / offered, or / (offered − short abandons)."""
    return rate(answered_t, offered - short_abandoned if exclude_short else offered)


def percent(value: float | None, places: int = 2) -> float | None:
    return None if value is None else round(value * 100, places)


# --- periods ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Period:
    """Half-open ``[start, end)`` of offer times (C5a)."""

    start: dt.datetime
    end: dt.datetime

    def __post_init__(self):
        for name in ("start", "end"):
            value = getattr(self, name)
            if timezone.is_naive(value):
                # In the center's time zone (settings.TIME_ZONE).
                object.__setattr__(self, name, timezone.make_aware(value))
        if self.end < self.start:
            raise ValueError("a period ends after it starts")

    @classmethod
    def parse(cls, start: str, end: str) -> Period:
        """From ISO texts; a date alone is its midnight, a time without an
        offset the center's."""
        return cls(_parse(start), _parse(end))

    @classmethod
    def day(cls, day: dt.date) -> Period:
        start = dt.datetime.combine(day, dt.time())
        return cls(start, start + dt.timedelta(days=1))


def _parse(text: str) -> dt.datetime:
    text = text.strip()
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        return dt.datetime.combine(dt.date.fromisoformat(text), dt.time())


# --- figures from the database -----------------------------------------------------------

@dataclass
class Settings:
    """T, S, R, N, the ring cycle and the pass rule; None: the policy in force."""

    T: float = 20
    S: float = 5
    R: float = 9
    N: int = 3
    ring_cycle: float = 3
    ring_pass_by: str = "seconds_or_rings"  # seconds_or_rings | seconds_only | rings_only

    @classmethod
    def current(cls, **overrides) -> Settings:
        from hotline.calls.policies import settings_now

        values = settings_now()
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def ring_limit_s(self) -> float:
        """The longest ring that passes (C3g): R seconds, N rings of the cycle, or either."""
        by_rings = self.N * self.ring_cycle
        return {"seconds_only": self.R, "rings_only": by_rings}.get(self.ring_pass_by, max(self.R, by_rings))


def calls(period: Period, *, queue: str | None = None, agent=None, source=None) -> QuerySet:
    """The call records of a period (by offer time) and scope. Per agent:
    those the agent answered and those that rang the agent unanswered (C5i)."""
    qs = Call.objects.filter(offered_at__gte=period.start, offered_at__lt=period.end)
    if queue:
        qs = qs.filter(queue=queue)
    if source is not None:
        qs = qs.filter(source=source)
    if agent is not None:
        rang = CallRing.objects.filter(agent=agent, outcome=RingOutcome.NO_ANSWER).values("call_id")
        qs = qs.filter(Q(agent=agent) | Q(pk__in=rang))
    return qs


@dataclass
class Figures:
    """The counts and sums every KPI of a scope is computed from."""

    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    short_abandoned: int = 0
    answered_within_T: int = 0
    abandoned_within_T: int = 0
    in_progress: int = 0
    waiting: int = 0
    talking: int = 0
    wait_answered_s: float = 0.0
    handle_s: float = 0.0
    no_hold: int = 0  # answered calls whose source carries no hold (queue_log, mod_callcenter)
    no_wrapup: int = 0  # answered calls whose source carries no after-call work (those and AMI)
    ring_known: int = 0
    ring_unknown: int = 0
    ring_pass: int = 0
    ring_sum_s: float = 0.0
    ring_no_answer: int = 0
    surveys: int = 0
    satisfied: int = 0


def figures(period: Period, *, queue: str | None = None, agent=None, source=None,
            settings: Settings | None = None) -> Figures:
    """One aggregate query over the scope's calls.

    The calls are grouped by what the figures tell apart — the status, the
    wait against S and T, whether hold, after-call work and the ring time
    are known, the ring against the limit, the survey answer and, for an
    agent, whether the agent answered — with a count and the sums in each
    group (a few dozen groups); each figure is the total of its groups. The
    same numbers as a ``COUNT … FILTER`` per figure, at half the cost a
    call: a month of a provincial center is about 900,000 calls, read from
    the covering offer-time index (``call_offered_cover_idx``)."""
    s = settings or Settings.current()

    def flag(q: Q) -> ExpressionWrapper:
        return ExpressionWrapper(q, output_field=BooleanField())

    keys = {"g_status": F("status"), "g_short": flag(Q(wait_s__lte=s.S)), "g_within_t": flag(Q(wait_s__lte=s.T)),
            "g_no_hold": flag(Q(hold_s__isnull=True)), "g_no_wrapup": flag(Q(wrapup_s__isnull=True)),
            "g_no_ring": flag(Q(ring_s__isnull=True)), "g_ring_pass": flag(Q(ring_s__lte=s.ring_limit_s())),
            "g_survey": F("survey_answer")}
    if agent is not None:
        keys["g_mine"] = flag(Q(agent=agent))
    zero = Value(0.0, output_field=FloatField())
    groups = calls(period, queue=queue, agent=agent, source=source).order_by().values(**keys).annotate(
        n=Count("pk"), wait=Sum("wait_s"),
        handle=Sum(Coalesce(F("talk_s"), zero) + Coalesce(F("hold_s"), zero) + Coalesce(F("wrapup_s"), zero),
                   output_field=FloatField()),
        ring=Sum("ring_s"), ring_no_answer=Sum("ring_no_answer"))
    out = Figures()
    for g in groups:
        status, n = g["g_status"], g["n"]
        if status in (CallStatus.ENDED, CallStatus.ABANDONED):
            out.offered += n
            out.ring_no_answer += g["ring_no_answer"] or 0
        if status == CallStatus.ABANDONED:
            out.abandoned += n
            out.short_abandoned += n if g["g_short"] else 0
            out.abandoned_within_T += n if g["g_within_t"] else 0
        elif status in IN_PROGRESS:
            out.in_progress += n
            if status == CallStatus.WAITING:
                out.waiting += n
            else:
                out.talking += n
        elif status == CallStatus.ENDED and (agent is None or g["g_mine"]):
            out.answered += n
            out.answered_within_T += n if g["g_within_t"] else 0
            out.wait_answered_s += g["wait"] or 0.0
            out.handle_s += g["handle"] or 0.0
            out.no_hold += n if g["g_no_hold"] else 0
            out.no_wrapup += n if g["g_no_wrapup"] else 0
            if g["g_no_ring"]:
                out.ring_unknown += n
            else:
                out.ring_known += n
                out.ring_pass += n if g["g_ring_pass"] else 0
                out.ring_sum_s += g["ring"] or 0.0
            if g["g_survey"] is not None:
                out.surveys += n
                out.satisfied += n if g["g_survey"] in (1, 2) else 0
    if agent is not None:
        out.ring_no_answer = CallRing.objects.filter(
            agent=agent, outcome=RingOutcome.NO_ANSWER, call__offered_at__gte=period.start,
            call__offered_at__lt=period.end, **({"call__queue": queue} if queue else {})).count()
    return out


# --- the KPIs ---------------------------------------------------------------------------

def offered(period: Period, **scope) -> int:
    """C3v: calls that asked for a human (and are over: C5f)."""
    return figures(period, **scope).offered


def answered(period: Period, **scope) -> int:
    return figures(period, **scope).answered


def abandoned(period: Period, **scope) -> int:
    """C5c: every exit without an answer."""
    return figures(period, **scope).abandoned


def short_abandoned(period: Period, **scope) -> int:
    """C3w: abandoned with wait ≤ S."""
    return figures(period, **scope).short_abandoned


def in_progress(period: Period, **scope) -> int:
    """C5f: still waiting or talking: reported, not counted."""
    return figures(period, **scope).in_progress


def answer_rate_of(period: Period, **scope) -> float | None:
    """C3a."""
    f = figures(period, **scope)
    return answer_rate(f.answered, f.offered)


def abandon_rate_of(period: Period, **scope) -> float | None:
    """C3c."""
    f = figures(period, **scope)
    return abandon_rate(f.abandoned, f.offered)


def service_level_of(period: Period, *, variant: str = "offered", **scope) -> float | None:
    """C3b, by variant: ``offered`` (answered within T / offered),
    ``excl_short`` (/ offered − short abandons), ``answered``
    (/ answered)."""
    f = figures(period, **scope)
    if variant == "offered":
        return service_level(f.answered_within_T, f.offered)
    if variant == "excl_short":
        return service_level(f.answered_within_T, f.offered, short_abandoned=f.short_abandoned, exclude_short=True)
    if variant == "answered":
        return rate(f.answered_within_T, f.answered)
    raise ValueError(f"unknown service-level variant {variant!r}")


def asterisk_sl(period: Period, **scope) -> float | None:
    """C5k: Asterisk's SL = answered within T / answered."""
    f = figures(period, **scope)
    return rate(f.answered_within_T, f.answered)


def asterisk_sl2(period: Period, **scope) -> float | None:
    """C5k: Asterisk's SL2 = (answered + abandoned within T) / (answered + abandoned)."""
    f = figures(period, **scope)
    return rate(f.answered_within_T + f.abandoned_within_T, f.answered + f.abandoned)


def asa(period: Period, **scope) -> float | None:
    """C3d: Σ wait of answered / answered (seconds)."""
    f = figures(period, **scope)
    return rate(f.wait_answered_s, f.answered)


@dataclass(frozen=True)
class Aht:
    seconds: float | None
    basis: str


def aht(period: Period, **scope) -> Aht:
    """C3e with C5e: Σ (talk + hold + wrap-up) / answered, and what it counts."""
    f = figures(period, **scope)
    return Aht(rate(f.handle_s, f.answered), _aht_basis(f))


def _aht_basis(f: Figures) -> str:
    """What the AHT counts (C5e): every part, talk + hold (AMI carries no
    after-call work), talk alone (queue_log, mod_callcenter), or a mixture
    of sources that differ."""
    if not f.answered or (not f.no_hold and not f.no_wrapup):
        return AHT_FULL
    if not f.no_hold and f.no_wrapup == f.answered:
        return AHT_TALK_HOLD
    if f.no_hold == f.answered and f.no_wrapup == f.answered:
        return AHT_TALK_ONLY
    return AHT_MIXED


def ring_pass_rate(period: Period, **scope) -> float | None:
    """C3g: answered calls whose ring passes (≤ R s, ≤ N rings, or either) /
    answered calls with a known ring time (C5d)."""
    f = figures(period, **scope)
    return rate(f.ring_pass, f.ring_known)


def ring_unknown(period: Period, **scope) -> int:
    """C5d: answered calls without a ring time."""
    return figures(period, **scope).ring_unknown


def satisfaction(period: Period, **scope) -> float | None:
    """C3i: (satisfied + basically satisfied) / survey answers."""
    f = figures(period, **scope)
    return rate(f.satisfied, f.surveys)


# --- KPIs that join the orders and the agents' state history ---------------------------------

INQUIRY_TYPES = ("inquiry",)  # 咨询 (with its progress and outage queries, sub-classes of it)


def _answered_calls(period: Period, *, queue=None, agent=None, source=None) -> QuerySet:
    qs = calls(period, queue=queue, agent=agent, source=source).filter(ANSWERED)
    return qs.filter(agent=agent) if agent is not None else qs


def inquiry_talk(period: Period, *, type_codes=INQUIRY_TYPES, **scope) -> float | None:
    """C3f: mean talk time (s) of the answered calls whose orders are all
    inquiries (at least one order, none of another type); target ≤ 180 s.
    None when no such call."""
    from django.db.models import Exists, OuterRef

    from hotline.workorders.models import OrderContact

    links = OrderContact.objects.filter(contact=OuterRef("contact"))
    qs = (_answered_calls(period, **scope).filter(contact__isnull=False, talk_s__isnull=False)
          .filter(Exists(links.filter(order__business_type__code__in=type_codes)))
          .exclude(Exists(links.exclude(order__business_type__code__in=type_codes))))
    row = qs.aggregate(n=Count("pk"), talk=Sum("talk_s"))
    return rate(row["talk"], row["n"])


def after_call_work(period: Period, **scope) -> float | None:
    """C3r: Σ (order saved − call end) / answered calls, in seconds: the
    desk time after the caller hung up, by the last order recorded from the
    call. An order saved while the call was on (C2c) adds nothing; a call
    that gave no order adds nothing but counts in the denominator."""
    from django.db.models import DurationField, ExpressionWrapper, OuterRef, Subquery

    from hotline.workorders.models import OrderContact

    answered = _answered_calls(period, **scope)
    last_saved = (OrderContact.objects.filter(contact=OuterRef("contact"), kind=OrderContact.Kind.ORIGIN)
                  .order_by("-order__created_at").values("order__created_at")[:1])
    late = (answered.filter(contact__isnull=False, ended_at__isnull=False)
            .annotate(saved=Subquery(last_saved)).filter(saved__gt=F("ended_at")))
    desk = late.aggregate(s=Sum(ExpressionWrapper(F("saved") - F("ended_at"), output_field=DurationField())))["s"]
    return rate(desk.total_seconds() if desk else 0.0, answered.count())


@dataclass(frozen=True)
class Occupancy:
    handle_s: float  # talking, on hold, after-call work
    ready_s: float  # ready and not on a call (ringing counts as available)
    rate: float | None  # C3h: handle / (handle + ready)


HANDLING = ("talking", "hold", "wrap_up")


def occupancy(period: Period, *, agent=None, agents=None) -> Occupancy:
    """C3h from the agents' state history (``AgentStateEvent``): each
    agent's presence and call activity followed through the period (from
    the state each was in at its start), up to now for a period still
    running. ``agent``: one agent; ``agents``: several; neither: all."""
    from django.contrib.auth import get_user_model
    from django.db.models import OuterRef, Subquery

    from hotline.calls.models import AgentStateEvent
    from hotline.core import clock

    end = max(period.start, min(period.end, clock.now()))
    users = get_user_model().objects.all()
    if agent is not None:
        users = users.filter(pk=agent.pk)
    elif agents is not None:
        users = users.filter(pk__in=[getattr(a, "pk", a) for a in agents])
    before = AgentStateEvent.objects.filter(user=OuterRef("pk"), at__lt=period.start).order_by("-at", "-id")
    starts = {
        pk: (presence or "logged_out", activity or "idle")
        for pk, presence, activity in users.annotate(
            p=Subquery(before.filter(dimension="presence").values("state")[:1]),
            a=Subquery(before.filter(dimension="activity").values("state")[:1]),
        ).filter(Q(p__isnull=False) | Q(a__isnull=False)).values_list("pk", "p", "a")
    }
    events = AgentStateEvent.objects.filter(at__gte=period.start, at__lt=end)
    if agent is not None or agents is not None:
        events = events.filter(user__in=users)
    by_user: dict[int, list] = {}
    for user_id, at, dimension, state in events.order_by("user", "at", "id").values_list(
            "user_id", "at", "dimension", "state"):
        by_user.setdefault(user_id, []).append((at, dimension, state))
    handle = ready = 0.0
    for user_id in set(starts) | set(by_user):
        presence, activity = starts.get(user_id, ("logged_out", "idle"))
        t = period.start
        for at, dimension, state in [*by_user.get(user_id, []), (end, None, None)]:
            span = (at - t).total_seconds()
            if activity in HANDLING:
                handle += span
            elif presence == "ready":
                ready += span
            t = at
            if dimension == "presence":
                presence = state
            elif dimension == "activity":
                activity = state
    return Occupancy(handle_s=handle, ready_s=ready, rate=rate(handle, handle + ready))


# --- the report (``hotline calls kpi``) ------------------------------------------------------

@dataclass
class Report:
    start: str
    end: str
    queue: str | None
    agent: str | None
    T: float
    S: float
    R: float
    N: int
    ring_cycle: float
    ring_pass_by: str
    offered: int
    answered: int
    abandoned: int
    short_abandoned: int
    answered_within_T: int
    in_progress: int
    answer_rate: float | None
    abandon_rate: float | None
    service_level: float | None
    service_level_of_answered: float | None
    service_level_excl_short: float | None
    asterisk_sl: float | None
    asterisk_sl2: float | None
    asa_s: float | None
    aht_s: float | None
    aht_basis: str
    ring_pass_rate: float | None
    avg_ring_s: float | None
    ring_unknown: int
    ring_no_answer: int
    satisfaction: float | None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(out.pop("extra"))
        return out


def report(period: Period, *, queue: str | None = None, agent=None, source=None,
           settings: Settings | None = None) -> Report:
    """Every call KPI of a scope, from one aggregate query."""
    s = settings or Settings.current()
    f = figures(period, queue=queue, agent=agent, source=source, settings=s)
    return Report(
        start=period.start.isoformat(), end=period.end.isoformat(), queue=queue or None,
        agent=(getattr(agent, "username", None) or str(agent)) if agent is not None else None,
        T=s.T, S=s.S, R=s.R, N=s.N, ring_cycle=s.ring_cycle, ring_pass_by=s.ring_pass_by,
        offered=f.offered, answered=f.answered, abandoned=f.abandoned, short_abandoned=f.short_abandoned,
        answered_within_T=f.answered_within_T, in_progress=f.in_progress,
        answer_rate=answer_rate(f.answered, f.offered), abandon_rate=abandon_rate(f.abandoned, f.offered),
        service_level=service_level(f.answered_within_T, f.offered),
        service_level_of_answered=rate(f.answered_within_T, f.answered),
        service_level_excl_short=service_level(f.answered_within_T, f.offered, short_abandoned=f.short_abandoned,
                                               exclude_short=True),
        asterisk_sl=rate(f.answered_within_T, f.answered),
        asterisk_sl2=rate(f.answered_within_T + f.abandoned_within_T, f.answered + f.abandoned),
        asa_s=rate(f.wait_answered_s, f.answered), aht_s=rate(f.handle_s, f.answered), aht_basis=_aht_basis(f),
        ring_pass_rate=rate(f.ring_pass, f.ring_known), avg_ring_s=rate(f.ring_sum_s, f.ring_known),
        ring_unknown=f.ring_unknown, ring_no_answer=f.ring_no_answer, satisfaction=rate(f.satisfied, f.surveys),
        extra={"waiting": f.waiting, "talking": f.talking},
    )
