import logging
import signal
import time

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections

log = logging.getLogger("hotline.worker")


def _idle_sleep(interval: float, min_gap: float) -> float:
    """Sleep until the next clock falls due, at most ``interval`` and at
    least ``min_gap`` seconds: a notice is raised within ``min_gap`` of its
    instant, and a steady stream of due clocks is swept in batches rather
    than one transaction per clock."""
    from hotline.core import clock
    from hotline.timelimits.selectors import next_check_at

    try:
        upcoming = next_check_at()
    except Exception:  # the database may be briefly away; just wait
        return interval
    if upcoming is None:
        return interval
    return max(min_gap, min(interval, (upcoming - clock.now()).total_seconds()))


class Command(BaseCommand):
    help = ("Run background work: the time-limit sweep, and in a thread beside it the background jobs (schedule "
            "solves). Any number may run; they coordinate through the database.")

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="sweep until idle, then exit")
        parser.add_argument("--interval", type=float, default=settings.HOTLINE["WORKER_INTERVAL_SECONDS"])
        parser.add_argument("--batch", type=int, default=settings.HOTLINE["WORKER_BATCH"])
        parser.add_argument("--min-gap", type=float, default=settings.HOTLINE["WORKER_MIN_GAP_SECONDS"],
                            help="least seconds between sweeps that found less than a full batch")
        parser.add_argument("--max-seconds", type=float, default=0, help="stop after this long (0: run forever)")
        parser.add_argument("--no-jobs", action="store_true", help="sweep only; leave background jobs to other workers")

    def handle(self, *args, once, interval, batch, min_gap, max_seconds, no_jobs, **options):
        from hotline.core.tasks import run_periodic_tasks

        stopping = False

        def stop(signum, frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        started = time.monotonic()
        self.stdout.write(f"hotline worker: sweeping every {interval}s" + ("" if no_jobs else ", running background jobs"))
        job_thread = None
        if not no_jobs and not once:
            from hotline.core.jobs import JobThread

            job_thread = JobThread()
            job_thread.start()
        while not stopping:
            close_old_connections()
            try:
                handled = run_periodic_tasks(batch=batch)
            except Exception:  # keep the worker alive; the next round retries
                log.exception("worker round failed")
                handled = 0
            if once and not handled:
                break
            if max_seconds and time.monotonic() - started > max_seconds:
                break
            if handled < batch and not once:
                time.sleep(_idle_sleep(interval, min_gap))
        if job_thread is not None:
            # A job in progress finishes; one cut off is taken again by a
            # worker when its lease runs out.
            job_thread.stopping.set()
            job_thread.join(timeout=60)
        elif once and not no_jobs:
            from hotline.core.jobs import run_until_idle

            run_until_idle()
