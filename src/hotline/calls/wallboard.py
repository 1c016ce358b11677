"""The wallboard's reads (C4a, C4b): what a center or one of its queues
looks like now, cheap enough to be read every second by every board.

``board(center=…, queue=…)`` answers from a fixed handful of small queries,
whatever the day's traffic:

- today's offered, answered, abandoned, answered within T and handle time
  are the sums of the day's hourly ``IntervalStat`` rows (``intervals.py``
  keeps them as calls end), never a scan of the day's calls. The day is
  the center's (its time zone, ``Period.day``) and a call counts in the
  hour of its offer (C5a), once it is over (C5f) — so they are the
  figures ``kpis.figures`` computes from the calls for the same day;
- the calls waiting and talking now, and the longest wait, come from the
  calls in progress (the partial index of open calls), except the stale
  ones: a call with no event of it for longer than the cut-off of its
  status (``calls.stale_waiting_hours``, ``calls.stale_talking_hours``)
  lost its end somewhere (the switch dropped the event, an adapter was
  down). Those are counted apart (``stale``), never as waiting for days;
  the KPIs keep them in progress (C5f) and a late end completes them;
- agents by state: one grouped read of the agents of the center (its
  unit's subtree) with their ``AgentState``; an agent of the center who
  never logged in is logged out;
- open work orders of the center near (warned) or past a time limit, from
  ``workorders.selectors`` (the running clocks' index).

Rates whose denominator is zero are None (C5j); the page shows "—".

Calls carry a queue, not a center: a queue's center is set by an
administrator (planning's call queues, ``selectors.queue_centers``). A
center's board counts the calls of its queues (C4a); an installation with
one center counts every queue there, one with several counts a queue
without a center on no board and the board list names it. Its agents are
those of its unit's subtree.

Targets: the service level target of a queue is planning's staffing
target for the queue of that code (when its T is the T in force), else the
policy setting; the answer-rate target is a policy setting (D0a).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, Min, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from hotline.calls import selectors
from hotline.calls.kpis import Period, rate
from hotline.calls.models import (
    IN_PROGRESS,
    AgentStateKind,
    Call,
    CallStatus,
    IntervalStat,
)
from hotline.core import cache, clock, policy

SERVICE_LEVEL_TARGET = "calls.wallboard_service_level_target_pct"
ANSWER_RATE_TARGET = "calls.wallboard_answer_rate_target_pct"

# The order the board shows agents' states in.
AGENT_STATES = (AgentStateKind.READY, AgentStateKind.NOT_READY, AgentStateKind.RINGING, AgentStateKind.TALKING,
                AgentStateKind.HOLD, AgentStateKind.WRAP_UP, AgentStateKind.LOGGED_OUT)
# How long a planning target is kept in a process (planning's edits do not
# bump the configuration generation).
TARGET_TTL = 30.0


def declare() -> None:
    """The board's targets, edited by an administrator (D0a)."""
    group = "calls"
    policy.declare(SERVICE_LEVEL_TARGET, 80.0,
                   _("Wallboard: service level target in percent (flagged below it; a queue's staffing target "
                     "in planning comes first)"), minimum=0, maximum=100, group=group)
    policy.declare(ANSWER_RATE_TARGET, 95.0, _("Wallboard: answer rate target in percent (flagged below it)"),
                   minimum=0, maximum=100, group=group)


@dataclass
class Rate:
    """A rate of today with its target: ``below`` when under it (``above``
    for a rate with a ceiling); None when there is nothing to divide."""

    value: float | None
    target: float | None = None  # a share, 0..1
    ceiling: bool = False

    @property
    def flagged(self) -> bool:
        if self.value is None or self.target is None:
            return False
        return self.value > self.target if self.ceiling else self.value < self.target - 1e-12


@dataclass
class Board:
    center_id: int
    center_name: str
    queue: str | None
    queue_name: str
    now: dt.datetime
    day: dt.date
    T: float
    # now
    waiting: int = 0
    longest_wait_s: float | None = None
    talking: int = 0
    stale: int = 0  # open calls whose end never arrived: in neither figure above
    agents: dict[str, int] = field(default_factory=dict)
    # today, counted as kpis counts them
    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    answered_within_t: int = 0
    handle_s: float = 0.0
    wait_answered_s: float = 0.0
    answer_rate: Rate = field(default_factory=lambda: Rate(None))
    service_level: Rate = field(default_factory=lambda: Rate(None))
    abandon_rate: Rate = field(default_factory=lambda: Rate(None))
    aht_s: float | None = None
    asa_s: float | None = None
    # work orders of the center
    orders_near: int = 0
    orders_overdue: int = 0

    @property
    def agents_logged_in(self) -> int:
        return sum(n for state, n in self.agents.items() if state != AgentStateKind.LOGGED_OUT)


# --- centers and queues ------------------------------------------------------------------

def centers_for(user) -> list:
    """The customer-service centers whose board ``user`` may open: those in
    the user's subtree, or the one the user's unit lies in. Units are
    configuration: read from the per-process cache (an edit of a unit
    reaches it within seconds), so a poll reads none."""
    from hotline.organisation.models import Role, Unit, UnitKind

    def load(prefix: str | None) -> list:
        centers = Unit.objects.filter(kind=UnitKind.CENTER, active=True).order_by("path")
        if prefix is None:
            return list(centers)
        ancestors = [int(x) for x in prefix.strip("/").split("/") if x.isdigit()]
        return list(centers.filter(Q(path__startswith=prefix) | Q(pk__in=ancestors)))

    if user.is_superuser or user.role == Role.ADMIN:  # as organisation.selectors.user_scope_path
        prefix = None
    elif user.unit_id is None:
        return []
    else:
        prefix = cache.get(("wallboard-unit-path", user.unit_id),
                           lambda: Unit.objects.filter(pk=user.unit_id).values_list("path", flat=True).first())
        if prefix is None:
            return []
    return cache.get(("wallboard-centers", prefix), lambda: load(prefix))


def center_for(user, center_id: int):
    """The center of that id if ``user`` may open its board, else None."""
    return next((c for c in centers_for(user) if c.pk == center_id), None)


def _subtree(center) -> list[int]:
    from hotline.organisation.selectors import subtree_unit_ids

    # Units are configuration: cached until the next edit of one.
    return cache.get(("wallboard-subtree", center.path), lambda: subtree_unit_ids(center.path))


def queue_names() -> dict[str, str]:
    """Planning's queue names by code (a switch queue of the same name is shown by it)."""
    from hotline.planning.models import Queue

    return cache.get(("wallboard-queue-names",), lambda: dict(Queue.objects.values_list("code", "name")),
                     ttl=TARGET_TTL)


def queues(*, days: int = 7, center=None) -> list[tuple[str, str]]:
    """(queue, name) of the queues with calls in the last ``days`` days,
    calls now or a planning queue, by name; with ``center``, the center's."""
    now = clock.now()
    seen = set(IntervalStat.objects.filter(minutes=60, agent_id=0, start__gte=now - dt.timedelta(days=days))
               .values_list("queue", flat=True).distinct())
    seen |= set(Call.objects.filter(status__in=IN_PROGRESS).values_list("queue", flat=True).distinct())
    names = queue_names()
    seen |= set(names)
    seen.discard("")
    if center is not None:
        own = selectors.center_queues(center.pk)
        if own is not None:
            seen &= own
    return sorted(((q, names.get(q, q)) for q in seen), key=lambda item: (item[1], item[0]))


def of_center(center, queue: str) -> bool:
    """Whether ``queue`` is one of the center's (C4a)."""
    own = selectors.center_queues(center.pk)
    return own is None or queue in own


def _targets(queue: str | None, T: float) -> tuple[float | None, float | None, float | None]:
    """(service level, answer rate, abandon ceiling) targets as shares."""
    sl = policy.get(SERVICE_LEVEL_TARGET)
    answer = policy.get(ANSWER_RATE_TARGET)
    abandon = None
    if queue:
        planned = cache.get(("wallboard-target", queue), lambda: _planning_target(queue), ttl=TARGET_TTL)
        if planned is not None:
            sl_pct, answer_seconds, abandon_pct = planned
            if answer_seconds == T:  # a target for another T is not this service level's
                sl = sl_pct
            abandon = abandon_pct
    return (None if sl is None else sl / 100, None if answer is None else answer / 100,
            None if abandon is None else abandon / 100)


def _planning_target(queue: str):
    from hotline.planning.models import StaffingTarget

    return (StaffingTarget.objects.filter(queue__code=queue)
            .values_list("service_level_pct", "answer_seconds", "max_abandon_pct").first())


# --- the board -------------------------------------------------------------------------

def board(*, center, queue: str | None = None) -> Board:
    """The center's (or one queue's) board now."""
    from hotline.calls.kpis import Settings

    now = clock.now()
    day = timezone.localdate(now)
    T = Settings.current().T
    queue = queue or None
    b = Board(center_id=center.pk, center_name=center.name, queue=queue,
              queue_name=queue_names().get(queue, queue) if queue else "", now=now, day=day, T=T)
    # The center's queues (None: every queue, the installation's only center).
    own = selectors.center_queues(center.pk)
    _today(b, Period.day(day), queue, own)
    _now(b, now, queue, own)
    b.agents = agents_by_state(center=center, queue=queue)
    b.orders_near, b.orders_overdue = _orders(center)
    sl_target, answer_target, abandon_ceiling = _targets(queue, T)
    b.answer_rate = Rate(rate(b.answered, b.offered), answer_target)
    b.service_level = Rate(rate(b.answered_within_t, b.offered), sl_target)
    b.abandon_rate = Rate(rate(b.abandoned, b.offered), abandon_ceiling, ceiling=True)
    b.aht_s = rate(b.handle_s, b.answered)
    b.asa_s = rate(b.wait_answered_s, b.answered)
    return b


def _today(b: Board, period: Period, queue: str | None, own: frozenset[str] | None) -> None:
    """Sums of the day's hourly interval rows of the queue (or every queue of the center)."""
    rows = IntervalStat.objects.filter(minutes=60, agent_id=0, start__gte=period.start, start__lt=period.end)
    if queue:
        rows = rows.filter(queue=queue)
    if own is not None:
        rows = rows.filter(queue__in=sorted(own))
    sums = rows.aggregate(offered=Sum("offered"), answered=Sum("answered"), abandoned=Sum("abandoned"),
                          answered_within_t=Sum("answered_within_t"), handle_s=Sum("handle_s"),
                          wait_answered_s=Sum("wait_answered_s"))
    b.offered, b.answered, b.abandoned = (sums["offered"] or 0), (sums["answered"] or 0), (sums["abandoned"] or 0)
    b.answered_within_t = sums["answered_within_t"] or 0
    b.handle_s, b.wait_answered_s = (sums["handle_s"] or 0.0), (sums["wait_answered_s"] or 0.0)


def _now(b: Board, now: dt.datetime, queue: str | None, own: frozenset[str] | None) -> None:
    """Calls waiting and talking now, and the longest wait (from the open
    calls' index); stale calls apart (C5f)."""
    open_calls = Call.objects.filter(status__in=IN_PROGRESS)
    if queue:
        open_calls = open_calls.filter(queue=queue)
    if own is not None:
        open_calls = open_calls.filter(queue__in=sorted(own))
    live = selectors.live_open_calls(now)
    waiting = Q(status=CallStatus.WAITING) & live
    row = open_calls.aggregate(waiting=Count("pk", filter=waiting),
                               talking=Count("pk", filter=Q(status=CallStatus.TALKING) & live),
                               oldest=Min("offered_at", filter=waiting),
                               stale=Count("pk", filter=selectors.stale_open_calls(now)))
    b.waiting, b.talking, b.stale = row["waiting"] or 0, row["talking"] or 0, row["stale"] or 0
    b.longest_wait_s = max(0.0, (now - row["oldest"]).total_seconds()) if row["oldest"] else None


def in_queue(memberships: dict, queue: str) -> bool | None:
    """Whether an agent's queue memberships (``AgentState.memberships``) put
    it in ``queue``: that queue's log-in or log-off, or one of every queue
    ("*"), whichever came later; None when neither was seen."""
    mine, everywhere = memberships.get(queue), memberships.get("*")
    if mine and everywhere:
        return bool(mine[0] if mine[1] > everywhere[1] else everywhere[0])
    if mine or everywhere:
        return bool((mine or everywhere)[0])
    return None


def agents_by_state(*, center, queue: str | None = None) -> dict[str, int]:
    """The center's agents by state, every state present (0 where none).

    The center: agents (and anyone with a state) of its unit's subtree; an
    agent who never logged in is logged out. A queue: those in it now by
    their memberships, those who logged off it as logged out, and agents
    logged in with no membership seen (data starting mid-shift) as theirs."""
    from hotline.organisation.models import Role, User

    counts = dict.fromkeys(AGENT_STATES, 0)
    people = User.objects.filter(unit_id__in=_subtree(center), is_active=True).filter(
        Q(role=Role.AGENT) | Q(call_state__isnull=False))
    if not queue:
        for state, n in (people.values_list(Coalesce("call_state__state", Value(AgentStateKind.LOGGED_OUT)))
                         .annotate(n=Count("pk")).order_by()):
            counts[state] = counts.get(state, 0) + n
        return counts
    for state, memberships in people.filter(call_state__isnull=False).values_list("call_state__state",
                                                                                  "call_state__memberships"):
        inside = in_queue(memberships or {}, queue)
        if inside:
            counts[state] = counts.get(state, 0) + 1
        elif inside is False:
            counts[AgentStateKind.LOGGED_OUT] += 1
        elif not memberships and state != AgentStateKind.LOGGED_OUT:
            counts[state] = counts.get(state, 0) + 1
    return counts


def _orders(center) -> tuple[int, int]:
    from hotline.workorders.selectors import orders_near_or_past_limit

    counts = orders_near_or_past_limit(scope_unit_ids=_subtree(center))
    return counts["near"], counts["overdue"]

