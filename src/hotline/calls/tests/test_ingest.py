"""The one ingest path (C1d, C1h, C1i, C5g, C5h): idempotent by (source,
event id), the same calls whatever the order and however often events
arrive, and nothing dropped: what cannot be placed is kept, shown and
tried again."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.db import IntegrityError, transaction

from hotline.calls import kpis, services
from hotline.calls.adapters import asterisk_queue_log as ql
from hotline.calls.models import (
    AgentIdentity,
    AgentState,
    AgentStateEvent,
    Call,
    CallEvent,
    CallRing,
    Placement,
    Reason,
)
from hotline.calls.tests.conftest import FIXTURES, T0
from hotline.calls.tests.events import at, call, ev
from hotline.contacts.models import Contact
from hotline.core import clock, periodic
from hotline.core.tasks import run_periodic_tasks

pytestmark = pytest.mark.django_db


@pytest.mark.rule("C5h", "C1d")
def test_an_event_sent_twice_is_stored_and_applied_once(world, http_source):
    events = call("k1", 0, answer=10, ring=3, talk=60)
    first = services.ingest(http_source, events)
    assert (first.accepted, first.duplicate, first.unplaced) == (len(events), 0, 0)
    before = Call.objects.get(call_id="k1")
    again = services.ingest(http_source, [*events, events[0]])
    assert (again.accepted, again.duplicate, again.unplaced) == (0, len(events) + 1, 0)
    after = Call.objects.get(call_id="k1")
    assert after.updated_at == before.updated_at and after.talk_s == 60
    assert CallEvent.objects.count() == len(events)


@pytest.mark.rule("C5h")
def test_the_database_refuses_a_second_copy(http_source):
    services.ingest(http_source, [ev("call.offered", 0, call="x", eid="same")])
    row = CallEvent.objects.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        CallEvent.objects.create(source=http_source, source_event_id="same", type="call.offered",
                                 occurred_at=row.occurred_at, received_at=row.received_at)


@pytest.mark.rule("C1h", "C5g", "C1i")
def test_an_end_before_its_queue_entry_waits_then_counts(world, http_source):
    offered, ringing, answered, ended = call("late", 0, answer=8, ring=2, talk=100)
    early = services.ingest(http_source, [ended])
    assert (early.accepted, early.unplaced) == (1, 1)
    assert early.unplaced_events == [(ended.source_event_id, "no_call")]
    row = CallEvent.objects.get()
    assert (row.state, row.reason, row.call_record) == ("unplaced", "no_call", None)
    assert row.retry_at is not None
    assert not Call.objects.exists()
    services.ingest(http_source, [answered, ringing])
    services.ingest(http_source, [offered])
    c = Call.objects.get()
    assert (c.status, c.wait_s, c.ring_s, c.talk_s, c.agent) == ("ended", 8, 2, 100, world.agent)
    assert not CallEvent.objects.filter(state=Placement.UNPLACED).exists()
    assert set(CallEvent.objects.values_list("call_record", flat=True)) == {c.pk}
    assert CallEvent.objects.filter(retry_at__isnull=False).count() == 0


@pytest.mark.rule("C1i", "C5g")
def test_an_unknown_agent_waits_and_is_placed_when_known(world, http_source, frozen):
    events = [ev("agent.login", 0, agent="SIP/1077", queue="95598"),
              ev("agent.not_ready", 5, agent="SIP/1077", queue="95598", reason="培训"),
              *call("u1", 10, answer=5, agent="SIP/1077", ring=2, talk=30)]
    result = services.ingest(http_source, events)
    assert result.unplaced == 2  # the two agent events; the call's own events count in the call
    assert Call.objects.get().status == "ended" and Call.objects.get().agent is None
    waiting = CallEvent.objects.filter(reason=Reason.UNKNOWN_AGENT)
    assert waiting.count() == 5 and all(e.retry_at for e in waiting)
    assert run_periodic_tasks(only=["calls.retry"]) == {"calls.retry": None}  # not due yet: nothing changes
    assert waiting.count() == 5

    from hotline.organisation import services as org

    newcomer = org.create_user(username="t-newcomer", password="x-pw-123456", role="agent", unit=world.center,
                               agent_number="1077")
    frozen.advance(minutes=2)
    run_periodic_tasks(only=["calls.retry"])
    assert not CallEvent.objects.filter(reason=Reason.UNKNOWN_AGENT).exists()
    assert not CallEvent.objects.filter(state=Placement.UNPLACED).exists()
    assert Call.objects.get().agent == newcomer
    assert AgentIdentity.objects.get(agent_ref="SIP/1077").user == newcomer
    state = AgentState.objects.get(user=newcomer)
    assert (state.presence, state.presence_reason, state.state) == ("not_ready", "培训", "not_ready")
    assert AgentStateEvent.objects.filter(user=newcomer).count() == 2 + 3  # log-in, pause; ringing, talking, idle


@pytest.mark.rule("C1i")
def test_an_identity_set_by_hand_places_the_agents_events_at_once(world, http_source):
    services.ingest(http_source, [ev("agent.login", 0, agent="ops-7", queue="95598")])
    assert CallEvent.objects.get().state == Placement.UNPLACED
    services.set_agent_identity(source=http_source, agent_ref="ops-7", user=world.agent2)
    assert CallEvent.objects.get().state == Placement.PLACED
    assert AgentState.objects.get(user=world.agent2).state == "ready"


def test_the_retry_task_is_registered():
    task = periodic.get("calls.retry")
    assert task.concurrency == 1 and task.interval == 60


@pytest.mark.rule("C1i")
def test_unplaced_events_are_retried_with_backoff_never_dropped(http_source, frozen):
    services.ingest(http_source, [ev("call.ended", 0, call="ghost", hung_up_by="agent")])
    row = CallEvent.objects.get()
    first_retry = row.retry_at
    for _ in range(12):
        frozen.set(CallEvent.objects.get().retry_at + dt.timedelta(seconds=1))
        run_periodic_tasks(only=["calls.retry"])
    row = CallEvent.objects.get()
    assert row.state == Placement.UNPLACED and row.reason == Reason.NO_CALL
    assert row.attempts == 13
    assert row.retry_at - clock.now() <= dt.timedelta(hours=6) and row.retry_at > first_retry


# --- the same events in any order, any number of times ------------------------------------

def _http_day() -> list:
    """Calls of a source that reports hold, after-call work, surveys and
    recordings, with a caller passing through two queues."""
    out = []
    out += [ev("agent.login", -60, agent="1001", queue="95598"), ev("agent.login", -60, agent="1002", queue="95598"),
            ev("agent.login", -59, agent="1002", queue="repair")]
    out += call("h1", 0, answer=6, ring=4, hold=(20, 50), talk=90, wrap=25, survey=1, recording="rec://h1")
    out += call("h2", 5, answer=30, agent="1002", ring=12, rang_first=("1001", 9), talk=200, wrap=40, survey=3)
    out += call("h3", 10, abandon=4)
    out += call("h4", 12, abandon=45, reason="timeout")
    out += call("h5", 40, queue="95598", abandon=7, reason="key")
    out += call("h5", 48, queue="repair", answer=3, agent="1001", ring=1, talk=50, wrap=10)
    out += call("h6", 60, answer=2)  # still talking
    out += [ev("agent.not_ready", 400, agent="1002", queue="", reason="会议"),
            ev("agent.logout", 900, agent="1001", queue="95598")]
    return out


def _queue_log_day() -> list:
    return list(ql.parse_lines(FIXTURES.joinpath("queue_log_day.txt").read_text().splitlines()))


def snapshot() -> dict:
    """Everything ingest derives, without database keys or write times."""
    contacts = dict(Contact.objects.values_list("pk", "source_id"))
    calls = sorted(
        (c.call_id, c.entry, tuple(getattr(c, f) for f in services._CALL_FIELDS if f not in ("contact_id",)),
         contacts.get(c.contact_id))
        for c in Call.objects.all())
    rings = sorted(CallRing.objects.values_list("call__call_id", "call__entry", "seq", "agent_ref", "agent_id", "at",
                                                "ring_s", "outcome"))
    events = sorted(CallEvent.objects.values_list("source__name", "source_event_id", "state", "reason",
                                                  "call_record__call_id", "call_record__entry", "retry_at"))
    states = sorted(AgentState.objects.values_list("user_id", "state", "reason", "since", "presence",
                                                   "presence_reason", "activity", "activity_call__call_id"))
    history = sorted(AgentStateEvent.objects.values_list("user_id", "at", "dimension", "state", "reason", "queue",
                                                         "call__call_id", "event__source_event_id"))
    contact_rows = sorted(Contact.objects.values_list("source", "source_id", "caller_number", "queue", "agent_id",
                                                      "started_at", "ended_at", "recording_ref"))
    period = kpis.Period(T0 - dt.timedelta(days=1), T0 + dt.timedelta(days=1))
    report = kpis.report(period, settings=kpis.Settings()).as_dict()
    per_agent = [kpis.report(period, agent=a, settings=kpis.Settings()).as_dict()
                 for a in sorted({c.agent for c in Call.objects.exclude(agent=None)}, key=lambda u: u.pk)]
    return {"calls": calls, "rings": rings, "events": events, "states": states, "history": history,
            "contacts": contact_rows, "kpis": report, "per_agent": per_agent}


def _replay(source, events, *, seed: int | None) -> None:
    events = list(events)
    if seed is not None:
        rng = random.Random(seed)
        events += rng.sample(events, len(events) // 3)  # a third sent twice
        rng.shuffle(events)
        while events:
            n = rng.randint(1, 12)
            services.ingest(source, events[:n])
            events = events[n:]
    else:
        services.ingest(source, sorted(events, key=lambda e: e.occurred_at))


@pytest.mark.rule("C1h", "C5h")
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_shuffled_and_duplicated_stream_gives_the_same_calls_and_kpis(world, queue_log_source, http_source,
                                                                          frozen, seed):
    http_day, queue_log_day = _http_day(), _queue_log_day()
    with transaction.atomic():
        _replay(http_source, http_day, seed=None)
        _replay(queue_log_source, queue_log_day, seed=None)
        in_order = snapshot()
        transaction.set_rollback(True)
    assert not Call.objects.exists()
    _replay(http_source, http_day, seed=seed)
    _replay(queue_log_source, queue_log_day, seed=seed + 100)
    shuffled = snapshot()
    assert in_order["calls"] and in_order["history"]
    for part in in_order:
        assert shuffled[part] == in_order[part], part
    # and the figures are the ones of the two days
    assert in_order["kpis"]["offered"] == 12 + 6 and in_order["kpis"]["in_progress"] == 2 + 1


@pytest.mark.rule("C1h")
def test_the_http_day_is_derived_as_sent(world, http_source):
    _replay(http_source, _http_day(), seed=None)
    h1 = Call.objects.get(call_id="h1")
    assert (h1.wait_s, h1.ring_s, h1.hold_s, h1.holds, h1.talk_s, h1.wrapup_s) == (6, 4, 30, 1, 90, 25)
    assert (h1.survey_answer, h1.recording_ref, h1.hung_up_by) == (1, "rec://h1", "customer")
    assert h1.contact.recording_ref == "rec://h1"
    h2 = Call.objects.get(call_id="h2")
    assert (h2.agent, h2.ring_no_answer, h2.ring_s) == (world.agent2, 1, 12)
    assert list(h2.rings.values_list("agent", "outcome", "ring_s")) == [
        (world.agent.pk, "no_answer", 9.0), (world.agent2.pk, "answered", 12.0)]
    h5 = list(Call.objects.filter(call_id="h5").order_by("entry").values_list("queue", "status", "wait_s"))
    assert h5 == [("95598", "abandoned", 7.0), ("repair", "ended", 3.0)]
    assert Call.objects.get(call_id="h6").status == "talking"
    one, two = AgentState.objects.get(user=world.agent), AgentState.objects.get(user=world.agent2)
    assert one.state == "logged_out"
    assert (two.state, two.reason) == ("not_ready", "会议")
    assert Call.objects.filter(offered_at__lt=at(0)).count() == 0


@pytest.mark.postgres
def test_the_agents_history_refuses_update_and_delete_on_postgresql(world, http_source):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("database triggers are installed on PostgreSQL only")
    services.ingest(http_source, [ev("agent.login", 0, agent="1001", queue="95598")])
    pk = AgentStateEvent.objects.get().pk
    for sql in ("UPDATE calls_agentstateevent SET at = at WHERE id = %s",
                "DELETE FROM calls_agentstateevent WHERE id = %s"):
        with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(sql, [pk])
