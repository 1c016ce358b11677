"""Required agents per interval: the smallest N meeting every target, then shrinkage.

Targets (any combination): service level >= s at answer time T under a chosen
definition, ASA <= a, abandon rate <= r, occupancy <= o.  Every measure is
monotone in N (more agents never hurt), so the smallest feasible N is found
per interval by search, vectorised over all intervals at once:

* Erlang C: start at the stability bound ``floor(A) + 1`` (or ``A / o`` when
  an occupancy cap is higher) and step N up with the Erlang B recurrence
  ``B(N+1) = A B / (N + 1 + A B)`` -- a handful of flops per interval and
  step, so a year of 15-minute intervals takes milliseconds.
* Erlang A: abandonment makes N < A feasible and there is no cheap
  recurrence in N for the incomplete-gamma part, so intervals are bracketed
  around a guess (galloping up or down) and then bisected, each probe one
  vectorised evaluation of the closed forms in :mod:`queueing`.

Scheduled (gross) agents are ``ceil(N / (1 - shrinkage))``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .queueing import (
    SERVICE_LEVEL_DEFINITIONS,
    QueueMetrics,
    ServiceLevelDefinition,
    erlang_a_metrics,
    erlang_b,
    erlang_c_metrics,
)

IntArray = NDArray[np.int64]
Model = Literal["erlang_c", "erlang_a"]


@dataclass(frozen=True)
class StaffingTargets:
    """What an interval must achieve; ``None`` switches a target off."""

    service_level: float | None = 0.8
    answer_time: float = 20.0
    sl_definition: ServiceLevelDefinition = "offered"
    short_abandon: float = 5.0
    max_asa: float | None = None
    max_abandon_rate: float | None = None
    max_occupancy: float | None = None

    def __post_init__(self) -> None:
        if self.sl_definition not in SERVICE_LEVEL_DEFINITIONS:
            raise ValueError(f"unknown service-level definition {self.sl_definition!r}")
        # Every target must be reachable with enough agents, else the search cannot end.
        if self.service_level is not None and not 0.0 <= self.service_level < 1.0:
            raise ValueError("service level target must be in [0, 1)")
        if self.answer_time < 0:
            raise ValueError("answer time must be >= 0")
        if self.max_asa is not None and self.max_asa <= 0:
            raise ValueError("ASA target must be > 0")
        if self.max_abandon_rate is not None and self.max_abandon_rate <= 0:
            raise ValueError("abandon-rate target must be > 0")
        if self.max_occupancy is not None and not 0.0 < self.max_occupancy <= 1.0:
            raise ValueError("occupancy cap must be in (0, 1]")

    def satisfied_by(self, metrics: QueueMetrics) -> NDArray[np.bool_]:
        """True where ``metrics`` meet every target."""
        ok = np.ones(np.shape(metrics.offered_load), dtype=bool)
        if self.service_level is not None:
            ok &= metrics.service_level(self.sl_definition) >= self.service_level
        if self.max_asa is not None:
            ok &= metrics.asa <= self.max_asa
        if self.max_abandon_rate is not None:
            ok &= metrics.abandon_rate <= self.max_abandon_rate
        if self.max_occupancy is not None:
            ok &= metrics.occupancy <= self.max_occupancy
        return ok


@dataclass(frozen=True)
class StaffingResult:
    agents: IntArray  # net agents that must be on the phones
    scheduled: IntArray  # agents to schedule once shrinkage is added
    metrics: QueueMetrics | None  # measures at ``agents`` (None if not requested)


def apply_shrinkage(agents: ArrayLike, shrinkage: ArrayLike) -> IntArray:
    """``ceil(N / (1 - shrinkage))``; a tolerance keeps 80 / 0.8 at 100, not 101."""
    n = np.asarray(agents, dtype=float)
    s = np.asarray(shrinkage, dtype=float)
    if np.any((s < 0) | (s >= 1)):
        raise ValueError("shrinkage must be in [0, 1)")
    return np.ceil(n / (1.0 - s) - 1e-9).astype(np.int64)


def required_agents(
    arrival_rate: ArrayLike,
    aht: ArrayLike,
    targets: StaffingTargets = StaffingTargets(),
    *,
    model: Model = "erlang_c",
    patience: ArrayLike | None = None,
    shrinkage: ArrayLike = 0.0,
    max_agents: int = 10_000_000,
    with_metrics: bool = True,
) -> StaffingResult:
    """Smallest agents per interval meeting ``targets`` (arrays broadcast together).

    ``arrival_rate`` in calls per time unit, ``aht`` and ``patience`` (mean,
    Erlang A only) in the same time unit as the targets (normally seconds).
    Intervals without calls need 0 agents.
    """
    arrays = [np.asarray(arrival_rate, dtype=float), np.asarray(aht, dtype=float)]
    if model == "erlang_a":
        if patience is None:
            raise ValueError("Erlang A needs the mean patience")
        arrays.append(np.asarray(patience, dtype=float))
    elif model != "erlang_c":
        raise ValueError(f"unknown model {model!r}")
    shape = np.broadcast_shapes(*(a.shape for a in arrays))
    flat = [np.broadcast_to(a, shape).ravel().astype(float) for a in arrays]
    lam, h = flat[0], flat[1]
    if np.any(lam < 0) or np.any(h <= 0) or not np.all(np.isfinite(lam)):
        raise ValueError("arrival rates must be finite and >= 0, handle times > 0")
    if model == "erlang_c":
        agents = _erlang_c_search(lam, h, targets, max_agents)
        metrics = erlang_c_metrics(lam, h, agents, targets.answer_time) if with_metrics else None
    else:
        p = flat[2]
        agents = _erlang_a_search(lam, h, p, targets, max_agents)
        metrics = (
            erlang_a_metrics(lam, h, agents, p, targets.answer_time, targets.short_abandon)
            if with_metrics
            else None
        )
    if metrics is not None:
        metrics = QueueMetrics(**{k: np.reshape(v, shape) for k, v in vars(metrics).items()})
    agents = agents.reshape(shape)
    return StaffingResult(agents=agents, scheduled=apply_shrinkage(agents, shrinkage), metrics=metrics)


def _erlang_c_search(lam: np.ndarray, h: np.ndarray, targets: StaffingTargets, max_agents: int) -> IntArray:
    load = lam * h
    result = np.zeros(lam.size, dtype=np.int64)
    busy = load > 0
    idx = np.flatnonzero(busy)
    a = load[idx]
    hh = h[idx]
    n = np.floor(a) + 1.0  # Erlang C needs N > A
    if targets.max_occupancy is not None:
        # occupancy A/N <= cap; the loop re-checks, this only skips hopeless N.
        n = np.maximum(n, np.floor(a / targets.max_occupancy))
    b = np.atleast_1d(erlang_b(n, a))
    t = targets.answer_time
    while idx.size:
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            c = n * b / (n - a * (1.0 - b))
            ok = np.ones(idx.size, dtype=bool)
            if targets.service_level is not None:
                ok &= 1.0 - c * np.exp(-(n - a) * t / hh) >= targets.service_level
            if targets.max_asa is not None:
                ok &= c * hh / (n - a) <= targets.max_asa
            if targets.max_occupancy is not None:
                ok &= a / n <= targets.max_occupancy
        result[idx[ok]] = n[ok].astype(np.int64)
        keep = ~ok
        idx, a, hh, n, b = idx[keep], a[keep], hh[keep], n[keep], b[keep]
        if idx.size and n.max() >= max_agents:
            raise ValueError(f"targets not met with {max_agents} agents")
        # Forward Erlang B recurrence: stable, relative error grows ~ steps * eps.
        b = a * b / (n + 1.0 + a * b)
        n = n + 1.0
    return result


def _erlang_a_search(
    lam: np.ndarray, h: np.ndarray, p: np.ndarray, targets: StaffingTargets, max_agents: int
) -> IntArray:
    if np.any(p <= 0) or not np.all(np.isfinite(p)):
        raise ValueError("mean patience must be finite and > 0")
    result = np.zeros(lam.size, dtype=np.int64)
    idx = np.flatnonzero(lam > 0)
    if not idx.size:
        return result
    lam, h, p = lam[idx], h[idx], p[idx]
    need_asa = targets.max_asa is not None

    def feasible(sel: np.ndarray, n: np.ndarray) -> np.ndarray:
        m = erlang_a_metrics(
            lam[sel], h[sel], n, p[sel], targets.answer_time, targets.short_abandon, include_asa=need_asa
        )
        ok = np.atleast_1d(targets.satisfied_by(m))
        return ok & (n > 0)  # calls arrive, so at least one agent

    load = lam * h
    guess = np.maximum(np.ceil(load), 1.0)
    step = np.maximum(np.ceil(np.sqrt(load)), 1.0)
    everyone = np.arange(idx.size)
    ok = feasible(everyone, guess)
    lo = np.where(ok, 0.0, guess)  # largest N known infeasible (0 always is)
    hi = np.where(ok, guess, np.inf)  # smallest N known feasible
    # Gallop down from feasible guesses to find an infeasible N ...
    down = np.flatnonzero(ok)
    cand_step = step[down]
    while down.size:
        cand = hi[down] - cand_step
        positive = cand > 0
        down, cand, cand_step = down[positive], cand[positive], cand_step[positive]
        if not down.size:
            break
        good = feasible(down, cand)
        hi[down[good]] = cand[good]
        lo[down[~good]] = cand[~good]
        down, cand_step = down[good], cand_step[good] * 2.0
    # ... and up from infeasible ones to find a feasible N.
    up = np.flatnonzero(~ok)
    cand_step = step[up]
    while up.size:
        cand = lo[up] + cand_step
        if cand.max() > max_agents:
            raise ValueError(f"targets not met with {max_agents} agents")
        good = feasible(up, cand)
        hi[up[good]] = cand[good]
        lo[up[~good]] = cand[~good]
        up, cand_step = up[~good], cand_step[~good] * 2.0
    # Bisection on (lo, hi]: lo infeasible, hi feasible.
    open_ = np.flatnonzero(hi - lo > 1)
    while open_.size:
        mid = np.floor((lo[open_] + hi[open_]) / 2.0)
        good = feasible(open_, mid)
        hi[open_[good]] = mid[good]
        lo[open_[~good]] = mid[~good]
        open_ = open_[hi[open_] - lo[open_] > 1]
    result[idx] = hi.astype(np.int64)
    return result


def required_agents_for_intervals(
    offered: ArrayLike,
    aht: ArrayLike,
    interval_seconds: float,
    targets: StaffingTargets = StaffingTargets(),
    **kwargs: object,
) -> StaffingResult:
    """Same as :func:`required_agents` from calls offered per interval (AHT in seconds)."""
    rate = np.asarray(offered, dtype=float) / float(interval_seconds)
    return required_agents(rate, aht, targets, **kwargs)  # type: ignore[arg-type]


def extra_agents_now(
    arrivals_last_15min: float,
    aht_seconds: float,
    current_agents: int,
    target_sl: float = 0.8,
    t_seconds: float = 20.0,
    patience_seconds: float | None = None,
    interval_minutes: float = 15,
) -> dict[str, object]:
    """Peak-emergency check for the shift leader: how many agents are missing right now?

    The calls that arrived in the last ``interval_minutes`` (15 by default)
    are taken as the current Poisson rate.  Required agents are the smallest N
    with service level >= ``target_sl`` at ``t_seconds`` (``offered``
    definition): Erlang C, or Erlang A when ``patience_seconds`` (mean
    patience) is given.  Returns a plain dict (JSON-serialisable):

    ``model`` ("erlang_c" / "erlang_a"), ``arrival_rate_per_hour``,
    ``offered_load_erlangs``, ``required_agents``, ``current_agents``,
    ``gap`` (required - current, negative = spare agents), ``extra_agents``
    (``max(gap, 0)``), ``projected_service_level`` with the current agents,
    ``service_level_with_required``, ``projected_abandon_rate`` (0 under
    Erlang C) and ``overloaded`` (current agents <= offered load: under
    Erlang C the queue grows without bound).
    """
    arrivals = float(arrivals_last_15min)
    h = float(aht_seconds)
    current = int(current_agents)
    if arrivals < 0 or not np.isfinite(arrivals):
        raise ValueError("arrivals must be a finite number >= 0")
    if h <= 0 or not np.isfinite(h):
        raise ValueError("AHT must be > 0 seconds")
    if current < 0:
        raise ValueError("current agents must be >= 0")
    if interval_minutes <= 0:
        raise ValueError("interval must be > 0 minutes")
    lam = arrivals / (float(interval_minutes) * 60.0)
    targets = StaffingTargets(service_level=target_sl, answer_time=t_seconds)
    model: Model = "erlang_c" if patience_seconds is None else "erlang_a"
    res = required_agents(lam, h, targets, model=model, patience=patience_seconds)
    need = int(res.agents)

    def measures(n: int) -> tuple[float, float]:
        if lam == 0:
            return 1.0, 0.0
        if n == 0:
            return 0.0, (0.0 if model == "erlang_c" else 1.0)
        if model == "erlang_c":
            m = erlang_c_metrics(lam, h, n, t_seconds)
        else:
            m = erlang_a_metrics(lam, h, n, patience_seconds, t_seconds)
        return float(m.service_level("offered")), float(m.abandon_rate)

    sl_now, abandon_now = measures(current)
    sl_need, _ = measures(need)
    gap = need - current
    return {
        "model": model,
        "arrival_rate_per_hour": lam * 3600.0,
        "offered_load_erlangs": lam * h,
        "required_agents": need,
        "current_agents": current,
        "gap": gap,
        "extra_agents": max(gap, 0),
        "projected_service_level": sl_now,
        "service_level_with_required": sl_need,
        "projected_abandon_rate": abandon_now,
        "overloaded": bool(lam * h >= current and lam > 0),
    }
