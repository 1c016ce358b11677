"""The simulator against the database (C1g, W4b, W4c): the center it
simulates is this installation's — its agent users, working the published
schedule of the day if planning has one (else ``simulator.default_roster``),
its customers' phone numbers as callers — and what it generates goes
through the one ingest path, ``services.ingest``, from the simulator's own
event source, as a switch's events would:

- history (``feed``): every event as fast as possible, in time-ordered
  batches;
- live (``feed_live``): each event when its time comes (``clock.now()``);
  events already due are sent at once, so a run started in the past
  catches up, then goes on at wall-clock speed.

Each agent has an ``AgentIdentity`` for the simulator's source (its agent
number, or its username without one).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from django.utils import timezone

from hotline.calls import services, simulator
from hotline.calls.models import AgentIdentity, Call, EventSource, SourceKind
from hotline.core import clock

SOURCE_NAME = "simulator"
# Calls per weekday of the demo county center's queues (the planning
# queues' codes); weekends are fewer.
QUEUE_SHARES = (("repair", 0.47), ("general", 0.45), ("complaint", 0.08))
DEFAULT_CALLS_PER_DAY = 380


def default_queues(calls_per_day: float = DEFAULT_CALLS_PER_DAY) -> tuple[simulator.QueueSpec, ...]:
    """The 95598 queues: repairs (short calls, more in the evening, patient
    callers), general inquiries and complaints (long calls and wrap-up)."""
    share = dict(QUEUE_SHARES)
    return (
        simulator.QueueSpec("repair", calls_per_day * share["repair"], weekend_factor=0.9,
                            shape=simulator.REPAIR_SHAPE, weekend_shape=None, talk_s=150, wrap_s=30,
                            patience_s=180, priority=1),
        simulator.QueueSpec("general", calls_per_day * share["general"], weekend_factor=0.75, talk_s=200,
                            wrap_s=20, patience_s=130, priority=2),
        simulator.QueueSpec("complaint", calls_per_day * share["complaint"], weekend_factor=0.7, talk_s=330,
                            talk_cv=0.5, wrap_s=60, patience_s=160, priority=1),
    )


# --- the center from the database -----------------------------------------------------------

def simulator_source(name: str = SOURCE_NAME) -> EventSource:
    source = EventSource.objects.filter(name=name).first()
    if source is None:
        source = services.create_source(name=name, kind=SourceKind.SIMULATOR)
    return source


def agent_ref(user) -> str:
    return user.agent_number or user.username


def agent_users() -> list:
    from hotline.organisation.models import Role, User

    return list(User.objects.filter(role=Role.AGENT, is_active=True).order_by("agent_number", "username"))


def ensure_identities(source: EventSource, users: Sequence) -> dict[str, object]:
    """An ``AgentIdentity`` of the source for each agent user: ref → user."""
    held = dict(AgentIdentity.objects.filter(source=source).values_list("agent_ref", "user_id"))
    out = {}
    for user in users:
        ref = agent_ref(user)
        if held.get(ref) != user.pk:
            services.set_agent_identity(source=source, agent_ref=ref, user=user)
        out[ref] = user
    return out


def caller_numbers(limit: int = 5000) -> tuple[str, ...]:
    from hotline.organisation.models import CustomerPhone

    return tuple(CustomerPhone.objects.order_by("pk").values_list("number", flat=True)[:limit])


def roster(users: Sequence, days: Sequence[dt.date], queues: Sequence[simulator.QueueSpec],
           tz: dt.tzinfo) -> tuple[list[simulator.AgentSpec], list[dt.date]]:
    """Each agent's shifts on ``days``: the published schedule where
    planning has one for the day's week (a day without shifts in it is a
    day nobody works), else the default roster. Returns the agents and the
    days that came from a published schedule."""
    from hotline.planning.selectors import published_shifts

    refs = [agent_ref(u) for u in users]
    by_pk = {u.pk: agent_ref(u) for u in users}
    shifts: dict[str, list[simulator.Shift]] = {ref: [] for ref in refs}
    skills: dict[str, set[str] | None] = {ref: set() for ref in refs}
    names = {q.name for q in queues}
    published_days = []
    for day in days:
        planned = published_shifts(day)
        if planned is None:
            for ref, day_shifts in simulator.default_roster(refs, [day], queues, tz).items():
                shifts[ref].extend(day_shifts)
                skills[ref] = None
            continue
        published_days.append(day)
        taken: set[str] = set()
        unnamed = []
        for item in planned:
            ref = by_pk.get(getattr(item.agent, "pk", None))
            if ref is None or ref in taken:
                if item.agent is None:
                    unnamed.append(item)
                continue
            taken.add(ref)
            _add(shifts, skills, ref, item, day, tz, names)
        # Shift counts without a roster: the agents not yet on a shift that day.
        free = [ref for ref in refs if ref not in taken]
        for item, ref in zip(unnamed, free):
            _add(shifts, skills, ref, item, day, tz, names)
    agents = [simulator.AgentSpec(ref, tuple(sorted(shifts[ref], key=lambda s: s.start)),
                                  None if not skills[ref] else tuple(sorted(skills[ref])))
              for ref in refs]
    return agents, published_days


def _add(shifts, skills, ref, item, day, tz, names) -> None:
    tpl = item.template
    shifts[ref].append(simulator.Template(tpl.name, tpl.start_minute, tpl.length_minutes,
                                          tuple((int(o), int(n)) for o, n in tpl.breaks or [])).shift(day, tz))
    if skills[ref] is not None:
        if item.queue and item.queue in names:
            skills[ref].add(item.queue)
        else:
            skills[ref] = None  # a schedule of every queue


@dataclass
class Plan:
    """A simulation ready to send, and who its agents are."""

    simulation: simulator.Simulation
    source: EventSource
    users: dict[str, object]
    published_days: list[dt.date] = field(default_factory=list)
    seconds: float = 0.0


def plan(*, start: dt.datetime, end: dt.datetime, seed: int, calls_per_day: float = DEFAULT_CALLS_PER_DAY,
         storms: Sequence[simulator.Storm] = (), horizon: dt.datetime | None = None, source_name: str = SOURCE_NAME,
         queues: Sequence[simulator.QueueSpec] | None = None,
         behaviour: simulator.Behaviour | None = None) -> Plan:
    """The installation's center simulated over ``[start, end)``."""
    tz = timezone.get_current_timezone()
    queues = tuple(queues or default_queues(calls_per_day))
    users = agent_users()
    if not users:
        raise ValueError("there are no active users with the agent role to answer the calls")
    source = simulator_source(source_name)
    identities = ensure_identities(source, users)
    first = start.astimezone(tz).date() - dt.timedelta(days=1)  # night shifts of the day before
    last = (end - dt.timedelta(microseconds=1)).astimezone(tz).date()
    days = [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]
    agents, published_days = roster(users, days, queues, tz)
    center = simulator.Center(queues=queues, agents=tuple(agents), tz=tz, storms=tuple(storms),
                              behaviour=behaviour or simulator.Behaviour(), callers=caller_numbers())
    sim = simulator.simulate(center, start=start, end=end, seed=seed, horizon=horizon)
    return Plan(sim, source, identities, published_days)


def foreign_calls(plan: Plan) -> int:
    """Calls of the simulator's source in the period that another run made."""
    sim = plan.simulation
    return (Call.objects.filter(source=plan.source, offered_at__gte=sim.start, offered_at__lt=sim.end)
            .exclude(call_id__startswith=f"{sim.run}-").count())


# --- sending ----------------------------------------------------------------------------

def event_in(ev: simulator.SimEvent) -> services.EventIn:
    return services.EventIn(source_event_id=ev.id, type=ev.type, occurred_at=ev.at, call_id=ev.call_id,
                            agent=ev.agent, queue=ev.queue, payload=dict(ev.data))


Progress = Callable[[int, int], None]
# Events per ingest of history: fewer, larger transactions, and fewer calls
# cut in two by a batch's end (derived twice).
BATCH = 5000


def feed(source: EventSource, events: Sequence[simulator.SimEvent], *, batch: int = BATCH,
         progress: Progress | None = None) -> services.IngestResult:
    """History: every event through the ingest path, in time-ordered batches."""
    total = services.IngestResult()
    for i in range(0, len(events), batch):
        total.add(services.ingest(source, [event_in(e) for e in events[i: i + batch]]))
        if progress:
            progress(min(i + batch, len(events)), len(events))
    if progress and not events:
        progress(0, 0)
    return total


def feed_live(source: EventSource, events: Sequence[simulator.SimEvent], *, wait: Callable[[float], bool],
              batch: int = 2000, tick: float = 1.0, progress: Progress | None = None) -> services.IngestResult:
    """Live: each event once its time has come; ``wait(seconds)`` pauses
    (``threading.Event.wait``: True to stop)."""
    total = services.IngestResult()
    i, n = 0, len(events)
    while i < n:
        now = clock.now()
        j = i
        while j < n and events[j].at <= now:
            j += 1
        for k in range(i, j, batch):
            total.add(services.ingest(source, [event_in(e) for e in events[k: min(j, k + batch)]]))
        if j > i and progress:
            progress(j, n)
        i = j
        if i < n:
            ahead = (events[i].at - clock.now()).total_seconds()
            if wait(min(tick, max(0.0, ahead))):
                break
    return total


def fill_history(*, start: dt.datetime, end: dt.datetime, seed: int, now: dt.datetime | None = None,
                 calls_per_day: float = DEFAULT_CALLS_PER_DAY, storms: Sequence[simulator.Storm] = (),
                 progress: Progress | None = None, batch: int = BATCH) -> tuple[Plan, services.IngestResult]:
    """History of ``[start, end)`` up to ``now`` (calls not over by then
    are left out): what ``hotline demo`` fills its week with (W4c)."""
    now = now or clock.now()
    end = min(end, now)
    started = time.monotonic()
    p = plan(start=start, end=end, seed=seed, calls_per_day=calls_per_day, storms=storms, horizon=now)
    result = feed(p.source, p.simulation.events, batch=batch, progress=progress)
    p.seconds = time.monotonic() - started
    return p, result
