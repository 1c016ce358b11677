"""Periodic tasks: registered by the apps, run by every worker, each slot
once per tick through a lease row in the database."""

import ast
import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from hotline.core import outbox, periodic
from hotline.core.models import OutboxMessage, PeriodicTaskRun

RUNS: list = []


def _probe(ctx):
    RUNS.append((ctx.task.name, ctx.slot, ctx.started_at))
    return ctx.options.get("delay")


@pytest.fixture
def probe():
    RUNS.clear()
    task = periodic.register("test.probe", interval=10, func=_probe, lease_seconds=60)
    yield task
    periodic.unregister("test.probe")


# --- the lease row ----------------------------------------------------------------

@pytest.mark.django_db
def test_a_task_runs_once_per_tick_whoever_asks(probe, frozen):
    t0 = frozen()
    assert periodic.run_once(probe, owner="worker-a") == (True, None)
    assert periodic.run_once(probe, owner="worker-b") == (False, None)  # same tick
    frozen.advance(seconds=9.9)
    assert periodic.run_once(probe, owner="worker-b")[0] is False
    frozen.advance(seconds=0.1)
    assert periodic.run_once(probe, owner="worker-b")[0] is True
    assert [r[2] for r in RUNS] == [t0, t0 + dt.timedelta(seconds=10)]
    row = PeriodicTaskRun.objects.get(name="test.probe")
    assert row.runs == 2 and row.lease_until is None and row.owner == "worker-b"
    assert row.next_run_at == t0 + dt.timedelta(seconds=20) and row.last_finished_at == frozen()


@pytest.mark.django_db
def test_a_claim_is_exclusive_until_its_lease_lapses_and_a_late_finish_is_ignored(probe, frozen):
    c = periodic.claim(probe, owner="worker-a")  # …and worker a dies
    assert c is not None
    frozen.advance(seconds=30)
    assert periodic.claim(probe, owner="worker-b") is None
    frozen.advance(seconds=31)
    taken = periodic.claim(probe, owner="worker-b")
    assert taken is not None and taken.run == c.run + 1
    periodic.finish(c, delay=None, error="too late")  # worker a wakes up
    row = PeriodicTaskRun.objects.get(name="test.probe")
    assert row.owner == "worker-b" and row.lease_until is not None and row.last_error == ""
    periodic.finish(taken, delay=None)
    assert PeriodicTaskRun.objects.get(name="test.probe").lease_until is None


@pytest.mark.django_db
def test_a_task_asks_to_run_again_at_once_or_later(probe, frozen):
    assert periodic.run_once(probe, owner="w", options={"delay": 0}) == (True, 0.0)
    assert periodic.run_once(probe, owner="w", options={"delay": 3}) == (True, 3.0)  # more work: at once
    assert periodic.run_once(probe, owner="w")[0] is False
    frozen.advance(seconds=3)
    assert periodic.run_once(probe, owner="w")[0] is True
    assert periodic.seconds_until_due(probe) == pytest.approx(10)


@pytest.mark.django_db
def test_a_failing_task_keeps_its_error_and_runs_next_tick(frozen):
    def broken(ctx):
        raise RuntimeError("report server away")

    task = periodic.register("test.broken", interval=5, func=broken)
    try:
        assert periodic.run_once(task, owner="w") == (True, None)
        row = PeriodicTaskRun.objects.get(name="test.broken")
        assert "report server away" in row.last_error and row.lease_until is None
        assert row.next_run_at == frozen() + dt.timedelta(seconds=5)
    finally:
        periodic.unregister("test.broken")


@pytest.mark.django_db
def test_a_task_with_slots_runs_in_that_many_workers_at_once(frozen):
    task = periodic.register("test.slots", interval=1, func=_probe, concurrency=2)
    try:
        a, b = periodic.claim(task, owner="a"), periodic.claim(task, owner="b")
        assert a is not None and b is not None and {a.slot, b.slot} == {0, 1}
        assert periodic.claim(task, owner="c") is None
        periodic.finish(a, delay=None)
        assert periodic.claim(task, owner="c") is None  # slot 0 ran this tick
        frozen.advance(seconds=1)
        assert periodic.claim(task, owner="c").slot == a.slot
        assert PeriodicTaskRun.objects.filter(name="test.slots").count() == 2
    finally:
        periodic.unregister("test.slots")


@pytest.mark.django_db
def test_force_runs_a_task_that_is_not_due_but_never_one_that_is_leased(probe, frozen):
    assert periodic.run_once(probe, owner="w")[0]
    assert periodic.run_once(probe, owner="w", force=True)[0]
    c = periodic.claim(probe, owner="a", force=True)
    assert c is not None and periodic.claim(probe, owner="b", force=True) is None


# --- who registers what -----------------------------------------------------------

def test_the_apps_register_their_tasks_and_core_names_no_domain_app():
    names = {t.name for t in periodic.tasks()}
    assert {"sweep", "outbox"} <= names
    assert periodic.get("sweep").func.__module__ == "hotline.timelimits.apps"
    with pytest.raises(LookupError):
        periodic.get("nope")
    # core is the ground floor: none of its modules imports another app.
    from django.apps import apps

    others = {a.name for a in apps.get_app_configs() if a.name.startswith("hotline.") and a.name != "hotline.core"}
    core = Path(__file__).resolve().parents[1]
    for path in core.rglob("*.py"):
        if "tests" in path.parts or "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                app = ".".join(node.module.split(".")[:2])
                assert app not in others, f"{path.name} imports {node.module}"


@pytest.mark.django_db
def test_the_sweep_runs_again_at_once_while_batches_come_back_full(world, frozen):
    from hotline.timelimits.apps import sweep_task
    from hotline.workorders import services

    for i in range(3):
        services.create_order(actor=world.agent, intake=services.Intake(
            business_type="repair", sub_class="lv", description=f"停电 {i}", customer_id=world.customers["zhang"].id,
            fault_scope="company"))
    frozen.advance(hours=6)  # every clock long due
    ctx = periodic.TaskContext(task=periodic.get("sweep"), slot=0, started_at=frozen(),
                               options={"batch": 2, "interval": 2.0, "min_gap": 0.5})
    assert sweep_task(ctx) == 0.0
    delays = [sweep_task(ctx) for _ in range(20)]
    assert 0.5 <= delays[-1] <= 2.0


def test_only_names_registered_tasks():
    with pytest.raises(CommandError) as err:
        call_command("worker", "--only", "nope")
    assert "sweep" in str(err.value) and "outbox" in str(err.value)


@pytest.mark.django_db
def test_worker_once_delivers_the_outbox(settings, tmp_path):
    settings.HOTLINE_OUTBOX_ENV = {"HOTLINE_OUTBOX_THREADS": "1", "HOTLINE_OUTBOX_FILE": str(tmp_path / "o.jsonl")}
    outbox.enqueue_many([{"channel": "file", "recipient": "demo", "payload": {}, "dedup_key": f"once-{i}"}
                         for i in range(120)])
    call_command("worker", "--once", "--only", "outbox", stdout=open(os.devnull, "w"))
    assert OutboxMessage.objects.filter(state="sent").count() == 120
    assert len((tmp_path / "o.jsonl").read_text().splitlines()) == 120


# --- two worker processes (PostgreSQL) --------------------------------------------

PROBE = r'''
import os, time
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hotline.settings")
import django
django.setup()
from hotline.core import periodic

def probe(ctx):
    began = time.time()
    time.sleep(0.05)
    with open(os.environ["PROBE_FILE"], "a") as f:
        f.write(f"{os.getpid()} {ctx.slot} {ctx.started_at.timestamp():.6f} {began:.6f} {time.time():.6f}\n")

periodic.register("probe", interval=float(os.environ["PROBE_INTERVAL"]), func=probe, lease_seconds=5)
from django.core.management import call_command
call_command("worker", "--only", "probe", "--max-seconds", "90")
'''


def _db_url() -> str:
    s = connection.settings_dict
    auth = s.get("USER") or "postgres"
    if s.get("PASSWORD"):
        auth += f":{s['PASSWORD']}"
    return f"postgres://{auth}@{s.get('HOST') or '127.0.0.1'}:{s.get('PORT') or 5432}/{s['NAME']}"


@pytest.mark.postgres
@pytest.mark.rule("N3e")
def test_two_worker_processes_run_a_task_once_per_tick(transactional_db, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("multi-process periodic test needs PostgreSQL (CI runs it)")
    interval = 0.5
    runs_file = tmp_path / "runs.txt"
    env = dict(os.environ, DATABASE_URL=_db_url(), PROBE_FILE=str(runs_file), PROBE_INTERVAL=str(interval))
    procs = [subprocess.Popen([sys.executable, "-c", PROBE], env=env, stdout=open(tmp_path / f"w{i}.log", "w"),
                              stderr=subprocess.STDOUT) for i in range(2)]
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (not runs_file.exists() or len(runs_file.read_text().splitlines()) < 8):
            time.sleep(0.2)
        time.sleep(2)  # both are surely up by now
        procs[0].send_signal(signal.SIGKILL)
        killed_at = time.time()
        procs[0].wait(10)
        # The survivor takes over at once, or — when the kill fell inside a
        # run — once the killed worker's 5 s lease lapses: wait for that.
        deadline = time.monotonic() + 5 + 10
        while time.monotonic() < deadline and not [  # (a line being written has fewer fields)
                f for f in map(str.split, runs_file.read_text().splitlines()) if len(f) == 5 and float(f[3]) > killed_at + 0.1]:
            time.sleep(0.2)
        time.sleep(1.5)
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(15)
                except subprocess.TimeoutExpired:
                    p.kill()
    runs = sorted((float(tick), int(pid), float(began), float(ended))
                  for pid, _slot, tick, began, ended in (line.split() for line in runs_file.read_text().splitlines()))
    assert len(runs) >= 12, (tmp_path / "w0.log").read_text()
    ticks = [r[0] for r in runs]
    gaps = [b - a for a, b in zip(ticks, ticks[1:], strict=False)]
    # Once per tick: two runs never start within one interval…
    assert min(gaps) >= interval - 1e-3, gaps
    # …nor overlap; and no tick is skipped while a worker is alive.
    assert all(later[2] >= earlier[3] for earlier, later in zip(runs, runs[1:], strict=False))
    assert max(gaps) < interval + 1.5 + 5, gaps  # at worst the killed worker's lease
    survivor = procs[1].pid
    after = [r for r in runs if r[2] > killed_at + 0.1]
    assert after and {r[1] for r in after} == {survivor}


@pytest.mark.django_db
def test_one_round_of_every_due_task_outside_a_worker(probe, frozen):
    from hotline.core.tasks import run_periodic_tasks

    assert run_periodic_tasks(only=["test.probe"], options={"delay": 0}) == {"test.probe": 0.0}
    assert run_periodic_tasks(only=["test.probe"]) == {"test.probe": None}
    assert run_periodic_tasks(only=["test.probe"]) == {}  # not due again this tick
