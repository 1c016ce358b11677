"""Call records and agent-state parts from normalised events: pure
functions, no database.

A call id's records are a function of the *set* of its events: the events
are put in one total order (time, then the order calls go through, then
the source's event id) before anything is read from them, so events that
arrive late, out of order or twice (the ingest keeps one of each) give the
same calls (C1h, C5h). Each ``call.offered`` opens one record, a queue
entry (C5b); every later event of the call goes to the latest entry of its
queue (or, naming none, to the latest entry — the answered one if there
is one). An event before any entry of its call belongs to no call and is
unplaced (C5g).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from hotline.calls.models import (
    TYPE_RANK,
    AbandonReason,
    AgentStateKind,
    CallStatus,
    EventType,
    Reason,
    RingOutcome,
    StateDimension,
)

# The choices as plain strings: reading an enum member from its class is a
# descriptor call (Python 3.11), and derivation reads several per event.
_ET = SimpleNamespace(**{m.name: m.value for m in EventType})
_CS = SimpleNamespace(**{m.name: m.value for m in CallStatus})
_RO = SimpleNamespace(**{m.name: m.value for m in RingOutcome})
_AR = SimpleNamespace(**{m.name: m.value for m in AbandonReason})
_AK = SimpleNamespace(**{m.name: m.value for m in AgentStateKind})
_SD = SimpleNamespace(**{m.name: m.value for m in StateDimension})
_ABANDON_REASONS = frozenset(AbandonReason.values)
_NO_CALL = Reason.NO_CALL.value

# Events that make up a call record (after-call work only with a call id).
DERIVED_TYPES = frozenset({
    EventType.CALL_OFFERED, EventType.CALL_RINGING, EventType.CALL_RING_NO_ANSWER, EventType.CALL_RING_CANCELED,
    EventType.CALL_ANSWERED, EventType.CALL_HELD, EventType.CALL_RESUMED, EventType.CALL_TRANSFERRED,
    EventType.CALL_ENDED, EventType.CALL_ABANDONED, EventType.SURVEY_ANSWERED, EventType.RECORDING_AVAILABLE,
    EventType.AGENT_WRAPUP_STARTED, EventType.AGENT_WRAPUP_ENDED,
})


@dataclass(slots=True)
class Ev:
    """An event as derivation reads it (not frozen: made for every event of
    a call each time the call is derived, and a frozen dataclass is three
    times slower to make)."""

    event_id: str  # the source's event id: the last tie-breaker
    type: str
    at: dt.datetime
    call_id: str = ""
    agent_ref: str = ""
    queue: str = ""
    payload: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    pk: int | None = field(default=None, compare=False)
    source_id: int = 0


def order_key(ev: Ev) -> str:
    """A string whose order is the events' total order (UTC time to the
    microsecond, the type's rank, source, event id): it is also stored,
    so the latest event of a kind wins whichever arrived last."""
    at = ev.at.astimezone(dt.UTC).replace(tzinfo=None).isoformat(timespec="microseconds")  # as %Y-%m-%dT%H:%M:%S.%f
    return f"{at}|{TYPE_RANK.get(ev.type, 99):02d}|{ev.source_id:010d}|{ev.event_id}"


@dataclass
class Ring:
    agent_ref: str
    at: dt.datetime
    ring_s: float | None
    outcome: str


@dataclass
class CallRecord:
    entry: int
    queue: str
    offered_at: dt.datetime
    caller_number: str = ""
    called_number: str = ""
    status: str = CallStatus.WAITING
    answered_at: dt.datetime | None = None
    ended_at: dt.datetime | None = None
    wait_s: float | None = None
    abandon_reason: str = ""
    agent_ref: str = ""
    ring_s: float | None = None
    ring_no_answer: int = 0
    talk_s: float | None = None
    hold_s: float | None = None
    holds: int = 0
    wrapup_s: float | None = None
    transfers: int = 0
    transfer_target: str = ""
    hung_up_by: str = ""
    recording_ref: str = ""
    survey_answer: int | None = None
    rings: list[Ring] = field(default_factory=list)
    last_event_at: dt.datetime | None = None
    # working state, not stored
    _ring_started: dict[str, dt.datetime] = field(default_factory=dict, repr=False)
    _hold_started: dt.datetime | None = field(default=None, repr=False)
    _wrap_started: dt.datetime | None = field(default=None, repr=False)

    def stored(self) -> dict[str, Any]:
        """The fields of the ``Call`` row."""
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_") and k not in ("rings", "entry")}


@dataclass(frozen=True)
class Placed:
    """Where an event went: the entry it counts in (None: unplaced, with
    the reason) and the agent it concerns (for the agent's history)."""

    ev: Ev
    entry: int | None
    reason: str = ""
    agent_ref: str = ""


def _seconds(a: dt.datetime, b: dt.datetime) -> float:
    return max(0.0, (b - a).total_seconds())


def _number(payload: dict, key: str) -> float | None:
    value = payload.get(key)
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number >= 0 else None


def derive_call(events: Iterable[Ev], *, carries_hold: bool = True,
                carries_wrapup: bool = True) -> tuple[list[CallRecord], list[Placed]]:
    """The queue entries of one call id, and where each event went."""
    ordered = sorted((e for e in events if e.type in DERIVED_TYPES), key=order_key)
    records: list[CallRecord] = []
    placed: list[Placed] = []
    for ev in ordered:
        if ev.type == _ET.CALL_OFFERED:
            rec = CallRecord(entry=len(records) + 1, queue=ev.queue, offered_at=ev.at,
                             caller_number=str(ev.payload.get("caller_number") or "")[:40],
                             called_number=str(ev.payload.get("called_number") or "")[:40], last_event_at=ev.at)
            records.append(rec)
            placed.append(Placed(ev, rec.entry))
            continue
        rec = _entry_for(records, ev)
        if rec is None:
            placed.append(Placed(ev, None, _NO_CALL, ev.agent_ref))
            continue
        agent = _apply(rec, ev, carries_hold=carries_hold, carries_wrapup=carries_wrapup)
        rec.last_event_at = max(rec.last_event_at or ev.at, ev.at)
        placed.append(Placed(ev, rec.entry, "", agent))
    for rec in records:
        _close(rec)
    return records, placed


def _entry_for(records: list[CallRecord], ev: Ev) -> CallRecord | None:
    if not records:
        return None
    if ev.queue:
        same = [r for r in records if r.queue == ev.queue]
        return same[-1] if same else None
    answered = [r for r in records if r.answered_at is not None]
    return answered[-1] if answered else records[-1]


def _apply(rec: CallRecord, ev: Ev, *, carries_hold: bool, carries_wrapup: bool) -> str:
    """Fold one event into its entry; returns the agent it concerns."""
    p = ev.payload
    t = ev.type
    agent = ev.agent_ref
    if t == _ET.CALL_RINGING:
        if rec.answered_at is None and agent:
            rec._ring_started[agent] = ev.at
    elif t in (_ET.CALL_RING_NO_ANSWER, _ET.CALL_RING_CANCELED):
        started = rec._ring_started.pop(agent, None)
        ring = _number(p, "ring_s")
        if ring is None and started is not None:
            ring = _seconds(started, ev.at)
        outcome = _RO.NO_ANSWER if t == _ET.CALL_RING_NO_ANSWER else _RO.CANCELED
        rec.rings.append(Ring(agent, ev.at, ring, outcome))
        if outcome == _RO.NO_ANSWER:
            rec.ring_no_answer += 1
    elif t == _ET.CALL_ANSWERED:
        if rec.answered_at is not None or rec.status == _CS.ABANDONED:
            return agent  # one answer per entry: the first in the order
        rec.answered_at = ev.at
        rec.agent_ref = agent
        rec.status = _CS.TALKING
        wait = _number(p, "wait_s")
        rec.wait_s = wait if wait is not None else _seconds(rec.offered_at, ev.at)
        ring = _number(p, "ring_s")
        started = rec._ring_started.pop(agent, None)
        if ring is None and started is not None:
            ring = _seconds(started, ev.at)
        rec.ring_s = ring
        rec.rings.append(Ring(agent, ev.at, ring, _RO.ANSWERED))
        rec.hold_s = 0.0 if carries_hold else None
        rec.wrapup_s = 0.0 if carries_wrapup else None
        for other, at in sorted(rec._ring_started.items()):
            rec.rings.append(Ring(other, ev.at, _seconds(at, ev.at), _RO.CANCELED))
        rec._ring_started.clear()
    elif t == _ET.CALL_HELD:
        agent = agent or rec.agent_ref
        if rec.status == _CS.TALKING and rec._hold_started is None:
            rec._hold_started = ev.at
            rec.holds += 1
    elif t == _ET.CALL_RESUMED:
        agent = agent or rec.agent_ref
        if rec._hold_started is not None:
            rec.hold_s = (rec.hold_s or 0.0) + _seconds(rec._hold_started, ev.at)
            rec._hold_started = None
    elif t == _ET.CALL_TRANSFERRED:
        agent = agent or rec.agent_ref
        rec.transfers += 1
        rec.transfer_target = str(p.get("target") or "")[:120]
        if p.get("ends_call") and rec.status == _CS.TALKING:
            _end(rec, ev, hung_up_by="")
    elif t == _ET.CALL_ENDED:
        agent = agent or rec.agent_ref
        if rec.status == _CS.TALKING:
            _end(rec, ev, hung_up_by=str(p.get("hung_up_by") or ""))
        elif rec.status == _CS.WAITING:
            _abandon(rec, ev, _AR.HANGUP)  # an end without an answer is an abandon (C5c)
    elif t == _ET.CALL_ABANDONED:
        if rec.status == _CS.WAITING:
            reason = str(p.get("reason") or _AR.HANGUP)
            _abandon(rec, ev, reason if reason in _ABANDON_REASONS else _AR.HANGUP)
    elif t == _ET.AGENT_WRAPUP_STARTED:
        agent = agent or rec.agent_ref
        if rec.answered_at is not None and rec._wrap_started is None:
            rec._wrap_started = ev.at
    elif t == _ET.AGENT_WRAPUP_ENDED:
        agent = agent or rec.agent_ref
        if rec._wrap_started is not None:
            rec.wrapup_s = (rec.wrapup_s or 0.0) + _seconds(rec._wrap_started, ev.at)
            rec._wrap_started = None
    elif t == _ET.SURVEY_ANSWERED:
        agent = ""
        try:
            answer = int(p.get("answer"))
        except (TypeError, ValueError):
            answer = None
        if answer in (1, 2, 3) and rec.survey_answer is None:
            rec.survey_answer = answer
    elif t == _ET.RECORDING_AVAILABLE:
        agent = ""
        if not rec.recording_ref:
            rec.recording_ref = str(p.get("uri") or "")[:300]
    return agent


def _end(rec: CallRecord, ev: Ev, *, hung_up_by: str) -> None:
    p = ev.payload
    if rec._hold_started is not None:
        rec.hold_s = (rec.hold_s or 0.0) + _seconds(rec._hold_started, ev.at)
        rec._hold_started = None
    rec.ended_at = ev.at
    rec.status = _CS.ENDED
    rec.hung_up_by = hung_up_by if hung_up_by in ("customer", "agent") else ""
    talk = _number(p, "talk_s")
    if talk is None:
        talk = max(0.0, _seconds(rec.answered_at, ev.at) - (rec.hold_s or 0.0))
    rec.talk_s = talk


def _abandon(rec: CallRecord, ev: Ev, reason: str) -> None:
    rec.status = _CS.ABANDONED
    rec.ended_at = ev.at
    wait = _number(ev.payload, "wait_s")
    rec.wait_s = wait if wait is not None else _seconds(rec.offered_at, ev.at)
    rec.abandon_reason = reason
    for agent, at in sorted(rec._ring_started.items()):
        rec.rings.append(Ring(agent, ev.at, _seconds(at, ev.at), _RO.CANCELED))
    rec._ring_started.clear()


def _close(rec: CallRecord) -> None:
    """Rings still going at the end of the data stay as ringing."""
    for agent, at in sorted(rec._ring_started.items()):
        rec.rings.append(Ring(agent, at, None, _RO.RINGING))
    rec._ring_started.clear()


# --- agents ----------------------------------------------------------------------

@dataclass(frozen=True)
class StatePart:
    """What one event says about an agent: one part of the state."""

    dimension: str
    state: str
    reason: str = ""
    queue: str = ""
    # login / logout: the queue membership it changes ("*": all queues)
    membership: bool | None = None


# The call activity an event of a call sets.
_ACTIVITY = {
    _ET.CALL_RINGING: _AK.RINGING,
    _ET.CALL_RING_NO_ANSWER: _AK.IDLE,
    _ET.CALL_RING_CANCELED: _AK.IDLE,
    _ET.CALL_ANSWERED: _AK.TALKING,
    _ET.CALL_HELD: _AK.HOLD,
    _ET.CALL_RESUMED: _AK.TALKING,
    _ET.CALL_ENDED: _AK.IDLE,
    _ET.AGENT_WRAPUP_STARTED: _AK.WRAP_UP,
    _ET.AGENT_WRAPUP_ENDED: _AK.IDLE,
}


def state_parts(ev: Ev) -> list[StatePart]:
    t, p = ev.type, ev.payload
    A, P = _SD.ACTIVITY, _SD.PRESENCE
    reason = str(p.get("reason") or "")[:60]
    if t == _ET.AGENT_LOGIN:
        paused = bool(p.get("paused"))
        return [StatePart(P, _AK.NOT_READY if paused else _AK.READY, reason if paused else "",
                          ev.queue, membership=True)]
    if t == _ET.AGENT_LOGOUT:
        return [StatePart(P, _AK.LOGGED_OUT, "", ev.queue, membership=False)]
    if t == _ET.AGENT_READY:
        return [StatePart(P, _AK.READY, "", ev.queue)]
    if t == _ET.AGENT_NOT_READY:
        return [StatePart(P, _AK.NOT_READY, reason, ev.queue)]
    activity = _ACTIVITY.get(t)
    if t == _ET.CALL_TRANSFERRED and p.get("ends_call"):
        activity = _AK.IDLE
    if activity is None:
        return []
    return [StatePart(A, activity, "", ev.queue)]


@dataclass
class Snapshot:
    """An agent's current state as stored (``AgentState``)."""

    presence: str = _AK.LOGGED_OUT
    presence_reason: str = ""
    presence_at: dt.datetime | None = None
    presence_key: str = ""
    activity: str = _AK.IDLE
    activity_call: int | None = None
    activity_at: dt.datetime | None = None
    activity_key: str = ""
    memberships: dict[str, list] = field(default_factory=dict)

    def apply(self, part: StatePart, *, key: str, at: dt.datetime, call: int | None = None) -> None:
        """Take the part when its event is later in the order than the one
        that set that part: the result does not depend on arrival order."""
        if part.membership is not None:
            queue = part.queue or "*"
            held = self.memberships.get(queue)
            if held is None or key > held[1]:
                self.memberships[queue] = [part.membership, key, at.isoformat()]
        if part.dimension == _SD.PRESENCE:
            if part.state == _AK.LOGGED_OUT:
                return  # logging out is the memberships' business
            if key > self.presence_key:
                self.presence, self.presence_reason = part.state, part.reason
                self.presence_at, self.presence_key = at, key
        elif key > self.activity_key:
            self.activity, self.activity_at, self.activity_key = part.state, at, key
            self.activity_call = call if part.state != _AK.IDLE else None

    def logged_in(self) -> bool:
        if not self.memberships:
            # No log-in seen (data starting mid-shift): an agent whose phone
            # rings or who pauses is evidently logged in.
            return bool(self.presence_key or self.activity_key)
        everywhere = self.memberships.get("*")
        for queue, (inside, key, *_rest) in self.memberships.items():
            if queue == "*":
                if inside:
                    return True
                continue
            if inside and (everywhere is None or everywhere[0] or key > everywhere[1]):
                return True
        return False

    def combined(self) -> tuple[str, str, dt.datetime | None]:
        """(state, reason, since)."""
        if not self.logged_in():
            times = [dt.datetime.fromisoformat(m[2]) for m in self.memberships.values() if len(m) > 2 and not m[0]]
            return _AK.LOGGED_OUT, "", max(times) if times else None
        if self.activity != _AK.IDLE:
            return self.activity, "", self.activity_at
        if self.presence in (_AK.READY, _AK.NOT_READY):
            since = self.presence_at
            if self.activity_at is not None and (since is None or self.activity_at > since):
                since = self.activity_at
            return self.presence, self.presence_reason, since
        return _AK.READY, "", self.activity_at or self.presence_at
