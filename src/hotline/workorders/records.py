"""The order's record kept together (spec D11a) and the work-order
correctness KPI (D11b): orders passing the completeness checks and the
center's review / orders reviewed. Reads only."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace

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
                          contact_count: int | None = None, has_sub_classes: bool | None = None) -> list[str]:
    """Codes of what the order's record lacks (empty: complete)."""
    if events is None:
        events = list(WorkOrderEvent.objects.filter(order=order).order_by("seq"))
    if contact_count is None:
        contact_count = order.contact_links.count()
    if has_sub_classes is None:
        has_sub_classes = order.business_type.sub_classes.filter(active=True).exists()
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
    if has_sub_classes and not order.sub_class_id:
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


# The events the checks read: the rest of an order's history does not change the verdict.
CHECKED_EVENTS = ("dispatch", "reply", "callback")


# The order's fields the checks read.
CHECKED_FIELDS = ("id", "business_type_id", "anonymous", "customer_id", "caller_name", "caller_phone", "address",
                  "fault_scope", "description", "sub_class_id", "state")
# Ids per query: under SQLite's bound of 32,766 parameters a statement; a day of a center reviews fewer.
CHUNK = 10_000


def completeness_of(order_ids: list[int]) -> dict[int, list[str]]:
    """``completeness_problems`` of every order of ``order_ids`` (by id) in
    four queries per 10,000 orders (not three per order): the orders with their
    types, their contact counts, the events the checks read and the types
    with active sub-classes."""
    from hotline.catalog.models import SubClass

    typed = set(SubClass.objects.filter(active=True).order_by().values_list("business_type_id", flat=True).distinct())
    out: dict[int, list[str]] = {}
    for i in range(0, len(order_ids), CHUNK):
        out.update(_completeness_of(order_ids[i:i + CHUNK], typed))
    return out


def _completeness_of(ids: list[int], typed: set[int]) -> dict[int, list[str]]:
    from django.db.models import Case, Count, When

    from hotline.workorders.models import OrderContact

    contacts = dict(OrderContact.objects.filter(order_id__in=ids).order_by().values("order_id")
                    .annotate(n=Count("pk")).values_list("order_id", "n"))
    events: dict[int, list] = {}
    # A callback's payload is read; the other events' kinds are enough (payloads are JSON to decode).
    for order_id, kind, payload in (
            WorkOrderEvent.objects.filter(order_id__in=ids, kind__in=CHECKED_EVENTS).order_by("order_id", "seq")
            .values_list("order_id", "kind", Case(When(kind="callback", then="payload"), default=None))):
        events.setdefault(order_id, []).append(SimpleNamespace(kind=kind, payload=payload or {}))
    out = {}
    # Plain rows, not model instances: thousands of orders a day.
    for row in WorkOrder.objects.filter(pk__in=ids).values(*CHECKED_FIELDS, "business_type__code",
                                                            "business_type__restricted_reporter"):
        order = SimpleNamespace(**row, business_type=SimpleNamespace(
            code=row["business_type__code"], restricted_reporter=row["business_type__restricted_reporter"]))
        out[row["id"]] = completeness_problems(order, events=events.get(row["id"], []),
                                               contact_count=contacts.get(row["id"], 0),
                                               has_sub_classes=row["business_type_id"] in typed)
    return out


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
