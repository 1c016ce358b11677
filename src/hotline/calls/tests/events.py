"""Normalised events for tests, written as a switch would send them."""

from __future__ import annotations

import datetime as dt
import itertools

from hotline.calls.services import EventIn
from hotline.calls.tests.conftest import T0

_ids = itertools.count(1)


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def ev(kind: str, t: float, *, call: str = "", agent: str = "", queue: str = "95598", eid: str | None = None,
       **data) -> EventIn:
    return EventIn(source_event_id=eid or f"e{next(_ids)}", type=kind, occurred_at=at(t), call_id=call,
                   agent=agent, queue=queue, payload={k: v for k, v in data.items() if v is not None})


def call(cid: str, start: float, *, queue: str = "95598", caller: str = "13800001111", answer: float | None = None,
         agent: str = "1001", ring: float | None = None, rang_first: tuple[str, float] | None = None,
         hold: tuple[float, float] | None = None, talk: float | None = None, wrap: float | None = None,
         hung_up_by: str = "customer", abandon: float | None = None, reason: str = "hangup",
         survey: int | None = None, recording: str | None = None) -> list[EventIn]:
    """The events of one queue entry: offered at ``start``; answered
    ``answer`` s later by ``agent`` after ``ring`` s of ringing (rang
    unanswered first by ``rang_first`` = (agent, seconds)), on hold
    ``hold`` = (from, to) s after the answer, ended ``talk`` s after the
    answer (plus hold), ``wrap`` s of after-call work; or abandoned
    ``abandon`` s after the start."""
    out = [ev("call.offered", start, call=cid, queue=queue, caller_number=caller)]
    if rang_first:
        other, seconds = rang_first
        out.append(ev("call.ringing", start + 0.5, call=cid, queue=queue, agent=other))
        out.append(ev("call.ring_no_answer", start + 0.5 + seconds, call=cid, queue=queue, agent=other))
    if abandon is not None:
        out.append(ev("call.abandoned", start + abandon, call=cid, queue=queue, reason=reason))
        return out
    if answer is None:
        return out
    t = start + answer
    if ring is not None:
        out.append(ev("call.ringing", t - ring, call=cid, queue=queue, agent=agent))
    out.append(ev("call.answered", t, call=cid, queue=queue, agent=agent))
    end = t
    if hold:
        out.append(ev("call.held", t + hold[0], call=cid, queue=queue, agent=agent))
        out.append(ev("call.resumed", t + hold[1], call=cid, queue=queue, agent=agent))
        end += hold[1] - hold[0]
    if talk is not None:
        end += talk
        out.append(ev("call.ended", end, call=cid, queue=queue, agent=agent, hung_up_by=hung_up_by))
        if wrap is not None:
            out.append(ev("agent.wrapup_started", end, call=cid, queue=queue, agent=agent))
            out.append(ev("agent.wrapup_ended", end + wrap, call=cid, queue=queue, agent=agent))
    if survey is not None:
        out.append(ev("survey.answered", end + 30, call=cid, queue="", answer=survey))
    if recording:
        out.append(ev("recording.available", end + 60, call=cid, queue="", uri=recording))
    return out
