"""A realistic day for the wallboard's browser test and screenshots: a
county center's two queues from midnight to ``now`` (a 95598 day's
profile, peaks mid-morning and mid-afternoon), about one call in sixteen
abandoned, 40 agents of whom 30 signed in now — ready, not ready, ringing,
talking, on hold, in after-call work — and calls waiting. Every event goes
through ``calls.services.ingest``; deterministic (a seeded generator)."""

from __future__ import annotations

import datetime as dt
import random

from django.utils import timezone

from hotline.calls import services
from hotline.calls.services import EventIn
from hotline.organisation import services as org
from hotline.organisation.models import Role
from hotline.testing import PASSWORD

# Calls per hour of the day (the center's), 95598 and repair together.
PROFILE = [6, 4, 3, 2, 2, 3, 8, 30, 95, 130, 125, 105, 70, 75, 110, 120, 100, 80, 60, 45, 35, 25, 15, 10]
QUEUES = (("95598", 0.7), ("repair", 0.3))


class _Events:
    def __init__(self):
        self.items: list[EventIn] = []
        self.n = 0

    def add(self, kind: str, at: dt.datetime, *, call: str = "", agent: str = "", queue: str = "", **data) -> None:
        self.n += 1
        self.items.append(EventIn(source_event_id=f"day-{self.n}", type=kind, occurred_at=at, call_id=call,
                                  agent=agent, queue=queue, payload=data))


def agents(center, count: int = 40) -> list[str]:
    """Agent users 2001… of the center; their agent numbers."""
    numbers = [str(2001 + i) for i in range(count)]
    for number in numbers:
        org.create_user(username=f"wb-{number}", password=PASSWORD, role=Role.AGENT, unit=center,
                        agent_number=number, display_name=f"座席{number}")
    return numbers


def load(source, *, center, now: dt.datetime, seed: int = 7) -> dict:
    """Ingest the day up to ``now``; returns what is live at ``now``."""
    rng = random.Random(seed)
    numbers = agents(center)
    day = timezone.make_aware(dt.datetime.combine(timezone.localtime(now).date(), dt.time()))
    ev = _Events()
    on = numbers[:30]
    for number in numbers:
        ev.add("agent.login", day + dt.timedelta(hours=7, minutes=rng.random() * 50), agent=number, queue="95598")
        ev.add("agent.login", day + dt.timedelta(hours=7, minutes=55), agent=number, queue="repair")
    for number in numbers[30:]:
        ev.add("agent.logout", now - dt.timedelta(minutes=20 + rng.random() * 120), agent=number, queue="")
    # The calls that are over, from midnight to a minute ago.
    i = 0
    hour = 0
    while day + dt.timedelta(hours=hour) < now - dt.timedelta(minutes=3):
        start = day + dt.timedelta(hours=hour)
        for _ in range(PROFILE[hour]):
            offered = start + dt.timedelta(seconds=rng.random() * 3600)
            if offered > now - dt.timedelta(minutes=8):
                continue
            i += 1
            cid = f"day{i}"
            queue = "95598" if rng.random() < QUEUES[0][1] else "repair"
            ev.add("call.offered", offered, call=cid, queue=queue, caller_number=f"138{rng.randrange(10**8):08d}")
            busy = 9 <= hour <= 11 or 14 <= hour <= 16
            wait = rng.expovariate(1 / (16 if busy else 7))
            if rng.random() < (0.075 if busy else 0.03):
                ev.add("call.abandoned", offered + dt.timedelta(seconds=2 + wait * 1.5), call=cid, queue=queue,
                       reason="hangup")
                continue
            agent = rng.choice(on)
            answered = offered + dt.timedelta(seconds=wait + 2)
            ev.add("call.ringing", answered - dt.timedelta(seconds=2 + rng.random() * 4), call=cid, queue=queue,
                   agent=agent)
            ev.add("call.answered", answered, call=cid, queue=queue, agent=agent)
            ended = answered + dt.timedelta(seconds=max(30, rng.lognormvariate(5.0, 0.5)))
            ev.add("call.ended", ended, call=cid, queue=queue, agent=agent, hung_up_by="customer")
            ev.add("agent.wrapup_started", ended, call=cid, queue=queue, agent=agent)
            ev.add("agent.wrapup_ended", ended + dt.timedelta(seconds=10 + rng.random() * 30), call=cid, queue=queue,
                   agent=agent)
        hour += 1
    # Now: who is doing what (their latest events decide their state).
    at = now - dt.timedelta(seconds=40)
    states = ["talking"] * 14 + ["ready"] * 6 + ["not_ready"] * 4 + ["wrap_up"] * 3 + ["hold"] * 2 + ["ringing"]
    for n, (agent, state) in enumerate(zip(on, states, strict=True)):
        cid = f"now{n}"
        queue = "95598" if n % 3 else "repair"
        t = at + dt.timedelta(seconds=n)
        if state == "ready":
            ev.add("agent.ready", t, agent=agent)
            continue
        if state == "not_ready":
            ev.add("agent.not_ready", t, agent=agent, reason="break")
            continue
        ev.add("call.offered", t - dt.timedelta(seconds=150), call=cid, queue=queue, caller_number="13900000000")
        if state == "ringing":
            ev.add("call.ringing", t, call=cid, queue=queue, agent=agent)
            continue
        ev.add("call.answered", t - dt.timedelta(seconds=140), call=cid, queue=queue, agent=agent)
        if state == "hold":
            ev.add("call.held", t, call=cid, queue=queue, agent=agent)
        elif state == "wrap_up":
            ev.add("call.ended", t - dt.timedelta(seconds=5), call=cid, queue=queue, agent=agent)
            ev.add("agent.wrapup_started", t - dt.timedelta(seconds=5), call=cid, queue=queue, agent=agent)
    waiting = [70, 44, 31, 12, 5]
    for n, seconds in enumerate(waiting):
        ev.add("call.offered", now - dt.timedelta(seconds=seconds), call=f"wait{n}", queue="95598" if n % 2 == 0
               else "repair", caller_number="13700000000")
    services.ingest_many(source, ev.items)
    return {"waiting": len(waiting), "longest_wait_s": max(waiting)}
