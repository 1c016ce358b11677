"""Staffing search against brute force (N = 1, 2, 3, ... until every target holds)."""

from __future__ import annotations

import numpy as np
import pytest

from hotline.workforce import queueing as q
from hotline.workforce.staffing import (
    StaffingTargets,
    apply_shrinkage,
    required_agents,
    required_agents_for_intervals,
)


def brute_force(lam: float, aht: float, targets: StaffingTargets, patience: float | None = None) -> int:
    """First N in 1, 2, 3, ... meeting every target (all candidates evaluated, no search)."""
    if lam == 0:
        return 0
    candidates = np.arange(1, int(3 * lam * aht) + 60)
    if patience is None:
        m = q.erlang_c_metrics(lam, aht, candidates, targets.answer_time)
    else:
        m = q.erlang_a_metrics(lam, aht, candidates, patience, targets.answer_time, targets.short_abandon)
    ok = targets.satisfied_by(m)
    assert ok.any(), "candidate range too short"
    return int(candidates[np.argmax(ok)])


def _intervals(seed: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    load = np.exp(rng.uniform(np.log(0.05), np.log(400.0), size))
    aht = rng.uniform(120.0, 480.0, size)
    return load / aht, aht


ERLANG_C_TARGETS = [
    StaffingTargets(0.8, 20.0),
    StaffingTargets(0.9, 10.0, max_asa=8.0),
    StaffingTargets(None, max_asa=30.0),
    StaffingTargets(0.8, 20.0, max_occupancy=0.85),
    StaffingTargets(0.95, 0.0),
]


@pytest.mark.parametrize("targets", ERLANG_C_TARGETS)
def test_erlang_c_staffing_equals_brute_force(targets: StaffingTargets) -> None:
    lam, aht = _intervals(1, 500)
    got = required_agents(lam, aht, targets).agents
    want = [brute_force(lv, av, targets) for lv, av in zip(lam, aht)]
    np.testing.assert_array_equal(got, want)


ERLANG_A_TARGETS = [
    StaffingTargets(0.8, 20.0),
    StaffingTargets(0.8, 20.0, sl_definition="answered"),
    StaffingTargets(0.85, 15.0, sl_definition="offered_minus_short_abandons", short_abandon=5.0),
    StaffingTargets(None, max_abandon_rate=0.03),
    StaffingTargets(0.8, 20.0, max_asa=12.0, max_occupancy=0.9),
]


@pytest.mark.parametrize("targets", ERLANG_A_TARGETS)
def test_erlang_a_staffing_equals_brute_force(targets: StaffingTargets) -> None:
    lam, aht = _intervals(2, 200)
    patience = np.random.default_rng(3).uniform(30.0, 400.0, lam.size)
    got = required_agents(lam, aht, targets, model="erlang_a", patience=patience).agents
    want = [brute_force(lv, av, targets, pv) for lv, av, pv in zip(lam, aht, patience)]
    np.testing.assert_array_equal(got, want)


def test_erlang_a_answer_can_be_below_the_offered_load() -> None:
    # Impatient callers and a "of offered" target: the cheapest N runs overloaded.
    lam, aht, patience = 1.0, 300.0, 120.0
    targets = StaffingTargets(0.75, 20.0)
    res = required_agents(lam, aht, targets, model="erlang_a", patience=patience)
    assert res.agents < lam * aht
    assert res.agents == brute_force(lam, aht, targets, patience)
    assert res.metrics is not None and res.metrics.service_level_offered >= 0.75
    # one agent fewer misses the target
    below = q.erlang_a_metrics(lam, aht, res.agents - 1, patience, 20.0)
    assert below.service_level_offered < 0.75


def test_shrinkage_and_metrics_and_shapes() -> None:
    offered = np.array([[0, 50, 400], [900, 1200, 10]])  # calls per 15 minutes
    res = required_agents_for_intervals(offered, 280.0, 900.0, StaffingTargets(0.8, 20.0), shrinkage=0.3)
    assert res.agents.shape == (2, 3)
    assert res.agents[0, 0] == 0 and res.scheduled[0, 0] == 0
    np.testing.assert_array_equal(res.scheduled, np.ceil(res.agents / 0.7 - 1e-9))
    assert res.metrics is not None
    busy = offered > 0
    assert np.all(res.metrics.service_level_offered[busy] >= 0.8)
    np.testing.assert_array_equal(apply_shrinkage([80, 81], 0.2), [100, 102])
    with pytest.raises(ValueError):
        apply_shrinkage(10, 1.0)


def test_year_of_intervals_is_vectorised_consistently() -> None:
    lam, aht = _intervals(4, 35_040)
    targets = StaffingTargets(0.8, 20.0)
    all_at_once = required_agents(lam, aht, targets, with_metrics=False).agents
    pieces = np.concatenate(
        [required_agents(lam[i : i + 5000], aht[i : i + 5000], targets, with_metrics=False).agents
         for i in range(0, lam.size, 5000)]
    )
    np.testing.assert_array_equal(all_at_once, pieces)
    # minimality and feasibility, checked with the closed forms at N and N - 1
    m = q.erlang_c_metrics(lam, aht, all_at_once, 20.0)
    prev = q.erlang_c_metrics(lam, aht, all_at_once - 1, 20.0)
    assert np.all(m.service_level_offered >= 0.8)
    assert np.all(prev.service_level_offered < 0.8)


def test_invalid_targets_are_rejected() -> None:
    with pytest.raises(ValueError):
        StaffingTargets(1.0, 20.0)
    with pytest.raises(ValueError):
        StaffingTargets(0.8, 20.0, sl_definition="whatever")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        required_agents(0.1, 300.0, model="erlang_a")
    with pytest.raises(ValueError):
        required_agents(-1.0, 300.0)


def test_extra_agents_now_erlang_c() -> None:
    from hotline.workforce.queueing import erlang_c_metrics
    from hotline.workforce.staffing import extra_agents_now

    # 300 calls in 15 minutes at 300 s AHT: 100 Erlangs
    out = extra_agents_now(300, 300.0, 90)
    assert out["model"] == "erlang_c"
    assert out["offered_load_erlangs"] == pytest.approx(100.0)
    assert out["arrival_rate_per_hour"] == pytest.approx(1200.0)
    need = out["required_agents"]
    sl = lambda n: float(erlang_c_metrics(300 / 900, 300.0, n, 20.0).service_level_offered)  # noqa: E731
    assert sl(need) >= 0.8 > sl(need - 1)  # the smallest N meeting 80/20
    assert out["gap"] == need - 90 and out["extra_agents"] == need - 90
    assert out["overloaded"] and out["projected_service_level"] == 0.0
    spare = extra_agents_now(300, 300.0, need + 7)
    assert spare["gap"] == -7 and spare["extra_agents"] == 0
    assert spare["projected_service_level"] == pytest.approx(sl(need + 7))
    # a 30-minute window halves the rate
    assert extra_agents_now(600, 300.0, 90, interval_minutes=30)["required_agents"] == need


def test_extra_agents_now_erlang_a_and_edge_cases() -> None:
    from hotline.workforce.queueing import erlang_a_metrics
    from hotline.workforce.staffing import extra_agents_now

    out = extra_agents_now(300, 300.0, 95, target_sl=0.9, t_seconds=30, patience_seconds=120.0)
    assert out["model"] == "erlang_a"
    n = out["required_agents"]
    sl = lambda k: float(erlang_a_metrics(300 / 900, 300.0, k, 120.0, 30.0).service_level_offered)  # noqa: E731
    assert sl(n) >= 0.9 > sl(n - 1)
    assert out["projected_service_level"] == pytest.approx(sl(95))
    assert 0 < out["projected_abandon_rate"] < 1
    assert out["extra_agents"] == max(n - 95, 0)
    quiet = extra_agents_now(0, 300.0, 2)
    assert quiet["required_agents"] == 0 and quiet["projected_service_level"] == 1.0 and quiet["gap"] == -2
    with pytest.raises(ValueError):
        extra_agents_now(-1, 300.0, 2)
    with pytest.raises(ValueError):
        extra_agents_now(10, 0.0, 2)
