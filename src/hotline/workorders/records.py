"""The order's record kept together (spec D11a) and the work-order
correctness KPI (D11b): orders passing the completeness checks and the
center's review / orders reviewed. Reads only."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from hotline.workorders.models import State, WorkOrder, WorkOrderEvent

# Why a record is incomplete, as codes (stable for reports) with labels.
PROBLEMS = {
    "no_contact": _("no contact (call, form or API request) is linked"),
    "no_caller": _("neither a customer nor the caller's name and phone"),
    "no_address": _("no address"),
    "no_phenomenon": _("no description of the request"),
    "no_fault_scope": _("the repair's fault scope is not classified"),
    "no_sub_class": _("no sub-class"),
    "no_reply": _("closed without the unit's reply"),
    "no_callback_result": _("callback without an explicit result and the customer's words"),
}
CALLBACK_STATES = (State.CALLBACK, State.CLOSED)


@dataclass
class OrderRecord:
    """Everything kept about one order (D11a)."""

    order: WorkOrder
    events: list[WorkOrderEvent]
    contacts: list = field(default_factory=list)
    satisfaction: str | None = None
    problems: list[str] = field(default_factory=list)


def order_record(order: WorkOrder) -> OrderRecord:
    events = list(WorkOrderEvent.objects.filter(order=order).order_by("seq"))
    contacts = [link.contact for link in order.contact_links.select_related("contact").order_by("linked_at", "pk")]
    satisfaction = _last_callback_outcome(events)
    return OrderRecord(order=order, events=events, contacts=contacts, satisfaction=satisfaction,
                       problems=completeness_problems(order, events=events, contact_count=len(contacts)))


def _last_callback_outcome(events: list[WorkOrderEvent]) -> str | None:
    for e in reversed(events):
        if e.kind == "callback":
            return e.payload.get("outcome")
    return None


def completeness_problems(order: WorkOrder, *, events: list[WorkOrderEvent] | None = None,
                          contact_count: int | None = None) -> list[str]:
    """Codes of what the order's record lacks (empty: complete)."""
    if events is None:
        events = list(WorkOrderEvent.objects.filter(order=order).order_by("seq"))
    if contact_count is None:
        contact_count = order.contact_links.count()
    problems = []
    if contact_count == 0:
        problems.append("no_contact")
    restricted = order.business_type.restricted_reporter
    if not restricted and not order.anonymous and not order.customer_id and not (order.caller_name and order.caller_phone):
        problems.append("no_caller")
    if order.business_type.code == "repair":
        if not order.address:
            problems.append("no_address")
        if not order.fault_scope:
            problems.append("no_fault_scope")
    if not (order.description or "").strip():
        problems.append("no_phenomenon")
    if order.business_type.sub_classes.filter(active=True).exists() and not order.sub_class_id:
        problems.append("no_sub_class")
    kinds = [e.kind for e in events]
    if order.state == State.CLOSED and "dispatch" in kinds and "reply" not in kinds:
        problems.append("no_reply")
    # D6h: a callback note without an explicit result and the customer's words fails.
    for e in events:
        if e.kind == "callback" and not (e.payload.get("outcome") and (e.payload.get("note") or "").strip()):
            problems.append("no_callback_result")
            break
    return problems


def correctness(orders: QuerySet[WorkOrder]) -> dict:
    """D11b: of the orders the center reviewed (review or rework), those
    whose last review passed and whose record is complete. Rate None when
    nothing was reviewed."""
    reviewed_ids = set(WorkOrderEvent.objects.filter(order__in=orders, kind__in=("review", "rework"))
                       .values_list("order_id", flat=True))
    passed = 0
    for order in WorkOrder.objects.filter(pk__in=reviewed_ids).select_related("business_type"):
        events = list(WorkOrderEvent.objects.filter(order=order).order_by("seq"))
        last_review = next((e.kind for e in reversed(events) if e.kind in ("review", "rework")), None)
        if last_review == "review" and not completeness_problems(order, events=events):
            passed += 1
    total = len(reviewed_ids)
    return {"reviewed": total, "correct": passed, "rate": passed / total if total else None}
