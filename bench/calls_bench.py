#!/usr/bin/env python
"""Issue-10 benchmark: the contact center's ingest, wallboard lag and KPIs on PostgreSQL.

    .venv/bin/python bench/calls_bench.py                    # everything: load 10,000,000 calls, then measure
    .venv/bin/python bench/calls_bench.py --skip-load        # measure again on the loaded database
    .venv/bin/python bench/calls_bench.py --calls 200000 --duration 20   # a quick run

1. **load** (unless ``--skip-load``): drop, create and migrate the database
   (``--db-url``, default ``hotline_calls_bench`` on the local PostgreSQL),
   the test county of ``hotline.testing.build_world`` (its center, shift
   leader and director), ``--agents`` agent users per source, ``--sources``
   event sources with their tokens, and ``--calls`` call records over the
   last year, set-wise (``INSERT … SELECT`` over ``generate_series``: a
   95598 day's shape per hour, weekends lower, three queues, answered and
   abandoned calls with waits, rings, talk, hold, after-call work, surveys);
   secondary indexes built after the rows, then ``VACUUM ANALYZE``.
2. **ingest** through the HTTP endpoint: ``hotline serve`` started here;
   each source's events are a storm day of the traffic simulator
   (``calls.simulator.simulate``: numbers only, nothing ingested), sent in
   time order as batches of ``--batch`` events by ``--connections`` client
   connections per source, closed loop (the next batch as soon as the last
   is answered), ``--duration`` seconds after a warm-up; events/s accepted.
   Beside it, in the same run, the machine's limit: the same rows by a
   plain ``COPY`` into ``calls_callevent`` (one transaction; then one per
   batch). Then the calls whose events were all sent are checked against
   the simulator's own facts.
3. **wallboard lag**, while the ingest runs: the shift leader logged in
   (the log-in form, a session cookie) polls the board's live part of a
   marker queue; a marker call is offered through the same endpoint at a
   known time, then abandoned; the lag is the time from sending each event
   until a poll's answer shows it (waiting 1, then offered today + 1): with
   a poll every 0.1 s (when the figures are there) and every 1 s (what the
   page, polling each second, shows).
4. **KPIs**: ``kpis.report`` for one day, one month and each of those for
   one queue, ``--reps`` times after a warm-up (and the first, cold, run);
   the month's aggregate query's plan to ``bench/plans/calls-kpi-*.txt``.

Every figure is printed beside its peer or limit, with the load average of
each phase; raw figures to ``bench/results/calls-<time>.json``. Timings are
recorded, never asserted. Only the standard library, numpy (the simulator's)
and the project are used.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import math
import os
import platform
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode, urlparse, urlunparse

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
VENV_BIN = ROOT / ".venv" / "bin"
sys.path.insert(0, str(ROOT / "src"))

TARGET_RATE = 5000.0  # events/s through the endpoint
TARGET_LAG_S = 2.0  # ingest → wallboard
TARGET_KPI_S = 1.0  # kpis.report, per scope
PREFIX = "cb"  # build_world's prefix: usernames cb-leader, cb-director …
MARKER_QUEUE = "bench-marker"
QUEUES = (("repair", 0.47, 150.0), ("general", 0.45, 200.0), ("complaint", 0.08, 330.0))

LOAD: dict[str, dict] = {}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S', time.gmtime())}Z] (load {os.getloadavg()[0]:.2f}) {msg}", flush=True)


class Phase:
    """The load average at the start and end of a phase and sampled every 5 s in between."""

    def __init__(self, name: str):
        self.name, self.samples, self._stop = name, [], threading.Event()

    def __enter__(self):
        self.start = os.getloadavg()
        self.t0 = time.monotonic()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._stop.wait(5):
            self.samples.append(os.getloadavg()[0])

    def __exit__(self, *exc):
        self._stop.set()
        end = os.getloadavg()
        LOAD[self.name] = {"start_1min": round(self.start[0], 2), "end_1min": round(end[0], 2),
                           "mean_1min": round(statistics.mean(self.samples), 2) if self.samples else None,
                           "max_1min": round(max(self.samples), 2) if self.samples else None,
                           "seconds": round(time.monotonic() - self.t0, 1)}


def results_stamp() -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    k = (len(s) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def stats_ms(seconds: list[float]) -> dict:
    return {"n": len(seconds), **{k: (round(v * 1000, 1) if v is not None else None) for k, v in (
        ("p50_ms", percentile(seconds, 50)), ("p95_ms", percentile(seconds, 95)),
        ("max_ms", max(seconds) if seconds else None))}}


# --- database, processes, machine -----------------------------------------------------

def reset_database(db_url: str) -> None:
    import psycopg

    u = urlparse(db_url)
    name = u.path.lstrip("/")
    if "bench" not in name:
        raise SystemExit(f"refusing to drop {name!r}: the benchmark database's name must contain 'bench'")
    with psycopg.connect(urlunparse(u._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s "
                     "AND pid <> pg_backend_pid()", [name])
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def child_env(db_url: str) -> dict:
    env = dict(os.environ, DATABASE_URL=db_url, DJANGO_SETTINGS_MODULE="hotline.settings")
    env.setdefault("HOTLINE_LOG_LEVEL", "WARNING")
    env.setdefault("HOTLINE_DATA_DIR", str(ROOT / "data" / "bench"))
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(port: int, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("GET", "/login/")
            c.getresponse().read()
            c.close()
            return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"hotline serve on port {port} did not come up")


def cpu_seconds(pids) -> float:
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            raw = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = raw[raw.rindex(")") + 2:].split()
        total += int(fields[11]) + int(fields[12])
    return total / tick


def children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                raw = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(raw[raw.rindex(")") + 2:].split()[1]) == pid:
                out.append(int(entry))
    return out


def machine_info() -> dict:
    from django.db import connection

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "?")
    mem_kb = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal")))
    with connection.cursor() as cur:
        cur.execute("SELECT version()")
        pg = cur.fetchone()[0]
        settings = {}
        for name in ("shared_buffers", "work_mem", "maintenance_work_mem", "effective_cache_size", "random_page_cost",
                     "synchronous_commit", "max_connections", "max_parallel_workers_per_gather", "autovacuum", "jit",
                     "wal_level", "max_wal_size"):
            cur.execute(f"SHOW {name}")
            settings[name] = cur.fetchone()[0]
    return {"date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "nproc": os.cpu_count(), "cpu": cpu,
            "ram_gb": round(mem_kb / 1024 / 1024, 1), "python": platform.python_version(),
            "postgresql": pg.split(" on ")[0], "pg_settings": settings,
            "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                     cwd=ROOT).stdout.strip()}


def db_size() -> str:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        return cur.fetchone()[0]


# --- the county, its agents and sources -----------------------------------------------------

def source_names(n: int) -> list[str]:
    return [f"switch-{k + 1}" for k in range(n)]


def agent_numbers(k: int, agents: int) -> list[str]:
    return [str(10000 + k * 1000 + i) for i in range(agents)]


def build_county(args) -> None:
    """The county (once), then any agents and sources the arguments name that are missing."""
    from django.contrib.auth.hashers import make_password

    from hotline.calls import services
    from hotline.calls.models import EventSource
    from hotline.organisation.models import Role, Unit, User
    from hotline.testing import build_world

    if not Unit.objects.filter(code=f"{PREFIX}-center").exists():
        build_world(PREFIX)
    center = Unit.objects.get(code=f"{PREFIX}-center")
    unusable = make_password(None)
    have = set(User.objects.filter(username__startswith=f"{PREFIX}-agent-").values_list("agent_number", flat=True))
    User.objects.bulk_create([
        User(username=f"{PREFIX}-agent-{number}", role=Role.AGENT, unit=center, agent_number=number,
             display_name=f"坐席{number}", password=unusable)
        for k in range(args.sources) for number in agent_numbers(k, args.agents) if number not in have])
    for name in [*source_names(args.sources), "history", "copy-peer"]:
        if not EventSource.objects.filter(name=name).exists():
            services.create_source(name=name, kind="http")


def county() -> dict:
    from hotline.calls.models import EventSource
    from hotline.organisation.models import Unit, User

    return {"center": Unit.objects.get(code=f"{PREFIX}-center"), "leader": User.objects.get(username=f"{PREFIX}-leader"),
            "sources": {s.name: s for s in EventSource.objects.all()}}


# --- 10,000,000 calls over a year -------------------------------------------------------------

def phase_load_calls(args) -> dict:
    """``--calls`` call records over the year before today, by set-based SQL."""
    import numpy as np
    from django.db import connection, transaction
    from django.utils import timezone

    from hotline.calls import simulator
    from hotline.calls.models import Call, EventSource
    from hotline.organisation.models import Role, User

    out: dict = {}
    tz = timezone.get_current_timezone()
    today = timezone.localdate()
    first = today - dt.timedelta(days=365)
    # Calls per local hour: the simulator's 95598 shapes, weekends 0.8, a
    # little day-to-day noise; the year's total is --calls.
    rng = np.random.default_rng(20261203)
    starts, weights = [], []
    for d in range(365):
        day = first + dt.timedelta(days=d)
        weekend = day.weekday() >= 5
        shape = np.array(simulator.WEEKEND_SHAPE if weekend else simulator.DAY_SHAPE)
        factor = (0.8 if weekend else 1.0) * rng.lognormal(0, 0.15)
        midnight = dt.datetime.combine(day, dt.time(), tz)
        for h in range(24):
            starts.append((midnight + dt.timedelta(hours=h)).astimezone(dt.UTC))
            weights.append(shape[h] * factor)
    weights = np.array(weights)
    counts = np.floor(weights / weights.sum() * args.calls).astype(int)
    counts[np.argsort(-(weights / weights.sum() * args.calls - counts))[: args.calls - counts.sum()]] += 1
    agent_ids = list(User.objects.filter(role=Role.AGENT, agent_number__startswith="1").order_by("id")
                     .values_list("id", "agent_number"))
    history = EventSource.objects.get(name="history")
    table = Call._meta.db_table
    with connection.cursor() as cur:
        # Secondary indexes are built once the rows are in (far faster than row by row).
        cur.execute("""SELECT c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c
                       WHERE c.conrelid = %s::regclass AND c.contype = 'u'""", [table])
        constraints = cur.fetchall()
        for name, _definition in constraints:
            cur.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        cur.execute("""SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s
                       AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)""",
                    [table, table])
        indexes = cur.fetchall()
        for name, _definition in indexes:
            cur.execute(f'DROP INDEX "{name}"')
        cur.execute("CREATE TEMP TABLE bench_slots (start timestamptz, n int, m int)")
        months = [s.astimezone(tz).year * 12 + s.astimezone(tz).month for s in starts]
        cur.execute("INSERT INTO bench_slots SELECT * FROM unnest(%s::timestamptz[], %s::int[], %s::int[])",
                    [starts, [int(c) for c in counts], months])
        cur.execute("CREATE TEMP TABLE bench_agents AS SELECT * FROM unnest(%s::bigint[], %s::text[]) "
                    "WITH ORDINALITY AS a(id, ref, i)", [[a for a, _r in agent_ids], [r for _a, r in agent_ids]])
        cur.execute("SELECT setseed(0.20261203)")
    n_agents = len(agent_ids)
    queue_case = (f"CASE WHEN rq < {QUEUES[0][1]} THEN '{QUEUES[0][0]}' WHEN rq < {QUEUES[0][1] + QUEUES[1][1]} "
                  f"THEN '{QUEUES[1][0]}' ELSE '{QUEUES[2][0]}' END")
    talk_mean = (f"CASE WHEN rq < {QUEUES[0][1]} THEN {QUEUES[0][2]} WHEN rq < {QUEUES[0][1] + QUEUES[1][1]} "
                 f"THEN {QUEUES[1][2]} ELSE {QUEUES[2][2]} END")
    # Waits: exponential, mean 14 s for an answered call (about 76 % within
    # 20 s), 45 s before an abandon; 10 % abandoned (more in the peaks);
    # talk log-normal (σ 0.6) by queue; hold on 15 % of calls; rings 1.5–9.5 s
    # (5 % unknown: a source without ring times); a survey from 45 % of the
    # answered callers, 86 % satisfied and 10 % basically satisfied.
    sql = f"""
        INSERT INTO {table} (source_id, call_id, entry, queue, caller_number, called_number, status, offered_at,
            answered_at, ended_at, wait_s, abandon_reason, agent_ref, agent_id, ring_s, ring_no_answer, talk_s, hold_s,
            holds, wrapup_s, transfers, transfer_target, hung_up_by, recording_ref, survey_answer, contact_id,
            last_event_at, updated_at)
        SELECT {history.pk}, 'h' || n, 1, {queue_case}, '13' || lpad((floor(rc * 1e9))::bigint::text, 9, '0'), '95598',
            CASE WHEN ab THEN 'abandoned' ELSE 'ended' END, offered_at,
            CASE WHEN ab THEN NULL ELSE offered_at + wait * interval '1 second' END,
            offered_at + (wait + CASE WHEN ab THEN 0 ELSE talk + hold END) * interval '1 second',
            wait, CASE WHEN NOT ab THEN '' WHEN rr < 0.85 THEN 'hangup' WHEN rr < 0.95 THEN 'timeout' ELSE 'key' END,
            CASE WHEN ab THEN '' ELSE a.ref END, CASE WHEN ab THEN NULL ELSE a.id END,
            CASE WHEN ab OR rr < 0.05 THEN NULL ELSE 1.5 + rg * 8 END, CASE WHEN rn < 0.03 THEN 1 ELSE 0 END,
            CASE WHEN ab THEN NULL ELSE talk END, CASE WHEN ab THEN NULL ELSE hold END,
            CASE WHEN ab OR hold = 0 THEN 0 ELSE 1 END, CASE WHEN ab THEN NULL ELSE 20 + rw * 30 END, 0, '',
            CASE WHEN ab THEN '' WHEN rr < 0.85 THEN 'customer' ELSE 'agent' END, '',
            CASE WHEN ab OR rs >= 0.45 THEN NULL WHEN rs < 0.45 * 0.86 THEN 1 WHEN rs < 0.45 * 0.96 THEN 2 ELSE 3 END,
            NULL, offered_at + (wait + CASE WHEN ab THEN 0 ELSE talk + hold + 20 + rw * 30 END) * interval '1 second',
            now()
        FROM (
            SELECT nextval('bench_call_no') AS n, x.*,
                   CASE WHEN x.ab THEN -ln(1 - x.ru) * 45 ELSE -ln(1 - x.ru) * 14 END AS wait,
                   exp(ln({talk_mean}) - 0.18 + 0.6 * sqrt(-2 * ln(1 - x.rt1)) * cos(2 * pi() * x.rt2)) AS talk,
                   CASE WHEN x.rh < 0.15 THEN 10 + x.rh * 400 ELSE 0.0 END AS hold
            FROM (
                SELECT s.start + random() * interval '1 hour' AS offered_at, random() AS rq, random() AS rc,
                       random() < 0.07 + 0.03 * (extract(hour FROM s.start AT TIME ZONE %s) BETWEEN 8 AND 17)::int AS ab,
                       random() AS ru, random() AS rr, random() AS rg, random() AS rn, random() AS rt1,
                       random() AS rt2, random() AS rh, random() AS rw, random() AS rs,
                       1 + floor(random() * {n_agents})::int AS ai
                FROM bench_slots s, generate_series(1, s.n) WHERE s.m = %s
            ) x
        ) y JOIN bench_agents a ON a.i = y.ai
    """
    t_all = time.monotonic()
    with connection.cursor() as cur:
        cur.execute("CREATE TEMP SEQUENCE bench_call_no")
        done = 0
        for month in sorted(set(months)):
            t = time.monotonic()
            with transaction.atomic():
                cur.execute(sql, [str(tz), month])
            done += cur.rowcount
            log(f"  calls of {(month - 1) // 12}-{(month - 1) % 12 + 1:02d}: {cur.rowcount:,} ({done:,} in all) "
                f"in {time.monotonic() - t:.1f} s")
        out["insert_s"] = round(time.monotonic() - t_all, 1)
        t = time.monotonic()
        for name, definition in constraints:
            cur.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        for _name, definition in indexes:
            cur.execute(definition)
        out["indexes_s"] = round(time.monotonic() - t, 1)
        t = time.monotonic()
        cur.execute(f"VACUUM (ANALYZE) {table}")
        out["vacuum_s"] = round(time.monotonic() - t, 1)
        cur.execute(f"SELECT count(*), min(offered_at), max(offered_at) FROM {table}")
        n, lo, hi = cur.fetchone()
        cur.execute(f"SELECT status, count(*) FROM {table} GROUP BY 1 ORDER BY 1")
        out["by_status"] = dict(cur.fetchall())
        cur.execute(f"SELECT queue, count(*) FROM {table} GROUP BY 1 ORDER BY 1")
        out["by_queue"] = dict(cur.fetchall())
        cur.execute(f"SELECT pg_size_pretty(pg_table_size('{table}')), pg_size_pretty(pg_indexes_size('{table}'))")
        out["table_size"], out["indexes_size"] = cur.fetchone()
    out.update(calls=n, first=str(lo), last=str(hi), load_s=round(time.monotonic() - t_all, 1), db_size=db_size())
    log(f"  {n:,} calls ({lo:%Y-%m-%d} … {hi:%Y-%m-%d}) in {out['load_s']} s; table {out['table_size']}, "
        f"indexes {out['indexes_size']}, database {out['db_size']}")
    return out


# --- the event streams ---------------------------------------------------------------------

class Stream:
    """One source's storm day as the batches a client posts."""

    def __init__(self, source: str, token: str, bodies: list[bytes], sizes: list[int], sim, batches: list[list]):
        self.source, self.token, self.bodies, self.sizes, self.sim, self.batches = (
            source, token, bodies, sizes, sim, batches)
        self.next = 0
        self.lock = threading.Lock()
        self.sent: list[int] = []  # batch indexes answered 200

    def take(self) -> int | None:
        with self.lock:
            if self.next >= len(self.bodies):
                return None
            self.next += 1
            return self.next - 1


def event_json(e) -> dict:
    return {"id": e.id, "type": e.type, "at": e.at.isoformat(), "call_id": e.call_id, "agent": e.agent,
            "queue": e.queue, "data": e.data}


def build_streams(args, tokens: dict[str, str], run: str) -> list[Stream]:
    from django.utils import timezone

    from hotline.calls import simulator

    tz = timezone.get_current_timezone()
    day = timezone.localdate() - dt.timedelta(days=2)
    start = dt.datetime.combine(day, dt.time(), tz)
    per_day = args.calls_per_source_day
    queues = tuple(simulator.QueueSpec(name, per_day * share, weekend_factor=1.0, talk_s=talk, wrap_s=25,
                                       patience_s=160, shape=simulator.REPAIR_SHAPE if name == "repair"
                                       else simulator.DAY_SHAPE, weekend_shape=None)
                   for name, share, talk in QUEUES)
    streams = []
    for k, name in enumerate(source_names(args.sources)):
        t = time.monotonic()
        refs = agent_numbers(k, args.agents)
        roster = simulator.default_roster(refs, [day - dt.timedelta(days=1), day], queues, tz)
        agents = tuple(simulator.AgentSpec(r, tuple(roster[r])) for r in refs)
        center = simulator.Center(queues=queues, agents=agents, tz=tz,
                                  storms=(simulator.Storm(start + dt.timedelta(hours=8), hours=4),))
        sim = simulator.simulate(center, start=start, end=start + dt.timedelta(days=1), seed=args.seed + k,
                                 run=f"{run}-{k}")
        batches = [sim.events[i: i + args.batch] for i in range(0, len(sim.events), args.batch)]
        bodies = [json.dumps({"events": [event_json(e) for e in b]}, ensure_ascii=False).encode() for b in batches]
        streams.append(Stream(name, tokens[name], bodies, [len(b) for b in batches], sim, batches))
        log(f"  {name}: {len(sim.events):,} events of {len(sim.calls):,} calls, {len(bodies)} batches of "
            f"{args.batch} ({time.monotonic() - t:.1f} s)")
    return streams


# --- HTTP clients ------------------------------------------------------------------------

def post(conn: http.client.HTTPConnection, path: str, token: str, body: bytes) -> tuple[int, bytes]:
    conn.request("POST", path, body=body, headers={"Authorization": f"Bearer {token}",
                                                  "Content-Type": "application/json"})
    resp = conn.getresponse()
    return resp.status, resp.read()


class Ingest:
    """Closed-loop clients: each posts its stream's next batch when the last is answered."""

    def __init__(self, port: int, streams: list[Stream], connections: int):
        self.port, self.streams, self.connections = port, streams, connections
        self.done: list[tuple[float, int, float, str]] = []  # (answered at, events, seconds, source)
        self.errors: list[str] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.counts = {"accepted": 0, "duplicate": 0, "unplaced": 0}

    def client(self, stream: Stream) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        while not self.stop.is_set():
            i = stream.take()
            if i is None:
                break
            t = time.perf_counter()
            try:
                status, data = post(conn, "/api/calls/events", stream.token, stream.bodies[i])
            except (OSError, http.client.HTTPException) as exc:
                status, data = -1, repr(exc).encode()
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            done = time.perf_counter()
            with self.lock:
                if status == 200:
                    answer = json.loads(data)
                    for key in self.counts:
                        self.counts[key] += answer[key]
                    self.done.append((done, stream.sizes[i], done - t, stream.source))
                    stream.sent.append(i)
                elif len(self.errors) < 20:
                    self.errors.append(f"{stream.source} batch {i}: {status} {data[:300]!r}")
        conn.close()

    def start(self) -> list[threading.Thread]:
        threads = [threading.Thread(target=self.client, args=(s,), daemon=True)
                   for s in self.streams for _ in range(self.connections)]
        for th in threads:
            th.start()
        return threads


# --- the wallboard -------------------------------------------------------------------------

class Session:
    """A browser's cookies, logged in through the log-in form."""

    def __init__(self, port: int, username: str, password: str):
        self.port = port
        self.cookies: dict[str, str] = {}
        status, html, _h = self.request("GET", "/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html.decode()).group(1)
        status, _b, headers = self.request("POST", "/login/", urlencode({
            "username": username, "password": password, "csrfmiddlewaretoken": token, "next": ""}).encode(),
            {"Content-Type": "application/x-www-form-urlencoded"})
        if status != 302 or "sessionid" not in self.cookies:
            raise RuntimeError(f"log-in as {username} failed: {status}")

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        h = dict(headers or {})
        if self.cookies:
            h["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        conn.request(method, path, body=body, headers=h)
        resp = conn.getresponse()
        data = resp.read()
        for name, value in resp.getheaders():
            if name.lower() == "set-cookie":
                k, _, rest = value.partition("=")
                self.cookies[k.strip()] = rest.split(";", 1)[0]
        conn.close()
        return resp.status, data, resp.getheaders()


_TILE = {name: re.compile(r'id="' + name + r'"[^>]*>.*?class="t-num">([^<]*)<', re.S)
         for name in ("wb-waiting", "wb-offered")}


class Poller:
    """Polls the board's live part every ``every`` seconds; keeps (answered at, waiting, offered today)."""

    def __init__(self, session: Session, path: str, every: float):
        self.session, self.path, self.every = session, path, every
        self.seen: list[tuple[float, int, int]] = []
        self.polls: list[float] = []
        self.errors = 0
        self.stop = threading.Event()
        self.lock = threading.Lock()

    def run(self) -> None:
        while not self.stop.is_set():
            t = time.perf_counter()
            try:
                status, html, _h = self.session.request("GET", self.path, headers={"HX-Request": "true"})
                done = time.perf_counter()
                if status != 200:
                    raise RuntimeError(status)
                text = html.decode()
                waiting, offered = (int(_TILE[k].search(text).group(1)) for k in ("wb-waiting", "wb-offered"))
                with self.lock:
                    self.seen.append((done, waiting, offered))
                    self.polls.append(done - t)
            except Exception:  # noqa: BLE001 - a failed poll is counted, the board polls on
                self.errors += 1
            self.stop.wait(max(0.0, self.every - (time.perf_counter() - t)))

    def first(self, after: float, test) -> float | None:
        with self.lock:
            return next((at for at, waiting, offered in self.seen if at > after and test(waiting, offered)), None)


def marker_loop(port: int, token: str, pollers: dict[str, Poller], run: str, stop: threading.Event,
                every: float, out: dict) -> None:
    """Marker calls, one at a time: offered, seen waiting by every poller, abandoned, seen counted."""
    from django.utils import timezone

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    base_offered = None
    for _ in range(100):
        if all(p.seen for p in pollers.values()):
            break
        time.sleep(0.1)
    base_offered = pollers["fine"].seen[-1][2]
    i = 0
    while not stop.is_set():
        cycle = time.perf_counter()
        call = f"{run}-marker-{i}"
        for step, kind in (("offered", "call.offered"), ("counted", "call.abandoned")):
            body = json.dumps({"events": [{"id": f"{call}-{step}", "type": kind,
                                           "at": timezone.localtime().isoformat(), "call_id": call,
                                           "queue": MARKER_QUEUE, "data": {"caller_number": "13900000000"}}]})
            sent = time.perf_counter()
            status, data = post(conn, "/api/calls/events", token, body.encode())
            answered = time.perf_counter()
            if status != 200:
                out.setdefault("errors", []).append(f"{status} {data[:200]!r}")
                break
            out.setdefault(f"post_{step}", []).append(answered - sent)
            if step == "offered":
                test = (lambda w, o: w >= 1)
            else:
                target = base_offered + i + 1
                test = (lambda w, o, target=target: w == 0 and o >= target)
            deadline = sent + 15
            found = {}
            while time.perf_counter() < deadline and len(found) < len(pollers):
                for name, p in pollers.items():
                    if name not in found and (at := p.first(sent, test)) is not None:
                        found[name] = at - sent
                time.sleep(0.02)
            for name in pollers:
                out.setdefault(f"{name}_{step}", []).append(found.get(name, float("inf")))
        i += 1
        stop.wait(max(0.0, every - (time.perf_counter() - cycle)))
    out["markers"] = i
    conn.close()


# --- phases --------------------------------------------------------------------------------

def phase_ingest(args, c: dict, port: int, server_pid: int) -> dict:
    from django.db import connection

    from hotline.calls import services
    from hotline.testing import PASSWORD

    run = f"b{time.strftime('%Y%m%d%H%M%S', time.gmtime())}"
    tokens = {name: services.issue_source_token(c["sources"][name]) for name in source_names(args.sources)}
    log(f"simulating {args.sources} storm days ({args.agents} agents, {args.calls_per_source_day:,.0f} calls "
        "a normal day each, a 4-hour storm at 08:00 with 12x bursts)")
    streams = build_streams(args, tokens, run)
    total_events = sum(len(s.sim.events) for s in streams)
    out: dict = {"run": run, "batch": args.batch, "sources": args.sources, "connections_per_source": args.connections,
                 "events_available": total_events}

    # The board of the marker queue, polled as the shift leader.
    live = f"/calls/wallboard/{c['center'].pk}/live/?{urlencode({'queue': MARKER_QUEUE})}"
    pollers = {"fine": Poller(Session(port, c["leader"].username, PASSWORD), live, 0.1),
               "page": Poller(Session(port, c["leader"].username, PASSWORD), live, 1.0)}
    lag: dict = {}
    stop_markers = threading.Event()

    ingest = Ingest(port, streams, args.connections)
    web_pids = children(server_pid)
    log(f"ingest: {args.sources} sources × {args.connections} connection(s), batches of {args.batch}, "
        f"{args.warmup:.0f} s warm-up then {args.duration:.0f} s measured; markers every {args.marker_every:g} s")
    with Phase("ingest"):
        threads = ingest.start()
        poll_threads = [threading.Thread(target=p.run, daemon=True) for p in pollers.values()]
        for th in poll_threads:
            th.start()
        time.sleep(args.warmup)
        with connection.cursor() as cur:
            cur.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
            pg_pids = [r[0] for r in cur.fetchall()]
        cpu0 = (cpu_seconds(web_pids), cpu_seconds(pg_pids), time.process_time())
        t0 = time.perf_counter()
        marker = threading.Thread(target=marker_loop, args=(port, tokens[streams[0].source], pollers, run,
                                                            stop_markers, args.marker_every, lag), daemon=True)
        marker.start()
        time.sleep(args.duration)
        t1 = time.perf_counter()
        cpu1 = (cpu_seconds(web_pids), cpu_seconds(pg_pids), time.process_time())
        stop_markers.set()
        marker.join(30)
        ingest.stop.set()
        for th in threads:
            th.join(120)
        for p in pollers.values():
            p.stop.set()
    window = [d for d in ingest.done if t0 <= d[0] <= t1]
    events = sum(d[1] for d in window)
    rate = events / (t1 - t0)
    per_5s = [sum(d[1] for d in window if t0 + 5 * k <= d[0] < t0 + 5 * (k + 1)) / 5
              for k in range(int((t1 - t0) // 5))]
    out.update({
        "measured_s": round(t1 - t0, 1), "events_in_window": events, "events_per_s": round(rate),
        "events_per_s_by_5s": {"min": round(min(per_5s)) if per_5s else None,
                               "median": round(statistics.median(per_5s)) if per_5s else None,
                               "max": round(max(per_5s)) if per_5s else None},
        "batch_latency": stats_ms([d[2] for d in window]),
        "events_sent_in_all": sum(d[1] for d in ingest.done), "answer_counts": ingest.counts,
        "errors": ingest.errors, "exhausted": all(s.next >= len(s.bodies) for s in streams),
        "cpu_ms_per_event": {k: round((b - a) / max(events, 1) * 1000, 3) for k, a, b in zip(
            ("web", "postgres_backends", "bench_clients"), cpu0, cpu1)},
        "cpu_cores_busy": {k: round((b - a) / (t1 - t0), 2) for k, a, b in zip(
            ("web", "postgres_backends", "bench_clients"), cpu0, cpu1)},
    })
    log(f"  {events:,} events in {t1 - t0:.1f} s: {rate:,.0f} events/s (per 5 s: {out['events_per_s_by_5s']}); "
        f"batch p50 {out['batch_latency']['p50_ms']} / p95 {out['batch_latency']['p95_ms']} ms; "
        f"errors {len(ingest.errors)}; CPU ms/event {out['cpu_ms_per_event']}")
    for e in ingest.errors[:3]:
        log(f"  error: {e}")
    out["lag"] = {k: stats_ms([x for x in v if math.isfinite(x)]) | {"missed": sum(not math.isfinite(x) for x in v)}
                  for k, v in lag.items() if isinstance(v, list) and k != "errors"}
    out["lag"]["markers"] = lag.get("markers", 0)
    out["lag"]["errors"] = lag.get("errors", [])
    out["lag"]["poll_ms"] = {name: stats_ms(p.polls) | {"errors": p.errors} for name, p in pollers.items()}
    log(f"  wallboard lag: {json.dumps({k: v for k, v in out['lag'].items() if k != 'poll_ms'})}")
    out["checked"] = check_calls(streams)
    log(f"  calls whose events were all sent, against the simulator: {out['checked']}")
    out["copy"] = copy_peer(c, streams, args.batch)
    return out


def check_calls(streams: list[Stream]) -> dict:
    """Calls whose every event was answered 200: their records against the simulator's facts."""
    from hotline.calls.models import Call

    checked = mismatched = 0
    samples = []
    for s in streams:
        sent_ids = {e.id for i in s.sent for e in s.batches[i]}
        complete = [c for c in s.sim.calls if c.events and all(e.id in sent_ids for e in c.events)]
        stored = {c.call_id: c for c in Call.objects.filter(source__name=s.source,
                                                            call_id__in=[c.call_id for c in complete])}
        for sim in complete:
            call = stored.get(sim.call_id)
            want = ("ended" if sim.ended_at else "abandoned", round(sim.wait_s, 3))
            got = (call.status, round(call.wait_s, 3)) if call and call.wait_s is not None else None
            checked += 1
            if got != want:
                mismatched += 1
                if len(samples) < 5:
                    samples.append(f"{sim.call_id}: {got} != {want}")
    return {"calls": checked, "mismatched": mismatched, "samples": samples}


def copy_peer(c: dict, streams: list[Stream], batch: int) -> dict:
    """The same rows by a plain COPY into calls_callevent (source copy-peer), then removed again."""
    from django.db import connection, transaction
    from django.utils import timezone

    from hotline.calls.models import CallEvent

    source = c["sources"]["copy-peer"]
    now = timezone.now()
    rows = []
    for s in streams:
        for i in sorted(s.sent):
            for e in s.batches[i]:
                rows.append((source.pk, e.id, e.type, e.at, e.call_id, e.agent, e.queue,
                             json.dumps(e.data, ensure_ascii=False), now, "placed", "", None, 1, None))
    columns = ("source_id", "source_event_id", "type", "occurred_at", "call_id", "agent_ref", "queue", "payload",
               "received_at", "state", "reason", "call_record_id", "attempts", "retry_at")
    table = CallEvent._meta.db_table
    out = {"rows": len(rows)}

    def copy(chunk):
        with connection.cursor() as cur:
            with cur.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as cp:
                for row in chunk:
                    cp.write_row(row)

    def clear():
        with connection.cursor() as cur:
            cur.execute(f"DELETE FROM {table} WHERE source_id = %s", [source.pk])
            cur.execute(f"VACUUM {table}")

    with Phase("copy"):
        t = time.perf_counter()
        with transaction.atomic():
            copy(rows)
        out["one_transaction_s"] = round(time.perf_counter() - t, 2)
        out["one_transaction_per_s"] = round(len(rows) / (time.perf_counter() - t))
        clear()
        t = time.perf_counter()
        for i in range(0, len(rows), batch):
            with transaction.atomic():
                copy(rows[i: i + batch])
        out[f"per_{batch}_s"] = round(time.perf_counter() - t, 2)
        out["per_batch_per_s"] = round(len(rows) / (time.perf_counter() - t))
        clear()
    log(f"  COPY of the same {len(rows):,} rows: {out['one_transaction_per_s']:,} rows/s in one transaction, "
        f"{out['per_batch_per_s']:,} rows/s committing every {batch}")
    return out


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(
        math.isclose(a[k], b[k], rel_tol=1e-9) if isinstance(a[k], float) and isinstance(b[k], float) else a[k] == b[k]
        for k in a)


def phase_kpis(args) -> dict:
    from django.db import connection
    from django.utils import timezone

    from hotline.calls import kpis

    today = timezone.localdate()
    day = today - dt.timedelta(days=100)
    month_start = (today - dt.timedelta(days=130)).replace(day=1)
    month_end = (month_start + dt.timedelta(days=32)).replace(day=1)
    month = kpis.Period(dt.datetime.combine(month_start, dt.time()), dt.datetime.combine(month_end, dt.time()))
    settings = kpis.Settings.current()
    scopes = [("day", kpis.Period.day(day), None), ("month", month, None),
              ("day, queue repair", kpis.Period.day(day), "repair"), ("month, queue repair", month, "repair"),
              ("month, queue complaint", month, "complaint")]
    out: dict = {"day": str(day), "month": f"{month_start:%Y-%m}"}
    plans = BENCH / "plans"
    plans.mkdir(exist_ok=True)
    with Phase("kpis"):
        for label, period, queue in scopes:
            t = time.perf_counter()
            report = kpis.report(period, queue=queue, settings=settings)
            cold = time.perf_counter() - t
            samples = []
            for _ in range(args.reps):
                t = time.perf_counter()
                again = kpis.report(period, queue=queue, settings=settings)
                samples.append(time.perf_counter() - t)
            # (Sums of floats by parallel workers may differ in the last digits from run to run.)
            assert _same(again.as_dict(), report.as_dict()), (again, report)
            out[label] = {"cold_ms": round(cold * 1000, 1), **stats_ms(samples), "offered": report.offered,
                          "answered": report.answered, "service_level": report.service_level,
                          "aht_s": report.aht_s, "satisfaction": report.satisfaction}
            log(f"  kpis.report {label}: cold {cold * 1000:.0f} ms, p50 {out[label]['p50_ms']} / "
                f"max {out[label]['max_ms']} ms over {args.reps} ({report.offered:,} calls offered)")
            if queue is None:
                # The aggregate query as figures() sends it, and its plan.
                captured = []

                def keep(execute, sql, params, many, context):
                    captured.append((sql, params))
                    return execute(sql, params, many, context)

                with connection.execute_wrapper(keep):
                    kpis.figures(period, queue=queue, settings=settings)
                sql, params = captured[-1]
                with connection.cursor() as cur:
                    cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
                    text = "\n".join(r[0] for r in cur.fetchall())
                (plans / f"calls-kpi-{label}.txt").write_text(
                    f"-- kpis.figures, {label}, {results_stamp()}\n{sql}\n{params}\n\n{text}\n")
    return out


# --- report ----------------------------------------------------------------------------------

def table(results: dict) -> str:
    rows = []
    ing = results.get("ingest")
    if ing:
        cp = ing["copy"]
        rows.append((f"ingest via POST /api/calls/events ({ing['sources']} sources × {ing['connections_per_source']} "
                     f"connection(s), batches of {ing['batch']}, {ing['measured_s']:.0f} s)",
                     f"{ing['events_per_s']:,} events/s (5-s windows {ing['events_per_s_by_5s']['min']:,}–"
                     f"{ing['events_per_s_by_5s']['max']:,}); batch p50 {ing['batch_latency']['p50_ms']} / p95 "
                     f"{ing['batch_latency']['p95_ms']} ms; errors {len(ing['errors'])}",
                     f"≥ {TARGET_RATE:,.0f}/s", "yes" if ing["events_per_s"] >= TARGET_RATE else "NO"))
        rows.append(("the same rows by COPY into calls_callevent (the machine's limit)",
                     f"{cp['one_transaction_per_s']:,} rows/s in one transaction; {cp['per_batch_per_s']:,} rows/s "
                     f"committing every {ing['batch']}", "—", "—"))
        lag = ing["lag"]
        for key, label in (("fine_offered", "offered call shows as waiting (poll every 0.1 s)"),
                           ("fine_counted", "abandoned call counted in offered today (poll every 0.1 s)"),
                           ("page_offered", "offered call shows as waiting (poll every 1 s, as the page)"),
                           ("page_counted", "abandoned call counted in offered today (poll every 1 s, as the page)")):
            if key in lag:
                v = lag[key]
                rows.append((f"wallboard lag during the ingest: {label}",
                             f"p50 {v['p50_ms']} / p95 {v['p95_ms']} / max {v['max_ms']} ms ({v['n']} markers, "
                             f"{v['missed']} missed)", f"< {TARGET_LAG_S:g} s",
                             "yes" if v["n"] and v["missed"] == 0 and v["max_ms"] < TARGET_LAG_S * 1000 else "NO"))
    k = results.get("kpis")
    if k:
        for label in ("day", "month", "day, queue repair", "month, queue repair", "month, queue complaint"):
            if label in k:
                v = k[label]
                rows.append((f"kpis.report, {label} ({v['offered']:,} calls)",
                             f"p50 {v['p50_ms']} / max {v['max_ms']} ms (cold {v['cold_ms']} ms)",
                             f"< {TARGET_KPI_S:g} s", "yes" if v["max_ms"] < TARGET_KPI_S * 1000 else "NO"))
    out = ["| measurement | result | target | met |", "| --- | --- | --- | --- |"]
    out += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db-url", default="postgres://postgres@127.0.0.1:5432/hotline_calls_bench")
    ap.add_argument("--skip-load", action="store_true", help="keep the loaded database (it is migrated)")
    ap.add_argument("--phases", default="ingest,kpis", help="which of ingest,kpis to run")
    ap.add_argument("--calls", type=int, default=10_000_000, help="call records over the year (load)")
    ap.add_argument("--sources", type=int, default=4, help="event sources (switches), each its own storm day")
    ap.add_argument("--connections", type=int, default=1, help="client connections per source")
    ap.add_argument("--agents", type=int, default=150, help="agents per source")
    ap.add_argument("--calls-per-source-day", type=float, default=20000, help="a normal day's calls per source")
    ap.add_argument("--batch", type=int, default=1000, help="events per POST")
    ap.add_argument("--duration", type=float, default=60, help="measured seconds of ingest")
    ap.add_argument("--warmup", type=float, default=5)
    ap.add_argument("--marker-every", type=float, default=2.0, help="seconds between marker calls")
    ap.add_argument("--web-processes", type=int, default=None,
                    help="hotline serve --processes (default: the ingest connections + 3, for the board's polls)")
    ap.add_argument("--reps", type=int, default=7, help="timed kpis.report runs per scope")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--label", default="", help="added to the results file's name")
    args = ap.parse_args()
    env = child_env(args.db_url)
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE", "HOTLINE_LOG_LEVEL",
                                           "HOTLINE_DATA_DIR")})
    Path(env["HOTLINE_DATA_DIR"]).mkdir(parents=True, exist_ok=True)
    (BENCH / "results").mkdir(exist_ok=True)
    results: dict = {"args": vars(args)}
    started = time.monotonic()
    if not args.skip_load:
        log(f"resetting {args.db_url}")
        reset_database(args.db_url)
    log("migrating")
    subprocess.run([str(VENV_BIN / "hotline"), "migrate", "--verbosity", "0"], env=env, check=True, cwd=ROOT)
    import django

    django.setup()
    results["machine"] = machine_info()
    log(f"machine: {results['machine']['nproc']} cores, {results['machine']['ram_gb']} GB, "
        f"{results['machine']['postgresql']}, {results['machine']['pg_settings']}")
    if not args.skip_load:
        with Phase("load"):
            build_county(args)
            log(f"loading {args.calls:,} call records over the last year")
            results["load"] = phase_load_calls(args)
    build_county(args)
    c = county()
    phases = set(args.phases.split(","))
    if "ingest" in phases:
        port = free_port()
        processes = args.web_processes or args.sources * args.connections + 3
        log(f"starting hotline serve --processes {processes} on 127.0.0.1:{port}")
        logfile = open(BENCH / "results" / "calls-server.log", "ab")
        server = subprocess.Popen([str(VENV_BIN / "hotline"), "serve", "--host", "127.0.0.1", "--port", str(port),
                                   "--processes", str(processes)], env=env, cwd=ROOT, stdout=logfile,
                                  stderr=subprocess.STDOUT)
        try:
            wait_http(port)
            results["ingest"] = phase_ingest(args, c, port, server.pid)
            results["ingest"]["web_processes"] = processes
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()
            logfile.close()
    if "kpis" in phases:
        log("KPIs")
        results["kpis"] = phase_kpis(args)
    results["loadavg"] = LOAD
    results["db_size"] = db_size()
    results["total_s"] = round(time.monotonic() - started, 1)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    path = BENCH / "results" / f"calls-{args.label + '-' if args.label else ''}{stamp}.json"
    path.write_text(json.dumps(results, indent=2, default=str, ensure_ascii=False) + "\n")
    print()
    print(table(results))
    print(f"\nload average (1 min) per phase: {json.dumps(LOAD)}")
    print(f"raw results: {path.relative_to(ROOT)}; total {results['total_s']:.0f} s")


if __name__ == "__main__":
    main()
