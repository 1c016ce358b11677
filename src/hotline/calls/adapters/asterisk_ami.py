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
QueueCallerLeave       Queue, Position                              call.abandoned (timeout), when no
                                                                    AgentConnect / QueueCallerAbandon
                                                                    of the call follows (``AmiStream``)
Hold / Unhold          Uniqueid (a queue caller's channel only)     call.held / call.resumed
QueueMemberAdded       Queue, Interface, Paused, PausedReason       agent.login (that queue)
QueueMemberRemoved     Queue, Interface                             agent.logout (that queue)
QueueMemberPaused      Queue, Interface, Paused, PausedReason       agent.not_ready / agent.ready
=====================  ===========================================  =========================

QueueCallerLeave comes for every exit from the queue, just *before* the
AgentConnect of an answered call; after a QueueCallerAbandon when the
caller hung up; alone when the caller left by the queue's timeout or an
exit key (C5c: abandoned too; AMI does not say which of the two, so the
reason is ``timeout``). ``AmiStream`` holds a Leave back until it is
settled: dropped if the call's AgentConnect or abandon comes, else made an
abandon once ``grace_s`` has passed without one (or at the end of the
stream).

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
import time
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
                       position=_get(event, "Position"), linkedid=_get(event, "Linkedid"),
                       channel=_get(event, "Channel"))]  # the caller's channel: what a transfer redirects
        if name == "queuecallerleave":
            return []
        if name == "queuecallerabandon":
            return [ev(EventType.CALL_ABANDONED, reason="hangup", wait_s=_num(_get(event, "HoldTime")),
                       position=_get(event, "Position"), original_position=_get(event, "OriginalPosition"))]
        if not agent:
            return unknown(Reason.INVALID)
        if name == "agentcalled":
            return [ev(EventType.CALL_RINGING, dest_uniqueid=_get(event, "DestUniqueid"),
                       agent_channel=_get(event, "DestChannel"))]
        if name == "agentringnoanswer":
            ring = _num(_get(event, "RingTime"))
            return [ev(EventType.CALL_RING_NO_ANSWER, ring_s=None if ring is None else ring / 1000.0)]
        if name == "agentconnect":
            return [ev(EventType.CALL_ANSWERED, wait_s=_num(_get(event, "HoldTime")),
                       ring_s=_num(_get(event, "RingTime")), bridged_uniqueid=_get(event, "DestUniqueid"),
                       channel=_get(event, "Channel"), agent_channel=_get(event, "DestChannel"))]
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


class AmiStream:
    """The events of one AMI stream in order: ``map_event`` with the queue
    callers tracked, and a QueueCallerLeave held back until it is known
    whether the call was answered (see the module's notes)."""

    def __init__(self, *, grace_s: float = 2.0):
        self.grace_s = grace_s
        self.queue_calls: set[str] = set()
        self._settled: set[str] = set()  # abandoned or dumped: their Leave is no news
        self._pending: dict[str, tuple[float, EventIn]] = {}

    def feed(self, event: Mapping, *, clock: float = 0.0, now: dt.datetime | None = None) -> list[EventIn]:
        out = map_event(event, queue_calls=self.queue_calls, now=now)
        name = _get(event, "Event").lower()
        uid = _get(event, "Uniqueid")[:120]
        if name == "queuecallerjoin":
            self._settled.discard(uid)
            held = self._pending.pop(uid, None)
            if held is not None:  # entering a queue again: the last exit was no answer
                out = [held[1], *out]
        elif name == "queuecallerleave" and uid in self.queue_calls:
            if uid in self._settled:
                self._settled.discard(uid)
                self.queue_calls.discard(uid)
            else:
                at, stamp = _time(event, now)
                self._pending[uid] = (clock, EventIn(
                    source_event_id=event_id(event, _get(event, "Event"), stamp, "abandon"),
                    type=EventType.CALL_ABANDONED, occurred_at=at, call_id=uid, queue=_get(event, "Queue")[:60],
                    payload={"event": _get(event, "Event"), "reason": "timeout",
                             "position": _get(event, "Position")}))
        elif name == "agentconnect":
            self._pending.pop(uid, None)
        elif name in ("queuecallerabandon", "agentdump"):
            if self._pending.pop(uid, None) is None:
                self._settled.add(uid)
            else:
                self.queue_calls.discard(uid)
        elif name == "agentcomplete":
            self.queue_calls.discard(uid)
        return out

    def expire(self, clock: float) -> list[EventIn]:
        """The Leaves held back for ``grace_s`` with no answer: abandons."""
        due = [uid for uid, (held, _ev) in self._pending.items() if clock - held >= self.grace_s]
        self.queue_calls.difference_update(due)
        return [self._pending.pop(uid)[1] for uid in due]

    def flush(self) -> list[EventIn]:
        out = [ev for _held, ev in self._pending.values()]
        self.queue_calls.difference_update(self._pending)
        self._pending.clear()
        return out


def map_events(events: Iterable[Mapping], *, now: dt.datetime | None = None) -> list[EventIn]:
    """A whole stream of AMI events, in order (a Leave still unsettled at
    its end is an abandon)."""
    stream = AmiStream()
    out: list[EventIn] = []
    for event in events:
        out.extend(stream.feed(event, now=now))
    return out + stream.flush()


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
                 flush_s: float = 0.5, backoff: Backoff | None = None, ping_interval: int = 10,
                 grace_s: float = 2.0):
        self.source = source
        self.ingester = BatchIngester(source, batch=batch, flush_s=flush_s)
        self.stream = AmiStream(grace_s=grace_s)
        self.logins = 0
        self.config = {"host": host, "port": port, "username": username, "secret": secret, "events": "on",
                       "ping_delay": ping_interval, "ping_interval": ping_interval}
        self.backoff = backoff or Backoff()

    def _on_event(self, manager, message) -> None:
        try:
            events = self.stream.feed(dict(message), clock=time.monotonic())
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
            while not stop.is_set():
                try:
                    await asyncio.wait_for(stop.wait(), min(0.5, self.stream.grace_s / 2))
                except TimeoutError:
                    pass
                self.ingester.put(self.stream.expire(time.monotonic()))
        finally:
            manager.close()
            self.ingester.put(self.stream.flush())
            ingesting.cancel()
            try:
                await ingesting
            except asyncio.CancelledError:
                pass
            await loop.run_in_executor(None, self.ingester.close)


# --- commands (C1a, C2d) ------------------------------------------------------------------
#
# What the desk asks of an Asterisk switch, as the AMI actions the Asterisk
# documentation ("AMI Actions") defines; built when the command is enqueued
# (the outbox message shows exactly what goes out) and sent by the outbox's
# ``switch`` channel through ``send_actions``:
#
#   not ready      QueuePause  Interface, Paused: true, Reason (Queue omitted: every queue)
#   ready          QueuePause  Interface, Paused: false
#   sign in / out  QueueAdd / QueueRemove  Queue, Interface (one action per queue)
#   transfer       Redirect    Channel (the caller's), Exten, Context, Priority 1
#                  Atxfer      Channel (the agent's), Exten, Context — attended
#
# Each action's ActionID is the outbox message's de-duplication key (with
# ``:n`` when one command is several actions), so a retry goes out with the
# same ActionID and the switch's log shows it as the same command. Asterisk
# itself does not de-duplicate by ActionID, so a retry must be harmless on
# its own: the state actions are (pausing a paused member changes nothing;
# QueueAdd's "Already there" and QueueRemove's "Not there" mean done); a
# Redirect is not, so a retry first asks where the caller's channel is
# (Status) and sends nothing when it is already at the destination; an
# Atxfer cannot be checked, so one whose answer was lost is not sent again
# (the agent is told to look at the phone).

def pause_actions(interface: str, *, paused: bool, reason: str = "", queue: str = "") -> list[dict[str, str]]:
    from hotline.calls.adapters._commands import clean

    action = {"Action": "QueuePause", "Interface": clean(interface), "Paused": "true" if paused else "false"}
    if queue:
        action["Queue"] = clean(queue)
    if paused and reason:
        action["Reason"] = clean(reason)
    return [action]


def member_actions(interface: str, queues: Iterable[str], *, add: bool) -> list[dict[str, str]]:
    from hotline.calls.adapters._commands import clean

    interface = clean(interface)
    if add:
        return [{"Action": "QueueAdd", "Queue": clean(q), "Interface": interface, "Paused": "false"} for q in queues]
    return [{"Action": "QueueRemove", "Queue": clean(q), "Interface": interface} for q in queues]


def parse_destination(text: str) -> tuple[str, str] | None:
    """``exten@context`` → (exten, context); None when it is not that."""
    exten, sep, context = (text or "").strip().partition("@")
    if not sep or not exten or not context or any(c.isspace() for c in exten + context):
        return None
    return exten, context


def transfer_actions(*, destination: str, channel: str = "", agent_channel: str = "",
                     attended: bool = False) -> tuple[list[dict[str, str]], dict[str, str] | None]:
    """The transfer's action, and what a retry checks first (a Redirect's
    destination; None for an Atxfer, which cannot be checked)."""
    from hotline.calls.adapters._commands import CommandValueError, clean

    parsed = parse_destination(destination)
    if parsed is None:
        raise CommandValueError(destination)
    exten, context = (clean(p, spaces=False) for p in parsed)
    if attended:
        return [{"Action": "Atxfer", "Channel": clean(agent_channel), "Exten": exten, "Context": context}], None
    channel = clean(channel)
    return ([{"Action": "Redirect", "Channel": channel, "Exten": exten, "Context": context, "Priority": "1"}],
            {"channel": channel, "exten": exten, "context": context})


# Error answers that mean the state asked for is already there.
_ALREADY = {"queueadd": "already there", "queueremove": "not there"}
# Actions that set a state: sending one again changes nothing.
_IDEMPOTENT = frozenset({"queuepause", "queueadd", "queueremove"})


def _command_manager_class():
    from panoramisk import Manager

    class _CommandManager(Manager):
        """One short command session: no reconnect, no re-sending on a later
        connection (panoramisk keeps an unanswered action for the next one),
        and every awaited answer failed at once when the connection goes."""

        login_future = None

        def connection_made(self, f):
            if f.cancelled() or f.exception() is not None:
                return  # the caller awaits the connection and sees why
            super().connection_made(f)
            self.login_future = self.authenticated_future

        def connection_lost(self, exc):
            self._connected = False
            if self.pinger:
                self.pinger.cancel()
                self.pinger = None
            gone = ConnectionResetError("connection closed")
            waiting = list(self.awaiting_actions)
            self.awaiting_actions.clear()
            for action in waiting:
                if not action.future.done():
                    action.future.set_exception(gone)
            if self.login_future is not None and not self.login_future.done():
                self.login_future.set_exception(gone)

    return _CommandManager


def _answers(answer) -> list:
    return answer if isinstance(answer, list) else [answer]


async def _already_redirected(manager, verify: Mapping[str, str], key: str, timeout: float):
    """Where the caller's channel is now (a retry of a Redirect): a Result
    when there is nothing to send, None when it must be sent."""
    from django.utils.translation import gettext as _

    from hotline.core.channels.base import Result

    answer = await asyncio.wait_for(manager.send_action(
        {"Action": "Status", "Channel": verify["channel"], "ActionID": f"{key}:check"}), timeout)
    first = _answers(answer)[0]
    if not first.success:
        return Result.refused(_("The call is no longer at the switch (%(answer)s)") % {
            "answer": first.message or first.response})
    for item in _answers(answer):
        if _get(item, "Event").lower() == "status" and _get(item, "Context") == verify["context"] and \
                _get(item, "Exten") == verify["exten"]:
            return Result.sent(ack=f"{key} {verify['exten']}@{verify['context']} (already transferred)"[:200])
    return None


async def _send_actions(conn, actions: list[dict[str, str]], *, key: str, verify: Mapping[str, str] | None,
                        attempt: int, timeout: float):
    from django.utils.translation import gettext as _

    from hotline.calls.adapters._commands import lost, unreachable
    from hotline.core.channels.base import Result

    loop = asyncio.get_running_loop()
    manager = _command_manager_class()(loop=loop, host=conn.host, port=conn.port, username=conn.username,
                                       secret=conn.secret, events="off", ping_delay=3600, ping_interval=3600,
                                       encoding="utf8")
    written: dict[str, str] | None = None
    logged_in = False
    try:
        try:
            await asyncio.wait_for(manager.connect(), timeout)
            login = await asyncio.wait_for(manager.login_future, timeout)
        except (OSError, TimeoutError) as exc:
            return Result.retry(unreachable(conn.where, exc))
        if not login.success:
            return Result.refused(_("The switch refused the log-in of %(user)s: %(answer)s") % {
                "user": conn.username, "answer": login.message or login.response})
        logged_in = True
        if verify and attempt > 1:
            done = await _already_redirected(manager, verify, key, timeout)
            if done is not None:
                return done
        confirmed = []
        for i, action in enumerate(actions, 1):
            action_id = key if len(actions) == 1 else f"{key}:{i}"
            written = action
            # One answer each: panoramisk would otherwise wait for a list after
            # QueueAdd's "Added interface to queue".
            answer = _answers(await asyncio.wait_for(
                manager.send_action({**action, "ActionID": action_id}, as_list=False), timeout))[0]
            text = answer.message or answer.response or ""
            if not answer.success and _ALREADY.get(action["Action"].lower(), "\0") not in text.lower():
                return Result.refused(f"{action['Action']}: {text}"[:500])
            confirmed.append(f"{action_id} {text}".strip())
        written = None
        return Result.sent(ack="; ".join(confirmed)[:200])
    except (OSError, TimeoutError) as exc:
        if written is not None and written["Action"].lower() not in _IDEMPOTENT and verify is None:
            return Result.refused(_("No answer from the switch to %(action)s: whether it was done is not known; "
                                    "check on the phone") % {"action": written["Action"]})
        return Result.retry(lost(conn.where, exc))
    finally:
        if logged_in and manager.protocol is not None and not manager.protocol.closed:
            manager.protocol.send({"Action": "Logoff"})  # polite; its answer is not awaited
        manager.close()


def send_actions(conn, actions: list[dict[str, str]], *, key: str, verify: Mapping[str, str] | None = None,
                 attempt: int = 1, timeout: float = 5.0):
    """Log in to the manager interface, send the actions one after another
    (each answered before the next), log off. A ``core.channels.Result``."""
    from hotline.calls.adapters._commands import run

    return run(_send_actions(conn, actions, key=key, verify=verify, attempt=attempt, timeout=timeout))
