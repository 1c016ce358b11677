"""Reads: what a user may see, lists, boards and inboxes, and what the
pages need beside them (intake choices, clocks, dispatch targets)."""

from __future__ import annotations

from django.db.models import F, OuterRef, Q, QuerySet, Subquery

from hotline.catalog.models import BusinessType, SubClass
from hotline.core import clock
from hotline.organisation import selectors as organisation_selectors
from hotline.organisation.models import Customer, ServiceArea, Unit, UnitKind, User
from hotline.workorders import access
from hotline.workorders.models import TERMINAL, State, WorkOrder, WorkOrderEvent

OPEN_STATES = [s for s in State.values if s not in TERMINAL]
INBOX_STATES = [State.DISPATCHED, State.RECEIVED, State.ON_SITE, State.RESOLVED]
# Chase-ups are raised from the order they chase, never at intake.
NOT_AT_INTAKE = ("chase_up",)
DISPATCH_TARGET_KINDS = (UnitKind.STATION, UnitKind.CREW, UnitKind.DEPARTMENT, UnitKind.DISPATCH_DESK)


def visible_orders(user: User) -> QuerySet[WorkOrder]:
    return access.visible_orders(user)


def get_visible_order(user: User, number: str) -> WorkOrder | None:
    return (visible_orders(user).select_related("business_type", "sub_class", "service_area", "assigned_unit", "scope_unit")
            .prefetch_related("customer", "owner", "master", "chased_order")
            .filter(number=number).first())


def timeline(order: WorkOrder, user: User | None = None) -> list[dict]:
    """Events and notices in time order, for the order page; event payloads
    as ``user`` may see them (access.event_payload)."""
    from hotline.timelimits.models import Notice

    restricted = access.is_restricted(order)

    def payload(e: WorkOrderEvent) -> dict:
        return e.payload if user is None else access.event_payload(user, order, e.payload, restricted=restricted)

    events = list(WorkOrderEvent.objects.filter(order=order).select_related("actor").order_by("seq"))
    items = [
        {"at": e.at, "kind": e.kind, "actor": str(e.actor) if e.actor else "", "role": e.actor_role,
         "from_state": e.from_state, "to_state": e.to_state, "payload": payload(e), "source": "event", "seq": e.seq}
        for e in events
    ]
    # Notices are events of the order too (D5e); only one raised before that
    # (older data) is shown from the notice itself, so none appears twice.
    recorded = {e.payload.get("notice") for e in events if e.kind in ("warning", "supervision", "escalation", "reminder")}
    items += [
        {"at": n.created_at, "kind": n.kind, "actor": "", "role": "", "from_state": "", "to_state": "",
         "payload": {"level": n.level, "metric": n.metric, "unit": str(n.unit) if n.unit else "", "answer": n.answer},
         "source": "notice", "seq": 0}
        for n in Notice.objects.filter(order=order).select_related("unit") if n.pk not in recorded
    ]
    items.sort(key=lambda i: (i["at"], i["source"] != "event", i["seq"]))
    return items


def can_see_reporter(user: User, order: WorkOrder) -> bool:
    return access.can_see_reporter(user, order)


def unit_inbox(user: User, *, limit: int = 100) -> list[WorkOrder]:
    """Orders a unit has to work on, most urgent clock first.

    Two steps: the ids and next due time of the first ``limit`` orders (index
    only), then those rows with their joins.
    """
    from hotline.timelimits.models import Clock, ClockStatus

    next_due = Clock.objects.filter(order=OuterRef("pk"), status=ClockStatus.RUNNING).order_by("due_at").values("due_at")[:1]
    head = list(_inbox(user)
                .annotate(next_due=Subquery(next_due)).order_by(F("next_due").asc(nulls_last=True), "created_at")
                .values_list("id", "next_due")[:limit])
    due = dict(head)
    rows = {o.id: o for o in WorkOrder.objects.filter(id__in=due).select_related(
        "business_type", "sub_class", "assigned_unit", "service_area", "customer", "chased_order")}
    out = []
    for order_id, _ in head:
        order = rows[order_id]
        order.next_due = due[order_id]
        out.append(order)
    return out


def _inbox(user: User) -> QuerySet[WorkOrder]:
    # Orders assigned into the user's subtree (for unit staff that is all
    # they see) still in the unit's hands.
    return access.visible_orders(user).filter(assigned_unit__isnull=False, state__in=INBOX_STATES)


def unit_inbox_count(user: User) -> int:
    return _inbox(user).count()


def my_orders(user: User) -> QuerySet[WorkOrder]:
    return (access.visible_orders(user).filter(owner=user).select_related("business_type", "sub_class", "assigned_unit")
            .order_by("-created_at"))


def shift_leader_board(user: User, *, limit: int = 200) -> dict:
    """Clocks near (warned) or past their limit, and open supervision notices."""
    from hotline.timelimits.models import Clock, ClockStatus, Notice, NoticeKind

    scope = access.order_scope(user, through="order__")
    now = clock.now()
    clocks = Clock.objects.filter(status=ClockStatus.RUNNING, warn_at__lte=now)
    notices = Notice.objects.filter(kind=NoticeKind.SUPERVISION, answered_at__isnull=True)
    if scope is not None:
        clocks = clocks.filter(scope)
        notices = notices.filter(scope)
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


def returns_by_unit(*, since=None, until=None) -> dict[int, int]:
    """Spec D4f: returns counted per department (unit id → count), from the
    return events, which name the unit that sent the order back."""
    from collections import Counter

    qs = WorkOrderEvent.objects.filter(kind="return")
    if since is not None:
        qs = qs.filter(at__gte=since)
    if until is not None:
        qs = qs.filter(at__lt=until)
    return dict(Counter(uid for uid in qs.values_list("payload__unit_id", flat=True) if uid is not None))


# --- for the pages ------------------------------------------------------------------

def intake_types() -> QuerySet[BusinessType]:
    return BusinessType.objects.filter(active=True).exclude(code__in=NOT_AT_INTAKE).order_by("sort_order", "code")


def intake_type(code: str) -> BusinessType | None:
    return intake_types().filter(code=code).first() if code else None


def sub_classes(business_type: BusinessType | None) -> QuerySet[SubClass]:
    if business_type is None:
        return SubClass.objects.none()
    return business_type.sub_classes.filter(active=True).select_related("parent").order_by("sort_order", "code")


def customer(user: User, customer_id: int | None) -> Customer | None:
    """A customer the user may look up (access.visible_customers), else None."""
    if not customer_id:
        return None
    return (access.visible_customers(user).select_related("service_area", "service_area__unit").prefetch_related("phones")
            .filter(pk=customer_id).first())


def service_area(area_id: int | None) -> ServiceArea | None:
    return organisation_selectors.service_area(area_id) if area_id else None


def customer_orders(user: User, customer: Customer, *, limit: int = 8) -> list[WorkOrder]:
    """The customer's latest orders the user may see, open ones first; a
    report is never listed (its link to the customer is the reporter)."""
    qs = (access.visible_orders(user).filter(customer=customer).filter(access.customer_link_visible())
          .select_related("business_type", "sub_class", "assigned_unit"))
    open_orders = list(qs.filter(state__in=OPEN_STATES).order_by("-created_at")[:limit])
    recent = list(qs.exclude(state__in=OPEN_STATES).order_by("-created_at")[: max(0, limit - len(open_orders))])
    return open_orders + recent


def order_clocks(order: WorkOrder) -> list:
    from hotline.timelimits.models import Clock

    return list(Clock.objects.filter(order=order).select_related("responsible_unit").order_by("started_at", "id"))


def dispatch_units(order: WorkOrder) -> QuerySet[Unit]:
    """Units an order may be sent to by hand: those of the center's county
    (the service refuses others)."""
    county = order.scope_unit.parent or order.scope_unit
    return Unit.objects.filter(path__startswith=county.path, active=True, kind__in=DISPATCH_TARGET_KINDS).order_by("path")


def _open_notices(user: User) -> QuerySet:
    from hotline.timelimits.models import Notice, NoticeKind

    qs = Notice.objects.filter(kind=NoticeKind.SUPERVISION, answered_at__isnull=True)
    prefix = organisation_selectors.user_scope_path(user)
    if prefix is not None:
        qs = qs.filter(Q(unit__path__startswith=prefix) | Q(supervisor_unit__path__startswith=prefix))
    return qs.select_related("order", "order__business_type", "unit", "supervisor_unit")


def unit_open_notices(user: User, *, limit: int = 100) -> list:
    """Unanswered supervision notices addressed to the user's unit (or a
    unit below it), or to it as supervisor."""
    return list(_open_notices(user).order_by("-level", "due_at")[:limit])


def unit_open_notice(user: User, notice_id: int):
    return _open_notices(user).filter(pk=notice_id).first()
