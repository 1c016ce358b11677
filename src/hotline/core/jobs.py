"""Background jobs: slow work asked for in a web request, done by a worker.

A page enqueues a job and polls it; every ``hotline worker`` runs a job
thread beside its time-limit sweep (a solve must not delay a supervision
notice), claiming the oldest queued job with ``FOR UPDATE SKIP LOCKED`` on
PostgreSQL (the write lock of an IMMEDIATE transaction on SQLite), so any
number of workers share the queue and each job runs once. A job whose
worker died is taken again when its lease runs out, at most
``MAX_ATTEMPTS`` times.

Handlers are registered by kind (``@handler("planning.create_schedule")``),
take the job's params and the user who asked, and return a JSON-able
result. An exception fails the job; its message is kept for the page.
A long handler may call :func:`report_progress`: while the job runs, its
``result`` holds the latest progress for the polling page (the final result
replaces it), and each report renews the lease.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from hotline.core import clock
from hotline.core.models import Job, JobStatus

log = logging.getLogger("hotline.jobs")

MAX_ATTEMPTS = 3
Handler = Callable[[dict, Any], dict]
_handlers: dict[str, Handler] = {}
_running = threading.local()  # the job this thread runs, for report_progress()


def lease_seconds() -> float:
    """How long a claimed job may run before another worker takes it over
    (longer than any job: solver time limits are tens of seconds)."""
    return float(settings.HOTLINE.get("JOB_LEASE_SECONDS", 900))


def handler(kind: str) -> Callable[[Handler], Handler]:
    def register(func: Handler) -> Handler:
        _handlers[kind] = func
        return func

    return register


def enqueue(*, kind: str, params: dict, actor=None) -> Job:
    if kind not in _handlers:
        raise ValueError(f"no job handler for {kind!r}")
    return Job.objects.create(kind=kind, params=params, created_by=actor, created_at=clock.now())


def claim_next(*, now: dt.datetime | None = None) -> Job | None:
    """Take the oldest job that is queued, or running on a lapsed lease."""
    now = now or clock.now()
    claimable = Q(status=JobStatus.QUEUED) | Q(status=JobStatus.RUNNING, lease_until__lt=now)
    # A plain read first: an idle worker polls every second, and on SQLite a
    # claiming transaction would take the write lock each time.
    if not Job.objects.filter(claimable).exists():
        return None
    with transaction.atomic():
        qs = Job.objects.filter(claimable).order_by("id")
        if connection.features.has_select_for_update_skip_locked:
            qs = qs.select_for_update(skip_locked=True)
        for job in qs[:5]:
            if job.attempts >= MAX_ATTEMPTS:
                job.status, job.finished_at, job.lease_until = JobStatus.FAILED, now, None
                job.error = _("The job was interrupted %(n)d times and was given up.") % {"n": job.attempts}
                job.save(update_fields=["status", "finished_at", "lease_until", "error"])
                continue
            job.status = JobStatus.RUNNING
            job.started_at = now
            job.lease_until = now + dt.timedelta(seconds=lease_seconds())
            job.attempts += 1
            job.save(update_fields=["status", "started_at", "lease_until", "attempts"])
            return job
    return None


def report_progress(fraction: float, message: str = "", **data: Any) -> bool:
    """From inside a handler: how far the job is (0..1), a sentence, and any
    JSON-able details the page may render itself. Renews the lease. Returns
    False outside a job (a handler called directly) or when the job is no
    longer this worker's."""
    job = getattr(_running, "job", None)
    if job is None:
        return False
    now = clock.now()
    progress = {"progress": min(max(float(fraction), 0.0), 1.0), "message": str(message), **data}
    return bool(Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING, attempts=job.attempts).update(
        result=progress, lease_until=now + dt.timedelta(seconds=lease_seconds())))


def run(job: Job) -> Job:
    """Run a claimed job and record how it ended."""
    func = _handlers.get(job.kind)
    _running.job = job
    try:
        if func is None:
            raise LookupError(_("Unknown job kind %(kind)s.") % {"kind": job.kind})
        result = func(job.params, job.created_by)
        job.status, job.result, job.error = JobStatus.DONE, result or {}, ""
    except Exception as exc:  # the page shows why; the log keeps the trace
        log.warning("job %s (%s) failed", job.pk, job.kind, exc_info=not isinstance(exc, (LookupError, ValueError)))
        job.status, job.error = JobStatus.FAILED, str(exc) or type(exc).__name__
        job.result = {}  # no progress left standing on a failed job
    finally:
        _running.job = None
    job.finished_at = clock.now()
    job.lease_until = None
    Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(
        status=job.status, result=job.result, error=job.error, finished_at=job.finished_at, lease_until=None)
    return job


def run_next() -> Job | None:
    job = claim_next()
    return run(job) if job is not None else None


def run_until_idle(max_jobs: int = 1000) -> int:
    done = 0
    while done < max_jobs and run_next() is not None:
        done += 1
    return done


class JobThread(threading.Thread):
    """The job loop of one ``hotline worker``; stops between jobs."""

    def __init__(self, idle_seconds: float = 1.0):
        super().__init__(name="hotline-jobs", daemon=True)
        self.idle_seconds = idle_seconds
        self.stopping = threading.Event()

    def run(self) -> None:
        from django.utils import translation

        # Messages a job stores are shown to Chinese-speaking planners.
        translation.activate(settings.LANGUAGE_CODE)
        try:
            while not self.stopping.is_set():
                close_old_connections()
                try:
                    job = run_next()
                except Exception:  # the database may be briefly away
                    log.exception("job round failed")
                    job = None
                if job is None:
                    self.stopping.wait(self.idle_seconds)
        finally:
            connection.close()
