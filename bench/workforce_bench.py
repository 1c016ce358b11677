"""Workforce benchmark: `.venv/bin/python bench/workforce_bench.py`.

A year of 15-minute intervals (35,040) with a 95598-like load averaging
about 90 Erlangs.  Compares our vectorised Erlang C staffing with pyworkforce
on the same intervals (and checks every disagreement in 50-digit mpmath),
times Erlang A staffing, the single-skill simulator (compiled numba engine,
JIT compile timed separately in a fresh process, and the numpy fallback),
the multi-skill simulator against ciw and simpy on one model, the forecast
back-test on the year, the 60-agent weekly schedule on three demand levels
and its roster.  pyworkforce/ciw/simpy run in
.bench-venv (bench/setup_bench_env.sh), never in the project environment.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import mpmath as mp
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from hotline.workforce import forecast as fc  # noqa: E402
from hotline.workforce import scheduling as sc  # noqa: E402
from hotline.workforce import simulation as sim  # noqa: E402
from hotline.workforce.examples import center_requirement  # noqa: E402
from hotline.workforce.staffing import StaffingTargets, extra_agents_now, required_agents  # noqa: E402

BENCH_PY = ROOT / ".bench-venv" / "bin" / "python"
INTERVAL = 900.0
SL, T = 0.8, 20.0


def year_of_load(seed: int = 2024) -> tuple[np.ndarray, np.ndarray]:
    """Calls offered and AHT (s) per 15-minute interval for a year.

    Shape: quiet nights, a morning peak around 09:30 and an afternoon one
    around 15:00, lighter weekends, a summer (heat / storm season) bump, and
    Poisson noise; scaled to average about 90 Erlangs.
    """
    rng = np.random.default_rng(seed)
    k = np.arange(365 * 96)
    hour = (k % 96) / 4.0
    day = k // 96
    intraday = (
        0.08
        + np.exp(-0.5 * ((hour - 9.5) / 1.6) ** 2)
        + 0.85 * np.exp(-0.5 * ((hour - 15.0) / 1.8) ** 2)
        + 0.35 * np.exp(-0.5 * ((hour - 20.0) / 1.5) ** 2)
    )
    weekly = np.where(day % 7 >= 5, 0.8, 1.0)
    seasonal = 1.0 + 0.35 * np.exp(-0.5 * ((day - 200) / 30.0) ** 2)
    aht = 290.0 + 25.0 * np.sin(2 * np.pi * hour / 24.0) + rng.normal(0, 8, k.size)
    shape = intraday * weekly * seasonal
    erlangs = shape / shape.mean() * 90.0
    calls = rng.poisson(erlangs * INTERVAL / aht).astype(float)
    return calls, aht


def best_time(fn, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def run_other(task: str, cfg: dict) -> dict | None:
    if not BENCH_PY.exists():
        # One command: the comparison libraries go into their own venv, never the project's.
        print("  creating .bench-venv with pyworkforce, ciw and simpy (bench/setup_bench_env.sh)")
        try:
            subprocess.run(["bash", str(ROOT / "bench" / "setup_bench_env.sh")], check=True)
        except subprocess.CalledProcessError:
            print(f"  ({task}: could not create .bench-venv; comparison skipped)")
            return None
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "in.json", Path(tmp) / "out.json"
        src.write_text(json.dumps(cfg))
        subprocess.run([str(BENCH_PY), str(ROOT / "bench" / "_bench_others.py"), task, str(src), str(dst)], check=True)
        return json.loads(dst.read_text())


def exact_service_level(n: int, load: mp.mpf, aht: mp.mpf) -> mp.mpf:
    """Erlang C service level at 80/20 from the definition, 50 digits."""
    if n <= load:
        return mp.mpf(0)
    term, below = mp.mpf(1), mp.mpf(1)
    for i in range(1, n):
        term = term * load / i
        below += term
    top = term * load / n * n / (n - load)
    c = top / (below + top)
    return 1 - c * mp.exp(-(n - load) * T / aht)


def cold_compile_seconds() -> float | None:
    """First simulation call in a fresh interpreter with an empty numba cache (i.e. the JIT compile)."""
    if sim.numba_engine() is None:
        return None
    code = (
        "import sys, time; sys.path.insert(0, %r)\n"
        "import numpy as np\n"
        "from hotline.workforce import simulation as sim\n"
        "m = sim.SingleSkillModel(900.0, np.full(4, 0.1), 300.0, 40, patience=120.0)\n"
        "t = time.perf_counter(); sim.simulate_single_skill(m, 2); print(time.perf_counter() - t)\n"
    ) % str(ROOT / "src")
    with tempfile.TemporaryDirectory() as cache:
        out = subprocess.run([sys.executable, "-c", code], env={**os.environ, "NUMBA_CACHE_DIR": cache},
                             capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({cpu})"


def main() -> None:
    mp.mp.dps = 50
    calls, aht = year_of_load()
    rate = calls / INTERVAL
    load = rate * aht
    rows: list[tuple[str, str, str]] = []
    print(f"machine: {machine()}, date {date.today().isoformat()}")
    print(f"intervals: {calls.size}, mean load {load.mean():.1f} Erlangs, peak {load.max():.1f}")

    targets = StaffingTargets(SL, T)
    ours = required_agents(rate, aht, targets, with_metrics=False).agents
    t_c = best_time(lambda: required_agents(rate, aht, targets, with_metrics=False))
    rows.append(("Erlang C staffing, year (target <= 50 ms)", f"{t_c * 1e3:.1f} ms", ""))

    pw = run_other(
        "pyworkforce",
        {
            "calls": calls.tolist(),
            "aht_minutes": (aht / 60.0).tolist(),
            "answer_minutes": T / 60.0,
            "interval_minutes": INTERVAL / 60.0,
            "service_level": SL,
        },
    )
    if pw is not None:
        theirs = np.array(pw["agents"])
        ratio = pw["seconds"] / t_c
        rows.append(("pyworkforce ErlangC, same year", f"{pw['seconds']:.2f} s", f"ours {ratio:,.0f}x faster"))
        differ = np.flatnonzero(theirs != ours)
        rows.append(("intervals where the answers differ", str(differ.size), ""))
        print(f"\nintervals where pyworkforce and we differ: {differ.size}")
        verdicts = {"ours": 0, "pyworkforce": 0, "neither": 0}
        for i in differ:
            a_, h_ = mp.mpf(load[i]), mp.mpf(aht[i])
            cache: dict[int, bool] = {}

            def meets(n: int) -> bool:
                if n not in cache:
                    cache[n] = exact_service_level(n, a_, h_) >= SL
                return cache[n]

            def minimal(n: int) -> bool:  # the right answer: meets the target, one fewer does not
                return meets(n) and not meets(n - 1)

            winner = "ours" if minimal(int(ours[i])) else "pyworkforce" if minimal(int(theirs[i])) else "neither"
            verdicts[winner] += 1
            if len(differ) <= 40 or i in differ[:10]:
                print(
                    f"  interval {i}: load {load[i]:.3f} E, ours {ours[i]}, pyworkforce {theirs[i]}, "
                    f"exact SL at ours {float(exact_service_level(int(ours[i]), a_, h_)):.6f}, "
                    f"at ours-1 {float(exact_service_level(int(ours[i]) - 1, a_, h_)):.6f} -> {winner} right"
                )
        rows.append(("  ... right by exact 50-digit check", f"ours {verdicts['ours']}", f"pyworkforce {verdicts['pyworkforce']}, neither {verdicts['neither']}"))

    t_a = best_time(
        lambda: required_agents(rate, aht, targets, model="erlang_a", patience=120.0, with_metrics=False), repeat=3
    )
    rows.append(("Erlang A staffing, year, patience 120 s (target <= 1 s)", f"{t_a:.2f} s", ""))

    # Single-skill simulation: one week day, Erlang A staffing, 200 replications.
    day = slice(96 * 190, 96 * 191)
    staff = required_agents(rate[day], aht[day], targets, model="erlang_a", patience=120.0).agents
    model = sim.SingleSkillModel(INTERVAL, rate[day], aht[day], staff, patience=120.0)
    compile_s = cold_compile_seconds()
    if compile_s is not None:
        rows.append(("numba JIT compile, first call in a fresh process (not counted below)", f"{compile_s:.1f} s",
                     "cached on disk afterwards"))
    engine = "numba" if sim.numba_engine() is not None else "numpy"
    sim.simulate_single_skill(model, 10, seed=0, engine=engine)  # warm up: JIT compile / cache load
    rates = []
    for rep in range(3):
        start = time.perf_counter()
        res = sim.simulate_single_skill(model, 200, seed=1 + rep, engine=engine)
        rates.append(res.calls / (time.perf_counter() - start))
    rows.append(
        (
            f"single-skill simulation, {engine} engine (target >= 1e6 calls/s)",
            f"{max(rates) / 1e6:.2f} M calls/s (best of 3; worst {min(rates) / 1e6:.2f})",
            f"{res.calls:,} calls, {int(staff.max())} agents at peak, SL {res.service_level().mean:.3f}",
        )
    )
    start = time.perf_counter()
    res_np = sim.simulate_single_skill(model, 50, seed=1, engine="numpy")
    el = time.perf_counter() - start
    rows.append(("single-skill simulation, numpy fallback engine", f"{res_np.calls / el / 1e6:.2f} M calls/s",
                 f"{res_np.calls:,} calls (50 replications)"))

    # Multi-skill: two priority classes sharing 100 agents, exponential patience.
    cfg = {"rates": [0.15, 0.15], "aht": 300.0, "patience": 120.0, "agents": 100, "horizon": 8 * 3600.0,
           "answer_time": T}
    ms_model = sim.MultiSkillModel(
        INTERVAL,
        [sim.QueueSpec("repair", np.full(32, 0.15), 300.0, 120.0), sim.QueueSpec("billing", np.full(32, 0.15), 300.0, 120.0)],
        [sim.AgentGroup("crew", {"repair": 1, "billing": 2}, 100)],
    )
    start = time.perf_counter()
    ms = sim.simulate_multi_skill(ms_model, 20, seed=2)
    el = time.perf_counter() - start
    ours_rate = ms.calls / el
    rows.append(
        (
            "multi-skill simulation, ours",
            f"{ours_rate / 1e3:.0f} k calls/s",
            f"SL repair {ms.queues['repair'].service_level().mean:.3f}, billing {ms.queues['billing'].service_level().mean:.3f}",
        )
    )
    for name, reps in (("ciw", 3), ("simpy", 5)):
        other = run_other(name, {**cfg, "replications": reps})
        if other is not None:
            other_rate = other["calls"] / other["seconds"]
            rows.append(
                (
                    f"multi-skill simulation, {name} (target: ours >= 10x)",
                    f"{other_rate / 1e3:.0f} k calls/s",
                    f"ours {ours_rate / other_rate:.1f}x faster; SL {other['sl'][0]:.3f}, {other['sl'][1]:.3f}",
                )
            )

    # Forecast back-test: the year as interval statistics from 2024-01-01, 4 rolling weekly origins.
    stamps = np.datetime64("2024-01-01T00:00") + np.arange(calls.size) * np.timedelta64(15, "m")
    stats = fc.IntervalStats.from_arrays(stamps, "repair", calls, aht, 15)
    start = time.perf_counter()
    report = fc.backtest(stats, horizon_days=7, origins=4, step_days=7)
    el = time.perf_counter() - start
    for row in report.table():
        rows.append((f"forecast back-test, {row['method']} (4 origins x 7 days)",
                     f"WAPE {row['wape']:.3f}, MAE {row['mae']:.2f} calls/interval", f"AHT MAE {row['aht_mae']:.1f} s"))
    rows.append(("forecast back-test, all three methods, total time", f"{el:.2f} s", f"best: {report.best}"))

    start = time.perf_counter()
    for _ in range(100):
        out = extra_agents_now(420, 290.0, 120, patience_seconds=120.0)
    rows.append(("extra_agents_now (Erlang A), one call", f"{(time.perf_counter() - start) * 10:.2f} ms",
                 f"420 calls/15 min, 120 agents -> +{out['extra_agents']}, SL now {out['projected_service_level']:.2f}"))

    # 60-agent weekly schedule (rest-aware tours) on three demand levels, then the roster.
    for peak in (15.0, 17.0, 19.0):
        required = center_requirement(peak)
        sched = sc.schedule_week(required, sc.standard_templates(), time_limit=25.0, mip_gap=0.004)
        rows.append((f"weekly schedule, peak {peak:.0f} Erlangs (target < 30 s, gap < 0.5%)",
                     f"{sched.seconds:.1f} s, gap {sched.mip_gap * 100:.2f}%",
                     f"{sched.status}; {sched.agents_needed} agents, {int(sched.under.sum())} uncovered"))
        agents = [sc.Agent(f"a{i}", frozenset({i % 7}) if i % 5 == 0 else frozenset(), unsocial_carry=i % 4)
                  for i in range(sched.agents_needed + 10)]
        roster = sc.assign_agents(sched, agents, mip_gap=0.0)
        rows.append((f"  roster of {len(agents)} named agents onto its tours", f"{roster.seconds:.2f} s, gap "
                     f"{roster.mip_gap * 100:.2f}%", roster.status))

    width = max(len(r[0]) for r in rows)
    print()
    print(f"| {'measure':<{width}} | result | note |")
    print(f"| {'-' * width} | --- | --- |")
    for name, value, note in rows:
        print(f"| {name:<{width}} | {value} | {note} |")


if __name__ == "__main__":
    main()
