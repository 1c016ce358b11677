"""Reads for calls."""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet

from hotline.calls.models import AgentState, Call, IntervalStat


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


# --- who a contact's calls were with (workorders' C2c link rule) -----------------------------

def contact_parties(*, contact) -> tuple[set[int], set[int]]:
    """The receiver of ``workorders.contact_parties``: the agents who answered
    one of the contact's calls or whom one of them rings or holds now (their
    current call activity), and the centers of its queues (none known yet)."""
    agents = set(Call.objects.filter(contact_id=contact.pk, agent_id__isnull=False).values_list("agent_id", flat=True))
    agents.update(AgentState.objects.filter(activity_call__contact_id=contact.pk).values_list("user_id", flat=True))
    return agents, set()
