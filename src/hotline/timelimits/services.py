"""The time-limit engine.

Clocks start and stop on order events (called inside the order's
transaction). The sweep raises warnings and supervision notices: it takes due
clocks with ``SELECT … FOR UPDATE SKIP LOCKED`` (PostgreSQL) so workers share
the work, and the unique constraint on (clock, kind, level) makes every notice
exist once even if two workers ever raced. Catch-up after downtime falls out
of the design: a clock's ``next_check_at`` stays in the past until handled.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from hotline.calendars.services import add_duration
from hotline.catalog.lifecycle import TERMINAL_STATES
from hotline.catalog.models import Responsible, TimeLimitRule
from hotline.catalog.selectors import rules_for
from hotline.core import clock as hclock
from hotline.organisation.models import Unit
from hotline.timelimits import history
from hotline.timelimits.history import HistoryEntry
from hotline.timelimits.models import Clock, ClockStatus, Notice, NoticeKind
from hotline.workorders.models import WorkOrder

log = logging.getLogger(__name__)

STAGE_WARNED = 1
STAGE_NOTICED = 2
SUBJECT = "work_order"
# History event kinds of the notices (spec D5e: every notice is an event).
WARNING_EVENT = "warning"
NOTICE_EVENT = "supervision"
ESCALATION_EVENT = "escalation"


def _responsible_unit_id(order: WorkOrder, rule: TimeLimitRule) -> int | None:
    owner_unit_id = order.owner.unit_id if order.owner_id else None
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
                caught_up += _catch_up(clk, stop_at=at)
            _stop(clk, at=at, kind=kind)
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
        _raise(caught_up)
    if terminal:
        return clocks
    latest: dict[str, Clock] = {}
    for clk in clocks:
        if clk.metric not in latest or clk.round > latest[clk.metric].round:
            latest[clk.metric] = clk
    restarted_since = getattr(order, "reopened_at", None)
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
        new.append(_new_clock(order, rule, at=at, round_=previous.round + 1 if previous is not None else 0))
    if new and not deferred:
        Clock.objects.bulk_create(new)
    clocks.extend(new)  # in place: a create's list collects every clock it starts
    return clocks


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
    return True


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
    policy has no such rule."""
    rule = _rules(order).get(metric)
    if rule is None:
        return None
    round_ = (Clock.objects.filter(order=order, metric=metric).order_by("-round").values_list("round", flat=True).first())
    clk = _new_clock(order, rule, at=at, round_=0 if round_ is None else round_ + 1)
    clk.save(force_insert=True)
    return clk


def _new_clock(order: WorkOrder, rule: TimeLimitRule, *, at: dt.datetime, round_: int) -> Clock:
    due = add_duration(at, rule.amount, rule.unit)
    span = due - at
    warn_at = at + span * float(rule.warn_share)
    gap_minutes = getattr(rule, "escalation_gap_minutes", None)
    # Each later breach comes one gap after the previous notice: the rule's
    # own gap when set, else the limit's span (at least a minute).
    gap = int(gap_minutes) * 60 if gap_minutes else max(60, int(span.total_seconds()))
    return Clock(
        order=order, metric=rule.metric, round=round_, rule=rule, responsible_unit_id=_responsible_unit_id(order, rule),
        started_at=at, warn_at=warn_at, due_at=due, escalation_seconds=gap,
        escalation_levels=rule.escalation_levels, next_check_at=warn_at,
    )


def _catch_up(clk: Clock, *, stop_at: dt.datetime) -> list[Notice]:
    """Notices due strictly before ``stop_at`` that the clock has not raised.
    A clock stopped exactly at its due time is met: no notice."""
    units: dict[int, Unit] = {}
    if clk.responsible_unit_id:
        units.update({u.id: u for u in Unit.objects.filter(id=clk.responsible_unit_id)})
    notices, stage, _next = _plan(clk, stop_at, units, strict=True)
    clk.stage = stage
    return notices


def _stop(clk: Clock, *, at: dt.datetime, kind: str) -> None:
    clk.stopped_at = at
    clk.stopped_by = kind
    clk.elapsed_seconds = max(0, int((at - clk.started_at).total_seconds()))
    clk.overdue_seconds = max(0, int((at - clk.due_at).total_seconds()))
    if kind == "cancel":
        clk.status = ClockStatus.CANCELLED
    else:
        clk.status = ClockStatus.MET if at <= clk.due_at else ClockStatus.BREACHED
    clk.next_check_at = None


# --- the sweep --------------------------------------------------------------

@dataclass
class SweepResult:
    clocks: int = 0
    warnings: int = 0
    notices: int = 0
    full: bool = False  # a full batch of orders: more are waiting


def _escalation_time(clk: Clock, k: int) -> dt.datetime:
    return clk.due_at + dt.timedelta(seconds=clk.escalation_seconds * k)


def _plan(clk: Clock, now: dt.datetime, units: dict[int, Unit], *, strict: bool = False
          ) -> tuple[list[Notice], int, dt.datetime | None]:
    """Notices due for this clock at ``now``, its new stage and next check.

    ``strict``: only what fell due before ``now`` (a clock stopping at
    ``now``), not what falls due at that very instant."""
    def reached(t: dt.datetime) -> bool:
        return now > t if strict else now >= t

    notices: list[Notice] = []
    stage = clk.stage
    unit = units.get(clk.responsible_unit_id) if clk.responsible_unit_id else None
    ancestors = _ancestors(unit, units) if unit else []
    if stage < STAGE_WARNED and reached(clk.warn_at):
        notices.append(Notice(clock=clk, order_id=clk.order_id, kind=NoticeKind.WARNING, level=0, metric=clk.metric,
                              unit=unit, supervisor_unit=ancestors[0] if ancestors else None, due_at=clk.warn_at, created_at=now))
        stage = STAGE_WARNED
    last_stage = STAGE_NOTICED + clk.escalation_levels
    while STAGE_WARNED <= stage < last_stage:  # notices only after the warning
        level = stage - STAGE_WARNED + 1  # 1 = first notice
        at = clk.due_at if level == 1 else _escalation_time(clk, level - 1)
        if not reached(at):
            break
        # Level 1 goes to the unit and its supervisor; each later breach one level further up.
        addressed = unit if level == 1 else (ancestors[level - 2] if len(ancestors) >= level - 1 else (ancestors[-1] if ancestors else unit))
        above = ancestors[level - 1] if len(ancestors) >= level else None
        notices.append(Notice(clock=clk, order_id=clk.order_id, kind=NoticeKind.SUPERVISION, level=level, metric=clk.metric,
                              unit=addressed, supervisor_unit=above, due_at=at, created_at=now))
        stage += 1
    if stage < STAGE_WARNED:
        next_check = clk.warn_at
    elif stage < last_stage:
        level = stage - STAGE_WARNED + 1
        next_check = clk.due_at if level == 1 else _escalation_time(clk, level - 1)
    else:
        next_check = None
    return notices, stage, next_check


def _ancestors(unit: Unit, cache: dict[int, Unit]) -> list[Unit]:
    """Nearest first."""
    ids = [int(x) for x in unit.path.strip("/").split("/") if x][:-1]
    missing = [i for i in ids if i not in cache]
    if missing:
        for u in Unit.objects.filter(id__in=missing):
            cache[u.id] = u
    return [cache[i] for i in reversed(ids) if i in cache]


def sweep_once(*, now: dt.datetime | None = None, batch: int = 500) -> SweepResult:
    """Handle the due clocks of up to ``batch // 4`` orders in one
    transaction (about ``batch`` clocks: an order has a few).

    Orders are claimed first, then their due clocks, the same order of
    locks a transition takes (order, then its clocks), so the two never
    deadlock; the notices' events go into the orders' histories, which the
    order lock serialises. On PostgreSQL the orders are claimed with SKIP
    LOCKED from a window of the earliest due clocks twice the batch wide, so
    several workers take disjoint orders from one backlog, and an order a
    transition holds right now is left for the next sweep (it stays due).
    """
    now = now or hclock.now()
    result = SweepResult()
    order_limit = max(1, batch // 4)
    with transaction.atomic():
        due = Clock.objects.filter(next_check_at__lte=now, status=ClockStatus.RUNNING)
        window = due.order_by("next_check_at").values("order_id")[: batch * 2]
        orders = WorkOrder.objects.filter(id__in=window)
        if connection.features.has_select_for_update_skip_locked:
            orders = orders.select_for_update(skip_locked=True, no_key=True)
        order_ids = list(orders.values_list("id", flat=True)[:order_limit])
        if not order_ids:
            return result
        clocks = list(due.filter(order_id__in=order_ids).select_for_update(of=("self",), no_key=True)
                      if connection.features.has_select_for_update else due.filter(order_id__in=order_ids))
        result.full = len(order_ids) >= order_limit
        if not clocks:
            return result
        unit_ids = {c.responsible_unit_id for c in clocks if c.responsible_unit_id}
        units = {u.id: u for u in Unit.objects.filter(id__in=unit_ids)}
        to_create: list[Notice] = []
        for clk in clocks:
            notices, stage, next_check = _plan(clk, now, units)
            clk.stage, clk.next_check_at = stage, next_check
            to_create.extend(notices)
        _save_stages(clocks)
        result.clocks = len(clocks)
        # The unique constraint on notices is the last word if anything ever
        # slipped through.
        created = _raise(to_create)
        result.warnings = sum(1 for n in created if n.kind == NoticeKind.WARNING)
        result.notices = sum(1 for n in created if n.kind == NoticeKind.SUPERVISION)
    return result


def _raise(notices: list[Notice]) -> list[Notice]:
    """Insert notices once each and append each new one to its order's
    history, in the caller's transaction. Returns the notices inserted."""
    if not notices:
        return []
    try:
        with transaction.atomic():
            created = Notice.objects.bulk_create(notices, batch_size=1000)
    except IntegrityError:
        # Another writer raised some of them already (the unique constraint
        # said so): insert the rest one by one, each under its own savepoint.
        created = []
        for n in notices:
            try:
                with transaction.atomic():
                    n.save(force_insert=True)
                created.append(n)
            except IntegrityError:
                continue
    history.append(SUBJECT, [_history_entry(n) for n in created])
    return created


def _history_entry(n: Notice) -> HistoryEntry:
    if n.kind == NoticeKind.WARNING:
        kind = WARNING_EVENT
    elif n.kind == NoticeKind.SUPERVISION:
        kind = NOTICE_EVENT if n.level <= 1 else ESCALATION_EVENT
    else:
        kind = "reminder"
    payload = {"notice": n.pk, "notice_kind": n.kind, "level": n.level, "metric": n.metric,
               "unit": n.unit.name if n.unit else "", "unit_id": n.unit_id,
               "supervisor_unit": n.supervisor_unit.name if n.supervisor_unit else "",
               "due_at": n.due_at.isoformat()}
    if n.message:
        payload["message"] = n.message
    return HistoryEntry(subject_id=n.order_id, kind=kind, at=n.created_at, payload=payload, actor=n.created_by)


def _save_stages(clocks: list[Clock]) -> None:
    if connection.vendor == "postgresql":
        # One UPDATE … FROM (VALUES …): Django's bulk_update writes a CASE
        # with a branch per row for every row, quadratic in the batch.
        table = Clock._meta.db_table
        rows = ", ".join(["(%s, %s, %s::timestamptz)"] * len(clocks))
        params: list = []
        for clk in clocks:
            params += [clk.pk, clk.stage, clk.next_check_at]
        with connection.cursor() as cursor:
            cursor.execute(
                f'UPDATE {table} AS c SET "stage" = v.stage, "next_check_at" = v.next_check '
                f"FROM (VALUES {rows}) AS v(id, stage, next_check) WHERE c.id = v.id", params)
    else:
        Clock.objects.bulk_update(clocks, ["stage", "next_check_at"], batch_size=500)


def sweep_until_idle(*, now: dt.datetime | None = None, batch: int = 500, max_rounds: int = 10_000) -> SweepResult:
    total = SweepResult()
    for _ in range(max_rounds):
        r = sweep_once(now=now, batch=batch)
        total.clocks += r.clocks
        total.warnings += r.warnings
        total.notices += r.notices
        if r.clocks == 0 and not r.full:
            break
    return total


# --- answers and manual reminders ---------------------------------------------

class NoticeError(ValueError):
    """The notice cannot be answered: names the field and the reason."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def answer_notice(*, notice: Notice, user, text: str) -> Notice:
    from hotline.organisation.selectors import user_scope_path

    text = (text or "").strip()
    if not text:
        raise NoticeError("answer", _("an answer text is required"))
    with transaction.atomic():
        notice = Notice.objects.select_for_update().get(pk=notice.pk)
        if notice.answered_at is not None:
            raise NoticeError("answer", _("this notice has already been answered"))
        if notice.kind == NoticeKind.WARNING:
            raise NoticeError("answer", _("warnings need no answer"))
        scope = user_scope_path(user)
        if scope is not None and not (notice.unit and notice.unit.path.startswith(scope)) and not (
                notice.supervisor_unit and notice.supervisor_unit.path.startswith(scope)):
            raise PermissionError(_("this notice is not addressed to your unit"))
        notice.answered_at = hclock.now()
        notice.answered_by = user
        notice.answer = text[:500]
        notice.save(update_fields=["answered_at", "answered_by", "answer"])
        history.append(SUBJECT, [HistoryEntry(
            subject_id=notice.order_id, kind="notice_answer", at=notice.answered_at, actor=user,
            payload={"notice": notice.pk, "notice_kind": notice.kind, "level": notice.level, "metric": notice.metric,
                     "answer": notice.answer})])
    return notice


def raise_manual_notice(*, order: WorkOrder, by, text: str, at: dt.datetime) -> Notice:
    """A manual reminder (催办, D5d) to the unit that holds the order now,
    in the caller's transaction (which holds the order): a notice and an
    event of the order's history."""
    clk = (Clock.objects.filter(order=order, status=ClockStatus.RUNNING).select_related("responsible_unit")
           .order_by("due_at").first())
    unit = order.assigned_unit if order.assigned_unit_id else (clk.responsible_unit if clk else None)
    unit = unit or order.scope_unit
    supervisor = Unit.objects.filter(pk=unit.parent_id).first() if unit and unit.parent_id else None
    notice = Notice(clock=clk, order=order, kind=NoticeKind.MANUAL, level=0, metric=clk.metric if clk else "",
                    unit=unit, supervisor_unit=supervisor, due_at=at, created_at=at, created_by=by, message=text[:300])
    _raise([notice])
    return notice


def supervision_rate(*, clocks=None) -> dict:
    """Spec D5f: orders past a limit that received a supervision notice /
    orders past a limit. ``clocks``: a Clock queryset to count over (a
    period, a scope); all clocks when None. Rate None when nothing breached."""
    from django.db.models import Exists, OuterRef

    qs = Clock.objects.all() if clocks is None else clocks
    now = hclock.now()
    past = qs.filter(Q(status=ClockStatus.BREACHED) | Q(status=ClockStatus.RUNNING, due_at__lt=now))
    noticed = Notice.objects.filter(clock=OuterRef("pk"), kind=NoticeKind.SUPERVISION)
    orders_past = set(past.values_list("order_id", flat=True))
    # An order counts as supervised when every limit it passed got its notice.
    unsupervised = set(past.annotate(n=Exists(noticed)).filter(n=False).values_list("order_id", flat=True))
    supervised = len(orders_past - unsupervised)
    return {"past_limit": len(orders_past), "supervised": supervised,
            "rate": supervised / len(orders_past) if orders_past else None}
