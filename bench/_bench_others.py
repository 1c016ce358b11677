"""Runs the comparison libraries inside .bench-venv (see setup_bench_env.sh).

Usage: python _bench_others.py {pyworkforce|ciw|simpy} INPUT.json OUTPUT.json
Kept separate so pyworkforce, ciw and simpy never become project dependencies.
"""

from __future__ import annotations

import json
import random
import sys
import time


def run_pyworkforce(cfg: dict) -> dict:
    from pyworkforce.queuing import ErlangC

    agents = []
    start = time.perf_counter()
    for calls, aht in zip(cfg["calls"], cfg["aht_minutes"]):
        if calls <= 0:
            agents.append(0)
            continue
        model = ErlangC(transactions=calls, aht=aht, asa=cfg["answer_minutes"], interval=cfg["interval_minutes"])
        agents.append(model.required_positions(service_level=cfg["service_level"])["raw_positions"])
    return {"seconds": time.perf_counter() - start, "agents": agents}


def run_ciw(cfg: dict) -> dict:
    import ciw

    classes = [f"Class {i}" for i in range(len(cfg["rates"]))]
    network = ciw.create_network(
        arrival_distributions={c: [ciw.dists.Exponential(r)] for c, r in zip(classes, cfg["rates"])},
        service_distributions={c: [ciw.dists.Exponential(1 / cfg["aht"])] for c in classes},
        number_of_servers=[cfg["agents"]],
        priority_classes={c: i for i, c in enumerate(classes)},
        reneging_time_distributions={c: [ciw.dists.Exponential(1 / cfg["patience"])] for c in classes},
    )
    calls = 0
    within = [0] * len(classes)
    offered = [0] * len(classes)
    start = time.perf_counter()
    for rep in range(cfg["replications"]):
        ciw.seed(rep)
        sim = ciw.Simulation(network)
        sim.simulate_until_max_time(cfg["horizon"])
        for r in sim.get_all_records():
            i = classes.index(r.customer_class)
            offered[i] += 1
            if r.record_type == "service" and r.waiting_time <= cfg["answer_time"]:
                within[i] += 1
        calls += len(sim.get_all_records())
    return {"seconds": time.perf_counter() - start, "calls": calls, "sl": [w / o for w, o in zip(within, offered)]}


def run_simpy(cfg: dict) -> dict:
    import simpy

    n_classes = len(cfg["rates"])
    within = [0] * n_classes
    offered = [0] * n_classes
    calls = 0
    start = time.perf_counter()
    for rep in range(cfg["replications"]):
        rng = random.Random(rep)
        env = simpy.Environment()
        agents = simpy.PriorityResource(env, capacity=cfg["agents"])

        def caller(cls: int) -> simpy.events.Event:
            arrived = env.now
            with agents.request(priority=cls) as req:
                outcome = yield req | env.timeout(rng.expovariate(1 / cfg["patience"]))
                if req in outcome:
                    if env.now - arrived <= cfg["answer_time"]:
                        within[cls] += 1
                    yield env.timeout(rng.expovariate(1 / cfg["aht"]))

        def source(cls: int, rate: float) -> simpy.events.Event:
            nonlocal calls
            while True:
                yield env.timeout(rng.expovariate(rate))
                offered[cls] += 1
                calls += 1
                env.process(caller(cls))

        for i, rate in enumerate(cfg["rates"]):
            env.process(source(i, rate))
        env.run(until=cfg["horizon"])
    return {"seconds": time.perf_counter() - start, "calls": calls, "sl": [w / o for w, o in zip(within, offered)]}


if __name__ == "__main__":
    task, src, dst = sys.argv[1:4]
    with open(src) as fh:
        config = json.load(fh)
    result = {"pyworkforce": run_pyworkforce, "ciw": run_ciw, "simpy": run_simpy}[task](config)
    with open(dst, "w") as fh:
        json.dump(result, fh)
