"""Reads of the agent desk: the state's version the pages poll, the state
itself with its recent history, and the screen pop (C2a).

The pages ask ``version(user)`` a few times a second: one primary-key
read of the agent's ``AgentState`` row, hashed. Every event that moves the
agent (a ring, an answer, an end, a pause set on the desk or at the
switch) changes one of the fields hashed, so an unchanged version means
nothing to show anew, and the page is answered with no content; only on a
change is the pop assembled (C2b: the ring is on the page within a poll
interval and one render).

The agent's latest switch command is part of the version (read in the same
query, as subqueries on the agent's ``SwitchCommand`` rows): when the
outbox's worker delivers it and the switch confirms or refuses, the next
poll shows so (C1a)."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field

from django.db.models import OuterRef, Subquery
from django.utils.translation import gettext as _

from hotline.calls.models import (
    AgentState,
    AgentStateEvent,
    AgentStateKind,
    Call,
    CallEvent,
    Escalation,
    EventType,
    NoCommand,
    SwitchAction,
    SwitchCommand,
)
from hotline.core import clock, phones
from hotline.core.models import OutboxState

# The fields of AgentState whose change the pages show.
VERSION_FIELDS = ("state", "reason", "since", "presence", "presence_reason", "presence_at", "activity",
                  "activity_call_id", "activity_at")
# After its end, the agent's last call stays on the pop this long (orders
# recorded after the call, C2c), until another call rings.
RECENT_CALL = dt.timedelta(minutes=30)
LIVE_ACTIVITIES = (AgentStateKind.RINGING, AgentStateKind.TALKING, AgentStateKind.HOLD, AgentStateKind.WRAP_UP)
MAX_CUSTOMERS = 5
ORDERS_PER_CUSTOMER = 6


# The agent's latest switch command, and what the outbox made of it so far.
COMMAND_FIELDS = ("command_id", "command_state", "command_attempts")


def _digest(row) -> str:
    if row is None:
        return "0"
    return hashlib.blake2s(repr(tuple(row)).encode(), digest_size=6).hexdigest()


def _with_command(qs):
    latest = SwitchCommand.objects.filter(user_id=OuterRef("user_id")).order_by("-id")
    return qs.annotate(command_id=Subquery(latest.values("id")[:1]),
                       command_state=Subquery(latest.values("message__state")[:1]),
                       command_attempts=Subquery(latest.values("message__attempts")[:1]))


def version(user) -> str:
    """The version of the agent's state: one read by primary key (with the
    latest command's state as subqueries)."""
    return _digest(_with_command(AgentState.objects.filter(user_id=user.pk))
                   .values_list(*VERSION_FIELDS, *COMMAND_FIELDS).first())


def state(user) -> AgentState | None:
    return _with_command(AgentState.objects.filter(user_id=user.pk).select_related("activity_call")).first()


def version_of(agent_state: AgentState | None) -> str:
    if agent_state is None:
        return "0"
    return _digest(tuple(getattr(agent_state, f, None) for f in (*VERSION_FIELDS, *COMMAND_FIELDS)))


def history(user, *, limit: int = 12) -> list[AgentStateEvent]:
    """The agent's latest state changes, newest first."""
    return list(AgentStateEvent.objects.filter(user_id=user.pk).select_related("call").order_by("-at", "-id")[:limit])


# --- what became of the switch commands (C1a, C2d) -----------------------------------

# A command stays on the state bar this long after it was given.
RECENT_COMMAND = dt.timedelta(minutes=30)


@dataclass
class CommandStatus:
    command: SwitchCommand
    status: str  # sent | retrying | confirmed | refused | cancelled | phone
    text: str

    @property
    def label(self) -> str:
        command = self.command
        if command.action == SwitchAction.TRANSFER and command.escalation_id:
            return _("Transfer to %(target)s") % {"target": command.escalation.get_target_display()}
        return command.get_action_display()


def _no_command_text(command: SwitchCommand) -> str:
    name = command.source.name if command.source_id else ""
    transfer = command.action == SwitchAction.TRANSFER
    if command.unsent == NoCommand.NO_COMMANDS:
        kind = command.source.get_kind_display() if command.source_id else ""
        why = _("%(source)s (%(kind)s) takes no commands from hotline") % {"source": name, "kind": kind}
    elif command.unsent == NoCommand.NOT_CONFIGURED:
        why = _("%(source)s has no command connection") % {"source": name}
    elif command.unsent == NoCommand.NO_INTERFACE:
        why = _("%(source)s does not know your extension yet") % {"source": name}
    elif command.unsent == NoCommand.NO_QUEUES:
        why = _("no queues are configured for %(source)s") % {"source": name}
    elif command.unsent == NoCommand.NO_DESTINATION:
        why = _("no transfer destination is configured for %(source)s") % {"source": name}
    elif command.unsent == NoCommand.NO_CHANNEL:
        why = _("%(source)s has not told hotline your call's channel") % {"source": name}
    else:
        why = _("no switch knows you as its agent")
    if transfer:
        return _("Not sent to the switch: %(why)s. The escalation is recorded; transfer the call on the phone.") % {
            "why": why}
    return _("Not sent to the switch: %(why)s. The state is recorded in hotline; set it on the phone too.") % {
        "why": why}


def command_status(command: SwitchCommand) -> CommandStatus:
    """What became of one command, in the agent's words."""
    message = command.message
    if message is None:
        return CommandStatus(command, "phone", _no_command_text(command))
    if message.state == OutboxState.ACKNOWLEDGED or (message.state == OutboxState.SENT and not message.ack):
        return CommandStatus(command, "confirmed", _("Confirmed by the switch"))
    if message.state == OutboxState.FAILED:
        return CommandStatus(command, "refused", _("Refused by the switch: %(reason)s") % {
            "reason": message.last_error or "—"})
    if message.state == OutboxState.DISCARDED:
        return CommandStatus(command, "cancelled", _("Not sent: a later change replaced it"))
    if message.attempts and message.last_error and message.state == OutboxState.PENDING:
        return CommandStatus(command, "retrying", _("Sent to the switch; trying again: %(error)s") % {
            "error": message.last_error})
    return CommandStatus(command, "sent", _("Sent to the switch"))


def latest_command(user, *, now: dt.datetime | None = None) -> CommandStatus | None:
    """The agent's latest command, while it is recent."""
    now = now or clock.now()
    command = (SwitchCommand.objects.filter(user_id=user.pk, at__gte=now - RECENT_COMMAND)
               .select_related("message", "source", "escalation").order_by("-id").first())
    return command_status(command) if command is not None else None


# --- the screen pop --------------------------------------------------------------------

@dataclass
class CustomerFacts:
    customer: object
    match: str  # "phone" or "account"
    orders: list = field(default_factory=list)  # open ones first, then recent
    outages: list[dict] = field(default_factory=list)  # published outages covering the address now
    arrears: bool = False
    frequent: dict | None = None
    harassment: bool = False  # the customer's own malicious-caller mark


@dataclass
class Pop:
    call: Call
    activity: str  # the agent's activity on it now; "idle" after its end
    caller_number: str
    account: str = ""
    marked: object = None  # organisation.MarkedNumber of the caller's number
    customers: list[CustomerFacts] = field(default_factory=list)
    escalations: list[Escalation] = field(default_factory=list)

    @property
    def live(self) -> bool:
        return self.activity in LIVE_ACTIVITIES

    @property
    def ringing(self) -> bool:
        return self.activity == AgentStateKind.RINGING

    @property
    def harassment(self) -> bool:
        from hotline.organisation.models import SpecialMark

        return (self.marked is not None and self.marked.mark == SpecialMark.MALICIOUS) or any(
            c.harassment for c in self.customers)


def current_call(user, agent_state: AgentState | None, *, now: dt.datetime | None = None) -> tuple[Call | None, str]:
    """The call the agent is on (ringing, talking, on hold, in its after-call
    work), else their last answered call if it ended within RECENT_CALL."""
    if agent_state is not None and agent_state.activity_call_id and agent_state.activity in LIVE_ACTIVITIES:
        call = Call.objects.select_related("source", "contact").filter(pk=agent_state.activity_call_id).first()
        if call is not None:
            return call, agent_state.activity
    now = now or clock.now()
    last = (Call.objects.select_related("source", "contact")
            .filter(agent_id=user.pk, offered_at__gte=now - dt.timedelta(hours=8), ended_at__gte=now - RECENT_CALL)
            .order_by("-offered_at").first())
    return last, AgentStateKind.IDLE


def _account_of(call: Call) -> str:
    """An account number the caller keyed in (the IVR), if the switch sent one."""
    for payload in CallEvent.objects.filter(source_id=call.source_id, call_id=call.call_id, type__in=[
            EventType.CALL_OFFERED, EventType.CALL_RINGING]).values_list("payload", flat=True):
        value = str((payload or {}).get("account") or (payload or {}).get("account_number") or "").strip()
        if value:
            return value[:30]
    return ""


def pop(user, agent_state: AgentState | None, *, now: dt.datetime | None = None) -> Pop | None:
    """What the agent's page shows of their call (C2a): the caller's
    customers by phone and by account, each with address, arrears,
    published outages over the address, open and recent orders, and the
    harassment marks (the number's and the customer's)."""
    from hotline.organisation.models import MarkedNumber, SpecialMark
    from hotline.workorders import intake_check
    from hotline.workorders import selectors as orders

    call, activity = current_call(user, agent_state, now=now)
    if call is None:
        return None
    phone = phones.normalise_or_none(call.caller_number)
    result = Pop(call=call, activity=activity, caller_number=phone.number if phone else call.caller_number,
                 account=_account_of(call))
    if phone is not None:
        result.marked = MarkedNumber.objects.filter(number=phone.number).first()
    found: dict[int, tuple[object, str]] = {}
    if phone is not None:
        for c in orders.lookup_customers(user, phone.number, limit=MAX_CUSTOMERS):
            if c.match == "phone":
                found.setdefault(c.pk, (c, "phone"))
    if result.account:
        for c in orders.lookup_customers(user, result.account, limit=MAX_CUSTOMERS):
            if c.match == "account":
                found.setdefault(c.pk, (c, "account"))
    # The account the caller keyed in names them best.
    ranked = sorted(found.values(), key=lambda cm: cm[1] != "account")[:MAX_CUSTOMERS]
    for customer, match in ranked:
        check = intake_check.check(service_area_id=None, customer=customer, at=now)
        result.customers.append(CustomerFacts(
            customer=customer, match=match, orders=orders.customer_orders(user, customer, limit=ORDERS_PER_CUSTOMER),
            outages=[o for o in check.outages if o.get("outage_class") != intake_check.ARREARS_CLASS],
            arrears=check.arrears, frequent=check.frequent if check.frequent and check.frequent.get("flagged") else None,
            harassment=customer.special_mark == SpecialMark.MALICIOUS))
    result.escalations = list(Escalation.objects.filter(call=call).order_by("at", "id"))
    transfers = {c.escalation_id: c for c in SwitchCommand.objects.filter(escalation__in=result.escalations)
                 .select_related("message", "source", "escalation")}
    for escalation in result.escalations:
        command = transfers.get(escalation.pk)
        escalation.switch = command_status(command) if command is not None else None
    return result
