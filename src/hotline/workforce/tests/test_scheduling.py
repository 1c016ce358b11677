"""Shift scheduling MIP: brute-force optimality on a small week, the 60-agent week, rostering rules."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from hotline.workforce import scheduling as sc
from hotline.workforce.examples import center_requirement

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
    sched = sc.schedule_week(
        required, DAY_TEMPLATES, interval_minutes=60, under_penalty=penalty, mip_gap=0.0, min_rest_hours=None
    )
    want = brute_force_cost(required, DAY_TEMPLATES, penalty, max_tours=2)
    assert sched.status == "Optimal"
    assert sched.objective == pytest.approx(want, abs=1e-6)
    # the reported coverage is what the counts give, and the tours add up per day
    assert np.all(sched.coverage - sched.required == sched.over - sched.under)
    works = np.array([[1 if (d - p) % 7 < 5 else 0 for p in range(7)] for d in range(7)])
    np.testing.assert_array_equal(sched.counts.sum(axis=1), works @ sched.tours)


def brute_force_family_cost(required: np.ndarray, templates: list[sc.ShiftTemplate], penalty: float) -> float:
    """Rest-aware tours with one template per family: every 0/1 choice of (pattern, template) tours.

    With at most 1 agent required per interval a second identical tour never helps,
    so 0/1 per (pattern, template) is exhaustive.
    """
    per_day = 24
    columns, costs = [], []
    for tpl in templates:
        for p in range(7):
            cov = np.zeros(7 * per_day)
            for d in range(p, p + 5):
                cov[((d % 7) * per_day + tpl.covered(60)) % (7 * per_day)] += 1
            columns.append(cov)
            costs.append(5 * tpl.paid_cost())
    cols = np.array(columns)
    choice = np.array(list(itertools.product((0, 1), repeat=len(columns))), dtype=float)
    staffed = choice @ cols
    total = choice @ np.array(costs) + penalty * np.maximum(required - staffed, 0).sum(axis=1)
    return float(total.min())


@pytest.mark.parametrize(("seed", "penalty"), [(0, 20.0), (1, 20.0), (2, 100.0)])
def test_rest_aware_week_is_solved_to_the_brute_force_optimum(seed: int, penalty: float) -> None:
    # early 06-14 and late 12-20 cannot follow each other with 11 h rest: two families
    rng = np.random.default_rng(seed)
    required = np.zeros(7 * 24, dtype=np.int64)
    for d in range(7):
        required[d * 24 + 7 : d * 24 + 19] = rng.integers(0, 2, 12)
    assert sc.rest_families(DAY_TEMPLATES, 11.0) == [[0], [1]]
    sched = sc.schedule_week(required, DAY_TEMPLATES, interval_minutes=60, under_penalty=penalty, mip_gap=0.0)
    assert sched.status == "Optimal"
    assert sched.objective == pytest.approx(brute_force_family_cost(required, DAY_TEMPLATES, penalty), abs=1e-6)
    works = np.array([[1 if (d - p) % 7 < 5 else 0 for p in range(7)] for d in range(7)])
    np.testing.assert_array_equal(sched.counts, works @ sched.tour_groups)  # one template per family here


def test_rest_families_keep_the_rest_between_any_two_members() -> None:
    templates = sc.standard_templates()
    families = sc.rest_families(templates, 11.0)
    assert sorted(i for f in families for i in f) == list(range(len(templates)))
    for fam in families:
        for a, b in itertools.product(fam, repeat=2):
            ta, tb = templates[a], templates[b]
            assert 1440 + tb.start_minute - ta.start_minute - ta.length_minutes >= 11 * 60
            assert ta.length_minutes == tb.length_minutes
    assert sc.rest_families(templates, None) == [list(range(len(templates)))]


@pytest.fixture(scope="module")
def sixty_agent_week() -> sc.WeeklySchedule:
    return sc.schedule_week(center_requirement(), sc.standard_templates(), time_limit=180.0, mip_gap=0.004)


@pytest.mark.slow
def test_sixty_agent_week_solves_with_small_gap(sixty_agent_week: sc.WeeklySchedule) -> None:
    sched = sixty_agent_week
    assert 50 <= sched.agents_needed <= 70
    assert sched.mip_gap < 0.005
    assert sched.under.sum() == 0
    assert np.all(sched.coverage >= sched.required)
    assert sched.tour_groups is not None and sched.tour_groups.sum() == sched.agents_needed
    # daily shifts of each family = its tours working that day
    works = np.array([[1 if (d - p) % 7 < 5 else 0 for p in range(7)] for d in range(7)])
    for f, members in enumerate(sched.families):
        np.testing.assert_array_equal(sched.counts[:, members].sum(axis=1), works @ sched.tour_groups[:, f])


def check_roster(sched: sc.WeeklySchedule, agents: list[sc.Agent], roster: sc.Roster, rest_hours: float) -> None:
    by_name = {t.name: t for t in sched.templates}
    filled: dict[tuple[int, str], int] = {}
    for _, day, name in roster.assignments:
        filled[(day, name)] = filled.get((day, name), 0) + 1
    assert filled == {(d, sched.templates[s].name): c for d, s, c in sched.shifts()}
    for agent in agents:
        mine = sorted((day, by_name[name]) for who, day, name in roster.assignments if who == agent.name)
        assert len(mine) <= agent.max_days
        assert not {day for day, _ in mine} & agent.unavailable_days
        assert len({day for day, _ in mine}) == len(mine)  # one shift a day
        for (d1, t1), (d2, t2) in itertools.permutations(mine, 2):
            gap = ((d2 * 1440 + t2.start_minute) - (d1 * 1440 + t1.start_minute)) % (7 * 1440) - t1.length_minutes
            assert gap >= rest_hours * 60  # no overlap, enough rest


@pytest.mark.slow
def test_sixty_agent_week_roster(sixty_agent_week: sc.WeeklySchedule) -> None:
    sched = sixty_agent_week
    n = sched.agents_needed + 12
    agents = [
        sc.Agent(f"a{i:02d}", frozenset({i % 7, (i + 1) % 7}) if i % 4 == 0 else frozenset({i % 7}) if i % 5 == 0
                 else frozenset())
        for i in range(n)
    ]
    roster = sc.assign_agents(sched, agents, time_limit=20.0, mip_gap=0.0)
    assert roster.mip_gap < 0.005
    check_roster(sched, agents, roster, 11.0)
    assert len(roster.tours) == sched.agents_needed
    worked = [h for h in roster.hours.values() if h > 0]
    assert roster.objective == pytest.approx(10 * roster.unsocial_max + max(worked) - min(worked))


def roster_brute_force(sched: sc.WeeklySchedule, agents: list[sc.Agent]) -> float:
    """Best 10 x max(carry + unsocial) + hours spread over every way to hand out tours and night shifts."""
    tpls = sched.templates
    slots = []
    for p, f in zip(*np.nonzero(sched.tour_groups)):
        days = {(p + i) % 7 for i in range(5)}
        slots += [(days, int(f), 5 * tpls[sched.families[f][0]].length_minutes / 60)] * int(sched.tour_groups[p, f])
    best = np.inf
    for chosen in itertools.permutations(range(len(agents)), len(slots)):
        if any(days & agents[a].unavailable_days for a, (days, _, _) in zip(chosen, slots)):
            continue
        # every (day, family): the working agents and how many night shifts they share
        choices = []
        for d in range(7):
            for f, fam in enumerate(sched.families):
                working = [a for a, (days, ff, _) in zip(chosen, slots) if ff == f and d in days]
                nights = int(sum(sched.counts[d, s] for s in fam if tpls[s].is_night()))
                if d >= 5:
                    nights = len(working)  # every weekend shift is unsocial
                choices.append(list(itertools.combinations(working, nights)))
        hours = [h for _, _, h in slots]
        for pick in itertools.product(*choices):
            total = [a.unsocial_carry for a in agents]
            for group in pick:
                for a in group:
                    total[a] += 1
            best = min(best, 10 * max(total) + max(hours) - min(hours))
    return best


@pytest.mark.parametrize("seed", range(4))
def test_tour_assignment_matches_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    # families: [early], [late, evening (ends 01:00, a night shift)], [night]
    templates = DAY_TEMPLATES + [
        sc.ShiftTemplate("evening", 17 * 60, 8 * 60, ((4 * 60, 60),)),
        sc.ShiftTemplate("night", 21 * 60, 9 * 60, ((4 * 60, 60),)),
    ]
    assert sc.rest_families(templates, 11.0) == [[0], [1, 2], [3]]
    required = np.zeros(7 * 24, dtype=np.int64)
    for d in range(7):
        required[d * 24 + 8 : d * 24 + 12] = rng.integers(0, 2)
        required[d * 24 + 13 : d * 24 + 16] = 1
        required[d * 24 + 21 : d * 24 + 23] = rng.integers(0, 2)
        required[d * 24 + 23] = 1 if d in (4, 5) else 0
    sched = sc.schedule_week(required, templates, interval_minutes=60, mip_gap=0.0)
    assert 2 <= sched.agents_needed <= 5
    agents = [
        sc.Agent(
            f"x{i}",
            frozenset(rng.choice(7, size=int(rng.integers(0, 2)), replace=False).tolist()),
            unsocial_carry=int(rng.integers(0, 6)),
        )
        for i in range(sched.agents_needed + 1)
    ]
    want = roster_brute_force(sched, agents)
    if not np.isfinite(want):
        with pytest.raises(RuntimeError, match="cannot hand"):
            sc.assign_agents(sched, agents, mip_gap=0.0)
        return
    roster = sc.assign_agents(sched, agents, mip_gap=0.0)
    check_roster(sched, agents, roster, 11.0)
    assert roster.objective == pytest.approx(want)


def test_shift_level_roster_for_schedules_without_tours() -> None:
    required = np.zeros(7 * 24, dtype=np.int64)
    for d in range(7):
        required[d * 24 + 7 : d * 24 + 19] = 1
    sched = sc.schedule_week(required, DAY_TEMPLATES, interval_minutes=60, mip_gap=0.0, min_rest_hours=None)
    agents = [sc.Agent(f"s{i}") for i in range(sched.agents_needed + 1)]
    roster = sc.assign_agents(sched, agents, min_rest_hours=11.0, time_limit=20.0, mip_gap=0.0)
    check_roster(sched, agents, roster, 11.0)
    assert roster.tours == {}
