"""The planner's solver runs, done by a worker (``hotline.core.jobs``)."""

from __future__ import annotations

import datetime as dt

from hotline.core.jobs import handler
from hotline.planning import services
from hotline.planning.models import Queue, Schedule

CREATE, RESOLVE, ASSIGN = "planning.create_schedule", "planning.resolve_schedule", "planning.assign_agents"


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
