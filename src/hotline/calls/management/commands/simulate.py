"""``hotline simulate``: simulated calls of this center through the ingest path (C1g, W4b).

    hotline simulate [--from WHEN] [--days N | --hours H] [--seed N] [--calls-per-day N]
                     [--storm WHEN [--storm-hours H] [--storm-factor F] [--storm-queue Q] [--bursts N]]
    hotline simulate --live [--from WHEN] [--days N | --hours H] …

History (the default): the calls offered from ``--from`` (a date or a
time; without an offset, the center's) for ``--days`` days (default 1) —
without ``--from``, the last ``--days`` up to now — every event sent as
fast as possible in time-ordered batches; calls not over by now are left
out. ``--live``: from now (or ``--from``), each event when its time comes;
those already due go at once. The agents are the users with the agent
role, on the published schedule of each day if planning has one, else on a
default roster. The same seed and period give the same events (sent again,
they are duplicates); the command refuses a period that another run has
filled, unless ``--force``.
"""

from __future__ import annotations

import datetime as dt
import signal
import sys
import threading
import time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from hotline.calls import kpis, simulator, simulator_feed
from hotline.core import clock

DEFAULT_SEED = 95598


def parse_when(text: str) -> dt.datetime:
    text = text.strip()
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        try:
            value = dt.datetime.combine(dt.date.fromisoformat(text), dt.time())
        except ValueError:
            raise CommandError(f"{text!r} is not an ISO date or time") from None
    return timezone.make_aware(value) if timezone.is_naive(value) else value


class Bar:
    """A plain-terminal progress bar: redrawn in place on a terminal, a
    line every tenth otherwise."""

    def __init__(self, out, *, label: str, width: int = 30, enabled: bool = True):
        self.out, self.label, self.width, self.enabled = out, label, width, enabled
        self.tty = enabled and hasattr(out, "isatty") and out.isatty()
        self.shown_tenth = -1
        self.started = time.monotonic()

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        share = done / total if total else 1.0
        filled = round(share * self.width)
        rate = done / max(1e-6, time.monotonic() - self.started)
        line = (f"{self.label} [{'#' * filled}{'.' * (self.width - filled)}] {share:4.0%} "
                f"{done:,}/{total:,} events ({rate:,.0f}/s)")
        if self.tty:
            self.out.write("\r" + line, ending="")
            self.out.flush()
            if done >= total:
                self.out.write("")
        elif int(share * 10) > self.shown_tenth:
            self.shown_tenth = int(share * 10)
            self.out.write(line)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f} %"


def _secs(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} s"


class Command(BaseCommand):
    help = ("Simulate the center's calls (Poisson arrivals on a 95598 daily shape, storms, agents on the published "
            "schedule) and send them through the ingest path: history as fast as possible, or --live at wall-clock "
            "speed.")

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="start", help="first offer time: ISO date or time (default: --days ago; "
                                                         "--live: now)")
        span = parser.add_mutually_exclusive_group()
        span.add_argument("--days", type=float, help="days to simulate (default 1)")
        span.add_argument("--hours", type=float, help="hours to simulate")
        parser.add_argument("--live", action="store_true", help="send each event when its time comes")
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (same seed, same calls)")
        parser.add_argument("--calls-per-day", type=float, default=simulator_feed.DEFAULT_CALLS_PER_DAY,
                            help=f"calls on a weekday, all queues (default {simulator_feed.DEFAULT_CALLS_PER_DAY})")
        parser.add_argument("--storm", help="a storm from this ISO time: more calls for --storm-hours")
        parser.add_argument("--storm-hours", type=float, default=3.0)
        parser.add_argument("--storm-factor", type=float, default=3.5, help="× the usual calls (default 3.5)")
        parser.add_argument("--storm-queue", action="append", help="queue the storm hits (default repair; repeat)")
        parser.add_argument("--bursts", type=int, default=3, help="five-minute bursts of 12× in the storm (default 3)")
        parser.add_argument("--source", default=simulator_feed.SOURCE_NAME, help="the event source (created if new)")
        parser.add_argument("--batch", type=int, default=simulator_feed.BATCH,
                            help=f"events per ingest batch (default {simulator_feed.BATCH})")
        parser.add_argument("--force", action="store_true", help="add to a period another run has filled")
        parser.add_argument("--quiet", action="store_true", help="no progress bar")

    def handle(self, *args, **o):
        now = clock.now()
        if (o["days"] is not None and o["days"] <= 0) or (o["hours"] is not None and o["hours"] <= 0):
            raise CommandError("--days and --hours must be positive")
        length = dt.timedelta(hours=o["hours"]) if o["hours"] else dt.timedelta(days=o["days"] or 1)
        if o["live"]:
            start = parse_when(o["start"]) if o["start"] else now
            end = start + length
            if end <= now:
                raise CommandError("that period is over: simulate it as history (without --live)")
        else:
            # Without --from, from a whole minute: run again within it, the
            # same events (duplicates).
            start = parse_when(o["start"]) if o["start"] else (now - length).replace(second=0, microsecond=0)
            if start >= now:
                raise CommandError("history lies before now: give an earlier --from, or --live")
            end = min(start + length, now)
        if o["batch"] < 1 or o["calls_per_day"] <= 0:
            raise CommandError("--batch and --calls-per-day must be positive")
        storms = ()
        if o["storm"]:
            if o["storm_hours"] <= 0 or o["storm_factor"] <= 0 or o["bursts"] < 0:
                raise CommandError("--storm-hours and --storm-factor must be positive, --bursts at least 0")
            storms = (simulator.Storm(parse_when(o["storm"]), hours=o["storm_hours"], factor=o["storm_factor"],
                                      queues=tuple(o["storm_queue"] or ["repair"]), bursts=o["bursts"]),)
        started = time.monotonic()
        try:
            plan = simulator_feed.plan(start=start, end=end, seed=o["seed"], calls_per_day=o["calls_per_day"],
                                       storms=storms, horizon=None if o["live"] else now, source_name=o["source"])
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if not o["force"] and (n := simulator_feed.foreign_calls(plan)):
            raise CommandError(f"{n} calls of source {plan.source.name!r} in that period come from another run "
                               f"(another seed or start); --force adds these all the same")
        sim = plan.simulation
        tz = timezone.get_current_timezone()
        roster = (f"published schedule on {len(plan.published_days)} of the days, default roster otherwise"
                  if plan.published_days else "default roster (no published schedule)")
        self.stdout.write(f"simulating {timezone.localtime(start):%Y-%m-%d %H:%M} → {timezone.localtime(end):%Y-%m-%d %H:%M}"
                          f" ({tz}), seed {o['seed']}, {len(plan.users)} agents, {roster}; "
                          f"{len(sim.calls):,} calls, {len(sim.events):,} events")
        if o["live"]:
            result = self._live(plan, quiet=o["quiet"], batch=o["batch"])
        else:
            bar = Bar(self.stdout, label="history", enabled=not o["quiet"])
            result = simulator_feed.feed(plan.source, sim.events, batch=o["batch"], progress=bar)
        seconds = time.monotonic() - started
        sent = f"events stored {result.accepted:,}, duplicate {result.duplicate:,}, unplaced {result.unplaced:,}"
        if o["live"]:
            self.stdout.write(f"{sent} in {seconds:.1f} s")
        else:
            truth = sim.truth()
            self.stdout.write(f"calls {truth.offered:,}: answered {truth.answered:,}, abandoned {truth.abandoned:,} "
                              f"(short {truth.short_abandoned:,}); {sent} in {seconds:.1f} s")
        report = kpis.report(kpis.Period(start, end), source=plan.source)
        self.stdout.write(f"KPIs: answer rate {_pct(report.answer_rate)}, service level {_pct(report.service_level)}"
                          f" (T = {report.T:g} s), abandon rate {_pct(report.abandon_rate)}, ASA {_secs(report.asa_s)},"
                          f" AHT {_secs(report.aht_s)}, satisfaction {_pct(report.satisfaction)}")

    def _live(self, plan: simulator_feed.Plan, *, quiet: bool, batch: int):
        stop = threading.Event()
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, lambda *_a: stop.set())
        events = plan.simulation.events
        tty = not quiet and sys.stdout.isatty()
        self.stdout.write("live: each event when its time comes (Ctrl+C to stop)")

        shown = [0.0]

        def progress(done: int, total: int) -> None:
            if quiet or not done or (not tty and time.monotonic() - shown[0] < 60 and done < total):
                return
            shown[0] = time.monotonic()
            last = events[done - 1]
            line = f"live {timezone.localtime(last.at):%m-%d %H:%M:%S}  {done:,}/{total:,} events  last {last.type}"
            if tty:
                self.stdout.write("\r" + line.ljust(78), ending="")
                self.stdout.flush()
            else:
                self.stdout.write(line)

        result = simulator_feed.feed_live(plan.source, events, wait=stop.wait, batch=batch, progress=progress)
        if tty:
            self.stdout.write("")
        if stop.is_set():
            self.stdout.write("stopped")
        return result
