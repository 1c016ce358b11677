#!/usr/bin/env python
"""Issue-11 benchmark: the shift-leader board at 5,000 open orders and 1,000
open supervision notices, and the order search on a large table.

    .venv/bin/python bench/board_bench.py                       # PostgreSQL, 200,000 orders
    .venv/bin/python bench/board_bench.py --orders 1000000      # the issue's size
    .venv/bin/python bench/board_bench.py --db-url sqlite:////tmp/board.sqlite3 --orders 50000

A fresh database (dropped and migrated), the test county of
``hotline.testing.build_world``, a few orders made through the services as
templates, then copied set-wise (bulk inserts): ``--orders`` orders in all,
``--open`` of them open with running clocks (a share past the limit, the
rest warned), ``--notices`` open supervision notices on them. Every page is
rendered through Django's test client as the leader/agent (the real views,
templates and queries), ``--reps`` times; the script prints p50/p95/p99 and
the number of queries per page, and, on PostgreSQL, the plans and times of
a phone-tail search on the generated tail column against ``LIKE '%1234'``,
and of an address fragment with and without the trigram index.
Timings are printed, never asserted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

STREETS = ["南街", "北街", "东路", "西路", "中山路", "人民路", "解放路", "新华路", "建设路", "和平路"]
TOWNS = ["城关镇", "东山乡", "西岭乡"]


def setup(db_url: str) -> None:
    os.environ["DATABASE_URL"] = db_url
    os.environ.setdefault("HOTLINE_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hotline.settings")
    if db_url.startswith("postgres"):
        import psycopg

        base, name = db_url.rsplit("/", 1)
        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
    elif db_url.startswith("sqlite:///"):
        Path(db_url[len("sqlite:///"):]).unlink(missing_ok=True)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)


def load(args) -> dict:
    from django.db import transaction
    from django.utils import timezone

    from hotline.organisation.models import Customer, CustomerPhone
    from hotline.testing import build_world
    from hotline.timelimits.models import Clock, ClockStatus, Notice, NoticeKind
    from hotline.workorders import services
    from hotline.workorders.models import State, WorkOrder

    rnd = random.Random(11)
    world = build_world("b")
    t0 = time.monotonic()
    # Customers: one per 20 orders, each with a phone.
    n_customers = max(100, args.orders // 20)
    areas = [world.areas[k] for k in ("t0", "v1", "v2")]
    customers = [Customer(account_number=f"B{i:08d}", name=rnd.choice("张王李赵刘陈杨黄") + rnd.choice("伟芳娜敏静磊强军洋勇"),
                          address=f"{TOWNS[i % 3]}{rnd.choice(STREETS)}{rnd.randint(1, 300)}号", service_area=areas[i % 3])
                 for i in range(n_customers)]
    Customer.objects.bulk_create(customers, batch_size=5000)
    customers = list(Customer.objects.filter(account_number__startswith="B").values_list("id", "name", "address"))
    CustomerPhone.objects.bulk_create([CustomerPhone(customer_id=c[0], number=f"13{rnd.randint(0, 999999999):09d}")
                                       for c in customers], batch_size=5000)
    print(f"customers {len(customers):,} in {time.monotonic() - t0:.1f} s", flush=True)

    # Templates through the services: one open repair per station.
    templates = []
    for area in ("城关镇南街社区12号", "东山乡桃园村3组", "西岭乡高山村"):
        templates.append(services.create_order(actor=world.agent, intake=services.Intake(
            business_type="repair", sub_class="lv", description="停电", caller_phone="13800000000", fault_scope="company",
            address=area)))
    tpl_clocks = {o.pk: list(Clock.objects.filter(order=o, status=ClockStatus.RUNNING)) for o in templates}
    skip = {"id", "number", "caller_phone_tail"}
    fields = [f.attname for f in WorkOrder._meta.concrete_fields if f.attname not in skip and not getattr(f, "generated", False)]
    now = timezone.now()
    n_open = min(args.open, args.orders)
    t0 = time.monotonic()
    batch: list[WorkOrder] = []
    made = 0
    with transaction.atomic():
        for i in range(args.orders):
            tpl = templates[i % len(templates)]
            row = {f: getattr(tpl, f) for f in fields}
            cid, name, address = customers[rnd.randrange(len(customers))]
            is_open = i >= args.orders - n_open
            created = now - (dt.timedelta(minutes=rnd.randint(1, 600)) if is_open else dt.timedelta(days=rnd.uniform(1, 365)))
            row.update(customer_id=cid, caller_name=name, address=address, caller_phone=f"13{rnd.randint(0, 999999999):09d}",
                       created_at=created, updated_at=created)
            if not is_open:
                row.update(state=State.CLOSED, closed_at=created + dt.timedelta(hours=5))
            batch.append(WorkOrder(number=f"BN{i:010d}", **row))
            if len(batch) == 10000:
                WorkOrder.objects.bulk_create(batch)
                made += len(batch)
                batch = []
                print(f"  orders {made:,}", flush=True)
        WorkOrder.objects.bulk_create(batch)
    print(f"orders {args.orders:,} in {time.monotonic() - t0:.1f} s", flush=True)

    # Clocks of the open orders: 30 % past the limit, the rest warned.
    t0 = time.monotonic()
    open_orders = list(WorkOrder.objects.filter(number__startswith="BN", state__in=[State.DISPATCHED])
                       .order_by("-id").values_list("id", "service_area_id")[:n_open])
    tpl_by_area = {t.service_area_id: tpl_clocks[t.pk] for t in templates}
    clocks = []
    for k, (oid, area_id) in enumerate(open_orders):
        for c in tpl_by_area.get(area_id) or tpl_clocks[templates[0].pk]:
            late = k % 10 < 3
            due = now - dt.timedelta(minutes=rnd.randint(1, 3000)) if late else now + dt.timedelta(minutes=rnd.randint(1, 30))
            clocks.append(Clock(subject_type=c.subject_type, subject_id=oid, order_id=oid, metric=c.metric, round=0, rule_id=c.rule_id,
                                responsible_unit_id=c.responsible_unit_id, started_at=due - dt.timedelta(hours=3),
                                warn_at=due - dt.timedelta(hours=1), due_at=due, escalation_seconds=c.escalation_seconds,
                                escalation_levels=c.escalation_levels, status=ClockStatus.RUNNING, stage=2 if late else 1,
                                next_check_at=None))
    Clock.objects.bulk_create(clocks, batch_size=5000)
    late_clocks = list(Clock.objects.filter(order__number__startswith="BN", due_at__lt=now)
                       .values_list("id", "order_id", "metric", "responsible_unit_id", "due_at")[:args.notices])
    Notice.objects.bulk_create([
        Notice(clock_id=cid, subject_type="work_order", subject_id=oid, order_id=oid, kind=NoticeKind.SUPERVISION, level=1 + (k % 3 == 0),
               metric=metric, unit_id=unit, supervisor_unit_id=world.county.pk, due_at=due, created_at=due)
        for k, (cid, oid, metric, unit, due) in enumerate(late_clocks)], batch_size=5000)
    print(f"clocks {len(clocks):,}, notices {len(late_clocks):,} in {time.monotonic() - t0:.1f} s", flush=True)
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("ANALYZE")
    return {"world": world, "phone": WorkOrder.objects.filter(number__startswith="BN").values_list("caller_phone", flat=True).last()}


def timed(client, url: str, reps: int) -> tuple[list[float], int, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url)  # warm
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - t) * 1000)
    with CaptureQueriesContext(connection) as q:
        response = client.get(url)
    return times, len(q.captured_queries), response.status_code


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def explain(sql: str, params: list) -> str:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("EXPLAIN (ANALYZE, BUFFERS OFF, SUMMARY ON) " + sql, params)
        lines = [r[0] for r in cur.fetchall()]
    return f"{lines[0].strip()} … {lines[-1].strip()}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db-url", default="postgres://postgres@127.0.0.1:5432/hotline_board_bench")
    ap.add_argument("--orders", type=int, default=200_000)
    ap.add_argument("--open", type=int, default=5_000)
    ap.add_argument("--notices", type=int, default=1_000)
    ap.add_argument("--reps", type=int, default=30)
    args = ap.parse_args()
    setup(args.db_url)
    data = load(args)
    world = data["world"]
    from django.db import connection
    from django.test import Client

    leader, agent = Client(), Client()
    leader.force_login(world.leader)
    agent.force_login(world.agent)
    tail = (data["phone"] or "13800001234")[-4:]
    pages = [
        ("board", leader, "/board/"),
        ("board, past the limit by unit", leader, "/board/?tone=overdue&sort=unit"),
        ("board, htmx poll", leader, "/board/"),
        ("board, notices page 10", leader, "/board/?npage=10"),
        ("search, open orders (landing)", leader, "/orders/search/"),
        (f"search, phone tail {tail}", agent, f"/orders/search/?phone={tail}&state="),
        ("search, address fragment 中山路2", agent, "/orders/search/?address=中山路2&state="),
        ("search, type+state+dates", agent, "/orders/search/?business_type=repair&state=closed&created_from=2026-01-01"),
        ("search, past a limit, nearest first", leader, "/orders/search/?overdue=yes&sort=due"),
        ("intake customer lookup by tail", agent, f"/intake/customers/?q={tail}"),
    ]
    print(f"\n{connection.vendor}, {args.orders:,} orders, {args.open:,} open, {args.notices:,} notices, {args.reps} reps")
    print(f"{'page':42} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'queries':>8}")
    for label, client, url in pages:
        extra = {"HTTP_HX_REQUEST": "true"} if "htmx" in label else {}
        if extra:
            client.defaults.update(extra)
        times, queries, status = timed(client, url, args.reps)
        client.defaults.pop("HTTP_HX_REQUEST", None)
        assert status == 200, (url, status)
        print(f"{label:42} {statistics.median(times):8.1f} {pct(times, 95):8.1f} {pct(times, 99):8.1f} {queries:8d}")
    if connection.vendor == "postgresql":
        print("\nPhone tail on PostgreSQL (plans):")
        print("  tail column :", explain("SELECT id FROM workorders_workorder WHERE caller_phone_tail = %s AND caller_phone LIKE %s",
                                         [tail, f"%{tail}"]))
        print("  LIKE '%tail':", explain("SELECT id FROM workorders_workorder WHERE caller_phone LIKE %s", [f"%{tail}"]))
        print("Address fragment:")
        print("  trigram     :", explain("SELECT id FROM workorders_workorder WHERE address LIKE %s", ["%中山路2%"]))
        with connection.cursor() as cur:
            cur.execute("SET enable_bitmapscan = off")
        print("  no index    :", explain("SELECT id FROM workorders_workorder WHERE address LIKE %s", ["%中山路2%"]))


if __name__ == "__main__":
    main()
