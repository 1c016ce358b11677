"""Reads for calls."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from hotline.calls import policies
from hotline.calls.models import AgentState, Call, CallStatus, IntervalStat
from hotline.core import cache, policy


def call(pk: int) -> Call | None:
    return Call.objects.select_related("agent", "contact", "source").filter(pk=pk).first()


def agent_state(user) -> AgentState | None:
    return AgentState.objects.filter(user=user).first()


def interval_stats(*, minutes: int, start: dt.datetime, end: dt.datetime, queue: str | None = None,
                   agent=None) -> QuerySet:
    """Interval statistics (C4f) of ``[start, end)``: a queue's (all queues'
    rows when ``queue`` is None) or, with ``agent``, that agent's."""
    qs = IntervalStat.objects.filter(minutes=minutes, start__gte=start, start__lt=end,
                                     agent_id=agent.pk if agent is not None else 0)
    if queue is not None:
        qs = qs.filter(queue=queue)
    return qs.order_by("start", "queue")


# --- which center a queue belongs to (C4a) -------------------------------------------------

def queue_centers() -> dict[str, int]:
    """Queue code → the center unit it belongs to, as an administrator set it
    (planning's call queues, in the admin). Configuration: cached until the
    next edit of a queue."""
    from hotline.planning.models import Queue

    return cache.get(("calls-queue-centers",),
                     lambda: dict(Queue.objects.filter(center__isnull=False).values_list("code", "center_id")))


def active_center_ids() -> list[int]:
    """The installation's active customer-service centers (cached: units are configuration)."""
    from hotline.organisation.models import Unit, UnitKind

    return cache.get(("calls-active-centers",), lambda: list(
        Unit.objects.filter(kind=UnitKind.CENTER, active=True).order_by("pk").values_list("pk", flat=True)))


def center_queues(center_id: int) -> frozenset[str] | None:
    """The queue codes whose calls are the center's; None: every queue — the
    installation has one center, so a queue without a center is its. With
    several centers a queue no administrator gave a center is nobody's (no
    board counts it twice; ``unassigned_queues`` names it)."""
    if len(active_center_ids()) <= 1:
        return None
    return frozenset(code for code, center in queue_centers().items() if center == center_id)


def center_of_queue(queue: str) -> int | None:
    """The center a queue's calls belong to, or None."""
    if queue in queue_centers():
        return queue_centers()[queue]
    centers = active_center_ids()
    return centers[0] if len(centers) == 1 and queue else None


def unassigned_queues(queues: list[str]) -> list[str]:
    """Those of ``queues`` no center's board counts (several centers, none set)."""
    if len(active_center_ids()) <= 1:
        return []
    mapped = queue_centers()
    return [q for q in queues if q not in mapped]


# --- calls whose end never arrived (C5f) ---------------------------------------------------

def stale_cutoffs(now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """(waiting, talking): an open call whose last event is older is stale."""
    return (now - dt.timedelta(hours=policy.get(policies.STALE_WAITING_HOURS)),
            now - dt.timedelta(hours=policy.get(policies.STALE_TALKING_HOURS)))


def live_open_calls(now: dt.datetime) -> Q:
    """Calls in progress that are not stale: waiting or talking with an event
    of theirs within the cut-off of that status."""
    waiting, talking = stale_cutoffs(now)
    return (Q(status=CallStatus.WAITING, last_event_at__gte=waiting)
            | Q(status=CallStatus.TALKING, last_event_at__gte=talking))


def stale_open_calls(now: dt.datetime) -> Q:
    """Calls still waiting or talking whose end never arrived: no event of
    theirs for longer than the cut-off of their status. Nothing is written:
    a late end completes the call as any end does."""
    waiting, talking = stale_cutoffs(now)
    return (Q(status=CallStatus.WAITING, last_event_at__lt=waiting)
            | Q(status=CallStatus.TALKING, last_event_at__lt=talking))


def stale_reason(call: Call, now: dt.datetime) -> str:
    """Why a call counts as stale, translated; "" when it does not."""
    waiting, talking = stale_cutoffs(now)
    if call.status == CallStatus.WAITING and call.last_event_at < waiting:
        hours = policy.get(policies.STALE_WAITING_HOURS)
        return _("waiting with no event for more than %(hours)s h: its end never arrived") % {"hours": f"{hours:g}"}
    if call.status == CallStatus.TALKING and call.last_event_at < talking:
        hours = policy.get(policies.STALE_TALKING_HOURS)
        return _("connected with no event for more than %(hours)s h: its end never arrived") % {"hours": f"{hours:g}"}
    return ""


# --- who a contact's calls were with (workorders' C2c link rule) -----------------------------

def contact_parties(*, contact) -> tuple[set[int], set[int]]:
    """The receiver of ``workorders.contact_parties``: the agents who answered
    one of the contact's calls or whom one of them rings or holds now (their
    current call activity), and the centers of its queues."""
    rows = list(Call.objects.filter(contact_id=contact.pk).values_list("agent_id", "queue"))
    agents = {agent for agent, _queue in rows if agent}
    agents.update(AgentState.objects.filter(activity_call__contact_id=contact.pk).values_list("user_id", flat=True))
    queues = {queue for _agent, queue in rows if queue} | ({contact.queue} if contact.queue else set())
    centers = {center for center in map(center_of_queue, queues) if center is not None}
    return agents, centers


def agent_named(name: str):
    """The agent a command line names, by user name or agent number
    (``hotline calls kpi --agent``, ``hotline reports kpi --agent``)."""
    from hotline.organisation.models import User

    return User.objects.filter(username=name).first() or User.objects.filter(agent_number=name).first()
