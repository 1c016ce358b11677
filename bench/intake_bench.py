#!/usr/bin/env python
"""Issue-9 benchmark: repair intake that thinks, on PostgreSQL.

    .venv/bin/python bench/intake_bench.py            # full run
    .venv/bin/python bench/intake_bench.py --quick    # 10x smaller smoke run

1. a fresh database (``--db``, default ``hotline_intake_bench`` on the local
   PostgreSQL), migrated with ``hotline migrate``; a county with 2,000
   transformer areas in 400 villages and 40 townships (20 supply stations),
   customers in every area;
2. templates driven through the real services under a frozen clock (repair
   orders through ``create_order`` and ``transition``; outages through
   ``outages.services`` draft/publish/start/delay/restore/cancel), then
   replicated with set-based SQL: 100,000 open repair orders spread over the
   areas as a storm spreads them (a few hundred in the busiest ones),
   100,000 closed ones of the last two months, 10,000 active outages
   (published or with the power off; every class) and 10,000 over in the
   last three months (the frequent-outage history); ``VACUUM ANALYZE``;
3. the intake check of a new repair report, timed per call at random places
   and customers (warm caches, after a cold first call):
   ``intake_check.check`` (covering outages, arrears, frequent outages) plus
   ``services.suggest_duplicates`` on an unsaved order built as
   ``preview_duplicates`` builds it; EXPLAIN ANALYZE of every query of a
   call at the busiest place to ``bench/plans/intake-*.txt``;
4. fan-out: one outage published over a township with 100,000 subscribers
   (SMS through ``sms_http`` to a local signed-HTTP sink), the publish
   transaction timed, then delivery by 2 ``hotline worker --only outbox``
   processes until the last message is sent; delivered, lost and duplicates
   counted at the sink;
5. figures side by side with the limits; raw JSON to ``bench/results/``.

Only the standard library, the project and psycopg are used.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
VENV_BIN = ROOT / ".venv" / "bin"
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(ROOT / "src"))

LIMITS = {"intake_p99_ms": 50.0, "enqueue_s_per_100k": 5.0, "delivery_per_s": 1000.0}
PASSWORD = "hotline-bench-pw-1"
TZ_NAME = "Asia/Shanghai"


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S', time.gmtime())}Z] (load {os.getloadavg()[0]:.1f}) {msg}", flush=True)


def percentile(values: list[float], p: float) -> float:
    s = sorted(values)
    if not s:
        return float("nan")
    k = (len(s) - 1) * p / 100
    lo, hi = math.floor(k), math.ceil(k)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


# --- sizes ------------------------------------------------------------------------

class Sizes:
    def __init__(self, args):
        q = 10 if args.quick else 1
        self.stations = args.stations or 20 // q
        self.townships_per_station = 2
        self.villages_per_township = 10
        self.tas_per_village = 5
        self.open_orders = args.orders or 100_000 // q
        self.closed_orders = args.closed if args.closed is not None else 100_000 // q
        self.active_outages = args.outages or 10_000 // q
        self.past_outages = args.past_outages if args.past_outages is not None else 10_000 // q
        self.subscribers = args.subscribers or 100_000 // q
        self.calls = args.calls or (2_000 if not args.quick else 500)
        # Warm-up as long as the timed run: the text-analysis caches of the
        # scorer (LRU, 20,000 texts) reach the state a busy process keeps.
        self.warmup = self.calls

    @property
    def tas(self) -> int:
        return self.stations * self.townships_per_station * self.villages_per_township * self.tas_per_village

    def row(self) -> dict:
        return {k: v for k, v in vars(self).items()} | {"transformer_areas": self.tas}


# --- database ---------------------------------------------------------------------

def reset_database(db_url: str) -> None:
    import psycopg

    u = urlparse(db_url)
    name = u.path.lstrip("/")
    if not name.startswith("hotline_intake_bench"):
        raise SystemExit(f"refusing to reset {name!r}: the database name must start with hotline_intake_bench")
    with psycopg.connect(urlunparse(u._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                     [name])
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


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
        for k in ("shared_buffers", "work_mem", "effective_cache_size", "random_page_cost", "synchronous_commit",
                  "autovacuum"):
            cur.execute(f"SHOW {k}")
            settings[k] = cur.fetchone()[0]
    return {"date": subprocess.run(["date"], capture_output=True, text=True, check=False).stdout.strip(),
            "nproc": subprocess.run(["nproc"], capture_output=True, text=True, check=False).stdout.strip(),
            "cpu": cpu, "ram_gb": round(mem_kb / 1024 / 1024, 1), "python": platform.python_version(),
            "postgresql": pg.split(" on ")[0], "pg_settings": settings,
            "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                     cwd=ROOT, check=False).stdout.strip(),
            "uncommitted_in_measured_apps": subprocess.run(
                ["git", "status", "--short", "--", "src/hotline/outages", "src/hotline/workorders",
                 "src/hotline/core/outbox"], capture_output=True, text=True, cwd=ROOT, check=False).stdout.split("\n")[:-1]}


def copy_rows(cur, table: str, columns: list[str], rows) -> None:
    with cur.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for r in rows:
            copy.write_row(r)


def columns_of(model) -> list:
    return list(model._meta.concrete_fields)


# --- the county -------------------------------------------------------------------

STATION_SYLLABLES = "城关东山西岭南湖北塘桥头石门青溪白沙黄田新塘安平龙泉凤凰金山双河永和三江清水".replace("", " ").split()
AREA_CLASSES = ["urban", "rural", "rural", "remote"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国文斌辉宇浩凯鹏"


class County:
    """Units, users and the area tree of the benchmark county."""

    def __init__(self):
        self.stations: list = []
        self.station_users: dict = {}  # station id -> unit_staff user
        self.townships: list = []  # ServiceArea
        self.villages: list = []
        self.tas: list = []
        self.area_by_id: dict = {}
        self.station_of_area: dict = {}  # area id -> station id
        self.customers_by_area: dict[int, list[int]] = {}


def build_county(sizes: Sizes, rnd: random.Random) -> County:
    from django.conf import settings

    from hotline.organisation import services as org
    from hotline.organisation.models import Role

    # The benchmark's users never log in: skip the deliberately slow hashing.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    c = County()
    t_start = time.monotonic()
    province = org.create_unit(name="省电力公司", code="i-prov", kind="province")
    city = org.create_unit(name="市供电公司", code="i-city", kind="city", parent=province)
    c.county = org.create_unit(name="县供电公司", code="i-county", kind="county", parent=city)
    c.center = org.create_unit(name="95598客服中心", code="i-center", kind="center", parent=c.county)
    c.desk = org.create_unit(name="县调度台", code="i-desk", kind="dispatch_desk", parent=c.county)
    c.marketing = org.create_unit(name="营销部", code="i-mkt", kind="department", parent=c.county, function="marketing")

    def user(name, role, unit):
        return org.create_user(username=f"i-{name}", password=PASSWORD, role=role, unit=unit, display_name=name)

    c.agents = [user(f"agent{i:02d}", Role.AGENT, c.center) for i in range(10)]
    c.dispatcher = user("dispatcher", Role.UNIT_STAFF, c.desk)
    c.marketer = user("marketer", Role.UNIT_STAFF, c.marketing)
    c.timings = {"units_users_s": time.monotonic() - t_start}
    t_start = time.monotonic()
    # Two-character place names, none twice: 城关, 东山, … then 城山, 东岭, …
    firsts, seconds = STATION_SYLLABLES[0::2], STATION_SYLLABLES[1::2]
    names = iter(firsts[i % len(firsts)] + seconds[(i + i // len(firsts)) % len(seconds)] for i in range(10_000))
    for s in range(sizes.stations):
        base = next(names)
        st = org.create_unit(name=f"{base}供电所", code=f"i-st{s:02d}", kind="station", parent=c.county)
        org.create_unit(name=f"{base}抢修班", code=f"i-crew{s:02d}", kind="crew", parent=st)
        c.stations.append(st)
        c.station_users[st.id] = user(f"staff{s:02d}", Role.UNIT_STAFF, st)
        cls = "urban" if s == 0 else AREA_CLASSES[s % len(AREA_CLASSES)]
        for t in range(sizes.townships_per_station):
            tname = base + "镇" if t == 0 else next(names) + "乡"
            town = org.create_service_area(name=tname, code=f"i-{s:02d}{t}", level="township", unit=st, area_class=cls)
            c.townships.append(town)
            rural = rnd.sample([a + b for a in SURNAMES[:40] for b in ("家村", "庄村", "家湾", "坪村", "店村", "桥村", "岭村")],
                               sizes.villages_per_township)
            for v in range(sizes.villages_per_township):
                vname = rural[v] if cls != "urban" else f"{'东西南北中新'[v % 6]}{'街湖苑城园桥'[v // 6 % 6]}社区"
                village = org.create_service_area(name=vname, code=f"i-{s:02d}{t}{v:02d}", level="village", unit=st,
                                                  parent=town, area_class=cls)
                c.villages.append(village)
                for k in range(sizes.tas_per_village):
                    ta = org.create_service_area(name=f"{vname}{k + 1}号台区", code=f"i-{s:02d}{t}{v:02d}{k}",
                                                 level="transformer_area", unit=st, parent=village, area_class=cls)
                    c.tas.append(ta)
    c.timings["areas_s"] = time.monotonic() - t_start
    for a in c.townships + c.villages + c.tas:
        c.area_by_id[a.id] = a
        c.station_of_area[a.id] = a.unit_id
    # The township whose outage is fanned out: the first (the town of station 0).
    c.fan_out_town = c.townships[0]
    return c


def load_customers(c: County, sizes: Sizes, rnd: random.Random) -> int:
    """Customers shaped as organisation.services.create_customer writes them
    (one through the service, the rest by set-based SQL): normalised mobile
    numbers, an address in the area, a few marked for arrears."""
    from django.db import connection

    from hotline.organisation import services as org

    town = c.fan_out_town
    town_tas = [ta for ta in c.tas if c.area_by_id[ta.parent_id].parent_id == town.id]
    # Half the fan-out's subscribers are account holders of the town: its
    # areas are dense (a town of blocks); elsewhere households per class.
    per_town_ta = math.ceil(sizes.subscribers * 0.5 / len(town_tas))
    counts = []
    for ta in c.tas:
        if ta in town_tas:
            n = per_town_ta
        else:
            n = {"urban": 160, "rural": 90, "remote": 45}[ta.area_class]
            n = max(10, int(n * rnd.uniform(0.5, 1.5)))
        counts.append((ta.id, n, ta.full_name))
    first = org.create_customer(account_number="3300000000", name="王建国", address=f"{c.tas[0].full_name}1号",
                                phone_numbers=["13900000000"], service_area=c.tas[0])
    with connection.cursor() as cur:
        cur.execute("CREATE TEMPORARY TABLE bench_area_count (area_id bigint, n int, full_name text)")
        copy_rows(cur, "bench_area_count", ["area_id", "n", "full_name"], counts)
        cur.execute("""
            INSERT INTO organisation_customer (account_number, name, address, service_area_id, special_mark, created_at)
            SELECT '33' || lpad((row_number() OVER (ORDER BY a.area_id, g))::text, 8, '0'),
                   substr(%(s)s, 1 + floor(random() * length(%(s)s))::int, 1)
                   || substr(%(g)s, 1 + floor(random() * length(%(g)s))::int, 1)
                   || CASE WHEN random() < 0.6 THEN substr(%(g)s, 1 + floor(random() * length(%(g)s))::int, 1) ELSE '' END,
                   a.full_name || (1 + floor(random() * 300))::int || '号',
                   a.area_id, CASE WHEN random() < 0.005 THEN 'arrears' ELSE '' END, now()
            FROM bench_area_count a CROSS JOIN LATERAL generate_series(1, a.n) g""", {"s": SURNAMES, "g": GIVEN})
        cur.execute("""INSERT INTO organisation_customerphone (customer_id, number, extension, raw)
                       SELECT id, '139' || lpad(id::text, 8, '0'), '', '139' || lpad(id::text, 8, '0')
                       FROM organisation_customer WHERE id <> %s""", [first.id])
        cur.execute("SELECT service_area_id, array_agg(id) FROM organisation_customer GROUP BY 1")
        for area_id, ids in cur.fetchall():
            c.customers_by_area[area_id] = ids
        cur.execute("SELECT count(*) FROM organisation_customer")
        return cur.fetchone()[0]


# --- where a storm puts its reports -------------------------------------------------

def storm_weights(c: County, rnd: random.Random) -> dict[int, float]:
    """Open repair orders per transformer area: a few townships hit hard,
    villages and areas varying around that (log-normal): the busiest areas
    get a few hundred orders when the average is 50."""
    town_factor = {t.id: (6.0 if rnd.random() < 0.12 else rnd.uniform(0.6, 2.0)) for t in c.townships}
    village_factor = {v.id: rnd.lognormvariate(0, 0.5) for v in c.villages}
    w = {}
    for ta in c.tas:
        village = c.area_by_id[ta.parent_id]
        w[ta.id] = town_factor[village.parent_id] * village_factor[village.id] * rnd.lognormvariate(0, 0.5)
    return w


def weighted_picker(weights: dict, rnd: random.Random):
    keys = list(weights)
    cum, total = [], 0.0
    for k in keys:
        total += weights[k]
        cum.append(total)
    import bisect

    return lambda: keys[min(bisect.bisect_left(cum, rnd.random() * total), len(keys) - 1)]


# --- texts --------------------------------------------------------------------------

class Texts:
    """Phenomenon texts as callers say them and agents type them: the
    labelled duplicate generator's phrase bank A with the area's own names."""

    def __init__(self, c: County, seed: int):
        from hotline.workorders.tests.data import make_duplicates as md

        self.md = md
        self.bank = md.BANKS["A"]
        self.rng = random.Random(seed)
        self.kinds = list(md.KIND_WEIGHTS)
        self.kind_weights = [md.KIND_WEIGHTS[k] for k in self.kinds]
        self._areas = {}
        self.c = c

    def _area(self, ta):
        a = self._areas.get(ta.id)
        if a is None:
            village = self.c.area_by_id[ta.parent_id] if ta.level == "transformer_area" else ta
            places = [p.format(n=self.rng.randint(1, 12)) for p in self.rng.sample(self.bank.places, 2)]
            a = (self.md.Area(ta.id, ta.level, village.id, None, ta.name, places),
                 self.md.Area(village.id, "village", village.id, None, village.name))
            self._areas[ta.id] = a
        return a

    def report(self, area) -> tuple[str, str, str]:
        """(text, sub-class code or '', fault scope) of one caller at ``area``."""
        kind = self.rng.choices(self.kinds, weights=self.kind_weights)[0]
        ta, village = self._area(area)
        text = self.md._text(self.rng, self.bank, kind, ta, village, chase=self.rng.random() < 0.06)
        sub = self.md._pick(self.rng, self.md.SUB_CLASS[kind]) or "lv"  # intake requires a sub-class
        scope = "customer_internal" if self.rng.random() < self.md.INTERNAL.get(kind, 0) else "company"
        return text[:400], sub, scope


# --- repair-order templates and their replication -------------------------------------

# Open templates stop after this many steps (dispatched, received, on site,
# resolved); minutes per step stay well inside every limit, so no template
# leaves a warning or a notice.
OPEN_STEPS = [("receive", (0.5, 2)), ("arrive", (10, 40)), ("resolve", (20, 60))]
CLOSED_STEPS = OPEN_STEPS + [("reply", (2, 10)), ("review", (5, 20)), ("callback", (20, 60)), ("close", (1, 5))]


def build_order_templates(c: County, texts: Texts, t0: dt.datetime, rnd: random.Random, *, per_station_open: int,
                          per_station_closed: int) -> list[dict]:
    from hotline.core import clock as hclock
    from hotline.organisation.models import Customer
    from hotline.workorders.models import WorkOrder
    from hotline.workorders.services import Intake, create_order, transition
    from hotline.testing import handled

    out = []
    for st in c.stations:
        tas = [ta for ta in c.tas if ta.unit_id == st.id]
        chosen = rnd.sample(tas, per_station_open + per_station_closed)  # one template per area: no proposals
        for i, ta in enumerate(chosen):
            is_open = i < per_station_open
            steps = OPEN_STEPS[:i % (len(OPEN_STEPS) + 1)] if is_open else CLOSED_STEPS
            customer = Customer.objects.prefetch_related("phones").get(pk=rnd.choice(c.customers_by_area[ta.id]))
            text, sub, _scope = texts.report(ta)
            agent = rnd.choice(c.agents)
            with hclock.frozen(t0) as clk:
                order = create_order(actor=agent, intake=Intake(
                    business_type="repair", sub_class=sub, priority="urgent" if rnd.random() < 0.2 else "normal",
                    description=text, customer_id=customer.pk, caller_name=customer.name,
                    caller_phone=customer.phones.all()[0].number, fault_scope="company", channel="phone"))
                for action, (lo, hi) in steps:
                    clk.set(clk.current + dt.timedelta(minutes=rnd.uniform(lo, hi)))
                    order = WorkOrder.objects.get(pk=order.pk)
                    unit_action = action in ("receive", "arrive", "resolve", "reply")
                    payload = {"note": "已处理"} if action in ("arrive", "resolve", "reply") else {}
                    if action == "callback":
                        payload = {"outcome": "satisfied", "note": "客户表示满意"}
                    # A repair's resolve and reply carry the handling record (cause, measures, opinion).
                    transition(order=order, action=action, actor=c.station_users[st.id] if unit_action else agent,
                               payload=handled(order, action, payload))
                end = clk.current
            out.append({"id": order.pk, "station": st.id, "open": is_open, "span": (end - t0).total_seconds(),
                        "created_at": t0})
    return out


def replicate_orders(c: County, templates: list[dict], sizes: Sizes, texts: Texts, weights: dict, now: dt.datetime,
                     rnd: random.Random) -> dict:
    """Copies of the templates with new ids, numbers, places, customers,
    texts and times: every table a create and its transitions wrote."""
    from django.db import connection
    from django.db.models import DateTimeField

    from hotline.contacts.models import Contact
    from hotline.timelimits.models import Clock
    from hotline.workorders.models import OrderContact, WorkOrder, WorkOrderEvent

    timings = {}
    by_station = {}
    for t in templates:
        by_station.setdefault((t["station"], t["open"]), []).append(t)
    pick_open_area = weighted_picker(weights, rnd)
    rows = []
    for g in range(sizes.open_orders + sizes.closed_orders):
        is_open = g < sizes.open_orders
        area_id = pick_open_area() if is_open else rnd.choice(c.tas).id
        tpl = rnd.choice(by_station[(c.station_of_area[area_id], is_open)])
        if is_open:
            # A storm: most reports of the last day, a tail over three.
            age = rnd.expovariate(1 / (8 * 3600)) if rnd.random() < 0.75 else rnd.uniform(0, 72 * 3600)
            age = min(age, 72 * 3600) + tpl["span"] + 60
        else:
            age = rnd.uniform(tpl["span"] + 3600, 60 * 86400)
        created = now - dt.timedelta(seconds=age)
        text, sub, _scope = texts.report(c.area_by_id[area_id])
        rows.append((g, tpl["id"], area_id, rnd.choice(c.customers_by_area[area_id]), created,
                     created - tpl["created_at"], text, sub))
    cur = connection.cursor()
    t = time.monotonic()
    cur.execute("""CREATE UNLOGGED TABLE bench_order_map (g bigint PRIMARY KEY, tpl bigint, area_id bigint,
                   customer_id bigint, created timestamptz, delta interval, description text, sub text)""")
    copy_rows(cur, "bench_order_map", ["g", "tpl", "area_id", "customer_id", "created", "delta", "description", "sub"],
              rows)
    cur.execute("ANALYZE bench_order_map")
    timings["map_s"] = time.monotonic() - t
    cur.execute("SELECT COALESCE(max(id), 0) + 10 FROM workorders_workorder")
    base = cur.fetchone()[0]
    cur.execute("SET synchronous_commit = off")
    cur.execute("SET work_mem = '256MB'")

    def shifted(model, alias, overrides):
        cols, exprs = [], []
        for f in columns_of(model):
            if getattr(f, "generated", False):
                continue  # the database computes it
            if f.column in overrides:
                expr = overrides[f.column]
            elif f.primary_key:
                continue  # from the sequence
            elif isinstance(f, DateTimeField):
                expr = f"{alias}.{f.column} + m.delta"
            else:
                expr = f"{alias}.{f.column}"
            if expr is not None:
                cols.append(f.column)
                exprs.append(expr)
        return ", ".join(cols), ", ".join(exprs)

    t = time.monotonic()
    local_day = f"to_char((o.created_at + m.delta) AT TIME ZONE '{TZ_NAME}', 'YYMMDD')"
    cols, exprs = shifted(WorkOrder, "o", {
        "id": f"{base} + m.g",
        "number": f"bt.number_prefix || {local_day} || lpad((row_number() OVER (PARTITION BY bt.number_prefix, "
                  f"{local_day} ORDER BY m.created, m.g))::text, 5, '0')",
        "customer_id": "m.customer_id", "service_area_id": "m.area_id", "caller_name": "cu.name",
        "caller_phone": "(SELECT p.number FROM organisation_customerphone p WHERE p.customer_id = cu.id LIMIT 1)",
        "address": "cu.address", "description": "m.description",
        "sub_class_id": "COALESCE((SELECT s.id FROM catalog_subclass s WHERE s.business_type_id = o.business_type_id "
                        "AND s.code = m.sub AND s.active LIMIT 1), o.sub_class_id)",
    })
    cur.execute(f"""INSERT INTO workorders_workorder ({cols}) SELECT {exprs}
                    FROM bench_order_map m JOIN workorders_workorder o ON o.id = m.tpl
                    JOIN catalog_businesstype bt ON bt.id = o.business_type_id
                    JOIN organisation_customer cu ON cu.id = m.customer_id ORDER BY m.g""")
    n_orders = cur.rowcount
    cur.execute("""INSERT INTO workorders_numbercounter (key, last)
                   SELECT left(number, -5), max(right(number, 5)::int) FROM workorders_workorder GROUP BY 1
                   ON CONFLICT (key) DO UPDATE SET last = GREATEST(workorders_numbercounter.last, EXCLUDED.last)""")
    timings["orders_s"] = time.monotonic() - t
    t = time.monotonic()
    cols, exprs = shifted(WorkOrderEvent, "e", {"order_id": f"{base} + m.g"})
    cur.execute(f"""INSERT INTO workorders_workorderevent ({cols}) SELECT {exprs}
                    FROM bench_order_map m JOIN workorders_workorderevent e ON e.order_id = m.tpl
                    ORDER BY m.g, e.seq""")
    n_events = cur.rowcount
    timings["events_s"] = time.monotonic() - t
    t = time.monotonic()
    cols, exprs = shifted(Clock, "k", {"order_id": f"{base} + m.g", "subject_id": f"{base} + m.g"})
    cur.execute(f"""INSERT INTO timelimits_clock ({cols}) SELECT {exprs}
                    FROM bench_order_map m JOIN timelimits_clock k ON k.order_id = m.tpl ORDER BY m.g, k.id""")
    n_clocks = cur.rowcount
    timings["clocks_s"] = time.monotonic() - t
    # The contact each intake records, and its link to the order.
    t = time.monotonic()
    cur.execute("SELECT COALESCE(max(id), 0) + 10 FROM contacts_contact")
    contact_base = cur.fetchone()[0]
    cols, exprs = shifted(Contact, "ct", {
        "id": f"{contact_base} + m.g", "source_id": "ct.source_id || '-b' || m.g",
        "caller_number": "(SELECT p.number FROM organisation_customerphone p WHERE p.customer_id = m.customer_id LIMIT 1)",
    })
    cur.execute(f"""INSERT INTO contacts_contact ({cols}) SELECT {exprs}
                    FROM bench_order_map m JOIN workorders_ordercontact oc ON oc.order_id = m.tpl
                    JOIN contacts_contact ct ON ct.id = oc.contact_id ORDER BY m.g""")
    n_contacts = cur.rowcount
    cols, exprs = shifted(OrderContact, "oc", {"order_id": f"{base} + m.g", "contact_id": f"{contact_base} + m.g"})
    cur.execute(f"""INSERT INTO workorders_ordercontact ({cols}) SELECT {exprs}
                    FROM bench_order_map m JOIN workorders_ordercontact oc ON oc.order_id = m.tpl""")
    timings["contacts_s"] = time.monotonic() - t
    for table in ("workorders_workorder", "timelimits_clock", "contacts_contact", "workorders_workorderevent",
                  "workorders_ordercontact"):
        cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
    cur.execute("DROP TABLE bench_order_map")
    cur.close()
    return {"orders": n_orders, "events": n_events, "clocks": n_clocks, "contacts": n_contacts, **timings}


def delete_order_templates(ids: list[int]) -> None:
    from django.db import connection

    with connection.cursor() as cur:
        # Templates only: the append-only triggers are not for the loader.
        cur.execute("SET session_replication_role = replica")
        cur.execute("CREATE TEMPORARY TABLE bench_tpl_ids AS SELECT unnest(%s::bigint[]) AS id", [ids])
        cur.execute("""CREATE TEMPORARY TABLE bench_tpl_contacts AS SELECT contact_id AS id FROM workorders_ordercontact
                       WHERE order_id IN (SELECT id FROM bench_tpl_ids)""")
        cur.execute("DELETE FROM timelimits_notice WHERE order_id IN (SELECT id FROM bench_tpl_ids)")
        cur.execute("DELETE FROM timelimits_clock WHERE order_id IN (SELECT id FROM bench_tpl_ids)")
        cur.execute("DELETE FROM workorders_workorderevent WHERE order_id IN (SELECT id FROM bench_tpl_ids)")
        cur.execute("DELETE FROM workorders_ordercontact WHERE order_id IN (SELECT id FROM bench_tpl_ids)")
        cur.execute("DELETE FROM contacts_contact WHERE id IN (SELECT id FROM bench_tpl_contacts)")
        cur.execute("DELETE FROM workorders_workorder WHERE id IN (SELECT id FROM bench_tpl_ids)")
        cur.execute("DROP TABLE bench_tpl_ids, bench_tpl_contacts")
        cur.execute("SET session_replication_role = DEFAULT")


# --- outage templates and their replication ---------------------------------------------

# (class, what happens, share of the active outages / of the history). Each
# template is one outage through outages.services; "window" is the part of
# its life (in template time) that may be "now" for a copy.
ACTIVE_MIX = [
    ("grid_fault", "started", 30), ("grid_fault", "published", 5), ("planned", "published", 15),
    ("planned", "started", 8), ("planned", "future", 10), ("temporary", "published", 5), ("temporary", "started", 5),
    ("planned", "delayed", 3), ("grid_fault", "delayed", 2), ("over_capacity", "started", 5),
    ("arrears", "started", 7), ("orderly_use", "published", 3), ("theft", "started", 2),
]
PAST_MIX = [
    ("planned", "restored", 30), ("grid_fault", "restored", 35), ("grid_fault", "flicker", 10),
    ("temporary", "restored", 10), ("over_capacity", "restored", 5), ("arrears", "restored", 5),
    ("planned", "cancelled", 5),
]
MARKETING = {"arrears", "theft", "contract_violation", "orderly_use"}
# The level an outage names: most a transformer area or a 10 kV line's
# village; a township (a 35 kV substation, orderly use) seldom.
LEVEL_MIX = {"planned": [("transformer_area", 60), ("village", 35), ("township", 5)],
             "temporary": [("transformer_area", 70), ("village", 30)],
             "grid_fault": [("transformer_area", 75), ("village", 23), ("township", 2)],
             "over_capacity": [("transformer_area", 60), ("village", 40)],
             "arrears": [("transformer_area", 100)], "theft": [("transformer_area", 100)],
             "orderly_use": [("village", 70), ("township", 30)]}
REASONS = {"planned": "10kV线路检修及设备预试", "temporary": "配变增容改造临时停电", "grid_fault": "雷雨大风致10kV线路跳闸",
           "over_capacity": "负荷超过供电能力限电", "arrears": "欠费停电", "theft": "窃电停电",
           "orderly_use": "有序用电错峰", "contract_violation": "违约用电停电"}


def build_outage_templates(c: County, t0: dt.datetime, rnd: random.Random, *, per_kind: int) -> list[dict]:
    from hotline.core import clock as hclock
    from hotline.outages import services as osv

    out = []
    kinds = [(cls, what, True) for cls, what, _w in ACTIVE_MIX] + [(cls, what, False) for cls, what, _w in PAST_MIX]
    for cls, what, active in kinds:
        for i in range(per_kind * len(LEVEL_MIX[cls])):
            level = LEVEL_MIX[cls][i % len(LEVEL_MIX[cls])][0]
            area = rnd.choice({"transformer_area": c.tas, "village": c.villages, "township": c.townships}[level])
            actor = c.marketer if cls in MARKETING else c.dispatcher
            sudden = cls in ("grid_fault", "over_capacity")
            with hclock.frozen(t0) as clk:
                if sudden:
                    occurred = t0 - dt.timedelta(minutes=rnd.uniform(3, 12))
                    start, end = occurred, occurred + dt.timedelta(hours=rnd.uniform(2, 6))
                else:
                    occurred = None
                    lead = {"planned": dt.timedelta(days=8), "temporary": dt.timedelta(hours=26)}.get(
                        cls, dt.timedelta(hours=1))
                    start = t0 + lead
                    end = start + dt.timedelta(hours=rnd.uniform(4, 10) if cls != "arrears" else rnd.uniform(24, 72))
                outage = osv.draft(actor=actor, publish=True, data=osv.OutageInput(
                    outage_class=cls, area_ids=[area.pk], planned_start=start, planned_end=end, reason=REASONS[cls],
                    occurred_at=occurred, scope=f"{area.full_name}全部用户" if rnd.random() < 0.5 else "",
                    lines=[f"10kV{rnd.choice('东南西北中新')}{rnd.randint(1, 30)}线"] if cls not in MARKETING else []))
                if what == "future":
                    window = (t0, start)
                elif what == "published":
                    window = (max(t0, start), end)
                elif what == "cancelled":
                    clk.set(t0 + dt.timedelta(hours=rnd.uniform(1, 24)))
                    outage = osv.cancel(outage=outage, actor=actor, reason="天气原因，工作取消")
                    window = (clk.current, clk.current)
                else:
                    clk.set(max(t0, start) + dt.timedelta(minutes=rnd.uniform(1, 6)))
                    outage = osv.start(outage=outage, actor=actor, actual_start=start if not sudden else occurred)
                    window = (clk.current, end + dt.timedelta(hours=1))
                    if what == "delayed":
                        clk.set(max(clk.current, end - dt.timedelta(minutes=rnd.uniform(35, 60))))
                        new_end = end + dt.timedelta(hours=rnd.uniform(1, 3))
                        outage = osv.delay(outage=outage, actor=actor, new_end=new_end, reason="故障点查找困难，抢修延时")
                        window = (clk.current, new_end)
                    elif what in ("restored", "flicker"):
                        back = (outage.actual_start + dt.timedelta(minutes=rnd.uniform(1, 2.5)) if what == "flicker"
                                else min(end, outage.actual_start + dt.timedelta(hours=rnd.uniform(0.5, 8))))
                        clk.set(max(clk.current, back + dt.timedelta(minutes=rnd.uniform(0, 5))))
                        outage = osv.restore(outage=outage, actor=actor, actual_restoration=back)
                        window = (clk.current, clk.current)
                last = clk.current
            out.append({"id": outage.pk, "number": outage.number, "class": cls, "what": what, "active": active,
                        "level": level, "area_id": area.pk, "area_code": area.code, "area_name": str(area),
                        "window": (max(window[0], last), max(window[1], last))})
    return out


ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?[+-]\d{2}:\d{2}")
SHOWN_TIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}")


def _shift_texts(text: str, delta: dt.timedelta, tz) -> str:
    """Every time a payload names, moved by ``delta`` (whole minutes, so a
    time shown to the minute moves exactly)."""
    def iso(m):
        return (dt.datetime.fromisoformat(m.group(0)) + delta).astimezone(tz).isoformat()

    def shown(m):
        return (dt.datetime.strptime(m.group(0), "%Y-%m-%d %H:%M") + delta).strftime("%Y-%m-%d %H:%M")

    return SHOWN_TIME.sub(shown, ISO_TIME.sub(iso, text))


def replicate_outages(c: County, templates: list[dict], sizes: Sizes, weights: dict, now: dt.datetime,
                      rnd: random.Random) -> dict:
    from django.db import connection
    from django.db.models import DateTimeField
    from django.utils import timezone

    from hotline.outages.models import Outage, OutageArea
    from hotline.timelimits.models import Clock

    tz = timezone.get_current_timezone()
    pick_ta = weighted_picker(weights, rnd)
    by_kind: dict = {}
    for t in templates:
        by_kind.setdefault((t["class"], t["what"], t["active"], t["level"]), []).append(t)
    plan = []
    for mix, n, active in ((ACTIVE_MIX, sizes.active_outages, True), (PAST_MIX, sizes.past_outages, False)):
        total = sum(w for *_x, w in mix)
        for cls, what, w in mix:
            plan += [(cls, what, active)] * round(n * w / total)
    t = time.monotonic()
    cur = connection.cursor()
    cur.execute("SELECT COALESCE(max(id), 0) + 10 FROM outages_outage")
    base = cur.fetchone()[0]
    rows = []
    for g, (cls, what, active) in enumerate(plan):
        levels = LEVEL_MIX[cls]
        level = rnd.choices([lv for lv, _w in levels], weights=[w for _lv, w in levels])[0]
        tpl = rnd.choice(by_kind[(cls, what, active, level)])
        ta = c.area_by_id[pick_ta()] if cls in ("grid_fault", "over_capacity", "temporary") else rnd.choice(c.tas)
        area = {"transformer_area": ta, "village": c.area_by_id[ta.parent_id],
                "township": c.area_by_id[c.area_by_id[ta.parent_id].parent_id]}[tpl["level"]]
        lo, hi = tpl["window"]
        if not active:  # over within the last three months
            hi = lo + dt.timedelta(days=90)
        x = lo + (hi - lo) * rnd.random()
        delta = dt.timedelta(minutes=math.floor((now - x).total_seconds() / 60))
        rows.append((g, base + g, tpl["id"], area.id, delta))
    cur.execute("CREATE UNLOGGED TABLE bench_outage_map (g bigint PRIMARY KEY, new_id bigint, tpl bigint, area_id bigint, "
                "delta interval)")
    copy_rows(cur, "bench_outage_map", ["g", "new_id", "tpl", "area_id", "delta"], rows)
    cur.execute("ANALYZE bench_outage_map")

    def shifted(model, alias, overrides):
        cols, exprs = [], []
        for f in columns_of(model):
            if getattr(f, "generated", False):
                continue  # the database computes it
            if f.column in overrides:
                expr = overrides[f.column]
            elif f.primary_key:
                continue
            elif isinstance(f, DateTimeField):
                expr = f"{alias}.{f.column} + m.delta"
            else:
                expr = f"{alias}.{f.column}"
            cols.append(f.column)
            exprs.append(expr)
        return ", ".join(cols), ", ".join(exprs)

    cols, exprs = shifted(Outage, "o", {
        "id": "m.new_id",
        "number": f"'TD' || to_char((o.created_at + m.delta) AT TIME ZONE '{TZ_NAME}', 'YYMMDD') || lpad(m.new_id::text, 5, '0')"})
    cur.execute(f"INSERT INTO outages_outage ({cols}) SELECT {exprs} FROM bench_outage_map m "
                f"JOIN outages_outage o ON o.id = m.tpl ORDER BY m.g")
    n_outages = cur.rowcount
    cols, exprs = shifted(OutageArea, "l", {"outage_id": "m.new_id", "area_id": "m.area_id"})
    cur.execute(f"INSERT INTO outages_outagearea ({cols}) SELECT {exprs} FROM bench_outage_map m "
                f"JOIN outages_outagearea l ON l.outage_id = m.tpl")
    cols, exprs = shifted(Clock, "k", {"subject_id": "m.new_id"})
    cur.execute(f"INSERT INTO timelimits_clock ({cols}) SELECT {exprs} FROM bench_outage_map m "
                f"JOIN timelimits_clock k ON k.subject_type = 'outage' AND k.subject_id = m.tpl ORDER BY m.g, k.id")
    n_clocks = cur.rowcount
    # The events: their payloads name the area, the number and the times.
    cur.execute("SELECT id, number FROM outages_outage WHERE id >= %s", [base])
    numbers = dict(cur.fetchall())
    tpl_by_id = {t["id"]: t for t in templates}
    cur.execute("SELECT outage_id, seq, kind, at, actor_id, actor_role, payload::text FROM outages_outageevent "
                "WHERE outage_id = ANY(%s) ORDER BY outage_id, seq", [list(tpl_by_id)])
    events: dict = {}
    for row in cur.fetchall():
        events.setdefault(row[0], []).append(row)

    def new_events():
        for _g, new_id, tpl_id, area_id, delta in rows:
            tpl = tpl_by_id[tpl_id]
            area = c.area_by_id[area_id]
            for _o, seq, kind, at, actor_id, role, payload in events[tpl_id]:
                doc = json.loads(payload)
                for key in ("area_ids", "previous_area_ids"):
                    if key in doc:
                        doc[key] = [area_id]
                areas_change = doc.get("changes", {}).get("areas")
                if areas_change and areas_change.get("new"):
                    areas_change["new"] = [area.code]
                text = json.dumps(doc, ensure_ascii=False)
                text = text.replace(tpl["number"], numbers[new_id]).replace(tpl["area_name"], str(area))
                yield (new_id, seq, kind, at + delta, actor_id, role, _shift_texts(text, delta, tz))

    copy_rows(cur, "outages_outageevent", ["outage_id", "seq", "kind", "at", "actor_id", "actor_role", "payload"],
              new_events())
    n_events = cur.rowcount
    cur.execute("SELECT setval(pg_get_serial_sequence('outages_outage', 'id'), (SELECT max(id) FROM outages_outage))")
    cur.execute("DROP TABLE bench_outage_map")
    cur.close()
    return {"outages": n_outages, "events": n_events, "clocks": n_clocks, "s": round(time.monotonic() - t, 1)}


def delete_outage_templates(ids: list[int]) -> None:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SET session_replication_role = replica")
        cur.execute("DELETE FROM timelimits_notice WHERE subject_type = 'outage' AND subject_id = ANY(%s)", [ids])
        cur.execute("DELETE FROM timelimits_clock WHERE subject_type = 'outage' AND subject_id = ANY(%s)", [ids])
        cur.execute("DELETE FROM outages_outageevent WHERE outage_id = ANY(%s)", [ids])
        cur.execute("DELETE FROM outages_outagearea WHERE outage_id = ANY(%s)", [ids])
        cur.execute("DELETE FROM outages_outage WHERE id = ANY(%s)", [ids])
        cur.execute("SET session_replication_role = DEFAULT")


def delete_template_messages() -> int:
    """Messages the templates' transitions wrote (a resolved repair tells
    its caller): the outbox holds only the fan-out's when that is timed."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SET session_replication_role = replica")
        cur.execute("DELETE FROM core_outboxevent")
        cur.execute("DELETE FROM core_outboxmessage")
        n = cur.rowcount
        cur.execute("SET session_replication_role = DEFAULT")
    return n


# --- subscriptions ------------------------------------------------------------------

def load_subscriptions(c: County, sizes: Sizes, rnd: random.Random) -> dict:
    """The fan-out township's subscribers: account holders of the town (half)
    and subscribers of the town, its villages and its transformer areas;
    besides them, some who subscribed both for their account and for their
    area (one message each), cancelled subscriptions and subscribers
    elsewhere, who must get nothing. One row through
    ``outages.services.subscribe``, the rest bulk-created alike."""
    from django.db import connection

    from hotline.organisation.models import Customer
    from hotline.outages import services as osv

    town = c.fan_out_town
    villages = [v for v in c.villages if v.parent_id == town.id]
    tas = [ta for ta in c.tas if c.area_by_id[ta.parent_id].parent_id == town.id]
    n = sizes.subscribers
    first = Customer.objects.get(account_number="3300000000")
    assert c.area_by_id[first.service_area_id] in tas
    osv.subscribe(channel="sms", address="139 0000 0000", customer=first)
    town_customers = [cid for ta in tas for cid in c.customers_by_area[ta.id] if cid != first.pk]
    n_accounts = min(n // 2, len(town_customers) + 1)
    accounts = rnd.sample(town_customers, n_accounts - 1)
    area_rows = []
    targets = [town] * 2 + villages * 3 + tas * 5
    for i in range(n - n_accounts):
        area_rows.append((rnd.choice(targets).id, f"158{i:08d}", True))
    for i in range(max(1, n // 50)):  # cancelled since
        area_rows.append((rnd.choice(targets).id, f"157{i:08d}", False))
    others = [a for a in c.tas + c.villages + c.townships if a not in tas and a not in villages and a is not town]
    for i in range(max(1, n // 10)):  # other places: not concerned
        area_rows.append((rnd.choice(others).id, f"186{i:08d}", True))
    with connection.cursor() as cur:
        cur.execute("CREATE TEMPORARY TABLE bench_sub_accounts (customer_id bigint)")
        copy_rows(cur, "bench_sub_accounts", ["customer_id"], [(x,) for x in accounts])
        cur.execute("""INSERT INTO outages_subscription (customer_id, area_id, channel, address, active, created_at,
                           created_by_id, cancelled_at)
                       SELECT a.customer_id, NULL, 'sms', p.number, true, now() - random() * interval '300 days', NULL, NULL
                       FROM bench_sub_accounts a JOIN organisation_customerphone p ON p.customer_id = a.customer_id""")
        # 2 % of them subscribed their transformer area too, with the same phone.
        cur.execute("""INSERT INTO outages_subscription (customer_id, area_id, channel, address, active, created_at,
                           created_by_id, cancelled_at)
                       SELECT NULL, cu.service_area_id, 'sms', p.number, true, now() - random() * interval '300 days',
                              NULL, NULL
                       FROM bench_sub_accounts a JOIN organisation_customer cu ON cu.id = a.customer_id
                       JOIN organisation_customerphone p ON p.customer_id = a.customer_id WHERE random() < 0.02""")
        cur.execute("CREATE TEMPORARY TABLE bench_sub_areas (area_id bigint, address text, active bool)")
        copy_rows(cur, "bench_sub_areas", ["area_id", "address", "active"], area_rows)
        cur.execute("""INSERT INTO outages_subscription (customer_id, area_id, channel, address, active, created_at,
                           created_by_id, cancelled_at)
                       SELECT NULL, area_id, 'sms', address, active, now() - random() * interval '300 days', NULL,
                              CASE WHEN active THEN NULL ELSE now() - random() * interval '30 days' END
                       FROM bench_sub_areas""")
        cur.execute("DROP TABLE bench_sub_accounts, bench_sub_areas")
        cur.execute("SELECT count(*), count(*) FILTER (WHERE active) FROM outages_subscription")
        rows, active = cur.fetchone()
    return {"rows": rows, "active": active, "accounts": n_accounts, "town": str(town), "town_id": town.id,
            "town_areas": 1 + len(villages) + len(tas), "expected_recipients": expected_recipients(town)}


def expected_recipients(town) -> int:
    """Whom an outage of the town concerns, counted in SQL on its own: the
    active subscriptions of accounts supplied below it and of the town, its
    villages and its areas, one per address."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("""
            WITH RECURSIVE below AS (SELECT id FROM organisation_servicearea WHERE id = %s
                                     UNION SELECT a.id FROM organisation_servicearea a JOIN below b ON a.parent_id = b.id)
            SELECT count(DISTINCT s.address) FROM outages_subscription s
            LEFT JOIN organisation_customer cu ON cu.id = s.customer_id
            WHERE s.active AND (s.area_id IN (SELECT id FROM below) OR cu.service_area_id IN (SELECT id FROM below))""",
                    [town.id])
        return cur.fetchone()[0]


# --- loading ------------------------------------------------------------------------

def load_county() -> County:
    """The county of an already-loaded database (``--skip-load``)."""
    from hotline.organisation.models import Customer, ServiceArea, Unit, User

    c = County()
    units = {u.code: u for u in Unit.objects.filter(code__startswith="i-")}
    users = {u.username: u for u in User.objects.filter(username__startswith="i-").select_related("unit")}
    c.county, c.center, c.desk, c.marketing = (units[k] for k in ("i-county", "i-center", "i-desk", "i-mkt"))
    c.agents = sorted((u for k, u in users.items() if k.startswith("i-agent")), key=lambda u: u.username)
    c.dispatcher, c.marketer = users["i-dispatcher"], users["i-marketer"]
    c.stations = sorted((u for k, u in units.items() if k.startswith("i-st")), key=lambda u: u.code)
    c.station_users = {u.unit_id: u for k, u in users.items() if k.startswith("i-staff")}
    for a in ServiceArea.objects.filter(code__startswith="i-").order_by("code"):
        {"township": c.townships, "village": c.villages, "transformer_area": c.tas}[a.level].append(a)
        c.area_by_id[a.id] = a
        c.station_of_area[a.id] = a.unit_id
    c.fan_out_town = c.townships[0]
    for cid, area_id in Customer.objects.values_list("id", "service_area_id"):
        c.customers_by_area.setdefault(area_id, []).append(cid)
    return c


def phase_load(sizes: Sizes, args, now: dt.datetime) -> tuple[County, dict]:
    from django.db import connection
    from django.utils import timezone

    rnd = random.Random(args.seed)
    out: dict = {}
    t_all = time.monotonic()
    log(f"county: {sizes.stations} stations, {sizes.stations * 2} townships, {sizes.stations * 20} villages, "
        f"{sizes.tas:,} transformer areas (through organisation.services)")
    c = build_county(sizes, rnd)
    out["county_s"] = round(time.monotonic() - t_all, 1)
    t = time.monotonic()
    out["customers"] = load_customers(c, sizes, rnd)
    out["customers_s"] = round(time.monotonic() - t, 1)
    log(f"  {out['customers']:,} customers ({out['customers_s']} s)")
    texts = Texts(c, args.seed + 1)
    # Templates live ~400 days back, at 09:00 local: far from every copy.
    t0 = timezone.localtime(now).replace(hour=9, minute=0, second=0, microsecond=0) - dt.timedelta(days=400)
    t = time.monotonic()
    per_open, per_closed = (12, 4) if sizes.stations >= 4 else (40, 12)
    order_tpls = build_order_templates(c, texts, t0, rnd, per_station_open=per_open, per_station_closed=per_closed)
    out["order_templates"], out["order_templates_s"] = len(order_tpls), round(time.monotonic() - t, 1)
    out["template_messages_dropped"] = delete_template_messages()
    log(f"  {len(order_tpls)} repair-order templates through create_order/transition ({out['order_templates_s']} s)")
    t = time.monotonic()
    outage_tpls = build_outage_templates(c, t0, rnd, per_kind=2)
    out["outage_templates"], out["outage_templates_s"] = len(outage_tpls), round(time.monotonic() - t, 1)
    log(f"  {len(outage_tpls)} outage templates through outages.services ({out['outage_templates_s']} s)")
    weights = storm_weights(c, rnd)
    t = time.monotonic()
    log(f"replicating {sizes.open_orders:,} open + {sizes.closed_orders:,} closed repair orders (set-based SQL)")
    out["orders"] = replicate_orders(c, order_tpls, sizes, texts, weights, now, rnd)
    out["orders_s"] = round(time.monotonic() - t, 1)
    log(f"  {json.dumps(out['orders'])}")
    log(f"replicating {sizes.active_outages:,} active + {sizes.past_outages:,} past outages")
    out["outages"] = replicate_outages(c, outage_tpls, sizes, weights, now, rnd)
    log(f"  {json.dumps(out['outages'])}")
    delete_order_templates([t["id"] for t in order_tpls])
    delete_outage_templates([t["id"] for t in outage_tpls])
    t = time.monotonic()
    out["subscriptions"] = load_subscriptions(c, sizes, rnd)
    out["subscriptions_s"] = round(time.monotonic() - t, 1)
    log(f"  subscriptions: {json.dumps(out['subscriptions'], ensure_ascii=False)}")
    t = time.monotonic()
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE")
    out["vacuum_analyze_s"] = round(time.monotonic() - t, 1)
    out["load_s"] = round(time.monotonic() - t_all, 1)
    log(f"loaded in {out['load_s']} s (VACUUM ANALYZE {out['vacuum_analyze_s']} s)")
    return c, out


def data_counts() -> dict:
    from django.db import connection

    out = {}
    with connection.cursor() as cur:
        for label, sql in [
            ("open_repair_orders", ("SELECT count(*) FROM workorders_workorder w JOIN catalog_businesstype b ON "
                                    "b.id = w.business_type_id WHERE b.code = 'repair' AND w.state NOT IN "
                                    "('closed', 'merged', 'cancelled')")),
            ("orders", "SELECT count(*) FROM workorders_workorder"),
            ("order_events", "SELECT count(*) FROM workorders_workorderevent"),
            ("clocks", "SELECT count(*) FROM timelimits_clock"),
            ("outages", "SELECT count(*) FROM outages_outage"),
            ("outage_links", "SELECT count(*) FROM outages_outagearea"),
            ("outage_events", "SELECT count(*) FROM outages_outageevent"),
            ("customers", "SELECT count(*) FROM organisation_customer"),
            ("subscriptions", "SELECT count(*) FROM outages_subscription"),
            ("transformer_areas", "SELECT count(*) FROM organisation_servicearea WHERE level = 'transformer_area'"),
            ("villages", "SELECT count(*) FROM organisation_servicearea WHERE level = 'village'"),
            ("townships", "SELECT count(*) FROM organisation_servicearea WHERE level = 'township'"),
        ]:
            cur.execute(sql)
            out[label] = cur.fetchone()[0]
        cur.execute("SELECT status, count(*) FROM outages_outage GROUP BY 1 ORDER BY 2 DESC")
        out["outages_by_status"] = dict(cur.fetchall())
        cur.execute("SELECT outage_class, count(*) FROM outages_outage WHERE status IN ('published', 'started', 'delayed') "
                    "GROUP BY 1 ORDER BY 2 DESC")
        out["active_outages_by_class"] = dict(cur.fetchall())
        cur.execute("""SELECT a.level, count(*) FROM outages_outagearea l JOIN outages_outage o ON o.id = l.outage_id
                       JOIN organisation_servicearea a ON a.id = l.area_id
                       WHERE o.status IN ('published', 'started', 'delayed') GROUP BY 1""")
        out["active_outages_by_level"] = dict(cur.fetchall())
        cur.execute("""SELECT w.state, count(*) FROM workorders_workorder w GROUP BY 1 ORDER BY 2 DESC""")
        out["orders_by_state"] = dict(cur.fetchall())
        cur.execute("""SELECT max(n), percentile_disc(0.5) WITHIN GROUP (ORDER BY n),
                              percentile_disc(0.99) WITHIN GROUP (ORDER BY n), count(*)
                       FROM (SELECT service_area_id, count(*) AS n FROM workorders_workorder
                             WHERE state NOT IN ('closed', 'merged', 'cancelled') GROUP BY 1) x""")
        mx, p50, p99, areas = cur.fetchone()
        out["open_per_area"] = {"max": mx, "median": p50, "p99": p99, "areas_with_open": areas}
        cur.execute("""SELECT count(*) FROM workorders_workorder WHERE state NOT IN ('closed', 'merged', 'cancelled')
                       AND created_at >= now() - interval '24 hours'""")
        out["open_last_24h"] = cur.fetchone()[0]
        cur.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        out["db_size"] = cur.fetchone()[0]
    return out


# --- the intake check ---------------------------------------------------------------

def intake_plan(c: County, sizes: Sizes, seed: int) -> dict:
    """The calls, drawn before anything is timed: callers ring from where the
    open reports are (weighted by the open repair orders per area); 85 %
    give their account (the customer card is open), 10 % can only name
    their village, 5 % name the area without an account."""
    from django.db import connection

    rnd = random.Random(seed)
    with connection.cursor() as cur:
        cur.execute("""SELECT service_area_id, count(*) FROM workorders_workorder
                       WHERE state NOT IN ('closed', 'merged', 'cancelled') GROUP BY 1""")
        open_by_area = dict(cur.fetchall())
    weights = {ta.id: open_by_area.get(ta.id, 0) + 1 for ta in c.tas}
    pick = weighted_picker(weights, rnd)
    texts = Texts(c, seed + 7)
    calls = []
    for _ in range(1 + sizes.warmup + sizes.calls):
        ta = c.area_by_id[pick()]
        r = rnd.random()
        if r < 0.85:
            area, customer = ta, rnd.choice(c.customers_by_area[ta.id])
        elif r < 0.95:
            area, customer = c.area_by_id[ta.parent_id], None
        else:
            area, customer = ta, None
        text, sub, scope = texts.report(area)
        calls.append({"area_id": area.id, "level": area.level, "customer_id": customer, "text": text, "sub": sub,
                      "scope": scope})
    busiest_ta = max(weights, key=weights.get)
    village_open = {}
    for ta in c.tas:
        village_open[ta.parent_id] = village_open.get(ta.parent_id, 0) + weights[ta.id]
    busiest_village = max(village_open, key=village_open.get)
    explain = [
        {"label": "busiest-area", "area_id": busiest_ta, "customer_id": c.customers_by_area[busiest_ta][0],
         "text": texts.report(c.area_by_id[busiest_ta])[0], "sub": "lv", "scope": "company", "level": "transformer_area",
         "open_orders": open_by_area.get(busiest_ta, 0)},
        {"label": "busiest-village", "area_id": busiest_village, "customer_id": None,
         "text": texts.report(c.area_by_id[busiest_village])[0], "sub": "lv", "scope": "company", "level": "village",
         "open_orders": village_open[busiest_village] - 5},
    ]
    return {"calls": calls, "warmup": sizes.warmup, "explain": explain}


class SqlTimer:
    """Counts the queries of a call and the time spent in the database."""

    def __init__(self):
        self.n = 0
        self.seconds = 0.0

    def __call__(self, execute, sql, params, many, context):
        t = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - t
            self.n += 1


def measure_intake(plan_path: str, out_path: str) -> None:
    """Runs in a fresh process, as a web process would: the first call cold,
    then warm-up calls, then the timed calls; then the plans."""
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from hotline.catalog import selectors as catalog_selectors
    from hotline.core import clock
    from hotline.organisation.models import Customer
    from hotline.workorders import intake_check, services
    from hotline.workorders.models import WorkOrder

    plan = json.loads(Path(plan_path).read_text())
    calls = plan["calls"]
    customers = Customer.objects.in_bulk([c["customer_id"] for c in calls + plan["explain"] if c["customer_id"]])
    connection.close()  # the first call opens its own connection, as a new web process does

    def one(call):
        customer = customers.get(call["customer_id"]) if call["customer_id"] else None
        cpu = time.process_time()
        t = time.perf_counter()
        found = intake_check.check(service_area_id=call["area_id"], customer=customer)
        t_check = time.perf_counter()
        # As preview_duplicates builds the report the agent is typing.
        bt = catalog_selectors.business_type("repair")
        sub = catalog_selectors.sub_class(bt.pk, call["sub"]) if call["sub"] else None
        draft = WorkOrder(business_type=bt, service_area_id=call["area_id"], sub_class=sub, fault_scope=call["scope"],
                          description=call["text"], created_at=clock.now())
        proposals = services.suggest_duplicates(draft)
        t_end = time.perf_counter()
        return {"ms": (t_end - t) * 1000, "cpu_ms": (time.process_time() - cpu) * 1000,
                "check_ms": (t_check - t) * 1000, "dup_ms": (t_end - t_check) * 1000,
                "outages": len(found.outages), "frequent": (found.frequent or {}).get("count", 0),
                "proposals": len(proposals), "level": call["level"], "customer": bool(customer)}

    timer = SqlTimer()
    with connection.execute_wrapper(timer):
        cold = one(calls[0])
        cold["queries"], cold["sql_ms"] = timer.n, timer.seconds * 1000
        # Configuration caches (areas, their children and ancestry) as a
        # process that has served the county for a while holds them.
        from hotline.organisation import selectors as organisation_selectors
        from hotline.organisation.models import ServiceArea
        from hotline.outages import selectors as outage_selectors

        t = time.perf_counter()
        for pk in ServiceArea.objects.values_list("pk", flat=True):
            organisation_selectors.service_area(pk)
            organisation_selectors.child_area_ids(pk)
            outage_selectors.area_and_ancestor_ids(pk)
        cold["config_cache_warm_s"] = time.perf_counter() - t
        for call in calls[1:1 + plan["warmup"]]:
            one(call)
        samples = []
        profile = None
        if os.environ.get("INTAKE_BENCH_PROFILE"):  # where the time goes (cProfile slows every call)
            import cProfile

            profile = cProfile.Profile()
            profile.enable()
        for call in calls[1 + plan["warmup"]:]:
            timer.n, timer.seconds = 0, 0.0
            s = one(call)
            s["queries"], s["sql_ms"] = timer.n, timer.seconds * 1000
            samples.append(s)
    if profile is not None:
        profile.disable()
        profile.dump_stats(os.environ["INTAKE_BENCH_PROFILE"])
    plans = []
    for place in plan["explain"]:
        one(place)  # warm
        with CaptureQueriesContext(connection) as captured:
            s = one(place)
        for i, q in enumerate(captured.captured_queries):
            sql = q["sql"]
            with connection.cursor() as cur:
                cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
                text = "\n".join(r[0] for r in cur.fetchall())
            table = (re.search(r'FROM "(\w+)"', sql) or re.search(r"FROM (\w+)", sql))
            plans.append({"place": place["label"], "i": i, "table": table.group(1) if table else "?", "sql": sql,
                          "plan": text, "call_ms": s["ms"], "open_orders": place["open_orders"],
                          "proposals": s["proposals"], "outages": s["outages"]})
    Path(out_path).write_text(json.dumps({"cold": cold, "samples": samples, "plans": plans}, default=str))


def summarise(samples: list[dict], key: str = "ms") -> dict:
    v = [s[key] for s in samples]
    return {"n": len(v), "p50": round(percentile(v, 50), 2), "p95": round(percentile(v, 95), 2),
            "p99": round(percentile(v, 99), 2), "max": round(max(v), 2), "mean": round(sum(v) / len(v), 2)}


def phase_intake(c: County, sizes: Sizes, args, env: dict, stamp: str) -> dict:
    plan = intake_plan(c, sizes, args.seed + 100)
    work = BENCH / "results" / f"intake-plan-{stamp}.json"
    got = BENCH / "results" / f"intake-samples-{stamp}.json"
    work.write_text(json.dumps(plan, ensure_ascii=False))
    log(f"intake check: 1 cold call, {plan['warmup']} warm-up calls, {sizes.calls} timed calls in a fresh process")
    load_before = os.getloadavg()
    subprocess.run(["nice", "-n", str(args.nice), sys.executable, __file__, "--measure-intake", str(work), str(got)],
                   env=env, check=True, cwd=ROOT)
    raw = json.loads(got.read_text())
    work.unlink()
    got.unlink()
    samples = raw["samples"]
    out = {"load_avg_before": [round(x, 2) for x in load_before], "load_avg_after": [round(x, 2) for x in os.getloadavg()],
           "cold": {k: (round(v, 2) if isinstance(v, float) else v) for k, v in raw["cold"].items()},
           "total": summarise(samples), "check": summarise(samples, "check_ms"), "duplicates": summarise(samples, "dup_ms"),
           "sql": summarise(samples, "sql_ms"), "cpu": summarise(samples, "cpu_ms"),
           "queries": summarise(samples, "queries")}
    for label, pred in (("with_customer", lambda s: s["customer"]), ("village_only", lambda s: s["level"] == "village"),
                        ("area_no_customer", lambda s: not s["customer"] and s["level"] != "village")):
        part = [s for s in samples if pred(s)]
        if part:
            out[label] = summarise(part)
    out["found"] = {"calls_with_outages": sum(1 for s in samples if s["outages"]),
                    "calls_with_proposals": sum(1 for s in samples if s["proposals"]),
                    "mean_outages": round(sum(s["outages"] for s in samples) / len(samples), 2),
                    "mean_frequent": round(sum(s["frequent"] for s in samples) / len(samples), 2),
                    "mean_proposals": round(sum(s["proposals"] for s in samples) / len(samples), 2)}
    slow = sorted(samples, key=lambda s: -s["ms"])[:10]
    out["slowest"] = [{k: (round(v, 2) if isinstance(v, float) else v) for k, v in s.items()} for s in slow]
    plans_dir = BENCH / "plans"
    plans_dir.mkdir(exist_ok=True)
    for old in plans_dir.glob("intake-*.txt"):
        old.unlink()
    out["plans"] = []
    for p in raw["plans"]:
        name = f"intake-{p['place']}-{p['i'] + 1}-{p['table']}.txt"
        timing = "; ".join(line.strip() for line in p["plan"].splitlines()
                           if line.strip().startswith(("Planning Time", "Execution Time")))
        (plans_dir / name).write_text(
            f"-- {p['place']}: {p['open_orders']} open orders there; whole call {p['call_ms']:.1f} ms, "
            f"{p['outages']} outages, {p['proposals']} proposals; {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC\n"
            f"-- {p['sql']}\n{p['plan']}\n")
        out["plans"].append({"file": name, "timing": timing})
        log(f"  plan {name}: {timing}")
    t = out["total"]
    log(f"  cold first call {out['cold']['ms']:.1f} ms; warm p50 {t['p50']} / p95 {t['p95']} / p99 {t['p99']} / "
        f"max {t['max']} ms (check p99 {out['check']['p99']}, duplicates p99 {out['duplicates']['p99']}, "
        f"SQL p99 {out['sql']['p99']}, process CPU p99 {out['cpu']['p99']} ms)")
    return out


# --- fan-out ------------------------------------------------------------------------

def phase_fan_out(c: County, args, env: dict) -> dict:
    import outbox_bench
    from django.db import connection

    from hotline.core.models import OutboxMessage
    from hotline.outages import services as osv

    if args.skip_load:  # a rerun: the earlier fan-out's messages go first
        delete_template_messages()
    assert not OutboxMessage.objects.exists(), "the outbox must hold only the fan-out's messages"
    port_file = BENCH / "results" / "intake-sink.port"
    port_file.unlink(missing_ok=True)
    sink = subprocess.Popen([sys.executable, str(BENCH / "outbox_bench.py"), "--sink", str(port_file)])
    while not port_file.exists():
        time.sleep(0.05)
    time.sleep(0.1)
    port = int(port_file.read_text())
    sms = {"HOTLINE_OUTAGE_SMS_CHANNEL": "sms_http", "HOTLINE_SMS_URL": f"http://127.0.0.1:{port}/sms",
           "HOTLINE_SMS_SECRET": outbox_bench.SECRET, "HOTLINE_SMS_RATE": str(args.sms_rate), "HOTLINE_SMS_TIMEOUT": "5"}
    os.environ.update(sms)
    worker_env = dict(env, **sms, HOTLINE_OUTBOX_THREADS=str(args.threads), HOTLINE_OUTBOX_BATCH=str(args.batch),
                      HOTLINE_OUTBOX_INTERVAL="0.2", HOTLINE_LOG_LEVEL="WARNING")
    logs = [BENCH / "results" / f"intake-worker-{i}.log" for i in range(args.workers)]
    log(f"fan-out: start {args.workers} × hotline worker --only outbox ({args.threads} threads, claims of {args.batch}), "
        f"SMS rate limit {args.sms_rate}/s")
    workers = [subprocess.Popen([str(VENV_BIN / "hotline"), "worker", "--only", "outbox"], env=worker_env, cwd=ROOT,
                                stdout=open(path, "w"), stderr=subprocess.STDOUT)  # noqa: SIM115 (lives as long as the worker)
               for path in logs]
    out: dict = {}
    try:
        deadline = time.monotonic() + 60
        while not all("hotline worker" in path.read_text() for path in logs):
            if time.monotonic() > deadline or any(w.poll() is not None for w in workers):
                raise RuntimeError("workers did not start: " + " | ".join(p.read_text()[-500:] for p in logs))
            time.sleep(0.1)
        town = c.fan_out_town
        expected = expected_recipients(town)
        from django.utils import timezone

        start = (timezone.localtime() + dt.timedelta(days=8)).replace(hour=8, minute=30, second=0, microsecond=0)
        data = osv.OutageInput(outage_class="planned", area_ids=[town.id], planned_start=start,
                               planned_end=start + dt.timedelta(hours=9), reason="10kV城关线及配套设备年度检修",
                               scope=f"{town}全镇", lines=["10kV城关线"])
        out["load_avg_before"] = [round(x, 2) for x in os.getloadavg()]
        log(f"publish an outage of {town} ({expected:,} subscribers concerned) in one transaction")
        pids = [w.pid for w in workers]
        cpu0 = (outbox_bench.cpu_seconds(pids), outbox_bench.cpu_seconds([sink.pid]),
                outbox_bench.cpu_seconds(comm="postgres"))
        t = time.perf_counter()
        outage = osv.draft(actor=c.dispatcher, data=data, publish=True)
        enqueue_s = time.perf_counter() - t
        source = f"outage:{outage.number}:published"
        created = OutboxMessage.objects.filter(source=source).count()
        log(f"  committed in {enqueue_s:.2f} s: {created:,} messages ({created / enqueue_s:,.0f}/s); delivering")
        t = time.perf_counter()
        sent = 0
        limit = time.monotonic() + max(600, created / 100)
        while time.monotonic() < limit:
            time.sleep(0.25)
            sent = OutboxMessage.objects.filter(source=source, state__in=("sent", "acknowledged")).count()
            if sent >= created:
                break
        deliver_s = time.perf_counter() - t
        cpu1 = (outbox_bench.cpu_seconds(pids), outbox_bench.cpu_seconds([sink.pid]),
                outbox_bench.cpu_seconds(comm="postgres"))
        out["load_avg_after"] = [round(x, 2) for x in os.getloadavg()]
    finally:
        for w in workers:
            w.send_signal(signal.SIGTERM)
        for w in workers:
            try:
                w.wait(30)
            except subprocess.TimeoutExpired:
                w.kill()
    stats = outbox_bench.sink_stats(port)
    sink.terminate()
    sink.wait(10)
    port_file.unlink(missing_ok=True)
    for path in logs:  # kept only when a worker said more than its first line
        if len(path.read_text().splitlines()) <= 1:
            path.unlink()
    with connection.cursor() as cur:
        cur.execute("SELECT state, count(*) FROM core_outboxmessage WHERE source = %s GROUP BY 1", [source])
        states = dict(cur.fetchall())
        cur.execute("SELECT EXTRACT(EPOCH FROM max(sent_at) - min(sent_at)) FROM core_outboxmessage WHERE source = %s",
                    [source])
        span = float(cur.fetchone()[0] or 0)
        # Whom it reached, against whom it concerns (counted in SQL on its own).
        cur.execute("""
            WITH RECURSIVE below AS (SELECT id FROM organisation_servicearea WHERE id = %s
                                     UNION SELECT a.id FROM organisation_servicearea a JOIN below b ON a.parent_id = b.id),
            want AS (SELECT DISTINCT s.address FROM outages_subscription s
                     LEFT JOIN organisation_customer cu ON cu.id = s.customer_id
                     WHERE s.active AND (s.area_id IN (SELECT id FROM below) OR cu.service_area_id IN (SELECT id FROM below))),
            got AS (SELECT recipient FROM core_outboxmessage WHERE source = %s)
            SELECT (SELECT count(*) FROM (SELECT address FROM want EXCEPT SELECT recipient FROM got) x),
                   (SELECT count(*) FROM (SELECT recipient FROM got EXCEPT SELECT address FROM want) y)""", [town.id, source])
        missing, unexpected = cur.fetchone()
    cpu_ms = {k: round((b - a) / max(sent, 1) * 1000, 3) for k, a, b in zip(("workers", "sink", "postgres"), cpu0, cpu1)}
    out.update({
        "township": str(town), "subscribers_concerned": expected, "messages": created, "enqueue_s": round(enqueue_s, 2),
        "enqueue_per_s": round(created / enqueue_s), "deliver_s": round(deliver_s, 2), "sent": sent,
        "rate_per_s": round(sent / deliver_s) if deliver_s else None,
        "rate_first_to_last_sent_per_s": round(sent / span) if span else None,
        "sink_requests": stats["requests"], "delivered": stats["unique"], "lost": created - stats["unique"],
        "duplicates": stats["duplicates"], "bad_signatures": stats["bad_signatures"], "states": states,
        "concerned_not_messaged": missing, "messaged_not_concerned": unexpected, "cpu_ms_per_message": cpu_ms,
        "workers": args.workers, "threads": args.threads, "batch": args.batch, "sms_rate": args.sms_rate,
    })
    log(f"  {sent:,} sent in {deliver_s:.1f} s ({out['rate_per_s']}/s); sink: {stats}; CPU ms/message {cpu_ms}")
    return out


# --- report -------------------------------------------------------------------------

def table(results: dict) -> str:
    def ok(good):
        return "met" if good else "**missed**"

    rows = []
    i = results.get("intake")
    if i:
        t = i["total"]
        rows.append((f"intake check, {t['n']:,} warm calls (check + duplicate candidates)",
                     f"p50 {t['p50']} / p95 {t['p95']} / p99 {t['p99']} / max {t['max']} ms",
                     f"p99 < {LIMITS['intake_p99_ms']:g} ms", ok(t["p99"] < LIMITS["intake_p99_ms"])))
        for key, label in (("check", "of which intake_check.check"), ("duplicates", "of which suggest_duplicates"),
                           ("sql", "of which waiting for the database"), ("cpu", "CPU time of the web process per call")):
            rows.append((label, f"p50 {i[key]['p50']} / p95 {i[key]['p95']} / p99 {i[key]['p99']} / max {i[key]['max']} ms",
                         "", ""))
        for key, label in (("with_customer", "calls with an account"), ("village_only", "calls naming only the village"),
                           ("area_no_customer", "calls naming the area, no account")):
            if key in i:
                rows.append((f"{label} ({i[key]['n']})", f"p50 {i[key]['p50']} / p99 {i[key]['p99']} / max {i[key]['max']} ms",
                             "", ""))
        rows.append(("cold first call (fresh process)", f"{i['cold']['ms']:.1f} ms", "—", ""))
    f = results.get("fan_out")
    if f:
        per_100k = f["enqueue_s"] * 100_000 / max(f["messages"], 1)
        rows.append((f"publish over {f['township']}: the transaction, {f['messages']:,} messages",
                     f"{f['enqueue_s']} s ({f['enqueue_per_s']:,}/s)",
                     (f"≤ {LIMITS['enqueue_s_per_100k'] * f['messages'] / 100_000:g} s "
                      f"(≤ {LIMITS['enqueue_s_per_100k']:g} s per 100k)"), ok(per_100k <= LIMITS["enqueue_s_per_100k"])))
        rows.append((f"delivery, {f['workers']} workers, commit to last sent",
                     f"{f['rate_per_s']:,} msg/s ({f['deliver_s']} s)", f"≥ {LIMITS['delivery_per_s']:,.0f} msg/s",
                     ok((f["rate_per_s"] or 0) >= LIMITS["delivery_per_s"])))
        rows.append(("delivered at the sink", f"{f['delivered']:,} of {f['messages']:,}", f"{f['messages']:,}",
                     ok(f["delivered"] == f["messages"])))
        rows.append(("lost", str(f["lost"]), "0", ok(f["lost"] == 0)))
        rows.append(("duplicates at the sink", str(f["duplicates"]), "0", ok(f["duplicates"] == 0)))
        rows.append(("concerned but not messaged / messaged but not concerned",
                     f"{f['concerned_not_messaged']} / {f['messaged_not_concerned']}", "0 / 0",
                     ok(f["concerned_not_messaged"] == 0 and f["messaged_not_concerned"] == 0)))
    out = ["| measure | result | limit | |", "| --- | --- | --- | --- |"]
    out += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    return "\n".join(out)


# --- main ---------------------------------------------------------------------------

def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--measure-intake":
        return measure_intake(sys.argv[2], sys.argv[3])
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="10x smaller smoke run")
    ap.add_argument("--db", default="postgres://postgres@127.0.0.1:5432/hotline_intake_bench")
    ap.add_argument("--stations", type=int, help="supply stations, 100 transformer areas each (default 20; --quick 2)")
    ap.add_argument("--orders", type=int, help="open repair orders (default 100,000)")
    ap.add_argument("--closed", type=int, help="closed repair orders of the last 60 days (default 100,000)")
    ap.add_argument("--outages", type=int, help="active outages (default 10,000)")
    ap.add_argument("--past-outages", type=int, help="restored or cancelled outages, last 90 days (default 10,000)")
    ap.add_argument("--subscribers", type=int, help="subscribers concerned by the fan-out (default 100,000)")
    ap.add_argument("--calls", type=int, help="timed intake checks (default 2,000; --quick 500)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=4, help="sender threads per worker")
    ap.add_argument("--batch", type=int, default=200, help="messages per claim")
    ap.add_argument("--sms-rate", type=int, default=100_000, help="HOTLINE_SMS_RATE for the fan-out")
    ap.add_argument("--phases", default="intake,fanout")
    ap.add_argument("--skip-load", action="store_true", help="reuse the loaded database (the fan-out adds its outage)")
    ap.add_argument("--seed", type=int, default=20261202)
    ap.add_argument("--nice", type=int, default=10, help="niceness of the timed child process")
    args = ap.parse_args()
    sizes = Sizes(args)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    (BENCH / "results").mkdir(exist_ok=True)
    env = dict(os.environ, DATABASE_URL=args.db, DJANGO_SETTINGS_MODULE="hotline.settings",
               HOTLINE_LOG_LEVEL="WARNING", HOTLINE_DATA_DIR=str(ROOT / "data" / "bench-intake"),
               PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(BENCH)]))
    Path(env["HOTLINE_DATA_DIR"]).mkdir(parents=True, exist_ok=True)
    log(f"load average {os.getloadavg()}; sizes {sizes.row()}")
    if not args.skip_load:
        log(f"resetting {args.db}; hotline migrate")
        reset_database(args.db)
        subprocess.run([str(VENV_BIN / "hotline"), "migrate", "--verbosity", "0"], env=env, check=True, cwd=ROOT)
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE", "HOTLINE_LOG_LEVEL",
                                           "HOTLINE_DATA_DIR")})
    import django

    django.setup()
    from django.utils import timezone

    results: dict = {"kind": "quick" if args.quick else "full", "args": vars(args), "sizes": sizes.row(),
                     "machine": machine_info(), "load_avg_start": [round(x, 2) for x in os.getloadavg()]}
    now = timezone.now()
    if args.skip_load:
        c = load_county()
    else:
        c, results["load"] = phase_load(sizes, args, now)
    results["data"] = data_counts()
    log(f"data: {json.dumps(results['data'], ensure_ascii=False)}")
    phases = set(args.phases.split(","))
    if "intake" in phases:
        results["intake"] = phase_intake(c, sizes, args, env, stamp)
    if "fanout" in phases:
        results["fan_out"] = phase_fan_out(c, args, env)
    results["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]
    path = BENCH / "results" / f"intake-{results['kind']}-{stamp}.json"
    path.write_text(json.dumps(results, indent=2, ensure_ascii=False, default=str) + "\n")
    print()
    print(table(results))
    print(f"\nload average at the start {results['load_avg_start']}, at the end {results['load_avg_end']}; "
          f"raw results: {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
