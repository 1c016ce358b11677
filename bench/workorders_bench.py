#!/usr/bin/env python
"""Issue-2 benchmark: work orders at county-center scale on PostgreSQL.

    .venv/bin/python bench/workorders_bench.py            # full run, 1,000,000 orders
    .venv/bin/python bench/workorders_bench.py --quick    # smoke run, 20,000 orders, short phases

Steps (see docs/benchmarks.md):
 1. reset and migrate a dedicated database, build a county center, load the
    orders (templates driven through the real services, replicated with
    set-based SQL), VACUUM ANALYZE, let a worker catch up on the open tail;
 2. open-loop order creation through the JSON API against ``hotline serve``
    (+ ``hotline worker``) at the offered rate, then a rate ladder for the
    highest sustained rate;
 3. 10,000 simultaneous breaches → time until all level-1 supervision notices
    exist, with 1 and 2 workers;
 4. the shift-leader board, a unit inbox and the API list endpoint, timed,
    with EXPLAIN ANALYZE plans written to bench/plans/;
 5. a results table, bench/results/*.json and (full runs) docs/benchmarks.md.

Nothing here is a project dependency: only the standard library, the project
itself and psycopg (already a project dependency) are used.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
VENV_BIN = ROOT / ".venv" / "bin"
sys.path.insert(0, str(BENCH))

TARGET_MS = 200.0
P99_LIMIT_MS = 100.0
BREACH_TARGET_S = 5.0


LOADAVG: dict = {}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S', time.gmtime())}Z] (load {os.getloadavg()[0]:.1f}) {msg}", flush=True)


def note_load(phase: str) -> None:
    LOADAVG[phase] = round(os.getloadavg()[0], 2)


# --- database and processes ------------------------------------------------------

def reset_database(db_url: str) -> None:
    import psycopg

    u = urlparse(db_url)
    name = u.path.lstrip("/")
    if not name.startswith("hotline_bench"):
        raise SystemExit(f"refusing to reset {name!r}: the benchmark database name must start with hotline_bench")
    admin = urlunparse(u._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [name])
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def child_env(db_url: str) -> dict:
    env = dict(os.environ)
    env["DATABASE_URL"] = db_url
    env.setdefault("HOTLINE_LOG_LEVEL", "WARNING")
    env.setdefault("HOTLINE_DATA_DIR", str(ROOT / "data" / "bench"))
    return env


def hotline_cmd(*args: str) -> list[str]:
    return [str(VENV_BIN / "hotline"), *args]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Proc:
    def __init__(self, args: list[str], env: dict, logfile: Path):
        self.logfile = logfile
        self.fh = open(logfile, "ab")
        self.p = subprocess.Popen(args, env=env, stdout=self.fh, stderr=subprocess.STDOUT, cwd=ROOT)

    def stop(self, timeout: float = 15) -> None:
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.fh.close()


def wait_http(port: int, timeout: float = 60) -> None:
    import http.client

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/api/openapi.json")
            c.getresponse().read()
            c.close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server on port {port} did not come up")


def machine_info(db_url: str) -> dict:
    import psycopg

    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")))
    with psycopg.connect(db_url) as conn:
        pg = conn.execute("SELECT version()").fetchone()[0]
        settings = {k: conn.execute(f"SHOW {k}").fetchone()[0] for k in
                    ("shared_buffers", "work_mem", "effective_cache_size", "random_page_cost", "synchronous_commit", "max_connections")}
    return {
        "nproc": os.cpu_count(), "cpu": cpu, "ram_gb": round(mem_kb / 1024 / 1024, 1),
        "date": subprocess.run(["date"], capture_output=True, text=True).stdout.strip(),
        "python": platform.python_version(), "postgresql": pg, "pg_settings": settings,
    }


# --- phases ---------------------------------------------------------------------

def phase_load(args, env) -> dict:
    from django.db import connection
    from django.utils import timezone

    import wo_data

    out = {}
    t_all = time.monotonic()
    log("building the organisation (county, center, 8 stations, 3 departments, 80 areas) and customers")
    t = time.monotonic()
    world = wo_data.build_world(n_agents=50, n_customers=args.customers)
    out["world_s"] = time.monotonic() - t
    # Templates live ~500 days in the past on a Monday 09:00 local, well outside the replicated year.
    local_now = timezone.localtime()
    base = (local_now - dt.timedelta(days=500)).replace(hour=9, minute=0, second=0, microsecond=0)
    t0 = base - dt.timedelta(days=base.weekday())
    n_closed, n_open = (120, 60) if args.quick else (args.templates, args.templates // 2)
    log(f"driving {n_closed} closed + {n_open} open template groups through the services")
    t = time.monotonic()
    groups = wo_data.build_templates(world, n_closed=n_closed, n_open=n_open, t0=t0, log=log)
    out["templates_s"] = time.monotonic() - t
    out["template_groups"] = len(groups)
    log(f"  {len(groups)} groups in {out['templates_s']:.1f} s")
    log(f"replicating to {args.orders} orders with set-based SQL")
    t = time.monotonic()
    out["replicate"] = wo_data.replicate(world, groups, n_orders=args.orders, open_share=args.open_share, t0=t0, log=log)
    out["replicate_s"] = time.monotonic() - t
    t = time.monotonic()
    with connection.cursor() as cur:
        for table in wo_data.BULK_TABLES + ["organisation_customer", "organisation_customerphone", "workorders_numbercounter"]:
            cur.execute(f"VACUUM (ANALYZE) {table}")
    out["analyze_s"] = time.monotonic() - t
    out["load_s"] = time.monotonic() - t_all
    with connection.cursor() as cur:
        counts = {}
        for label, sql in [
            ("orders", "SELECT count(*) FROM workorders_workorder"),
            ("open_orders", "SELECT count(*) FROM workorders_workorder WHERE state NOT IN ('closed','merged','cancelled')"),
            ("events", "SELECT count(*) FROM workorders_workorderevent"),
            ("clocks", "SELECT count(*) FROM timelimits_clock"),
            ("running_clocks", "SELECT count(*) FROM timelimits_clock WHERE status = 'running'"),
            ("notices", "SELECT count(*) FROM timelimits_notice"),
            ("customers", "SELECT count(*) FROM organisation_customer"),
        ]:
            cur.execute(sql)
            counts[label] = cur.fetchone()[0]
        cur.execute("SELECT state, count(*) FROM workorders_workorder GROUP BY state ORDER BY 2 DESC")
        counts["by_state"] = dict(cur.fetchall())
        cur.execute("""SELECT bt.code, count(*) FROM workorders_workorder w JOIN catalog_businesstype bt ON bt.id = w.business_type_id
                       GROUP BY bt.code ORDER BY 2 DESC""")
        counts["by_type"] = dict(cur.fetchall())
        cur.execute("SELECT min(created_at), max(created_at) FROM workorders_workorder")
        lo, hi = cur.fetchone()
        counts["created_range"] = [str(lo), str(hi)]
        cur.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        counts["db_size"] = cur.fetchone()[0]
    out["counts"] = counts
    log(f"loaded in {out['load_s']:.1f} s: {json.dumps({k: v for k, v in counts.items() if not isinstance(v, dict)})}")
    # The open tail is older than its template's last step: a worker catches up on what fell due since.
    t = time.monotonic()
    subprocess.run(hotline_cmd("worker", "--once"), env=env, check=True, cwd=ROOT,
                   stdout=subprocess.DEVNULL)
    out["catch_up_s"] = time.monotonic() - t
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM timelimits_notice")
        out["counts"]["notices_after_catch_up"] = cur.fetchone()[0]
        cur.execute("ANALYZE timelimits_clock")
        cur.execute("ANALYZE timelimits_notice")
    log(f"worker catch-up on the open tail: {out['catch_up_s']:.1f} s, notices now {out['counts']['notices_after_catch_up']}")
    return out


def order_body_fn(customer_ids: list[int]):
    import wo_data

    def body(rnd):
        kind = wo_data._pick(rnd, [("repair", 0.55), ("inquiry", 0.22), ("service_request", 0.09), ("opinion", 0.05),
                                   ("complaint", 0.05), ("suggestion", 0.015), ("praise", 0.015), ("report", 0.01)])
        b = {"business_type": kind, "sub_class": wo_data._pick(rnd, wo_data.SUBS[kind]),
             "description": rnd.choice(wo_data.DESCRIPTIONS[kind])}
        if kind in wo_data.PRIORITIES:
            b["priority"] = wo_data._pick(rnd, wo_data.PRIORITIES[kind])
        if kind == "repair":
            b["fault_scope"] = "company" if rnd.random() < 0.95 else "customer_internal"
        if kind == "report":
            b["caller_phone"] = f"139{rnd.randrange(10**8):08d}"
        else:
            b["customer_id"] = rnd.choice(customer_ids)
        return b

    return body


def phase_http(args, env, tokens: list[str], customer_ids: list[int], port: int) -> dict:
    from wo_http import open_loop

    body = order_body_fn(customer_ids)
    out = {}
    log("warm-up: 10 orders/s for 5 s")
    open_loop(host="127.0.0.1", port=port, path="/api/orders", tokens=tokens, rate=10, duration=5, clients=args.clients,
              body_fn=body, seed=99)
    log(f"open loop: {args.rate}/s for {args.duration} s from {args.clients} clients")
    r = open_loop(host="127.0.0.1", port=port, path="/api/orders", tokens=tokens, rate=args.rate, duration=args.duration,
                  clients=args.clients, body_fn=body, seed=1)
    note_load("http_main")
    out["main"] = r.row()
    log(f"  {r.ok}/{r.scheduled} ok, errors {r.errors}, p50 {r.p50_ms:.1f} p95 {r.p95_ms:.1f} p99 {r.p99_ms:.1f} "
        f"max {r.max_ms:.1f} ms, achieved {r.achieved_rate:.1f}/s {r.error_samples[:2]}")
    ladder = []
    best = args.rate if r.passed(P99_LIMIT_MS) else None
    for rate in (args.ladder if best else []):
        if rate <= args.rate:
            continue
        time.sleep(3)
        s = open_loop(host="127.0.0.1", port=port, path="/api/orders", tokens=tokens, rate=rate, duration=args.step_duration,
                      clients=args.clients, body_fn=body, seed=rate)
        ladder.append(s.row())
        log(f"  ladder {rate}/s: {s.ok}/{s.scheduled} ok, p50 {s.p50_ms:.1f} p99 {s.p99_ms:.1f} max {s.max_ms:.1f} ms, "
            f"achieved {s.achieved_rate:.1f}/s {'PASS' if s.passed(P99_LIMIT_MS) else 'FAIL'} {s.error_samples[:1]}")
        if not s.passed(P99_LIMIT_MS):
            break
        best = rate
    if best is None:
        # The offered rate is not sustained: step down to the highest rate that is.
        for rate in [x for x in (40, 30, 25, 20, 15, 10, 5) if x < args.rate]:
            time.sleep(3)
            s = open_loop(host="127.0.0.1", port=port, path="/api/orders", tokens=tokens, rate=rate,
                          duration=args.step_duration, clients=args.clients, body_fn=body, seed=int(rate))
            ladder.append(s.row())
            log(f"  ladder down {rate}/s: {s.ok}/{s.scheduled} ok, p50 {s.p50_ms:.1f} p99 {s.p99_ms:.1f} max {s.max_ms:.1f} ms, "
                f"achieved {s.achieved_rate:.1f}/s {'PASS' if s.passed(P99_LIMIT_MS) else 'FAIL'} {s.error_samples[:1]}")
            if s.passed(P99_LIMIT_MS):
                best = rate
                break
    out["ladder"] = ladder
    out["highest_sustained_rate"] = best
    return out


def phase_queries(args, port: int, tokens: dict) -> dict:
    from django.db import connection

    import wo_data
    from hotline.workorders import selectors
    from wo_http import KeepAlive, percentile

    world = wo_data.load_world()
    with connection.cursor() as cur:
        cur.execute("""SELECT assigned_unit_id FROM workorders_workorder WHERE state IN ('dispatched','received','on_site','resolved')
                       AND assigned_unit_id IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC LIMIT 1""")
        busiest = cur.fetchone()[0]
    station_user = world.unit_users[busiest]
    reps = args.reps
    out = {}

    def timed(label, fn):
        fn()  # warm
        samples = []
        for _ in range(reps):
            t = time.perf_counter()
            fn()
            samples.append((time.perf_counter() - t) * 1000)
        out[label] = {"p50_ms": round(percentile(samples, 50), 1), "p99_ms": round(percentile(samples, 99), 1),
                      "max_ms": round(max(samples), 1), "reps": reps}
        log(f"  {label}: p50 {out[label]['p50_ms']} ms, p99 {out[label]['p99_ms']} ms")

    def board():
        b = selectors.shift_leader_board(world.leader)
        return len(b["clocks"]), len(b["notices"])

    def inbox():
        return len(list(selectors.unit_inbox(station_user)[:50]))

    note_load("queries")
    log(f"queries ({reps} repetitions each)")
    timed("board", board)
    timed("inbox", inbox)
    sizes = {"board": board(), "inbox": inbox()}
    api_agent = KeepAlive("127.0.0.1", port, tokens["agent"])
    from hotline.organisation.services import issue_api_token

    api_station = KeepAlive("127.0.0.1", port, issue_api_token(user=station_user, name="bench")[1])

    def api(client, path):
        def f():
            st, data = client.get(path)
            if st != 200:
                raise RuntimeError(f"{path}: {st} {data[:200]!r}")
            return data
        return f

    timed("api_list_center", api(api_agent, "/api/orders?limit=50"))
    timed("api_list_station", api(api_station, "/api/orders?limit=50"))
    timed("api_list_center_open", api(api_agent, "/api/orders?limit=50&state=dispatched&state=received&state=on_site"))
    api_agent.close()
    api_station.close()
    out["sizes"] = sizes
    out["station"] = station_user.unit.name

    # Plans.
    plans_dir = BENCH / "plans"
    plans_dir.mkdir(exist_ok=True)
    from django.db.models import Q
    from django.utils import timezone

    from hotline.timelimits.models import Clock, ClockStatus, Notice, NoticeKind

    # The same querysets as selectors.shift_leader_board: the scope from the
    # copies clocks and notices carry (access.clock_scope), no join to orders.
    from django.db.models import Count

    from hotline.workorders import access

    scope = access.clock_scope(world.leader) or Q()
    now = timezone.now()
    clocks = Clock.objects.filter(status=ClockStatus.RUNNING, warn_at__lte=now, order__isnull=False).filter(scope)
    notices = Notice.objects.filter(kind=NoticeKind.SUPERVISION, answered_at__isnull=True, order__isnull=False).filter(scope)
    board_clocks = clocks.order_by("due_at", "id").values_list("id", flat=True)[:51]
    board_clock_counts = clocks.order_by().values("status").annotate(
        overdue=Count("id", filter=Q(due_at__lt=now)), near=Count("id", filter=Q(due_at__gte=now)))
    board_notices = (notices.select_related("order", "unit", "supervisor_unit")
                     .only("id", "kind", "level", "metric", "due_at", "created_at", "answered_at", "order__number",
                           "order__state", "unit__name", "supervisor_unit__name")
                     .order_by("-level", "due_at", "id")[:51])
    board_notice_counts = notices.order_by().values_list("unit_id", "unit__name", "level").annotate(n=Count("id"))
    agent = world.agents[0]
    # As the API lists: four joins, the rest prefetched.
    listing = selectors.visible_orders(agent).select_related(
        "business_type", "sub_class", "service_area", "assigned_unit").order_by("-created_at", "-id")
    queries = {
        "board_clocks": board_clocks, "board_clock_counts": board_clock_counts,
        "board_notices": board_notices, "board_notice_counts": board_notice_counts,
        "unit_inbox": _inbox_head(station_user),
        "api_list_center_page": listing[:50],
        "api_list_station_page": selectors.visible_orders(station_user).select_related(
            "business_type", "sub_class", "service_area", "assigned_unit").order_by("-created_at", "-id")[:50],
    }
    plan_text = {}
    with connection.cursor() as cur:
        for name, qs in queries.items():
            sql, params = qs.query.sql_with_params()
            cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
            plan_text[name] = "\n".join(r[0] for r in cur.fetchall())
        for name, qs in (("api_list_center_count", listing), ("api_list_station_count", selectors.visible_orders(station_user))):
            # What the API runs now: qs[:COUNT_CAP + 1].count(), ordering kept.
            sql, params = qs.order_by("-created_at", "-id").values("id")[:10001].query.sql_with_params()
            cur.execute("EXPLAIN (ANALYZE, BUFFERS) SELECT COUNT(*) FROM (" + sql + ") s", params)
            plan_text[name] = "\n".join(r[0] for r in cur.fetchall())
    for name, text in plan_text.items():
        (plans_dir / f"{name}.txt").write_text(f"-- {args.orders} orders, {time.strftime('%Y-%m-%d %H:%M')}\n{text}\n")
        # Planning time matters as much as execution here: a 9-way select_related join plans in ~70 ms.
        timing = [line.strip() for line in text.splitlines() if line.strip().startswith(("Planning Time", "Execution Time"))]
        log(f"  plan {name}: {'; '.join(timing)}")
    out["plans"] = sorted(plan_text)
    return out


def _inbox_head(user):
    """The first step of selectors.unit_inbox (ids and next due), as a queryset to EXPLAIN."""
    from django.db.models import F, OuterRef, Subquery

    from hotline.organisation.selectors import subtree_unit_ids, user_scope_path
    from hotline.timelimits.models import Clock, ClockStatus
    from hotline.workorders.models import WorkOrder
    from hotline.workorders.selectors import INBOX_STATES

    units = subtree_unit_ids(user_scope_path(user) or "/")
    next_due = Clock.objects.filter(order=OuterRef("pk"), status=ClockStatus.RUNNING).order_by("due_at").values("due_at")[:1]
    return (WorkOrder.objects.filter(assigned_unit_id__in=units, state__in=INBOX_STATES)
            .annotate(next_due=Subquery(next_due)).order_by(F("next_due").asc(nulls_last=True), "created_at")
            .values_list("id", "next_due")[:50])


def phase_breach(args, env) -> dict:
    from django.db import connection, transaction

    out = {"runs": []}
    with connection.cursor() as cur:
        # Reuse the clocks of an earlier breach run (they were reset to stage 1 there), else pick running clocks.
        cur.execute("SELECT to_regclass('bench_breach') IS NOT NULL AND (SELECT count(*) FROM pg_class WHERE relname = 'bench_breach') > 0")
        if cur.fetchone()[0]:
            cur.execute("SELECT count(*) FROM bench_breach")
            if cur.fetchone()[0] < args.breaches:
                cur.execute("DROP TABLE bench_breach")
        cur.execute(f"""CREATE TABLE IF NOT EXISTS bench_breach AS SELECT c.id AS clock_id FROM timelimits_clock c
                        WHERE c.status = 'running' ORDER BY c.stage, c.id LIMIT {args.breaches}""")
        cur.execute("CREATE UNIQUE INDEX IF NOT EXISTS bench_breach_pk ON bench_breach (clock_id)")
        cur.execute("SELECT count(*) FROM bench_breach")
        n = cur.fetchone()[0]
        cur.execute("ANALYZE bench_breach")
    out["clocks"] = n
    log(f"breach test on {n} running clocks")
    for workers in (1, 2):
        # Nothing else due: drain whatever fell due meanwhile.
        subprocess.run(hotline_cmd("worker", "--once"), env=env, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
        with connection.cursor() as cur:
            cur.execute("""DELETE FROM timelimits_notice n USING bench_breach b WHERE n.clock_id = b.clock_id
                           AND n.kind = 'supervision'""")
            cur.execute("""UPDATE timelimits_clock c SET stage = 1, due_at = now() + interval '1 hour',
                           warn_at = LEAST(c.warn_at, now()), next_check_at = now() + interval '1 hour'
                           FROM bench_breach b WHERE b.clock_id = c.id""")
            # The resets leave dead versions of these 10,000 clocks in the
            # sweep's index each run; autovacuum clears them in production,
            # so the run starts as it would (not on the previous run's bloat).
            for table in ("timelimits_clock", "timelimits_notice", "workorders_workorder"):
                cur.execute(f"VACUUM (ANALYZE) {table}")
        procs = [Proc(hotline_cmd("worker"), env, BENCH / "results" / f"worker-breach-{workers}-{i}.log")
                 for i in range(workers)]
        time.sleep(4)  # workers started, first (idle) round done
        # The clocks run out together a few seconds from now (a clock's due time is known when it starts).
        from django.utils import timezone

        due = timezone.now() + dt.timedelta(seconds=6)
        with transaction.atomic():
            with connection.cursor() as cur:
                t_update = time.perf_counter()
                cur.execute("""UPDATE timelimits_clock c SET due_at = %s, next_check_at = %s
                               FROM bench_breach b WHERE b.clock_id = c.id""", [due, due])
        update_ms = (time.perf_counter() - t_update) * 1000
        while time.time() < due.timestamp():
            time.sleep(0.01)
        t0 = time.perf_counter() - (time.time() - due.timestamp())  # the breach instant
        first = None
        count = 0
        with connection.cursor() as cur:
            while time.perf_counter() - t0 < 180:
                cur.execute("""SELECT count(*) FROM timelimits_notice n JOIN bench_breach b ON b.clock_id = n.clock_id
                               WHERE n.kind = 'supervision' AND n.level = 1""")
                count = cur.fetchone()[0]
                if count and first is None:
                    first = time.perf_counter() - t0
                if count >= n:
                    break
                time.sleep(0.05)
        elapsed = time.perf_counter() - t0
        note_load(f"breach_{workers}")
        for p in procs:
            p.stop()
        run = {"workers": workers, "notices": count, "seconds_to_all": round(elapsed, 2),
               "seconds_to_first": round(first, 2) if first is not None else None, "update_ms": round(update_ms, 1)}
        out["runs"].append(run)
        log(f"  {workers} worker(s): {count}/{n} level-1 notices after {elapsed:.2f} s (first after {run['seconds_to_first']} s)")
    return out


# --- report ------------------------------------------------------------------------

def table(results: dict) -> str:
    rows = []
    http = results.get("http", {})
    m = http.get("main")
    if m:
        rows.append((f"create via API, {m['offered_rate']:.0f}/s open loop, {m['clients']} clients, {m['duration']:.0f} s",
                     f"p50 {m['p50_ms']} / p95 {m['p95_ms']} / p99 {m['p99_ms']} / max {m['max_ms']} ms; "
                     f"errors {m['errors']}/{m['scheduled']}; achieved {m['achieved_rate']}/s",
                     f"p99 ≤ {P99_LIMIT_MS:.0f} ms, 0 errors", "yes" if m["errors"] == 0 and m["p99_ms"] <= P99_LIMIT_MS else "NO"))
        best = http.get("highest_sustained_rate")
        lad = http.get("ladder") or [{}]
        worst = lad[-1]
        none = (f"none down to {worst.get('offered_rate', 0):.0f}/s (there: p50 {worst.get('p50_ms')} / p99 {worst.get('p99_ms')} ms)"
                if worst else "below the offered rate")
        steps = "; ".join(f"{x['offered_rate']:.0f}/s p50 {x['p50_ms']} / p99 {x['p99_ms']} ms, achieved {x['achieved_rate']}/s"
                          for x in http.get("ladder") or [])
        rows.append(("highest sustained create rate (ladder)", (f"{best:.0f}/s" if best else none) + (f" (steps: {steps})" if steps else ""),
                     f"p99 ≤ {P99_LIMIT_MS:.0f} ms, 0 errors, no backlog", "—"))
    for run in results.get("breach", {}).get("runs", []):
        rows.append((f"{results['breach']['clocks']} simultaneous breaches → level-1 notices, {run['workers']} worker(s)",
                     f"{run['seconds_to_all']} s (first after {run['seconds_to_first']} s)", f"≤ {BREACH_TARGET_S:.0f} s",
                     "yes" if run["seconds_to_all"] <= BREACH_TARGET_S and run["notices"] >= results["breach"]["clocks"] else "NO"))
    q = results.get("queries", {})
    for key, label in [("board", "shift-leader board (selectors.shift_leader_board)"),
                       ("inbox", "unit inbox, first 50 (selectors.unit_inbox)"),
                       ("api_list_center", "GET /api/orders?limit=50, center agent"),
                       ("api_list_station", "GET /api/orders?limit=50, station staff"),
                       ("api_list_center_open", "GET /api/orders?state=…(3 open states), center agent")]:
        if key in q:
            rows.append((label, f"p50 {q[key]['p50_ms']} / p99 {q[key]['p99_ms']} ms", f"< {TARGET_MS:.0f} ms",
                         "yes" if q[key]["p99_ms"] < TARGET_MS else "NO"))
    out = ["| measurement | result | target | met |", "| --- | --- | --- | --- |"]
    out += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    return "\n".join(out)


def write_docs(results: dict, cmd: str) -> None:
    mi = results["machine"]
    load = results.get("load", {})
    c = load.get("counts", {})
    notes = (BENCH / "workorders_notes.md").read_text() if (BENCH / "workorders_notes.md").exists() else ""
    rep = load.get("replicate", {})
    text = f"""# Benchmarks

## Work orders (issue 2)

Command (one command; it resets and fills its own database `hotline_bench`):

    {cmd}

`--quick` does a 20,000-order smoke run in a few minutes. Options:
`--orders`, `--db-url`, `--rate`, `--duration`, `--clients`, `--ladder`,
`--step-duration`, `--breaches`, `--reps`, `--phases`, `--skip-load`,
`--web-processes` (default 4, passed to `hotline serve --processes`). Raw figures of every run go to
`bench/results/`, query plans to `bench/plans/`.

### Machine

| | |
| --- | --- |
| date | {mi['date']} |
| CPU | {mi['nproc']} × {mi['cpu']} (`nproc` = {mi['nproc']}) |
| RAM | {mi['ram_gb']} GB |
| load average (1 min) at the start of each phase | {', '.join(f'{k} {v}' for k, v in results.get('loadavg', {}).items())} |
| PostgreSQL | {mi['postgresql'].split(' on ')[0]}, stock settings: {', '.join(f'{k}={v}' for k, v in mi['pg_settings'].items())} |
| Python | {mi['python']} |
| web | `hotline serve --processes {results['args'].get('web_processes', 1)}` (gunicorn sync workers) + one `hotline worker`; load generator and PostgreSQL on the same 2 cores |

### Data

{c.get('orders', '?'):,} work orders created over one year ({c.get('created_range', ['?', '?'])[0][:10]} … {c.get('created_range', ['?', '?'])[1][:10]}),
{c.get('open_orders', 0):,} open; {c.get('events', 0):,} events, {c.get('clocks', 0):,} clocks ({c.get('running_clocks', 0):,} running),
{c.get('notices_after_catch_up', c.get('notices', 0)):,} warnings and supervision notices, {c.get('customers', 0):,} customers;
database {c.get('db_size', '?')}. One county: a 95598 center with 50 agents, a dispatch desk, 8 supply
stations (80 service areas), 3 departments.

By type: {', '.join(f'{k} {v:,}' for k, v in c.get('by_type', {}).items())}.

By state: {', '.join(f'{k} {v:,}' for k, v in c.get('by_state', {}).items())}.

Load: {load.get('load_s', 0):.0f} s in all — organisation and customers {load.get('world_s', 0):.0f} s,
{load.get('template_groups', '?')} template groups through the services {load.get('templates_s', 0):.0f} s, replication
{load.get('replicate_s', 0):.0f} s (orders {rep.get('orders', 0):.0f} s, events {rep.get('events', 0):.0f} s,
clocks {rep.get('clocks', 0):.0f} s, notices {rep.get('notices', 0):.0f} s, secondary indexes rebuilt {rep.get('indexes', 0):.0f} s),
VACUUM ANALYZE {load.get('analyze_s', 0):.0f} s; then a worker caught up on the open tail in {load.get('catch_up_s', 0):.0f} s.

### Results

{table(results)}

{notes}

## Workforce

See [benchmarks-workforce.md](benchmarks-workforce.md).
"""
    (ROOT / "docs" / "benchmarks.md").write_text(text)


# --- main ----------------------------------------------------------------------------

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--orders", type=int, default=None, help="work orders to load (default 1,000,000; --quick 20,000)")
    ap.add_argument("--db-url", default="postgres://postgres@127.0.0.1:5432/hotline_bench")
    ap.add_argument("--rate", type=float, default=50, help="offered create rate, orders/s")
    ap.add_argument("--duration", type=float, default=None, help="seconds at --rate (default 60; --quick 15)")
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--ladder", type=lambda s: [float(x) for x in s.split(",")], default=[60, 70, 80, 100, 125, 150, 200, 250, 300, 400])
    ap.add_argument("--step-duration", type=float, default=None, help="seconds per ladder step (default 20; --quick 8)")
    ap.add_argument("--breaches", type=int, default=10000)
    ap.add_argument("--reps", type=int, default=50)
    ap.add_argument("--customers", type=int, default=None, help="default 50,000 (--quick 5,000)")
    ap.add_argument("--templates", type=int, default=400, help="closed template groups (open: half as many)")
    ap.add_argument("--open-share", type=float, default=0.035, help="share of orders still open")
    ap.add_argument("--quick", action="store_true", help="small smoke run")
    ap.add_argument("--web-processes", type=int, default=4, help="web processes: hotline serve --processes N (default 4)")
    ap.add_argument("--skip-load", action="store_true", help="reuse the loaded database (debugging)")
    ap.add_argument("--phases", default="http,queries,breach", help="which of http,queries,breach to run")
    ap.add_argument("--write-docs", action="store_true", help="rewrite docs/benchmarks.md's work-order sections from this run (never by default: the file holds other benchmarks too)")
    args = ap.parse_args()
    args.orders = args.orders or (20000 if args.quick else 1_000_000)
    args.duration = args.duration or (15 if args.quick else 60)
    args.step_duration = args.step_duration or (8 if args.quick else 20)
    args.customers = args.customers or (5000 if args.quick else 50000)
    cmd = ".venv/bin/python bench/workorders_bench.py" + (" --quick" if args.quick else "")

    env = child_env(args.db_url)
    (BENCH / "results").mkdir(exist_ok=True)
    Path(env["HOTLINE_DATA_DIR"]).mkdir(parents=True, exist_ok=True)
    results: dict = {"args": {k: v for k, v in vars(args).items()}}
    started = time.monotonic()

    if not args.skip_load:
        log(f"resetting {args.db_url} and migrating")
        reset_database(args.db_url)
        subprocess.run([str(VENV_BIN / "hotline"), "migrate", "--verbosity", "0"], env=env, check=True, cwd=ROOT)
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "HOTLINE_LOG_LEVEL", "HOTLINE_DATA_DIR")})
    os.environ["DJANGO_SETTINGS_MODULE"] = "hotline.settings"
    import django

    django.setup()
    results["machine"] = machine_info(args.db_url)
    if not args.skip_load:
        results["load"] = phase_load(args, env)

    import wo_data
    from hotline.organisation.models import Customer
    from hotline.organisation.services import issue_api_token

    world = wo_data.load_world()
    tokens = [issue_api_token(user=a, name="bench")[1] for a in world.agents]
    customer_ids = list(Customer.objects.values_list("id", flat=True))

    phases = set(args.phases.split(","))
    port = free_port()
    if phases & {"http", "queries"}:
        log(f"starting hotline serve --processes {args.web_processes} on 127.0.0.1:{port} and one hotline worker")
        server = Proc(hotline_cmd("serve", "--host", "127.0.0.1", "--port", str(port), "--processes", str(args.web_processes)),
                      env, BENCH / "results" / "server.log")
        worker = Proc(hotline_cmd("worker"), env, BENCH / "results" / "worker.log")
        try:
            wait_http(port)
            if "http" in phases:
                results["http"] = phase_http(args, env, tokens, customer_ids, port)
            worker.stop()
            from django.db import connection

            with connection.cursor() as cur:
                cur.execute("ANALYZE workorders_workorder")
            if "queries" in phases:
                results["queries"] = phase_queries(args, port, {"agent": tokens[0]})
        finally:
            server.stop()
            worker.stop()
    if "breach" in phases:
        results["breach"] = phase_breach(args, env)
    results["total_s"] = round(time.monotonic() - started, 1)
    results["loadavg"] = LOADAVG

    stamp = time.strftime("%Y%m%d-%H%M%S")
    kind = "quick" if args.quick else "full"
    path = BENCH / "results" / f"workorders-{kind}-{stamp}.json"
    path.write_text(json.dumps(results, indent=2, default=str, ensure_ascii=False))
    print()
    print(table(results))
    print(f"\nraw results: {path.relative_to(ROOT)}; total {results['total_s']:.0f} s")
    if args.write_docs and not args.skip_load:
        write_docs(results, cmd)
        print("wrote docs/benchmarks.md")


if __name__ == "__main__":
    main()
