"""Queueing formulas for staffing: Erlang B, Erlang C (M/M/N) and Erlang A (M/M/N+M).

Everything here is plain numpy/scipy, vectorised over arrays of intervals
(arrival rate, average handle time, agents broadcast against each other), and
numerically stable from N = 1 to N = 100,000 agents: no factorials, every
probability is formed from ratios computed in log space.

Notation (all times in one unit, normally seconds)
--------------------------------------------------
``lam``  arrival rate (calls per time unit), ``h`` average handle time (AHT),
``mu = 1/h``, ``A = lam * h`` offered load in Erlangs, ``N`` agents,
``p`` mean patience (Erlang A: exponential patience, abandonment rate
``theta = 1/p``), ``T`` answer-time target, ``S`` short-abandon threshold.

Erlang B
--------
``B(N, A) = (A^N / N!) / sum_{k<=N} A^k / k!``.  With the Poisson term
``D(N, A) = A^N e^-A / N!`` and ``Q(N+1, A) = P(Poisson(A) <= N)``
(scipy ``gammaincc``), ``B = D / Q``.  ``D`` is evaluated in log space with
Loader's saddle-point decomposition (``stirlerr`` + ``bd0``), which keeps full
relative accuracy where ``N log A - A - log N!`` would lose digits to
cancellation.  When ``Q`` underflows (A far above N) ``1/B`` is summed as the
series ``sum_j prod_{i<j} (N - i)/A``, which then converges geometrically.

Erlang C (M/M/N, no abandonment)
--------------------------------
``C = N B / (N - A (1 - B))`` for ``A < N`` (1 otherwise) is P(wait > 0).
``P(W <= T) = 1 - C exp(-(N - A) T / h)``; ``ASA = C h / (N - A)``;
occupancy ``A / N``.  Nobody abandons, so every service-level definition
below gives the same number.

Erlang A (M/M/N+M, Palm's queue)
--------------------------------
Birth-death chain with birth rate ``lam`` and death rate
``min(n, N) mu + max(n - N, 0) theta``.  Write ``a = N mu / theta`` and
``x = lam / theta``.  Relative to ``pi_N`` the states above N add up to
``J(a, x) = sum_{j>=0} x^j / ((a+1)...(a+j)) = P(a, x) / D(a, x)``
(``P`` = regularised lower incomplete gamma, ``D(a, x) = x^a e^-x / Gamma(a+1)``),
the states up to N add up to ``1/B(N, A)``, and
``K(a, x) = sum_j j t_j = (x - a) J + a`` (``t_j`` the terms of J).  With
``Z = 1/B + J - 1`` (Garnett, Mandelbaum & Reiman 2002; Zeltyn 2004):

* P(wait > 0) = ``J / Z``
* P(abandon) = ``K / (x Z)``; mean wait of all callers = ``P(abandon) / theta``
* the offered (virtual) wait V has density
  ``f_V(t) = lam pi_{N-1} exp(x (1 - e^{-theta t}) - N mu t)`` (Baccelli &
  Hebuterne), and integrating it gives, with ``u = e^{-theta T}``,
  P(answered after T) = ``a/(a+1) * u^{a+1} e^{x(1-u)} J(a+1, x u) / Z``
* P(abandon after waiting S) = ``u_S^a e^{x(1-u_S)} K(a, x u_S) / (x Z)``
* occupancy = ``A (1 - P(abandon)) / N``
* ASA (answered calls) = ``E[W; served] / P(served)`` where a caller finding
  ``j`` callers queued ahead is served with probability ``a/(a+j+1)`` after a
  mean ``sum_{i=1}^{j+1} 1/(theta (a+i))``; the sum over ``j`` is taken over a
  window around the mode of ``t_j`` (it has no closed form in incomplete
  gamma functions).

``J`` is computed as ``exp(log P(a, x) - log D(a, x))`` (``gammainc``), or by
its series where that converges fast or ``P`` underflows.  Under overload
(N < A) J is astronomically large; everything stays in log space, so Erlang A
is valid for any N >= 1.

Service-level definitions (contact-center spec section 3)
---------------------------------------------------------
* ``"offered"``: answered within T / offered (abandoned calls count as misses).
* ``"answered"``: answered within T / answered.
* ``"offered_minus_short_abandons"``: answered within T /
  (offered - calls abandoned within S seconds).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

ServiceLevelDefinition = Literal["offered", "answered", "offered_minus_short_abandons"]
SERVICE_LEVEL_DEFINITIONS: tuple[str, ...] = ("offered", "answered", "offered_minus_short_abandons")

FloatArray = NDArray[np.float64]

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
# Below this an incomplete-gamma value is too close to underflow to divide by.
_GAMMA_TINY = 1e-280
# Coefficients of Stirling's series for log Gamma(n + 1) - Stirling's formula.
_S0, _S1, _S2, _S3, _S4 = 1 / 12, 1 / 360, 1 / 1260, 1 / 1680, 1 / 1188


def _stirlerr(n: FloatArray) -> FloatArray:
    """log Gamma(n+1) - ((n + 1/2) log n - n + log sqrt(2 pi)), for n > 0."""
    out = np.empty_like(n)
    big = n > 15.0
    nb = n[big]
    nn = nb * nb
    out[big] = (_S0 - (_S1 - (_S2 - (_S3 - _S4 / nn) / nn) / nn) / nn) / nb
    ns = n[~big]
    # For small n the direct difference only loses ~1e-15 in absolute terms.
    out[~big] = special.gammaln(ns + 1.0) - (ns + 0.5) * np.log(ns) + ns - _LOG_SQRT_2PI
    return out


def _bd0(c: FloatArray, x: FloatArray) -> FloatArray:
    """Deviance ``c log(c/x) + x - c`` computed without cancellation (c, x > 0)."""
    out = np.empty_like(c)
    near = np.abs(c - x) < 0.1 * (c + x)
    cn, xn = c[near], x[near]
    v = (cn - xn) / (cn + xn)
    s = (cn - xn) * v
    ej = 2.0 * cn * v
    v2 = v * v
    # |v| < 0.1, so each term shrinks by 100x: 9 terms reach double precision.
    for j in range(1, 10):
        ej = ej * v2
        s = s + ej / (2 * j + 1)
    out[near] = s
    cf, xf = c[~near], x[~near]
    out[~near] = cf * np.log(cf / xf) + xf - cf
    return out


def log_poisson_term(c: ArrayLike, x: ArrayLike) -> FloatArray:
    """``log(x^c e^-x / Gamma(c + 1))`` for real ``c >= 0``, ``x >= 0``.

    For integer ``c`` this is the Poisson log-probability of ``c`` at mean ``x``.
    """
    c, x = np.broadcast_arrays(np.asarray(c, dtype=float), np.asarray(x, dtype=float))
    out = np.empty(c.shape)
    zero_x = x <= 0.0
    out[zero_x] = np.where(c[zero_x] == 0.0, 0.0, -np.inf)
    small = ~zero_x & (c < 1.0)
    cs, xs = c[small], x[small]
    out[small] = special.xlogy(cs, xs) - xs - special.gammaln(cs + 1.0)
    big = ~zero_x & ~small
    cb, xb = c[big], x[big]
    out[big] = -_stirlerr(cb) - _bd0(cb, xb) - _LOG_SQRT_2PI - 0.5 * np.log(cb)
    return out


def _scalar_or_array(values: FloatArray) -> FloatArray:
    return values[()] if values.ndim == 0 else values


# --------------------------------------------------------------------------- Erlang B / C


def _log_inv_b_series(n: FloatArray, load: FloatArray) -> FloatArray:
    """log(1/B) as ``sum_j prod_{i<j} (n - i) / A``; meant for A > n (fast convergence)."""
    total = np.ones_like(n)
    term = np.ones_like(n)
    active = np.arange(n.size)
    j = 0
    while active.size:
        term[active] *= np.maximum(n[active] - j, 0.0) / load[active]
        total[active] += term[active]
        active = active[term[active] > 1e-17 * total[active]]
        j += 1
    return np.log(total)


def log_erlang_b(agents: ArrayLike, load: ArrayLike) -> FloatArray:
    """Natural log of the Erlang B blocking probability B(N, A); -inf when B underflows to 0."""
    n, a = np.broadcast_arrays(np.asarray(agents, dtype=float), np.asarray(load, dtype=float))
    n = np.atleast_1d(n).astype(float, copy=True)
    a = np.atleast_1d(a).astype(float, copy=True)
    out = np.zeros(n.shape)
    positive = (n > 0) & (a > 0)
    out[(n > 0) & (a <= 0)] = -np.inf
    npos, apos = n[positive], a[positive]
    with np.errstate(divide="ignore"):
        q = special.gammaincc(npos + 1.0, apos)
        res = log_poisson_term(npos, apos) - np.log(q)
    under = q < _GAMMA_TINY
    if under.any():
        res[under] = -_log_inv_b_series(npos[under], apos[under])
    out[positive] = res
    shape = np.broadcast_shapes(np.shape(agents), np.shape(load))
    return _scalar_or_array(out.reshape(shape))


def erlang_b(agents: ArrayLike, load: ArrayLike) -> FloatArray:
    """Erlang B: probability that a call finds all ``agents`` busy in M/M/N/N at ``load`` Erlangs."""
    return np.exp(log_erlang_b(agents, load))


def erlang_c(agents: ArrayLike, load: ArrayLike) -> FloatArray:
    """Erlang C: P(wait > 0) in M/M/N at ``load`` Erlangs; 1 when load >= agents."""
    n, a = np.broadcast_arrays(np.asarray(agents, dtype=float), np.asarray(load, dtype=float))
    b = np.exp(log_erlang_b(n, a))
    with np.errstate(divide="ignore", invalid="ignore"):
        c = n * b / (n - a * (1.0 - b))
    return _scalar_or_array(np.where(a >= n, 1.0, np.where(a <= 0, 0.0, c)))


@dataclass(frozen=True)
class QueueMetrics:
    """Steady-state measures for one or many intervals (arrays broadcast together).

    ``service_level_*`` follow the three definitions of the module docstring;
    ``asa`` is the mean wait of answered calls, ``mean_wait`` that of all
    offered calls (abandoned ones wait until they hang up).
    """

    offered_load: FloatArray
    prob_wait: FloatArray
    service_level_offered: FloatArray
    service_level_answered: FloatArray
    service_level_offered_minus_short_abandons: FloatArray
    asa: FloatArray
    mean_wait: FloatArray
    abandon_rate: FloatArray
    short_abandon_rate: FloatArray
    occupancy: FloatArray

    def service_level(self, definition: ServiceLevelDefinition = "offered") -> FloatArray:
        if definition not in SERVICE_LEVEL_DEFINITIONS:
            raise ValueError(f"unknown service-level definition {definition!r}")
        return getattr(self, f"service_level_{definition}")


def _prepare(*values: ArrayLike) -> tuple[tuple[int, ...], list[FloatArray]]:
    arrays = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in values))
    shape = arrays[0].shape
    return shape, [np.atleast_1d(v).ravel().astype(float) for v in arrays]


def _shape_all(shape: tuple[int, ...], **arrays: FloatArray) -> dict[str, FloatArray]:
    return {k: _scalar_or_array(v.reshape(shape)) for k, v in arrays.items()}


def erlang_c_metrics(
    arrival_rate: ArrayLike,
    aht: ArrayLike,
    agents: ArrayLike,
    answer_time: ArrayLike = 20.0,
) -> QueueMetrics:
    """Erlang C measures; overloaded intervals (load >= agents) get SL 0 and infinite ASA."""
    shape, (lam, h, n, t) = _prepare(arrival_rate, aht, agents, answer_time)
    load = lam * h
    c = np.atleast_1d(erlang_c(n, load))
    stable = load < n
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        sl = np.where(stable, 1.0 - c * np.exp(-(n - load) * t / h), 0.0)
        asa = np.where(stable, c * h / (n - load), np.inf)
        occupancy = np.where(n > 0, np.minimum(load / n, 1.0), np.where(load > 0, 1.0, 0.0))
    asa = np.where(load <= 0, 0.0, asa)
    zeros = np.zeros_like(lam)
    return QueueMetrics(
        **_shape_all(
            shape,
            offered_load=load,
            prob_wait=c,
            service_level_offered=sl,
            service_level_answered=sl,
            service_level_offered_minus_short_abandons=sl,
            asa=asa,
            mean_wait=asa,
            abandon_rate=zeros,
            short_abandon_rate=zeros,
            occupancy=occupancy,
        )
    )


# --------------------------------------------------------------------------- Erlang A


def _log_j_k(b: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
    """``log J(b, y)`` and ``log(K(b, y) / J(b, y))`` for b > 0, y >= 0 (1-D arrays).

    J = sum_j t_j with t_0 = 1, t_j = t_{j-1} y / (b + j); K = sum_j j t_j.
    K / J is returned rather than K because under overload J is astronomically
    large and only ratios to it can be formed without losing digits.
    """
    lj = np.empty_like(b)
    lk = np.empty_like(b)
    with np.errstate(divide="ignore", invalid="ignore", under="ignore"):
        p = special.gammainc(b, y)
    series = (y < 0.5 * (b + 1.0)) | (p < _GAMMA_TINY)
    gam = ~series
    if gam.any():
        bg, yg, pg = b[gam], y[gam], p[gam]
        ljg = np.log(pg) - log_poisson_term(bg, yg)
        # K / J = (y - b) + b / J: no cancellation when y >= b; below, the series
        # route takes the deep-underload cases, so at most a few digits cancel.
        with np.errstate(divide="ignore"):
            lk[gam] = np.log((yg - bg) + bg * np.exp(-ljg))
        lj[gam] = ljg
    if series.any():
        bs, ys = b[series], y[series]
        jsum = np.ones_like(bs)
        ksum = np.zeros_like(bs)
        term = np.ones_like(bs)
        active = np.arange(bs.size)
        j = 0
        while active.size:
            j += 1
            term[active] *= ys[active] / (bs[active] + j)
            jsum[active] += term[active]
            ksum[active] += j * term[active]
            active = active[j * term[active] > 1e-17 * jsum[active]]
        with np.errstate(divide="ignore"):
            lj[series] = np.log(jsum)
            lk[series] = np.log(ksum / jsum)
    return lj, lk


class _ErlangACore(NamedTuple):
    lam: FloatArray
    h: FloatArray
    n: FloatArray
    patience: FloatArray
    load: FloatArray
    a: FloatArray  # N mu / theta
    x: FloatArray  # lam / theta
    log_z: FloatArray  # log of the normaliser Z, in units of pi_N
    log_j: FloatArray
    log_z_over_j: FloatArray  # log(Z / J), accurate even when J overflows
    prob_wait: FloatArray
    abandon: FloatArray


def _erlang_a_core(lam: FloatArray, h: FloatArray, n: FloatArray, patience: FloatArray) -> _ErlangACore:
    """Normaliser, P(wait), P(abandon) for 1-D arrays with lam > 0, n >= 1."""
    a = n * patience / h
    x = lam * patience
    load = lam * h
    log_inv_b = -np.atleast_1d(log_erlang_b(n, load))
    lj, lkj = _log_j_k(a, x)
    with np.errstate(divide="ignore"):
        # Z / J = (1/B) / J + 1 - 1/J
        lzj = np.logaddexp(log_inv_b - lj, np.log1p(-np.exp(-lj)))
    prob_wait = np.exp(-lzj)
    abandon = np.exp(lkj - lzj) / x
    return _ErlangACore(lam, h, n, patience, load, a, x, lj + lzj, lj, lzj, prob_wait, abandon)


def _answered_after(core: _ErlangACore, t: FloatArray) -> FloatArray:
    """P(answered with wait > t)."""
    theta = 1.0 / core.patience
    lj1, _ = _log_j_k(core.a + 1.0, core.x * np.exp(-theta * t))
    expo = -(core.n / core.h + theta) * t - core.x * np.expm1(-theta * t)
    return core.a / (core.a + 1.0) * np.exp(expo + (lj1 - core.log_j) - core.log_z_over_j)


def _abandoned_within(core: _ErlangACore, s: FloatArray) -> FloatArray:
    """P(abandon with wait <= s)."""
    theta = 1.0 / core.patience
    lj_s, lkj_s = _log_j_k(core.a, core.x * np.exp(-theta * s))
    expo = -(core.n / core.h) * s - core.x * np.expm1(-theta * s)
    later = np.exp(expo + (lj_s - core.log_j) + lkj_s - core.log_z_over_j) / core.x
    return np.clip(core.abandon - later, 0.0, 1.0)


def _served_wait_sum(core: _ErlangACore, max_cells: int = 4_000_000) -> FloatArray:
    """E[W ; served] = sum_j P(n = N + j) a/(a+j+1) sum_{i=1}^{j+1} 1/(theta (a + i)).

    The terms are summed over a window of j around their mode, in chunks so
    the (intervals x window) work array stays bounded.
    """
    a, x = core.a, core.x
    mode = np.maximum(x - a, 0.0)
    # Around the mode log t_j falls like -(j - mode)^2 / (2x): 9 standard
    # deviations reach e^-40.  Below the mode-at-0 regime t_j <= (x/(a+1))^j
    # may end the window sooner.
    half = np.ceil(9.0 * np.sqrt(x + 1.0) + 40.0)
    with np.errstate(divide="ignore"):
        geometric = np.ceil(40.0 / np.log((a + 1.0) / np.maximum(x, 1e-300))) + 40.0
    half = np.where(x < a + 1.0, np.minimum(half, geometric), half)
    start = np.maximum(np.floor(mode - half), 0.0)
    length = (np.ceil(mode + half) - start + 1).astype(int)
    out = np.zeros_like(a)
    order = np.argsort(length)  # similar widths together keep padding small
    pos = 0
    while pos < order.size:
        width = int(length[order[pos]])
        rows = max(1, max_cells // max(width, 1))
        idx = order[pos : pos + rows]
        width = int(length[idx].max())
        pos += idx.size
        ai, xi, j0 = a[idx, None], x[idx, None], start[idx, None]
        j = j0 + np.arange(width)[None, :]
        # log t_j = log t_{j0} + sum_{i=j0+1}^{j} log(x / (a + i))
        log_t0 = log_poisson_term(ai + j0, xi) - log_poisson_term(ai, xi)
        steps = np.log(xi) - np.log(ai + j)
        steps[:, 0] = 0.0
        log_t = log_t0 + np.cumsum(steps, axis=1)
        # H_j = sum_{i=1}^{j+1} 1/(a+i) = psi(a+j+2) - psi(a+1)
        h0 = np.where(j0 == 0, 1.0 / (ai + 1.0), special.digamma(ai + j0 + 2.0) - special.digamma(ai + 1.0))
        incr = 1.0 / (ai + j + 1.0)
        incr[:, 0] = 0.0
        harmonic = h0 + np.cumsum(incr, axis=1)
        weight = np.exp(log_t - core.log_z[idx, None]) * ai / (ai + j + 1.0) * harmonic
        out[idx] = weight.sum(axis=1) * core.patience[idx]
    return out


def erlang_a_metrics(
    arrival_rate: ArrayLike,
    aht: ArrayLike,
    agents: ArrayLike,
    patience: ArrayLike,
    answer_time: ArrayLike = 20.0,
    short_abandon: ArrayLike = 5.0,
    *,
    include_asa: bool = True,
) -> QueueMetrics:
    """Erlang A (M/M/N+M) measures with exponential patience of mean ``patience``.

    Valid for any N >= 1 including overload (N < A).  ``include_asa=False``
    skips the windowed sum for the ASA (reported as NaN) when only
    probabilities are needed.
    """
    shape, (lam, h, n, p, t, s) = _prepare(arrival_rate, aht, agents, patience, answer_time, short_abandon)
    if np.any(p <= 0) or np.any(~np.isfinite(p)):
        raise ValueError("Erlang A needs a finite positive mean patience; use Erlang C for none")
    size = lam.size
    prob_wait = np.zeros(size)
    abandon = np.zeros(size)
    short = np.zeros(size)
    sl = np.ones(size)
    asa = np.zeros(size) if include_asa else np.full(size, np.nan)
    load = lam * h
    # No agents: every caller waits and abandons.
    empty = (n <= 0) & (lam > 0)
    prob_wait[empty] = 1.0
    abandon[empty] = 1.0
    sl[empty] = 0.0
    asa[empty] = np.inf
    theta_s = s / p
    short[empty] = -np.expm1(-theta_s[empty])
    live = (n > 0) & (lam > 0)
    if live.any():
        core = _erlang_a_core(lam[live], h[live], n[live], p[live])
        prob_wait[live] = core.prob_wait
        abandon[live] = core.abandon
        later = _answered_after(core, t[live])
        sl[live] = np.clip(1.0 - core.abandon - later, 0.0, 1.0)
        short[live] = _abandoned_within(core, s[live])
        if include_asa:
            served = 1.0 - core.abandon
            with np.errstate(divide="ignore", invalid="ignore"):
                asa[live] = np.where(served > 0, _served_wait_sum(core) / served, np.inf)
    served = 1.0 - abandon
    with np.errstate(divide="ignore", invalid="ignore"):
        sl_answered = np.where(served > 0, sl / served, 0.0)
        sl_short = np.where(1.0 - short > 0, sl / (1.0 - short), 0.0)
        occupancy = np.where(n > 0, load * served / n, 0.0)
    return QueueMetrics(
        **_shape_all(
            shape,
            offered_load=load,
            prob_wait=prob_wait,
            service_level_offered=sl,
            service_level_answered=np.minimum(sl_answered, 1.0),
            service_level_offered_minus_short_abandons=np.minimum(sl_short, 1.0),
            asa=asa,
            mean_wait=abandon * p,
            abandon_rate=abandon,
            short_abandon_rate=short,
            occupancy=np.minimum(occupancy, 1.0),
        )
    )


def arrival_rate_from_counts(offered: ArrayLike, interval_seconds: float) -> FloatArray:
    """Calls per second from calls offered per interval."""
    return np.asarray(offered, dtype=float) / float(interval_seconds)
