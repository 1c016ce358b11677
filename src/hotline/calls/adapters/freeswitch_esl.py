"""FreeSWITCH ``mod_callcenter`` events over the event socket (C1f), as the
same normalised events as the Asterisk adapters.

The client is a small asyncio implementation of the documented plain-text
event-socket protocol (mod_event_socket, inbound mode): the switch greets
with ``Content-Type: auth/request``; we send ``auth PASSWORD`` and then
``event plain CUSTOM callcenter::info``, each answered by a
``command/reply`` with ``Reply-Text: +OK …``; every event then comes as
``Content-Type: text/event-plain`` with a ``Content-Length`` body of
``Name: url-encoded value`` lines. (Why no library: docs/dependencies.md.)

The fields, as the mod_callcenter documentation gives them; the call id
is ``CC-Member-Session-UUID`` (the caller's channel), the agent
``CC-Agent``; times are epoch seconds; the event's own time is
``Event-Date-Timestamp`` (microseconds):

====================  ==============================================  ===========================
CC-Action             fields read                                     normalised
====================  ==============================================  ===========================
member-queue-start    CC-Queue, CC-Member-CID-Number / -Name           call.offered
agent-offering        CC-Agent                                        call.ringing
bridge-agent-start    CC-Agent-Called-Time, CC-Agent-Answered-Time,   call.answered (wait = answered
                      CC-Member-Joined-Time                           − joined, ring = answered − called)
bridge-agent-end      CC-Bridge-Terminated-Time, CC-Hangup-Cause,     call.ended (who hung up from the
                      variable_sip_hangup_disposition                 agent leg's BYE, when present)
bridge-agent-fail     CC-Agent-Called-Time, CC-Agent-Aborted-Time,    call.ring_no_answer
                      CC-Hangup-Cause
member-queue-end      CC-Cause (Terminated | Cancel),                 Cancel: call.abandoned (wait =
                      CC-Cancel-Reason, CC-Member-Joined-Time,        leaving − joined); Terminated:
                      CC-Member-Leaving-Time                          nothing (bridge-agent-end ends it)
agent-status-change   CC-Agent-Status                                 Logged Out: agent.logout;
                                                                      Available…: agent.login + ready;
                                                                      On Break: agent.not_ready
agent-state-change    CC-Agent-State                                  nothing (the call events say it)
members-count         CC-Count                                        nothing (a gauge, no event)
====================  ==============================================  ===========================

Another CC-Action is kept as an unknown event and reported (C5g). The
event id is a hash of the member session, the action, the agent and the
event's timestamp: the same event delivered twice is one (C5h).
mod_callcenter reports no hold (``carries_hold`` of the source: the
adapter's sources are created as reporting none) and no after-call work.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
from collections.abc import Iterable, Mapping
from urllib.parse import unquote

from hotline.calls.adapters._stream import Backoff, BatchIngester
from hotline.calls.models import EventType, Reason
from hotline.calls.services import EventIn

log = logging.getLogger(__name__)

SUBSCRIBE = "event plain CUSTOM callcenter::info"
CANCEL_REASONS = {"TIMEOUT": "timeout", "NO_AGENT_TIMEOUT": "timeout", "EXIT_WITH_KEY": "key",
                  "BREAK_OUT": "hangup", "NONE": "hangup"}
IGNORED = frozenset({"agent-state-change", "members-count"})


def parse_plain(body: str) -> dict[str, str]:
    """An event-plain body: ``Name: url-encoded value`` lines."""
    headers: dict[str, str] = {}
    for line in body.splitlines():
        name, sep, value = line.partition(":")
        if sep and name.strip():
            headers[name.strip()] = unquote(value.strip())
    return headers


def _num(value: str | None) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def _span(start: float | None, end: float | None) -> float | None:
    if start is None or end is None:
        return None
    return max(0.0, end - start)


def event_id(event: Mapping, stamp: str) -> str:
    key = "|".join([event.get("CC-Member-Session-UUID", ""), event.get("CC-Member-UUID", ""),
                    event.get("CC-Action", ""), event.get("CC-Agent", ""), event.get("CC-Queue", ""), stamp])
    return "esl:" + hashlib.sha256(key.encode()).hexdigest()[:48]


def map_event(event: Mapping[str, str], *, now: dt.datetime | None = None) -> list[EventIn]:
    """One ``callcenter::info`` event (its headers, decoded) as normalised events."""
    if event.get("Event-Subclass", "callcenter::info") != "callcenter::info":
        return []
    action = event.get("CC-Action", "").strip().lower()
    if not action:
        return []
    micro = _num(event.get("Event-Date-Timestamp"))
    if micro is not None:
        at, stamp = dt.datetime.fromtimestamp(micro / 1e6, dt.UTC), event["Event-Date-Timestamp"]
    else:
        at = now or dt.datetime.now(dt.UTC)
        stamp = f"{at.timestamp():.6f}"
    call_id = event.get("CC-Member-Session-UUID", "")[:120]
    queue = event.get("CC-Queue", "")[:60]
    agent = event.get("CC-Agent", "")[:80]
    eid = event_id(event, stamp)

    def ev(kind: str, *, suffix: str = "", call: bool = True, **payload) -> EventIn:
        return EventIn(source_event_id=eid + suffix, type=kind, occurred_at=at, call_id=call_id if call else "",
                       agent=agent, queue=queue,
                       payload={"event": action, **{k: v for k, v in payload.items() if v not in (None, "")}})

    def unknown(reason: str) -> list[EventIn]:
        return [EventIn(source_event_id=eid, type=EventType.UNKNOWN, occurred_at=at, call_id=call_id, agent=agent,
                        queue=queue, payload={"event": action, "headers": {k: v[:500] for k, v in event.items()}},
                        reason=reason)]

    def t(name: str) -> float | None:
        return _num(event.get(name))

    if action in IGNORED:
        return []
    if action == "agent-status-change":
        if not agent:
            return unknown(Reason.INVALID)
        status = event.get("CC-Agent-Status", "")
        if status == "Logged Out":
            return [ev(EventType.AGENT_LOGOUT, call=False, status=status)]
        if status.startswith("Available"):
            return [ev(EventType.AGENT_LOGIN, call=False, status=status),
                    ev(EventType.AGENT_READY, suffix=":ready", call=False, status=status)]
        if status == "On Break":
            return [ev(EventType.AGENT_NOT_READY, call=False, reason="On Break", status=status)]
        return unknown(Reason.UNKNOWN_EVENT)
    if action not in ("member-queue-start", "member-queue-end", "agent-offering", "bridge-agent-start",
                      "bridge-agent-end", "bridge-agent-fail"):
        return unknown(Reason.UNKNOWN_EVENT)
    if not call_id:
        return unknown(Reason.INVALID)
    if action == "member-queue-start":
        return [ev(EventType.CALL_OFFERED, caller_number=event.get("CC-Member-CID-Number"),
                   caller_name=event.get("CC-Member-CID-Name"), member_uuid=event.get("CC-Member-UUID"))]
    if action == "member-queue-end":
        if event.get("CC-Cause", "") == "Cancel":
            reason = CANCEL_REASONS.get(event.get("CC-Cancel-Reason", "NONE"), "hangup")
            return [ev(EventType.CALL_ABANDONED, reason=reason, cancel_reason=event.get("CC-Cancel-Reason"),
                       wait_s=_span(t("CC-Member-Joined-Time"), t("CC-Member-Leaving-Time")))]
        return []
    if not agent:
        return unknown(Reason.INVALID)
    if action == "agent-offering":
        return [ev(EventType.CALL_RINGING)]
    if action == "bridge-agent-fail":
        return [ev(EventType.CALL_RING_NO_ANSWER, ring_s=_span(t("CC-Agent-Called-Time"), t("CC-Agent-Aborted-Time")),
                   hangup_cause=event.get("CC-Hangup-Cause"))]
    if action == "bridge-agent-start":
        answered = t("CC-Agent-Answered-Time")
        return [ev(EventType.CALL_ANSWERED, wait_s=_span(t("CC-Member-Joined-Time"), answered),
                   ring_s=_span(t("CC-Agent-Called-Time"), answered), agent_uuid=event.get("CC-Agent-UUID"))]
    # bridge-agent-end: the agent leg's BYE says who hung up, when the event carries it
    disposition = event.get("variable_sip_hangup_disposition", "")
    hung_up_by = {"recv_bye": "agent", "send_bye": "customer"}.get(disposition)
    return [ev(EventType.CALL_ENDED, hung_up_by=hung_up_by, hangup_cause=event.get("CC-Hangup-Cause"),
               talk_s=_span(t("CC-Agent-Answered-Time"), t("CC-Bridge-Terminated-Time")))]


def map_events(events: Iterable[Mapping[str, str]], *, now: dt.datetime | None = None) -> list[EventIn]:
    out: list[EventIn] = []
    for event in events:
        out.extend(map_event(event, now=now))
    return out


def source_named(name: str):
    """The ESL source of that name, created if new as reporting neither
    hold nor after-call work (mod_callcenter reports neither)."""
    from hotline.calls.models import EventSource, SourceKind
    from hotline.calls.services import create_source

    return EventSource.objects.filter(name=name).first() or create_source(
        name=name, kind=SourceKind.FREESWITCH_ESL, carries_hold=False, carries_wrapup=False)


# --- the event-socket client ------------------------------------------------------------

class EslError(Exception):
    pass


async def read_message(reader: asyncio.StreamReader) -> tuple[dict[str, str], str]:
    """One framed message: headers to a blank line, then Content-Length bytes."""
    headers: dict[str, str] = {}
    while True:
        line = await reader.readline()
        if not line:
            raise ConnectionResetError("event socket closed")
        text = line.decode("utf-8", "replace").rstrip("\r\n")
        if not text:
            if headers:
                break
            continue
        name, _sep, value = text.partition(":")
        headers[name.strip()] = value.strip()
    body = ""
    length = int(headers.get("Content-Length", "0") or 0)
    if length:
        body = (await reader.readexactly(length)).decode("utf-8", "replace")
    return headers, body


async def _command(reader, writer, command: str) -> dict[str, str]:
    writer.write(command.encode() + b"\n\n")
    await writer.drain()
    while True:
        headers, _body = await read_message(reader)
        if headers.get("Content-Type") == "command/reply":
            return headers
        if headers.get("Content-Type") == "text/disconnect-notice":
            raise ConnectionResetError("event socket disconnected")


class EslRunner:
    """Connects, authenticates, subscribes to ``callcenter::info``, ingests
    the events in batches, and connects again with a doubling delay
    whenever the connection is lost or refused."""

    def __init__(self, source, *, host: str, port: int, password: str, batch: int = 500, flush_s: float = 0.5,
                 backoff: Backoff | None = None):
        self.source = source
        self.host, self.port, self.password = host, port, password
        self.ingester = BatchIngester(source, batch=batch, flush_s=flush_s)
        self.backoff = backoff or Backoff()
        self.logins = 0

    async def _session(self) -> None:
        reader, writer = await asyncio.open_connection(self.host, self.port)
        try:
            headers, _ = await read_message(reader)
            if headers.get("Content-Type") != "auth/request":
                raise EslError(f"unexpected greeting {headers!r}")
            reply = await _command(reader, writer, f"auth {self.password}")
            if not reply.get("Reply-Text", "").startswith("+OK"):
                raise EslError(f"authentication refused: {reply.get('Reply-Text')}")
            reply = await _command(reader, writer, SUBSCRIBE)
            if not reply.get("Reply-Text", "").startswith("+OK"):
                raise EslError(f"subscription refused: {reply.get('Reply-Text')}")
            self.logins += 1
            self.backoff.reset()
            log.info("ESL: subscribed to callcenter::info on %s:%s", self.host, self.port)
            while True:
                headers, body = await read_message(reader)
                kind = headers.get("Content-Type")
                if kind == "text/disconnect-notice":
                    return
                if kind != "text/event-plain":
                    continue
                try:
                    events = map_event(parse_plain(body))
                except Exception:
                    log.exception("ESL: cannot read an event")
                    continue
                if events:
                    self.ingester.put(events)
        finally:
            writer.close()
            try:
                await writer.wait_closed()
            except OSError:
                pass

    async def _connect_forever(self) -> None:
        while True:
            try:
                await self._session()
                log.warning("ESL: connection closed by the switch")
            except (OSError, EslError, asyncio.IncompleteReadError, ValueError) as exc:
                log.warning("ESL: %s", exc)
            await asyncio.sleep(self.backoff.next())

    async def run(self, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        ingesting = asyncio.create_task(self.ingester.run())
        reading = asyncio.create_task(self._connect_forever())
        try:
            await stop.wait()
        finally:
            reading.cancel()
            ingesting.cancel()
            for task in (reading, ingesting):
                try:
                    await task
                except asyncio.CancelledError:
                    pass
            await loop.run_in_executor(None, self.ingester.close)


# --- commands (C1a, C2d) ------------------------------------------------------------------
#
# What the desk asks of FreeSWITCH, as mod_callcenter's and mod_commands'
# API commands over the same event socket (``api <command>``, answered by a
# ``Content-Type: api/response`` body of ``+OK …`` or ``-ERR …``):
#
#   not ready   callcenter_config agent set status <agent> 'On Break'
#   ready       callcenter_config agent set status <agent> 'Available'
#   sign in     callcenter_config agent set status <agent> 'Available'
#   sign out    callcenter_config agent set status <agent> 'Logged Out'
#   transfer    uuid_transfer <caller's uuid> <exten [dialplan [context]]>
#
# The event socket has no command id: the outbox key is kept as the
# receipt with the answer. Setting a status again changes nothing, so a
# lost answer is simply sent again; a uuid_transfer is not, so a retry first
# reads where the caller's channel is (``uuid_getvar <uuid>
# destination_number``: a transfer moves it to the destination's
# extension) and sends nothing when it is already there.

STATUS_OF = {"pause": "On Break", "unpause": "Available", "login": "Available", "logout": "Logged Out"}


def status_command(agent: str, status: str) -> str:
    from hotline.calls.adapters._commands import clean

    return f"callcenter_config agent set status {clean(agent, spaces=False)} '{status}'"


def transfer_command(uuid: str, destination: str) -> tuple[str, dict[str, str]]:
    """The transfer, and what a retry checks first."""
    from hotline.calls.adapters._commands import CommandValueError, clean

    parts = clean(destination).split()
    if not 1 <= len(parts) <= 3 or any("'" in p or '"' in p for p in parts):
        raise CommandValueError(destination)
    uuid = clean(uuid, spaces=False)
    return f"uuid_transfer {uuid} {' '.join(parts)}", {"uuid": uuid, "exten": parts[0]}


async def _api(reader, writer, command: str) -> str:
    writer.write(f"api {command}\n\n".encode())
    await writer.drain()
    while True:
        headers, body = await read_message(reader)
        kind = headers.get("Content-Type")
        if kind == "api/response":
            return body.strip()
        if kind == "text/disconnect-notice":
            raise ConnectionResetError("event socket disconnected")


async def _send_commands(conn, commands: list[str], *, key: str, verify: Mapping[str, str] | None, attempt: int,
                         timeout: float):
    from django.utils.translation import gettext as _

    from hotline.calls.adapters._commands import lost, unreachable
    from hotline.core.channels.base import Result

    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(conn.host, conn.port), timeout)
    except (OSError, TimeoutError) as exc:
        return Result.retry(unreachable(conn.where, exc))
    try:
        headers, _body = await asyncio.wait_for(read_message(reader), timeout)
        if headers.get("Content-Type") != "auth/request":
            return Result.retry(_("Unexpected greeting from the event socket at %(where)s") % {"where": conn.where})
        reply = await asyncio.wait_for(_command(reader, writer, f"auth {conn.secret}"), timeout)
        if not reply.get("Reply-Text", "").startswith("+OK"):
            return Result.refused(_("The event socket refused the password: %(answer)s") % {
                "answer": reply.get("Reply-Text", "")})
        if verify and attempt > 1:
            where = await asyncio.wait_for(_api(reader, writer, f"uuid_getvar {verify['uuid']} destination_number"),
                                           timeout)
            if where.startswith("-ERR"):
                return Result.refused(_("The call is no longer at the switch (%(answer)s)") % {"answer": where})
            if where == verify["exten"]:
                writer.write(b"exit\n\n")
                return Result.sent(ack=f"{key} {where} (already transferred)"[:200])
        confirmed = []
        for command in commands:
            answer = await asyncio.wait_for(_api(reader, writer, command), timeout)
            if not answer.startswith("+OK"):
                return Result.refused(f"{command.split()[0]}: {answer}"[:500])
            confirmed.append(answer)
        writer.write(b"exit\n\n")
        return Result.sent(ack=f"{key} {'; '.join(confirmed)}"[:200])
    except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
        return Result.retry(lost(conn.where, exc))
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except OSError:
            pass


def send_commands(conn, commands: list[str], *, key: str, verify: Mapping[str, str] | None = None,
                  attempt: int = 1, timeout: float = 5.0):
    """Authenticate on the event socket, send the API commands one after
    another, leave. A ``core.channels.Result``."""
    from hotline.calls.adapters._commands import run

    return run(_send_commands(conn, commands, key=key, verify=verify, attempt=attempt, timeout=timeout))
