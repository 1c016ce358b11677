"""The time-limit engine: clocks on any subject.

A subject is anything with a time limit — a work order, a callback task, an
expert escalation, an outage publication, a partner's receipt — named by a
type and an id. Its owning app starts and stops clocks on the subject's
events, inside the subject's transaction (``start``/``stop`` here; work
orders use the same parts through ``workorders.clocks``, which picks rules
from the order's policy). The sweep raises warnings and supervision notices
and escalates up the unit tree: it takes due clocks with ``SELECT … FOR
UPDATE SKIP LOCKED`` (PostgreSQL) so workers share the work, and the unique
constraint on (clock, kind, level) makes every notice exist once even if two
workers ever raced. Catch-up after downtime falls out of the design: a
clock's ``next_check_at`` stays in the past until handled, and a clock
stopped late first raises what fell due before its stop. Every notice is
appended to its subject's history through ``timelimits.history``.

This module imports no domain app.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from hotline.core import bulk
from hotline.core import clock as hclock
from hotline.organisation.models import Unit
from hotline.timelimits import history
from hotline.timelimits.history import HistoryEntry
from hotline.timelimits.models import WORK_ORDER, Clock, ClockStatus, Notice, NoticeKind

log = logging.getLogger(__name__)

STAGE_WARNED = 1
STAGE_NOTICED = 2
# History event kinds of the notices (spec D5e: every notice is an event).
WARNING_EVENT = "warning"
NOTICE_EVENT = "supervision"
ESCALATION_EVENT = "escalation"
DEFAULT_WARN_SHARE = 0.8


# --- subject types -------------------------------------------------------------

Claimer = Callable[[list[int], int], list[int]]
Locker = Callable[[int], None]
_claimers: dict[str, Claimer] = {}
_lockers: dict[str, Locker] = {}


def register_subject(subject_type: str, *, claim: Claimer | None = None, lock: Locker | None = None) -> None:
    """``claim(ids, limit)``: lock up to ``limit`` of the subjects ``ids``
    with SKIP LOCKED and return the ids locked. A subject type whose
    transitions lock the subject row before its clocks (work orders) must
    register one, so that the sweep takes locks in the same order and the
    two never deadlock. Without one the sweep locks the clocks themselves.
    ``lock(id)``: wait for the lock on one subject; an answer to a notice
    takes it before the notice's row, as the subject's transitions do (they
    update its notices' holder copy), for the same reason."""
    for registry, hook in ((_claimers, claim), (_lockers, lock)):
        if hook is not None:
            registry[subject_type] = hook
        else:
            registry.pop(subject_type, None)


# --- starting and stopping ----------------------------------------------------------

def build_clock(*, subject_type: str, subject_id: int, metric: str, started_at: dt.datetime, due_at: dt.datetime,
                round_: int = 0, warn_share: float = DEFAULT_WARN_SHARE, escalation_seconds: int | None = None,
                escalation_levels: int = 2, responsible_unit_id: int | None = None, rule=None,
                order_id: int | None = None, scope_unit_id: int | None = None,
                holder_unit_id: int | None = None) -> Clock:
    """An unsaved clock. The warning falls at ``warn_share`` of the span;
    each later breach one ``escalation_seconds`` after the previous notice
    (default: the limit's own span, at least a minute). A clock already past
    its due time when it starts (a limit counted back from a planned time)
    warns and notices at once. ``scope_unit_id``, ``holder_unit_id``: the
    subject's center and holder (Clock.scope_unit), copied onto its notices."""
    span = due_at - started_at
    warn_at = started_at + span * float(warn_share) if span.total_seconds() > 0 else due_at
    gap = int(escalation_seconds) if escalation_seconds else max(60, int(span.total_seconds()))
    return Clock(
        subject_type=subject_type, subject_id=subject_id, order_id=order_id, metric=metric, round=round_, rule=rule,
        responsible_unit_id=responsible_unit_id, started_at=started_at, warn_at=warn_at, due_at=due_at,
        escalation_seconds=gap, escalation_levels=escalation_levels, next_check_at=warn_at,
        scope_unit_id=scope_unit_id, holder_unit_id=holder_unit_id,
    )


def move_subject(*, subject_type: str, subject_id: int, holder_unit_id: int | None) -> None:
    """The subject is held by another unit now: its clocks and notices
    carry the new holder (Clock.scope_unit). In the subject's transaction,
    which holds the subject's lock (see ``register_subject``)."""
    where = _subject_filter(subject_type, subject_id)
    Clock.objects.filter(where).exclude(holder_unit_id=holder_unit_id).update(holder_unit_id=holder_unit_id)
    Notice.objects.filter(where).exclude(holder_unit_id=holder_unit_id).update(holder_unit_id=holder_unit_id)


def _subject_filter(subject_type: str, subject_id: int) -> Q:
    if subject_type == WORK_ORDER:
        return Q(order_id=subject_id)  # the work-order key carries the indexes
    return Q(subject_type=subject_type, subject_id=subject_id, order__isnull=True)


def start(*, subject_type: str, subject_id: int, metric: str, at: dt.datetime, due_at: dt.datetime,
          responsible_unit_id: int | None = None, warn_share: float = DEFAULT_WARN_SHARE,
          escalation_seconds: int | None = None, escalation_levels: int = 2, scope_unit_id: int | None = None,
          holder_unit_id: int | None = None) -> Clock:
    """Start a clock of ``metric`` on a subject, in the subject's
    transaction. A clock of that metric still running is kept and returned
    (a repeated start is not a second limit); after a stop, a new round."""
    if subject_type == WORK_ORDER:
        raise ValueError("work-order clocks follow the order's policy: use workorders.clocks")
    existing = list(Clock.objects.select_for_update().filter(_subject_filter(subject_type, subject_id), metric=metric)
                    .order_by("-round"))
    if existing and existing[0].status == ClockStatus.RUNNING:
        return existing[0]
    clk = build_clock(subject_type=subject_type, subject_id=subject_id, metric=metric, started_at=at, due_at=due_at,
                      round_=existing[0].round + 1 if existing else 0, warn_share=warn_share,
                      escalation_seconds=escalation_seconds, escalation_levels=escalation_levels,
                      responsible_unit_id=responsible_unit_id, scope_unit_id=scope_unit_id, holder_unit_id=holder_unit_id)
    clk.save(force_insert=True)
    return clk


def stop(*, subject_type: str, subject_id: int, at: dt.datetime, kind: str, metrics: Iterable[str] | None = None,
         cancel: bool = False) -> list[Clock]:
    """Stop the subject's running clocks (those of ``metrics``, or all) at
    ``at``, in the subject's transaction: met when ``at`` is not after the
    due time, breached when it is, cancelled with ``cancel`` (not counted).
    What fell due before the stop and was not raised yet is raised first,
    once (D5). Returns the clocks stopped."""
    if subject_type == WORK_ORDER:
        raise ValueError("work-order clocks stop on the order's events: use workorders.clocks")
    qs = Clock.objects.select_for_update().filter(_subject_filter(subject_type, subject_id), status=ClockStatus.RUNNING)
    if metrics is not None:
        qs = qs.filter(metric__in=list(metrics))
    clocks = list(qs)
    notices: list[Notice] = []
    for clk in clocks:
        notices += catch_up(clk, stop_at=at)
        mark_stopped(clk, at=at, kind=kind, cancel=cancel)
    if clocks:
        Clock.objects.bulk_update(clocks, ["stopped_at", "stopped_by", "elapsed_seconds", "overdue_seconds", "status",
                                           "next_check_at", "stage"])
    raise_notices(notices)
    return clocks


def clocks_of(subject_type: str, subject_id: int):
    return Clock.objects.filter(_subject_filter(subject_type, subject_id)).order_by("metric", "round")


def notices_of(subject_type: str, subject_id: int):
    if subject_type == WORK_ORDER:
        return Notice.objects.filter(order_id=subject_id)
    return Notice.objects.filter(subject_type=subject_type, subject_id=subject_id, order__isnull=True)


def catch_up(clk: Clock, *, stop_at: dt.datetime) -> list[Notice]:
    """Notices due strictly before ``stop_at`` that the clock has not raised.
    A clock stopped exactly at its due time is met: no notice."""
    units: dict[int, Unit] = {}
    if clk.responsible_unit_id:
        units.update({u.id: u for u in Unit.objects.filter(id=clk.responsible_unit_id)})
    notices, stage, _next = _plan(clk, stop_at, units, strict=True)
    clk.stage = stage
    return notices


def mark_stopped(clk: Clock, *, at: dt.datetime, kind: str, cancel: bool = False) -> None:
    """Stop ``clk`` in memory (the caller saves it): met when ``at`` is not
    after the due time (a clock stopped exactly at its due time is met)."""
    clk.stopped_at = at
    clk.stopped_by = kind
    clk.elapsed_seconds = max(0, int((at - clk.started_at).total_seconds()))
    clk.overdue_seconds = max(0, int((at - clk.due_at).total_seconds()))
    if cancel or kind == "cancel":
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
    full: bool = False  # a full batch: more are waiting


def _subject_of(clk: Clock) -> dict:
    return {"subject_type": clk.subject_type, "subject_id": clk.subject_id, "order_id": clk.order_id,
            "scope_unit_id": clk.scope_unit_id, "holder_unit_id": clk.holder_unit_id}


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
        notices.append(Notice(clock=clk, **_subject_of(clk), kind=NoticeKind.WARNING, level=0, metric=clk.metric,
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
        notices.append(Notice(clock=clk, **_subject_of(clk), kind=NoticeKind.SUPERVISION, level=level, metric=clk.metric,
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
    ids = [int(x) for x in unit.path.split("/") if x][:-1]  # "/1/4/9/": [1, 4]
    missing = [i for i in ids if i not in cache]
    if missing:
        for u in Unit.objects.filter(id__in=missing):
            cache[u.id] = u
    return [cache[i] for i in reversed(ids) if i in cache]


# What planning a clock's notices reads (``_plan``): loading only these
# spares the sweep parsing the other timestamps of thousands of clocks.
_SWEEP_FIELDS = ("subject_type", "subject_id", "order_id", "metric", "responsible_unit_id", "warn_at", "due_at",
                 "escalation_seconds", "escalation_levels", "stage", "scope_unit_id", "holder_unit_id")


def sweep_once(*, now: dt.datetime | None = None, batch: int = 500) -> SweepResult:
    """Handle about ``batch`` due clocks, those of whole subjects, in one
    transaction.

    Subjects whose type registered a claimer (work orders) are claimed
    first, then their due clocks: the same order of locks a transition
    takes (order, then its clocks), so the two never deadlock; the notices'
    events go into the subjects' histories, which that lock serialises.
    Other subjects' clocks are locked directly. On PostgreSQL both are taken
    with SKIP LOCKED from a window of the earliest due clocks twice the
    batch wide, so several workers take disjoint subjects from one backlog,
    and a subject a transition holds right now is left for the next sweep
    (it stays due). The subjects taken are those whose clocks in the window
    fit the batch (at least one), so a round costs the same whether a
    subject has one due clock or four.
    """
    now = now or hclock.now()
    result = SweepResult()
    batch = max(1, batch)
    skip_locked = connection.features.has_select_for_update_skip_locked
    with transaction.atomic():
        due = Clock.objects.filter(next_check_at__lte=now, status=ClockStatus.RUNNING)
        # Subjects in the order their earliest clock fell due, with how many
        # of the window's clocks are theirs (a dict keeps insertion order).
        window: dict[str, dict[int, int]] = {}
        rows = list(due.order_by("next_check_at").values_list("subject_type", "subject_id")[: batch * 2])
        for subject_type, subject_id in rows:
            counts = window.setdefault(subject_type, {})
            counts[subject_id] = counts.get(subject_id, 0) + 1
        if not window:
            return result
        # More are due past a full window: another worker may hold the
        # window's other subjects, so a short batch here is no sign of an
        # empty backlog.
        result.full = len(rows) >= batch * 2
        clocks: list[Clock] = []
        for subject_type, counts in window.items():
            room = batch - len(clocks)
            if room <= 0:
                result.full = True
                break
            # As many subjects as fit the room at this window's clocks per
            # subject. The claimer picks them among all the window's subjects
            # (SKIP LOCKED), so a second worker takes others than the first.
            ids = list(counts)
            want = max(1, int(room * len(ids) / sum(counts.values())))
            if want < len(ids):
                result.full = True  # the rest wait for the next round
            claimer = _claimers.get(subject_type)
            if claimer is not None:
                taken = claimer(ids, want)
                if not taken:
                    continue
                mine = due.filter(_subjects_filter(subject_type, taken))
                if connection.features.has_select_for_update:
                    mine = mine.select_for_update(of=("self",), no_key=True)
            else:
                mine = due.filter(_subjects_filter(subject_type, ids[:want]))
                if skip_locked:
                    mine = mine.select_for_update(skip_locked=True, no_key=True)
            clocks += list(mine.only(*_SWEEP_FIELDS))
        if not clocks:  # all held by other workers: not worth a second look at once
            result.full = False
            return result
        result.full = result.full or len(clocks) >= batch
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
        created = raise_notices(to_create)
        result.warnings = sum(1 for n in created if n.kind == NoticeKind.WARNING)
        result.notices = sum(1 for n in created if n.kind == NoticeKind.SUPERVISION)
    return result


def _subjects_filter(subject_type: str, ids: list[int]) -> Q:
    if subject_type == WORK_ORDER:
        return Q(order_id__in=ids)
    return Q(subject_type=subject_type, subject_id__in=ids, order__isnull=True)


def raise_notices(notices: list[Notice]) -> list[Notice]:
    """Insert notices once each and append each new one to its subject's
    history, in the caller's transaction. Returns the notices inserted."""
    if not notices:
        return []
    try:
        with transaction.atomic():
            created = bulk.insert(Notice, notices)
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
    by_type: dict[str, list[HistoryEntry]] = {}
    for n in created:
        by_type.setdefault(n.subject_type, []).append(_history_entry(n))
    for subject_type, entries in by_type.items():
        history.append(subject_type, entries)
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
    return HistoryEntry(subject_id=n.subject_id, kind=kind, at=n.created_at, payload=payload, actor=n.created_by)


def _save_stages(clocks: list[Clock]) -> None:
    if connection.vendor == "postgresql":
        # One UPDATE … FROM unnest(arrays): Django's bulk_update writes a CASE
        # with a branch per row for every row, quadratic in the batch, and a
        # VALUES list is new text to parse every round.
        table = Clock._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f'UPDATE {table} AS c SET "stage" = v.stage, "next_check_at" = v.next_check '
                f"FROM unnest(%s::bigint[], %s::integer[], %s::timestamptz[]) AS v(id, stage, next_check) "
                f"WHERE c.id = v.id",
                [[c.pk for c in clocks], [c.stage for c in clocks], [c.next_check_at for c in clocks]])
    else:
        Clock.objects.bulk_update(clocks, ["stage", "next_check_at"], batch_size=500)


def sweep_until_idle(*, now: dt.datetime | None = None, batch: int = 500, max_rounds: int = 10_000) -> SweepResult:
    total = SweepResult()
    for _round in range(max_rounds):
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
        locker = _lockers.get(notice.subject_type)
        if locker is not None:
            locker(notice.subject_id)
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
        history.append(notice.subject_type, [HistoryEntry(
            subject_id=notice.subject_id, kind="notice_answer", at=notice.answered_at, actor=user,
            payload={"notice": notice.pk, "notice_kind": notice.kind, "level": notice.level, "metric": notice.metric,
                     "answer": notice.answer})])
    return notice


def supervision_rate(*, clocks=None, subject_type: str = WORK_ORDER) -> dict:
    """Spec D5f: subjects (by default work orders) past a limit that received
    a supervision notice / subjects past a limit. ``clocks``: a Clock
    queryset to count over (a period, a scope); all clocks of the subject
    type when None. Rate None when nothing breached."""
    from django.db.models import Exists, OuterRef

    qs = Clock.objects.all() if clocks is None else clocks
    qs = qs.filter(subject_type=subject_type)
    now = hclock.now()
    past = qs.filter(Q(status=ClockStatus.BREACHED) | Q(status=ClockStatus.RUNNING, due_at__lt=now))
    noticed = Notice.objects.filter(clock=OuterRef("pk"), kind=NoticeKind.SUPERVISION)
    subjects_past = set(past.values_list("subject_id", flat=True))
    # A subject counts as supervised when every limit it passed got its notice.
    unsupervised = set(past.annotate(n=Exists(noticed)).filter(n=False).values_list("subject_id", flat=True))
    supervised = len(subjects_past - unsupervised)
    return {"past_limit": len(subjects_past), "supervised": supervised,
            "rate": supervised / len(subjects_past) if subjects_past else None}
