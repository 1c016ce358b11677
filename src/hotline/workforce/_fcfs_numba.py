"""Compiled FCFS engine for :mod:`hotline.workforce.simulation` (optional: needs numba).

Same semantics as the numpy engine ``simulation._fcfs_with_abandonment`` and
the scalar reference in the tests: callers in arrival order; each starts at
the earliest moment an agent is free *and* on shift (ties: the agent free
longest, then the lowest index) unless that is later than arrival +
patience.  Column j works in interval k iff j < agents[r, k]; after the last
interval its staffing continues.

Per call: the top of a binary heap of the on-shift agents keyed by (free
time, index), rebuilt when the arrival interval changes -- exact whenever
the start falls inside the caller's arrival interval, because staffing
cannot change before then; otherwise the full rule is applied agent by
agent, walking each one forward to its next on-shift interval (and the heap
is rebuilt).  :func:`simulate_rows` also tallies the per-interval counts in
the same pass, so no (rows x calls) intermediate arrays are built.  Rows (replications / scenarios) are independent and run in
parallel threads (``prange``).  The first call compiles the kernel (a few
seconds; cached on disk by numba afterwards).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, nogil=True, inline="always")
def _less(hk: np.ndarray, hj: np.ndarray, i: int, j: int) -> bool:
    return hk[i] < hk[j] or (hk[i] == hk[j] and hj[i] < hj[j])


@njit(cache=True, nogil=True)
def _sift_down(hk: np.ndarray, hj: np.ndarray, n: int, i: int) -> None:
    while True:
        c = 2 * i + 1
        if c >= n:
            return
        if c + 1 < n and _less(hk, hj, c + 1, c):
            c += 1
        if not _less(hk, hj, c, i):
            return
        hk[i], hk[c] = hk[c], hk[i]
        hj[i], hj[c] = hj[c], hj[i]
        i = c


@njit(cache=True, nogil=True)
def _row(
    arrival: np.ndarray,
    which: np.ndarray,
    service: np.ndarray,
    patience: np.ndarray,
    agents: np.ndarray,
    interval: float,
    out: np.ndarray,
) -> None:
    k = agents.size
    nmax = 1
    for kk in range(k):
        if agents[kk] > nmax:
            nmax = agents[kk]
    free = np.zeros(nmax)
    # binary heap of the agents on shift in interval ``cur``, keyed (free time, index)
    hk = np.empty(nmax)
    hj = np.empty(nmax, dtype=np.int64)
    hn = 0
    cur = -1
    inf = np.inf
    for m in range(arrival.size):
        a = arrival[m]
        if not a < inf:  # padding (+inf) from here on
            out[m:] = np.nan
            return
        ka = which[m]
        if ka != cur:
            hn = agents[ka]
            for j in range(hn):
                hk[j] = free[j]
                hj[j] = j
            for i in range(hn // 2 - 1, -1, -1):
                _sift_down(hk, hj, hn, i)
            cur = ka
        limit = (ka + 1) * interval if ka < k - 1 else inf
        bj = -1
        begin = inf
        if hn > 0:
            bj = hj[0]
            begin = hk[0] if hk[0] > a else a
        if bj >= 0 and begin < limit:
            # starts inside the arrival interval: staffing cannot change before then
            if begin - a <= patience[m]:
                done = begin + service[m]
                free[bj] = done
                hk[0] = done
                _sift_down(hk, hj, hn, 0)
                out[m] = begin
            else:
                out[m] = np.nan
            continue
        # full rule: each agent's earliest on-shift moment at or after max(a, free)
        best_t = inf
        best_f = inf
        bj = -1
        for j in range(nmax):
            t = free[j] if free[j] > a else a
            kk = int(t // interval)
            if kk > k - 1:
                kk = k - 1
            while j >= agents[kk]:
                if kk == k - 1:
                    t = inf
                    break
                kk += 1
                t = kk * interval
            if t < best_t or (t == best_t and free[j] < best_f):
                best_t = t
                best_f = free[j]
                bj = j
        if bj >= 0 and best_t - a <= patience[m]:
            free[bj] = best_t + service[m]
            out[m] = best_t
            cur = -1  # the heap is stale: rebuild at the next call
        else:
            out[m] = np.nan


@njit(cache=True, nogil=True)
def _tally(
    arrival: np.ndarray,
    which: np.ndarray,
    start: np.ndarray,
    service: np.ndarray,
    patience: np.ndarray,
    interval: float,
    answer_time: float,
    short_abandon: float,
    warmup: float,
    counts: np.ndarray,  # (5, k) int: offered, answered, within, abandoned, short
    sums: np.ndarray,  # (2, k) float: answered wait, busy seconds
) -> None:
    """One row's counts by arrival interval and busy time by the interval it falls in.

    Same definitions as ``simulation._summarise`` (which is the numpy version).
    """
    k = counts.shape[1]
    end = k * interval
    for m in range(arrival.size):
        a = arrival[m]
        if not a < np.inf:
            return
        s = start[m]
        answered = s == s  # not NaN
        q = which[m]
        if a >= warmup:
            counts[0, q] += 1
            if answered:
                w = s - a
                counts[1, q] += 1
                if w <= answer_time:
                    counts[2, q] += 1
                sums[0, q] += w
            else:
                counts[3, q] += 1
                if patience[m] <= short_abandon:
                    counts[4, q] += 1
        if answered and s < end:
            e = s + service[m]
            if e > end:
                e = end
            ks = int(s // interval)
            if ks > k - 1:
                ks = k - 1
            ke = int(e // interval)
            if ke > k - 1:
                ke = k - 1
            if ks == ke:
                sums[1, ks] += e - s
            else:
                sums[1, ks] += (ks + 1) * interval - s
                sums[1, ke] += e - ke * interval
                for kk in range(ks + 1, ke):
                    sums[1, kk] += interval


@njit(cache=True, parallel=True)
def simulate_rows(
    arrival: np.ndarray,
    which: np.ndarray,
    service: np.ndarray,
    patience: np.ndarray,
    agents: np.ndarray,
    interval: float,
    answer_time: float,
    short_abandon: float,
    warmup: float,
) -> tuple[np.ndarray, np.ndarray]:
    """FCFS engine and tally in one pass per row: counts (rows, 5, k), sums (rows, 2, k)."""
    rows, width = arrival.shape
    k = agents.shape[1]
    counts = np.zeros((rows, 5, k), dtype=np.int64)
    sums = np.zeros((rows, 2, k))
    for r in prange(rows):
        start = np.empty(width)
        _row(arrival[r], which[r], service[r], patience[r], agents[r], interval, start)
        _tally(arrival[r], which[r], start, service[r], patience[r], interval, answer_time, short_abandon, warmup,
               counts[r], sums[r])
    return counts, sums


@njit(cache=True, parallel=True)
def fcfs_rows(
    arrival: np.ndarray,
    which: np.ndarray,
    service: np.ndarray,
    patience: np.ndarray,
    agents: np.ndarray,
    interval: float,
) -> np.ndarray:
    rows, width = arrival.shape
    out = np.empty((rows, width))
    for r in prange(rows):
        _row(arrival[r], which[r], service[r], patience[r], agents[r], interval, out[r])
    return out


@njit(cache=True)
def fill_arrivals(
    counts: np.ndarray, total: np.ndarray, interval: float, times: np.ndarray, which: np.ndarray
) -> None:
    """Scatter uniform order statistics into (rows, width) arrays; mirrors ``simulation._arrivals``.

    ``total`` is the running sum of ``counts.sum() + counts.size`` unit
    exponentials; interval (r, k) with n calls owns n + 1 consecutive spacings
    and its calls sit at the normalised partial sums.
    """
    rows, k = counts.shape
    pos = 0
    for r in range(rows):
        col = 0
        for kk in range(k):
            n = counts[r, kk]
            before = total[pos - 1] if pos > 0 else 0.0
            span = total[pos + n] - before
            for i in range(n):
                frac = (total[pos + i] - before) / span
                times[r, col] = (kk + frac) * interval
                which[r, col] = kk
                col += 1
            pos += n + 1
