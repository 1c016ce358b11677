"""Interval statistics (C4f): offered, answered, abandoned, service level
and handle time per 15, 30 and 60 minutes, per queue and per agent — the
input of forecasting and staffing (``planning``).

Kept up to date as calls change: when ingest derives a call again, the
call's old contribution is taken out of its intervals and the new one put
in (``apply``), with one ``INSERT … ON CONFLICT DO UPDATE SET x = x + …``
per interval row, the same SQL on SQLite and PostgreSQL; a call counts
once it is over, in the interval of its queue entry (C5a, C5f). Rows with
``agent_id`` 0 are the queue's; an agent's rows count the calls it
answered and the rings it left unanswered (C5i). Answered within T and
short abandons use T and S in force when the call was counted; after
changing them, ``rebuild`` recomputes a period from the calls
(``hotline calls intervals --rebuild``).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from hotline.calls.models import CallStatus, IntervalStat, RingOutcome
from hotline.core import bulk

SIZES = (15, 30, 60)
# Plain strings: an enum member read from its class is a descriptor call (Python 3.11), made per call here.
_NO_ANSWER = RingOutcome.NO_ANSWER.value
_ENDED = CallStatus.ENDED.value
_OVER = frozenset({CallStatus.ENDED.value, CallStatus.ABANDONED.value})
MEASURES = ("offered", "answered", "abandoned", "short_abandoned", "answered_within_t", "wait_answered_s",
            "handle_s", "ring_no_answer")


@dataclass(slots=True)
class CallFacts:
    """What of a call the intervals count (compared, never changed; not
    frozen: made twice per call each time ingest derives it)."""

    queue: str
    offered_at: dt.datetime
    status: str
    wait_s: float | None
    agent_id: int | None
    talk_s: float | None
    hold_s: float | None
    wrapup_s: float | None
    unanswered_by: tuple[int, ...] = ()  # agents whose ring it left unanswered, once per ring

    @classmethod
    def of(cls, values: dict, rings: Iterable[tuple]) -> CallFacts:
        """From a call's fields and its rings ((agent_ref, agent_id, at, ring_s, outcome) …)."""
        return cls(queue=values["queue"], offered_at=values["offered_at"], status=values["status"],
                   wait_s=values["wait_s"], agent_id=values["agent_id"], talk_s=values["talk_s"],
                   hold_s=values["hold_s"], wrapup_s=values["wrapup_s"],
                   unanswered_by=tuple(r[1] for r in rings if r[1] and r[4] == _NO_ANSWER))


def bucket(at: dt.datetime, minutes: int) -> dt.datetime:
    """The start of the interval of ``minutes`` holding ``at``, in the center's time zone."""
    return _floor(timezone.localtime(at), minutes)


def _floor(local: dt.datetime, minutes: int) -> dt.datetime:
    return local.replace(minute=local.minute - local.minute % minutes, second=0, microsecond=0).astimezone(dt.UTC)


def contribution(facts: CallFacts | None, *, T: float, S: float) -> dict[tuple, dict[str, float]]:
    """(minutes, start, queue, agent_id) → the measures this call adds there."""
    out: dict[tuple, dict[str, float]] = defaultdict(lambda: dict.fromkeys(MEASURES, 0))
    if facts is None or facts.status not in _OVER:
        return {}
    answered = facts.status == _ENDED
    wait = facts.wait_s or 0.0
    measures = {
        "offered": 1, "answered": int(answered), "abandoned": int(not answered),
        "short_abandoned": int(not answered and wait <= S), "answered_within_t": int(answered and wait <= T),
        "wait_answered_s": wait if answered else 0.0,
        "handle_s": ((facts.talk_s or 0.0) + (facts.hold_s or 0.0) + (facts.wrapup_s or 0.0)) if answered else 0.0,
        "ring_no_answer": len(facts.unanswered_by),
    }
    # An agent's rows: the calls it answered or that rang it unanswered (C5i).
    agents = {a for a in (facts.agent_id if answered else None, *facts.unanswered_by) if a}
    local = timezone.localtime(facts.offered_at)
    for minutes in SIZES:
        start = _floor(local, minutes)
        for name, value in measures.items():
            out[(minutes, start, facts.queue, 0)][name] += value
        for agent_id in agents:
            row = out[(minutes, start, facts.queue, agent_id)]
            mine = answered and agent_id == facts.agent_id
            row["offered"] += 1
            row["abandoned"] += measures["abandoned"]
            row["short_abandoned"] += measures["short_abandoned"]
            if mine:
                for name in ("answered", "answered_within_t", "wait_answered_s", "handle_s"):
                    row[name] += measures[name]
            row["ring_no_answer"] += facts.unanswered_by.count(agent_id)
    return dict(out)


def apply(changes: Iterable[tuple[CallFacts | None, CallFacts | None]], *, T: float, S: float,
          now: dt.datetime) -> None:
    """Move the intervals by each call's new contribution minus its old one
    (in the caller's transaction)."""
    delta: dict[tuple, dict[str, float]] = defaultdict(lambda: dict.fromkeys(MEASURES, 0))
    for old, new in changes:
        if old == new:
            continue
        for key, measures in contribution(old, T=T, S=S).items():
            for name, value in measures.items():
                delta[key][name] -= value
        for key, measures in contribution(new, T=T, S=S).items():
            for name, value in measures.items():
                delta[key][name] += value
    rows = [(key, m) for key, m in delta.items() if any(m.values())]
    if rows:
        _upsert(rows, now)


def _upsert(rows: list[tuple[tuple, dict[str, float]]], now: dt.datetime) -> None:
    """Add the deltas to their rows, creating those missing; in the rows'
    key order (two ingests moving the same intervals lock them in one order).
    PostgreSQL takes them as arrays in one statement, SQLite one by one."""
    table = connection.ops.quote_name(IntervalStat._meta.db_table)
    columns = ["minutes", "start", "queue", "agent_id", *MEASURES, "updated_at"]
    updates = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in MEASURES)
    conflict = (f"ON CONFLICT (minutes, start, queue, agent_id) DO UPDATE SET {updates}, "
                "updated_at = excluded.updated_at")
    adapt = connection.ops.adapt_datetimefield_value
    params = [(minutes, adapt(start), queue, agent_id, *(m[c] for c in MEASURES), adapt(now))
              for (minutes, start, queue, agent_id), m in sorted(rows, key=lambda r: r[0])]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            kinds = [int, None, None, int, *(float if c.endswith("_s") else int for c in MEASURES), None]
            types = ["smallint", "timestamptz", "text", "bigint",
                     *("double precision" if c.endswith("_s") else "integer" for c in MEASURES), "timestamptz"]
            arrays = ", ".join(f"%b::{t}[]" for t in types)
            # An array is of one type: the sums mix 0 and floats.
            bulk.pg_execute(f"INSERT INTO {table} ({', '.join(columns)}) SELECT * FROM unnest({arrays}) {conflict}",
                            [[kind(v) for v in column] if kind else list(column)
                             for kind, column in zip(kinds, zip(*params))])
        else:
            cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))}) "
                               f"{conflict}", params)


def rebuild(start: dt.datetime, end: dt.datetime, *, T: float | None = None, S: float | None = None) -> int:
    """Recompute the intervals of calls offered in ``[start, end)`` (whole
    hours) from the calls; returns the calls counted."""
    from hotline.calls.kpis import Settings
    from hotline.calls.models import Call, CallRing
    from hotline.core import clock

    s = Settings.current(T=T, S=S)
    start, end = bucket(start, 60), bucket(end - dt.timedelta(microseconds=1), 60) + dt.timedelta(hours=1)
    with transaction.atomic():
        IntervalStat.objects.filter(start__gte=start, start__lt=end).delete()
        calls = Call.objects.filter(offered_at__gte=start, offered_at__lt=end,
                                    status__in=[CallStatus.ENDED, CallStatus.ABANDONED])
        rings: dict[int, list[tuple]] = defaultdict(list)
        for call_id, agent_id, outcome in CallRing.objects.filter(call__in=calls).order_by("call", "seq").values_list(
                "call_id", "agent_id", "outcome"):
            rings[call_id].append(("", agent_id, None, None, outcome))
        changes = []
        for call in calls.values("pk", "queue", "offered_at", "status", "wait_s", "agent_id", "talk_s", "hold_s",
                                 "wrapup_s"):
            changes.append((None, CallFacts.of(call, rings.get(call["pk"], []))))
        apply(changes, T=s.T, S=s.S, now=clock.now())
    return len(changes)
