"""Reads: what a user may see, lists, boards and inboxes."""

from __future__ import annotations

from django.db.models import F, OuterRef, Q, QuerySet, Subquery

from hotline.core import clock
from hotline.organisation.models import Role, User
from hotline.organisation.selectors import subtree_unit_ids, user_scope_path
from hotline.workorders.models import TERMINAL, State, WorkOrder, WorkOrderEvent

OPEN_STATES = [s for s in State.values if s not in TERMINAL]
INBOX_STATES = [State.DISPATCHED, State.RECEIVED, State.ON_SITE, State.RESOLVED]


def visible_orders(user: User) -> QuerySet[WorkOrder]:
    qs = WorkOrder.objects.all()
    prefix = user_scope_path(user)
    if prefix is None:
        return qs
    units = subtree_unit_ids(prefix)
    if user.role == Role.UNIT_STAFF:
        return qs.filter(assigned_unit_id__in=units)
    return qs.filter(Q(scope_unit_id__in=units) | Q(assigned_unit_id__in=units))


def get_visible_order(user: User, number: str) -> WorkOrder | None:
    return (visible_orders(user).select_related("business_type", "sub_class", "service_area", "assigned_unit", "scope_unit")
            .prefetch_related("customer", "owner", "master", "chased_order")
            .filter(number=number).first())


def timeline(order: WorkOrder) -> list[dict]:
    """Events and notices in time order, for the order page."""
    from hotline.timelimits.models import Notice

    items = [
        {"at": e.at, "kind": e.kind, "actor": str(e.actor) if e.actor else "system", "role": e.actor_role,
         "from_state": e.from_state, "to_state": e.to_state, "payload": e.payload, "source": "event", "seq": e.seq}
        for e in WorkOrderEvent.objects.filter(order=order).select_related("actor").order_by("seq")
    ]
    items += [
        {"at": n.created_at, "kind": n.kind, "actor": "system", "role": "", "from_state": "", "to_state": "",
         "payload": {"level": n.level, "metric": n.metric, "unit": str(n.unit) if n.unit else "", "answer": n.answer},
         "source": "notice", "seq": 0}
        for n in Notice.objects.filter(order=order).select_related("unit")
    ]
    items.sort(key=lambda i: (i["at"], i["source"] != "event", i["seq"]))
    return items


def can_see_reporter(user: User, order: WorkOrder) -> bool:
    if user.is_superuser or user.role in (Role.ADMIN, Role.DIRECTOR):
        return True
    return user.role == Role.UNIT_STAFF and user.unit_id is not None and user.unit.function == "discipline" and \
        bool(order.assigned_path) and order.assigned_path.startswith(user.unit.path)


def unit_inbox(user: User, *, limit: int = 100) -> list[WorkOrder]:
    """Orders a unit has to work on, most urgent clock first.

    Two steps: the ids and next due time of the first ``limit`` orders (index
    only), then those rows with their joins.
    """
    from hotline.timelimits.models import Clock, ClockStatus

    prefix = user_scope_path(user) or "/"
    units = subtree_unit_ids(prefix)
    next_due = Clock.objects.filter(order=OuterRef("pk"), status=ClockStatus.RUNNING).order_by("due_at").values("due_at")[:1]
    head = list(WorkOrder.objects.filter(assigned_unit_id__in=units, state__in=INBOX_STATES)
                .annotate(next_due=Subquery(next_due)).order_by(F("next_due").asc(nulls_last=True), "created_at")
                .values_list("id", "next_due")[:limit])
    due = dict(head)
    rows = {o.id: o for o in WorkOrder.objects.filter(id__in=due).select_related(
        "business_type", "sub_class", "assigned_unit", "service_area", "customer")}
    out = []
    for order_id, _ in head:
        order = rows[order_id]
        order.next_due = due[order_id]
        out.append(order)
    return out


def unit_inbox_count(user: User) -> int:
    units = subtree_unit_ids(user_scope_path(user) or "/")
    return WorkOrder.objects.filter(assigned_unit_id__in=units, state__in=INBOX_STATES).count()


def my_orders(user: User) -> QuerySet[WorkOrder]:
    return (WorkOrder.objects.filter(owner=user).select_related("business_type", "sub_class", "assigned_unit")
            .order_by("-created_at"))


def shift_leader_board(user: User, *, limit: int = 200) -> dict:
    """Clocks near (warned) or past their limit, and open supervision notices."""
    from hotline.timelimits.models import Clock, ClockStatus, Notice, NoticeKind

    prefix = user_scope_path(user)
    now = clock.now()
    clocks = Clock.objects.filter(status=ClockStatus.RUNNING, warn_at__lte=now)
    notices = Notice.objects.filter(kind=NoticeKind.SUPERVISION, answered_at__isnull=True)
    if prefix is not None:
        units = subtree_unit_ids(prefix)
        clocks = clocks.filter(Q(order__scope_unit_id__in=units) | Q(order__assigned_unit_id__in=units))
        notices = notices.filter(Q(order__scope_unit_id__in=units) | Q(order__assigned_unit_id__in=units))
    # Only what the board shows: no descriptions, no life-cycle documents.
    clocks = (clocks.select_related("order", "order__business_type", "responsible_unit")
              .only("id", "metric", "status", "stage", "started_at", "warn_at", "due_at", "responsible_unit__name",
                    "order__number", "order__state", "order__business_type__name", "order__business_type__code")
              .order_by("due_at")[:limit])
    notices = (notices.select_related("order", "unit", "supervisor_unit")
               .only("id", "kind", "level", "metric", "due_at", "created_at", "answered_at", "order__number", "order__state",
                     "unit__name", "supervisor_unit__name")
               .order_by("-level", "due_at")[:limit])
    return {"now": now, "clocks": list(clocks), "notices": list(notices)}
