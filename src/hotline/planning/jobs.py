"""The planner's solver runs and storm what-ifs, done by a worker (``hotline.core.jobs``)."""

from __future__ import annotations

import datetime as dt
import logging

from django.utils.translation import gettext

from hotline.core import jobs
from hotline.core.jobs import handler
from hotline.planning import services
from hotline.planning.models import Queue, Schedule

CREATE, RESOLVE, ASSIGN = "planning.create_schedule", "planning.resolve_schedule", "planning.assign_agents"
WHATIF = "planning.storm_what_if"

log = logging.getLogger("hotline.planning")


@handler(CREATE)
def create_schedule(params: dict, actor) -> dict:
    queue = Queue.objects.get(pk=params["queue"]) if params.get("queue") else None
    schedule = services.create_schedule(actor=actor, week_start=dt.date.fromisoformat(params["week_start"]), queue=queue,
                                        interval_minutes=int(params["interval_minutes"]))
    return {"schedule": schedule.pk, "solver_status": schedule.solver_status, "mip_gap": schedule.mip_gap or 0}


@handler(RESOLVE)
def resolve_schedule(params: dict, actor) -> dict:
    schedule = services.resolve_schedule(schedule=Schedule.objects.get(pk=params["schedule"]), actor=actor)
    return {"schedule": schedule.pk, "solver_status": schedule.solver_status, "mip_gap": schedule.mip_gap or 0}


@handler(ASSIGN)
def assign_agents(params: dict, actor) -> dict:
    n = services.assign_schedule_agents(schedule=Schedule.objects.get(pk=params["schedule"]), actor=actor)
    return {"schedule": params["schedule"], "assigned": n}


def _report(fraction: float, done: int, total: int, phase: str) -> None:
    if phase == "recheck":
        message = gettext("Re-checking the service level with fresh random numbers.")
    else:
        message = gettext("Standby agents established for %(done)d of %(total)d intervals.") % {
            "done": done, "total": total}
    jobs.report_progress(fraction, message, phase=phase, done=done, total=total)


@handler(WHATIF)
def storm_what_if(params: dict, actor) -> dict:
    """Params as the what-if form cleans them (ISO date, HH:MM); the result is
    ``StormAnswer.as_json()``. The time budget is read when the job starts."""
    queue = Queue.objects.filter(pk=params.get("queue")).first()
    if queue is None:
        raise services.PlanningError(gettext("The queue no longer exists."))
    try:
        answer = services.storm_what_if(
            queue=queue, day=dt.date.fromisoformat(params["day"]), start=dt.time.fromisoformat(params["start"]),
            hours=float(params["hours"]), factor=float(params["factor"]), target_pct=float(params["target"]),
            replications=int(params.get("replications", 40)), progress=_report)
    except services.PlanningError:
        raise
    except Exception as exc:  # the page shows a sentence in the planner's language; the log keeps the trace
        log.exception("storm what-if failed")
        raise services.PlanningError(gettext("The simulation stopped on an internal error (%(kind)s); the worker's "
                                              "log has the details.") % {"kind": type(exc).__name__}) from exc
    return answer.as_json()
