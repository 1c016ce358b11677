"""Shift scheduling and rostering as mixed-integer programmes solved by HiGHS.

Step 1, :func:`schedule_week` -- how many agents work each shift template on
each day.  The week is cyclic (a Sunday-night shift runs into Monday
morning).  Variables: ``x[d, s]`` agents on template s starting on day d,
``w[p]`` weekly tours with pattern p (5 consecutive working days, the other
2 off; 7 rotations), ``u[t]`` uncovered agents in interval t.  Constraints:

* coverage: ``sum_{(d,s) covering t} x[d, s] + u[t] >= required[t]`` --
  a template covers the intervals of its length minus its breaks;
* tours: ``sum_s x[d, s] = sum_{p works on d} w[p]`` for every day, so the
  daily shifts decompose into agents with two consecutive days off.

Objective: shift costs (paid hours, night premium) plus a large penalty per
uncovered agent-interval, so demand is met whenever the templates allow.
Over/under coverage per interval is reported.

Step 2, :func:`assign_agents` -- named agents onto those shifts: binary
``z[a, d, s]``, every shift filled, at most one shift a day and
``max_days`` a week per agent, availability respected, at least
``min_rest_hours`` between consecutive shifts (pairs closer than that
exclude each other), and fairness: the most "unsocial" (night or weekend)
shifts any agent gets is minimised, then hours are balanced.

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


def schedule_week(
    required: Sequence[int] | NDArray[np.int64],
    templates: Sequence[ShiftTemplate],
    *,
    interval_minutes: int = 15,
    under_penalty: float = 1000.0,
    time_limit: float = 25.0,
    mip_gap: float = 0.001,
) -> WeeklySchedule:
    """Least-cost weekly shift counts covering ``required`` (agents per interval, Monday 00:00 first)."""
    required = np.asarray(required, dtype=np.int64)
    per_day = MINUTES_PER_DAY // interval_minutes
    if required.size != DAYS * per_day:
        raise ValueError(f"need {DAYS * per_day} intervals of {interval_minutes} minutes")
    templates = list(templates)
    n_tpl = len(templates)
    cover = coverage_matrix(templates, interval_minutes)
    n_x, n_t = DAYS * n_tpl, required.size
    n_w = DAYS
    # columns: x (7*S), w (7), u (T)
    shift_cost = np.tile([tpl.paid_cost() for tpl in templates], DAYS)
    cost = np.concatenate([shift_cost, np.zeros(n_w), np.full(n_t, under_penalty)])
    n = cost.size
    lower = np.zeros(n)
    upper = np.concatenate([np.full(n_x + n_w, np.inf), required.astype(float)])
    integer = np.concatenate([np.ones(n_x + n_w, dtype=bool), np.zeros(n_t, dtype=bool)])
    # coverage rows: cover @ x + u >= required
    cov_rows = sparse.hstack([cover, sparse.csr_matrix((n_t, n_w)), sparse.identity(n_t, format="csr")])
    # tour rows: sum_s x[d, s] - sum_{p covers d} w[p] = 0; pattern p works days p .. p+4
    day_sum = sparse.kron(sparse.identity(DAYS), np.ones((1, n_tpl)))
    works = np.zeros((DAYS, n_w))
    for p in range(n_w):
        works[(p + np.arange(5)) % DAYS, p] = 1.0
    tour_rows = sparse.hstack([day_sum, sparse.csr_matrix(-works), sparse.csr_matrix((DAYS, n_t))])
    a = sparse.vstack([cov_rows, tour_rows]).tocsr()
    row_lower = np.concatenate([required.astype(float), np.zeros(DAYS)])
    row_upper = np.concatenate([np.full(n_t, np.inf), np.zeros(DAYS)])
    start = time.perf_counter()
    values, objective, gap, status = _solve(cost, lower, upper, integer, a, row_lower, row_upper, time_limit, mip_gap)
    seconds = time.perf_counter() - start
    counts = np.rint(values[:n_x]).astype(np.int64).reshape(DAYS, n_tpl)
    tours = np.rint(values[n_x : n_x + n_w]).astype(np.int64)
    coverage = (cover @ counts.ravel()).astype(np.int64)
    return WeeklySchedule(templates, interval_minutes, counts, tours, coverage, required, objective, gap, status, seconds)


# --------------------------------------------------------------------------- rostering


@dataclass(frozen=True)
class Agent:
    name: str
    unavailable_days: frozenset[int] = frozenset()  # 0 = Monday
    max_days: int = 5


@dataclass
class Roster:
    assignments: list[tuple[str, int, str]]  # (agent, day, template name)
    unsocial_max: int
    hours: dict[str, float] = field(default_factory=dict)
    mip_gap: float = 0.0
    status: str = ""
    seconds: float = 0.0


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
    """Put named agents on the scheduled shifts (see module docstring for the model)."""
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
