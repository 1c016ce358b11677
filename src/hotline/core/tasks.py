"""What a worker does each round. Each task is safe to run in many
processes at once."""

from __future__ import annotations

import logging

log = logging.getLogger("hotline.worker")


def run_periodic_tasks(*, batch: int = 500) -> int:
    """Run one round; the number of clocks handled (a full batch means more
    are waiting, so the worker loops at once)."""
    from hotline.timelimits.services import sweep_once

    result = sweep_once(batch=batch)
    if result.clocks:
        log.info("sweep: %d clocks, %d warnings, %d notices", result.clocks, result.warnings, result.notices)
    return result.clocks
