"""Reads: what a user may see, lists, boards and inboxes, and what the
pages need beside them (intake choices, clocks, dispatch targets)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace

from django.db.models import Exists, F, Min, OuterRef, Q, QuerySet, Subquery

from hotline.catalog.models import BusinessType, SubClass
from hotline.core import clock, phones
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


BOARD_SORTS = ("overdue", "unit", "type")
BOARD_TONES = ("overdue", "near")


@dataclass
class BoardQuery:
    unit_id: int | None = None  # the responsible unit, with the units below it
    type_code: str = ""
    metric: str = ""
    tone: str = ""  # "overdue", "near" or any
    sort: str = "overdue"  # most past the limit first; "unit", "type": grouped so
    page: int = 1
    notice_page: int = 1


def shift_leader_board(user: User, q: BoardQuery | None = None, *, per_page: int = 50, limit: int | None = None) -> dict:
    """Clocks near (warned) or past their limit and open supervision notices
    of the user's scope: the counts (overdue, near, open notices per unit and
    per level) over all of them, one page of each list. A fixed number of
    queries whatever the numbers (each count is one aggregate)."""
    from django.db.models import Count

    from hotline.timelimits.models import Clock, ClockStatus, Notice, NoticeKind

    q = q or BoardQuery()
    per_page = limit or per_page
    # The scope from the copies the clocks and notices carry: no join to the
    # orders (a million of them) for the counts. Running clocks are on open
    # orders and on merged ones awaiting their caller's callback (D3.4c).
    scope = access.clock_scope(user)
    now = clock.now()
    clocks = Clock.objects.filter(status=ClockStatus.RUNNING, warn_at__lte=now, order__isnull=False)
    notices = Notice.objects.filter(kind=NoticeKind.SUPERVISION, answered_at__isnull=True, order__isnull=False)
    if scope is not None:
        clocks = clocks.filter(scope)
        notices = notices.filter(scope)
    if q.unit_id:
        path = Unit.objects.filter(pk=q.unit_id).values_list("path", flat=True).first() or "/none/"
        units = organisation_selectors.subtree_unit_ids(path)
        clocks = clocks.filter(responsible_unit_id__in=units)
        notices = notices.filter(unit_id__in=units)
    if q.type_code:
        clocks = clocks.filter(order__business_type__code=q.type_code)
        notices = notices.filter(order__business_type__code=q.type_code)
    if q.metric:
        clocks = clocks.filter(metric=q.metric)
        notices = notices.filter(metric=q.metric)
    counts = clocks.aggregate(overdue=Count("id", filter=Q(due_at__lt=now)), near=Count("id", filter=Q(due_at__gte=now)))
    if q.tone == "overdue":
        clocks = clocks.filter(due_at__lt=now)
    elif q.tone == "near":
        clocks = clocks.filter(due_at__gte=now)
    order_by = {"unit": ("responsible_unit__path", "due_at", "id"),
                "type": ("order__business_type__sort_order", "order__business_type__code", "due_at", "id")}.get(
        q.sort, ("due_at", "id"))
    page = max(1, q.page)
    # The page's clock ids first: with the counts, a read of the running
    # clocks' covering index (timelimits clock_running_cover_idx) and the open
    # orders, no clock row; then those rows with only what the board shows
    # (no descriptions, no life-cycle documents).
    ids = list(clocks.order_by(*order_by).values_list("id", flat=True)[(page - 1) * per_page: page * per_page + 1])
    found = {c.id: c for c in Clock.objects.filter(id__in=ids)
             .select_related("order", "order__business_type", "order__assigned_unit", "responsible_unit")
             .only("id", "metric", "status", "stage", "started_at", "warn_at", "due_at", "responsible_unit__name",
                   "responsible_unit__path", "order__number", "order__state", "order__business_type__name",
                   "order__business_type__code", "order__business_type__sort_order", "order__assigned_unit__name")} if ids else {}
    rows = [found[i] for i in ids if i in found]
    has_next = len(rows) > per_page
    # Per unit and per level from one aggregate (unit, level): each pass over
    # the open notices joins them to their orders for the scope.
    per_unit_level = list(notices.order_by().values_list("unit_id", "unit__name", "level").annotate(n=Count("id")))
    units_n: dict[tuple, int] = {}
    per_level: dict[int, int] = {}
    for unit_id, unit_name, level, n in per_unit_level:
        units_n[(unit_id, unit_name)] = units_n.get((unit_id, unit_name), 0) + n
        per_level[level] = per_level.get(level, 0) + n
    per_unit = sorted(({"unit_id": u, "unit__name": name, "n": n} for (u, name), n in units_n.items()),
                      key=lambda r: (-r["n"], r["unit__name"] or ""))
    notice_page = max(1, q.notice_page)
    notice_rows = list(notices.select_related("order", "unit", "supervisor_unit")
                       .only("id", "kind", "level", "metric", "due_at", "created_at", "answered_at", "order__number",
                             "order__state", "unit__name", "supervisor_unit__name")
                       .order_by("-level", "due_at", "id")[(notice_page - 1) * per_page: notice_page * per_page + 1])
    return {"now": now, "clocks": rows[:per_page], "has_next": has_next, "page": page,
            "overdue": counts["overdue"], "near": counts["near"],
            "notices": notice_rows[:per_page], "notice_has_next": len(notice_rows) > per_page, "notice_page": notice_page,
            "notice_count": sum(per_level.values()), "notices_per_unit": per_unit,
            "notices_per_level": sorted(per_level.items(), reverse=True)}


def orders_near_or_past_limit(*, scope_unit_ids: list[int]) -> dict[str, int]:
    """Orders taken by these units (their center scope) with a running
    clock near its limit (warned) or past it (open orders, and merged ones
    awaiting their caller's callback): ``overdue`` the orders with a
    clock past its due time, ``near`` the others with a warned clock. One
    aggregate over the running clocks (as the board's counts), for the
    calls wallboard."""
    from django.db.models import Count

    from hotline.timelimits.models import Clock, ClockStatus

    now = clock.now()
    row = Clock.objects.filter(status=ClockStatus.RUNNING, warn_at__lte=now, order__isnull=False,
                               scope_unit_id__in=scope_unit_ids).aggregate(
        orders=Count("order_id", distinct=True), overdue=Count("order_id", distinct=True, filter=Q(due_at__lt=now)))
    return {"overdue": row["overdue"], "near": row["orders"] - row["overdue"]}


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


def search_types() -> QuerySet[BusinessType]:
    """Every business type, chase-ups and retired ones too (old orders have them)."""
    return BusinessType.objects.order_by("sort_order", "code")


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

    # The work orders' notices (an outage's lead-time notices have no order, as on the board).
    qs = Notice.objects.filter(kind=NoticeKind.SUPERVISION, answered_at__isnull=True, order__isnull=False)
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


# --- order search ---------------------------------------------------------------------

SEARCH_SORTS = ("-created", "created", "due", "-closed", "number")
# A count past this is shown as "more than": counting a whole county's year
# of orders on every page costs more than it tells.
SEARCH_COUNT_CAP = 1000
PHONE_TAIL_MIN = 4


@dataclass
class OrderQuery:
    """What the search page (or anything else) asks for; empty means any."""

    number: str = ""
    phone: str = ""
    name: str = ""
    account: str = ""
    address: str = ""
    business_type: str = ""
    sub_class: str = ""
    state: str = ""  # a state, "open" or "closed"
    unit_id: int | None = None
    channel: str = ""
    created_from: dt.datetime | None = None
    created_to: dt.datetime | None = None  # exclusive
    closed_from: dt.datetime | None = None
    closed_to: dt.datetime | None = None  # exclusive
    overdue: str = ""  # "yes", "no"
    mine: bool = False
    sort: str = "-created"

    @property
    def asks_identity(self) -> bool:
        """Whether it looks orders up by who or where the customer is."""
        return bool(self.phone or self.name or self.account or self.address)


def _prefix_range(field: str, prefix: str) -> Q:
    """``field`` starts with ``prefix`` as a range on its btree: a LIKE
    'x%' cannot use one under a non-C collation on PostgreSQL."""
    return Q(**{f"{field}__gte": prefix, f"{field}__lt": prefix[:-1] + chr(ord(prefix[-1]) + 1)})


def phone_key(raw: str) -> tuple[str, str | None]:
    """(the digits typed, the normalised number if it is one)."""
    digits = re.sub(r"\D", "", raw or "")
    phone = phones.normalise_or_none(raw) if len(digits) >= 7 else None
    return digits, (phone.number if phone else None)


PHONE_MATCH_CAP = 5000


def _phone_condition(raw: str) -> Q:
    """Orders whose caller or customer has this number or a number ending in
    these digits. The ids come first from two indexed reads (an equality on
    the stored four-digit tail, which has 10,000 values, then the suffix test
    on the few rows it finds; the customers' phones likewise, then their
    orders by the customer index): an OR of both inside the page's query
    would let the planner walk the whole table by date instead."""
    from hotline.organisation.models import CustomerPhone

    digits, number = phone_key(raw)
    tail = digits[-PHONE_TAIL_MIN:]
    callers = Q(caller_phone_tail=tail, caller_phone__endswith=digits)
    phones_q = Q(tail=tail, number__endswith=digits)
    if number and number != digits:
        # +86 138…, a landline without its area code: the normalised number too.
        callers |= Q(caller_phone=number)
        phones_q |= Q(number=number)
    customers = list(CustomerPhone.objects.filter(phones_q).values_list("customer_id", flat=True)[:PHONE_MATCH_CAP])
    ids = set(WorkOrder.objects.filter(callers).values_list("id", flat=True)[:PHONE_MATCH_CAP])
    if customers:
        ids.update(WorkOrder.objects.filter(customer_id__in=customers).values_list("id", flat=True)[:PHONE_MATCH_CAP])
    return Q(pk__in=sorted(ids))


def search_orders(user: User, q: OrderQuery) -> QuerySet[WorkOrder]:
    """The orders within the user's scope (access.visible_orders) matching
    ``q``, sorted. A report's reporter is never searchable (D4d): a search by
    phone, name, account number or address leaves reports (and their
    chase-ups) out for everyone; they are found by number, type or state."""
    from hotline.timelimits.models import Clock, ClockStatus

    qs = access.visible_orders(user)
    if q.mine:
        qs = qs.filter(owner=user)
    if q.number:
        number = q.number.strip().upper()
        qs = qs.filter(_prefix_range("number", number))
    if q.asks_identity:
        qs = qs.filter(access.reporter_not_searched())
    if q.phone:
        qs = qs.filter(_phone_condition(q.phone))
    if q.name:
        qs = qs.filter(Q(caller_name__contains=q.name) | Q(customer__name__contains=q.name))
    if q.account:
        qs = qs.filter(customer__account_number=q.account.strip())
    if q.address:
        qs = qs.filter(address__contains=q.address.strip())
    if q.business_type:
        bt = BusinessType.objects.filter(code=q.business_type).first()
        qs = qs.filter(business_type=bt) if bt else qs.none()
        if bt and q.sub_class:
            sub = SubClass.objects.filter(business_type=bt, code=q.sub_class).first()
            qs = qs.filter(sub_class=sub) if sub else qs.none()
    if q.state == "open":
        qs = qs.filter(state__in=OPEN_STATES)
    elif q.state == "closed":
        qs = qs.filter(state__in=TERMINAL)
    elif q.state:
        qs = qs.filter(state=q.state)
    if q.unit_id:
        qs = qs.filter(assigned_unit_id__in=organisation_selectors.subtree_unit_ids(
            Unit.objects.filter(pk=q.unit_id).values_list("path", flat=True).first() or "/none/"))
    if q.channel:
        qs = qs.filter(channel=q.channel)
    for field, lower, upper in (("created_at", q.created_from, q.created_to), ("closed_at", q.closed_from, q.closed_to)):
        if lower:
            qs = qs.filter(**{f"{field}__gte": lower})
        if upper:
            qs = qs.filter(**{f"{field}__lt": upper})
    if q.overdue:
        # Past a limit: a running clock past its due time, or one that
        # stopped late. One test per order on its own clocks (a semi-join on
        # the clocks' order index), never the set of every late clock of the
        # archive: most pages read a few dozen orders.
        qs = qs.filter(_past_a_limit(clock.now(), q.overdue))
    if q.sort == "due":
        # The page reads it in two parts (search_page, _nearest_first_ids).
        next_due = Clock.objects.filter(order=OuterRef("pk"), status=ClockStatus.RUNNING).order_by("due_at").values("due_at")[:1]
        qs = qs.annotate(sort_due=Subquery(next_due)).order_by(F("sort_due").asc(nulls_last=True), "-created_at", "-id")
    elif q.sort == "created":
        qs = qs.order_by("created_at", "id")
    elif q.sort == "-closed":
        qs = qs.order_by(F("closed_at").desc(nulls_last=True), "-id")
    elif q.sort == "number":
        qs = qs.order_by("number")
    else:
        qs = qs.order_by("-created_at", "-id")
    return qs


def _past_a_limit(now: dt.datetime, overdue: str) -> Exists:
    """Orders with a running clock past its due time or one that stopped
    late ("yes"), or neither ("no")."""
    from hotline.timelimits.models import Clock, ClockStatus

    late = Exists(Clock.objects.filter(order=OuterRef("pk")).filter(
        Q(status=ClockStatus.RUNNING, due_at__lt=now) | Q(status=ClockStatus.BREACHED)))
    return late if overdue == "yes" else ~late


def _nearest_first_ids(qs: QuerySet[WorkOrder], start: int, stop: int, *, timed_qs: QuerySet[WorkOrder],
                       overdue: str = "", now: dt.datetime | None = None) -> list[int]:
    """Ids ``start:stop`` of ``qs`` in search_orders' "due" order — the
    earliest running clock's due time first, orders without a running clock
    after them, newest first — read in two parts, so that no query computes
    the due time of every matching order: the orders with a running clock
    grouped with their running clocks (the covering index), then the others
    by created_at. Running clocks are on open orders (as on the board):
    saying so lets the first part start from the few thousand open orders
    (the (unit, state) indexes) however large the archive. ``timed_qs`` is
    ``qs`` without the past-a-limit test (``overdue``), which the first part
    makes on the grouped clocks, once per order: its earliest running clock
    past ``now``, or a clock of it stopped late."""
    from hotline.timelimits.models import Clock, ClockStatus

    first_qs = (timed_qs.filter(state__in=OPEN_STATES, clocks__status=ClockStatus.RUNNING)
                .annotate(sort_due=Min("clocks__due_at")))
    if overdue:
        late = Q(sort_due__lt=now) | Q(Exists(Clock.objects.filter(order=OuterRef("pk"), status=ClockStatus.BREACHED)))
        first_qs = first_qs.filter(late if overdue == "yes" else ~late)
    first = list(first_qs.order_by("sort_due", "-created_at", "-id").values_list("id", flat=True)[start:stop])
    if len(first) == stop - start:
        return first
    timed = Q(state__in=OPEN_STATES) & Q(Exists(Clock.objects.filter(order=OuterRef("pk"), status=ClockStatus.RUNNING)))
    # Where the page runs past the orders with a running clock: how many there are.
    with_clock = start + len(first) if first or not start else qs.filter(timed).count()
    rest = qs.exclude(timed).order_by("-created_at", "-id").values_list("id", flat=True)
    return first + list(rest[max(0, start - with_clock): stop - with_clock])


@dataclass
class SearchPage:
    rows: list
    number: int
    has_next: bool
    count: int
    count_capped: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1


def search_page(user: User, q: OrderQuery, *, page: int = 1, per_page: int = 25) -> SearchPage:
    """One page of ``search_orders``: the rows with what the list shows (the
    customer and caller as the user may see them, the nearest running
    limit), in a fixed number of queries whatever the page holds."""
    from hotline.timelimits.models import Clock, ClockStatus

    page = max(1, page)
    related = ("business_type", "sub_class", "assigned_unit", "customer", "chased_order")
    start, stop = (page - 1) * per_page, page * per_page + 1
    if q.sort == "due":
        now = clock.now()
        timed_qs = search_orders(user, replace(q, sort="-created", overdue=""))
        qs = timed_qs.filter(_past_a_limit(now, q.overdue)) if q.overdue else timed_qs
        ids = _nearest_first_ids(qs.order_by(), start, stop, timed_qs=timed_qs.order_by(), overdue=q.overdue, now=now)
        found = {o.pk: o for o in WorkOrder.objects.filter(pk__in=ids).select_related(*related)} if ids else {}
        rows = [found[pk] for pk in ids]
    else:
        qs = search_orders(user, q)
        rows = list(qs.select_related(*related)[start:stop])
    has_next = len(rows) > per_page
    rows = rows[:per_page]
    due = dict(Clock.objects.filter(order_id__in=[o.pk for o in rows], status=ClockStatus.RUNNING)
               .values("order_id").annotate(first=Min("due_at")).values_list("order_id", "first")) if rows else {}
    for order in rows:
        order.next_due = due.get(order.pk)
        order.view = access.order_view(user, order)
    counted = qs.order_by().values("id")[:SEARCH_COUNT_CAP + 1].count()
    return SearchPage(rows=rows, number=page, has_next=has_next, count=min(counted, SEARCH_COUNT_CAP),
                      count_capped=counted > SEARCH_COUNT_CAP)


def search_units(user: User) -> QuerySet[Unit]:
    """Handling units a user may filter the search by: those that orders of
    the user's county (or scope) are dispatched to."""
    prefix = organisation_selectors.user_scope_path(user)
    qs = Unit.objects.filter(active=True, kind__in=DISPATCH_TARGET_KINDS)
    if prefix is not None and user.unit_id:
        county = user.unit.parent if user.unit.kind == UnitKind.CENTER and user.unit.parent_id else user.unit
        qs = qs.filter(path__startswith=county.path)
    elif prefix is not None:
        return qs.none()
    return qs.order_by("path")


# --- customer lookup at intake ----------------------------------------------------------

CUSTOMER_RANKS = ("phone", "phone_tail", "account", "name", "address")


def lookup_customers(user: User, query: str, *, limit: int = 12) -> list[Customer]:
    """Customers the user may see (access.visible_customers) for what the
    agent typed, best first: the exact phone number, then a phone ending in
    the digits, the account number, the name, the address. Each kind is one
    indexed query of its own (an OR of them all would scan the table); the
    chosen customers then come back in one query with their phones and the
    number of their open orders (``open_orders``, reports left out: their
    link to the customer is the reporter) and ``match`` (which kind)."""
    from django.db.models import Count
    from django.db.models.functions import Coalesce

    from hotline.organisation.models import CustomerPhone

    text = (query or "").strip()
    if len(text) < 2:
        return []
    within = access.visible_customers(user)
    ranked: dict[int, str] = {}

    def take(kind: str, ids) -> None:
        for pk in ids:
            if len(ranked) >= limit:
                return
            ranked.setdefault(pk, kind)

    digits, number = phone_key(text)
    is_phone_like = bool(re.fullmatch(r"[\d\s\-+()]+", text))
    if is_phone_like and number:
        take("phone", within.filter(phones__number=number).values_list("id", flat=True).distinct()[:limit])
    if is_phone_like and len(digits) >= PHONE_TAIL_MIN:
        tails = CustomerPhone.objects.filter(tail=digits[-PHONE_TAIL_MIN:], number__endswith=digits)
        take("phone_tail", within.filter(id__in=tails.values("customer_id")).order_by("account_number")
             .values_list("id", flat=True)[:limit])
    if re.fullmatch(r"[0-9A-Za-z\-]{4,30}", text):
        take("account", within.filter(account_number=text).values_list("id", flat=True)[:limit])
    if not is_phone_like:
        take("name", within.filter(name__contains=text).order_by("name", "account_number").values_list("id", flat=True)[:limit])
        take("address", within.filter(address__contains=text).order_by("address", "account_number")
             .values_list("id", flat=True)[:limit])
    if not ranked:
        return []
    open_orders = (access.visible_orders(user).filter(customer=OuterRef("pk"), state__in=OPEN_STATES)
                   .filter(access.customer_link_visible()).order_by().values("customer").annotate(n=Count("id")).values("n"))
    found = {c.pk: c for c in Customer.objects.filter(pk__in=ranked).select_related("service_area", "service_area__unit")
             .prefetch_related("phones").annotate(open_orders=Coalesce(Subquery(open_orders), 0))}
    out = []
    for pk, kind in ranked.items():
        customer = found[pk]
        customer.match = kind
        out.append(customer)
    return out
