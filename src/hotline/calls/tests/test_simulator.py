"""The traffic simulator (C1g, W4a, W4b): what it generates, alone and
through the ingest path, against its own ground truth."""

from __future__ import annotations

import datetime as dt
import io
import itertools
from collections import Counter, defaultdict
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command

from hotline.calls import kpis, simulator_feed
from hotline.calls import simulator as s
from hotline.core import clock

TZ = ZoneInfo("Asia/Shanghai")
WEDNESDAY = dt.date(2026, 11, 18)
DAY_START = dt.datetime.combine(WEDNESDAY, dt.time(), TZ)
DAY_END = DAY_START + dt.timedelta(days=1)
QUEUES = (s.QueueSpec("repair", 200, shape=s.REPAIR_SHAPE), s.QueueSpec("general", 150, priority=2))
REFS = [f"{1001 + i}" for i in range(12)]


def roster_center(*, queues=QUEUES, storms=(), refs=REFS, callers=()) -> s.Center:
    days = [WEDNESDAY - dt.timedelta(days=1), WEDNESDAY]
    roster = s.default_roster(refs, days, queues, TZ)
    return s.Center(queues, tuple(s.AgentSpec(r, tuple(roster[r])) for r in refs), TZ, storms=tuple(storms),
                    callers=callers)


def ample_center(agents: int = 8) -> s.Center:
    """Agents on the phones round the clock, no breaks."""
    shift = s.Shift(DAY_START - dt.timedelta(hours=1), DAY_END + dt.timedelta(hours=2))
    return s.Center(QUEUES, tuple(s.AgentSpec(f"9{i:03d}", (shift,)) for i in range(agents)), TZ)


def day(center: s.Center, seed: int = 1, **kw) -> s.Simulation:
    return s.simulate(center, start=DAY_START, end=DAY_END, seed=seed, **kw)


# --- generation ------------------------------------------------------------------------

@pytest.mark.rule("C1g", "W4a")
def test_the_same_seed_gives_the_same_events_and_another_seed_others():
    center = roster_center(callers=("057188880001", "13900001111"))
    one, two, other = day(center, 7), day(center, 7), day(center, 8)
    as_rows = lambda sim: [(e.id, e.type, e.at, e.call_id, e.agent, e.queue, e.data) for e in sim.events]
    assert as_rows(one) == as_rows(two) and len(one.events) > 1000
    assert as_rows(one) != as_rows(other)
    assert {e.id for e in one.events}.isdisjoint({e.id for e in other.events})  # another run, other calls
    assert one.truth() == two.truth()
    # A longer run from the same start repeats the shorter one, id for id.
    longer = s.simulate(center, start=DAY_START, end=DAY_END + dt.timedelta(hours=6), seed=7)
    first_half = {(e.id, e.at, e.type) for e in one.events if e.at < DAY_START + dt.timedelta(hours=12)}
    assert first_half <= {(e.id, e.at, e.type) for e in longer.events}


@pytest.mark.rule("W4a")
def test_the_daily_shape_has_more_calls_at_ten_than_at_three_and_fewer_at_weekends():
    queue = s.QueueSpec("general", 400)
    center = s.Center((queue,), (), TZ)
    hours = Counter()
    weekday_calls = weekend_calls = 0
    for n in range(14):  # two weeks from a Monday
        start = DAY_START + dt.timedelta(days=n - 2)
        calls = s.arrivals(center, queue, start, start + dt.timedelta(days=1), seed=3)
        hours.update(at.astimezone(TZ).hour for at in calls)
        if start.weekday() >= 5:
            weekend_calls += len(calls)
        else:
            weekday_calls += len(calls)
    assert hours[10] > 10 * hours[3] > 0
    assert hours[10] > hours[12] < hours[15] and hours[19] > hours[3]  # a lunch dip, the afternoon, the evening
    assert weekend_calls / 4 < 0.9 * weekday_calls / 10
    assert 0.85 < (weekday_calls / 10) / 400 < 1.15


@pytest.mark.rule("W4a")
def test_a_storm_multiplies_its_queues_calls_in_its_window_with_bursts():
    repair, general = s.QueueSpec("repair", 2000), s.QueueSpec("general", 2000)
    storm = s.Storm(DAY_START + dt.timedelta(hours=13), hours=5, factor=3.5, queues=("repair",), bursts=3)
    calm = s.Center((repair, general), (), TZ)
    stormy = s.Center((repair, general), (), TZ, storms=(storm,))

    def counts(center, queue, bursts):
        calls = s.arrivals(center, queue, DAY_START, DAY_END, seed=5)
        inside = [at for at in calls if storm.start <= at < storm.end]
        in_bursts = [at for at in inside if any(b <= at < b + dt.timedelta(minutes=5) for b in bursts)]
        return len(inside) - len(in_bursts), len(in_bursts), len(calls) - len(inside), calls

    bursts = storm.burst_starts(5)
    assert len(bursts) == 3 and all(storm.start <= b < storm.end for b in bursts)
    calm_in, calm_burst, calm_out, _ = counts(calm, repair, bursts)
    storm_in, storm_burst, storm_out, _ = counts(stormy, repair, bursts)
    assert 3.0 < storm_in / calm_in < 4.0
    assert storm_burst / calm_burst > 8  # 12× for five minutes
    assert 0.9 < storm_out / calm_out < 1.1
    # Another queue is not touched at all.
    assert counts(calm, general, bursts)[3] == counts(stormy, general, bursts)[3]


def assert_ties_in_derivation_order(evs) -> None:
    """Events of one call or agent at one instant: derivation orders them
    by type (``TYPE_RANK``), which must be the order they happened in, or a
    call would be read wrong, an agent's next ring put before its last
    call's end."""
    from hotline.calls.models import TYPE_RANK

    for a, b in itertools.pairwise(evs):
        assert a.at <= b.at
        if a.at == b.at:
            assert TYPE_RANK[a.type] < TYPE_RANK[b.type], (a, b)


@pytest.mark.rule("C1g", "W4b")
def test_every_call_and_every_agent_has_well_formed_events_in_order():
    from hotline.calls.models import EventType

    assert set(s.EVENT_TYPES) <= set(EventType.values)
    storm = s.Storm(DAY_START + dt.timedelta(hours=14), hours=3, factor=4)
    sim = day(roster_center(storms=(storm,)))
    events = sim.events
    assert {e.type for e in events} <= set(EventType.values)
    assert {s.RING_NO_ANSWER, s.RING_CANCELED, s.HELD, s.SURVEY, s.NOT_READY, s.LOGOUT} <= {e.type for e in events}
    assert [e.at for e in events] == sorted(e.at for e in events)
    assert len({e.id for e in events}) == len(events)
    by_call = defaultdict(list)
    for e in events:
        if e.call_id:
            by_call[e.call_id].append(e)
    assert set(by_call) == {c.call_id for c in sim.calls}
    answered_after_a_missed_ring = 0
    for c in sim.calls:
        evs = by_call[c.call_id]
        assert evs == c.events
        assert evs[0].type == s.OFFERED and evs[0].at == c.offered_at and evs[0].queue == c.queue
        assert all(e.queue == c.queue for e in evs)
        types = [e.type for e in evs]
        assert types.count(s.ANSWERED) + types.count(s.ABANDONED) == 1
        ringing = None
        state = "waiting"
        for e in evs[1:]:
            if e.type == s.RINGING:
                assert state == "waiting" and ringing is None
                ringing = e.agent
            elif e.type in (s.RING_NO_ANSWER, s.RING_CANCELED, s.ANSWERED):
                assert e.agent == ringing, (c.call_id, types)
                ringing = None
                if e.type == s.ANSWERED:
                    state = "talking"
                    assert e.agent == c.agent and e.at == c.answered_at
                    answered_after_a_missed_ring += s.RING_NO_ANSWER in types
            elif e.type == s.ABANDONED:
                assert state == "waiting" and ringing is None and e.at == c.abandoned_at
                assert e.data["reason"] in ("hangup", "timeout")
                state = "over"
            elif e.type in (s.HELD, s.RESUMED):
                assert state == "talking" and e.agent == c.agent
            elif e.type == s.ENDED:
                assert state == "talking" and e.data["hung_up_by"] in ("customer", "agent")
                state = "ended"
            elif e.type == s.WRAPUP_STARTED:
                assert state == "ended" and e.at == c.ended_at
            elif e.type == s.WRAPUP_ENDED:
                assert state == "ended" and e.at == c.wrap_end
            elif e.type == s.SURVEY:
                assert state == "ended" and e.data["answer"] in (1, 2, 3) and e.at > c.ended_at
            else:
                pytest.fail(f"unexpected {e.type}")
        assert state in ("over", "ended")
        assert types.count(s.HELD) == types.count(s.RESUMED) <= 1
        if s.HELD in types:
            assert types.index(s.ANSWERED) < types.index(s.HELD) < types.index(s.RESUMED) < types.index(s.ENDED)
        assert_ties_in_derivation_order(evs)
    assert answered_after_a_missed_ring > 0  # a ring not answered rang the next agent

    # Agents: logged in before anything, one call at a time, breaks end before the next call.
    by_agent = defaultdict(list)
    for e in events:
        if e.agent:
            by_agent[e.agent].append(e)
    breaks = Counter()
    for ref, evs in by_agent.items():
        state, call = "out", None
        for e in evs:
            if e.type == s.LOGIN:
                assert state == "out"
                state = "in"
            elif e.type == s.LOGOUT:
                assert state in ("in", "ready", "break") and call is None
                state = "out"
            elif e.type == s.READY:
                assert state in ("in", "break") and call is None
                state = "ready"
            elif e.type == s.NOT_READY:
                assert e.data["reason"] in (s.BREAK, s.MEAL) and state in ("in", "ready") and call is None
                state = "break"
                breaks[e.data["reason"]] += 1
            elif e.type == s.RINGING:
                assert state == "ready" and call is None, (ref, e)
                call = e.call_id
            elif e.type in (s.RING_NO_ANSWER, s.RING_CANCELED) or e.type == s.WRAPUP_ENDED:
                assert call == e.call_id
                call = None
            else:
                assert call == e.call_id, (ref, e)
        assert_ties_in_derivation_order(evs)
    # Every shift has its break: a meal in the day shifts' hour, a short one otherwise.
    assert sum(breaks.values()) >= len([r for r in REFS if by_agent.get(r)]) and breaks[s.BREAK] and breaks[s.MEAL]


@pytest.mark.rule("W4a", "W4b")
def test_the_kpis_are_plausible_enough_agents_answer_fast_and_a_storm_hurts():
    ample = day(ample_center()).truth()
    assert ample.service_level > 0.9 and ample.abandon_rate < 0.06 and ample.short_abandoned > 0
    storm = s.Storm(DAY_START + dt.timedelta(hours=14), hours=4, factor=4)
    calm = day(roster_center(), seed=2)
    stormy = day(roster_center(storms=(storm,)), seed=2)
    window = calm.truth(storm.start, storm.end), stormy.truth(storm.start, storm.end)
    assert window[1].offered > 2.5 * window[0].offered
    assert window[0].service_level > 0.8 > window[1].service_level
    assert window[1].abandon_rate > window[0].abandon_rate + 0.05
    assert 0.85 < calm.truth().answer_rate < 0.99
    assert 150 < calm.truth().handle_s / calm.truth().answered < 300  # AHT
    for sim in (calm, stormy):
        t = sim.truth()
        assert t.offered == t.answered + t.abandoned == len(sim.calls)
        assert 0.35 < t.surveys / t.answered < 0.55 and t.satisfied / t.surveys > 0.9


@pytest.mark.rule("W4a")
def test_a_horizon_leaves_out_the_calls_not_over_and_the_events_after_it():
    center = ample_center(3)
    whole = day(center)
    horizon = DAY_START + dt.timedelta(hours=10, minutes=7)
    cut = day(center, horizon=horizon)
    assert max(e.at for e in cut.events) <= horizon and cut.dropped > 0
    assert all(c.over_at <= horizon for c in cut.calls)
    kept = {c.call_id for c in cut.calls}
    assert kept < {c.call_id for c in whole.calls}
    assert {e.id for e in cut.events} <= {e.id for e in whole.events}
    assert not any(e.call_id and e.call_id not in kept for e in cut.events)


# --- through the ingest path ---------------------------------------------------------------

FIELDS = ("offered", "answered", "abandoned", "short_abandoned", "answered_within_T", "in_progress",
          "ring_no_answer", "surveys", "satisfied")


def assert_figures_are_the_truth(fig: kpis.Figures, truth: s.Truth) -> None:
    assert {f: getattr(fig, f) for f in FIELDS} == {f: getattr(truth, f) for f in FIELDS}
    assert fig.wait_answered_s == pytest.approx(truth.wait_answered_s, abs=1e-6)
    assert fig.handle_s == pytest.approx(truth.handle_s, abs=1e-6)


@pytest.fixture
def agents(world):
    from hotline.organisation import services as org
    from hotline.organisation.models import Role

    extra = [org.create_user(username=f"sim-agent{n}", password="x-sim-pw-1", role=Role.AGENT,
                             unit=world.center, agent_number=f"{1002 + n}") for n in range(1, 5)]
    return [world.agent, world.agent2, *extra]


SETTINGS = kpis.Settings(T=20, S=5)


@pytest.mark.rule("C1g", "W4b")
def test_the_ingested_stream_gives_the_simulators_ground_truth(agents):
    from hotline.calls.models import (
        AgentIdentity,
        AgentState,
        AgentStateKind,
        CallEvent,
        IntervalStat,
    )

    storm = s.Storm(DAY_START + dt.timedelta(hours=14), hours=2, factor=3, bursts=1)
    now = DAY_END + dt.timedelta(minutes=30)
    plan = simulator_feed.plan(start=DAY_START, end=DAY_END, seed=11, calls_per_day=90, storms=[storm], horizon=now)
    sim = plan.simulation
    assert len(sim.calls) > 80 and sim.truth().abandoned > 0 and sim.truth().ring_no_answer > 0
    identities = dict(AgentIdentity.objects.filter(source=plan.source).values_list("agent_ref", "user_id"))
    assert identities == {u.agent_number: u.pk for u in agents}
    result = simulator_feed.feed(plan.source, sim.events, batch=300)  # calls straddle batches
    assert (result.accepted, result.duplicate, result.unplaced) == (len(sim.events), 0, 0)
    assert not CallEvent.objects.filter(state="unplaced").exists()

    whole = kpis.Period(DAY_START, DAY_END)
    assert_figures_are_the_truth(kpis.figures(whole, source=plan.source, settings=SETTINGS), sim.truth())
    for queue in ("repair", "general", "complaint"):
        assert_figures_are_the_truth(kpis.figures(whole, queue=queue, settings=SETTINGS), sim.truth(queue=queue))
    afternoon = kpis.Period(DAY_START + dt.timedelta(hours=13), DAY_START + dt.timedelta(hours=17))
    assert_figures_are_the_truth(kpis.figures(afternoon, settings=SETTINGS),
                                 sim.truth(afternoon.start, afternoon.end))
    # Per agent: the calls it answered.
    by_ref = Counter(c.agent for c in sim.calls if c.ended_at)
    for user in agents:
        assert kpis.figures(whole, agent=user, settings=SETTINGS).answered == by_ref[user.agent_number]
    # The interval statistics count the same calls.
    hourly = IntervalStat.objects.filter(minutes=60, agent_id=0, start__gte=DAY_START, start__lt=DAY_END)
    assert sum(r.offered for r in hourly) == sim.truth().offered
    assert sum(r.answered_within_t for r in hourly) == sim.truth().answered_within_T

    # The agents' states are their last events'.
    last = {}
    for e in sim.events:
        if e.agent:
            last[e.agent] = e
    expected = {s.LOGIN: AgentStateKind.READY, s.LOGOUT: AgentStateKind.LOGGED_OUT, s.READY: AgentStateKind.READY,
                s.WRAPUP_STARTED: AgentStateKind.WRAP_UP, s.WRAPUP_ENDED: AgentStateKind.READY,
                s.NOT_READY: AgentStateKind.NOT_READY, s.RING_NO_ANSWER: AgentStateKind.READY,
                s.RING_CANCELED: AgentStateKind.READY}
    working = [u for u in agents if u.agent_number in last]
    assert len(working) >= 4
    for user in agents:
        state = AgentState.objects.filter(user=user).first()
        if user not in working:
            assert state is None  # a day off
            continue
        assert state.state == expected[last[user.agent_number].type], (user, last[user.agent_number])

    # Sent again: nothing new, the same figures.
    again = simulator_feed.feed(plan.source, sim.events)
    assert (again.accepted, again.duplicate) == (0, len(sim.events))
    assert_figures_are_the_truth(kpis.figures(whole, settings=SETTINGS), sim.truth())


@pytest.mark.rule("W4a")
def test_agents_work_the_published_schedule_of_the_day(agents):
    from hotline.planning.models import (
        Schedule,
        ScheduleAssignment,
        ScheduleShift,
        ScheduleStatus,
        ShiftTemplate,
    )

    early = ShiftTemplate.objects.create(name="T0700", start_time=dt.time(7), length_minutes=9 * 60,
                                         breaks=[[240, 60]])
    late = ShiftTemplate.objects.create(name="T1330", start_time=dt.time(13, 30), length_minutes=8 * 60,
                                        breaks=[[240, 30]])
    monday = WEDNESDAY - dt.timedelta(days=WEDNESDAY.weekday())
    schedule = Schedule.objects.create(week_start=monday, status=ScheduleStatus.PUBLISHED,
                                       published_at=clock.now())
    day_index = WEDNESDAY.weekday()
    ScheduleShift.objects.create(schedule=schedule, template=early, day=day_index, count=2)
    ScheduleShift.objects.create(schedule=schedule, template=late, day=day_index, count=1)
    for user, tpl in ((agents[0], early), (agents[2], early), (agents[3], late)):
        ScheduleAssignment.objects.create(schedule=schedule, agent=user, day=day_index, template=tpl)
    start = DAY_START + dt.timedelta(hours=6)
    plan = simulator_feed.plan(start=start, end=DAY_END, seed=2, calls_per_day=60)
    assert plan.published_days == [WEDNESDAY - dt.timedelta(days=1), WEDNESDAY]  # Tuesday: nobody
    logins = defaultdict(list)
    for e in plan.simulation.events:
        if e.type in (s.LOGIN, s.LOGOUT, s.NOT_READY):
            logins[e.agent].append((e.type, e.at.astimezone(TZ).strftime("%H:%M")))
    assert set(logins) == {agents[0].agent_number, agents[2].agent_number, agents[3].agent_number}
    first = logins[agents[0].agent_number]
    assert first[0] == (s.LOGIN, "07:00") and first[1][0] == s.NOT_READY and first[1][1] >= "11:00"
    assert first[-1][0] == s.LOGOUT and first[-1][1] >= "16:00"
    assert logins[agents[3].agent_number][0] == (s.LOGIN, "13:30")
    answered_by = {c.agent for c in plan.simulation.calls if c.answered_at}
    assert answered_by <= set(logins)


@pytest.mark.rule("C1g")
def test_live_sends_each_event_when_its_time_comes(agents):
    from hotline.calls.models import CallEvent

    start = DAY_START + dt.timedelta(hours=10)
    with clock.frozen(start) as frozen:
        plan = simulator_feed.plan(start=start, end=start + dt.timedelta(hours=1), seed=4, calls_per_day=300)
        events = plan.simulation.events
        waits = []

        def wait(seconds: float) -> bool:
            waits.append(seconds)
            frozen.advance(seconds=max(seconds, 0.001))
            return frozen.current > start + dt.timedelta(minutes=40)  # then stopped

        result = simulator_feed.feed_live(plan.source, events, wait=wait)
    sent = list(CallEvent.objects.filter(source=plan.source))
    assert 0 < result.accepted == len(sent) < len(events)
    assert all(e.received_at >= e.occurred_at for e in sent)  # none before its time
    assert max(e.occurred_at for e in sent) <= start + dt.timedelta(minutes=41)
    assert max(waits) <= 1.0  # a stop is noticed within a second


@pytest.mark.rule("C1g")
def test_the_simulate_command_sends_history_once_and_refuses_another_runs_period(agents):
    def run(*args: str) -> str:
        out = io.StringIO()
        call_command("simulate", *args, "--quiet", stdout=out)
        return out.getvalue()

    with clock.frozen(DAY_END + dt.timedelta(hours=2)):
        first = run("--from", "2026-11-18T08:00", "--hours", "3", "--seed", "5", "--calls-per-day", "120")
        assert "events stored" in first and "duplicate 0," in first and "service level" in first
        again = run("--from", "2026-11-18T08:00", "--hours", "3", "--seed", "5", "--calls-per-day", "120")
        assert "events stored 0," in again
        with pytest.raises(CommandError, match="another run"):
            run("--from", "2026-11-18T08:00", "--hours", "3", "--seed", "6")
        assert "events stored" in run("--from", "2026-11-18T08:00", "--hours", "3", "--seed", "6", "--force")
        with pytest.raises(CommandError, match="before now"):
            run("--from", "2026-11-20")
    period = kpis.Period(DAY_START + dt.timedelta(hours=8), DAY_START + dt.timedelta(hours=11))
    assert kpis.figures(period, settings=SETTINGS).offered > 20


@pytest.mark.rule("C1g")
def test_hotline_simulate_is_a_command_of_the_hotline_cli(capsys):
    from hotline import cli

    with pytest.raises(SystemExit) as exit_:
        cli.main(["hotline", "simulate", "--help"])
    assert exit_.value.code == 0
    assert "--live" in capsys.readouterr().out


def test_default_queues_are_the_planning_queues():
    from hotline.planning.services import STANDARD_QUEUES

    assert {q.name for q in simulator_feed.default_queues()} == {code for code, _name in STANDARD_QUEUES}
    assert sum(q.calls_per_day for q in simulator_feed.default_queues(100)) == pytest.approx(100)
