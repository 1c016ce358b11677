"""Writes for calls: the one ingest path every source feeds (C1d–g).

``ingest(source, events)`` stores the events a source sends, once each:
the pair (source, source event id) is unique in the database, so a second
delivery — the same batch retried, a log line read again, the same line
twice — is counted as a duplicate and not applied again (C5h). Then it
places the new events: the records of every call id they belong to are
derived again from *all* that call's events in time order (``derive``),
so late and out-of-order events give the calls they would have given in
order (C1h); agents' events set their state. An event that cannot be
placed — an end with no queue entry before it, an agent the installation
does not know — is kept with its reason (``CallEvent.state`` unplaced),
shown in the admin, and tried again by the ``calls.retry`` periodic task;
none is dropped (C1i, C5g). One ingest of a source runs at a time (its
row is locked), so a call's records are never derived by two at once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
import secrets
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from hotline.calls import derive, intervals
from hotline.calls.models import (
    AGENT_TYPES,
    KIND_CARRIES_HOLD,
    KIND_CARRIES_WRAPUP,
    PERMANENT_REASONS,
    RETRIED_REASONS,
    AgentIdentity,
    AgentState,
    AgentStateEvent,
    Call,
    CallEvent,
    CallRing,
    EventSource,
    EventType,
    Placement,
    Reason,
    SourceKind,
)
from hotline.core import bulk, clock

log = logging.getLogger(__name__)

MAX_BATCH = 5000
CHUNK = 500
TOKEN_PREFIX = "hs_"


class CallEventError(ValueError):
    """Bad event data: names the field and the reason (in the user's language)."""

    def __init__(self, field: str, message: str, index: int | None = None):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.index = index


# --- sources -----------------------------------------------------------------------

def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_source(*, name: str, kind: str, carries_hold: bool | None = None,
                  carries_wrapup: bool | None = None) -> EventSource:
    name = (name or "").strip()
    if not name or len(name) > 60:
        raise CallEventError("name", _("give the source a name of at most 60 characters"))
    if kind not in SourceKind.values:
        raise CallEventError("kind", _("must be one of: %(values)s") % {"values": ", ".join(SourceKind.values)})
    return EventSource.objects.create(
        name=name, kind=kind, created_at=clock.now(),
        carries_hold=KIND_CARRIES_HOLD.get(kind, True) if carries_hold is None else carries_hold,
        carries_wrapup=KIND_CARRIES_WRAPUP.get(kind, True) if carries_wrapup is None else carries_wrapup)


def issue_source_token(source: EventSource) -> str:
    """A new API token for the source (the old one stops working); only
    its hash is kept, the key is returned once."""
    key = TOKEN_PREFIX + secrets.token_urlsafe(32)
    source.token_hash, source.token_prefix = _hash(key), key[:8]
    source.save(update_fields=["token_hash", "token_prefix"])
    return key


def source_for_token(key: str) -> EventSource | None:
    if not key or not key.startswith(TOKEN_PREFIX):
        return None
    return EventSource.objects.filter(token_hash=_hash(key), active=True).first()


# --- events in -------------------------------------------------------------------------

@dataclass
class EventIn:
    """A normalised event as a source hands it to ``ingest``."""

    source_event_id: str
    type: str
    occurred_at: dt.datetime
    call_id: str = ""
    agent: str = ""
    queue: str = ""
    payload: dict[str, Any] = field(default_factory=dict)
    # Set by an adapter for a line it could not read or does not know.
    reason: str = ""


@dataclass
class IngestResult:
    accepted: int = 0
    duplicate: int = 0
    unplaced: int = 0
    # The new events left unplaced: (source event id, reason).
    unplaced_events: list[tuple[str, str]] = field(default_factory=list)
    calls: int = 0  # call ids whose records were derived again

    def add(self, other: IngestResult) -> None:
        self.accepted += other.accepted
        self.duplicate += other.duplicate
        self.unplaced += other.unplaced
        self.unplaced_events.extend(other.unplaced_events)
        self.calls += other.calls


_TYPES = frozenset(EventType.values)  # (``.values`` builds a new list on every read)
# Plain strings for the loops over every event: an enum member read from its
# class is a descriptor call (Python 3.11).
_PLACED, _UNPLACED, _UNKNOWN_AGENT = Placement.PLACED.value, Placement.UNPLACED.value, Reason.UNKNOWN_AGENT.value
_NEEDS_CALL = derive.DERIVED_TYPES - {EventType.AGENT_WRAPUP_STARTED, EventType.AGENT_WRAPUP_ENDED}


def check_event(ev: EventIn, index: int | None = None) -> EventIn:
    """Bounds and the fields each type needs; CallEventError otherwise."""
    def fail(name: str, message: str):
        raise CallEventError(name, message, index)

    ev.source_event_id = str(ev.source_event_id or "").strip()
    if not ev.source_event_id or len(ev.source_event_id) > 120:
        fail("id", _("give the event's id at the source (1 to 120 characters)"))
    if ev.type not in _TYPES:
        fail("type", _("must be one of: %(values)s") % {"values": ", ".join(EventType.values)})
    if not isinstance(ev.occurred_at, dt.datetime):
        fail("at", _("give the time the event happened"))
    if timezone.is_naive(ev.occurred_at):
        # A time without an offset is in the center's time zone (C5a).
        ev.occurred_at = timezone.make_aware(ev.occurred_at)
    ev.call_id, ev.agent, ev.queue = (str(v or "").strip() for v in (ev.call_id, ev.agent, ev.queue))
    for name, value, limit in (("call_id", ev.call_id, 120), ("agent", ev.agent, 80), ("queue", ev.queue, 60)):
        if len(value) > limit:
            fail(name, _("at most %(count)d characters") % {"count": limit})
    if ev.type == EventType.UNKNOWN:
        return ev
    if ev.type in _NEEDS_CALL and not ev.call_id:
        fail("call_id", _("a call event names its call"))
    if ev.type in AGENT_TYPES and not ev.agent:
        fail("agent", _("an agent event names its agent"))
    if ev.type in (EventType.CALL_RINGING, EventType.CALL_RING_NO_ANSWER, EventType.CALL_ANSWERED) and not ev.agent:
        fail("agent", _("say which agent's phone"))
    p = ev.payload
    if not isinstance(p, dict):
        fail("data", _("give an object"))
    for name in ("wait_s", "ring_s", "talk_s"):
        value = p.get(name)
        if value is not None and (not isinstance(value, int | float) or isinstance(value, bool)
                                  or not 0 <= value <= 7 * 86400):
            fail(name, _("give seconds between 0 and %(max)d") % {"max": 7 * 86400})
    if ev.type == EventType.SURVEY_ANSWERED and p.get("answer") not in (1, 2, 3):
        fail("answer", _("1 satisfied, 2 basically satisfied or 3 dissatisfied"))
    if ev.type == EventType.RECORDING_AVAILABLE and not str(p.get("uri") or "").strip():
        fail("uri", _("say where the recording is"))
    if p.get("hung_up_by") not in (None, "", "customer", "agent"):
        fail("hung_up_by", _("customer or agent"))
    return ev


def ingest(source: EventSource, events: Iterable[EventIn], *, cursor: tuple[str, int, int, str] | None = None
           ) -> IngestResult:
    """Store the events of one source once each and place the new ones.

    ``cursor`` (path, inode, offset, first-line hash): a tailed file's
    position, saved in the same transaction as the lines read up to it.

    The new events are placed before they are written: their calls are
    derived from the stored events of the same call ids and the new ones
    in memory, then the new rows go in once with their placement (on
    PostgreSQL by ``COPY``), so a new event costs one insert and no update."""
    result = IngestResult()
    batch: dict[str, EventIn] = {}
    for ev in events:
        if ev.source_event_id in batch:
            result.duplicate += 1
        else:
            batch[ev.source_event_id] = ev
    now = clock.now()
    with transaction.atomic():
        locked = EventSource.objects.select_for_update().get(pk=source.pk)
        seen = _stored_ids(locked, list(batch))
        result.duplicate += len(seen)
        rows = []
        for event_id, ev in batch.items():
            if event_id in seen:
                continue
            reason = ev.reason or (Reason.UNKNOWN_EVENT if ev.type == EventType.UNKNOWN else "")
            rows.append(_Stored.new(
                pk=None, source_id=locked.pk, source_event_id=event_id, type=ev.type, occurred_at=ev.occurred_at,
                call_id=ev.call_id, agent_ref=ev.agent, queue=ev.queue, payload=ev.payload, received_at=now,
                state=Placement.UNPLACED if reason else Placement.PLACED, reason=reason, call_record_id=None,
                attempts=1, retry_at=None))
        result.accepted = len(rows)
        placer = _Placer(locked, now)
        result.calls = placer.place(rows)
        keys = bulk.insert_rows(CallEvent, _EVENT_COLUMNS, [tuple(getattr(r, c) for c in _EVENT_COLUMNS)
                                                            for r in rows])
        for row, key in zip(rows, keys):
            row.pk = key
        placer.finish()
        # In the order the events happened (then as sent), as the stored rows are listed.
        order = sorted(range(len(rows)), key=lambda i: rows[i].occurred_at)
        for i in order:
            if rows[i].state == Placement.UNPLACED:
                result.unplaced += 1
                result.unplaced_events.append((rows[i].source_event_id, str(rows[i].reason)))
        if cursor is not None:
            from hotline.calls.models import LogCursor

            path, inode, offset, head = cursor
            LogCursor.objects.update_or_create(source=locked, path=path, defaults={
                "inode": inode, "offset": offset, "head": head, "updated_at": now})
    return result


def _stored_ids(source: EventSource, ids: list[str]) -> set[str]:
    """Which of ``ids`` the source has sent before."""
    seen: set[str] = set()
    if connection.vendor == "postgresql":
        if ids:
            seen.update(r[0] for r in bulk.pg_execute(f"SELECT source_event_id FROM {CallEvent._meta.db_table} "
                                                      "WHERE source_id = %s AND source_event_id = ANY(%b::text[])",
                                                      [source.pk, ids]))
        return seen
    for i in range(0, len(ids), CHUNK):
        seen.update(CallEvent.objects.filter(source=source, source_event_id__in=ids[i: i + CHUNK])
                    .values_list("source_event_id", flat=True))
    return seen


def ingest_many(source: EventSource, events: Iterable[EventIn], *, batch: int = 2000) -> IngestResult:
    """``ingest`` in batches of ``batch`` events (a bulk import)."""
    total = IngestResult()
    chunk: list[EventIn] = []
    for ev in events:
        chunk.append(ev)
        if len(chunk) >= batch:
            total.add(ingest(source, chunk))
            chunk = []
    if chunk:
        total.add(ingest(source, chunk))
    return total


# --- agents -------------------------------------------------------------------------

_DIGITS = re.compile(r"(\d{2,20})")


def agent_number_of(agent_ref: str) -> str:
    """The agent number inside a switch's agent id: ``SIP/1001``,
    ``PJSIP/1001-0000002a``, ``Local/1001@agents/n``, ``Agent/1001`` or
    ``1001`` → ``1001``."""
    text = agent_ref.rsplit("/", 1)[-1] if agent_ref.count("/") <= 1 else agent_ref.split("/", 2)[1]
    text = text.split("@", 1)[0].split("-", 1)[0]
    match = _DIGITS.fullmatch(text) or _DIGITS.search(agent_ref)
    return match.group(1) if match else ""


def resolve_agents(source: EventSource, refs: Iterable[str]) -> dict[str, int | None]:
    """User ids of a source's agent ids: an identity set for the source, else
    the one active user with the id's agent number (remembered as an
    identity); None when nobody is."""
    from hotline.organisation.models import User

    refs = {r for r in refs if r}
    out: dict[str, int | None] = {}
    if not refs:
        return out
    for ref, user_id in AgentIdentity.objects.filter(source=source, agent_ref__in=refs).values_list("agent_ref",
                                                                                                    "user_id"):
        out[ref] = user_id
    missing = {ref: agent_number_of(ref) for ref in refs - set(out)}
    numbers = {n for n in missing.values() if n}
    by_number: dict[str, list[int]] = defaultdict(list)
    if numbers:
        for number, user_id in User.objects.filter(agent_number__in=numbers, is_active=True).values_list(
                "agent_number", "id"):
            by_number[number].append(user_id)
    new = []
    for ref, number in missing.items():
        users = by_number.get(number, [])
        out[ref] = users[0] if len(users) == 1 else None
        if out[ref] is not None:
            new.append(AgentIdentity(source=source, agent_ref=ref, user_id=out[ref]))
    if new:
        AgentIdentity.objects.bulk_create(new, ignore_conflicts=True)
    return out


def set_agent_identity(*, source: EventSource, agent_ref: str, user) -> AgentIdentity:
    """Say who a source's agent id is; the events waiting for that agent are
    placed at once."""
    with transaction.atomic():
        identity, _created = AgentIdentity.objects.update_or_create(source=source, agent_ref=agent_ref,
                                                                    defaults={"user": user})
        pending = list(CallEvent.objects.filter(source=source, agent_ref=agent_ref, retry_at__isnull=False))
        if pending:
            _Placer(EventSource.objects.select_for_update().get(pk=source.pk), clock.now()).retry(pending)
    return identity


# --- placing -------------------------------------------------------------------------

_CALL_FIELDS = ("queue", "caller_number", "called_number", "status", "offered_at", "answered_at", "ended_at", "wait_s",
                "abandon_reason", "agent_ref", "agent_id", "ring_s", "ring_no_answer", "talk_s", "hold_s", "holds",
                "wrapup_s", "transfers", "transfer_target", "hung_up_by", "recording_ref", "survey_answer",
                "contact_id", "last_event_at")


def _backoff(attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=min(60 * 2 ** max(0, attempts - 1), 6 * 3600))


def _ev(row: CallEvent) -> derive.Ev:
    return derive.Ev(event_id=row.source_event_id, type=row.type, at=row.occurred_at, call_id=row.call_id,
                     agent_ref=row.agent_ref, queue=row.queue, payload=row.payload or {}, pk=row.pk,
                     source_id=row.source_id)


class _Stored:
    """A stored event as placing reads and updates it (no model instance: a
    chunk reads thousands)."""

    __slots__ = ("agent_ref", "attempts", "call_id", "call_record_id", "occurred_at", "payload", "pk", "queue", "reason",
                 "received_at", "retry_at", "source_event_id", "source_id", "state", "type")

    def __init__(self, *values):
        for name, value in zip(self.__slots__, values, strict=True):
            setattr(self, name, value)

    @classmethod
    def new(cls, **values) -> _Stored:
        return cls(*(values[name] for name in cls.__slots__))


# A new event's row as ``ingest`` inserts it (every column: there are no model instances to fill defaults).
_EVENT_COLUMNS = ("source_id", "source_event_id", "type", "occurred_at", "call_id", "agent_ref", "queue", "payload",
                  "received_at", "state", "reason", "call_record_id", "attempts", "retry_at")
_HISTORY_COLUMNS = ("user_id", "at", "dimension", "state", "reason", "queue", "call_id", "event_id")
_RING_COLUMNS = ("call_id", "seq", "agent_ref", "agent_id", "at", "ring_s", "outcome")
_PG_TABLES = {"event": CallEvent._meta.db_table, "call": Call._meta.db_table, "ring": CallRing._meta.db_table}


def _pg_rows(sql: str, params: list) -> list[tuple]:
    """Rows of a raw query on PostgreSQL (arrays, ``%b``, instead of a
    placeholder per value, and no query building for the few reads placing
    repeats per chunk)."""
    return bulk.pg_execute(sql.format(**_PG_TABLES), params)


def _derived(row: CallEvent) -> bool:
    """Whether the event counts in its call's records (else: an agent's own, or never placed)."""
    return bool(row.call_id) and row.type in derive.DERIVED_TYPES and row.reason not in PERMANENT_REASONS


class _Placer:
    """Places events of one source inside the caller's transaction.

    Rows without a primary key are new (``ingest`` inserts them after
    ``place`` with the placement it set); stored rows whose placement
    changes are updated here. The agents' history needs the events' keys:
    ``finish`` writes it once the new rows are in."""

    def __init__(self, source: EventSource, now: dt.datetime):
        self.source = source
        self.now = now
        self._agents: dict[str, int | None] = {}
        # (event, agent, call's key, whether the event is new): the agents' history to write.
        self._activity: list[tuple[CallEvent, int, int | None, bool]] = []
        # (before, after) of each call whose counted facts changed: the intervals to move.
        self._counted: list[tuple[intervals.CallFacts | None, intervals.CallFacts]] = []

    def _kpi_settings(self):
        from hotline.calls.kpis import Settings

        if not hasattr(self, "_settings"):
            self._settings = Settings.current()
        return self._settings

    def _agent(self, refs: Iterable[str]) -> dict[str, int | None]:
        wanted = {r for r in refs if r and r not in self._agents}
        if wanted:
            self._agents.update(resolve_agents(self.source, wanted))
        return self._agents

    def place(self, rows: Sequence[CallEvent]) -> int:
        """Place new events (not stored yet); returns how many call ids were derived."""
        fresh: dict[str, list[CallEvent]] = defaultdict(list)
        for r in rows:
            if _derived(r):
                fresh[r.call_id].append(r)
        agent_rows = [r for r in rows if r.type in AGENT_TYPES and r.state == Placement.PLACED
                      and not (r.call_id and r.type in derive.DERIVED_TYPES)]
        self._derive(sorted(fresh), fresh)
        self._agent_events(agent_rows)
        return len(fresh)

    def retry(self, rows: Sequence[CallEvent]) -> None:
        """Try waiting events again (the periodic task, a new agent identity)."""
        calls = [r for r in rows if r.call_id and r.type in derive.DERIVED_TYPES]
        if calls:
            # Counted as an attempt whatever comes of it; derivation sets the
            # next attempt of those still waiting.
            CallEvent.objects.filter(pk__in=[r.pk for r in calls]).update(attempts=F("attempts") + 1, retry_at=None)
        self._derive(sorted({r.call_id for r in calls}), {})
        self._agent_events([r for r in rows if not (r.call_id and r.type in derive.DERIVED_TYPES)], retried=True)
        self.finish()

    def finish(self) -> None:
        """The agents' history and current state for the events placed (all
        stored by now), then the intervals: their rows are shared by every
        source's ingest, so they are locked last, until the commit."""
        activity, self._activity = self._activity, []
        self._write_states(activity)
        counted, self._counted = self._counted, []
        if counted:
            settings = self._kpi_settings()
            intervals.apply(counted, T=settings.T, S=settings.S, now=self.now)

    # calls

    def _derive(self, call_ids: list[str], fresh: dict[str, list[CallEvent]]) -> None:
        for i in range(0, len(call_ids), CHUNK):
            self._derive_chunk(call_ids[i: i + CHUNK], fresh)

    def _stored_events(self, call_ids: list[str]) -> dict[str, list[_Stored]]:
        """The stored events of ``call_ids`` that count in calls, as plain rows."""
        events: dict[str, list[_Stored]] = defaultdict(list)
        if connection.vendor == "postgresql":
            columns = ", ".join("id" if c == "pk" else c for c in _Stored.__slots__)
            stored = _pg_rows(f"SELECT {columns} FROM {{event}} WHERE source_id = %s AND call_id = ANY(%b::text[]) "
                              "AND type = ANY(%b::text[]) AND reason <> ALL(%b::text[])",
                              [self.source.pk, call_ids, sorted(derive.DERIVED_TYPES), sorted(PERMANENT_REASONS)])
            payload = _Stored.__slots__.index("payload")
            stored = [(*v[:payload], json.loads(v[payload]) if isinstance(v[payload], str) else v[payload],
                       *v[payload + 1:]) for v in stored]
        else:
            stored = (CallEvent.objects.filter(source=self.source, type__in=derive.DERIVED_TYPES, call_id__in=call_ids)
                      .exclude(reason__in=PERMANENT_REASONS).order_by().values_list(*_Stored.__slots__))
        for values in stored:
            row = _Stored(*values)
            events[row.call_id].append(row)
        return events

    def _stored_calls(self, call_ids: list[str]) -> list[tuple]:
        """(primary key, call id, entry, the values of _CALL_FIELDS …) of the stored calls of ``call_ids``."""
        if connection.vendor == "postgresql":
            return _pg_rows(f"SELECT id, call_id, entry, {', '.join(_CALL_FIELDS)} FROM {{call}} "
                            "WHERE source_id = %s AND call_id = ANY(%b::text[])", [self.source.pk, call_ids])
        return list(Call.objects.filter(source=self.source, call_id__in=call_ids).values_list(
            "pk", "call_id", "entry", *_CALL_FIELDS).order_by())

    def _stored_rings(self, call_pks: list[int]) -> list[tuple]:
        """(call, agent ref, agent, at, ring s, outcome) of those calls' rings, in their order."""
        if connection.vendor == "postgresql":
            return _pg_rows("SELECT call_id, agent_ref, agent_id, at, ring_s, outcome FROM {ring} "
                            "WHERE call_id = ANY(%b::bigint[]) ORDER BY call_id, seq", [call_pks])
        return list(CallRing.objects.filter(call__in=call_pks).order_by("call", "seq").values_list(
            "call_id", "agent_ref", "agent_id", "at", "ring_s", "outcome"))

    def _derive_chunk(self, call_ids: list[str], fresh: dict[str, list[CallEvent]]) -> None:
        from hotline.contacts.services import sync_contacts

        events = self._stored_events(call_ids)
        for call_id in call_ids:
            events[call_id].extend(fresh.get(call_id, ()))
        # (call id, entry) → (primary key, the stored values of _CALL_FIELDS)
        existing: dict[tuple[str, int], tuple[int, tuple]] = {}
        for pk, call_id, entry, *values in self._stored_calls(call_ids):
            existing[(call_id, entry)] = (pk, tuple(values))
        derived: dict[str, tuple[list[derive.CallRecord], list[derive.Placed]]] = {}
        refs: set[str] = set()
        for call_id in call_ids:
            records, placed = derive.derive_call((_ev(r) for r in events[call_id]),
                                                 carries_hold=self.source.carries_hold,
                                                 carries_wrapup=self.source.carries_wrapup)
            derived[call_id] = (records, placed)
            refs.update(p.agent_ref for p in placed)
            refs.update(ring.agent_ref for rec in records for ring in rec.rings)
        agents = self._agent(refs)

        # One contact per call id (all its queue entries): orders recorded
        # during the call link to it (workorders.OrderContact).
        wanted_contacts = {}
        for call_id, (records, _placed) in derived.items():
            if not records:
                continue
            answered = [r for r in records if r.agent_ref and agents.get(r.agent_ref)]
            ends = [r.ended_at for r in records]
            wanted_contacts[call_id] = {
                "caller_number": records[0].caller_number, "queue": records[0].queue,
                "agent_id": agents.get(answered[0].agent_ref) if answered else None,
                "started_at": records[0].offered_at,
                "ended_at": max(ends) if all(e is not None for e in ends) else None,
                "recording_ref": next((r.recording_ref for r in records if r.recording_ref), ""),
            }
        contacts = sync_contacts(source=self.source.name, contacts=wanted_contacts) if wanted_contacts else {}

        held_rings: dict[int, list[tuple]] = defaultdict(list)
        if existing:
            for call_pk, *ring in self._stored_rings([pk for pk, _v in existing.values()]):
                held_rings[call_pk].append(tuple(ring))
        keys: dict[tuple[str, int], int] = {}  # (call id, entry) → the call's primary key
        new_calls, changed_calls, ring_calls = [], [], []
        for call_id, (records, _placed) in derived.items():
            for rec in records:
                values = rec.stored()
                values["agent_id"] = agents.get(rec.agent_ref) if rec.agent_ref else None
                values["contact_id"] = contacts.get(call_id)
                rings = [(r.agent_ref, agents.get(r.agent_ref), r.at, r.ring_s, r.outcome) for r in rec.rings]
                key = (call_id, rec.entry)
                after = intervals.CallFacts.of(values, rings)
                stored = existing.get(key)
                if stored is None:
                    new_calls.append((key, (self.source.pk, call_id, rec.entry, *(values[f] for f in _CALL_FIELDS),
                                            self.now)))
                    ring_calls.append((key, rings))
                    self._counted.append((None, after))
                    continue
                pk, old = stored
                keys[key] = pk
                before = intervals.CallFacts.of(dict(zip(_CALL_FIELDS, old)), held_rings.get(pk, []))
                if before != after:
                    self._counted.append((before, after))
                row = tuple(values[f] for f in _CALL_FIELDS)
                if row != old:
                    changed_calls.append((pk, *row, self.now))
                if held_rings.get(pk, []) != rings:
                    ring_calls.append((key, rings))
        if new_calls:
            pks = bulk.insert_rows(Call, ("source_id", "call_id", "entry", *_CALL_FIELDS, "updated_at"),
                                   [row for _key, row in new_calls])
            keys.update((key, pk) for (key, _row), pk in zip(new_calls, pks))
        if changed_calls:
            bulk.update_rows(Call, [*_CALL_FIELDS, "updated_at"], changed_calls)
        if ring_calls:
            held = [keys[key] for key, _r in ring_calls if keys[key] in held_rings]
            if held:
                CallRing.objects.filter(call__in=held).delete()
            bulk.insert_rows(CallRing, _RING_COLUMNS, [(keys[key], n, *ring) for key, rings in ring_calls
                                                       for n, ring in enumerate(rings, start=1)])

        # Each event's placement, and the agents' history for those newly placed.
        by_id = {r.source_event_id: r for rows in events.values() for r in rows}
        changed_events = []
        for call_id, (_records, placed) in derived.items():
            for p in placed:
                row = by_id[p.ev.event_id]
                call = keys[(call_id, p.entry)] if p.entry is not None else None
                was = (row.state, row.reason, row.call_record_id)
                if p.entry is None:
                    state, reason = _UNPLACED, p.reason
                elif p.agent_ref and agents.get(p.agent_ref) is None:
                    state, reason = _PLACED, _UNKNOWN_AGENT  # counted in its call; agent waits
                else:
                    state, reason = _PLACED, ""
                new = row.pk is None
                if state == _PLACED and p.agent_ref and agents.get(p.agent_ref) and (
                        new or row.reason in RETRIED_REASONS):
                    self._activity.append((row, agents[p.agent_ref], call, new))
                retry_at = None
                if reason in RETRIED_REASONS:
                    retry_at = self.now + _backoff(row.attempts)
                if (state, reason, call) != was or row.retry_at != retry_at:
                    row.state, row.reason, row.retry_at, row.call_record_id = state, reason, retry_at, call
                    if not new:
                        changed_events.append(row)
        if changed_events:
            bulk.update(CallEvent, changed_events, ["state", "reason", "call_record", "retry_at"])

    # agents

    def _agent_events(self, rows: Sequence[CallEvent], *, retried: bool = False) -> None:
        if not rows:
            return
        agents = self._agent(r.agent_ref for r in rows)
        changed = []
        for row in rows:
            user_id = agents.get(row.agent_ref)
            if user_id is None:
                if row.pk is not None and retried:
                    row.attempts += 1
                row.state, row.reason = Placement.UNPLACED, Reason.UNKNOWN_AGENT
                row.retry_at = self.now + _backoff(row.attempts)
                changed.append(row)
            else:
                if row.reason or row.retry_at is not None or row.state != Placement.PLACED:
                    row.state, row.reason, row.retry_at = Placement.PLACED, "", None
                    changed.append(row)
                self._activity.append((row, user_id, None, row.pk is None))
        changed = [r for r in changed if r.pk is not None]
        if changed:
            bulk.update(CallEvent, changed, ["state", "reason", "retry_at", "attempts"])

    def _write_states(self, items: list[tuple[CallEvent, int, int | None, bool]]) -> None:
        """Append the agents' history rows and move their current state."""
        if not items:
            return
        history, again = [], []
        by_user: dict[int, list[tuple[derive.StatePart, CallEvent, int | None]]] = defaultdict(list)
        for row, user_id, call, new in items:
            for part in derive.state_parts(_ev(row)):
                (history if new else again).append((user_id, row.occurred_at, part.dimension, part.state, part.reason,
                                                    part.queue, call, row.pk))
                by_user[user_id].append((part, row, call))
        if not history and not again:
            return
        # A new event has no history yet; one placed again may (the pair is unique).
        bulk.insert_rows(AgentStateEvent, _HISTORY_COLUMNS, history)
        AgentStateEvent.objects.bulk_create([AgentStateEvent(**dict(zip(_HISTORY_COLUMNS, h))) for h in again],
                                            ignore_conflicts=True, batch_size=CHUNK)
        users = sorted(by_user)
        # In the users' order: two sources' ingests moving the same agents lock them in one order.
        states = {s.user_id: s for s in AgentState.objects.select_for_update().filter(user_id__in=users)
                  .order_by("user_id")}
        new, changed = [], []
        for user_id in users:
            parts = by_user[user_id]
            state = states.get(user_id)
            if state is None:
                state = AgentState(user_id=user_id, updated_at=self.now)
                new.append(state)
            snap = derive.Snapshot(
                presence=state.presence, presence_reason=state.presence_reason, presence_at=state.presence_at,
                presence_key=state.presence_key, activity=state.activity, activity_call=state.activity_call_id,
                activity_at=state.activity_at, activity_key=state.activity_key,
                memberships=dict(state.memberships or {}))
            for part, row, call in parts:
                snap.apply(part, key=derive.order_key(_ev(row)), at=row.occurred_at, call=call)
            combined, reason, since = snap.combined()
            state.presence, state.presence_reason, state.presence_at = snap.presence, snap.presence_reason, \
                snap.presence_at
            state.presence_key, state.activity, state.activity_call_id = snap.presence_key, snap.activity, \
                snap.activity_call
            state.activity_at, state.activity_key, state.memberships = snap.activity_at, snap.activity_key, \
                snap.memberships
            state.state, state.reason, state.since, state.updated_at = combined, reason, since, self.now
            if state not in new:
                changed.append(state)
        if new:
            AgentState.objects.bulk_create(new)
        if changed:
            bulk.update(AgentState, changed, ["state", "reason", "since", "presence", "presence_reason",
                                              "presence_at", "presence_key", "activity", "activity_call",
                                              "activity_at", "activity_key", "memberships", "updated_at"])


# --- the periodic retry ----------------------------------------------------------------

RETRY_BATCH = 1000


def retry_unplaced(*, limit: int = RETRY_BATCH) -> int:
    """Try the waiting events that are due again; returns how many."""
    now = clock.now()
    due = list(CallEvent.objects.filter(retry_at__lte=now).order_by("retry_at").values_list("pk", "source_id")[:limit])
    by_source: dict[int, list[int]] = defaultdict(list)
    for pk, source_id in due:
        by_source[source_id].append(pk)
    for source_id, pks in by_source.items():
        with transaction.atomic():
            source = EventSource.objects.select_for_update().get(pk=source_id)
            _Placer(source, now).retry(list(CallEvent.objects.filter(pk__in=pks, retry_at__isnull=False)))
    return len(due)


def retry_task(ctx) -> float | None:
    """The ``calls.retry`` periodic task."""
    done = retry_unplaced()
    return 0 if done >= RETRY_BATCH else None
