"""Commands the desk gives the switch (C1a, C2d): an agent's not ready,
ready, sign-in and sign-out, and a transfer to an expert or the shift
leader.

Each is written, inside the desk action's transaction, as a message of
the outbox's ``switch`` channel (so a command exists if and only if the
state change or escalation committed) and a ``SwitchCommand`` row the desk
reads back: the message's state is what became of it (pending and sending:
sent to the switch; acknowledged: the switch confirmed; failed: refused,
with the switch's answer). The command is written out here, in the
switch's own protocol, by the source's adapter (``asterisk_ami``,
``freeswitch_esl``), so the outbox shows exactly what goes out; the
``switch`` channel (``calls/channels/switch``) sends it.

Where no command can go — the agent's switch is a queue_log file, an HTTP
client or the simulator, its source has no command connection, the
agent's interface there or the transfer destination is not known — the
row says why and the desk tells the agent to do it on the phone: never a
silent no-op.

Which switch: for a state, the first active source with a command
connection that knows the agent (an identity, or its interface template and
the user's agent number); for a transfer, the call's own source.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from django.utils.translation import gettext as _

from hotline.calls.adapters import asterisk_ami, freeswitch_esl
from hotline.calls.adapters._commands import CommandValueError
from hotline.calls.models import (
    COMMAND_KINDS,
    STATE_ACTIONS,
    AgentIdentity,
    AgentState,
    Call,
    CallEvent,
    Escalation,
    EventSource,
    EventType,
    NoCommand,
    SourceKind,
    SwitchAction,
    SwitchCommand,
)
from hotline.core import clock, outbox

CHANNEL = "switch"
# Sources that are no switch of the agent's: hotline's own desk.
NOT_A_SWITCH = (SourceKind.DESK,)


def _queues(text: str) -> list[str]:
    return [q.strip() for q in (text or "").replace("，", ",").split(",") if q.strip()]


def _interface(user, source: EventSource) -> str:
    """The agent as the source's switch names them: the identity the ingest
    found (the latest), else the source's template with the agent number."""
    ref = (AgentIdentity.objects.filter(source=source, user=user).order_by("-pk")
           .values_list("agent_ref", flat=True).first())
    if ref:
        return ref
    if source.agent_interface and getattr(user, "agent_number", ""):
        return source.agent_interface.replace("{agent_number}", user.agent_number)
    return ""


def _state_source(user) -> tuple[EventSource | None, str]:
    """The switch to command for the agent's state, or (a source, why not)."""
    known = set(AgentIdentity.objects.filter(user=user).values_list("source_id", flat=True))
    sources = [s for s in EventSource.objects.filter(active=True).exclude(kind__in=NOT_A_SWITCH).order_by("pk")]
    commandable = [s for s in sources if s.takes_commands]
    for source in sorted(commandable, key=lambda s: s.pk not in known):
        if _interface(user, source):
            return source, ""
    mine = [s for s in sources if s.pk in known]
    for source in mine:
        if source.kind in COMMAND_KINDS and not source.takes_commands:
            return source, NoCommand.NOT_CONFIGURED
    if mine:
        return mine[0], NoCommand.NO_COMMANDS
    if commandable:
        return commandable[0], NoCommand.NO_INTERFACE
    return None, NoCommand.NO_SWITCH


def _agent_queues(user, *, logged_in: bool | None) -> list[str]:
    memberships = (AgentState.objects.filter(user=user).values_list("memberships", flat=True).first()) or {}
    return sorted(q for q, (inside, *_rest) in memberships.items()
                  if q != "*" and (logged_in is None or bool(inside) == logged_in))


def _state_payload(user, source: EventSource, action: str, reason: str) -> tuple[dict | None, str]:
    interface = _interface(user, source)
    try:
        if source.kind == SourceKind.FREESWITCH_ESL:
            return {"agent": interface, "api": [freeswitch_esl.status_command(
                interface, freeswitch_esl.STATUS_OF[action])]}, ""
        if action in (SwitchAction.PAUSE, SwitchAction.UNPAUSE):
            return {"agent": interface, "actions": asterisk_ami.pause_actions(
                interface, paused=action == SwitchAction.PAUSE, reason=reason)}, ""
        queues = _queues(source.login_queues) or _agent_queues(
            user, logged_in=None if action == SwitchAction.LOGIN else True)
        if not queues:
            return None, NoCommand.NO_QUEUES
        return {"agent": interface, "actions": asterisk_ami.member_actions(
            interface, queues, add=action == SwitchAction.LOGIN)}, ""
    except CommandValueError:
        return None, NoCommand.NO_INTERFACE


def order_key(source: EventSource, subject: str) -> str:
    """The outbox ordering key of a switch's commands about one thing (an
    agent's interface, a call): they reach the switch one at a time, in the
    order the desk gave them, whatever the number of workers. Long names
    are hashed to stay within the outbox's 200 characters."""
    key = f"switch:{source.pk}:{subject}"
    if len(key) > 200 or not key.isprintable():
        key = f"switch:{source.pk}:sha256:{hashlib.sha256(subject.encode()).hexdigest()}"
    return key


def _record(*, user, source, action: str, key: str, payload: dict | None, unsent: str, order: str = "",
            escalation: Escalation | None = None, at: dt.datetime) -> SwitchCommand:
    message = None
    if payload is not None:
        payload = {"source": source.pk, "kind": source.kind, "command": action, "at": at.isoformat(), **payload}
        message = outbox.enqueue(channel=CHANNEL, recipient=source.name, payload=payload,
                                 dedup_key=f"switch:{source.pk}:{key}", source=f"calls.desk:{user.pk}",
                                 order_key=order or None)
    command = SwitchCommand.objects.create(user=user, source=source, action=action, escalation=escalation,
                                           message=message, unsent="" if message else unsent, at=at)
    if message is not None and message.created and action in STATE_ACTIONS:
        # An older state command of the agent waiting out a backoff holds
        # this one back; due now, its send finds it replaced (the channel's
        # transport) and settles it, and this one follows at once.
        outbox.hurry_older(order_key=order, before=message.pk,
                           detail=_("due now: a later command of the same agent waits behind it"))
    return command


def for_state(*, user, action: str, reason: str = "", key: str) -> SwitchCommand:
    """The command of a state set on the desk (in its transaction). ``key``:
    the desk event's id, so the command is the event's and only its."""
    now = clock.now()
    source, unsent = _state_source(user)
    payload = None
    if source is not None and not unsent:
        payload, unsent = _state_payload(user, source, action, reason)
    order = order_key(source, payload["agent"]) if payload is not None else ""
    return _record(user=user, source=source, action=action, key=key, payload=payload, unsent=unsent, order=order,
                   at=now)


def _channels(call: Call) -> tuple[str, str]:
    """The caller's channel and the answering agent's, as the switch's
    events named them (AMI: QueueCallerJoin's Channel, AgentConnect's
    DestChannel)."""
    channel = agent_channel = ""
    rows = CallEvent.objects.filter(source_id=call.source_id, call_id=call.call_id, type__in=[
        EventType.CALL_OFFERED, EventType.CALL_RINGING, EventType.CALL_ANSWERED]).order_by("occurred_at", "id")
    for kind, ref, payload in rows.values_list("type", "agent_ref", "payload"):
        payload = payload or {}
        channel = channel or str(payload.get("channel") or "")
        if payload.get("agent_channel") and (not call.agent_ref or ref == call.agent_ref or
                                             kind == EventType.CALL_ANSWERED):
            agent_channel = str(payload["agent_channel"])
    return channel, agent_channel


@dataclass
class TransferPlan:
    """What a transfer will send, worked out before the escalation is
    written (append-only: it says at once whether the switch is commanded)."""

    source: EventSource
    payload: dict | None
    unsent: str

    @property
    def commanded(self) -> bool:
        return self.payload is not None


def transfer_plan(call: Call, target: str) -> TransferPlan:
    """The transfer to the call's own switch, or why there is none."""
    source = call.source
    if source.kind not in COMMAND_KINDS:
        return TransferPlan(source, None, NoCommand.NO_COMMANDS)
    if not source.takes_commands:
        return TransferPlan(source, None, NoCommand.NOT_CONFIGURED)
    destination = (source.transfer_expert if target == "expert" else source.transfer_shift_leader).strip()
    if not destination:
        return TransferPlan(source, None, NoCommand.NO_DESTINATION)
    try:
        if source.kind == SourceKind.FREESWITCH_ESL:
            command, verify = freeswitch_esl.transfer_command(call.call_id, destination)
            return TransferPlan(source, {"api": [command], "verify": verify, "target": target}, "")
        channel, agent_channel = _channels(call)
        if source.transfer_attended and not agent_channel:
            return TransferPlan(source, None, NoCommand.NO_CHANNEL)
        # Asterisk finds a channel by its Uniqueid too (the call id).
        actions, verify = asterisk_ami.transfer_actions(destination=destination, channel=channel or call.call_id,
                                                        agent_channel=agent_channel,
                                                        attended=source.transfer_attended)
    except CommandValueError:
        return TransferPlan(source, None, NoCommand.NO_DESTINATION)
    return TransferPlan(source, {"actions": actions, "verify": verify, "target": target}, "")


def for_transfer(*, user, escalation: Escalation, plan: TransferPlan) -> SwitchCommand:
    """The escalation's transfer command (in its transaction)."""
    return _record(user=user, source=plan.source, action=SwitchAction.TRANSFER, key=f"escalation:{escalation.pk}",
                   payload=plan.payload, unsent=plan.unsent, order=order_key(plan.source, f"call:{escalation.call.call_id}"),
                   escalation=escalation, at=clock.now())
