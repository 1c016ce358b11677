"""Shift scheduling and rostering as mixed-integer programmes solved by HiGHS.

Step 1, :func:`schedule_week` -- how many agents work each shift template on
each day.  The week is cyclic (a Sunday-night shift runs into Monday
morning).  Variables: ``x[d, s]`` agents on template s starting on day d,
``w[p, f]`` weekly tours with days-off pattern p (5 consecutive working
days, the other 2 off; 7 rotations) on shift family f (:func:`rest_families`:
templates an agent may mix day to day and still rest ``min_rest_hours``),
slacks for uncovered agent-intervals.  Constraints:

* coverage: ``sum_{(d,s) covering t} x[d, s] + slack >= required[t]`` --
  a template covers the intervals of its length minus its breaks;
  intervals covered by the same shifts share a row;
* tours: ``sum_{s in f} x[d, s] = sum_{p works on d} w[p, f]`` for every
  day and family, so the daily shifts decompose into agents with two
  consecutive days off who always get their rest.

Integer aggregates (per day and family, per day, per family, total) and a
per-family lower bound on tours (see :func:`schedule_week`) make the bound
strong.  Objective: shift costs (paid hours, night premium) plus a large
penalty per uncovered agent-interval, so demand is met whenever the
templates allow.  Over/under coverage per interval is reported.

Step 2, :func:`assign_agents` -- named agents onto whole tours: binary
``v[a, (p, f)]``, every tour filled, at most one per agent, availability and
``max_days`` respected; fairness: the most unsocial (night or weekend)
shifts any agent has, counting ``Agent.unsocial_carry`` from earlier weeks,
is minimised, then hours are balanced.  Schedules without tours
(``min_rest_hours=None``) use the shift-level MIP: binary ``z[a, d, s]``,
at most one shift a day, rest pairs excluded, same fairness.

Both set a time limit and report the MIP gap HiGHS proves.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import highspy
import numpy as np
from numpy.typing import NDArray
from scipy import sparse

DAYS = 7
MINUTES_PER_DAY = 24 * 60


@dataclass(frozen=True)
class ShiftTemplate:
    name: str
    start_minute: int  # from midnight
    length_minutes: int
    breaks: tuple[tuple[int, int], ...] = ()  # (offset from shift start, length) in minutes
    cost: float | None = None  # default: paid hours, +25% for hours between 22:00 and 06:00

    def covered(self, interval_minutes: int) -> NDArray[np.int64]:
        """Offsets (in intervals, from the day's midnight) this shift staffs; may pass 24:00."""
        step = interval_minutes
        if self.start_minute % step or self.length_minutes % step:
            raise ValueError(f"{self.name}: start and length must be multiples of {step} minutes")
        first = self.start_minute // step
        slots = np.arange(first, first + self.length_minutes // step)
        off = np.zeros(slots.size, dtype=bool)
        for offset, length in self.breaks:
            if offset % step or length % step:
                raise ValueError(f"{self.name}: breaks must be multiples of {step} minutes")
            off[offset // step : (offset + length) // step] = True
        return slots[~off]

    def paid_cost(self) -> float:
        if self.cost is not None:
            return self.cost
        minutes = np.arange(self.start_minute, self.start_minute + self.length_minutes) % MINUTES_PER_DAY
        night = np.count_nonzero((minutes >= 22 * 60) | (minutes < 6 * 60))
        return (self.length_minutes + 0.25 * night) / 60.0

    def is_night(self) -> bool:
        end = self.start_minute + self.length_minutes
        return self.start_minute >= 20 * 60 or end > 24 * 60 or self.start_minute < 6 * 60


def standard_templates(start_step_minutes: int = 30) -> list[ShiftTemplate]:
    """Typical 95598 center shift set, round the clock.

    Day shifts: 9 h with a 1 h lunch after 4 h, starting 06:00-13:00.
    Evening shifts: 8 h with a 30 min break after 4 h, starting 13:30-17:00.
    Night shifts: 9 h with a 30 min break after 4 h, starting 21:00-23:00
    (they run into the next day).
    """
    step = start_step_minutes
    templates = []
    for start in range(6 * 60, 13 * 60 + 1, step):
        templates.append(ShiftTemplate(f"D{start // 60:02d}{start % 60:02d}", start, 9 * 60, ((240, 60),)))
    for start in range(13 * 60 + 30, 17 * 60 + 1, step):
        templates.append(ShiftTemplate(f"E{start // 60:02d}{start % 60:02d}", start, 8 * 60, ((240, 30),)))
    for start in range(21 * 60, 23 * 60 + 1, 60):
        templates.append(ShiftTemplate(f"N{start // 60:02d}{start % 60:02d}", start, 9 * 60, ((240, 30),)))
    return templates


@dataclass
class WeeklySchedule:
    templates: list[ShiftTemplate]
    interval_minutes: int
    counts: NDArray[np.int64]  # (7, templates): agents starting template s on day d
    tours: NDArray[np.int64]  # (7,): tours whose two days off start on day p+5 (mod 7)
    coverage: NDArray[np.int64]  # agents on the phones per interval
    required: NDArray[np.int64]
    objective: float
    mip_gap: float
    status: str
    seconds: float
    # rest-aware tours: template families (indices) and tours per (days-off pattern, family)
    families: list[list[int]] = field(default_factory=list)
    tour_groups: NDArray[np.int64] | None = None  # (7, families)
    min_rest_hours: float | None = None  # rest every tour guarantees (None: not modelled)

    @property
    def under(self) -> NDArray[np.int64]:
        return np.maximum(self.required - self.coverage, 0)

    @property
    def over(self) -> NDArray[np.int64]:
        return np.maximum(self.coverage - self.required, 0)

    @property
    def agents_needed(self) -> int:
        return int(self.tours.sum())

    def shifts(self) -> list[tuple[int, int, int]]:
        """(day, template index, count) of every used shift."""
        return [(d, s, int(self.counts[d, s])) for d, s in zip(*np.nonzero(self.counts))]


def coverage_matrix(templates: Sequence[ShiftTemplate], interval_minutes: int) -> sparse.csr_matrix:
    """(intervals of the week) x (7 * templates) 0/1 matrix; column d * S + s, cyclic week."""
    per_day = MINUTES_PER_DAY // interval_minutes
    week = DAYS * per_day
    rows, cols = [], []
    for s, tpl in enumerate(templates):
        offsets = tpl.covered(interval_minutes)
        for d in range(DAYS):
            rows.append((d * per_day + offsets) % week)
            cols.append(np.full(offsets.size, d * len(templates) + s))
    r = np.concatenate(rows)
    c = np.concatenate(cols)
    return sparse.csr_matrix((np.ones(r.size), (r, c)), shape=(week, DAYS * len(templates)))


def _min_tours(need: NDArray[np.float64], works: NDArray[np.float64], threads: int) -> float:
    """Fewest 5-day tours (patterns = columns of ``works``) with at least ``need[d]`` working each day."""
    values, objective, _, _ = _solve(
        np.ones(DAYS), np.zeros(DAYS), np.full(DAYS, np.inf), np.ones(DAYS, dtype=bool),
        sparse.csr_matrix(works), need.astype(float), np.full(DAYS, np.inf), 10.0, 0.0, threads,
    )
    return float(np.ceil(objective - 1e-6))


def _identical_rows(matrix: sparse.csr_matrix) -> list[list[int]]:
    """Groups of row indices with the same nonzero pattern (0/1 matrix), in first-seen order."""
    matrix = matrix.tocsr()
    matrix.sort_indices()
    seen: dict[bytes, list[int]] = {}
    for i in range(matrix.shape[0]):
        key = matrix.indices[matrix.indptr[i] : matrix.indptr[i + 1]].tobytes()
        seen.setdefault(key, []).append(i)
    return list(seen.values())


def _status_name(h: highspy.Highs) -> str:
    return h.modelStatusToString(h.getModelStatus())


def _solve(
    cost: NDArray[np.float64],
    lower: NDArray[np.float64],
    upper: NDArray[np.float64],
    integer: NDArray[np.bool_],
    a: sparse.csr_matrix,
    row_lower: NDArray[np.float64],
    row_upper: NDArray[np.float64],
    time_limit: float,
    mip_gap: float,
    threads: int = 2,
) -> tuple[NDArray[np.float64], float, float, str]:
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(time_limit))
    h.setOptionValue("mip_rel_gap", float(mip_gap))
    h.setOptionValue("threads", int(threads))
    n = cost.size
    h.addVars(n, lower, upper)
    h.changeColsCost(n, np.arange(n, dtype=np.int32), cost)
    ints = np.flatnonzero(integer).astype(np.int32)
    if ints.size:
        h.changeColsIntegrality(ints.size, ints, np.full(ints.size, highspy.HighsVarType.kInteger))
    a = a.tocsr()
    a.sort_indices()
    h.addRows(
        a.shape[0],
        row_lower,
        row_upper,
        a.nnz,
        a.indptr[:-1].astype(np.int32),
        a.indices.astype(np.int32),
        a.data.astype(float),
    )
    h.run()
    status = _status_name(h)
    info = h.getInfo()
    values = np.asarray(h.getSolution().col_value, dtype=float)
    if values.size != n or not np.all(np.isfinite(values)) or info.primal_solution_status == 0:
        raise RuntimeError(f"no feasible solution found (HiGHS status: {status})")
    gap = float(info.mip_gap) if ints.size else 0.0
    return values, float(info.objective_function_value), gap, status


def rest_families(templates: Sequence[ShiftTemplate], min_rest_hours: float | None) -> list[list[int]]:
    """Partition templates into families an agent may mix freely from day to day.

    Within a family every pair of shifts on consecutive days leaves at least
    ``min_rest_hours`` between the end of one and the start of the next
    (starts differ by at most 24 h - length - rest), and all members have
    the same length, so a tour's hours do not depend on which member is
    worked (who takes a mixed family's night members is part of the roster).  ``None``: one family (no rest
    rule, the classic model).
    """
    if min_rest_hours is None:
        return [list(range(len(templates)))]
    rest = int(round(min_rest_hours * 60))
    order = sorted(range(len(templates)), key=lambda s: (templates[s].length_minutes, templates[s].start_minute))

    def follows_ok(a: ShiftTemplate, b: ShiftTemplate) -> bool:  # b the day after a
        return MINUTES_PER_DAY + b.start_minute - a.start_minute - a.length_minutes >= rest

    families: list[list[int]] = []
    for s in order:
        tpl = templates[s]
        if not follows_ok(tpl, tpl):
            raise ValueError(f"{tpl.name}: a {tpl.length_minutes}-minute shift cannot be repeated next day "
                             f"with {min_rest_hours} h rest")
        fam = families[-1] if families else None
        if fam is not None:
            first = templates[fam[0]]
            same_kind = first.length_minutes == tpl.length_minutes
            if same_kind and all(follows_ok(templates[o], tpl) and follows_ok(tpl, templates[o]) for o in fam):
                fam.append(s)
                continue
        families.append([s])
    return families


def schedule_week(
    required: Sequence[int] | NDArray[np.int64],
    templates: Sequence[ShiftTemplate],
    *,
    interval_minutes: int = 15,
    under_penalty: float = 1000.0,
    time_limit: float = 25.0,
    mip_gap: float = 0.001,
    min_rest_hours: float | None = 11.0,
    threads: int = 2,
) -> WeeklySchedule:
    """Least-cost weekly shift counts covering ``required`` (agents per interval, Monday 00:00 first).

    Tours are 5 consecutive working days on shifts of one :func:`rest_families`
    family, so every tour respects ``min_rest_hours`` between shifts and
    :func:`assign_agents` only has to hand whole tours to agents.
    ``min_rest_hours=None`` drops the families (any shift on any working day).
    """
    required = np.asarray(required, dtype=np.int64)
    per_day = MINUTES_PER_DAY // interval_minutes
    if required.size != DAYS * per_day:
        raise ValueError(f"need {DAYS * per_day} intervals of {interval_minutes} minutes")
    templates = list(templates)
    n_tpl = len(templates)
    families = rest_families(templates, min_rest_hours)
    n_f = len(families)
    family_of = np.empty(n_tpl, dtype=np.int64)
    for f, members in enumerate(families):
        family_of[members] = f
    cover = coverage_matrix(templates, interval_minutes)
    n_x = DAYS * n_tpl
    n_w = DAYS * n_f  # column p * F + f
    # Intervals covered by exactly the same shifts (e.g. both quarter-hours of a
    # half hour when shifts start on the half hour) share one coverage row.  The
    # penalty stays exact with one slack per member: sorted requirements
    # r1 >= r2 >= ... >= rm; slack i (width r_i - r_{i+1}) costs i x penalty, so
    # covering c agents costs penalty x sum_i max(r_i - c, 0) as before.
    groups = _identical_rows(cover)
    n_g = len(groups)
    slack_row, slack_up, slack_cost = [], [], []
    row_req = np.empty(n_g)
    for g, members in enumerate(groups):
        r = np.sort(required[members])[::-1].astype(float)
        row_req[g] = r[0]
        widths = r - np.append(r[1:], 0.0)
        for i, width in enumerate(widths):
            if width > 0:
                slack_row.append(g)
                slack_up.append(width)
                slack_cost.append(under_penalty * (i + 1))
    n_u = len(slack_row)
    reps = np.array([m[0] for m in groups])
    # columns: x (7*S), w (7*F), slacks, then integer aggregates (below)
    shift_cost = np.tile([tpl.paid_cost() for tpl in templates], DAYS)
    n_base = n_x + n_w + n_u
    slack = sparse.csr_matrix((np.ones(n_u), (slack_row, np.arange(n_u))), shape=(n_g, n_u))
    cov_rows = sparse.hstack([cover[reps], sparse.csr_matrix((n_g, n_w)), slack])
    # tour rows, per day d and family f: sum_{s in f} x[d, s] - sum_{p works d} w[p, f] = 0;
    # pattern p works days p .. p+4
    in_family = sparse.csr_matrix((np.ones(n_tpl), (family_of, np.arange(n_tpl))), shape=(n_f, n_tpl))
    x_part = sparse.kron(sparse.identity(DAYS), in_family)
    works = np.zeros((DAYS, DAYS))
    for p in range(DAYS):
        works[(p + np.arange(5)) % DAYS, p] = 1.0
    w_part = sparse.kron(sparse.csr_matrix(works), sparse.identity(n_f))
    tour_rows = sparse.hstack([x_part, -w_part, sparse.csr_matrix((DAYS * n_f, n_u))])
    # Integer aggregates: agents per (day, family) and per day, tours per family and in
    # all.  They add no restriction (sums of integers) but branching on them moves the
    # bound far more than branching on single shift counts does.
    aggregates = sparse.vstack([
        sparse.hstack([x_part, sparse.csr_matrix((DAYS * n_f, n_w + n_u))]),
        sparse.hstack([sparse.kron(sparse.identity(DAYS), np.ones((1, n_tpl))), sparse.csr_matrix((DAYS, n_w + n_u))]),
        sparse.hstack([sparse.csr_matrix((n_f, n_x)), sparse.kron(np.ones((1, DAYS)), sparse.identity(n_f)),
                       sparse.csr_matrix((n_f, n_u))]),
        sparse.hstack([sparse.csr_matrix((1, n_x)), np.ones((1, n_w)), sparse.csr_matrix((1, n_u))]),
    ]).tocsr()
    n_agg = aggregates.shape[0]
    cost = np.concatenate([shift_cost, np.zeros(n_w), slack_cost, np.zeros(n_agg)])
    n = cost.size
    lower = np.zeros(n)
    # Rounding cut: intervals only one family can cover on one day force agents of that
    # family that day; the fewest 5-day tours meeting those minima bound the family's tours
    # from below -- the LP happily uses 4.2 night tours where 5 are needed.  Valid for
    # optimal schedules when one extra tour costs less than one uncovered agent-interval.
    if under_penalty > 5.0 * float(shift_cost.max(initial=0.0)):
        need = np.zeros((DAYS, n_f))
        block = (np.arange(n_x) // n_tpl) * n_f + np.tile(family_of, DAYS)  # (day, family) of each x column
        cov_csr = cover[reps].tocsr()
        for g in range(n_g):
            cols = cov_csr.indices[cov_csr.indptr[g] : cov_csr.indptr[g + 1]]
            if cols.size and np.all(block[cols] == block[cols[0]]):
                d, f = divmod(int(block[cols[0]]), n_f)
                need[d, f] = max(need[d, f], row_req[g])
        first_total = n_base + DAYS * n_f + DAYS  # aggregate columns: (day, family), day, family, all
        for f in range(n_f):
            if need[:, f].any():
                lower[first_total + f] = _min_tours(need[:, f], works, threads)
    upper = np.concatenate([np.full(n_x + n_w, np.inf), slack_up, np.full(n_agg, np.inf)])
    integer = np.concatenate([np.ones(n_x + n_w, dtype=bool), np.zeros(n_u, dtype=bool), np.ones(n_agg, dtype=bool)])
    a = sparse.vstack([
        sparse.hstack([cov_rows, sparse.csr_matrix((n_g, n_agg))]),
        sparse.hstack([tour_rows, sparse.csr_matrix((DAYS * n_f, n_agg))]),
        sparse.hstack([aggregates, -sparse.identity(n_agg)]),
    ]).tocsr()
    row_lower = np.concatenate([row_req, np.zeros(DAYS * n_f + n_agg)])
    row_upper = np.concatenate([np.full(n_g, np.inf), np.zeros(DAYS * n_f + n_agg)])
    start = time.perf_counter()
    values, objective, gap, status = _solve(
        cost, lower, upper, integer, a, row_lower, row_upper, time_limit, mip_gap, threads
    )
    seconds = time.perf_counter() - start
    counts = np.rint(values[:n_x]).astype(np.int64).reshape(DAYS, n_tpl)
    tour_groups = np.rint(values[n_x : n_x + n_w]).astype(np.int64).reshape(DAYS, n_f)
    coverage = (cover @ counts.ravel()).astype(np.int64)
    under = np.maximum(required - coverage, 0)
    objective = float(np.dot(shift_cost, counts.ravel()) + under_penalty * under.sum())
    return WeeklySchedule(
        templates, interval_minutes, counts, tour_groups.sum(axis=1), coverage, required, objective, gap, status, seconds,
        families=families, tour_groups=tour_groups, min_rest_hours=min_rest_hours,
    )


# --------------------------------------------------------------------------- rostering


@dataclass(frozen=True)
class Agent:
    name: str
    unavailable_days: frozenset[int] = frozenset()  # 0 = Monday
    max_days: int = 5
    unsocial_carry: int = 0  # unsocial shifts already worked in the rotation period (e.g. last 4 weeks)


@dataclass
class Roster:
    assignments: list[tuple[str, int, str]]  # (agent, day, template name)
    unsocial_max: int
    hours: dict[str, float] = field(default_factory=dict)
    mip_gap: float = 0.0
    status: str = ""
    seconds: float = 0.0
    tours: dict[str, tuple[int, int]] = field(default_factory=dict)  # agent -> (days-off pattern, family)
    # tour assignment: 10 x max over agents of (unsocial_carry + this week's unsocial shifts)
    # + hours spread among agents with a tour
    objective: float = float("nan")


def _starts_within(day_a: int, tpl_a: ShiftTemplate, day_b: int, tpl_b: ShiftTemplate, rest_minutes: int) -> bool:
    """True if (day_b, tpl_b) starts during (day_a, tpl_a) or less than ``rest_minutes`` after it ends."""
    week = DAYS * MINUTES_PER_DAY
    a_start = day_a * MINUTES_PER_DAY + tpl_a.start_minute
    b_start = day_b * MINUTES_PER_DAY + tpl_b.start_minute
    return (b_start - a_start) % week < tpl_a.length_minutes + rest_minutes


def assign_agents(
    schedule: WeeklySchedule,
    agents: Sequence[Agent],
    *,
    min_rest_hours: float = 11.0,
    time_limit: float = 25.0,
    mip_gap: float = 0.005,
) -> Roster:
    """Put named agents on the scheduled shifts.

    When ``schedule`` was built with rest-aware tours (``schedule_week``'s
    ``min_rest_hours`` >= this one), each agent gets one whole tour -- a
    days-off pattern and a shift family -- by a small assignment MIP:
    binary ``v[a, g]`` for agent a and tour group g = (pattern, family), every
    tour filled, at most one per agent, none working a day the agent is
    unavailable or with more days than ``max_days``; objective ``10 x max over
    agents of (Agent.unsocial_carry + unsocial shifts this week) + (hours
    spread among agents with a tour)`` -- night and weekend tours go to whoever
    has carried fewest so far, so fairness builds up over a rotation.  Every tour's rest, hours and unsocial count are fixed by its
    group, so this is exact.  Each day, a family's shifts go to its agents in
    start order with agents in a fixed order, so an agent's start time
    moves as little as the day's shift mix allows.

    Otherwise (``min_rest_hours=None`` schedules) the shift-level MIP of the
    module docstring is solved.
    """
    if (
        schedule.tour_groups is not None
        and schedule.min_rest_hours is not None
        and min_rest_hours <= schedule.min_rest_hours + 1e-9
    ):
        return _assign_tours(schedule, agents, time_limit=time_limit, mip_gap=mip_gap)
    return _assign_shifts(schedule, agents, min_rest_hours=min_rest_hours, time_limit=time_limit, mip_gap=mip_gap)


def _tour_days(pattern: int) -> list[int]:
    return [(pattern + i) % DAYS for i in range(5)]


def _assign_tours(schedule: WeeklySchedule, agents: Sequence[Agent], *, time_limit: float, mip_gap: float) -> Roster:
    assert schedule.tour_groups is not None
    tpls = schedule.templates
    groups = [(int(p), int(f), int(schedule.tour_groups[p, f])) for p, f in zip(*np.nonzero(schedule.tour_groups))]
    n_a, n_g = len(agents), len(groups)
    families = schedule.families
    night_of = [[tpls[s].is_night() for s in fam] for fam in families]
    # Unsocial shifts fixed by the tour: weekend days, and weekdays of all-night families.
    # Families mixing night and day members ("mixed"): who takes that weekday's night
    # shifts is decided here too, by binary y[a, block], block = (day, family).
    base = np.array([sum(1 for d in _tour_days(p) if d >= 5 or all(night_of[f])) for p, f, _ in groups])
    blocks = []  # (day, family, night shifts that day)
    for f, fam in enumerate(families):
        if any(night_of[f]) and not all(night_of[f]):
            for d in range(5):
                nights = int(sum(schedule.counts[d, s] for s, night in zip(fam, night_of[f]) if night))
                if nights:
                    blocks.append((d, f, nights))
    n_b = len(blocks)
    hours = np.array([5 * tpls[families[f][0]].length_minutes / 60.0 for _, f, _ in groups])
    big = float(hours.max()) if n_g else 0.0
    n_v, n_y = n_a * n_g, n_a * n_b
    m_col = n_v + n_y
    # columns: v (agent-major), y (agent-major), m (max unsocial incl. carry), hmax, hmin
    cost = np.zeros(m_col + 3)
    cost[m_col], cost[m_col + 1], cost[m_col + 2] = 10.0, 1.0, -1.0
    lower = np.zeros(m_col + 3)
    upper = np.concatenate([np.ones(n_v + n_y), [np.inf, np.inf, np.inf]])
    for ai, agent in enumerate(agents):
        for gi, (p, _, _) in enumerate(groups):
            if agent.max_days < 5 or set(_tour_days(p)) & set(agent.unavailable_days):
                upper[ai * n_g + gi] = 0.0
    integer = np.concatenate([np.ones(n_v + n_y, dtype=bool), np.zeros(3, dtype=bool)])
    rows: list[tuple[list[int], list[float], float, float]] = []
    for gi, (_, _, count) in enumerate(groups):
        rows.append(([ai * n_g + gi for ai in range(n_a)], [1.0] * n_a, count, count))
    for bi, (d, f, nights) in enumerate(blocks):
        rows.append(([n_v + ai * n_b + bi for ai in range(n_a)], [1.0] * n_a, nights, nights))
        serving = [gi for gi, (p, ff, _) in enumerate(groups) if ff == f and d in _tour_days(p)]
        for ai in range(n_a):  # only an agent working that family that day takes its night shift
            rows.append(([n_v + ai * n_b + bi] + [ai * n_g + gi for gi in serving], [1.0] + [-1.0] * len(serving),
                         -np.inf, 0.0))
    for ai in range(n_a):
        mine = list(range(ai * n_g, (ai + 1) * n_g))
        ys = list(range(n_v + ai * n_b, n_v + (ai + 1) * n_b))
        rows.append((mine, [1.0] * n_g, 0.0, 1.0))
        # m >= carried-over + this week's unsocial shifts, for every agent
        carry = float(agents[ai].unsocial_carry)
        rows.append((mine + ys + [m_col], base.tolist() + [1.0] * n_b + [-1.0], -np.inf, -carry))
        rows.append((mine + [m_col + 1], hours.tolist() + [-1.0], -np.inf, 0.0))
        # hmin <= hours of an agent with a tour (agents without one are left out: + big x (1 - sum v))
        rows.append((mine + [m_col + 2], (hours - big).tolist() + [-1.0], -big, np.inf))
    indptr = np.cumsum([0] + [len(r[0]) for r in rows])
    a = sparse.csr_matrix(
        (np.concatenate([r[1] for r in rows]), np.concatenate([r[0] for r in rows]).astype(np.int64), indptr),
        shape=(len(rows), m_col + 3),
    )
    start = time.perf_counter()
    try:
        values, objective, gap, status = _solve(
            cost, lower, upper, integer, a,
            np.array([r[2] for r in rows], dtype=float), np.array([r[3] for r in rows], dtype=float),
            time_limit, mip_gap,
        )
    except RuntimeError as exc:
        raise RuntimeError(
            f"cannot hand the {sum(c for _, _, c in groups)} tours to these {n_a} agents "
            f"(availability / max days): {exc}"
        ) from exc
    seconds = time.perf_counter() - start
    v = np.rint(values[:n_v]).reshape(n_a, n_g).astype(bool)
    y = np.rint(values[n_v : n_v + n_y]).reshape(n_a, n_b).astype(bool)
    tour_of = {int(ai): groups[gi] for ai, gi in zip(*np.nonzero(v))}
    night_takers = {(d, f): {int(ai) for ai in np.flatnonzero(y[:, bi])} for bi, (d, f, _) in enumerate(blocks)}
    assignments: list[tuple[str, int, str]] = []
    for f, members in enumerate(families):
        by_start = sorted(members, key=lambda s: tpls[s].start_minute)
        for d in range(DAYS):
            working = [ai for ai, (p, ff, _) in sorted(tour_of.items()) if ff == f and d in _tour_days(p)]
            takers = night_takers.get((d, f))
            if takers is None:  # no choice to make: start order, agents in a fixed order
                pairs = [(working, [s for s in by_start for _ in range(int(schedule.counts[d, s]))])]
            else:
                pairs = [
                    ([ai for ai in working if ai not in takers],
                     [s for s in by_start if not tpls[s].is_night() for _ in range(int(schedule.counts[d, s]))]),
                    ([ai for ai in working if ai in takers],
                     [s for s in by_start if tpls[s].is_night() for _ in range(int(schedule.counts[d, s]))]),
                ]
            for who, slots in pairs:
                if len(slots) != len(who):
                    raise RuntimeError(f"family {f}, day {d}: {len(slots)} shifts for {len(who)} agents")
                assignments.extend((agents[ai].name, d, tpls[s].name) for ai, s in zip(who, slots))
    assignments.sort(key=lambda t: (t[0], t[1]))
    by_name = {t.name: t for t in tpls}
    agent_hours = {agent.name: 0.0 for agent in agents}
    week_unsocial = {agent.name: 0 for agent in agents}
    for name, d, tname in assignments:
        agent_hours[name] += by_name[tname].length_minutes / 60.0
        week_unsocial[name] += int(by_name[tname].is_night() or d >= 5)
    worked = [agent_hours[agents[ai].name] for ai in tour_of]
    fairness = max((a.unsocial_carry + week_unsocial[a.name] for a in agents), default=0)
    spread = (max(worked) - min(worked)) if worked else 0.0
    return Roster(
        assignments=assignments,
        unsocial_max=max(week_unsocial.values(), default=0),
        hours=agent_hours,
        mip_gap=gap,
        status=status,
        seconds=seconds,
        tours={agents[ai].name: (p, f) for ai, (p, f, _) in tour_of.items()},
        objective=10.0 * fairness + spread,
    )


def _assign_shifts(
    schedule: WeeklySchedule,
    agents: Sequence[Agent],
    *,
    min_rest_hours: float,
    time_limit: float,
    mip_gap: float,
) -> Roster:
    """Shift-level roster MIP (for schedules without rest-aware tours)."""
    shifts = schedule.shifts()
    tpls = schedule.templates
    n_a, n_s = len(agents), len(shifts)
    n_z = n_a * n_s
    # columns: z (agent-major), then m (max unsocial shifts), then hmax, hmin (hours balance)
    cost = np.zeros(n_z + 3)
    cost[n_z] = 10.0  # fairness of unsocial shifts first
    cost[n_z + 1], cost[n_z + 2] = 1.0, -1.0  # then spread of hours
    lower = np.zeros(n_z + 3)
    upper = np.concatenate([np.ones(n_z), [np.inf, np.inf, np.inf]])
    for ai, agent in enumerate(agents):
        for si, (day, _, _) in enumerate(shifts):
            if day in agent.unavailable_days:
                upper[ai * n_s + si] = 0.0
    integer = np.concatenate([np.ones(n_z, dtype=bool), [False, False, False]])
    rows: list[tuple[list[int], list[float], float, float]] = []
    # every shift slot filled
    for si, (_, _, count) in enumerate(shifts):
        rows.append(([ai * n_s + si for ai in range(n_a)], [1.0] * n_a, count, count))
    by_day = [[si for si, sh in enumerate(shifts) if sh[0] == d] for d in range(DAYS)]
    unsocial = [tpls[s].is_night() or d >= 5 for d, s, _ in shifts]
    hours = [tpls[s].length_minutes / 60.0 for _, s, _ in shifts]
    # shifts too close together: for each shift, the later shifts starting within the rest window
    rest = int(min_rest_hours * 60)
    clash = [
        [
            sj
            for sj, (dj, tj, _) in enumerate(shifts)
            if dj != shifts[si][0] and _starts_within(shifts[si][0], tpls[shifts[si][1]], dj, tpls[tj], rest)
        ]
        for si in range(n_s)
    ]
    for ai, agent in enumerate(agents):
        base = ai * n_s
        for d in range(DAYS):
            if by_day[d]:
                rows.append(([base + si for si in by_day[d]], [1.0] * len(by_day[d]), 0.0, 1.0))
        rows.append(([base + si for si in range(n_s)], [1.0] * n_s, 0.0, float(agent.max_days)))
        for si in range(n_s):
            if clash[si]:
                # at most one shift a day, so one constraint per shift covers all its clashes
                idx = [base + si] + [base + sj for sj in clash[si]]
                rows.append((idx, [1.0] * len(idx), 0.0, 1.0))
        uns = [si for si in range(n_s) if unsocial[si]]
        rows.append(([base + si for si in uns] + [n_z], [1.0] * len(uns) + [-1.0], -np.inf, 0.0))
        rows.append(([base + si for si in range(n_s)] + [n_z + 1], hours + [-1.0], -np.inf, 0.0))
        rows.append(([base + si for si in range(n_s)] + [n_z + 2], hours + [-1.0], 0.0, np.inf))
    indptr = np.cumsum([0] + [len(r[0]) for r in rows])
    a = sparse.csr_matrix(
        (np.concatenate([r[1] for r in rows]), np.concatenate([r[0] for r in rows]).astype(np.int64), indptr),
        shape=(len(rows), n_z + 3),
    )
    start = time.perf_counter()
    values, _, gap, status = _solve(
        cost,
        lower,
        upper,
        integer,
        a,
        np.array([r[2] for r in rows], dtype=float),
        np.array([r[3] for r in rows], dtype=float),
        time_limit,
        mip_gap,
    )
    seconds = time.perf_counter() - start
    z = np.rint(values[:n_z]).reshape(n_a, n_s).astype(bool)
    assignments = [
        (agents[ai].name, shifts[si][0], tpls[shifts[si][1]].name) for ai, si in zip(*np.nonzero(z))
    ]
    agent_hours = {agents[ai].name: float(np.dot(z[ai], hours)) for ai in range(n_a)}
    return Roster(
        assignments=assignments,
        unsocial_max=int(round(values[n_z])),
        hours=agent_hours,
        mip_gap=gap,
        status=status,
        seconds=seconds,
    )
