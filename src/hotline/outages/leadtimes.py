"""Publication lead times of outage notices (spec D7b–D7g) as clocks on
the time-limit engine.

An outage is a subject of the engine (``SUBJECT``). Its clocks follow its
events (``on_event`` receives every outage event through core.dispatch, in
the event's transaction):

- ``publication``: a planned outage is published at least 7 days before it
  starts (D7b), a temporary one 24 h before (D7c) — the clock runs from the
  draft and is due that long before the planned start; a grid-fault outage
  (and an over-capacity curtailment, which comes as suddenly) within 15
  minutes of the trip (D7d) — the clock runs from the trip. It stops when
  the notice is published.
- ``change``: a change of what happened — the power went off, came back —
  is published within 10 minutes of it (D7e): the clock runs from the
  reported time to the event.
- ``delay``: a restoration that will be late is announced at least 30
  minutes before the announced end (D7f): due 30 minutes before the end, the
  clock stops when a delay is published (a new round runs to the new end),
  and is cancelled when the power is back by the announced end.

The engine warns the publishing unit, raises the supervision notice at the
limit and escalates, like any limit; every notice is an event of the
outage. Marketing outages (arrears, theft, …) have no lead time in the
spec. The limits are policy settings an administrator edits
(``outages.policies``, D0a); the defaults are below (minutes).
``timeliness`` is the KPI (D7g).
"""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.db.models import Q

from hotline.timelimits import services as engine
from hotline.timelimits.history import HistoryEntry
from hotline.timelimits.models import Clock, ClockStatus

SUBJECT = "outage"
PUBLICATION, CHANGE, DELAY = "publication", "change", "delay"
METRICS = (PUBLICATION, CHANGE, DELAY)

DEFAULT_LEAD_MINUTES = {
    "planned": 7 * 24 * 60,  # D7b: published ≥ 7 days before the start
    "temporary": 24 * 60,  # D7c: ≥ 24 h before
    "grid_fault": 15,  # D7d: ≤ 15 min after the trip
    "over_capacity": 15,
    "change": 10,  # D7e: any change ≤ 10 min
    "delay": 30,  # D7f: a delay ≥ 30 min before the announced end
}
# Counted back from the planned start; the others forward from the trip.
BEFORE_START = frozenset({"planned", "temporary"})


def lead_minutes(key: str) -> int | None:
    """The lead time of a class (or of a change, a delay) in force: the
    administrator's policy setting (core.policy), else the default."""
    from hotline.core import policy
    from hotline.outages.policies import LEAD

    if key not in DEFAULT_LEAD_MINUTES:
        return None
    return int(policy.get(LEAD + key))


def _start(outage, metric: str, *, at: dt.datetime, due_at: dt.datetime) -> Clock:
    return engine.start(subject_type=SUBJECT, subject_id=outage.pk, metric=metric, at=at, due_at=due_at,
                        responsible_unit_id=outage.publishing_unit_id)


def _stop(outage, metrics, *, at: dt.datetime, kind: str, cancel: bool = False) -> list[Clock]:
    return engine.stop(subject_type=SUBJECT, subject_id=outage.pk, at=at, kind=kind, metrics=metrics, cancel=cancel)


def _start_publication(outage, at: dt.datetime) -> None:
    minutes = lead_minutes(outage.outage_class)
    if minutes is None:
        return
    if outage.outage_class in BEFORE_START:
        _start(outage, PUBLICATION, at=at, due_at=outage.planned_start - dt.timedelta(minutes=minutes))
    else:
        tripped = outage.occurred_at or at
        _start(outage, PUBLICATION, at=min(tripped, at), due_at=tripped + dt.timedelta(minutes=minutes))


def _start_delay(outage, at: dt.datetime) -> None:
    minutes = lead_minutes("delay")
    if minutes is None:
        return
    due = outage.planned_end - dt.timedelta(minutes=minutes)
    # Announced with less than the lead left, a delay could not be told in
    # time whatever the unit does: no limit to breach for this end.
    if due > at:
        _start(outage, DELAY, at=at, due_at=due)


def _change(outage, *, happened: dt.datetime | None, at: dt.datetime, kind: str) -> None:
    """D7e: the clock of a change runs from when it happened to its event."""
    minutes = lead_minutes("change")
    if minutes is None or happened is None:
        return
    happened = min(happened, at)
    _start(outage, CHANGE, at=happened, due_at=happened + dt.timedelta(minutes=minutes))
    _stop(outage, [CHANGE], at=at, kind=kind)


def on_event(*, event, outage) -> None:
    """Start and stop the outage's lead-time clocks on one of its events."""
    from hotline.outages.models import EventKind, OutageStatus

    kind, at = event.kind, event.at
    if kind == EventKind.DRAFTED:
        _start_publication(outage, at)
    elif kind == EventKind.PUBLISHED:
        _stop(outage, [PUBLICATION], at=at, kind=kind)
        _start_delay(outage, at)
    elif kind == EventKind.REVISED:
        changed = (event.payload or {}).get("changes", {})
        if outage.status == OutageStatus.DRAFT and ({"planned_start", "occurred_at", "outage_class"} & set(changed)):
            # Counted from the start the notice will announce.
            _stop(outage, [PUBLICATION], at=at, kind=kind, cancel=True)
            _start_publication(outage, at)
        elif outage.status != OutageStatus.DRAFT and "planned_end" in changed:
            _stop(outage, [DELAY], at=at, kind=kind, cancel=True)
            _start_delay(outage, at)
    elif kind == EventKind.STARTED:
        _change(outage, happened=outage.actual_start, at=at, kind=kind)
    elif kind == EventKind.DELAYED:
        _stop(outage, [DELAY], at=at, kind=kind)
        _start_delay(outage, at)
    elif kind == EventKind.RESTORED:
        restored = outage.actual_restoration or at
        # Back by the announced end: no delay was owed.
        _stop(outage, [DELAY], at=at, kind=kind, cancel=restored <= outage.planned_end)
        _change(outage, happened=outage.actual_restoration, at=at, kind=kind)
    elif kind == EventKind.CANCELLED:
        _stop(outage, None, at=at, kind=kind, cancel=True)


# --- the outage as a subject of the engine ---------------------------------------

def claim_outages(ids: list[int], limit: int) -> list[int]:
    """The sweep locks an outage before its clocks, as its changes do."""
    from hotline.outages.models import Outage

    qs = Outage.objects.filter(id__in=ids)
    if connection.features.has_select_for_update_skip_locked:
        qs = qs.select_for_update(skip_locked=True, of=("self",))
    return list(qs.values_list("id", flat=True)[:limit])


def write_history(entries: list[HistoryEntry]) -> None:
    """Warnings, notices, escalations and answers as events of the outage."""
    from hotline.outages import services
    from hotline.outages.models import Outage

    outages = {o.pk: o for o in Outage.objects.select_for_update(of=("self",)).filter(
        pk__in={e.subject_id for e in entries})}
    for e in entries:
        services._record_event(outages[e.subject_id], e.kind, e.at, e.actor, e.payload)


# --- the KPI ------------------------------------------------------------------

def timeliness(*, since: dt.datetime | None = None, until: dt.datetime | None = None, now: dt.datetime | None = None
               ) -> dict:
    """D7g, outage-publication timeliness: limits kept / limits that fell
    due, over the lead-time clocks due in [since, until). A limit still
    running past its due time counts as missed; cancelled ones not at all.
    Rate None when nothing fell due."""
    from hotline.core import clock

    now = now or clock.now()
    qs = Clock.objects.filter(subject_type=SUBJECT, order__isnull=True, metric__in=METRICS)
    if since is not None:
        qs = qs.filter(due_at__gte=since)
    if until is not None:
        qs = qs.filter(due_at__lt=until)
    met = qs.filter(status=ClockStatus.MET).count()
    missed = qs.filter(Q(status=ClockStatus.BREACHED) | Q(status=ClockStatus.RUNNING, due_at__lt=now)).count()
    due = met + missed
    return {"due": due, "kept": met, "missed": missed, "rate": met / due if due else None}
