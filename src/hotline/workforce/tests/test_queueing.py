"""Queueing formulas against arbitrary-precision references computed here with mpmath."""

from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest
from scipy.linalg import expm

from hotline.workforce import queueing as q

mp.mp.dps = 40


def ref_erlang_b(n: int, load: float) -> mp.mpf:
    """Definition: (A^N/N!) / sum_{k<=N} A^k/k!, summed exactly in 40 digits."""
    a = mp.mpf(load)
    term = mp.mpf(1)
    total = mp.mpf(1)
    for k in range(1, n + 1):
        term = term * a / k
        total += term
    return term / total


def ref_erlang_c(n: int, load: float) -> mp.mpf:
    """Definition: P(n >= N) in the M/M/N birth-death chain."""
    a = mp.mpf(load)
    term = mp.mpf(1)
    below = mp.mpf(1)  # sum_{k<N} A^k / k!
    for k in range(1, n):
        term = term * a / k
        below += term
    top = term * a / n * n / (n - a)  # A^N/N! * N/(N-A): the geometric tail
    return top / (below + top)


GRID_N = [1, 2, 3, 7, 10, 31, 100, 317, 1000, 2500, 5000]
GRID_RHO = [0.05, 0.3, 0.7, 0.9, 0.97, 0.995]


@pytest.mark.parametrize("n", GRID_N)
def test_erlang_b_matches_mpmath(n: int) -> None:
    loads = [n * r for r in GRID_RHO + [1.0, 1.02, 1.3, 3.0]]
    got = q.erlang_b(np.full(len(loads), n), np.array(loads))
    want = np.array([float(ref_erlang_b(n, a)) for a in loads])
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)


@pytest.mark.parametrize("n", GRID_N)
def test_erlang_c_and_its_service_level_match_mpmath(n: int) -> None:
    loads = np.array([n * r for r in GRID_RHO])
    c_ref = [ref_erlang_c(n, a) for a in loads]
    np.testing.assert_allclose(q.erlang_c(n, loads), [float(c) for c in c_ref], rtol=1e-12, atol=0)
    aht, t = 300.0, 20.0
    m = q.erlang_c_metrics(loads / aht, aht, n, t)
    miss_ref = [float(c * mp.exp(-(n - mp.mpf(a)) * t / aht)) for c, a in zip(c_ref, loads)]
    np.testing.assert_allclose(1.0 - m.service_level_offered, miss_ref, rtol=1e-9, atol=1e-15)
    asa_ref = [float(c * aht / (n - mp.mpf(a))) for c, a in zip(c_ref, loads)]
    np.testing.assert_allclose(m.asa, asa_ref, rtol=1e-12)
    np.testing.assert_allclose(m.occupancy, loads / n, rtol=1e-15)


def test_erlang_b_at_100k_agents() -> None:
    n = 100_000
    loads = np.array([0.9 * n, 0.999 * n, 1.001 * n, 1.5 * n, 10.0 * n])
    got = q.erlang_b(n, loads)
    mp.mp.dps = 30
    try:
        want = [float(ref_erlang_b(n, a)) for a in loads]
    finally:
        mp.mp.dps = 40
    np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-300)


def test_erlang_b_far_tails_do_not_underflow_into_nan() -> None:
    # B below the smallest double becomes 0 (log stays finite); overload -> 1 - N/A.
    assert q.erlang_b(5000, 100.0) == 0.0
    assert np.isfinite(q.log_erlang_b(5000, 100.0)) and q.log_erlang_b(5000, 100.0) < -700
    np.testing.assert_allclose(q.erlang_b(1000, 1e6), float(ref_erlang_b(1000, 1e6)), rtol=1e-12)
    assert q.erlang_b(0, 3.0) == 1.0 and q.erlang_b(4, 0.0) == 0.0


def test_vectorised_equals_elementwise_and_keeps_shape() -> None:
    rng = np.random.default_rng(7)
    n = rng.integers(1, 400, size=(3, 5))
    aht = rng.uniform(100, 500, size=(3, 5))
    lam = rng.uniform(0.2, 1.3, size=(3, 5)) * n / aht
    full_c = q.erlang_c_metrics(lam, aht, n, 20.0)
    full_a = q.erlang_a_metrics(lam, aht, n, 90.0, 20.0, 5.0)
    assert full_c.service_level_offered.shape == (3, 5)
    assert full_a.asa.shape == (3, 5)
    for i in range(3):
        for j in range(5):
            one_c = q.erlang_c_metrics(lam[i, j], aht[i, j], n[i, j], 20.0)
            one_a = q.erlang_a_metrics(lam[i, j], aht[i, j], n[i, j], 90.0, 20.0, 5.0)
            assert one_c.prob_wait == pytest.approx(full_c.prob_wait[i, j], rel=1e-14)
            assert one_a.service_level_offered == pytest.approx(full_a.service_level_offered[i, j], rel=1e-13)
            assert one_a.asa == pytest.approx(full_a.asa[i, j], rel=1e-12)


# --------------------------------------------------------------------- Erlang A


def ref_erlang_a(lam: float, aht: float, n: int, patience: float, t: float, s: float) -> dict[str, float]:
    """Exact M/M/N+M measures from the birth-death chain, in 40 digits.

    Stationary law with death rates min(k, N) mu + max(k - N, 0) theta,
    truncated where terms are below 1e-60 of the peak.  Waiting-time measures
    integrate the offered-wait density f_V(t) = lam pi_{N-1}
    exp(x (1 - e^{-theta t}) - N mu t) numerically.
    """
    lam_, mu, th = mp.mpf(lam), 1 / mp.mpf(aht), 1 / mp.mpf(patience)
    pis = [mp.mpf(1)]
    k = 0
    while True:
        k += 1
        pis.append(pis[-1] * lam_ / (min(k, n) * mu + max(k - n, 0) * th))
        if k > n and pis[-1] < mp.mpf(10) ** -60 * max(pis):
            break
    z = mp.fsum(pis)
    pw = mp.fsum(pis[n:]) / z
    queue = mp.fsum((k - n) * pis[k] for k in range(n, len(pis))) / z
    abandon = th * queue / lam_
    busy = mp.fsum(min(k, n) * pis[k] for k in range(len(pis))) / z
    x = lam_ / th
    pi_prev = pis[n - 1] / z

    def f_v(u: mp.mpf) -> mp.mpf:
        return lam_ * pi_prev * mp.exp(x * (1 - mp.exp(-th * u)) - n * mu * u)

    scale = 1 / (n * mu + th)
    answered_by_t = (1 - pw) + mp.quad(lambda u: f_v(u) * mp.exp(-th * u), [0, t])
    # abandon before s: V <= s and patience < V, or V > s and patience <= s
    v_le_s = mp.quad(f_v, [0, s])
    short = mp.quad(lambda u: f_v(u) * (1 - mp.exp(-th * u)), [0, s]) + (pw - v_le_s) * (1 - mp.exp(-th * s))
    served_wait = mp.quad(lambda u: u * f_v(u) * mp.exp(-th * u), [0, scale, 10 * scale, 100 * scale, mp.inf])
    return {
        "prob_wait": float(pw),
        "abandon_rate": float(abandon),
        "occupancy": float(busy / n),
        "mean_wait": float(queue / lam_),
        "service_level_offered": float(answered_by_t),
        "service_level_answered": float(answered_by_t / (1 - abandon)),
        "service_level_offered_minus_short_abandons": float(answered_by_t / (1 - short)),
        "short_abandon_rate": float(short),
        "asa": float(served_wait / (1 - abandon)),
    }


ERLANG_A_CASES = [
    # lam (1/s), AHT (s), N, mean patience (s): under-, critically and over-loaded
    (0.05, 180.0, 5, 60.0),
    (0.02, 300.0, 8, 600.0),
    (0.3, 300.0, 100, 120.0),
    (0.35, 300.0, 100, 120.0),
    (0.5, 300.0, 100, 120.0),
    (0.02, 300.0, 1, 30.0),
    (1.0, 240.0, 150, 90.0),  # N < A / 1.6
    (3.0, 300.0, 850, 200.0),
    (10.0, 300.0, 3100, 150.0),
]


@pytest.mark.parametrize("lam,aht,n,patience", ERLANG_A_CASES)
def test_erlang_a_matches_birth_death_chain(lam: float, aht: float, n: int, patience: float) -> None:
    ref = ref_erlang_a(lam, aht, n, patience, 20.0, 5.0)
    got = q.erlang_a_metrics(lam, aht, n, patience, 20.0, 5.0)
    for key in ("prob_wait", "abandon_rate", "occupancy", "mean_wait"):
        assert float(getattr(got, key)) == pytest.approx(ref[key], rel=1e-11, abs=1e-300), key
    for key in (
        "service_level_offered",
        "service_level_answered",
        "service_level_offered_minus_short_abandons",
        "short_abandon_rate",
    ):
        assert float(getattr(got, key)) == pytest.approx(ref[key], rel=1e-9, abs=1e-13), key
    assert float(got.asa) == pytest.approx(ref["asa"], rel=1e-9), "asa"


def test_erlang_a_service_level_against_tagged_caller_chain() -> None:
    """Independent route: follow one arriving caller through an absorbing CTMC.

    A caller finding j callers ahead moves up at rate N mu + i theta (i ahead),
    is answered from position 0 at rate N mu, and hangs up at rate theta.
    """
    lam, aht, n, patience, t = 0.04, 200.0, 6, 45.0, 20.0
    mu, th = 1 / aht, 1 / patience
    ref = ref_erlang_a(lam, aht, n, patience, t, 5.0)
    jmax = 120
    size = jmax + 3  # positions 0..jmax, answered, abandoned
    gen = np.zeros((size, size))
    answered, abandoned = jmax + 1, jmax + 2
    for i in range(jmax + 1):
        out = answered if i == 0 else i - 1
        gen[i, out] += n * mu + i * th
        gen[i, abandoned] += th
        gen[i, i] = -(n * mu + i * th + th)
    by_t = expm(gen * t)[: jmax + 1, answered]
    # PASTA: state seen on arrival has the stationary law; j ahead <=> n + j in system.
    pis = [1.0]
    for k in range(1, n + jmax + 1):
        pis.append(pis[-1] * lam / (min(k, n) * mu + max(k - n, 0) * th))
    pis = np.array(pis) / sum(pis)
    sl = pis[:n].sum() + (pis[n : n + jmax + 1] * by_t).sum()
    got = q.erlang_a_metrics(lam, aht, n, patience, t, 5.0)
    assert float(got.service_level_offered) == pytest.approx(sl, rel=1e-9)
    assert sl == pytest.approx(ref["service_level_offered"], rel=1e-9)


def test_erlang_a_tends_to_erlang_c_as_patience_grows() -> None:
    lam, aht, n = np.array([0.2, 0.3, 0.32]), 300.0, 100
    c = q.erlang_c_metrics(lam, aht, n, 20.0)
    a = q.erlang_a_metrics(lam, aht, n, 1e9, 20.0, 5.0)
    np.testing.assert_allclose(a.prob_wait, c.prob_wait, rtol=1e-5)
    np.testing.assert_allclose(a.service_level_offered, c.service_level_offered, rtol=1e-5)
    np.testing.assert_allclose(a.asa, c.asa, rtol=1e-4)


def test_erlang_a_is_stable_over_a_wide_grid_including_overload() -> None:
    rng = np.random.default_rng(11)
    size = 20_000
    n = rng.integers(1, 100_001, size)
    rho = np.exp(rng.uniform(np.log(0.01), np.log(10.0), size))
    aht = rng.uniform(30, 900, size)
    patience = np.exp(rng.uniform(0.0, np.log(3600.0), size))
    lam = rho * n / aht
    m = q.erlang_a_metrics(lam, aht, n, patience, 20.0, 5.0, include_asa=False)
    for key in (
        "prob_wait",
        "abandon_rate",
        "short_abandon_rate",
        "occupancy",
        "service_level_offered",
        "service_level_answered",
        "service_level_offered_minus_short_abandons",
    ):
        values = getattr(m, key)
        assert np.all(np.isfinite(values)), key
        assert np.all((values >= 0) & (values <= 1)), key
    # flow balance: what is not abandoned is carried by the agents
    np.testing.assert_allclose(m.occupancy * n, rho * n * (1 - m.abandon_rate), rtol=1e-9)
    # overload: at least the excess load must abandon
    over = rho > 1.05
    assert np.all(m.abandon_rate[over] >= (1 - 1 / rho[over]) * (1 - 1e-9))
    small = rng.choice(size, 300, replace=False)
    sub = q.erlang_a_metrics(lam[small], aht[small], n[small], patience[small], 20.0, 5.0)
    assert np.all(np.isfinite(sub.asa)) and np.all(sub.asa >= 0)
    # ASA of answered calls cannot exceed the mean wait of all calls by much... but is below the
    # mean wait of those who wait: E[W | served] <= E[W] / P(served) always holds.
    assert np.all(sub.asa <= sub.mean_wait / (1 - sub.abandon_rate) * (1 + 1e-9) + 1e-12)


def test_measures_are_monotone_in_agents() -> None:
    n = np.arange(1, 400)
    a = q.erlang_a_metrics(0.4, 300.0, n, 90.0, 20.0, 5.0)
    c = q.erlang_c_metrics(0.4, 300.0, n, 20.0)
    assert np.all(np.diff(a.service_level_offered) >= -1e-12)
    assert np.all(np.diff(a.service_level_answered) >= -1e-12)
    assert np.all(np.diff(a.service_level_offered_minus_short_abandons) >= -1e-12)
    assert np.all(np.diff(a.abandon_rate) <= 1e-12)
    assert np.all(np.diff(a.asa) <= 1e-12)
    assert np.all(np.diff(c.service_level_offered) >= 0)
    assert np.all(np.diff(c.asa[np.isfinite(c.asa)]) <= 0)


def test_edge_cases() -> None:
    c = q.erlang_c_metrics([0.0, 1.0], 300.0, [3, 100], 20.0)  # no calls; overload
    np.testing.assert_array_equal(c.service_level_offered, [1.0, 0.0])
    assert c.asa[0] == 0.0 and np.isinf(c.asa[1])
    a = q.erlang_a_metrics([0.0, 0.1], 300.0, [2, 0], 60.0, 20.0, 5.0)
    np.testing.assert_array_equal(a.abandon_rate, [0.0, 1.0])
    np.testing.assert_array_equal(a.service_level_offered, [1.0, 0.0])
    with pytest.raises(ValueError):
        q.erlang_a_metrics(0.1, 300.0, 5, 0.0)
    with pytest.raises(ValueError):
        c.service_level("of_everything")  # type: ignore[arg-type]
