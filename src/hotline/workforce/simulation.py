"""Discrete-event simulation of hotline queues (numbers only, no database).

Single skill (:func:`simulate_single_skill`)
    One FCFS queue, Poisson arrivals whose rate is constant within each
    interval, handle times exponential (or log-normal) with the interval's AHT,
    callers hanging up after an exponential (or sampled) patience, agents per
    interval from a schedule.  The engine is the Kiefer-Wolfowitz recursion
    on the vector of agents' free times: callers are taken in arrival order
    and each starts at the earliest moment an on-shift agent is free, unless
    that is later than arrival + patience.  That step is sequential in the
    caller index but identical across replications, so it runs vectorised
    over all replications (and scenarios) at once -- rows of one matrix.
    Agent columns are stacked: column j is on shift in interval k iff
    j < agents[k]; an agent whose shift ends finishes the call in hand.

Multi skill (:func:`simulate_multi_skill`)
    Several queues, agent groups with a skill set and a priority per skill
    (1 = serve first).  A new call goes to an idle agent of the group that
    ranks its queue highest; a freed agent takes the oldest call of its
    best-priority non-empty queues.  Agents within a group are
    interchangeable, so the state is idle counts, FIFO queues and a heap of
    completions; abandonment is settled lazily when a call reaches the head
    of its queue, which keeps the event count at about two per call.

Both report service level (three definitions, see :mod:`queueing`), ASA,
abandon rate and occupancy with Student-t confidence intervals over
independent replications.  :func:`storm_extra_agents` answers what-if
questions such as "repair calls triple from 14:00 for 4 hours: how many extra
agents keep the service level >= 80%?".
"""

from __future__ import annotations

import heapq
import os
import time
import warnings
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from .queueing import SERVICE_LEVEL_DEFINITIONS, ServiceLevelDefinition
from .staffing import StaffingTargets, required_agents

FloatArray = NDArray[np.float64]
# rng, mean (array), size -> samples; lets callers plug in any distribution.
Sampler = Callable[[np.random.Generator, FloatArray], FloatArray]


@dataclass(frozen=True)
class Estimate:
    """Mean over replications and a two-sided confidence interval."""

    mean: float
    low: float
    high: float

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high


def _estimate(samples: FloatArray, confidence: float) -> Estimate:
    samples = np.asarray(samples, dtype=float)
    samples = samples[np.isfinite(samples)]
    if samples.size == 0:
        return Estimate(float("nan"), float("nan"), float("nan"))
    mean = float(samples.mean())
    if samples.size < 2:
        return Estimate(mean, float("nan"), float("nan"))
    half = stats.t.ppf(0.5 + confidence / 2, samples.size - 1) * samples.std(ddof=1) / np.sqrt(samples.size)
    return Estimate(mean, mean - float(half), mean + float(half))


@dataclass(frozen=True)
class SimulationResult:
    """Counts per replication (rows) and interval of arrival (columns)."""

    interval_seconds: float
    offered: NDArray[np.int64]
    answered: NDArray[np.int64]
    answered_within: NDArray[np.int64]  # answered with wait <= answer_time
    abandoned: NDArray[np.int64]
    short_abandoned: NDArray[np.int64]  # abandoned with wait <= short_abandon
    answered_wait: FloatArray  # sum of waits of answered calls
    busy_seconds: FloatArray  # agent time spent handling calls, by interval it falls in
    staffed_seconds: FloatArray  # agent time on shift
    confidence: float = 0.95

    @property
    def replications(self) -> int:
        return int(self.offered.shape[0])

    def _per_rep(self, num: NDArray, den: NDArray, intervals: slice | NDArray | None) -> FloatArray:
        sel = slice(None) if intervals is None else intervals
        n = np.asarray(num[:, sel], dtype=float).sum(axis=1)
        d = np.asarray(den[:, sel], dtype=float).sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            return n / d

    def service_level_samples(
        self, definition: ServiceLevelDefinition = "offered", intervals: slice | NDArray | None = None
    ) -> FloatArray:
        if definition == "offered":
            den = self.offered
        elif definition == "answered":
            den = self.answered
        elif definition == "offered_minus_short_abandons":
            den = self.offered - self.short_abandoned
        else:
            raise ValueError(f"unknown service-level definition {definition!r}; use {SERVICE_LEVEL_DEFINITIONS}")
        return self._per_rep(self.answered_within, den, intervals)

    def service_level(
        self, definition: ServiceLevelDefinition = "offered", intervals: slice | NDArray | None = None
    ) -> Estimate:
        return _estimate(self.service_level_samples(definition, intervals), self.confidence)

    def asa(self, intervals: slice | NDArray | None = None) -> Estimate:
        return _estimate(self._per_rep(self.answered_wait, self.answered, intervals), self.confidence)

    def abandon_rate(self, intervals: slice | NDArray | None = None) -> Estimate:
        return _estimate(self._per_rep(self.abandoned, self.offered, intervals), self.confidence)

    def occupancy(self, intervals: slice | NDArray | None = None) -> Estimate:
        return _estimate(self._per_rep(self.busy_seconds, self.staffed_seconds, intervals), self.confidence)

    def service_level_by_interval(self, definition: ServiceLevelDefinition = "offered") -> FloatArray:
        """Mean over replications of each interval's service level (NaN where no calls)."""
        k = self.offered.shape[1]
        return np.array([self.service_level(definition, np.array([i])).mean for i in range(k)])

    @property
    def calls(self) -> int:
        return int(self.offered.sum())


# --------------------------------------------------------------------------- single skill


@dataclass(frozen=True)
class SingleSkillModel:
    """One queue over consecutive intervals; rates per second, times in seconds."""

    interval_seconds: float
    arrival_rate: ArrayLike  # per interval
    aht: ArrayLike  # per interval or scalar
    agents: ArrayLike  # per interval or scalar
    patience: float | None = None  # mean of exponential patience; None = never abandon
    patience_sampler: Sampler | None = None  # overrides ``patience``: (rng, size-array) -> times
    service_cv: float = 1.0  # 1 = exponential; otherwise log-normal with this coefficient of variation

    def arrays(self) -> tuple[FloatArray, FloatArray, NDArray[np.int64]]:
        rate = np.atleast_1d(np.asarray(self.arrival_rate, dtype=float))
        k = rate.size
        aht = np.broadcast_to(np.asarray(self.aht, dtype=float), (k,)).copy()
        agents = np.broadcast_to(np.asarray(self.agents), (k,)).astype(np.int64)
        return rate, aht, agents


def _arrivals(
    rng: np.random.Generator, rate: FloatArray, interval: float, rows: int
) -> tuple[FloatArray, NDArray[np.int64], NDArray[np.int64]]:
    """Piecewise-constant Poisson arrivals for ``rows`` independent streams.

    Returns times padded with +inf to a (rows, max count) matrix, the interval
    index of each call and the count per row.
    """
    k = rate.size
    counts = rng.poisson(np.broadcast_to(rate * interval, (rows, k)))
    per_row = counts.sum(axis=1)
    width = int(per_row.max()) if rows else 0
    times = np.full((rows, width), np.inf)
    which = np.zeros((rows, width), dtype=np.int64)
    # Given n calls in an interval, their times are uniform order statistics,
    # i.e. normalised partial sums of n + 1 exponentials: sorted without sorting.
    group = counts.ravel()
    spacing = rng.exponential(1.0, int(group.sum()) + group.size)
    total = np.cumsum(spacing)
    if numba_engine() is not None:  # same numbers, without the (calls)-sized temporaries
        from ._fcfs_numba import fill_arrivals

        fill_arrivals(np.ascontiguousarray(counts, dtype=np.int64), total, float(interval), times, which)
        return times, which, per_row
    ends = np.cumsum(group + 1) - 1  # index of each group's extra (last) spacing
    before = np.concatenate(([0.0], total[ends[:-1]]))
    span = total[ends] - before
    keep = np.ones(total.size, dtype=bool)
    keep[ends] = False
    owner = np.repeat(np.arange(group.size), group)  # group of each call, row-major
    frac = (total[keep] - before[owner]) / span[owner]
    flat_interval = owner % k
    flat_row = owner // k
    t = (flat_interval + frac) * interval
    starts = np.concatenate(([0], np.cumsum(per_row)[:-1]))
    col = np.arange(t.size) - np.repeat(starts, per_row)
    flat = flat_row * width + col
    times.ravel()[flat] = t
    which.ravel()[flat] = flat_interval
    return times, which, per_row


def _service_times(rng: np.random.Generator, mean: FloatArray, cv: float) -> FloatArray:
    if cv == 1.0:
        return rng.exponential(1.0, mean.shape) * mean
    sigma2 = np.log1p(cv * cv)
    return mean * rng.lognormal(-sigma2 / 2, np.sqrt(sigma2), mean.shape)


def _fcfs_with_abandonment(
    arrival: FloatArray,
    which: NDArray[np.int64],
    service: FloatArray,
    patience: FloatArray,
    agents: NDArray[np.int64],
    interval: float,
) -> FloatArray:
    """Start time of each caller (NaN if they abandon); rows are independent systems.

    ``arrival`` is padded with +inf, ``which`` holds each call's arrival
    interval, ``agents`` (rows, K) the staffing per row and interval; after
    the last interval the last staffing continues so the queue drains.

    Fast path: mask the agents off shift in the caller's arrival interval and
    take the earliest free one; that is exact whenever the call starts within
    the same interval (staffing cannot change before it).  Rows whose start
    would cross an interval boundary are redone with each column's next
    on-shift time.  The loop body is a fixed handful of numpy calls on
    (rows x agents) arrays, so more replications cost little extra.
    """
    rows, width = arrival.shape
    k = agents.shape[1]
    nmax = max(int(agents.max()), 1)
    col = np.arange(nmax)
    idx = np.arange(rows)
    free = np.zeros((rows, nmax))  # true free time of every column
    masked = np.zeros((rows, nmax))  # same, +inf where off shift in the row's current interval
    current = np.full(rows, -1)
    # Column-major copies: step m reads one contiguous row of each.
    arr_t = np.ascontiguousarray(arrival.T)
    pat_t = np.ascontiguousarray(patience.T)
    svc_t = np.ascontiguousarray(service.T)
    which_t = np.ascontiguousarray(np.where(np.isfinite(arrival), which, k - 1).T)
    limit_t = np.where(which_t < k - 1, (which_t + 1) * interval, np.inf)
    begin_t = np.full((width, rows), np.nan)
    varying = not bool(np.all(agents == agents[:, :1]))
    if varying:
        # next_on[r, k, j]: start of the first interval after k where column j is on shift
        on = col[None, None, :] < agents[:, :, None]
        next_on = np.full((rows, k, nmax), np.inf)
        for kk in range(k - 2, -1, -1):
            next_on[:, kk, :] = np.where(on[:, kk + 1, :], (kk + 1) * interval, next_on[:, kk + 1, :])
    inv = 1.0 / interval
    with np.errstate(invalid="ignore"):
        for m in range(width):
            a = arr_t[m]
            ka = which_t[m]
            moved = ka != current
            if moved.any():
                r = idx[moved]
                current[r] = ka[r]
                masked[r] = np.where(col[None, :] < agents[r, ka[r]][:, None], free[r], np.inf)
            j = masked.argmin(axis=1)
            begin = np.maximum(masked[idx, j], a)
            if varying:
                cross = begin >= limit_t[m]
                if cross.any():
                    r = idx[cross]
                    cand = np.maximum(free[r], a[r, None])
                    kc = np.minimum(cand * inv, k - 1).astype(np.int64)
                    ok = col[None, :] < agents[r[:, None], kc]
                    avail = np.where(ok, cand, next_on[r[:, None], kc, col[None, :]])
                    # earliest start; ties go to the agent free longest, as in the fast path
                    first = avail.min(axis=1)
                    jr = np.where(avail == first[:, None], free[r], np.inf).argmin(axis=1)
                    j[r] = jr
                    begin[r] = np.maximum(first, a[r])
            # padded entries: inf - inf is NaN, which compares False
            served = begin - a <= pat_t[m]
            rs, js = idx[served], j[served]
            done = begin[served] + svc_t[m, served]
            free[rs, js] = done
            if varying:
                # the masked copy follows only where that column is on shift now
                on_now = np.isfinite(masked[rs, js])
                masked[rs[on_now], js[on_now]] = done[on_now]
            else:
                masked[rs, js] = done
            begin_t[m] = np.where(served, begin, np.nan)
    return begin_t.T


ENGINES = ("auto", "numba", "numpy")
_numba_kernel: Callable[..., FloatArray] | None | bool = False  # False: not looked up yet


def numba_engine() -> Callable[..., FloatArray] | None:
    """The compiled FCFS kernel, or None when numba is not installed (or HOTLINE_SIM_ENGINE=numpy)."""
    global _numba_kernel
    if _numba_kernel is False:
        if os.environ.get("HOTLINE_SIM_ENGINE", "auto") == "numpy":
            _numba_kernel = None
        else:
            try:
                from ._fcfs_numba import fcfs_rows
            except ImportError:  # numba missing or broken: numpy engine
                _numba_kernel = None
            else:
                _numba_kernel = fcfs_rows
    return _numba_kernel  # type: ignore[return-value]


def fcfs_start_times(
    arrival: FloatArray,
    which: NDArray[np.int64],
    service: FloatArray,
    patience: FloatArray,
    agents: NDArray[np.int64],
    interval: float,
    engine: str = "auto",
) -> FloatArray:
    """Start time of each caller (NaN if they abandon), see :func:`_fcfs_with_abandonment`.

    ``engine``: ``numba`` (compiled, ~10x faster; first call compiles for a
    few seconds), ``numpy`` (the vectorised fallback) or ``auto`` (numba when
    installed).  Both give identical results.
    """
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; use one of {ENGINES}")
    kernel = numba_engine() if engine != "numpy" else None
    if kernel is None:
        if engine == "numba":
            raise RuntimeError("numba engine requested but numba is not available")
        return _fcfs_with_abandonment(arrival, which, service, patience, agents, interval)
    return kernel(
        np.ascontiguousarray(arrival, dtype=np.float64),
        np.ascontiguousarray(which, dtype=np.int64),
        np.ascontiguousarray(service, dtype=np.float64),
        np.ascontiguousarray(patience, dtype=np.float64),
        np.ascontiguousarray(agents, dtype=np.int64),
        float(interval),
    )


def _summarise(
    arrival: FloatArray,
    which: NDArray[np.int64],
    start: FloatArray,
    service: FloatArray,
    patience: FloatArray,
    staffing: NDArray[np.int64],
    interval: float,
    answer_time: float,
    short_abandon: float,
    warmup: float,
) -> SimulationResult:
    rows, k = staffing.shape
    real = np.isfinite(arrival)
    counted = real & (arrival >= warmup)
    answered = counted & np.isfinite(start)
    abandoned = counted & ~np.isfinite(start)
    wait = np.where(answered, start - arrival, 0.0)
    hang_up = np.where(abandoned, patience, np.inf)
    key = np.arange(rows)[:, None] * k + which

    def count(mask: NDArray[np.bool_], weights: FloatArray | None = None) -> NDArray:
        w = None if weights is None else weights[mask]
        out = np.bincount(key[mask], weights=w, minlength=rows * k).reshape(rows, k)
        return out if weights is not None else out.astype(np.int64)

    # Busy time by interval: split each call's [start, end) over the intervals it spans.
    served = real & np.isfinite(start)
    s = start[served]
    # agent time after the last interval is outside every interval's staffed time
    e = np.minimum(s + service[served], k * interval)
    keep = s < k * interval
    s, e = s[keep], e[keep]
    r = np.nonzero(served)[0][keep]
    ks = np.minimum((s // interval).astype(np.int64), k - 1)
    ke = np.minimum((e // interval).astype(np.int64), k - 1)
    same = ks == ke
    busy = np.bincount(r * k + ks, weights=np.where(same, e - s, (ks + 1) * interval - s), minlength=rows * k)
    busy += np.bincount((r * k + ke)[~same], weights=(e - ke * interval)[~same], minlength=rows * k)
    # whole intervals strictly inside [start, end): difference array of +1/-1
    long_calls = ke > ks + 1
    diff = np.bincount((r * k + ks + 1)[long_calls], minlength=rows * k + 1)[: rows * k].astype(float)
    diff -= np.bincount((r * k + ke)[long_calls], minlength=rows * k + 1)[: rows * k]
    busy += np.cumsum(diff.reshape(rows, k), axis=1).ravel() * interval
    busy = busy.reshape(rows, k)
    staffed = staffing.astype(float) * interval
    first = int(min(k, np.ceil(warmup / interval - 1e-9)))
    busy[:, :first] = 0.0
    staffed[:, :first] = 0.0
    return SimulationResult(
        interval_seconds=interval,
        offered=count(counted),
        answered=count(answered),
        answered_within=count(answered & (wait <= answer_time)),
        abandoned=count(abandoned),
        short_abandoned=count(abandoned & (hang_up <= short_abandon)),
        answered_wait=count(answered, wait),
        busy_seconds=busy,
        staffed_seconds=staffed,
    )


def _simulate_rows(
    rng: np.random.Generator,
    model: SingleSkillModel,
    staffing: NDArray[np.int64],
    answer_time: float,
    short_abandon: float,
    warmup: float,
    engine: str = "auto",
    streams: int | None = None,
) -> SimulationResult:
    """``streams``: draw that many independent call streams and give row r
    stream ``r % streams`` (common random numbers: scenarios stacked in
    blocks of ``streams`` rows see the same callers); default one per row."""
    rate, aht, _ = model.arrays()
    rows = staffing.shape[0]
    n = rows if streams is None else int(streams)
    if n < 1 or rows % n:
        raise ValueError("rows must be a multiple of streams")
    arrival, which, _ = _arrivals(rng, rate, model.interval_seconds, n)
    service = _service_times(rng, aht[which], model.service_cv)
    if model.patience_sampler is not None:
        patience = np.asarray(model.patience_sampler(rng, np.empty(arrival.shape)), dtype=float)
    elif model.patience is None:
        patience = np.full(arrival.shape, np.inf)
    else:
        patience = rng.exponential(model.patience, arrival.shape)
    if n != rows:
        arrival, which, service, patience = (np.tile(a, (rows // n, 1)) for a in (arrival, which, service, patience))
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; use one of {ENGINES}")
    if engine != "numpy" and numba_engine() is not None:
        from ._fcfs_numba import simulate_rows

        interval = float(model.interval_seconds)
        counts, sums = simulate_rows(
            np.ascontiguousarray(arrival), np.ascontiguousarray(which, dtype=np.int64),
            np.ascontiguousarray(service, dtype=np.float64), np.ascontiguousarray(patience, dtype=np.float64),
            np.ascontiguousarray(staffing, dtype=np.int64), interval, float(answer_time), float(short_abandon),
            float(warmup),
        )
        k = staffing.shape[1]
        busy = sums[:, 1, :].copy()
        staffed = staffing.astype(float) * interval
        first = int(min(k, np.ceil(warmup / interval - 1e-9)))
        busy[:, :first] = 0.0
        staffed[:, :first] = 0.0
        return SimulationResult(
            interval_seconds=interval,
            offered=counts[:, 0, :].copy(),
            answered=counts[:, 1, :].copy(),
            answered_within=counts[:, 2, :].copy(),
            abandoned=counts[:, 3, :].copy(),
            short_abandoned=counts[:, 4, :].copy(),
            answered_wait=sums[:, 0, :].copy(),
            busy_seconds=busy,
            staffed_seconds=staffed,
        )
    start = fcfs_start_times(arrival, which, service, patience, staffing, model.interval_seconds, engine)
    return _summarise(
        arrival, which, start, service, patience, staffing, model.interval_seconds, answer_time, short_abandon, warmup
    )


def simulate_single_skill(
    model: SingleSkillModel,
    replications: int = 30,
    *,
    seed: int | None = 0,
    answer_time: float = 20.0,
    short_abandon: float = 5.0,
    warmup: float = 0.0,
    confidence: float = 0.95,
    engine: str = "auto",
) -> SimulationResult:
    """Simulate ``replications`` independent runs of ``model`` (starting empty).

    Calls arriving before ``warmup`` seconds are left out of the statistics,
    so a long run approximates steady state for comparison with Erlang C/A.
    ``engine`` picks the FCFS kernel (see :func:`fcfs_start_times`); the
    result does not depend on it.
    """
    _, _, agents = model.arrays()
    staffing = np.broadcast_to(agents, (replications, agents.size)).copy()
    rng = np.random.default_rng(seed)
    res = _simulate_rows(rng, model, staffing, answer_time, short_abandon, warmup, engine)
    return SimulationResult(**{**vars(res), "confidence": confidence})


# --------------------------------------------------------------------------- what-if


@dataclass(frozen=True)
class Surge:
    """Arrivals multiplied by ``factor`` for intervals [first_interval, last_interval)."""

    first_interval: int
    last_interval: int
    factor: float


@dataclass(frozen=True)
class WhatIfAnswer:
    extra_agents: NDArray[np.int64]  # per interval, on top of the base staffing
    service_level: FloatArray  # simulated mean per interval with the extras (NaN where not simulated)
    service_level_without: FloatArray  # simulated mean per interval with the base staffing
    # Intervals whose extras the simulation established (a prefix of the searched
    # ones); the others carry the Erlang first guess, not proven.
    decided: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, dtype=bool))
    complete: bool = True  # every interval decided, the answer re-checked and compared with no standby
    rechecked: bool = True  # service levels from the fresh 4x run (else the search's own runs)
    searched: tuple[int, int] = (0, 0)  # [first, last) intervals the search decides

    @property
    def proven(self) -> int:
        """How many of the searched intervals are decided."""
        return int(self.decided[self.searched[0] : self.searched[1]].sum())


# progress(intervals decided, intervals to decide, phase): "search" while
# deciding, "recheck" for the final run.
Progress = Callable[[int, int, str], None]


def _lower_bound(samples: NDArray[np.float64], confidence: float) -> NDArray[np.float64]:
    """Per row: the one-sided lower confidence bound of the mean over the
    replications that had calls (the low end of ``_estimate``'s two-sided
    interval at ``2 * confidence - 1``). A row with no calls at all needs
    nobody more, so it passes; a single sample is its own bound."""
    out = np.empty(samples.shape[0])
    for r, row in enumerate(samples):
        e = _estimate(row, 2 * confidence - 1)
        out[r] = np.inf if np.isnan(e.mean) else (e.mean if np.isnan(e.low) else e.low)
    return out


def storm_calls_per_run(model: SingleSkillModel, surge: Surge, *, replications: int = 40, candidates: int = 6,
                        warmup_intervals: int = 4) -> float:
    """Expected callers simulated by the largest run of :func:`storm_extra_agents`
    (its search runs ``candidates x replications`` rows over the window from
    the warm-up on); time and memory of one run grow with it."""
    rate, _, _ = model.arrays()
    factor = np.ones(rate.size)
    factor[surge.first_interval : surge.last_interval] = surge.factor
    begin = max(0, surge.first_interval - warmup_intervals)
    per_replication = float((rate * factor)[begin:].sum() * model.interval_seconds)
    return per_replication * replications * max(candidates, 4)


def storm_extra_agents(
    model: SingleSkillModel,
    surge: Surge,
    target_service_level: float = 0.8,
    *,
    definition: ServiceLevelDefinition = "offered",
    answer_time: float = 20.0,
    replications: int = 40,
    candidates: int = 6,
    warmup_intervals: int = 4,
    seed: int = 0,
    confidence: float = 0.95,
    deadline: float | None = None,
    progress: Progress | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> WhatIfAnswer:
    """Fewest extra agents per interval keeping each interval's simulated SL >= target.

    "Keeping" means with ``confidence``: the one-sided lower confidence
    bound of the mean over replications (Student t) must reach
    the target, not just the sample mean, so a fresh simulation of the
    answer lands at or above the target rather than half of the time below
    it. ``confidence=0.5`` is the plain mean.

    Erlang A (or C without patience) on the surged load gives a first guess
    per interval; then, interval by interval in time order, ``candidates``
    values around the guess are simulated side by side as rows of one run
    (common random numbers: each candidate sees the same calls) and the
    smallest one meeting the target in that interval is kept, with the
    extras already chosen for earlier intervals in place.  Simulation starts
    ``warmup_intervals`` before the surge so the queue carried in is realistic.

    ``deadline`` (a ``clock()`` value, :func:`time.monotonic` by default) bounds the work: no run
    starts after it, and the search stops early enough to leave the final
    re-check its expected time.  What is decided by then stands (each
    interval is proven with the earlier ones in place); the intervals left
    carry the Erlang guess and ``decided`` is False there.  ``progress`` is
    told after each decided interval.
    """
    if not 0.5 <= confidence < 1:
        raise ValueError("confidence must be in [0.5, 1)")
    rate, aht, base = model.arrays()
    k = rate.size
    factor = np.ones(k)
    factor[surge.first_interval : surge.last_interval] = surge.factor
    targets = StaffingTargets(target_service_level, answer_time, sl_definition=definition)
    if model.patience is not None and model.patience_sampler is None:
        guess = required_agents(rate * factor, aht, targets, model="erlang_a", patience=model.patience).agents
    else:
        guess = required_agents(rate * factor, aht, targets).agents
    extra = np.zeros(k, dtype=np.int64)
    decided = np.zeros(k, dtype=bool)
    sl_search = np.full(k, np.nan)
    begin = max(0, surge.first_interval - warmup_intervals)
    # The surge's tail can spill into the next intervals: keep checking until it has passed.
    end = min(k, surge.last_interval + 2)
    window = slice(begin, k)
    sub_rate, sub_aht = (rate * factor)[window], aht[window]
    longest = 0.0  # seconds of the slowest search run so far

    def run(staffing: NDArray[np.int64], stream: int, streams: int) -> SimulationResult:
        sub = SingleSkillModel(
            model.interval_seconds, sub_rate, sub_aht, staffing[0], model.patience, model.patience_sampler,
            model.service_cv,
        )
        rng = np.random.default_rng([seed, stream])
        return _simulate_rows(rng, sub, staffing, answer_time, 5.0, 0.0, streams=streams)

    def time_left(reserve: float = 0.0) -> bool:
        return deadline is None or clock() + reserve < deadline

    searched = end - surge.first_interval
    stopped = False
    for i in range(surge.first_interval, end):
        centre = max(int(guess[i] - base[i]), 0)
        low = max(centre - candidates // 2, 0)
        while True:
            # the re-check costs about two thirds of a search run's rows, twice
            if not time_left(longest * 1.5):
                stopped = True
                break
            values = low + np.arange(candidates)
            # rows: candidate c of replication r at row c * replications + r
            staffing = np.broadcast_to(base + extra, (candidates * replications, k))[:, window].copy()
            staffing[:, i - begin] += np.repeat(values, replications)
            started = clock()
            res = run(staffing, i, replications)
            longest = max(longest, clock() - started)
            sl = res.service_level_samples(definition, np.array([i - begin])).reshape(candidates, replications)
            ok = np.flatnonzero(_lower_bound(sl, confidence) >= target_service_level)
            if ok.size and (ok[0] > 0 or low == 0):
                extra[i] = values[ok[0]]
                decided[i] = True
                with np.errstate(invalid="ignore"), warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)  # no calls in any replication: NaN
                    sl_search[i] = float(np.nanmean(sl[ok[0]]))
                break
            low = low + candidates if not ok.size else max(low - candidates + 1, 0)
        if stopped:
            break
        if progress is not None:
            progress(i + 1 - surge.first_interval, searched, "search")
    if stopped:
        # not proven: the Erlang first guess stands in, flagged by ``decided``
        rest = np.arange(k) >= surge.first_interval
        rest &= np.arange(k) < end
        rest &= ~decided
        extra[rest] = np.maximum(guess[rest] - base[rest], 0)
    # The answer is re-checked on fresh random numbers with four times the
    # replications, so the service levels shown carry a quarter of the noise.
    # Without time for it, the search's own estimates are shown.
    sl_with = np.full(k, np.nan)
    sl_without = np.full(k, np.nan)
    rechecked = False
    if progress is not None:
        progress(int(decided.sum()), searched, "recheck")
    if time_left():
        final = np.broadcast_to(base + extra, (4 * replications, k))[:, window].copy()
        sl_with[window] = run(final, 10_000, 4 * replications).service_level_by_interval(definition)
        rechecked = True
    else:
        sl_with = np.where(decided, sl_search, np.nan)
    compared = False
    if time_left():
        without = np.broadcast_to(base, (4 * replications, k))[:, window].copy()
        sl_without[window] = run(without, 10_000, 4 * replications).service_level_by_interval(definition)
        compared = True
    return WhatIfAnswer(extra_agents=extra, service_level=sl_with, service_level_without=sl_without, decided=decided,
                        complete=rechecked and compared and not stopped, rechecked=rechecked,
                        searched=(surge.first_interval, end))


# --------------------------------------------------------------------------- multi skill


@dataclass(frozen=True)
class QueueSpec:
    name: str
    arrival_rate: ArrayLike  # calls per second, per interval
    aht: float
    patience: float | None = None  # mean exponential patience; None = never abandon


@dataclass(frozen=True)
class AgentGroup:
    name: str
    skills: dict[str, int]  # queue name -> priority (1 = highest)
    agents: ArrayLike  # per interval or scalar


@dataclass(frozen=True)
class MultiSkillModel:
    interval_seconds: float
    queues: Sequence[QueueSpec]
    groups: Sequence[AgentGroup]
    intervals: int = field(default=0)

    def horizon(self) -> int:
        sizes = [np.atleast_1d(np.asarray(q.arrival_rate)).size for q in self.queues]
        return max([self.intervals, *sizes])


@dataclass(frozen=True)
class MultiSkillResult:
    queues: dict[str, SimulationResult]  # busy/staffed seconds there are 0: see ``group_occupancy``
    group_busy_seconds: dict[str, FloatArray]  # per replication
    group_staffed_seconds: dict[str, FloatArray]
    calls: int
    confidence: float = 0.95

    def group_occupancy(self, group: str) -> Estimate:
        with np.errstate(divide="ignore", invalid="ignore"):
            samples = self.group_busy_seconds[group] / self.group_staffed_seconds[group]
        return _estimate(samples, self.confidence)


def simulate_multi_skill(
    model: MultiSkillModel,
    replications: int = 10,
    *,
    seed: int | None = 0,
    answer_time: float = 20.0,
    short_abandon: float = 5.0,
    warmup: float = 0.0,
    confidence: float = 0.95,
) -> MultiSkillResult:
    """Simulate the multi-skill center ``replications`` times (each run starts empty)."""
    k = model.horizon()
    dt = float(model.interval_seconds)
    names = [q.name for q in model.queues]
    qindex = {n: i for i, n in enumerate(names)}
    nq, ng = len(names), len(model.groups)
    staffing = np.array([np.broadcast_to(np.asarray(g.agents), (k,)) for g in model.groups], dtype=np.int64)
    # For each queue, groups that serve it, best priority first (ties: more agents first).
    serving: list[list[int]] = []
    for qi, name in enumerate(names):
        gs = [g for g in range(ng) if name in model.groups[g].skills]
        gs.sort(key=lambda g: (model.groups[g].skills[name], -int(staffing[g].max())))
        serving.append(gs)
    # For each group, its queues bucketed by priority level.
    levels: list[list[list[int]]] = []
    for g in model.groups:
        by_level: dict[int, list[int]] = {}
        for name, prio in g.skills.items():
            if name not in qindex:
                raise ValueError(f"group {g.name!r} has unknown skill {name!r}")
            by_level.setdefault(prio, []).append(qindex[name])
        levels.append([by_level[p] for p in sorted(by_level)])

    rng = np.random.default_rng(seed)
    per_queue: list[dict[str, list[NDArray]]] = [
        {key: [] for key in ("offered", "answered", "within", "abandoned", "short", "wait")} for _ in range(nq)
    ]
    busy_all = np.zeros((replications, ng))
    staffed_all = np.zeros((replications, ng))
    first_counted = int(min(k, np.ceil(warmup / dt - 1e-9)))
    for g in range(ng):
        staffed_all[:, g] = staffing[g, first_counted:].sum() * dt
    total_calls = 0
    for rep in range(replications):
        # Arrivals of all queues merged into one time-ordered stream.
        times, queue_of, service, deadline = [], [], [], []
        for qi, qs in enumerate(model.queues):
            rate = np.broadcast_to(np.asarray(qs.arrival_rate, dtype=float), (k,))
            t, _, cnt = _arrivals(rng, rate, dt, 1)
            t = t[0, : cnt[0]]
            times.append(t)
            queue_of.append(np.full(t.size, qi))
            service.append(rng.exponential(qs.aht, t.size))
            pat = np.full(t.size, np.inf) if qs.patience is None else rng.exponential(qs.patience, t.size)
            deadline.append(t + pat)
        arr = np.concatenate(times)
        order = np.argsort(arr, kind="stable")
        arr_l = arr[order].tolist()
        q_l = np.concatenate(queue_of)[order].tolist()
        svc_l = np.concatenate(service)[order].tolist()
        dl_l = np.concatenate(deadline)[order].tolist()
        n_calls = len(arr_l)
        total_calls += n_calls
        start_l = [-1.0] * n_calls  # -1: abandoned / never answered
        busy = [0.0] * ng
        idle = staffing[:, 0].tolist()
        on_shift = staffing[:, 0].tolist()
        leaving = [0] * ng  # busy agents to release at their next completion
        waiting: list[deque[int]] = [deque() for _ in range(nq)]
        done: list[tuple[float, int]] = []  # (completion time, group)
        counted_from = warmup

        def take_call(g: int, now: float) -> bool:
            """Group g has a free agent at ``now``: serve the oldest call of its best level."""
            for level in levels[g]:
                best_q, best_t = -1, np.inf
                for qi in level:
                    w = waiting[qi]
                    while w and dl_l[w[0]] < now:  # hung up before an agent came
                        w.popleft()
                    if w and arr_l[w[0]] < best_t:
                        best_q, best_t = qi, arr_l[w[0]]
                if best_q >= 0:
                    c = waiting[best_q].popleft()
                    start_l[c] = now
                    if arr_l[c] >= counted_from:
                        busy[g] += svc_l[c]
                    heapq.heappush(done, (now + svc_l[c], g))
                    return True
            return False

        boundary = 1
        next_boundary = boundary * dt if k > 1 else np.inf
        c = 0
        while c < n_calls or done:
            t_arr = arr_l[c] if c < n_calls else np.inf
            t_done = done[0][0] if done else np.inf
            if next_boundary <= t_arr and next_boundary <= t_done:
                now = next_boundary
                for g in range(ng):
                    target = int(staffing[g, boundary])
                    delta = target - on_shift[g]
                    on_shift[g] = target
                    if delta > 0:
                        cancel = min(leaving[g], delta)
                        leaving[g] -= cancel
                        for _ in range(delta - cancel):
                            if not take_call(g, now):
                                idle[g] += 1
                    elif delta < 0:
                        drop = min(idle[g], -delta)
                        idle[g] -= drop
                        leaving[g] += -delta - drop
                boundary += 1
                next_boundary = boundary * dt if boundary < k else np.inf
            elif t_done <= t_arr:
                now, g = heapq.heappop(done)
                if leaving[g]:
                    leaving[g] -= 1
                elif not take_call(g, now):
                    idle[g] += 1
            else:
                now = t_arr
                qi = q_l[c]
                for g in serving[qi]:
                    if idle[g]:
                        idle[g] -= 1
                        start_l[c] = now
                        if now >= counted_from:
                            busy[g] += svc_l[c]
                        heapq.heappush(done, (now + svc_l[c], g))
                        break
                else:
                    waiting[qi].append(c)
                c += 1
        busy_all[rep] = busy
        start = np.array(start_l)
        arr_a = np.array(arr_l)
        q_a = np.array(q_l, dtype=np.int64)
        counted = arr_a >= warmup
        answered = counted & (start >= 0)
        abandoned = counted & (start < 0)
        wait = np.where(answered, start - arr_a, 0.0)
        patience_used = np.array(dl_l) - arr_a
        interval_of = np.minimum((arr_a // dt).astype(np.int64), k - 1)
        for qi in range(nq):
            mine = q_a == qi
            key = interval_of[mine]

            def tally(mask: NDArray, weights: NDArray | None = None, key: NDArray = key) -> NDArray:
                w = None if weights is None else weights[mask]
                return np.bincount(key[mask], weights=w, minlength=k)

            pq = per_queue[qi]
            pq["offered"].append(tally(counted[mine]))
            pq["answered"].append(tally(answered[mine]))
            pq["within"].append(tally(answered[mine] & (wait[mine] <= answer_time)))
            pq["abandoned"].append(tally(abandoned[mine]))
            pq["short"].append(tally(abandoned[mine] & (patience_used[mine] <= short_abandon)))
            pq["wait"].append(tally(answered[mine], wait[mine]))
    results = {}
    zeros = np.zeros((replications, k))
    for qi, name in enumerate(names):
        pq = per_queue[qi]
        results[name] = SimulationResult(
            interval_seconds=dt,
            offered=np.array(pq["offered"], dtype=np.int64),
            answered=np.array(pq["answered"], dtype=np.int64),
            answered_within=np.array(pq["within"], dtype=np.int64),
            abandoned=np.array(pq["abandoned"], dtype=np.int64),
            short_abandoned=np.array(pq["short"], dtype=np.int64),
            answered_wait=np.array(pq["wait"], dtype=float),
            busy_seconds=zeros,
            staffed_seconds=zeros,
            confidence=confidence,
        )
    return MultiSkillResult(
        queues=results,
        group_busy_seconds={g.name: busy_all[:, i] for i, g in enumerate(model.groups)},
        group_staffed_seconds={g.name: staffed_all[:, i] for i, g in enumerate(model.groups)},
        calls=total_calls,
        confidence=confidence,
    )
