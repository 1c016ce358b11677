"""Shift scheduling MIP: brute-force optimality on a small week, the 60-agent week, rostering rules."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from hotline.workforce import scheduling as sc
from hotline.workforce.staffing import StaffingTargets, required_agents

DAY_TEMPLATES = [
    sc.ShiftTemplate("early", 6 * 60, 8 * 60, ((4 * 60, 60),)),
    sc.ShiftTemplate("late", 12 * 60, 8 * 60, ((3 * 60, 60),), cost=9.0),
]


def brute_force_cost(required: np.ndarray, templates: list[sc.ShiftTemplate], penalty: float, max_tours: int) -> float:
    """Enumerate tours per pattern, then the best split of each day's agents over templates.

    The templates stay within the day, so given the tours each day is independent.
    """
    per_day = 24
    cover = [np.zeros(per_day, dtype=int) for _ in templates]
    for s, tpl in enumerate(templates):
        cover[s][tpl.covered(60)] = 1
    best = np.inf
    for tours in itertools.product(range(max_tours + 1), repeat=7):
        total = 0.0
        for d in range(7):
            working = sum(tours[p] for p in range(7) if (d - p) % 7 < 5)
            need = required[d * per_day : (d + 1) * per_day]
            day_best = np.inf
            for split in itertools.product(range(working + 1), repeat=len(templates) - 1):
                last = working - sum(split)
                if last < 0:
                    continue
                counts = (*split, last)
                staffed = sum(c * cv for c, cv in zip(counts, cover))
                cost = sum(c * t.paid_cost() for c, t in zip(counts, templates))
                cost += penalty * np.maximum(need - staffed, 0).sum()
                day_best = min(day_best, cost)
            total += day_best
        best = min(best, total)
    return best


@pytest.mark.parametrize("seed", [0, 1])
def test_small_week_is_solved_to_the_brute_force_optimum(seed: int) -> None:
    rng = np.random.default_rng(seed)
    required = np.zeros(7 * 24, dtype=np.int64)
    for d in range(7):
        required[d * 24 + 7 : d * 24 + 19] = rng.integers(0, 3, 12)
    penalty = 20.0
    sched = sc.schedule_week(required, DAY_TEMPLATES, interval_minutes=60, under_penalty=penalty, mip_gap=0.0)
    want = brute_force_cost(required, DAY_TEMPLATES, penalty, max_tours=2)
    assert sched.status == "Optimal"
    assert sched.objective == pytest.approx(want, abs=1e-6)
    # the reported coverage is what the counts give, and the tours add up per day
    assert np.all(sched.coverage - sched.required == sched.over - sched.under)
    works = np.array([[1 if (d - p) % 7 < 5 else 0 for p in range(7)] for d in range(7)])
    np.testing.assert_array_equal(sched.counts.sum(axis=1), works @ sched.tours)


def center_requirement(peak_erlangs: float = 17.0, shrinkage: float = 0.15) -> np.ndarray:
    """A 95598-like week at 15 minutes: morning and afternoon peaks, evening shoulder, quiet nights."""
    hour = np.arange(96) / 4.0
    shape = (
        0.06
        + np.exp(-0.5 * ((hour - 9.5) / 1.6) ** 2)
        + 0.85 * np.exp(-0.5 * ((hour - 15.0) / 1.8) ** 2)
        + 0.35 * np.exp(-0.5 * ((hour - 20.0) / 1.5) ** 2)
    )
    week = np.concatenate([shape * (0.8 if d >= 5 else 1.0) for d in range(7)])
    erlangs = week / week.max() * peak_erlangs
    net = required_agents(erlangs / 300.0, 300.0, StaffingTargets(0.8, 20.0)).agents
    return np.ceil(net / (1 - shrinkage) - 1e-9).astype(np.int64)


@pytest.mark.slow
def test_sixty_agent_week_solves_with_small_gap() -> None:
    required = center_requirement()
    sched = sc.schedule_week(required, sc.standard_templates(), time_limit=25.0, mip_gap=0.004)
    assert 50 <= sched.agents_needed <= 70
    assert sched.mip_gap < 0.005
    assert sched.under.sum() == 0
    assert np.all(sched.coverage >= sched.required)


def test_overnight_shift_wraps_into_the_next_day_and_the_week() -> None:
    night = sc.ShiftTemplate("night", 22 * 60, 9 * 60, ((4 * 60, 30),))
    cover = sc.coverage_matrix([night], 15).toarray()
    sunday_col = 6
    covered = np.flatnonzero(cover[:, sunday_col])
    assert covered.min() == 0  # Sunday 22:00 shift covers Monday 00:00 of the cyclic week
    assert covered.size == 9 * 4 - 2


def test_roster_respects_rest_availability_and_fills_every_shift() -> None:
    required = np.zeros(7 * 24, dtype=np.int64)
    for d in range(7):
        required[d * 24 + 7 : d * 24 + 19] = 2
    templates = DAY_TEMPLATES + [sc.ShiftTemplate("night", 21 * 60, 9 * 60, ((4 * 60, 60),))]
    required[np.arange(7) * 24 + 23] = 1
    sched = sc.schedule_week(required, templates, interval_minutes=60, mip_gap=0.0)
    agents = [sc.Agent(f"agent{i}", frozenset({i % 7}) if i < 3 else frozenset()) for i in range(sched.agents_needed + 3)]
    roster = sc.assign_agents(sched, agents, min_rest_hours=11.0, time_limit=20.0, mip_gap=0.0)
    by_name = {t.name: t for t in templates}
    # every scheduled slot filled exactly
    filled: dict[tuple[int, str], int] = {}
    for _, day, name in roster.assignments:
        filled[(day, name)] = filled.get((day, name), 0) + 1
    assert filled == {(d, templates[s].name): c for d, s, c in sched.shifts()}
    for agent in agents:
        mine = sorted((day, by_name[name]) for who, day, name in roster.assignments if who == agent.name)
        assert len(mine) <= agent.max_days
        assert not {day for day, _ in mine} & agent.unavailable_days
        assert len({day for day, _ in mine}) == len(mine)  # one shift a day
        for (d1, t1), (d2, t2) in itertools.permutations(mine, 2):
            gap = ((d2 * 1440 + t2.start_minute) - (d1 * 1440 + t1.start_minute)) % (7 * 1440) - t1.length_minutes
            assert gap >= 11 * 60  # no overlap, at least 11 h rest
    assert roster.mip_gap <= 1e-6
