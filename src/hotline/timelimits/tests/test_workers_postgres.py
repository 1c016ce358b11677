"""Several `hotline worker` processes against one PostgreSQL database."""

import datetime as dt
import os
import signal
import subprocess
import sys
import time

import pytest
from django.db import IntegrityError, connection, transaction

from hotline.core import clock
from hotline.timelimits.models import Clock, ClockStatus, Notice, NoticeKind
from hotline.workorders import services

ORDERS = 300


def _db_url() -> str:
    s = connection.settings_dict
    host = s.get("HOST") or "127.0.0.1"
    port = s.get("PORT") or 5432
    auth = s.get("USER") or "postgres"
    if s.get("PASSWORD"):
        auth += f":{s['PASSWORD']}"
    return f"postgres://{auth}@{host}:{port}/{s['NAME']}"


def _start_worker(tmp_path, name):
    env = dict(os.environ, DATABASE_URL=_db_url(), HOTLINE_LOG_LEVEL="INFO")
    log = open(tmp_path / f"{name}.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "hotline", "worker", "--interval", "0.2", "--batch", "10",
                             "--max-seconds", "90"], env=env, stdout=log, stderr=subprocess.STDOUT)
    return proc, tmp_path / f"{name}.log"


def _expected(now):
    """(clock, kind, level) that must exist at ``now`` for running clocks."""
    out = set()
    for c in Clock.objects.filter(status=ClockStatus.RUNNING):
        if now >= c.warn_at:
            out.add((c.id, "warning", 0))
        for level in range(1, c.escalation_levels + 2):
            at = c.due_at + dt.timedelta(seconds=c.escalation_seconds * (level - 1))
            if now >= at:
                out.add((c.id, "supervision", level))
    return out


@pytest.mark.postgres
def test_two_workers_raise_every_notice_exactly_once_and_survive_a_kill(transactional_db, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("multi-process sweep test needs PostgreSQL (CI runs it)")
    from hotline.testing import build_world

    world = build_world("mw")
    real_now = clock.now()
    # Orders accepted over the last few hours: some clocks are long overdue
    # (catch-up), some fall due while the workers run.
    with clock.frozen(real_now - dt.timedelta(hours=5)) as c:
        for i in range(ORDERS):
            services.create_order(actor=world.agent, intake=services.Intake(
                business_type="repair", sub_class="lv", description=f"停电 {i}", customer_id=world.customers["zhang"].id,
                fault_scope="company"))
            c.advance(seconds=(5 * 3600 - 150) / ORDERS)
    workers = [_start_worker(tmp_path, "w1"), _start_worker(tmp_path, "w2")]
    try:
        # Kill the first worker at an arbitrary moment once it is sweeping.
        until = time.monotonic() + 60  # start-up imports take seconds on a loaded machine
        while "sweep:" not in workers[0][1].read_text() and time.monotonic() < until:
            time.sleep(0.05)
        workers[0][0].send_signal(signal.SIGKILL)
        workers.append(_start_worker(tmp_path, "w3"))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            time.sleep(1.0)
            now = clock.now()
            if _expected(now) <= set(Notice.objects.exclude(kind=NoticeKind.MANUAL).values_list("clock_id", "kind", "level")):
                # Give the live workers one more round to show nothing extra appears.
                time.sleep(1.0)
                break
        check_at = clock.now()
    finally:
        for proc, _ in workers:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc, _ in workers:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
    rows = list(Notice.objects.exclude(kind=NoticeKind.MANUAL).values_list("clock_id", "kind", "level"))
    assert len(rows) == len(set(rows)), "a notice was raised twice"
    before_check = _expected(check_at - dt.timedelta(seconds=2))
    assert before_check <= set(rows), f"{len(before_check - set(rows))} notices missing:\n" + workers[1][1].read_text()[-3000:]
    assert len(rows) > ORDERS * 3
    logs = [path.read_text() for _, path in workers]
    assert "sweep:" in logs[0] and "sweep:" in logs[1], "the two first workers should both have shared the catch-up:\n" + logs[0][-2000:] + "\n----\n" + logs[1][-2000:]


@pytest.mark.django_db
def test_the_database_refuses_a_second_copy_of_a_notice(world, frozen):
    order = services.create_order(actor=world.agent, intake=services.Intake(
        business_type="repair", sub_class="lv", description="停电", customer_id=world.customers["zhang"].id, fault_scope="company"))
    clk = Clock.objects.get(order=order, metric="accept")
    now = clock.now()
    Notice.objects.create(clock=clk, order=order, subject_id=order.id, kind=NoticeKind.SUPERVISION, level=1, due_at=now, created_at=now)
    with pytest.raises(IntegrityError), transaction.atomic():
        Notice.objects.create(clock=clk, order=order, subject_id=order.id, kind=NoticeKind.SUPERVISION, level=1, due_at=now, created_at=now)
    # Manual reminders are not limited.
    Notice.objects.create(clock=clk, order=order, subject_id=order.id, kind=NoticeKind.MANUAL, level=0, due_at=now, created_at=now)
    Notice.objects.create(clock=clk, order=order, subject_id=order.id, kind=NoticeKind.MANUAL, level=0, due_at=now, created_at=now)


@pytest.mark.postgres
def test_transitions_and_sweeps_running_together_never_deadlock(transactional_db):
    """A unit acting on orders while a worker sweeps their clocks: the order
    lock (FOR NO KEY UPDATE) and the notices' foreign keys (KEY SHARE) must
    not wait on each other in a cycle."""
    if connection.vendor != "postgresql":
        pytest.skip("row-lock interplay is PostgreSQL's")
    import threading

    from django.db import connections

    from hotline.testing import build_world
    from hotline.timelimits.services import sweep_once

    world = build_world("dl")
    real_now = clock.now()
    orders = []
    with clock.frozen(real_now - dt.timedelta(minutes=10)):
        for i in range(60):
            orders.append(services.create_order(actor=world.agent, intake=services.Intake(
                business_type="repair", sub_class="lv", description=f"停电 {i}", customer_id=world.customers["zhang"].id,
                fault_scope="company")))
    errors: list[BaseException] = []
    stop = threading.Event()

    def sweeper():
        try:
            while not stop.is_set():
                sweep_once(batch=5)
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            errors.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=sweeper)
    thread.start()
    try:
        station = world.station_users[0]
        for order in orders:
            for action in ("receive", "arrive"):
                services.transition(order=order, action=action, actor=station)
    finally:
        stop.set()
        thread.join(timeout=60)
    assert not errors, errors
    rows = list(Notice.objects.exclude(kind=NoticeKind.MANUAL).values_list("clock_id", "kind", "level"))
    assert len(rows) == len(set(rows))


@pytest.mark.postgres
@pytest.mark.rule("D5c")
def test_answers_to_notices_and_re_dispatches_running_together_never_deadlock(transactional_db):
    """A re-dispatch writes the new holder on the order's notices while it
    holds the order; a unit answering one of those notices writes the order's
    history. Both take the order's lock first (the answer through the lock
    work orders register with the engine), so neither waits on the other in
    a cycle: without that, PostgreSQL broke such cycles by failing one side."""
    if connection.vendor != "postgresql":
        pytest.skip("row-lock interplay is PostgreSQL's")
    import threading

    from django.db import connections

    from hotline.testing import build_world
    from hotline.timelimits.services import answer_notice, sweep_until_idle

    world = build_world("an")
    real_now = clock.now()
    with clock.frozen(real_now - dt.timedelta(minutes=30)):
        orders = [services.create_order(actor=world.agent, intake=services.Intake(
            business_type="repair", sub_class="lv", description=f"停电 {i}", customer_id=world.customers["zhang"].id,
            fault_scope="company")) for i in range(20)]
    sweep_until_idle()  # accept limits long past: supervision notices, levels 1 to 3
    notices = list(Notice.objects.filter(kind=NoticeKind.SUPERVISION, order__in=orders, level=1).order_by("id"))
    assert len(notices) == len(orders)
    errors: list[BaseException] = []
    answered = []

    def answerer():
        try:
            for notice in notices:
                answered.append(answer_notice(notice=notice, user=world.admin, text="已督促处理").pk)
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            errors.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=answerer)
    thread.start()
    try:
        for round_ in range(2):
            for order in orders:
                unit = world.stations[1] if round_ == 0 else world.stations[0]
                services.reassign(order=order.number, actor=world.admin, unit_id=unit.pk, reason="改派")
    finally:
        thread.join(timeout=120)
    assert not errors, errors
    assert len(answered) == len(notices)
    assert set(Notice.objects.filter(order__in=orders).values_list("holder_unit_id", flat=True)) == {world.stations[0].pk}
