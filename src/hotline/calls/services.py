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
from hotline.core import clock

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


_NEEDS_CALL = derive.DERIVED_TYPES - {EventType.AGENT_WRAPUP_STARTED, EventType.AGENT_WRAPUP_ENDED}


def check_event(ev: EventIn, index: int | None = None) -> EventIn:
    """Bounds and the fields each type needs; CallEventError otherwise."""
    def fail(name: str, message: str):
        raise CallEventError(name, message, index)

    ev.source_event_id = str(ev.source_event_id or "").strip()
    if not ev.source_event_id or len(ev.source_event_id) > 120:
        fail("id", _("give the event's id at the source (1 to 120 characters)"))
    if ev.type not in EventType.values:
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
    position, saved in the same transaction as the lines read up to it."""
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
        ids = list(batch)
        seen: set[str] = set()
        for i in range(0, len(ids), CHUNK):
            seen.update(CallEvent.objects.filter(source=locked, source_event_id__in=ids[i: i + CHUNK])
                        .values_list("source_event_id", flat=True))
        result.duplicate += len(seen)
        rows = []
        for event_id, ev in batch.items():
            if event_id in seen:
                continue
            reason = ev.reason or (Reason.UNKNOWN_EVENT if ev.type == EventType.UNKNOWN else "")
            rows.append(CallEvent(
                source=locked, source_event_id=event_id, type=ev.type, occurred_at=ev.occurred_at,
                call_id=ev.call_id, agent_ref=ev.agent, queue=ev.queue, payload=ev.payload, received_at=now,
                state=Placement.UNPLACED if reason else Placement.PLACED, reason=reason))
        created = CallEvent.objects.bulk_create(rows, batch_size=CHUNK)
        if created and created[0].pk is None:  # a backend that returns no keys
            created = list(CallEvent.objects.filter(source=locked, source_event_id__in=[r.source_event_id
                                                                                        for r in rows]))
        result.accepted = len(created)
        placer = _Placer(locked, now)
        result.calls = placer.place(created)
        pks = [row.pk for row in created]
        for i in range(0, len(pks), CHUNK):
            for event_id, reason in CallEvent.objects.filter(pk__in=pks[i: i + CHUNK], state=Placement.UNPLACED
                                                             ).values_list("source_event_id", "reason"):
                result.unplaced += 1
                result.unplaced_events.append((event_id, str(reason)))
        if cursor is not None:
            from hotline.calls.models import LogCursor

            path, inode, offset, head = cursor
            LogCursor.objects.update_or_create(source=locked, path=path, defaults={
                "inode": inode, "offset": offset, "head": head, "updated_at": now})
    return result


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


def _update_rows(model, rows: Sequence, fields: Sequence[str]) -> None:
    """``bulk_update`` as one ``UPDATE … WHERE pk = %s`` sent for every row
    (executemany), the same SQL on SQLite and PostgreSQL: Django's CASE WHEN
    form spent most of a large ingest (a simulated week) building its
    expressions."""
    if not rows:
        return
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    quote = connection.ops.quote_name
    sql = (f"UPDATE {quote(meta.db_table)} SET {', '.join(f'{quote(c.column)} = %s' for c in columns)} "
           f"WHERE {quote(meta.pk.column)} = %s")
    params = [[c.get_db_prep_save(getattr(row, c.attname), connection) for c in columns] + [row.pk] for row in rows]
    with connection.cursor() as cursor:
        for i in range(0, len(params), CHUNK):
            cursor.executemany(sql, params[i: i + CHUNK])


def _backoff(attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=min(60 * 2 ** max(0, attempts - 1), 6 * 3600))


def _ev(row: CallEvent) -> derive.Ev:
    return derive.Ev(event_id=row.source_event_id, type=row.type, at=row.occurred_at, call_id=row.call_id,
                     agent_ref=row.agent_ref, queue=row.queue, payload=row.payload or {}, pk=row.pk,
                     source_id=row.source_id)


class _Placer:
    """Places events of one source inside the caller's transaction."""

    def __init__(self, source: EventSource, now: dt.datetime):
        self.source = source
        self.now = now
        self._agents: dict[str, int | None] = {}

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
        """Place newly stored events; returns how many call ids were derived."""
        call_ids = {r.call_id for r in rows if r.call_id and r.type in derive.DERIVED_TYPES
                    and r.reason not in PERMANENT_REASONS}
        agent_rows = [r for r in rows if r.type in AGENT_TYPES and r.state == Placement.PLACED
                      and not (r.call_id and r.type in derive.DERIVED_TYPES)]
        fresh = {r.pk for r in rows}
        self._derive(sorted(call_ids), fresh)
        self._agent_events(agent_rows)
        return len(call_ids)

    def retry(self, rows: Sequence[CallEvent]) -> None:
        """Try waiting events again (the periodic task, a new agent identity)."""
        calls = [r for r in rows if r.call_id and r.type in derive.DERIVED_TYPES]
        if calls:
            # Counted as an attempt whatever comes of it; derivation sets the
            # next attempt of those still waiting.
            CallEvent.objects.filter(pk__in=[r.pk for r in calls]).update(attempts=F("attempts") + 1, retry_at=None)
        self._derive(sorted({r.call_id for r in calls}), set())
        self._agent_events([r for r in rows if not (r.call_id and r.type in derive.DERIVED_TYPES)], retried=True)

    # calls

    def _derive(self, call_ids: list[str], fresh: set[int]) -> None:
        for i in range(0, len(call_ids), CHUNK):
            self._derive_chunk(call_ids[i: i + CHUNK], fresh)

    def _derive_chunk(self, call_ids: list[str], fresh: set[int]) -> None:
        from hotline.contacts.services import sync_contacts

        events: dict[str, list[CallEvent]] = defaultdict(list)
        for row in CallEvent.objects.filter(source=self.source, call_id__in=call_ids,
                                            type__in=derive.DERIVED_TYPES).exclude(
                reason__in=PERMANENT_REASONS).order_by():
            events[row.call_id].append(row)
        existing = {(c.call_id, c.entry): c for c in Call.objects.filter(source=self.source, call_id__in=call_ids)}
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
        for ring in CallRing.objects.filter(call__source=self.source, call__call_id__in=call_ids).order_by("seq"):
            held_rings[ring.call_id].append((ring.agent_ref, ring.agent_id, ring.at, ring.ring_s, ring.outcome))
        new_calls, changed_calls, ring_calls, counted = [], [], [], []
        for call_id, (records, _placed) in derived.items():
            for rec in records:
                values = rec.stored()
                values["agent_id"] = agents.get(rec.agent_ref) if rec.agent_ref else None
                values["contact_id"] = contacts[call_id].pk if call_id in contacts else None
                rings = [(r.agent_ref, agents.get(r.agent_ref), r.at, r.ring_s, r.outcome) for r in rec.rings]
                call = existing.get((call_id, rec.entry))
                after = intervals.CallFacts.of(values, rings)
                if call is None:
                    call = Call(source=self.source, call_id=call_id, entry=rec.entry, updated_at=self.now, **values)
                    new_calls.append(call)
                    existing[(call_id, rec.entry)] = call
                    ring_calls.append((call, rings))
                    counted.append((None, after))
                    continue
                before = intervals.CallFacts.of({f: getattr(call, f) for f in _CALL_FIELDS},
                                                held_rings.get(call.pk, []))
                if before != after:
                    counted.append((before, after))
                if any(getattr(call, f) != values[f] for f in _CALL_FIELDS):
                    for f in _CALL_FIELDS:
                        setattr(call, f, values[f])
                    call.updated_at = self.now
                    changed_calls.append(call)
                if held_rings.get(call.pk, []) != rings:
                    ring_calls.append((call, rings))
        if new_calls:
            Call.objects.bulk_create(new_calls, batch_size=CHUNK)
            if new_calls[0].pk is None:
                keyed = {(c.call_id, c.entry): c.pk for c in Call.objects.filter(source=self.source,
                                                                                  call_id__in=call_ids)}
                for c in new_calls:
                    c.pk = keyed[(c.call_id, c.entry)]
        if changed_calls:
            _update_rows(Call, changed_calls, [*_CALL_FIELDS, "updated_at"])
        if counted:
            settings = self._kpi_settings()
            intervals.apply(counted, T=settings.T, S=settings.S, now=self.now)
        if ring_calls:
            CallRing.objects.filter(call__in=[c.pk for c, _r in ring_calls if c.pk in held_rings]).delete()
            CallRing.objects.bulk_create([
                CallRing(call=call, seq=n, agent_ref=agent_ref, agent_id=agent_id, at=ring_at, ring_s=ring_s,
                         outcome=outcome)
                for call, rings in ring_calls for n, (agent_ref, agent_id, ring_at, ring_s, outcome)
                in enumerate(rings, start=1)], batch_size=CHUNK)

        # Each event's placement, and the agents' history for those newly placed.
        by_pk = {r.pk: r for rows in events.values() for r in rows}
        changed_events, activity = [], []
        for call_id, (_records, placed) in derived.items():
            for p in placed:
                row = by_pk[p.ev.pk]
                call = existing.get((call_id, p.entry)) if p.entry is not None else None
                was = (row.state, row.reason, row.call_record_id)
                if p.entry is None:
                    state, reason = Placement.UNPLACED, p.reason
                elif p.agent_ref and agents.get(p.agent_ref) is None:
                    state, reason = Placement.PLACED, Reason.UNKNOWN_AGENT  # counted in its call; agent waits
                else:
                    state, reason = Placement.PLACED, ""
                newly = row.pk in fresh or row.reason in RETRIED_REASONS
                if state == Placement.PLACED and p.agent_ref and agents.get(p.agent_ref) and newly:
                    activity.append((row, agents[p.agent_ref], call))
                retry_at = None
                if reason in RETRIED_REASONS:
                    retry_at = self.now + _backoff(row.attempts)
                if (state, reason, call.pk if call else None) != was or row.retry_at != retry_at:
                    row.state, row.reason, row.retry_at = state, reason, retry_at
                    row.call_record = call
                    changed_events.append(row)
        if changed_events:
            _update_rows(CallEvent, changed_events, ["state", "reason", "call_record", "retry_at"])
        self._write_states(activity)

    # agents

    def _agent_events(self, rows: Sequence[CallEvent], *, retried: bool = False) -> None:
        if not rows:
            return
        agents = self._agent(r.agent_ref for r in rows)
        changed, known = [], []
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
                known.append((row, user_id, None))
        if changed:
            CallEvent.objects.bulk_update(changed, ["state", "reason", "retry_at", "attempts"], batch_size=CHUNK)
        self._write_states(known)

    def _write_states(self, items: list[tuple[CallEvent, int, Call | None]]) -> None:
        """Append the agents' history rows and move their current state."""
        if not items:
            return
        history = []
        by_user: dict[int, list[tuple[derive.StatePart, CallEvent, Call | None]]] = defaultdict(list)
        for row, user_id, call in items:
            for part in derive.state_parts(_ev(row)):
                history.append(AgentStateEvent(user_id=user_id, at=row.occurred_at, dimension=part.dimension,
                                               state=part.state, reason=part.reason, queue=part.queue,
                                               call_id=call.pk if call else None, event=row))
                by_user[user_id].append((part, row, call))
        if not history:
            return
        AgentStateEvent.objects.bulk_create(history, ignore_conflicts=True, batch_size=CHUNK)
        users = list(by_user)
        states = {s.user_id: s for s in AgentState.objects.select_for_update().filter(user_id__in=users)}
        new, changed = [], []
        for user_id, parts in by_user.items():
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
                snap.apply(part, key=derive.order_key(_ev(row)), at=row.occurred_at, call=call.pk if call else None)
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
            AgentState.objects.bulk_update(changed, ["state", "reason", "since", "presence", "presence_reason",
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
