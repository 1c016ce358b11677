"""Writes of the agent desk.

An agent's state set on the desk is a normalised event (``agent.login``,
``agent.ready``, ``agent.not_ready`` with its reason, ``agent.wrapup_started``
/ ``agent.wrapup_ended``) of hotline's own ``desk`` source, stored and
placed by the one ingest path (``calls.services.ingest``) like a switch's:
the agent's ``AgentState`` and its append-only ``AgentStateEvent`` history
move exactly as they would for the switch's own pause or unpause, and the
latest event of each part of the state wins whichever source sent it.

The switch is commanded too (C1a): not ready, ready, sign in and sign out
each write, in the same transaction as their event, a command for the
agent's switch through the outbox (``desk.commands``: AMI ``QueuePause`` /
``QueueAdd`` / ``QueueRemove``, FreeSWITCH ``callcenter_config agent set
status``); the desk then shows whether the switch confirmed it. Where the
agent's switch takes no commands (a queue_log file, an HTTP client) the
state is hotline's alone and the desk says to set it on the phone too.
After-call work is hotline's own (the switch keeps its own wrap-up time).

Escalations (C2d) are recorded here too (``Escalation``) and, where the
call's switch takes commands, sent as the transfer (AMI ``Redirect`` or
``Atxfer``, FreeSWITCH ``uuid_transfer``) in the same transaction; the
switch's ``call.transferred`` then arrives through the ingest.
"""

from __future__ import annotations

import uuid

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from hotline.calls import policies
from hotline.calls import services as calls
from hotline.calls.desk import commands
from hotline.calls.models import (
    AgentIdentity,
    AgentState,
    AgentStateKind,
    Call,
    CallRing,
    Escalation,
    EscalationTarget,
    EventSource,
    EventType,
    SourceKind,
    SwitchAction,
)
from hotline.core import clock, policy
from hotline.organisation.models import CENTER_ROLES

DESK_SOURCE_NAME = "hotline-desk"


class DeskError(ValueError):
    """A desk action refused: names the field and says why (in the user's language)."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


# What an agent does on the desk → the normalised event it records.
class Action:
    SIGN_IN = "sign_in"
    SIGN_OUT = "sign_out"
    READY = "ready"
    NOT_READY = "not_ready"
    WRAPUP_START = "wrapup_start"
    WRAPUP_END = "wrapup_end"


# The desk actions that are a switch command too.
ACTION_COMMANDS = {
    Action.SIGN_IN: SwitchAction.LOGIN,
    Action.SIGN_OUT: SwitchAction.LOGOUT,
    Action.READY: SwitchAction.UNPAUSE,
    Action.NOT_READY: SwitchAction.PAUSE,
}

ACTION_EVENTS = {
    Action.SIGN_IN: EventType.AGENT_LOGIN,
    Action.SIGN_OUT: EventType.AGENT_LOGOUT,
    Action.READY: EventType.AGENT_READY,
    Action.NOT_READY: EventType.AGENT_NOT_READY,
    Action.WRAPUP_START: EventType.AGENT_WRAPUP_STARTED,
    Action.WRAPUP_END: EventType.AGENT_WRAPUP_ENDED,
}

# The not-ready reasons a 95598 center's agents pause with. Which ones the
# desk offers, and in which order, is the policy setting
# ``calls.not_ready_reasons``; an entry that is not a code here is a reason
# of the center's own, shown as written.
NOT_READY_LABELS = {
    "break": gettext_lazy("Short break"),
    "meal": gettext_lazy("Meal"),
    "meeting": gettext_lazy("Meeting"),
    "training": gettext_lazy("Training"),
    "coaching": gettext_lazy("Coaching"),
    "briefing": gettext_lazy("Shift briefing"),
    "paperwork": gettext_lazy("Order paperwork"),
    "system": gettext_lazy("System fault"),
}


# The call activities during which after-call work cannot start yet.
ON_A_CALL = (AgentStateKind.RINGING, AgentStateKind.TALKING, AgentStateKind.HOLD)


def not_ready_reasons() -> list[tuple[str, str]]:
    """(code, label) of the reasons the desk offers, in the configured order."""
    seen, out = set(), []
    for part in str(policy.get(policies.NOT_READY_REASONS) or "").replace("，", ",").split(","):
        code = part.strip()[:60]
        if code and code not in seen:
            seen.add(code)
            out.append((code, str(NOT_READY_LABELS.get(code, code))))
    return out


def reason_label(code: str) -> str:
    return str(NOT_READY_LABELS.get(code, code))


def may_use_desk(user) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and (user.role in CENTER_ROLES or user.is_superuser)


def desk_source() -> EventSource:
    """hotline's own event source (created the first time it is used)."""
    source = EventSource.objects.filter(kind=SourceKind.DESK).order_by("pk").first()
    if source is not None:
        return source
    try:
        with transaction.atomic():
            return EventSource.objects.create(name=DESK_SOURCE_NAME, kind=SourceKind.DESK, created_at=clock.now(),
                                              carries_hold=False, carries_wrapup=True)
    except IntegrityError:  # another request created it first
        return EventSource.objects.get(name=DESK_SOURCE_NAME)


def desk_agent_ref(user) -> str:
    """The agent as the desk source names them: the user, whatever their
    agent number (an identity row says who it is, so no number guessing)."""
    return f"user:{user.pk}"


def set_state(*, user, action: str, reason: str = "") -> AgentState:
    """Record what the agent set on the desk as a normalised event through
    the ingest; returns the agent's state after it."""
    if not may_use_desk(user):
        raise DeskError("user", _("only center staff have an agent desk"))
    event_type = ACTION_EVENTS.get(action)
    if event_type is None:
        raise DeskError("action", _("choose ready, not ready, after-call work or sign in / out"))
    reason = (reason or "").strip()
    payload = {}
    if action == Action.NOT_READY:
        codes = [code for code, _label in not_ready_reasons()]
        if reason not in codes:
            raise DeskError("reason", _("choose why you are not ready"))
        payload["reason"] = reason
    if action == Action.WRAPUP_START and AgentState.objects.filter(user=user, activity__in=ON_A_CALL).exists():
        raise DeskError("action", _("after-call work starts when the call has ended"))
    with transaction.atomic():
        source = desk_source()
        ref = desk_agent_ref(user)
        AgentIdentity.objects.get_or_create(source=source, agent_ref=ref, defaults={"user": user})
        event = calls.check_event(calls.EventIn(
            source_event_id=f"{user.pk}:{uuid.uuid4().hex}", type=event_type, occurred_at=clock.now(), agent=ref,
            payload=payload))
        calls.ingest(source, [event])
        if action in ACTION_COMMANDS:
            commands.for_state(user=user, action=ACTION_COMMANDS[action], reason=reason, key=event.source_event_id)
        return AgentState.objects.get(user=user)


# --- escalations (C2d) ---------------------------------------------------------------

def escalate(*, user, call: Call, target: str, note: str = "") -> Escalation:
    """Record that the agent escalates the call to an expert or the shift
    leader, and send the switch the transfer where the call's source takes
    commands (``command`` "switch"; else "phone": the agent transfers on the
    phone). The agent must be on the call (it rang them or they answered
    it)."""
    if not may_use_desk(user):
        raise DeskError("user", _("only center staff have an agent desk"))
    if target not in EscalationTarget.values:
        raise DeskError("target", _("escalate to an expert or the shift leader"))
    note = (note or "").strip()
    if len(note) > 300:
        raise DeskError("note", _("at most %(count)d characters") % {"count": 300})
    on_call = (call.agent_id == user.pk or CallRing.objects.filter(call=call, agent=user).exists()
               or AgentState.objects.filter(user=user, activity_call=call).exists())
    if not on_call:
        raise DeskError("call", _("this call is not yours"))
    with transaction.atomic():
        plan = commands.transfer_plan(call, target)
        escalation = Escalation.objects.create(call=call, contact_id=call.contact_id, agent=user, target=target,
                                               note=note, at=clock.now(),
                                               command="switch" if plan.commanded else "phone")
        commands.for_transfer(user=user, escalation=escalation, plan=plan)
        return escalation
