"""Answered calls that need no work order (C3y): the agent says so at
wrap-up on the desk — a wrong number, a silent call, a caller who hung up
at once, harassment, a test call, no request at all — or links the call to
an order already recorded (a caller asking after their repair). Each is a
``CallDisposition`` in the call's history (append-only); the omission rate
leaves the first kind out of its requests, and the second is the linked
order's to handle (``reports.kpis.omission_rate``).

Writes (``mark``) run in a transaction; reads (``open_calls``) are the
agent's recent answered calls that have neither an order nor a mark.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from hotline.calls import policies
from hotline.calls.kpis import ANSWERED
from hotline.calls.models import Call, CallDisposition, CallRing
from hotline.core import clock, policy

# The call is about an order already recorded: it names the order.
EXISTING_ORDER = "existing_order"

NO_ORDER_LABELS = {
    "wrong_number": gettext_lazy("Wrong number"),
    "silent": gettext_lazy("Silent call"),
    "hung_up": gettext_lazy("Caller hung up at once"),
    "harassment": gettext_lazy("Harassing call"),
    "test_call": gettext_lazy("Test call"),
    "no_request": gettext_lazy("No request (thanks, greetings)"),
    EXISTING_ORDER: gettext_lazy("About an order already recorded"),
}

# How far back the desk lists calls still waiting for their wrap-up.
OPEN_HOURS = 24
OPEN_LIMIT = 20


class DispositionError(ValueError):
    """A mark refused: names the field and says why (in the user's language)."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def reasons() -> list[tuple[str, str]]:
    """(code, label) of the reasons the desk offers, in the configured order."""
    seen, out = set(), []
    for part in str(policy.get(policies.NO_ORDER_REASONS) or "").replace("，", ",").split(","):
        code = part.strip()[:60]
        if code and code not in seen:
            seen.add(code)
            out.append((code, str(NO_ORDER_LABELS.get(code, code))))
    return out


def reason_label(code: str) -> str:
    return str(NO_ORDER_LABELS.get(code, code))


def _is_theirs(user, call: Call) -> bool:
    from hotline.workorders.access import LEADER_ROLES

    if call.agent_id == user.pk or user.is_superuser:
        return True
    if CallRing.objects.filter(call=call, agent=user).exists():
        return True
    # A shift leader or director puts right a call of their center's agents.
    return (user.role in LEADER_ROLES and call.agent_id is not None and user.unit_id is not None
            and call.agent.unit_id is not None and call.agent.unit.path.startswith(user.unit.path))


def mark(*, user, call: Call, reason: str, order_number: str = "", note: str = "") -> CallDisposition:
    """Record that ``call`` needs no new order, for ``reason``; with
    ``existing_order`` the order ``order_number`` it was about, whose record
    then lists the call (a chase-up contact of the order)."""
    from hotline.workorders import access
    from hotline.workorders import services as orders

    if call.status != "ended" or call.agent_id is None:
        raise DispositionError("call", _("only an answered call that has ended is marked"))
    if not _is_theirs(user, call):
        raise DispositionError("call", _("this call is not yours"))
    codes = [code for code, _label in reasons()]
    reason = (reason or "").strip()
    if reason not in codes:
        raise DispositionError("reason", _("choose why the call needs no order"))
    note = (note or "").strip()
    if len(note) > 300:
        raise DispositionError("note", _("at most %(count)d characters") % {"count": 300})
    order = None
    number = (order_number or "").strip()
    if reason == EXISTING_ORDER:
        if not number:
            raise DispositionError("order", _("enter the number of the order the call was about"))
        order = access.visible_orders(user).filter(number=number).first()
        if order is None:
            raise DispositionError("order", _("no order %(number)s") % {"number": number[:30]})
    now = clock.now()
    with transaction.atomic():
        if order is not None and call.contact_id:
            orders.link_call(order=order, contact_id=call.contact_id, actor=user, at=now)
        return CallDisposition.objects.create(call=call, contact_id=call.contact_id, agent=user, reason=reason,
                                              order=order, note=note, at=now)


def open_calls(user, *, now: dt.datetime | None = None, limit: int = OPEN_LIMIT) -> list[Call]:
    """The user's answered calls of the last hours that gave no order and
    are not marked yet, newest first: what the desk asks them to wrap up."""
    from hotline.workorders.models import OrderContact

    now = now or clock.now()
    links = OrderContact.objects.filter(contact_id=OuterRef("contact_id"))
    marked = CallDisposition.objects.filter(call=OuterRef("pk"))
    return list(Call.objects.filter(ANSWERED, agent=user, offered_at__gte=now - dt.timedelta(hours=OPEN_HOURS))
                .exclude(Exists(links)).exclude(Exists(marked)).order_by("-offered_at")[:limit])


def recent(user, *, limit: int = 10) -> list[CallDisposition]:
    """The user's latest marks, newest first."""
    rows = list(CallDisposition.objects.filter(agent=user).select_related("call", "order").order_by("-at", "-id")
                [:limit])
    for row in rows:
        row.reason_label = reason_label(row.reason)
    return rows
