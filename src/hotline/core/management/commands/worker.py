import logging
import signal
import threading
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

log = logging.getLogger("hotline.worker")
JOBS = "jobs"  # the background-job thread, named like a task for --only


class Command(BaseCommand):
    help = ("Run background work: every registered periodic task (the time-limit sweep, outbox delivery, …), each in "
            "a thread of its own, and the background jobs (schedule solves). Any number may run; they coordinate "
            "through the database, and each periodic task runs once per tick.")

    def add_arguments(self, parser):
        parser.add_argument("--only", default="", metavar="NAME[,NAME]",
                            help=f"run only these periodic tasks (and the job thread if '{JOBS}' is named)")
        parser.add_argument("--once", action="store_true", help="run each task until it has no more work, then exit")
        parser.add_argument("--interval", type=float, default=settings.HOTLINE["WORKER_INTERVAL_SECONDS"],
                            help="the sweep's longest wait when idle")
        parser.add_argument("--batch", type=int, default=settings.HOTLINE["WORKER_BATCH"], help="clocks per sweep")
        parser.add_argument("--min-gap", type=float, default=settings.HOTLINE["WORKER_MIN_GAP_SECONDS"],
                            help="least seconds between sweeps that found less than a full batch")
        parser.add_argument("--max-seconds", type=float, default=0, help="stop after this long (0: run forever)")
        parser.add_argument("--no-jobs", action="store_true", help="leave background jobs to other workers")

    def handle(self, *args, only, once, interval, batch, min_gap, max_seconds, no_jobs, **options):
        from hotline.core import periodic

        chosen = [n.strip() for n in only.split(",") if n.strip()]
        known = {t.name for t in periodic.tasks()}
        unknown = [n for n in chosen if n not in known and n != JOBS]
        if unknown:
            raise CommandError(f"--only: no periodic task {', '.join(unknown)}; there are: "
                               f"{', '.join(sorted(known | {JOBS}))}")
        tasks = [t for t in periodic.tasks() if not chosen or t.name in chosen]
        run_jobs = not no_jobs and (not chosen or JOBS in chosen)
        task_options = {"interval": interval, "batch": batch, "min_gap": min_gap}

        stopping = threading.Event()
        signal.signal(signal.SIGTERM, lambda signum, frame: stopping.set())
        signal.signal(signal.SIGINT, lambda signum, frame: stopping.set())
        names = ", ".join(t.name for t in tasks) or "no periodic task"
        self.stdout.write(f"hotline worker: {names}" + (", background jobs" if run_jobs else ""))
        self.stdout.flush()
        if once:
            self._once(tasks, task_options, stopping, run_jobs)
            return
        runners = [periodic.TaskRunner(t, options=task_options, stopping=stopping) for t in tasks]
        job_thread = None
        if run_jobs:
            from hotline.core.jobs import JobThread

            job_thread = JobThread()
            job_thread.start()
        for r in runners:
            r.start()
        started = time.monotonic()
        while not stopping.is_set():
            if max_seconds and time.monotonic() - started > max_seconds:
                break
            stopping.wait(0.2)
        stopping.set()
        # A run in progress finishes (a delivery round hands back what it has
        # not sent); one cut off is taken again when its lease lapses.
        for r in runners:
            r.join(timeout=60)
        if job_thread is not None:
            job_thread.stopping.set()
            job_thread.join(timeout=60)

    def _once(self, tasks, task_options, stopping, run_jobs):
        from hotline.core import periodic

        owner = periodic.owner_name()
        for task in tasks:
            # Until the task says it has nothing more waiting (or another
            # worker holds its every slot).
            for _ in range(100_000):
                if stopping.is_set():
                    return
                ran, delay = periodic.run_once(task, owner=owner, options=task_options, stopping=stopping, force=True)
                if not ran or delay != 0:
                    break
        if run_jobs:
            from hotline.core.jobs import run_until_idle

            run_until_idle()
