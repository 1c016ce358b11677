"""Asterisk AMI queue events (C1e), through panoramisk (an asyncio AMI
client), as the same normalised events as the queue_log adapter.

The fields, as Asterisk's AMI event documentation (docs.asterisk.org,
Asterisk 16+ "AMI Events") gives them; the caller's channel is the
``Uniqueid`` (its call id), the agent the member's ``Interface``:

=====================  ===========================================  =========================
event                  fields read                                  normalised
=====================  ===========================================  =========================
QueueCallerJoin        Queue, CallerIDNum, Exten, Position          call.offered
AgentCalled            Queue, Interface                             call.ringing
AgentRingNoAnswer      Queue, Interface, RingTime (milliseconds)    call.ring_no_answer
AgentConnect           Queue, Interface, HoldTime, RingTime (s)     call.answered (wait = HoldTime, C5d)
AgentComplete          Queue, Interface, HoldTime, TalkTime,        call.ended, who hung up from Reason
                       Reason (caller | agent | transfer)           (transfer: call.transferred)
AgentDump              Queue, Interface                             call.ended, agent hung up
QueueCallerAbandon     Queue, Position, OriginalPosition, HoldTime  call.abandoned (hangup)
QueueCallerLeave       Queue, Position                              nothing: it comes for answered
                                                                    calls too (the answer or the
                                                                    abandon says what happened)
Hold / Unhold          Uniqueid (a queue caller's channel only)     call.held / call.resumed
QueueMemberAdded       Queue, Interface, Paused, PausedReason       agent.login (that queue)
QueueMemberRemoved     Queue, Interface                             agent.logout (that queue)
QueueMemberPaused      Queue, Interface, Paused, PausedReason       agent.not_ready / agent.ready
=====================  ===========================================  =========================

Another ``Queue…`` or ``Agent…`` event (QueueMemberStatus, QueueParams,
AgentLogin …) is kept as an unknown event and reported (C5g); the rest of
the AMI stream (Newchannel, VarSet …) is no queue event and is skipped.

The event's time is its ``Timestamp`` header, which Asterisk sends with
``timestampevents = yes`` in ``manager.conf`` — set it: the event id is a
hash of the call's Uniqueid and Linkedid (or the member's interface), the
event, its timestamp and the agent, so the same event delivered twice is
one event (C5h). Without a timestamp the receive time stands in and a
replay is not recognised as one. AMI reports no after-call work
(``KIND_CARRIES_WRAPUP``): AHT is talk and hold.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
from collections.abc import Iterable, Mapping

from hotline.calls.adapters._stream import Backoff, BatchIngester
from hotline.calls.models import EventType, Reason
from hotline.calls.services import EventIn

log = logging.getLogger(__name__)

CALL_EVENTS = frozenset({"queuecallerjoin", "agentcalled", "agentringnoanswer", "agentconnect", "agentcomplete",
                         "agentdump", "queuecallerabandon", "queuecallerleave"})
MEMBER_EVENTS = frozenset({"queuememberadded", "queuememberremoved", "queuememberpaused"})
HOLD_EVENTS = frozenset({"hold", "unhold"})


def _get(event: Mapping, key: str) -> str:
    for k, v in event.items():
        if k.lower() == key.lower():
            return "" if v is None else str(v).strip()
    return ""


def _num(value: str) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number >= 0 else None


def _time(event: Mapping, now: dt.datetime | None) -> tuple[dt.datetime, str]:
    stamp = _get(event, "Timestamp")
    seconds = _num(stamp)
    if seconds is not None:
        return dt.datetime.fromtimestamp(seconds, dt.UTC), stamp
    at = now or dt.datetime.now(dt.UTC)
    return at, f"{at.timestamp():.6f}"


def event_id(event: Mapping, name: str, stamp: str, suffix: str = "") -> str:
    key = "|".join([_get(event, "Uniqueid"), _get(event, "Linkedid"), name, stamp, _get(event, "Interface"),
                    _get(event, "Queue"), suffix])
    return "ami:" + hashlib.sha256(key.encode()).hexdigest()[:48]


def map_event(event: Mapping, *, queue_calls: set[str] | None = None,
              now: dt.datetime | None = None) -> list[EventIn]:
    """One AMI event (its headers as a dict) as normalised events.

    ``queue_calls``: the Uniqueids of the queue callers seen so far (the
    runner's; a QueueCallerJoin adds to it) — Hold and Unhold are read for
    those channels only, every other channel's hold being no queue call's."""
    raw = _get(event, "Event")
    name = raw.lower()
    if not name:
        return []
    at, stamp = _time(event, now)
    uniqueid = _get(event, "Uniqueid")[:120]
    queue = _get(event, "Queue")[:60]
    agent = (_get(event, "Interface") or _get(event, "MemberName"))[:80]

    def ev(kind: str, *, suffix: str = "", call: bool = True, **payload) -> EventIn:
        return EventIn(source_event_id=event_id(event, raw, stamp, suffix), type=kind, occurred_at=at,
                       call_id=uniqueid if call else "", agent=agent, queue=queue,
                       payload={"event": raw, **{k: v for k, v in payload.items() if v not in (None, "")}})

    def unknown(reason: str) -> list[EventIn]:
        return [EventIn(source_event_id=event_id(event, raw, stamp), type=EventType.UNKNOWN, occurred_at=at,
                        call_id=uniqueid, agent=agent, queue=queue,
                        payload={"event": raw, "headers": {str(k): str(v)[:500] for k, v in event.items()}},
                        reason=reason)]

    if name in CALL_EVENTS:
        if not uniqueid:
            return unknown(Reason.INVALID)
        if name == "queuecallerjoin":
            if queue_calls is not None:
                queue_calls.add(uniqueid)
            return [ev(EventType.CALL_OFFERED, call=True, caller_number=_get(event, "CallerIDNum"),
                       caller_name=_get(event, "CallerIDName"), called_number=_get(event, "Exten"),
                       position=_get(event, "Position"), linkedid=_get(event, "Linkedid"))]
        if name == "queuecallerleave":
            return []
        if name == "queuecallerabandon":
            return [ev(EventType.CALL_ABANDONED, reason="hangup", wait_s=_num(_get(event, "HoldTime")),
                       position=_get(event, "Position"), original_position=_get(event, "OriginalPosition"))]
        if not agent:
            return unknown(Reason.INVALID)
        if name == "agentcalled":
            return [ev(EventType.CALL_RINGING, dest_uniqueid=_get(event, "DestUniqueid"))]
        if name == "agentringnoanswer":
            ring = _num(_get(event, "RingTime"))
            return [ev(EventType.CALL_RING_NO_ANSWER, ring_s=None if ring is None else ring / 1000.0)]
        if name == "agentconnect":
            return [ev(EventType.CALL_ANSWERED, wait_s=_num(_get(event, "HoldTime")),
                       ring_s=_num(_get(event, "RingTime")), bridged_uniqueid=_get(event, "DestUniqueid"))]
        if name == "agentcomplete":
            reason = _get(event, "Reason").lower()
            if reason == "transfer":
                return [ev(EventType.CALL_TRANSFERRED, ends_call=True, wait_s=_num(_get(event, "HoldTime")),
                           talk_s=_num(_get(event, "TalkTime")))]
            hung_up_by = {"caller": "customer", "agent": "agent"}.get(reason)
            return [ev(EventType.CALL_ENDED, hung_up_by=hung_up_by, wait_s=_num(_get(event, "HoldTime")),
                       talk_s=_num(_get(event, "TalkTime")))]
        if name == "agentdump":
            return [ev(EventType.CALL_ENDED, hung_up_by="agent")]
    if name in HOLD_EVENTS:
        if queue_calls is None or uniqueid not in queue_calls:
            return []
        return [EventIn(source_event_id=event_id(event, raw, stamp),
                        type=EventType.CALL_HELD if name == "hold" else EventType.CALL_RESUMED, occurred_at=at,
                        call_id=uniqueid, payload={"event": raw})]
    if name in MEMBER_EVENTS:
        if not agent:
            return unknown(Reason.INVALID)
        paused = _get(event, "Paused") == "1"
        reason = _get(event, "PausedReason") or _get(event, "Reason")
        if name == "queuememberadded":
            return [ev(EventType.AGENT_LOGIN, call=False, paused=True if paused else None,
                       reason=reason if paused else None)]
        if name == "queuememberremoved":
            return [ev(EventType.AGENT_LOGOUT, call=False)]
        if paused:
            return [ev(EventType.AGENT_NOT_READY, call=False, reason=reason)]
        return [ev(EventType.AGENT_READY, call=False)]
    if name.startswith(("queue", "agent")):
        return unknown(Reason.UNKNOWN_EVENT)
    return []


def map_events(events: Iterable[Mapping], *, now: dt.datetime | None = None) -> list[EventIn]:
    """A stream of AMI events, in order, with the queue callers tracked."""
    calls: set[str] = set()
    out: list[EventIn] = []
    for event in events:
        out.extend(map_event(event, queue_calls=calls, now=now))
    return out


# --- the runner --------------------------------------------------------------------------

def _manager_class():
    from panoramisk import Manager

    class _Manager(Manager):
        """panoramisk's manager with a doubling reconnect delay (its own is
        fixed), retried also after a refused log-in, and a stop."""

        backoff: Backoff
        stopped = False
        on_auth = None

        def _again(self) -> None:
            if not self.stopped:
                delay = self.backoff.next()
                log.info("AMI: connecting again in %.1f s", delay)
                self.loop.call_later(delay, self.connect)

        def connect(self, *args, **kwargs):
            if self.stopped:
                return None
            return super().connect(*args, **kwargs)

        def connection_made(self, f):
            if f.exception() is not None:
                log.warning("AMI: cannot connect to %s:%s: %s", self.config["host"], self.config["port"],
                            f.exception())
                self._again()
                return
            super().connection_made(f)

        def login(self, future):
            try:
                ok = super().login(future)
            except (OSError, asyncio.CancelledError, asyncio.InvalidStateError) as exc:  # closed before the answer
                log.warning("AMI: log-in not answered: %s", exc)
                return False
            if ok:
                self.backoff.reset()
                log.info("AMI: logged in to %s:%s", self.config["host"], self.config["port"])
            else:
                log.error("AMI: log-in refused for %s", self.config["username"])
                if self.protocol is not None:
                    self.protocol.close()
                self._again()
            if self.on_auth is not None:
                self.on_auth(ok)
            return ok

        def connection_lost(self, exc):
            self._connected = False
            log.warning("AMI: connection lost")
            if self.pinger:
                self.pinger.cancel()
                self.pinger = None
            self._again()

        def close(self):
            self.stopped = True
            super().close()

    return _Manager


class AmiRunner:
    """Connects, logs in, reads queue events, ingests them in batches, and
    connects again with a doubling delay whenever the connection is lost."""

    def __init__(self, source, *, host: str, port: int, username: str, secret: str, batch: int = 500,
                 flush_s: float = 0.5, backoff: Backoff | None = None, ping_interval: int = 10):
        self.source = source
        self.ingester = BatchIngester(source, batch=batch, flush_s=flush_s)
        self.queue_calls: set[str] = set()
        self.logins = 0
        self.config = {"host": host, "port": port, "username": username, "secret": secret, "events": "on",
                       "ping_delay": ping_interval, "ping_interval": ping_interval}
        self.backoff = backoff or Backoff()

    def _on_event(self, manager, message) -> None:
        try:
            events = map_event(dict(message), queue_calls=self.queue_calls)
        except Exception:  # one event the mapping cannot read must not stop the stream
            log.exception("AMI: cannot read %r", dict(message))
            return
        if events:
            self.ingester.put(events)

    def _on_auth(self, ok: bool) -> None:
        if ok:
            self.logins += 1

    async def run(self, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        manager = _manager_class()(loop=loop, **self.config)
        manager.backoff = self.backoff
        manager.on_auth = self._on_auth
        manager.register_event("*", self._on_event)
        ingesting = asyncio.create_task(self.ingester.run())
        manager.connect()
        try:
            await stop.wait()
        finally:
            manager.close()
            ingesting.cancel()
            try:
                await ingesting
            except asyncio.CancelledError:
                pass
            await loop.run_in_executor(None, self.ingester.close)
