"""Simulator: exact engine check, agreement with Erlang C/A, multi-skill routing, what-if."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hotline.workforce import queueing as q
from hotline.workforce import simulation as sim

needs_numba = pytest.mark.skipif(sim.numba_engine() is None, reason="numba not installed (numpy engine only)")


def reference_starts(
    arrival: list[float], service: list[float], patience: list[float], agents: list[int], dt: float
) -> list[float]:
    """Scalar FCFS reference: agent j works in interval k iff j < agents[k] (last value continues).

    Each caller in arrival order takes the earliest moment some agent is free
    and on shift (ties: the agent free longest, then the lowest index), or
    hangs up if that is after arrival + patience.
    """
    k_max = len(agents)
    free = [0.0] * max(agents)
    starts = []
    for a, s, p in zip(arrival, service, patience):
        best = (math.inf, math.inf, -1)
        for j in range(len(free)):
            t = max(a, free[j])
            while True:
                k = min(int(t // dt), k_max - 1)
                if j < agents[k]:
                    break
                if k == k_max - 1:
                    t = math.inf
                    break
                t = (k + 1) * dt
            best = min(best, (t, free[j], j))
        t, _, j = best
        if t - a <= p:
            free[j] = t + s
            starts.append(t)
        else:
            starts.append(math.nan)
    return starts


@pytest.mark.parametrize("engine", ["numpy", pytest.param("numba", marks=needs_numba)])
@pytest.mark.parametrize("seed", range(6))
def test_vectorised_engine_equals_scalar_reference(seed: int, engine: str) -> None:
    rng = np.random.default_rng(seed)
    k, dt = 8, 100.0
    agents = rng.integers(0, 5, size=(3, k))
    agents[:, -1] = np.maximum(agents[:, -1], 1)
    rate = np.full(k, rng.uniform(0.02, 0.06))
    arrival, which, counts = sim._arrivals(rng, rate, dt, 3)
    service = rng.exponential(60.0, arrival.shape)
    patience = rng.exponential(rng.uniform(20, 200), arrival.shape)
    got = sim.fcfs_start_times(arrival, which, service, patience, agents, dt, engine=engine)
    for r in range(3):
        n = counts[r]
        want = reference_starts(
            arrival[r, :n].tolist(), service[r, :n].tolist(), patience[r, :n].tolist(), agents[r].tolist(), dt
        )
        np.testing.assert_allclose(got[r, :n], want, rtol=0, atol=1e-9, equal_nan=True)
        assert np.all(np.isnan(got[r, n:]))


@needs_numba
def test_engines_agree_on_a_busy_day_with_shift_changes() -> None:
    """Hundreds of agents, understaffed intervals and staffing drops: both kernels, same starts."""
    rng = np.random.default_rng(7)
    k, dt = 24, 900.0
    agents = rng.integers(150, 260, size=(4, k))
    agents[:, 10:14] = rng.integers(60, 100, size=(4, 4))  # sharp drop: long queues cross boundaries
    rate = np.full(k, 0.8)
    arrival, which, _ = sim._arrivals(rng, rate, dt, 4)
    service = rng.exponential(280.0, arrival.shape)
    patience = rng.exponential(300.0, arrival.shape)
    a = sim.fcfs_start_times(arrival, which, service, patience, agents, dt, engine="numpy")
    b = sim.fcfs_start_times(arrival, which, service, patience, agents, dt, engine="numba")
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-9, equal_nan=True)
    assert np.isnan(a[np.isfinite(arrival)]).mean() > 0.01  # the drop really made callers abandon


@needs_numba
def test_compiled_arrival_fill_equals_numpy(monkeypatch: pytest.MonkeyPatch) -> None:
    rate = np.abs(np.sin(np.arange(40) / 5.0)) * 0.05
    rate[7] = 0.0  # an interval without calls
    got = sim._arrivals(np.random.default_rng(4), rate, 600.0, 6)
    monkeypatch.setattr(sim, "_numba_kernel", None)  # force the numpy path
    want = sim._arrivals(np.random.default_rng(4), rate, 600.0, 6)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)
    times, which, per_row = got
    for r in range(times.shape[0]):  # sorted within each row
        assert np.all(np.diff(times[r, : per_row[r]]) > 0)
    assert not np.any((which == 7) & np.isfinite(times))
    assert np.array_equal(np.isfinite(times).sum(axis=1), per_row)


@needs_numba
def test_engine_choice_does_not_change_results() -> None:
    model = sim.SingleSkillModel(900.0, np.full(8, 0.2), 300.0, [70, 70, 55, 55, 70, 70, 60, 60], patience=90.0)
    a = sim.simulate_single_skill(model, 8, seed=3, engine="numpy")
    b = sim.simulate_single_skill(model, 8, seed=3, engine="numba")
    np.testing.assert_array_equal(a.answered_within, b.answered_within)
    np.testing.assert_array_equal(a.abandoned, b.abandoned)
    np.testing.assert_allclose(a.answered_wait, b.answered_wait, rtol=1e-12)
    np.testing.assert_array_equal(a.offered, b.offered)
    np.testing.assert_array_equal(a.short_abandoned, b.short_abandoned)
    np.testing.assert_allclose(a.busy_seconds, b.busy_seconds, rtol=1e-9)
    np.testing.assert_array_equal(a.staffed_seconds, b.staffed_seconds)
    # and with a warm-up cut
    a = sim.simulate_single_skill(model, 4, seed=5, engine="numpy", warmup=1000.0)
    b = sim.simulate_single_skill(model, 4, seed=5, engine="numba", warmup=1000.0)
    np.testing.assert_array_equal(a.answered_within, b.answered_within)
    np.testing.assert_allclose(a.busy_seconds, b.busy_seconds, rtol=1e-9)
    with pytest.raises(ValueError):
        sim.simulate_single_skill(model, 2, engine="fortran")


def _steady(model: sim.SingleSkillModel, reps: int, seed: int) -> sim.SimulationResult:
    return sim.simulate_single_skill(model, reps, seed=seed, warmup=2 * 3600.0, confidence=0.99)


def test_simulation_agrees_with_erlang_c() -> None:
    lam, aht, n = 0.25, 300.0, 80  # 75 Erlangs
    model = sim.SingleSkillModel(900.0, np.full(40, lam), aht, n)
    res = _steady(model, 60, seed=3)
    exact = q.erlang_c_metrics(lam, aht, n, 20.0)
    assert res.service_level().contains(float(exact.service_level_offered))
    assert res.asa().contains(float(exact.asa))
    assert res.occupancy().contains(float(exact.occupancy))
    assert res.abandon_rate().mean == 0.0


def test_simulation_agrees_with_erlang_a_in_every_definition() -> None:
    lam, aht, n, patience = 0.3, 300.0, 88, 100.0  # 90 Erlangs on 88 agents: overloaded
    model = sim.SingleSkillModel(900.0, np.full(40, lam), aht, n, patience=patience)
    res = _steady(model, 60, seed=4)
    exact = q.erlang_a_metrics(lam, aht, n, patience, 20.0, 5.0)
    for definition in ("offered", "answered", "offered_minus_short_abandons"):
        assert res.service_level(definition).contains(float(exact.service_level(definition))), definition
    assert res.asa().contains(float(exact.asa))
    assert res.abandon_rate().contains(float(exact.abandon_rate))
    assert res.occupancy().contains(float(exact.occupancy))


def test_confidence_intervals_shrink_and_catch_a_wrong_value() -> None:
    lam, aht, n = 0.25, 300.0, 84
    model = sim.SingleSkillModel(900.0, np.full(24, lam), aht, n)
    res = _steady(model, 40, seed=5)
    sl = res.service_level()
    assert sl.contains(float(q.erlang_c_metrics(lam, aht, n, 20.0).service_level_offered))
    wrong = float(q.erlang_c_metrics(lam, aht, n - 3, 20.0).service_level_offered)
    assert not sl.contains(wrong)  # three agents fewer is clearly distinguishable
    assert sl.high - sl.low < 0.1


def test_multi_skill_single_queue_matches_erlang_a() -> None:
    lam, aht, n, patience = 0.1, 240.0, 25, 90.0
    model = sim.MultiSkillModel(
        900.0,
        [sim.QueueSpec("repair", np.full(32, lam), aht, patience)],
        [sim.AgentGroup("all", {"repair": 1}, n)],
    )
    res = sim.simulate_multi_skill(model, 16, seed=6, warmup=3600.0, confidence=0.99)
    exact = q.erlang_a_metrics(lam, aht, n, patience, 20.0, 5.0)
    qres = res.queues["repair"]
    assert qres.service_level().contains(float(exact.service_level_offered))
    assert qres.abandon_rate().contains(float(exact.abandon_rate))
    assert qres.asa().contains(float(exact.asa))
    assert res.group_occupancy("all").contains(float(exact.occupancy))


def test_pooled_generalists_behave_as_one_queue() -> None:
    # Two queues with the same AHT and patience, one group serving both at the
    # same priority, oldest call first: exactly M/M/N+M with the summed rate.
    a_rate, b_rate, aht, n, patience = 0.06, 0.04, 240.0, 26, 120.0
    model = sim.MultiSkillModel(
        900.0,
        [sim.QueueSpec("a", np.full(32, a_rate), aht, patience), sim.QueueSpec("b", np.full(32, b_rate), aht, patience)],
        [sim.AgentGroup("generalists", {"a": 1, "b": 1}, n)],
    )
    res = sim.simulate_multi_skill(model, 16, seed=7, warmup=3600.0, confidence=0.99)
    exact = q.erlang_a_metrics(a_rate + b_rate, aht, n, patience, 20.0, 5.0)
    for name in ("a", "b"):
        assert res.queues[name].service_level().contains(float(exact.service_level_offered)), name
        assert res.queues[name].abandon_rate().contains(float(exact.abandon_rate)), name


def test_priorities_favour_the_primary_skill() -> None:
    # One crew, two equally loaded queues: freed agents take repair calls first.
    model = sim.MultiSkillModel(
        900.0,
        [sim.QueueSpec("repair", np.full(16, 0.05), 240.0, 120.0), sim.QueueSpec("billing", np.full(16, 0.05), 240.0, 120.0)],
        [sim.AgentGroup("crew", {"repair": 1, "billing": 2}, 24)],
    )
    res = sim.simulate_multi_skill(model, 8, seed=8, warmup=1800.0)
    repair, billing = res.queues["repair"], res.queues["billing"]
    assert repair.service_level().low > billing.service_level().high
    assert repair.abandon_rate().high < billing.abandon_rate().low
    assert res.calls > 8 * 16 * 900 * 0.1 * 0.8


def test_specialists_are_preferred_for_arriving_calls() -> None:
    # Billing calls reach the billing team first; the repair team is only backup.
    model = sim.MultiSkillModel(
        900.0,
        [sim.QueueSpec("repair", np.full(16, 0.005), 240.0, 120.0), sim.QueueSpec("billing", np.full(16, 0.02), 240.0, 120.0)],
        [
            sim.AgentGroup("repair team", {"repair": 1, "billing": 2}, 10),
            sim.AgentGroup("billing team", {"billing": 1}, 3),
        ],
    )
    res = sim.simulate_multi_skill(model, 6, seed=10, warmup=1800.0)
    # 4.8 Erlangs of billing: the 3 specialists stay nearly always busy, the
    # repair team (1.2 Erlangs of its own) only takes the overflow.
    assert res.group_occupancy("billing team").low > 0.7  # random routing would give ~0.46
    assert res.group_occupancy("repair team").high < 0.5


def test_time_varying_staffing_and_occupancy_accounting() -> None:
    rate = np.array([0.05, 0.05, 0.2, 0.2, 0.05, 0.05])
    agents = np.array([5, 5, 18, 18, 5, 5])
    model = sim.SingleSkillModel(1800.0, rate, 200.0, agents, patience=60.0)
    res = sim.simulate_single_skill(model, 30, seed=9)
    assert res.offered.shape == (30, 6)
    # agents busy at most as long as they were on shift (plus calls finishing after shift end)
    assert np.all(res.busy_seconds.sum(axis=1) <= res.staffed_seconds.sum(axis=1) * 1.05)
    sl = res.service_level_by_interval()
    assert sl.shape == (6,) and np.all((sl >= 0) & (sl <= 1))
    # the mean over replications of counts matches the Poisson means
    np.testing.assert_allclose(res.offered.mean(axis=0), rate * 1800.0, rtol=0.15)


def test_storm_what_if_finds_extra_agents() -> None:
    dt = 900.0
    rate = np.full(24, 0.06)  # 6 hours of 15-minute intervals, 18 Erlangs
    aht, patience = 300.0, 120.0
    base = q.erlang_a_metrics(rate, aht, np.arange(1, 60)[:, None], patience, 20.0)
    base_agents = np.argmax(base.service_level_offered[:, 0] >= 0.8) + 1
    model = sim.SingleSkillModel(dt, rate, aht, np.full(24, base_agents), patience=patience)
    storm = sim.Surge(first_interval=8, last_interval=12, factor=3.0)
    answer = sim.storm_extra_agents(model, storm, 0.8, replications=30, seed=1)
    extra = answer.extra_agents
    assert np.all(extra[:8] == 0)
    assert np.all(extra[8:12] >= 20)  # tripled load needs far more than the base crew
    # Chosen on the 95 % lower confidence bound and re-checked on fresh
    # random numbers with 4x the replications: the target holds (to within
    # the re-check's own noise).
    assert np.all(answer.service_level[8:12] >= 0.78)
    assert answer.service_level[8:12].mean() >= 0.8
    assert np.all(answer.service_level_without[8:12] < 0.3)
    # The plain-mean criterion never asks for more agents than the bound.
    plain = sim.storm_extra_agents(model, storm, 0.8, replications=30, seed=1, confidence=0.5)
    assert np.all(plain.extra_agents <= extra) and plain.extra_agents[8:12].sum() >= 80


def test_storm_lower_bound_passes_rows_without_calls() -> None:
    samples = np.array([[0.9, 0.7, np.nan], [np.nan, np.nan, np.nan], [0.8, 0.8, 0.8]])
    bound = sim._lower_bound(samples, 0.95)
    assert bound[0] < 0.8 and bound[1] == np.inf and bound[2] == pytest.approx(0.8)


def _storm_model():
    rate = np.full(24, 0.06)
    return sim.SingleSkillModel(900.0, rate, 300.0, np.full(24, 21), patience=120.0), sim.Surge(8, 12, 3.0)


@pytest.mark.rule("W4e")
def test_storm_what_if_stops_at_its_deadline_with_what_it_proved() -> None:
    import time

    model, storm = _storm_model()
    full = sim.storm_extra_agents(model, storm, 0.8, replications=20, seed=3)
    assert full.complete and full.decided[8:14].all() and not full.decided[:8].any() and full.searched == (8, 14)
    # A deadline already past: nothing is simulated, the Erlang guess stands, and says so.
    told = []
    none = sim.storm_extra_agents(model, storm, 0.8, replications=20, seed=3, deadline=time.monotonic(),
                                  progress=lambda *a: told.append(a))
    assert not none.complete and not none.rechecked and none.proven == 0
    assert np.isnan(none.service_level).all() and np.isnan(none.service_level_without).all()
    assert (none.extra_agents[8:12] > 0).all() and told == [(0, 6, "recheck")]
    # Stopped part-way: the decided intervals are exactly those of the full run (same
    # random numbers), the rest carry the guess.
    calls = []

    def stop_after_two(done, total, phase):
        calls.append((done, total, phase))

    def clock():  # time jumps past the deadline once two intervals are decided
        return time.monotonic() + (10_000 if sum(1 for c in calls if c[2] == "search") >= 2 else 0)

    part = sim.storm_extra_agents(model, storm, 0.8, replications=20, seed=3, deadline=time.monotonic() + 1_000,
                                  progress=stop_after_two, clock=clock)
    assert part.proven == 2 and part.decided[8:10].all() and not part.decided[10:].any()
    assert (part.extra_agents[8:10] == full.extra_agents[8:10]).all()
    assert [c[0] for c in calls] == [1, 2, 2] and calls[-1][2] == "recheck"
    assert not np.isnan(part.service_level[8:10]).any() and np.isnan(part.service_level[10:]).all()


def test_common_random_numbers_give_each_block_the_same_callers() -> None:
    model = sim.SingleSkillModel(1800.0, np.full(4, 0.02), 300.0, 10)
    staffing = np.repeat(np.array([[8] * 4, [12] * 4]), 5, axis=0)  # two staffing levels x 5 replications
    res = sim._simulate_rows(np.random.default_rng(1), model, staffing, 20.0, 5.0, 0.0, streams=5)
    assert (res.offered[:5] == res.offered[5:]).all()
    # more agents on the same callers: never fewer answered in time
    assert (res.answered_within[5:].sum(axis=1) >= res.answered_within[:5].sum(axis=1)).all()
    with pytest.raises(ValueError):
        sim._simulate_rows(np.random.default_rng(1), model, staffing, 20.0, 5.0, 0.0, streams=3)
