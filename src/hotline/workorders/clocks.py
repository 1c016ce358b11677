"""Work orders on the time-limit engine.

The engine (``hotline.timelimits``) times any subject; this module is what
makes a work order one: which rules of the order's policy version apply
(``catalog``), which of the order's events start and stop each clock, which
unit is responsible, callbacks only when wanted, restarts after a reopen,
manual reminders, and the lock the sweep takes on an order before its
clocks (registered in ``workorders.apps``). Everything here runs in the
order's transaction.
"""

from __future__ import annotations

import datetime as dt

from django.db import connection

from hotline.calendars.services import add_duration
from hotline.catalog.lifecycle import TERMINAL_STATES
from hotline.catalog.models import Responsible, TimeLimitRule
from hotline.catalog.selectors import rules_for
from hotline.organisation.models import Unit
from hotline.timelimits import services as engine
from hotline.timelimits.models import WORK_ORDER, Clock, ClockStatus, Notice, NoticeKind
from hotline.workorders.models import WorkOrder


def claim_orders(ids: list[int], limit: int) -> list[int]:
    """The sweep's claim on orders with due clocks: up to ``limit`` of
    ``ids``, locked (SKIP LOCKED on PostgreSQL: an order a transition holds
    now is left for the next sweep)."""
    orders = WorkOrder.objects.filter(id__in=ids)
    if connection.features.has_select_for_update_skip_locked:
        orders = orders.select_for_update(skip_locked=True, no_key=True)
    return list(orders.values_list("id", flat=True)[:limit])


def _responsible_unit_id(order: WorkOrder, rule: TimeLimitRule) -> int | None:
    owner_unit_id = order.owner.unit_id  # every order has an owner (D2f)
    if rule.responsible == Responsible.CENTER:
        return owner_unit_id or order.scope_unit_id
    return order.assigned_unit_id or owner_unit_id


def rules_for_order(order: WorkOrder) -> dict[str, TimeLimitRule]:
    """The rules of the order's policy version that apply to it, by metric."""
    return _rules(order)


def _rules(order: WorkOrder) -> dict[str, TimeLimitRule]:
    return rules_for(version=order.policy_version_id, business_type=order.business_type, sub_class=order.sub_class,
                     priority=order.priority, area_class=order.area_class)


def on_event(*, order: WorkOrder, kind: str, at: dt.datetime, new_order: bool = False,
             known_clocks: list[Clock] | None = None) -> list[Clock]:
    """Stop the clocks this event stops, then start the ones it starts.

    Runs in the order's transaction: one read of the order's clocks (none
    for a new order, none when the caller passes them in), one batched
    update and one batched insert. Returns all of the order's clocks.

    When the caller has the clocks in hand (``new_order`` or
    ``known_clocks``: a create in progress), new clocks are returned unsaved
    and the caller inserts them once with ``save_new_clocks``.
    """
    if new_order:
        clocks: list[Clock] = []
        deferred = True
    elif known_clocks is not None:
        clocks = known_clocks
        deferred = True
    else:
        clocks = list(Clock.objects.select_for_update(of=("self",), no_key=True).filter(order=order).select_related("rule"))
        deferred = False
    # Whatever closes an order (close, cancel, merge, an inquiry answered on
    # the call) stops every clock it still has.
    terminal = order.state in TERMINAL_STATES
    changed: list[Clock] = []
    caught_up: list[Notice] = []
    for clk in clocks:
        if clk.status == ClockStatus.RUNNING and (kind in clk.rule.stop_events() or terminal):
            if clk.pk is not None:
                # Supervision is never lost (D5): what fell due before the stop
                # and was not raised yet (the worker was down, or had not come
                # round) is raised now, once, before the clock stops.
                caught_up += engine.catch_up(clk, stop_at=at)
            engine.mark_stopped(clk, at=at, kind=kind)
            changed.append(clk)
    if kind in ("dispatch", "redispatch"):
        # A unit-responsible clock follows the order to its new unit.
        for clk in clocks:
            if clk.status == ClockStatus.RUNNING and clk.rule.responsible == Responsible.UNIT \
                    and clk.responsible_unit_id != order.assigned_unit_id:
                clk.responsible_unit_id = order.assigned_unit_id
                if clk not in changed:
                    changed.append(clk)
    changed = [c for c in changed if c.pk is not None]  # unsaved ones are inserted as they are
    if changed:
        Clock.objects.bulk_update(changed, ["stopped_at", "stopped_by", "elapsed_seconds", "overdue_seconds", "status",
                                            "next_check_at", "responsible_unit", "stage"])
    if caught_up:
        engine.raise_notices(caught_up)
    if terminal:
        return clocks
    latest: dict[str, Clock] = {}
    for clk in clocks:
        if clk.metric not in latest or clk.round > latest[clk.metric].round:
            latest[clk.metric] = clk
    restarted_since = order.reopened_at
    new = []
    for metric, rule in _rules(order).items():
        if not _starts(order, rule, kind):
            continue
        previous = latest.get(metric)
        if previous is not None and not rule.repeat:
            # Returns and re-dispatches keep the original clock (D2g); only
            # a reopen (or unmerge) after that clock started arms it again.
            if previous.status == ClockStatus.RUNNING or restarted_since is None or previous.started_at >= restarted_since:
                continue
        clk = _new_clock(order, rule, at=at, round_=previous.round + 1 if previous is not None else 0)
        if metric == "progress":
            _not_before_first_report(clk, clocks)
        new.append(clk)
    if new and not deferred:
        Clock.objects.bulk_create(new)
    clocks.extend(new)  # in place: a create's list collects every clock it starts
    return clocks


def _not_before_first_report(clk: Clock, clocks: list[Clock]) -> None:
    """D3.6c: progress is due every 2 h once a repair runs past 4 h on site.
    A report made before the 4-hour mark does not bring the next one
    forward: the next is due no earlier than the first report was."""
    first = next((c for c in clocks if c.metric == "progress_first"), None)
    if first is None or clk.due_at >= first.due_at:
        return
    span = first.due_at - clk.started_at
    clk.due_at = first.due_at
    clk.warn_at = clk.started_at + span * float(clk.rule.warn_share)
    clk.next_check_at = clk.warn_at


def save_new_clocks(clocks: list[Clock]) -> None:
    """Insert the clocks a create kept in memory (see ``on_event``)."""
    unsaved = [c for c in clocks if c.pk is None]
    if unsaved:
        Clock.objects.bulk_create(unsaved)


def _starts(order: WorkOrder, rule: TimeLimitRule, kind: str) -> bool:
    if rule.start_on != kind:
        return False
    if rule.metric == "callback" and not callback_wanted(order):
        return False
    # D3.6c is about the crew on site: a progress report before arrival
    # starts no 2-hour chain (the arrival limit is what runs then).
    return not (rule.metric == "progress" and order.state != "on_site")


def callback_wanted(order: WorkOrder) -> bool:
    """Spec D1: a type's callback is always, if the caller wants one, or never."""
    rule = order.business_type.callback
    return rule == "always" or (rule == "if_wanted" and order.reply_wanted)


def restart_for(*, order: WorkOrder, at: dt.datetime, actions: set[str]) -> list[Clock]:
    """A reopened or unmerged order: start a new round now of every clock
    whose stop the order still has ahead (``actions``: what its state can
    still do) and whose start event is not also ahead (those start when it
    happens: ``order.reopened_at`` arms them). Runs in the order's
    transaction."""
    existing = list(Clock.objects.filter(order=order).values_list("metric", "round", "status"))
    rounds: dict[str, int] = {}
    running = set()
    for metric, round_, status in existing:
        rounds[metric] = max(rounds.get(metric, -1), round_)
        if status == ClockStatus.RUNNING:
            running.add(metric)
    new = []
    for metric, rule in _rules(order).items():
        if metric in running or rule.start_on in actions:
            continue
        if not set(rule.stop_events()) & actions:
            continue
        if metric == "callback" and not callback_wanted(order):
            continue
        new.append(_new_clock(order, rule, at=at, round_=rounds.get(metric, -1) + 1))
    Clock.objects.bulk_create(new)
    return new


def start_clock(*, order: WorkOrder, metric: str, at: dt.datetime) -> Clock | None:
    """Start one metric's clock on an order outside its own events (a merged
    caller's callback when the master replies, D3.4c). None if the order's
    policy has no such rule. A clock of the metric still running is kept and
    returned, as the order's own events keep theirs (D2g): a master that
    replies again after a rework owes its merged callers the callback they
    are already waiting for, not a second one."""
    rule = _rules(order).get(metric)
    if rule is None:
        return None
    latest = Clock.objects.filter(order=order, metric=metric).order_by("-round").first()
    if latest is not None and latest.status == ClockStatus.RUNNING:
        return latest
    clk = _new_clock(order, rule, at=at, round_=0 if latest is None else latest.round + 1)
    clk.save(force_insert=True)
    return clk


def _new_clock(order: WorkOrder, rule: TimeLimitRule, *, at: dt.datetime, round_: int) -> Clock:
    gap_minutes = rule.escalation_gap_minutes
    return engine.build_clock(
        subject_type=WORK_ORDER, subject_id=order.pk, order_id=order.pk, metric=rule.metric, round_=round_, rule=rule,
        started_at=at, due_at=add_duration(at, rule.amount, rule.unit), warn_share=float(rule.warn_share),
        escalation_seconds=int(gap_minutes) * 60 if gap_minutes else None, escalation_levels=rule.escalation_levels,
        responsible_unit_id=_responsible_unit_id(order, rule), scope_unit_id=order.scope_unit_id,
        holder_unit_id=order.assigned_unit_id)


def follow_holder(order: WorkOrder) -> None:
    """The order went to another unit (a dispatch): its clocks and notices
    carry the new holder, for the boards' scope (N4a). In the order's
    transaction, which holds the order."""
    engine.move_subject(subject_type=WORK_ORDER, subject_id=order.pk, holder_unit_id=order.assigned_unit_id)


def lock_order(order_id: int) -> None:
    """Wait for the lock on one order (the engine takes it before a notice's,
    as transitions do: see timelimits.services.register_subject)."""
    list(WorkOrder.objects.select_for_update(no_key=True).filter(pk=order_id).values_list("id", flat=True))


def raise_manual_notice(*, order: WorkOrder, by, text: str, at: dt.datetime, escalate: bool = False) -> Notice:
    """A manual reminder (催办, D5d) to the unit that holds the order now,
    in the caller's transaction (which holds the order): a notice and an
    event of the order's history. ``escalate``: a shift leader's, one level
    up, to the holding unit's supervisor (level 1)."""
    clk = (Clock.objects.filter(order=order, status=ClockStatus.RUNNING).select_related("responsible_unit")
           .order_by("due_at").first())
    unit = order.assigned_unit if order.assigned_unit_id else (clk.responsible_unit if clk else None)
    unit = unit or order.scope_unit
    supervisor = Unit.objects.filter(pk=unit.parent_id).first() if unit and unit.parent_id else None
    level = 0
    if escalate and supervisor is not None:
        unit, level = supervisor, 1
        supervisor = Unit.objects.filter(pk=unit.parent_id).first() if unit.parent_id else None
    notice = Notice(clock=clk, subject_type=WORK_ORDER, subject_id=order.pk, order=order, kind=NoticeKind.MANUAL, level=level, metric=clk.metric if clk else "",
                    scope_unit_id=order.scope_unit_id, holder_unit_id=order.assigned_unit_id,
                    unit=unit, supervisor_unit=supervisor, due_at=at, created_at=at, created_by=by, message=text[:300])
    engine.raise_notices([notice])
    return notice


