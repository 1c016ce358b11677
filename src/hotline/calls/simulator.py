"""The traffic simulator (C1g, W4a, W4b): the calls of a center over a day
or a week, as the normalised events a switch sends. Numbers and events
only, no database: ``simulator_feed`` builds the center from the database
(the agent users, the published schedule) and feeds the events through the
one ingest path, ``services.ingest``.

The model is a discrete-event simulation:

- arrivals per queue are a time-varying Poisson process: a Poisson count
  per minute of the day, at a rate drawn from the queue's daily shape (low
  at night, a morning peak at 9–11, an afternoon one at 14–17, an evening
  shoulder; weekends lower and later), drawn vectorised per day with the
  times uniform inside the minute; a storm multiplies a queue's rate for
  some hours and brings short bursts of many times the usual calls;
- every caller has a patience (exponential, with a share of callers who
  leave within seconds: short abandons); a caller still waiting at the end
  of it leaves (``call.abandoned``), or at the queue's longest wait
  (a timeout);
- a free agent takes the waiting call of its best-priority queue that has
  waited longest; a new call rings the agent free longest. The phone rings
  a few seconds (log-normal); some rings are not answered, and the call
  rings the next agent;
- talk time is log-normal, some calls are put on hold once, the customer
  or the agent hangs up, after-call work follows (log-normal), and a share
  of callers answers the satisfaction survey;
- agents log in at the start of their shifts, take their breaks
  (``agent.not_ready`` with reason ``break``, ``meal`` for the long one,
  then ``agent.ready``) when
  the call in hand is over, and log out at the end.

Every call's own facts are kept beside its events (``SimCall``), so the
figures the ingest derives can be checked against the simulator's ground
truth (``Simulation.truth``).
"""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import heapq
import itertools
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# The event types (the values of ``models.EventType``; this module does not
# import Django).
OFFERED = "call.offered"
RINGING = "call.ringing"
RING_NO_ANSWER = "call.ring_no_answer"
RING_CANCELED = "call.ring_canceled"
ANSWERED = "call.answered"
HELD = "call.held"
RESUMED = "call.resumed"
ENDED = "call.ended"
ABANDONED = "call.abandoned"
LOGIN = "agent.login"
LOGOUT = "agent.logout"
READY = "agent.ready"
NOT_READY = "agent.not_ready"
WRAPUP_STARTED = "agent.wrapup_started"
WRAPUP_ENDED = "agent.wrapup_ended"
SURVEY = "survey.answered"
EVENT_TYPES = (OFFERED, RINGING, RING_NO_ANSWER, RING_CANCELED, ANSWERED, HELD, RESUMED, ENDED, ABANDONED, LOGIN,
               LOGOUT, READY, NOT_READY, WRAPUP_STARTED, WRAPUP_ENDED, SURVEY)

# Not-ready reasons (the desk's codes): a short break, and a meal for a
# break of MEAL_MINUTES or more.
BREAK = "break"
MEAL = "meal"
MEAL_MINUTES = 45


def break_reason(seconds: float) -> str:
    return MEAL if seconds >= MEAL_MINUTES * 60 else BREAK

# Calls per local hour 0..23 (relative weights) of a 95598 center: low at
# night, the morning peak at 9–11, the afternoon one at 14–17, an evening
# shoulder.
DAY_SHAPE = (0.25, 0.15, 0.10, 0.08, 0.08, 0.15, 0.40, 1.20, 2.80, 4.20, 4.40, 3.60,
             2.20, 2.60, 3.60, 3.80, 3.50, 2.60, 2.20, 2.20, 1.90, 1.40, 0.90, 0.50)
# Repairs: the same peaks, more calls in the evening and at night.
REPAIR_SHAPE = (0.50, 0.35, 0.25, 0.20, 0.20, 0.30, 0.60, 1.40, 2.60, 3.60, 3.80, 3.20,
                2.20, 2.40, 3.20, 3.40, 3.20, 2.80, 3.00, 3.20, 2.80, 2.00, 1.30, 0.80)
# Saturdays and Sundays: a later, flatter morning.
WEEKEND_SHAPE = (0.30, 0.20, 0.12, 0.10, 0.10, 0.15, 0.35, 0.90, 2.00, 3.20, 3.60, 3.30,
                 2.40, 2.40, 3.00, 3.10, 2.90, 2.40, 2.20, 2.20, 1.90, 1.50, 1.00, 0.60)

MINUTES_PER_DAY = 24 * 60


# --- the center -------------------------------------------------------------------------

@dataclass(frozen=True)
class QueueSpec:
    """One queue: its calls per weekday and how they behave (seconds)."""

    name: str
    calls_per_day: float
    weekend_factor: float = 0.8
    shape: tuple[float, ...] = DAY_SHAPE
    weekend_shape: tuple[float, ...] | None = WEEKEND_SHAPE
    talk_s: float = 180.0  # mean talk time, log-normal
    talk_cv: float = 0.6
    hold_share: float = 0.15  # calls put on hold once
    hold_s: float = 40.0
    wrap_s: float = 25.0  # mean after-call work, log-normal
    wrap_cv: float = 0.5
    patience_s: float = 150.0  # mean patience, exponential
    short_abandon_share: float = 0.01  # callers who leave within a few seconds
    max_wait_s: float = 600.0  # the queue's timeout
    priority: int = 1  # 1 is served first

    def handle_s(self, ring_s: float = 4.0) -> float:
        """Mean time an agent spends on one call (ring, talk, hold, wrap-up)."""
        return ring_s + self.talk_s + self.hold_share * self.hold_s + self.wrap_s


@dataclass(frozen=True)
class Shift:
    """One agent's shift; breaks are (start, end) inside it."""

    start: dt.datetime
    end: dt.datetime
    breaks: tuple[tuple[dt.datetime, dt.datetime], ...] = ()


@dataclass(frozen=True)
class AgentSpec:
    ref: str  # the agent id the events carry
    shifts: tuple[Shift, ...]
    queues: tuple[str, ...] | None = None  # the queues it takes; None: all


@dataclass(frozen=True)
class Storm:
    """A storm: ``factor`` × the usual calls of ``queues`` for ``hours``
    from ``start``, with ``bursts`` five-minute bursts of ``burst_factor`` ×
    (a line down: everybody around calls at once)."""

    start: dt.datetime
    hours: float = 3.0
    factor: float = 3.5
    queues: tuple[str, ...] = ("repair",)
    bursts: int = 3
    burst_factor: float = 12.0
    burst_minutes: int = 5

    @property
    def end(self) -> dt.datetime:
        return self.start + dt.timedelta(hours=self.hours)

    def burst_starts(self, seed: int) -> list[dt.datetime]:
        """Where the bursts fall in the storm (the same for the same seed)."""
        minutes = int(self.hours * 60) - self.burst_minutes
        if self.bursts <= 0 or minutes < 0:
            return []
        rng = np.random.default_rng([seed, 4242, int(self.start.timestamp())])
        offsets = np.sort(rng.choice(minutes + 1, size=min(self.bursts, minutes + 1), replace=False))
        return [self.start + dt.timedelta(minutes=int(m)) for m in offsets]


@dataclass(frozen=True)
class Behaviour:
    """How agents and callers behave besides the queues' own times."""

    ring_median_s: float = 4.0  # the agent picks up after a log-normal ring
    ring_sigma: float = 0.45
    ring_timeout_s: float = 15.0  # a ring not answered by then rings the next agent
    no_answer_share: float = 0.03
    retry_s: float = 1.0  # from a ring not answered to the next ring
    reaction_s: float = 1.0  # from the end of an agent's call work to its next ring
    ready_after_login_s: float = 5.0
    survey_share: float = 0.45  # callers answering the satisfaction survey
    survey_mix: tuple[float, float, float] = (0.86, 0.10, 0.04)  # satisfied, basically, dissatisfied
    agent_hangs_up_share: float = 0.15
    known_caller_share: float = 0.6  # callers whose number is one of ``Center.callers``
    called_number: str = "95598"


@dataclass(frozen=True)
class Center:
    queues: tuple[QueueSpec, ...]
    agents: tuple[AgentSpec, ...]
    tz: dt.tzinfo
    storms: tuple[Storm, ...] = ()
    behaviour: Behaviour = field(default_factory=Behaviour)
    callers: tuple[str, ...] = ()  # known customers' numbers

    def queue(self, name: str) -> QueueSpec:
        return next(q for q in self.queues if q.name == name)


# --- arrivals ---------------------------------------------------------------------------

def _minute_weights(hourly: Sequence[float]) -> np.ndarray:
    """Per minute of the day, interpolated between the hours' middles (the day wraps)."""
    hourly = np.asarray(hourly, dtype=float)
    if hourly.shape != (24,) or (hourly < 0).any() or hourly.sum() <= 0:
        raise ValueError("a daily shape is 24 non-negative weights, not all zero")
    x = np.arange(MINUTES_PER_DAY) + 0.5
    centres = np.arange(-1, 25) * 60 + 30.0
    values = np.concatenate(([hourly[-1]], hourly, [hourly[0]]))
    weights = np.interp(x, centres, values)
    return weights / weights.sum()


def day_rates(queue: QueueSpec, day: dt.date) -> np.ndarray:
    """Expected calls per minute of a local day (no storm)."""
    weekend = day.weekday() >= 5
    shape = queue.weekend_shape if weekend and queue.weekend_shape is not None else queue.shape
    volume = queue.calls_per_day * (queue.weekend_factor if weekend else 1.0)
    return _minute_weights(shape) * volume


def _local_midnight(day: dt.date, tz: dt.tzinfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tz)


def _days(start: dt.datetime, end: dt.datetime, tz: dt.tzinfo) -> list[dt.date]:
    first = start.astimezone(tz).date()
    last = (end - dt.timedelta(microseconds=1)).astimezone(tz).date()
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]


def storm_multiplier(storms: Sequence[Storm], queue: str, midnight: dt.datetime, seed: int) -> np.ndarray:
    """× the usual rate per minute of the day starting at ``midnight``."""
    out = np.ones(MINUTES_PER_DAY)
    for storm in storms:
        if queue not in storm.queues:
            continue
        first = (storm.start - midnight).total_seconds() / 60
        last = (storm.end - midnight).total_seconds() / 60
        lo, hi = max(0, math.ceil(first)), min(MINUTES_PER_DAY, math.ceil(last))
        if lo < hi:
            out[lo:hi] = np.maximum(out[lo:hi], storm.factor)
        for burst in storm.burst_starts(seed):
            b = round((burst - midnight).total_seconds() / 60)
            lo, hi = max(0, b), min(MINUTES_PER_DAY, b + storm.burst_minutes)
            if lo < hi:
                out[lo:hi] = np.maximum(out[lo:hi], storm.burst_factor)
    return out


def arrivals(center: Center, queue: QueueSpec, start: dt.datetime, end: dt.datetime, seed: int) -> list[dt.datetime]:
    """The queue's calls in ``[start, end)``: a Poisson count per minute,
    times uniform inside it. A day's calls depend on the seed, the queue and
    the day only, not on the window asked for."""
    index = [q.name for q in center.queues].index(queue.name)
    out: list[dt.datetime] = []
    for day in _days(start, end, center.tz):
        midnight = _local_midnight(day, center.tz)
        rng = np.random.default_rng([seed, index, day.toordinal()])
        rates = day_rates(queue, day) * storm_multiplier(center.storms, queue.name, midnight, seed)
        counts = rng.poisson(rates)
        minute = np.repeat(np.arange(MINUTES_PER_DAY), counts)
        seconds = np.sort(minute * 60.0 + rng.uniform(0, 60, minute.size))
        base = midnight.astimezone(dt.UTC)
        for s in seconds:
            at = base + dt.timedelta(milliseconds=round(float(s) * 1000))
            if start <= at < end:
                out.append(at)
    return out


# --- the default roster -------------------------------------------------------------------

@dataclass(frozen=True)
class Template:
    """A shift template: start minute of the day, length and breaks
    (offset from the start, length), minutes."""

    name: str
    start_minute: int
    length_minutes: int
    breaks: tuple[tuple[int, int], ...] = ()

    def shift(self, day: dt.date, tz: dt.tzinfo) -> Shift:
        start = _local_midnight(day, tz) + dt.timedelta(minutes=self.start_minute)
        breaks = tuple((start + dt.timedelta(minutes=o), start + dt.timedelta(minutes=o + n)) for o, n in self.breaks)
        return Shift(start, start + dt.timedelta(minutes=self.length_minutes), breaks)

    def covered(self, slot_minutes: int = 30) -> np.ndarray:
        """1 for each slot of the day (wrapping past midnight) it is on the phones."""
        per_day = MINUTES_PER_DAY // slot_minutes
        out = np.zeros(per_day)
        minutes = np.arange(self.length_minutes)
        on = np.ones(self.length_minutes, dtype=bool)
        for offset, length in self.breaks:
            on[offset: offset + length] = False
        slots = ((self.start_minute + minutes[on]) % MINUTES_PER_DAY) // slot_minutes
        np.add.at(out, slots, 1.0 / slot_minutes)
        return out


def standard_templates() -> list[Template]:
    """The 95598 shift set (as planning's standard templates): 9-hour day
    shifts with an hour's lunch, 8-hour evening and 9-hour night shifts
    with half an hour's break, each after 4 hours."""
    out = [Template(f"D{m // 60:02d}{m % 60:02d}", m, 9 * 60, ((240, 60),)) for m in range(6 * 60, 13 * 60 + 1, 30)]
    out += [Template(f"E{m // 60:02d}{m % 60:02d}", m, 8 * 60, ((240, 30),)) for m in range(13 * 60 + 30, 17 * 60 + 1, 30)]
    out += [Template(f"N{m // 60:02d}00", m, 9 * 60, ((240, 30),)) for m in range(21 * 60, 23 * 60 + 1, 60)]
    return out


# The first day of each agent's two days off in a row, by agent number:
# a 12-agent center has 7 to 9 of them working each day, fewer at weekends.
DAY_OFF_PATTERN = (5, 1, 3, 6, 0, 5, 2, 4, 1, 3, 5, 6)


def required_agents(queues: Sequence[QueueSpec], day: dt.date, slot_minutes: int = 30, beta: float = 1.0) -> np.ndarray:
    """Agents wanted per slot of the day: the offered load A (Erlangs) plus
    β√A (square-root staffing), at least one round the clock."""
    per_day = MINUTES_PER_DAY // slot_minutes
    load = np.zeros(per_day)
    for q in queues:
        per_minute = day_rates(q, day) * q.handle_s() / 60  # Erlangs
        load += per_minute.reshape(per_day, slot_minutes).mean(axis=1)
    return np.maximum(1.0, np.ceil(load + beta * np.sqrt(load)))


def default_roster(refs: Sequence[str], days: Sequence[dt.date], queues: Sequence[QueueSpec], tz: dt.tzinfo,
                   templates: Sequence[Template] | None = None) -> dict[str, list[Shift]]:
    """A sensible week without a published schedule: each agent has two
    days off in a row (``DAY_OFF_PATTERN``); the agents working a day take,
    one after the other, the shift that covers most of what the day still
    needs (square-root staffing of its expected load, see
    ``required_agents``), the rest where the load is highest."""
    templates = list(templates or standard_templates())
    covers = [t.covered() for t in templates]
    out: dict[str, list[Shift]] = {ref: [] for ref in refs}
    for day in days:
        need = required_agents(queues, day)
        have = np.zeros_like(need)
        weekday = day.weekday()
        working = [ref for i, ref in enumerate(refs)
                   if weekday not in (DAY_OFF_PATTERN[i % len(DAY_OFF_PATTERN)],
                                      (DAY_OFF_PATTERN[i % len(DAY_OFF_PATTERN)] + 1) % 7)]
        for ref in working:
            gaps = np.maximum(need - have, 0)
            scores = [float((c * np.minimum(gaps, 1)).sum()) + 1e-3 * float((c * need / (have + 1)).sum())
                      for c in covers]
            best = int(np.argmax(scores))
            have += covers[best]
            out[ref].append(templates[best].shift(day, tz))
    return out


# --- what comes out ---------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class SimEvent:
    id: str
    type: str
    at: dt.datetime
    call_id: str = ""
    agent: str = ""
    queue: str = ""
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class SimCall:
    """One simulated call: its facts as the simulator knows them (the ground truth)."""

    call_id: str
    queue: str
    offered_at: dt.datetime
    caller: str
    answered_at: dt.datetime | None = None
    ended_at: dt.datetime | None = None
    abandoned_at: dt.datetime | None = None
    agent: str = ""
    rings_unanswered: int = 0
    hold: tuple[dt.datetime, dt.datetime] | None = None
    wrap_end: dt.datetime | None = None
    survey: int | None = None
    survey_at: dt.datetime | None = None
    hung_up_by: str = ""
    events: list[SimEvent] = field(default_factory=list, repr=False)

    @property
    def over_at(self) -> dt.datetime | None:
        return self.ended_at or self.abandoned_at

    @property
    def wait_s(self) -> float | None:
        end = self.answered_at or self.abandoned_at
        return None if end is None else (end - self.offered_at).total_seconds()


@dataclass
class Truth:
    """The simulator's own counts, named as ``kpis.Figures`` names them."""

    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    short_abandoned: int = 0
    answered_within_T: int = 0
    in_progress: int = 0
    wait_answered_s: float = 0.0
    handle_s: float = 0.0
    ring_no_answer: int = 0
    surveys: int = 0
    satisfied: int = 0

    @property
    def service_level(self) -> float | None:
        return self.answered_within_T / self.offered if self.offered else None

    @property
    def abandon_rate(self) -> float | None:
        return self.abandoned / self.offered if self.offered else None

    @property
    def answer_rate(self) -> float | None:
        return self.answered / self.offered if self.offered else None


@dataclass
class Simulation:
    start: dt.datetime
    end: dt.datetime
    seed: int
    horizon: dt.datetime
    run: str  # every id starts with it
    events: list[SimEvent]  # time-ordered, up to the horizon
    calls: list[SimCall]  # the calls whose events are emitted
    dropped: int = 0  # calls not over by the horizon, left out

    def truth(self, start: dt.datetime | None = None, end: dt.datetime | None = None, *, queue: str | None = None,
              T: float = 20, S: float = 5) -> Truth:
        """Counts of the calls offered in ``[start, end)`` (the whole run by
        default), as their emitted events have them."""
        out = Truth()
        for c in self.calls:
            if (start and c.offered_at < start) or (end and c.offered_at >= end) or (queue and c.queue != queue):
                continue
            if c.ended_at is not None:
                wait = c.wait_s
                out.offered += 1
                out.answered += 1
                out.answered_within_T += wait <= T
                out.wait_answered_s += wait
                out.handle_s += (c.ended_at - c.answered_at).total_seconds()
                if c.wrap_end is not None:
                    out.handle_s += (c.wrap_end - c.ended_at).total_seconds()
                if c.survey is not None:
                    out.surveys += 1
                    out.satisfied += c.survey in (1, 2)
            elif c.abandoned_at is not None:
                out.offered += 1
                out.abandoned += 1
                out.short_abandoned += c.wait_s <= S
            else:
                out.in_progress += 1
                continue
            out.ring_no_answer += c.rings_unanswered
        return out


# --- the simulation -----------------------------------------------------------------------

class _Agent:
    __slots__ = ("index", "pending_break", "pending_logout", "seq", "shift", "since", "spec", "state", "token")

    def __init__(self, spec: AgentSpec, index: int):
        self.spec = spec
        self.index = index
        self.state = "offline"  # offline | ready | busy | break
        self.since = 0.0
        self.shift: Shift | None = None
        self.pending_break: float | None = None
        self.pending_logout = False
        self.seq = itertools.count(1)
        self.token = 0  # a break's or shift's generation: stale timers are ignored

    def takes(self, queue: str) -> bool:
        return self.spec.queues is None or queue in self.spec.queues


class _Call:
    __slots__ = (
        "agent",
        "agent_hangs_up",
        "arrival",
        "excluded",
        "hold_at",
        "hold_len",
        "leave",
        "leave_reason",
        "ring_token",
        "rng",
        "seq",
        "sim",
        "spec",
        "state",
        "survey",
        "talk",
        "wrap",
    )

    def __init__(self, sim: SimCall, spec: QueueSpec, arrival: float, seq: int):
        self.sim = sim
        self.spec = spec
        self.arrival = arrival
        self.seq = seq
        self.state = "waiting"  # waiting | ringing | talking | over
        self.excluded: list[int] = []
        self.ring_token = 0
        self.agent: _Agent | None = None


def _lognormal(rng: random.Random, mean: float, cv: float) -> float:
    sigma = math.sqrt(math.log(1 + cv * cv))
    return rng.lognormvariate(math.log(mean) - sigma * sigma / 2, sigma)


def _ms(seconds: float) -> float:
    return round(seconds, 3)


class _Engine:
    def __init__(self, center: Center, start: dt.datetime, end: dt.datetime, seed: int, run: str):
        self.center, self.start, self.end, self.seed, self.run_id = center, start, end, seed, run
        self.b = center.behaviour
        self.t0 = start.astimezone(dt.UTC)
        self.heap: list[tuple[float, int, str, Any]] = []
        self.order = itertools.count()
        self.out_seq = itertools.count()
        self.emitted: list[tuple[float, int, SimEvent, SimCall | None]] = []
        self.agents = [_Agent(spec, i) for i, spec in enumerate(center.agents)]
        self.waiting: dict[str, list[tuple[float, int, _Call]]] = {q.name: [] for q in center.queues}
        self.priority = {q.name: q.priority for q in center.queues}
        self.calls: list[SimCall] = []

    # time

    def at(self, t: float) -> dt.datetime:
        return self.t0 + dt.timedelta(milliseconds=round(t * 1000))

    def secs(self, when: dt.datetime) -> float:
        return _ms((when - self.t0).total_seconds())

    def push(self, t: float, kind: str, data: Any) -> None:
        heapq.heappush(self.heap, (_ms(t), next(self.order), kind, data))

    # output

    def emit(self, t: float, kind: str, *, call: _Call | None = None, agent: _Agent | None = None,
             **data: Any) -> None:
        t = _ms(t)
        sim = call.sim if call is not None else None
        if sim is not None:
            event_id = f"{sim.call_id}:{len(sim.events) + 1}"
        else:
            event_id = f"{self.run_id}-{agent.spec.ref}-{next(agent.seq)}"
        ev = SimEvent(id=event_id, type=kind, at=self.at(t), call_id=sim.call_id if sim else "",
                      agent=agent.spec.ref if agent else "", queue=call.spec.name if call else "",
                      data={k: v for k, v in data.items() if v is not None})
        if sim is not None:
            sim.events.append(ev)
        self.emitted.append((t, next(self.out_seq), ev, sim))

    # setup

    def schedule_arrivals(self) -> None:
        b = self.b
        everyone: list[tuple[dt.datetime, int, QueueSpec]] = []
        for qi, queue in enumerate(self.center.queues):
            everyone.extend((at, qi, queue) for at in arrivals(self.center, queue, self.start, self.end, self.seed))
        everyone.sort(key=lambda item: (item[0], item[1]))
        numbers: dict[str, itertools.count] = {}
        for at, _qi, queue in everyone:
            local_day = at.astimezone(self.center.tz).strftime("%Y%m%d")
            n = next(numbers.setdefault(f"{queue.name}{local_day}", itertools.count(1)))
            call_id = f"{self.run_id}-{queue.name}-{local_day}-{n:05d}"
            # Each call draws from its own stream: what happens to it does
            # not depend on the calls after it (a longer run repeats a
            # shorter one).
            rng = random.Random(call_id)
            caller = (rng.choice(self.center.callers) if self.center.callers and rng.random() < b.known_caller_share
                      else f"1{rng.choice('3456789')}{rng.randrange(10 ** 9):09d}")
            arrival = self.secs(at)
            sim = SimCall(call_id=call_id, queue=queue.name, offered_at=self.at(arrival), caller=caller)
            call = _Call(sim, queue, arrival, len(self.calls))
            call.rng = rng
            if rng.random() < queue.short_abandon_share:
                patience = rng.uniform(0.5, 5.0)
            else:
                patience = rng.expovariate(1.0 / queue.patience_s)
            call.leave = min(patience, queue.max_wait_s)
            call.leave_reason = "timeout" if patience >= queue.max_wait_s else "hangup"
            call.talk = max(5.0, _lognormal(rng, queue.talk_s, queue.talk_cv))
            held = rng.random() < queue.hold_share
            call.hold_at = rng.uniform(0.2, 0.8) * call.talk if held else None
            call.hold_len = max(3.0, _lognormal(rng, queue.hold_s, 0.5)) if held else 0.0
            call.wrap = max(2.0, _lognormal(rng, queue.wrap_s, queue.wrap_cv))
            call.agent_hangs_up = rng.random() < b.agent_hangs_up_share
            if rng.random() < b.survey_share:
                r = rng.random()
                mix = b.survey_mix
                call.survey = 1 if r < mix[0] else 2 if r < mix[0] + mix[1] else 3
            else:
                call.survey = None
            self.calls.append(sim)
            self.push(call.arrival, "arrive", call)

    def schedule_shifts(self) -> None:
        for agent in self.agents:
            for shift in sorted(agent.spec.shifts, key=lambda s: s.start):
                if shift.end <= self.start or shift.start >= self.end:
                    continue
                self.push(max(0.0, self.secs(shift.start)), "shift_start", (agent, shift))

    # routing

    def free_agents(self, queue: str, call: _Call) -> list[_Agent]:
        return [a for a in self.agents if a.state == "ready" and a.takes(queue) and a.index not in call.excluded]

    def offer_call(self, t: float, call: _Call) -> None:
        """A waiting call rings the agent free longest, if there is one."""
        free = self.free_agents(call.spec.name, call)
        # Every agent that takes it has let it ring: ring them again.
        if not free and call.excluded and any(a.state == "ready" and a.takes(call.spec.name) for a in self.agents):
            call.excluded.clear()
            free = self.free_agents(call.spec.name, call)
        if free:
            agent = min(free, key=lambda a: (a.since, a.index))
            self.take_out(call)
            self.ring(t, agent, call)

    def take_out(self, call: _Call) -> None:
        line = self.waiting[call.spec.name]
        i = bisect.bisect_left(line, (call.arrival, call.seq))
        if i < len(line) and line[i][2] is call:
            line.pop(i)

    def agent_free(self, t: float, agent: _Agent) -> None:
        """An agent ready: takes the call waiting longest in its best queue."""
        best: tuple | None = None
        for name, line in self.waiting.items():
            if not line or not agent.takes(name):
                continue
            for arrival, seq, call in line:
                if agent.index in call.excluded:
                    continue
                key = (self.priority[name], arrival, seq)
                if best is None or key < best[0]:
                    best = (key, call)
                break
        if best is None:
            # Calls that only this agent left ringing: ring it again when
            # nobody else could take them.
            for name, line in self.waiting.items():
                if line and agent.takes(name):
                    call = line[0][2]
                    if not self.free_agents(name, call) and not any(
                            a.state == "ready" and a is not agent and a.takes(name) for a in self.agents):
                        call.excluded.clear()
                        best = ((0,), call)
                        break
        if best is not None:
            call = best[1]
            self.take_out(call)
            self.ring(t, agent, call)

    def ring(self, t: float, agent: _Agent, call: _Call) -> None:
        b = self.b
        agent.state = "busy"
        call.state = "ringing"
        call.agent = agent
        call.ring_token += 1
        self.emit(t, RINGING, call=call, agent=agent)
        if call.rng.random() < b.no_answer_share:
            self.push(t + b.ring_timeout_s, "ring_end", (call, agent, call.ring_token, False))
        else:
            ring = min(call.rng.lognormvariate(math.log(b.ring_median_s), b.ring_sigma), b.ring_timeout_s - 0.5)
            self.push(t + max(0.3, ring), "ring_end", (call, agent, call.ring_token, True))

    def release(self, t: float, agent: _Agent) -> None:
        """The agent's call work is over: it takes another after a moment."""
        self.push(t + self.b.reaction_s, "agent_back", (agent, agent.token))

    # the events

    def run(self) -> None:
        self.schedule_arrivals()
        self.schedule_shifts()
        handlers = {"arrive": self.on_arrive, "leave": self.on_leave, "ring_end": self.on_ring_end,
                    "retry": self.on_retry, "call_end": self.on_call_end, "wrap_end": self.on_wrap_end,
                    "agent_back": self.on_agent_back, "shift_start": self.on_shift_start, "ready": self.on_ready,
                    "break_start": self.on_break_start, "break_end": self.on_break_end,
                    "shift_end": self.on_shift_end}
        while self.heap:
            t, _order, kind, data = heapq.heappop(self.heap)
            handlers[kind](t, data)

    def on_arrive(self, t: float, call: _Call) -> None:
        sim = call.sim
        self.emit(t, OFFERED, call=call, caller_number=sim.caller, called_number=self.b.called_number)
        bisect.insort(self.waiting[call.spec.name], (call.arrival, call.seq, call))
        self.push(t + call.leave, "leave", call)
        self.offer_call(t, call)

    def on_leave(self, t: float, call: _Call) -> None:
        if call.state == "waiting":
            self.take_out(call)
        elif call.state == "ringing":
            agent = call.agent
            call.ring_token += 1
            self.emit(t, RING_CANCELED, call=call, agent=agent)
            self.release(t, agent)
        else:
            return
        call.state = "over"
        call.sim.abandoned_at = self.at(t)
        self.emit(t, ABANDONED, call=call, reason=call.leave_reason)

    def on_ring_end(self, t: float, data) -> None:
        call, agent, token, answered = data
        if call.state != "ringing" or call.ring_token != token:
            return
        if not answered:
            call.state = "waiting"
            call.excluded.append(agent.index)
            call.sim.rings_unanswered += 1
            self.emit(t, RING_NO_ANSWER, call=call, agent=agent)
            bisect.insort(self.waiting[call.spec.name], (call.arrival, call.seq, call))
            self.push(t + self.b.retry_s, "retry", call)
            self.release(t, agent)
            return
        call.state = "talking"
        sim = call.sim
        sim.answered_at = self.at(t)
        sim.agent = agent.spec.ref
        self.emit(t, ANSWERED, call=call, agent=agent)
        end = t + call.talk + call.hold_len
        if call.hold_at is not None:
            held, resumed = _ms(t + call.hold_at), _ms(t + call.hold_at + call.hold_len)
            if resumed < _ms(end):
                self.emit(held, HELD, call=call, agent=agent)
                self.emit(resumed, RESUMED, call=call, agent=agent)
                sim.hold = (self.at(held), self.at(resumed))
        self.push(end, "call_end", (call, agent))

    def on_retry(self, t: float, call: _Call) -> None:
        if call.state == "waiting":
            self.offer_call(t, call)

    def on_call_end(self, t: float, data) -> None:
        call, agent = data
        call.state = "over"
        sim = call.sim
        sim.ended_at = self.at(t)
        sim.hung_up_by = "agent" if call.agent_hangs_up else "customer"
        self.emit(t, ENDED, call=call, agent=agent, hung_up_by=sim.hung_up_by)
        self.emit(t, WRAPUP_STARTED, call=call, agent=agent)
        if call.survey is not None:
            survey_at = _ms(t + call.rng.uniform(4, 15))
            sim.survey, sim.survey_at = call.survey, self.at(survey_at)
            self.emit(survey_at, SURVEY, call=call, answer=call.survey)
        self.push(t + call.wrap, "wrap_end", (call, agent))

    def on_wrap_end(self, t: float, data) -> None:
        call, agent = data
        call.sim.wrap_end = self.at(t)
        self.emit(t, WRAPUP_ENDED, call=call, agent=agent)
        self.release(t, agent)

    def on_agent_back(self, t: float, data) -> None:
        agent, _token = data
        if agent.state != "busy":
            return
        if agent.pending_logout:
            self.logout(t, agent)
        elif agent.pending_break is not None:
            length, agent.pending_break = agent.pending_break, None
            self.start_break(t, agent, length)
        else:
            agent.state, agent.since = "ready", t
            self.agent_free(t, agent)

    # shifts

    def on_shift_start(self, t: float, data) -> None:
        agent, shift = data
        if agent.state != "offline":
            agent.pending_logout = False  # back-to-back shifts: stays on
        else:
            agent.token += 1
            self.emit(t, LOGIN, agent=agent)
            self.push(t + self.b.ready_after_login_s, "ready", (agent, agent.token))
        agent.shift = shift
        for begins, ends in shift.breaks:
            b0, b1 = self.secs(begins), self.secs(ends)
            if b1 > t:
                self.push(max(b0, t), "break_start", (agent, shift, b1 - max(b0, t)))
        self.push(self.secs(shift.end), "shift_end", (agent, shift))

    def on_ready(self, t: float, data) -> None:
        agent, token = data
        if agent.state == "offline" and agent.token == token:
            self.emit(t, READY, agent=agent)
            agent.state, agent.since = "ready", t
            self.agent_free(t, agent)

    def start_break(self, t: float, agent: _Agent, length: float) -> None:
        agent.state = "break"
        agent.token += 1
        self.emit(t, NOT_READY, agent=agent, reason=break_reason(length))
        self.push(t + length, "break_end", (agent, agent.token))

    def on_break_start(self, t: float, data) -> None:
        agent, shift, length = data
        if agent.shift is not shift:
            return
        if agent.state == "ready":
            self.start_break(t, agent, length)
        elif agent.state == "busy":
            agent.pending_break = length  # after the call in hand
        elif agent.state == "offline":
            # Not yet ready after logging in: the break comes first.
            agent.token += 1
            agent.state = "break"
            self.emit(t, NOT_READY, agent=agent, reason=break_reason(length))
            self.push(t + length, "break_end", (agent, agent.token))

    def on_break_end(self, t: float, data) -> None:
        agent, token = data
        if agent.state == "break" and agent.token == token:
            self.emit(t, READY, agent=agent)
            agent.state, agent.since = "ready", t
            self.agent_free(t, agent)

    def on_shift_end(self, t: float, data) -> None:
        agent, shift = data
        if agent.shift is not shift:
            return
        if agent.state == "busy":
            agent.pending_logout = True
        elif agent.state in ("ready", "break") or (agent.state == "offline" and agent.token):
            self.logout(t, agent)

    def logout(self, t: float, agent: _Agent) -> None:
        agent.token += 1
        agent.state, agent.pending_logout, agent.pending_break, agent.shift = "offline", False, None, None
        self.emit(t, LOGOUT, agent=agent)


def run_id(center: Center, *, start: dt.datetime, seed: int) -> str:
    """The prefix of a run's ids: the seed, the start and a digest of the
    center, everything the events depend on but the end (a longer run from
    the same start repeats the shorter one's events, id for id)."""
    digest = hashlib.sha256(repr((center, start.astimezone(dt.UTC), seed)).encode()).hexdigest()[:6]
    return f"sim{seed}-{start.astimezone(dt.UTC):%Y%m%dT%H%M%S}-{digest}"


def simulate(center: Center, *, start: dt.datetime, end: dt.datetime, seed: int, horizon: dt.datetime | None = None,
             run: str | None = None) -> Simulation:
    """The calls offered in ``[start, end)`` and the agents' day around them.

    ``horizon``: the events after it are left out, and so are the calls not
    over by then (history up to now: no call is left waiting for ever);
    by default the last event of a call. ``run`` prefixes every id (by
    default ``run_id``), so the same run sent twice is the same events, and
    another run's calls are other calls."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("give aware times")
    if end <= start:
        raise ValueError("the period ends after it starts")
    names = [q.name for q in center.queues]
    if len(set(names)) != len(names):
        raise ValueError("queue names must differ")
    refs = [a.ref for a in center.agents]
    if len(set(refs)) != len(refs):
        raise ValueError("agent ids must differ")
    run = run or run_id(center, start=start, seed=seed)
    engine = _Engine(center, start, end, seed, run)
    engine.run()
    if horizon is None:
        call_times = [t for t, _s, _ev, sim in engine.emitted if sim is not None]
        limit = max(call_times) if call_times else engine.secs(end)
    else:
        limit = engine.secs(horizon)
    kept_calls, dropped = [], 0
    for sim in engine.calls:
        over = sim.over_at
        if over is None or engine.secs(over) > limit:
            dropped += 1
            sim.events.clear()
            continue
        if sim.wrap_end is not None and engine.secs(sim.wrap_end) > limit:
            sim.wrap_end = None
        if sim.survey_at is not None and engine.secs(sim.survey_at) > limit:
            sim.survey, sim.survey_at = None, None
        sim.events[:] = sorted((e for e in sim.events if engine.secs(e.at) <= limit), key=lambda e: e.at)
        kept_calls.append(sim)
    keep = {id(s) for s in kept_calls}
    events = [ev for t, _seq, ev, sim in sorted(engine.emitted, key=lambda item: (item[0], item[1]))
              if t <= limit and (sim is None or id(sim) in keep)]
    return Simulation(start=start, end=end, seed=seed, horizon=engine.at(limit), run=run, events=events, calls=kept_calls,
                      dropped=dropped)
