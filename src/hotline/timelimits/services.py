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

from django.db import connection, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from hotline.calendars.services import add_duration
from hotline.catalog.models import Responsible, TimeLimitRule
from hotline.catalog.selectors import rules_for
from hotline.core import clock as hclock
from hotline.organisation.models import Unit
from hotline.timelimits.models import Clock, ClockStatus, Notice, NoticeKind
from hotline.workorders.models import WorkOrder

log = logging.getLogger(__name__)

STAGE_WARNED = 1
STAGE_NOTICED = 2


def _responsible_unit_id(order: WorkOrder, rule: TimeLimitRule) -> int | None:
    owner_unit_id = order.owner.unit_id if order.owner_id else None
    if rule.responsible == Responsible.CENTER:
        return owner_unit_id or order.scope_unit_id
    return order.assigned_unit_id or owner_unit_id


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
    terminal = order.state in ("closed", "merged", "cancelled")
    changed: list[Clock] = []
    for clk in clocks:
        if clk.status == ClockStatus.RUNNING and (kind in clk.rule.stop_events() or terminal):
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
                                            "next_check_at", "responsible_unit"])
    if terminal:
        return clocks
    latest_round: dict[str, int] = {}
    for clk in clocks:
        latest_round[clk.metric] = max(latest_round.get(clk.metric, -1), clk.round)
    new = []
    for metric, rule in _rules(order).items():
        if rule.start_on != kind:
            continue
        if metric in latest_round and not rule.repeat:
            continue  # returns and re-dispatches keep the original clock
        new.append(_new_clock(order, rule, at=at, round_=latest_round.get(metric, -1) + 1))
    if new and not deferred:
        Clock.objects.bulk_create(new)
    clocks.extend(new)  # in place: a create's list collects every clock it starts
    return clocks


def save_new_clocks(clocks: list[Clock]) -> None:
    """Insert the clocks a create kept in memory (see ``on_event``)."""
    unsaved = [c for c in clocks if c.pk is None]
    if unsaved:
        Clock.objects.bulk_create(unsaved)


def _new_clock(order: WorkOrder, rule: TimeLimitRule, *, at: dt.datetime, round_: int) -> Clock:
    due = add_duration(at, rule.amount, rule.unit)
    span = due - at
    warn_at = at + span * float(rule.warn_share)
    return Clock(
        order=order, metric=rule.metric, round=round_, rule=rule, responsible_unit_id=_responsible_unit_id(order, rule),
        started_at=at, warn_at=warn_at, due_at=due, escalation_seconds=max(60, int(span.total_seconds())),
        escalation_levels=rule.escalation_levels, next_check_at=warn_at,
    )


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


def _escalation_time(clk: Clock, k: int) -> dt.datetime:
    return clk.due_at + dt.timedelta(seconds=clk.escalation_seconds * k)


def _plan(clk: Clock, now: dt.datetime, units: dict[int, Unit]) -> tuple[list[Notice], int, dt.datetime | None]:
    """Notices due for this clock at ``now``, its new stage and next check."""
    notices: list[Notice] = []
    stage = clk.stage
    unit = units.get(clk.responsible_unit_id) if clk.responsible_unit_id else None
    ancestors = _ancestors(unit, units) if unit else []
    if stage < STAGE_WARNED and now >= clk.warn_at:
        notices.append(Notice(clock=clk, order_id=clk.order_id, kind=NoticeKind.WARNING, level=0, metric=clk.metric,
                              unit=unit, supervisor_unit=ancestors[0] if ancestors else None, due_at=clk.warn_at, created_at=now))
        stage = STAGE_WARNED
    last_stage = STAGE_NOTICED + clk.escalation_levels
    while stage < last_stage:
        level = stage - STAGE_WARNED + 1  # 1 = first notice
        at = clk.due_at if level == 1 else _escalation_time(clk, level - 1)
        if now < at:
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
    """Handle up to ``batch`` due clocks in one transaction."""
    now = now or hclock.now()
    result = SweepResult()
    with transaction.atomic():
        qs = Clock.objects.filter(next_check_at__lte=now, status=ClockStatus.RUNNING).order_by("next_check_at")
        if connection.features.has_select_for_update_skip_locked:
            qs = qs.select_for_update(skip_locked=True, of=("self",), no_key=True)
        clocks = list(qs[:batch])
        if not clocks:
            return result
        unit_ids = {c.responsible_unit_id for c in clocks if c.responsible_unit_id}
        units = {u.id: u for u in Unit.objects.filter(id__in=unit_ids)}
        to_create: list[Notice] = []
        moved: list[Clock] = []
        for clk in clocks:
            notices, stage, next_check = _plan(clk, now, units)
            clk.stage, clk.next_check_at = stage, next_check
            moved.append(clk)
            to_create.extend(notices)
        # The rows are ours: FOR UPDATE SKIP LOCKED on PostgreSQL, the write
        # lock of an IMMEDIATE transaction on SQLite. The unique constraint
        # on notices is the last word if anything ever slipped through.
        _save_stages(moved)
        result.clocks = len(moved)
        if to_create:
            Notice.objects.bulk_create(to_create, ignore_conflicts=True, batch_size=1000)
            result.warnings = sum(1 for n in to_create if n.kind == NoticeKind.WARNING)
            result.notices = sum(1 for n in to_create if n.kind == NoticeKind.SUPERVISION)
    return result


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
        if r.clocks == 0:
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
    from hotline.workorders import services as wo_services

    text = (text or "").strip()
    if not text:
        raise NoticeError("answer", _("an answer text is required"))
    with transaction.atomic():
        notice = Notice.objects.select_for_update().get(pk=notice.pk)
        if notice.answered_at is not None:
            raise NoticeError("answer", _("this notice has already been answered"))
        if notice.kind == NoticeKind.WARNING:
            raise NoticeError("answer", _("warnings need no answer"))
        from hotline.organisation.selectors import user_scope_path

        scope = user_scope_path(user)
        if scope is not None and not (notice.unit and notice.unit.path.startswith(scope)) and not (
                notice.supervisor_unit and notice.supervisor_unit.path.startswith(scope)):
            raise PermissionError(_("this notice is not addressed to your unit"))
        notice.answered_at = hclock.now()
        notice.answered_by = user
        notice.answer = text[:500]
        notice.save(update_fields=["answered_at", "answered_by", "answer"])
        wo_services.record_event(order=notice.order, kind="notice_answer", actor=user,
                                 payload={"notice": notice.pk, "level": notice.level, "metric": notice.metric, "answer": notice.answer})
    return notice
