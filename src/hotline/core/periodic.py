"""Periodic tasks: work each app registers and every ``hotline worker`` runs.

An app registers its tasks in its ``AppConfig.ready()``::

    periodic.register("outbox", interval=1.0, func=deliver_task, concurrency=8)

Each task has one lease row per slot in the database (``PeriodicTaskRun``,
unique on name and slot). A worker runs a task only after claiming one of
its slots with a compare-and-set ``UPDATE … WHERE next_run_at <= now AND
(lease_until IS NULL OR lease_until < now)``; when the run ends it writes
the slot's ``next_run_at`` and frees the lease. So with any number of
workers each slot runs once per tick: a task of ``concurrency=1`` (a
scheduled report) runs once per interval in the whole installation. Tasks
that share out row-level work themselves (the time-limit sweep and outbox
delivery claim their rows with ``SKIP LOCKED``) declare more slots, so
several workers can drain one backlog at once. A worker that dies holding
a slot leaves it leased until ``lease_until``; then another takes it.

A task's function takes a :class:`TaskContext` and returns ``None`` (run
again after ``interval`` from the start of this run), or the seconds after
which it wants to run again: ``0`` means more work is waiting (a full
batch), so the worker runs it again at once.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import random
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import close_old_connections, connection
from django.db.models import F, Q

from hotline.core import clock

log = logging.getLogger("hotline.worker")


@dataclass(frozen=True)
class PeriodicTask:
    name: str
    interval: float
    func: Callable[[TaskContext], float | None]
    concurrency: int = 1
    # How long a claim holds the slot; a run should end well within it.
    lease_seconds: float = 60.0


@dataclass
class TaskContext:
    task: PeriodicTask
    slot: int
    started_at: dt.datetime
    # Options of the worker command (batch, interval, min_gap…), for tasks
    # whose pace the command line tunes.
    options: dict[str, Any] = field(default_factory=dict)
    # Set when the worker is asked to stop: long runs end early.
    stopping: threading.Event = field(default_factory=threading.Event)

    @property
    def budget_seconds(self) -> float:
        """Finish within this (half the lease), so the slot never runs twice."""
        return self.task.lease_seconds / 2


_tasks: dict[str, PeriodicTask] = {}


def register(name: str, *, interval: float, func: Callable[[TaskContext], float | None], concurrency: int = 1,
             lease_seconds: float = 60.0) -> PeriodicTask:
    if interval <= 0 or concurrency < 1 or lease_seconds <= 0:
        raise ValueError(f"periodic task {name!r}: interval and lease must be positive, concurrency at least 1")
    task = PeriodicTask(name=name, interval=interval, func=func, concurrency=concurrency, lease_seconds=lease_seconds)
    _tasks[name] = task
    return task


def unregister(name: str) -> None:
    _tasks.pop(name, None)


def tasks() -> list[PeriodicTask]:
    return list(_tasks.values())


def get(name: str) -> PeriodicTask:
    try:
        return _tasks[name]
    except KeyError:
        raise LookupError(f"no periodic task {name!r}; registered: {', '.join(sorted(_tasks)) or 'none'}") from None


def owner_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident() % 100000}"


# --- the lease rows ---------------------------------------------------------------

def _ensure_rows(task: PeriodicTask, now: dt.datetime) -> None:
    from hotline.core.models import PeriodicTaskRun

    PeriodicTaskRun.objects.bulk_create(
        [PeriodicTaskRun(name=task.name, slot=s, next_run_at=now) for s in range(task.concurrency)],
        ignore_conflicts=True)


@dataclass(frozen=True)
class Claim:
    task: PeriodicTask
    slot: int
    run: int  # the row's run counter after the claim: fences a late finish
    started_at: dt.datetime


def claim(task: PeriodicTask, *, owner: str, now: dt.datetime | None = None, force: bool = False) -> Claim | None:
    """Take one free slot of ``task`` that is due (any free slot with
    ``force``), or None. One UPDATE per slot tried, in autocommit: the row
    is the lock, and the WHERE clause is the compare-and-set."""
    from hotline.core.models import PeriodicTaskRun

    now = now or clock.now()
    free = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    slots = list(range(task.concurrency))
    random.shuffle(slots)  # workers spread over the slots instead of all racing for slot 0
    for attempt in range(2):
        for slot in slots:
            qs = PeriodicTaskRun.objects.filter(free, name=task.name, slot=slot)
            if not force:
                qs = qs.filter(next_run_at__lte=now)
            if qs.update(lease_until=now + dt.timedelta(seconds=task.lease_seconds), owner=owner[:100],
                         last_started_at=now, runs=F("runs") + 1):
                run = PeriodicTaskRun.objects.filter(name=task.name, slot=slot).values_list("runs", flat=True).get()
                return Claim(task=task, slot=slot, run=run, started_at=now)
        if attempt == 0:
            if PeriodicTaskRun.objects.filter(name=task.name).count() >= task.concurrency:
                break
            _ensure_rows(task, now)  # first run of this task anywhere
    return None


def finish(c: Claim, *, delay: float | None, error: str = "", now: dt.datetime | None = None) -> dt.datetime:
    """Free the slot and set its next run. Returns the next run time."""
    from hotline.core.models import PeriodicTaskRun

    now = now or clock.now()
    if delay is None:
        next_run = max(c.started_at + dt.timedelta(seconds=c.task.interval), now)
    else:
        next_run = now + dt.timedelta(seconds=max(0.0, delay))
    # Fenced by the run counter: if this run outlived its lease and another
    # worker took the slot, that worker's run owns the row now.
    PeriodicTaskRun.objects.filter(name=c.task.name, slot=c.slot, runs=c.run).update(
        lease_until=None, next_run_at=next_run, last_finished_at=now, last_error=error[:2000])
    return next_run


def run_claimed(c: Claim, *, options: dict | None = None, stopping: threading.Event | None = None
                ) -> tuple[float | None, str]:
    """Run a claimed task; (its requested delay, error text)."""
    ctx = TaskContext(task=c.task, slot=c.slot, started_at=c.started_at, options=dict(options or {}),
                      stopping=stopping or threading.Event())
    try:
        delay = c.task.func(ctx)
        return (None if delay is None else float(delay)), ""
    except Exception as exc:  # the next tick retries; the row keeps why
        log.exception("periodic task %s failed", c.task.name)
        return None, f"{type(exc).__name__}: {exc}"


def run_once(task: PeriodicTask, *, owner: str | None = None, options: dict | None = None,
             stopping: threading.Event | None = None, force: bool = False,
             now: dt.datetime | None = None) -> tuple[bool, float | None]:
    """Claim, run and finish ``task`` once if a slot is due: (ran, delay)."""
    c = claim(task, owner=owner or owner_name(), now=now, force=force)
    if c is None:
        return False, None
    delay, error = run_claimed(c, options=options, stopping=stopping)
    finish(c, delay=delay, error=error)
    return True, delay


def seconds_until_due(task: PeriodicTask, *, now: dt.datetime | None = None) -> float:
    """How long until some slot of ``task`` can be claimed (0: now)."""
    from hotline.core.models import PeriodicTaskRun

    now = now or clock.now()
    rows = list(PeriodicTaskRun.objects.filter(name=task.name).values_list("next_run_at", "lease_until"))
    if len(rows) < task.concurrency:
        return 0.0
    soonest = min(max(n, lease) if lease and lease > now else n for n, lease in rows)
    return max(0.0, (soonest - now).total_seconds())


class TaskRunner(threading.Thread):
    """Runs one periodic task in a worker, in a thread of its own so that a
    slow task (a long delivery round) never delays another (the sweep)."""

    def __init__(self, task: PeriodicTask, *, options: dict | None = None, stopping: threading.Event | None = None,
                 min_poll: float = 0.05):
        super().__init__(name=f"hotline-task-{task.name}", daemon=True)
        self.task = task
        self.options = dict(options or {})
        self.stopping = stopping or threading.Event()
        self.min_poll = min_poll
        self.runs = 0

    def run(self) -> None:
        from django.conf import settings
        from django.utils import translation

        # Errors tasks store are read by Chinese-speaking administrators.
        translation.activate(settings.LANGUAGE_CODE)
        owner = owner_name()
        try:
            while not self.stopping.is_set():
                close_old_connections()
                try:
                    c = claim(self.task, owner=owner)
                    if c is not None:
                        delay, error = run_claimed(c, options=self.options, stopping=self.stopping)
                        next_run = finish(c, delay=delay, error=error)
                        self.runs += 1
                        # This worker's own pace: it does not take another slot
                        # of the same task before its run asked to go again.
                        wait = (next_run - clock.now()).total_seconds()
                    else:
                        wait = max(self.min_poll, seconds_until_due(self.task))
                except Exception:  # the database may be briefly away
                    log.exception("periodic task %s: claim failed", self.task.name)
                    wait = self.task.interval
                if wait > 0:
                    self.stopping.wait(min(max(wait, self.min_poll), self.task.interval))
        finally:
            connection.close()

