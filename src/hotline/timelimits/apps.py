from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def idle_sleep(interval: float, min_gap: float) -> float:
    """Seconds until the next clock falls due, at most ``interval`` and at
    least ``min_gap``: a notice is raised within ``min_gap`` of its instant,
    and a steady stream of due clocks is swept in batches rather than one
    transaction per clock."""
    from hotline.core import clock
    from hotline.timelimits.selectors import next_check_at

    try:
        upcoming = next_check_at()
    except Exception:  # the database may be briefly away; just wait
        return interval
    if upcoming is None:
        return interval
    return max(min_gap, min(interval, (upcoming - clock.now()).total_seconds()))


def sweep_task(ctx) -> float:
    """The ``sweep`` periodic task: one batch of due clocks; at
    once again while batches come back full, else at the next due clock
    (between the worker's ``min_gap`` and ``interval``)."""
    import logging

    from django.conf import settings

    from hotline.timelimits.services import sweep_once

    interval = ctx.options.get("interval", settings.HOTLINE["WORKER_INTERVAL_SECONDS"])
    min_gap = ctx.options.get("min_gap", settings.HOTLINE["WORKER_MIN_GAP_SECONDS"])
    batch = ctx.options.get("batch", settings.HOTLINE["WORKER_BATCH"])
    result = sweep_once(batch=batch)
    if result.clocks:
        logging.getLogger("hotline.worker").info(
            "sweep: %d clocks, %d warnings, %d notices", result.clocks, result.warnings, result.notices)
    if result.full:  # a full batch of orders: more are waiting
        return 0.0
    return idle_sleep(interval, min_gap)


class TimeLimitsConfig(AppConfig):
    name = "hotline.timelimits"
    label = "timelimits"
    verbose_name = _("Time limits and supervision")

    def ready(self):
        from django.conf import settings

        from hotline.core import periodic

        # Clocks are claimed with SKIP LOCKED, so several workers may sweep at
        # once (a catch-up after downtime is shared); each at its own pace.
        periodic.register("sweep", interval=settings.HOTLINE["WORKER_INTERVAL_SECONDS"], func=sweep_task,
                          concurrency=8, lease_seconds=120)
