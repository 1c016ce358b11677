"""The center's order-side KPIs (contact-center.md §3: C3j–C3q, C3s–C3u,
C3y): each one function of a period and a scope, counted from the orders,
their events and clocks, the calls and the outages.

What every function here shares:

- periods are ``calls.kpis.Period``: half-open ``[start, end)``, a time
  without an offset in the center's time zone (C5a). Each KPI says which
  time puts an item into a period (acceptance, a limit's due time, a
  restoration, a review);
- a **scope** (``Scope``) is a unit's subtree — orders by the center that
  took them (``scope_unit``), customers and outages by the area the unit
  serves (a customer-service center serves its parent, the county, as
  dispatch does), calls as the wallboard counts them (a center has every
  queue of its switch) — and optionally a
  queue (calls) or one agent (the orders the agent owns, D2f, and the calls
  the agent answered);
- a time limit **falls due** in the period of its due time; one still
  running before its due time is pending and counted nowhere yet; one still
  running past it is missed; a cancelled one is not counted;
- an order counts once per KPI and period, however many rounds of a limit
  (after a reopen) fell due in it: it is kept when every one was kept;
- a rate whose denominator is zero is None (``null`` in JSON), never 0
  (C5j).

Definitions, limits and examples: ``docs/kpis.md``.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from hotline.calls.kpis import ANSWERED, Period, rate
from hotline.calls.kpis import calls as calls_of
from hotline.calls.models import Call
from hotline.core import clock
from hotline.organisation.models import Customer, Unit, UnitKind
from hotline.organisation.selectors import subtree_unit_ids
from hotline.timelimits.models import Clock, ClockStatus, Notice, NoticeKind
from hotline.workorders.models import OrderContact, State, WorkOrder, WorkOrderEvent

__all__ = ["Period", "Ratio", "Scope"]


# --- scope -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Scope:
    """Whose figures: ``unit`` (a center, a county, …: its subtree; None:
    the whole installation), optionally one ``queue`` (the calls of that
    queue and the orders recorded from them), one ``agent`` or a team's
    ``members``."""

    unit: Unit | None = None
    queue: str | None = None
    agent: Any = None
    # A team's agents (user ids): their orders and the calls they answered.
    members: tuple[int, ...] | None = None

    def order_unit_ids(self) -> list[int] | None:
        """Centers whose orders count (an order's ``scope_unit``); read once
        per scope (a report asks for them in every KPI of every day)."""
        if self.unit is None:
            return None
        cached = self.__dict__.get("_unit_ids")
        if cached is None:
            cached = self.__dict__["_unit_ids"] = subtree_unit_ids(self.unit.path)
        return cached

    def order_q(self, prefix: str = "") -> Q:
        """The scope's orders as a condition on ``prefix`` (``"order__"`` from
        a row that points at an order): joins, where ``order__in=orders()``
        would be a list subquery that SQLite crosses with the others."""
        q = Q()
        ids = self.order_unit_ids()
        if ids is not None:
            q &= Q(**{f"{prefix}scope_unit_id__in": ids})
        if self.agent is not None:
            q &= Q(**{f"{prefix}owner": self.agent})
        if self.members is not None:
            q &= Q(**{f"{prefix}owner_id__in": self.members})
        return q

    def served_unit_ids(self) -> list[int] | None:
        """Units of the area the scope serves: customers' responsible units
        and outages' publishing units. A customer-service center is a leaf
        beside the stations it dispatches to; it serves its parent's subtree."""
        if self.unit is None:
            return None
        served = self.unit
        if served.kind == UnitKind.CENTER and served.parent_id:
            served = Unit.objects.get(pk=served.parent_id)
        return subtree_unit_ids(served.path)

    def orders(self) -> QuerySet[WorkOrder]:
        return WorkOrder.objects.filter(self.order_q())

    def answered_calls(self, period: Period) -> QuerySet[Call]:
        """Answered calls offered in the period (C3v, C5a) of the scope:
        the agent's, the team's; else of the queue, for a unit with a
        center in its subtree. Calls carry a queue, not a center: as the
        wallboard counts them, a center has every queue of the
        installation's switch (one switch per center); a unit without a
        center (a station, a department) takes no calls."""
        qs = calls_of(period, queue=self.queue).filter(ANSWERED)
        if self.agent is not None:
            return qs.filter(agent=self.agent)
        if self.members is not None:
            return qs.filter(agent_id__in=self.members)
        if self.unit is None:
            return qs
        if not Unit.objects.filter(kind=UnitKind.CENTER, path__startswith=self.unit.path).exists():
            return qs.none()
        return qs


@dataclass(frozen=True)
class Ratio:
    """A KPI's two counts and its value (None on an empty denominator)."""

    numerator: float
    denominator: float
    rate: float | None

    @classmethod
    def of(cls, numerator: float, denominator: float, *, scale: float = 1) -> Ratio:
        value = rate(numerator, denominator)
        return cls(numerator, denominator, None if value is None else value * scale)


def _in(period: Period, field: str) -> Q:
    return Q(**{f"{field}__gte": period.start, f"{field}__lt": period.end})


# --- time limits ---------------------------------------------------------------------------

def order_clocks(period: Period, scope: Scope, *, metric: str | None = None) -> QuerySet[Clock]:
    """Work-order clocks that fell due in the period (by due time), in
    scope: stopped (met or breached), or still running past their due time
    now. Cancelled ones and those still running before their due time are
    not counted."""
    now = clock.now()
    qs = (Clock.objects.filter(order__isnull=False).filter(_in(period, "due_at"))
          .filter(Q(status__in=[ClockStatus.MET, ClockStatus.BREACHED]) | Q(status=ClockStatus.RUNNING, due_at__lt=now)))
    if metric is not None:
        qs = qs.filter(metric=metric)
    return qs.filter(scope.order_q("order__"))


def _kept_orders(clocks: QuerySet[Clock], *, done_by: tuple[str, ...]) -> Ratio:
    """Orders with a limit due / those whose every due limit was kept: met,
    and stopped by the step itself (``done_by``), not by an order closed
    without it."""
    kept = Q(status=ClockStatus.MET, stopped_by__in=done_by)
    row = clocks.aggregate(due=Count("order_id", distinct=True),
                           missed=Count("order_id", distinct=True, filter=~kept))
    return Ratio.of(row["due"] - row["missed"], row["due"])


def callback_rate(period: Period, scope: Scope = Scope()) -> Ratio:
    """C3k (D6i), callback rate = callbacks done in limit / callbacks due.

    Due: orders whose callback limit (the ``callback`` clock: 24 h after a
    repair's reply, 1 working day after another type's review, and every
    merged caller's after the master's reply, D3.4c) falls due in the period,
    by its due time. Done in limit: a callback was recorded by the due time
    (the ``callback`` action, whatever its outcome — an unreachable customer
    is a callback made, D6b). An order closed without one (a type whose
    callback is "if wanted", the caller wanted it) or still waiting past the
    due time is due and not done. Cancelled orders owe none."""
    return _kept_orders(order_clocks(period, scope, metric="callback"), done_by=("callback",))


def complaint_timeliness(period: Period, scope: Scope = Scope()) -> Ratio:
    """C3l, complaint timeliness = complaints replied in limit / complaints due.

    Due: complaint orders whose reply limit (the ``reply`` clock, 5 days
    from acceptance, D4b) falls due in the period, by its due time — the
    reply due time, as the 95598 assessment counts a complaint in the month
    its reply was due. Replied in limit: the unit's reply recorded by then.
    A complaint reopened after a dissatisfied callback owes a second reply:
    it counts in the period of each reply due, kept only if all were."""
    clocks = order_clocks(period, scope, metric="reply").filter(order__business_type__code="complaint")
    return _kept_orders(clocks, done_by=("reply",))


def supervision_rate(period: Period, scope: Scope = Scope()) -> Ratio:
    """C3m (D5f), supervision rate = overdue orders with a supervision
    notice / overdue orders.

    Overdue: orders with a time limit of any metric (dispatch, accept,
    arrival, restoration, reply, callback, …) that fell due in the period
    (by due time) and was passed — stopped after it, or still running past
    it now. Supervised: every such limit got its supervision notice (督办单,
    the engine's level-1 notice of that clock). A manual reminder (催办) is
    not a supervision notice and does not count."""
    clocks = order_clocks(period, scope)
    past = clocks.filter(Q(status=ClockStatus.BREACHED) | Q(status=ClockStatus.RUNNING))
    noticed = Notice.objects.filter(clock=OuterRef("pk"), kind=NoticeKind.SUPERVISION)
    row = past.annotate(noticed=Exists(noticed)).aggregate(
        overdue=Count("order_id", distinct=True),
        unsupervised=Count("order_id", distinct=True, filter=Q(noticed=False)))
    return Ratio.of(row["overdue"] - row["unsupervised"], row["overdue"])


# --- orders ----------------------------------------------------------------------------------

def complaints_per_million_customers(period: Period, scope: Scope = Scope()) -> Ratio:
    """C3j, complaints per million customers = complaint orders / customers × 10⁶.

    Complaints: orders of type complaint accepted in the period (by
    acceptance time), not cancelled. Complaints recorded as opinions by the
    intake rules (anonymous, no reply wanted, a marked caller: D1n, D1o) are
    opinions, not complaints. Customers: the customer records on file of
    the area the scope serves (by their service area's responsible unit);
    the customer table keeps no history, so a past period is divided by
    today's customers. Not annualised: a month's figure is that month's."""
    complaints = (scope.orders().filter(_in(period, "created_at"), business_type__code="complaint")
                  .exclude(state=State.CANCELLED).count())
    customers = Customer.objects.all()
    served = scope.served_unit_ids()
    if served is not None:
        customers = customers.filter(service_area__unit_id__in=served)
    return Ratio.of(complaints, customers.count(), scale=1_000_000)


# A chase-up follows its order to the same unit: no routing decision of its own.
NOT_ROUTED = ("chase_up",)


def dispatch_accuracy(period: Period, scope: Scope = Scope()) -> Ratio:
    """C3p, dispatch accuracy = 1 − returned orders / dispatched orders.

    Dispatched: orders first dispatched in the period (``dispatched_at``;
    a re-dispatch after a return is the same order, D2g), chase-ups left out
    (they go to the unit of the order they chase). Returned: those a unit
    sent back as wrongly routed at least once (a ``return`` event, D2b),
    whenever the return came. The ratio is the accurately dispatched orders
    (numerator) over the dispatched (denominator)."""
    returned = WorkOrderEvent.objects.filter(order=OuterRef("pk"), kind="return")
    row = (scope.orders().filter(_in(period, "dispatched_at")).exclude(business_type__code__in=NOT_ROUTED)
           .annotate(was_returned=Exists(returned))
           .aggregate(dispatched=Count("pk"), returned=Count("pk", filter=Q(was_returned=True))))
    return Ratio.of(row["dispatched"] - row["returned"], row["dispatched"])


INQUIRY_TYPES = ("inquiry",)


def first_call_answer_rate(period: Period, scope: Scope = Scope()) -> Ratio:
    """C3q, first-call answer rate (inquiries) = 1 − inquiries dispatched /
    inquiries received.

    Received: inquiry orders (咨询, with its progress and outage queries)
    accepted in the period, not cancelled — repair reports the intake rules
    turned into inquiries (a published outage, a customer-internal fault,
    D3.1d) among them. Dispatched: those sent to a department for an answer
    (dispatched at any time) instead of answered on the call. Expert
    escalation (D8) is not built yet; when it is, an inquiry answered by an
    expert while the caller waits still counts as answered on the call. The
    numerator is the inquiries answered on the call."""
    row = (scope.orders().filter(_in(period, "created_at"), business_type__code__in=INQUIRY_TYPES)
           .exclude(state=State.CANCELLED)
           .aggregate(received=Count("pk"), dispatched=Count("pk", filter=Q(dispatched_at__isnull=False))))
    return Ratio.of(row["received"] - row["dispatched"], row["received"])


def restoration_within_commitment(period: Period, scope: Scope = Scope()) -> Ratio:
    """C3t, restoration within commitment = repairs restored within limit /
    repairs restored.

    Restored: repair orders whose power came back in the period, by the
    restoration time — the crew's reported time of its resolve, else the
    resolve's own time (D3.6d) — each fault once: a merged caller's order
    follows its master and is not counted again. Within limit: restored no
    later than the due time of the order's restoration limit (urban 3 h,
    rural 4 h from acceptance, D1a) that the resolve stopped. A repair whose
    policy has no restoration limit makes no commitment and is left out of
    both counts. A repair reworked and resolved again counts by its first
    restoration in the period."""
    # The reported time lies between acceptance and the resolve (handling.check_past_time).
    events = (WorkOrderEvent.objects.filter(kind="resolve", at__gte=period.start, order__created_at__lt=period.end,
                                            order__business_type__code="repair", order__in=scope.orders())
              .order_by("order_id", "seq").values_list("order_id", "at", "payload__reported_at"))
    restored: dict[int, tuple[dt.datetime, dt.datetime]] = {}
    for order_id, at, reported in events:
        when = dt.datetime.fromisoformat(reported) if reported else at
        if period.start <= when < period.end and order_id not in restored:
            restored[order_id] = (at, when)
    limits = defaultdict(list)
    for order_id, stopped_at, due_at in Clock.objects.filter(
            order_id__in=list(restored), metric="restoration", stopped_by="resolve").values_list(
            "order_id", "stopped_at", "due_at"):
        limits[order_id].append((stopped_at, due_at))
    counted = kept = 0
    for order_id, (at, when) in restored.items():
        due = next((d for s, d in limits[order_id] if s == at), None)
        if due is None:
            continue
        counted += 1
        kept += when <= due
    return Ratio.of(kept, counted)


def work_order_correctness(period: Period, scope: Scope = Scope()) -> Ratio:
    """C3n (D11b), work-order correctness = orders passing completeness + QA
    / orders checked.

    Quality inspection (QA scoring of sampled calls and records, D13) is not
    built yet; what exists is the center's review of each handled order
    (``review`` passes it, ``rework`` sends it back) and the record's
    completeness checks (``workorders.records``: contact linked, caller,
    address and fault scope of a repair, description, sub-class, the unit's
    reply, the callback's result and the customer's words). So: checked =
    orders whose latest review decision (review or rework) falls in the
    period; correct = those whose latest decision passed and whose record is
    complete now. Orders never reviewed (inquiries answered on the call) are
    not checked. When QA exists its failures are to be added here."""
    from hotline.workorders.records import completeness_of

    decisions = ("review", "rework")
    later = WorkOrderEvent.objects.filter(order_id=OuterRef("order_id"), kind__in=decisions, seq__gt=OuterRef("seq"))
    # Each order's latest decision, when it falls in the period: set-based, a fixed number of queries.
    last = (WorkOrderEvent.objects.filter(scope.order_q("order__"), kind__in=decisions).filter(_in(period, "at"))
            .exclude(Exists(later)))
    verdicts = dict(last.values_list("order_id", "kind"))
    if not verdicts:
        return Ratio.of(0, 0)
    problems = completeness_of(list(verdicts))
    correct = sum(1 for oid, kind in verdicts.items() if kind == "review" and not problems.get(oid, ["missing"]))
    checked = len(verdicts)
    return Ratio.of(correct, checked)


def repeat_requests(period: Period, scope: Scope = Scope()) -> Ratio:
    """C3u, repeat requests = customers calling ≥ 2 times in a month about
    the same matter / customers with orders.

    The orders accepted in the period (not cancelled) are grouped by
    customer — the customer record, else the caller's phone; an order with
    neither (anonymous) is left out — and by matter: the business type and
    sub-class, a chase-up counting as its chased order's matter (chasing is
    calling again about it), a merged report as its own (the same customer
    reporting the same fault twice is a repeat). A customer is a repeat
    caller when some matter has two or more orders within one calendar month
    of the center's time zone. Customers with orders: those with any order
    in the period. Pass a calendar month as the period for the monthly
    figure; a longer period counts each customer once. The spec's "same
    matter" is judged by type and sub-class alone: two different billing
    questions in a month count as a repeat."""
    rows = (scope.orders().filter(_in(period, "created_at")).exclude(state=State.CANCELLED)
            .values_list("customer_id", "caller_phone", "business_type__code", "sub_class_id", "created_at",
                         "chased_order__business_type__code", "chased_order__sub_class_id"))
    per_matter: dict[tuple, int] = defaultdict(int)
    customers = set()
    for customer_id, phone, code, sub_id, created_at, chased_code, chased_sub in rows:
        who = ("customer", customer_id) if customer_id else (("phone", phone) if phone else None)
        if who is None:
            continue
        customers.add(who)
        matter = (chased_code, chased_sub) if code == "chase_up" and chased_code else (code, sub_id)
        local = timezone.localtime(created_at)
        per_matter[(who, matter, local.year, local.month)] += 1
    repeat = {key[0] for key, n in per_matter.items() if n >= 2}
    return Ratio.of(len(repeat), len(customers))


# --- calls and orders --------------------------------------------------------------------

def complaints_per_answered_call(period: Period, scope: Scope = Scope()) -> Ratio:
    """C3s, complaints per answered call = complaint orders / answered calls.

    Answered calls: those offered in the period (C5a) and answered (C3v),
    of the scope (a center's: every queue; the queue, the agent). Complaint orders:
    those recorded from these calls (the call's contact is the order's
    origin) and taken by the scope, not cancelled — so a complaint made on
    the web is not a complaint per call (``Scope.answered_calls``: which
    calls are a unit's)."""
    answered = scope.answered_calls(period)
    complaint_links = OrderContact.objects.filter(
        scope.order_q("order__"), kind=OrderContact.Kind.ORIGIN, contact__calls__in=answered,
        order__business_type__code="complaint").exclude(order__state=State.CANCELLED)
    complaints = complaint_links.values("order_id").distinct().count()
    return Ratio.of(complaints, answered.count())


# The step each limit stands for, and the other ways it may end without an
# omission: a merged report needs no dispatch of its own (D3.4b).
REQUIRED_STEPS = {"dispatch": ("dispatch", "merge"), "reply": ("reply", "merge"), "callback": ("callback",)}


def _omitted_step() -> Q:
    """A required step's clock ended without the step: the order closed
    without it (a callback-if-wanted order closed uncalled)."""
    done = Q()
    for metric, steps in REQUIRED_STEPS.items():
        done |= Q(metric=metric, stopped_by__in=steps)
    return Q(metric__in=list(REQUIRED_STEPS), status__in=[ClockStatus.MET, ClockStatus.BREACHED]) & ~done


def omission_rate(period: Period, scope: Scope = Scope()) -> Ratio:
    """C3y, omission rate = service requests left unhandled / service requests
    (target < 1 in 100,000 [000]).

    Service requests: the answered calls of the period (by offer time, of
    the scope: a center's, the queue's, the agent's) and, without a
    queue, the scope's orders accepted in the period that came from no call
    (web, API, linkage partners). Unhandled: a call that produced no order
    (the call's contact linked to none), or whose order's required step
    ended without happening; an order from no call whose required step ended
    without happening. The required steps are dispatch, the reply and the
    callback (their clocks); one "ended without happening" when its clock
    was stopped by something else than the step (the order closed without
    its callback) — a step merely late is counted by the timeliness KPIs
    (C3k, C3l, C3m), not here, and a cancelled order owes none.

    Calls that need no order: an answered call the agent marked at wrap-up
    as needing none (a ``CallDisposition``: a wrong number, a silent or
    harassing call, a caller who hung up at once, a test call, no request,
    D10a) and that no order is linked to is not a service request: it is
    left out of both counts. A call marked as being about an order already
    recorded is linked to that order (a chase-up contact), so it is a
    request handled by that order — unhandled only if that order omitted a
    required step. A call neither ordered nor marked stays an omission; a
    call marked and then given an order counts as ordered."""
    row = scope.answered_calls(period).aggregate(**_omission_counts())
    requests, unhandled = row["requests"], row["unhandled"]
    if scope.queue is None:
        other = _orders_from_no_call(period, scope.orders()).aggregate(
            n=Count("pk"), unhandled=Count("pk", filter=Q(omitted=True)))
        requests += other["n"]
        unhandled += other["unhandled"]
    return Ratio.of(unhandled, requests)


def _omission_counts() -> dict[str, Any]:
    """C3y's aggregates over answered calls (``omission_rate``):
    ``requests``, those not marked as needing no order (or marked and given
    an order after all), and ``unhandled``, those of them without an order or
    whose order omitted a required step."""
    from hotline.calls.models import CallDisposition

    omitted = Clock.objects.filter(_omitted_step(), order=OuterRef("order_id"))
    links = OrderContact.objects.filter(contact=OuterRef("contact_id"))
    no_order_needed = ~Exists(links) & Exists(CallDisposition.objects.filter(call=OuterRef("pk")))
    unhandled = ~Exists(links) | Exists(links.filter(Exists(omitted)))
    return {"requests": Count("pk", filter=~no_order_needed), "unhandled": Count("pk", filter=~no_order_needed & unhandled)}


def _orders_from_no_call(period: Period, orders: QuerySet[WorkOrder]) -> QuerySet[WorkOrder]:
    """C3y's other requests: ``orders`` accepted in the period from no call,
    not cancelled, annotated ``omitted``."""
    from_calls = OrderContact.objects.filter(order=OuterRef("pk"), contact__calls__isnull=False)
    omitted_here = Clock.objects.filter(_omitted_step(), order=OuterRef("pk"))
    return (orders.filter(_in(period, "created_at")).exclude(state=State.CANCELLED)
            .exclude(Exists(from_calls)).annotate(omitted=Exists(omitted_here)))


# --- per person, grouped -----------------------------------------------------------------

@dataclass
class PersonCounts:
    """The counts behind the daily report's per-agent KPIs of one user
    (the calls the user answered, the orders the user owns), read for every
    user at once by ``person_counts``; a team's are its members' summed."""

    answered: int = 0
    handle_s: float = 0.0
    ring_known: int = 0
    ring_pass: int = 0
    surveys: int = 0
    satisfied: int = 0
    orders_accepted: int = 0
    callbacks_due: int = 0
    callbacks_missed: int = 0
    requests: int = 0
    unhandled: int = 0

    def add(self, other: PersonCounts) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class PersonFigures:
    """``person_counts``' answer: each user's counts, and the complaints
    from calls as (answering agent, order owner, order) — the one figure a
    team does not get by summing, since an order one member owns may come
    from a call another member answered."""

    counts: dict[int, PersonCounts]
    complaints: list[tuple[int, int, int]]

    def of(self, users: tuple[int, ...] | list[int]) -> tuple[PersonCounts, int]:
        """The summed counts of ``users`` and their complaints from calls."""
        out = PersonCounts()
        for pk in users:
            if pk in self.counts:
                out.add(self.counts[pk])
        members = set(users)
        complaints = {order for agent, owner, order in self.complaints if agent in members and owner in members}
        return out, len(complaints)


def person_counts(period: Period, unit: Unit, users: list[int], *, ring_limit_s: float) -> PersonFigures:
    """The per-user counts of ``users`` in the center ``unit`` for the
    period, as the per-agent ``Scope`` counts them (``Scope(unit, agent=u)``)
    — the call figures of ``calls.kpis.figures``, C3k, C3s and C3y — in a
    fixed number of grouped queries however many users and orders (the
    daily report's agent and team rows)."""
    from django.db.models import F, FloatField, Sum, Value
    from django.db.models.functions import Coalesce

    out: dict[int, PersonCounts] = defaultdict(PersonCounts)
    ids = list(users)
    answered = calls_of(period).filter(ANSWERED, agent_id__in=ids)
    zero = Value(0.0, output_field=FloatField())
    for row in answered.order_by().values("agent_id").annotate(
            n=Count("pk"),
            handle=Sum(Coalesce(F("talk_s"), zero) + Coalesce(F("hold_s"), zero) + Coalesce(F("wrapup_s"), zero),
                       output_field=FloatField()),
            ring_known=Count("pk", filter=Q(ring_s__isnull=False)),
            ring_pass=Count("pk", filter=Q(ring_s__lte=ring_limit_s)),
            surveys=Count("pk", filter=Q(survey_answer__isnull=False)),
            satisfied=Count("pk", filter=Q(survey_answer__in=(1, 2))),
            **_omission_counts()):
        c = out[row["agent_id"]]
        c.answered, c.handle_s = row["n"], row["handle"] or 0.0
        c.ring_known, c.ring_pass, c.surveys, c.satisfied = (row["ring_known"], row["ring_pass"], row["surveys"],
                                                             row["satisfied"])
        c.requests += row["requests"]
        c.unhandled += row["unhandled"]
    orders = Scope(unit=unit).orders().filter(owner_id__in=ids)
    for owner, n in (orders.filter(_in(period, "created_at")).order_by().values("owner_id")
                     .annotate(n=Count("pk")).values_list("owner_id", "n")):
        out[owner].orders_accepted = n
    kept = Q(status=ClockStatus.MET, stopped_by__in=("callback",))
    for row in (order_clocks(period, Scope(unit=unit), metric="callback").filter(order__owner_id__in=ids)
                .order_by().values("order__owner_id")
                .annotate(due=Count("order_id", distinct=True),
                          missed=Count("order_id", distinct=True, filter=~kept))):
        c = out[row["order__owner_id"]]
        c.callbacks_due, c.callbacks_missed = row["due"], row["missed"]
    for owner, n, unhandled in _orders_from_no_call(period, orders).order_by().values("owner_id").annotate(
            n=Count("pk"), unhandled=Count("pk", filter=Q(omitted=True))).values_list("owner_id", "n", "unhandled"):
        out[owner].requests += n
        out[owner].unhandled += unhandled
    complaints = list(
        OrderContact.objects.filter(Scope(unit=unit).order_q("order__"), order__owner_id__in=ids,
                                    kind=OrderContact.Kind.ORIGIN, order__business_type__code="complaint",
                                    contact__calls__in=answered)
        .exclude(order__state=State.CANCELLED)
        .values_list("contact__calls__agent_id", "order__owner_id", "order_id").distinct())
    return PersonFigures(dict(out), complaints)


# --- outages -----------------------------------------------------------------------------

def outage_publication_timeliness(period: Period, scope: Scope = Scope()) -> Ratio:
    """C3o (D7g), outage-publication timeliness = notices published in time /
    notices.

    Every publication an outage owes is one notice: its first publication
    (a planned outage 7 days before its start, a temporary one 24 h before,
    a grid fault within 15 minutes of the trip, D7b–D7d), each change (power
    off, power back: within 10 minutes, D7e) and each delayed restoration
    (30 minutes before the announced end, D7f) — the outage's lead-time
    clocks (``outages.leadtimes``). A notice belongs to the period of its
    due time; in time when published by then; one still unpublished past it
    is late; cancelled ones (the outage called off, the power back in time)
    are not counted. Scope: outages of the publishing units of the area the
    scope serves. Marketing outages (arrears, theft, …) have no lead time
    and are not counted."""
    from hotline.outages import leadtimes
    from hotline.outages.models import Outage

    now = clock.now()
    qs = (Clock.objects.filter(subject_type=leadtimes.SUBJECT, order__isnull=True, metric__in=leadtimes.METRICS)
          .filter(_in(period, "due_at")))
    served = scope.served_unit_ids()
    if served is not None:
        qs = qs.filter(subject_id__in=Outage.objects.filter(publishing_unit_id__in=served).values("pk"))
    row = qs.aggregate(kept=Count("pk", filter=Q(status=ClockStatus.MET)),
                       missed=Count("pk", filter=Q(status=ClockStatus.BREACHED)
                                    | Q(status=ClockStatus.RUNNING, due_at__lt=now)))
    return Ratio.of(row["kept"], row["kept"] + row["missed"])


# --- all of them -------------------------------------------------------------------------

# key → (function, numerator key, denominator key); the keys of ``order_kpis``.
ORDER_KPIS = {
    "complaints_per_million_customers": (complaints_per_million_customers, "complaints", "customers"),
    "callback_rate": (callback_rate, "callbacks_in_limit", "callbacks_due"),
    "complaint_timeliness": (complaint_timeliness, "complaints_replied_in_limit", "complaints_due"),
    "supervision_rate": (supervision_rate, "overdue_orders_supervised", "overdue_orders"),
    "work_order_correctness": (work_order_correctness, "orders_correct", "orders_checked"),
    "outage_publication_timeliness": (outage_publication_timeliness, "outage_notices_in_time", "outage_notices_due"),
    "dispatch_accuracy": (dispatch_accuracy, "orders_dispatched_accurately", "orders_dispatched"),
    "first_call_answer_rate": (first_call_answer_rate, "inquiries_answered_on_call", "inquiries"),
    "complaints_per_answered_call": (complaints_per_answered_call, "complaints_from_calls", "answered_calls"),
    "restoration_within_commitment": (restoration_within_commitment, "repairs_restored_in_limit", "repairs_restored"),
    "repeat_request_rate": (repeat_requests, "repeat_customers", "customers_with_orders"),
    "omission_rate": (omission_rate, "unhandled_requests", "service_requests"),
}
RULES = {"complaints_per_million_customers": "C3j", "callback_rate": "C3k", "complaint_timeliness": "C3l",
         "supervision_rate": "C3m", "work_order_correctness": "C3n", "outage_publication_timeliness": "C3o",
         "dispatch_accuracy": "C3p", "first_call_answer_rate": "C3q", "complaints_per_answered_call": "C3s",
         "restoration_within_commitment": "C3t", "repeat_request_rate": "C3u", "omission_rate": "C3y"}


def order_kpis(period: Period, scope: Scope = Scope(), *, only: tuple[str, ...] | None = None) -> dict[str, Any]:
    """Every order-side KPI with its two counts, as one flat mapping of
    snake_case keys (rates as fractions, C3j per million, None when empty)."""
    out: dict[str, Any] = {}
    for key, (fn, num_key, den_key) in ORDER_KPIS.items():
        if only is not None and key not in only:
            continue
        r = fn(period, scope)
        out[key] = r.rate
        out[num_key] = r.numerator
        out[den_key] = r.denominator
    return out


def report(period: Period, scope: Scope = Scope()) -> dict[str, Any]:
    """``hotline reports kpi``: the call KPIs (``calls.kpis.report``, of the
    queue or agent; calls carry no center, so a unit alone does not narrow
    them) and the order KPIs of the scope, one JSON-ready mapping."""
    from hotline.calls import kpis as call_kpis

    data = call_kpis.report(period, queue=scope.queue, agent=scope.agent).as_dict()
    if scope.agent is not None:
        data["agent"] = scope.agent.username
    data["unit"] = scope.unit.code if scope.unit is not None else None
    data.update(order_kpis(period, scope))
    return data
