"""The durable outbox: enqueueing in the caller's transaction, claiming under
a lease, retries with backoff, and what administrators see and do."""

import datetime as dt
import os
import random
import signal
import subprocess
import sys
import threading
import time

import pytest
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.urls import reverse

from hotline.core import outbox
from hotline.core.models import OutboxEvent, OutboxMessage, OutboxState
from hotline.core.outbox.delivery import Outcome
from hotline.core.channels.base import Result
from hotline.core.tests.receivers import HttpReceiver
from hotline.testing import PASSWORD


@pytest.fixture
def env(settings, tmp_path):
    env = {"HOTLINE_OUTBOX_FILE": str(tmp_path / "outbox.jsonl"), "HOTLINE_OUTBOX_BACKOFF": "10",
           "HOTLINE_OUTBOX_MAX_ATTEMPTS": "3", "HOTLINE_OUTBOX_LEASE": "30", "HOTLINE_WEBHOOK_TIMEOUT": "2"}
    settings.HOTLINE_OUTBOX_ENV = env
    return env


def _file(key, **kw):
    return outbox.enqueue(channel="file", recipient=kw.pop("recipient", "demo"), payload=kw.pop("payload", {}),
                          dedup_key=key, **kw)


# --- enqueue ----------------------------------------------------------------------

@pytest.mark.django_db
@pytest.mark.rule("N3c")
def test_a_key_enqueued_twice_is_one_message(env, frozen):
    first = _file("order:1:created:demo:file", payload={"n": 1}, source="order:1:created")
    again = _file("order:1:created:demo:file", payload={"n": 2})
    assert first.created and not again.created and again.pk == first.pk
    assert again.payload == {"n": 1} and again.source == "order:1:created"
    assert OutboxMessage.objects.count() == 1
    assert first.state == OutboxState.PENDING and first.next_attempt_at == frozen() and first.attempts == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.rule("N3a", "N3c")
def test_a_message_lives_and_dies_with_the_callers_transaction(env):
    with transaction.atomic():
        _file("kept")
    with pytest.raises(RuntimeError), transaction.atomic():
        _file("rolled-back")
        raise RuntimeError("the order could not be saved")
    assert list(OutboxMessage.objects.values_list("dedup_key", flat=True)) == ["kept"]


@pytest.mark.django_db
@pytest.mark.parametrize("n", [3, 1200])  # one INSERT; on PostgreSQL, COPY
def test_fan_out_skips_keys_already_there(env, n):
    _file("fan:0")
    items = [{"channel": "file", "recipient": f"r{i}", "payload": {"i": i, "text": "停电"}, "dedup_key": f"fan:{i}"}
             for i in range(n)]
    items.append(dict(items[-1]))  # the same key twice in one call
    assert outbox.enqueue_many(items, source="outage:9") == n - 1
    assert outbox.enqueue_many(items, source="outage:9") == 0
    assert OutboxMessage.objects.count() == n
    last = OutboxMessage.objects.get(dedup_key=f"fan:{n - 1}")
    assert last.payload == {"i": n - 1, "text": "停电"} and last.source == "outage:9" and last.recipient == f"r{n - 1}"
    assert last.state == OutboxState.PENDING and last.next_attempt_at is not None


@pytest.mark.django_db
def test_what_cannot_be_enqueued_is_refused_naming_the_field(env):
    cases = [
        ({"channel": "pigeon"}, "channel"),
        ({"dedup_key": ""}, "dedup_key"),
        ({"dedup_key": "k" * 201}, "dedup_key"),
        ({"recipient": " "}, "recipient"),
        ({"payload": {"when": object()}}, "payload"),
    ]
    for change, field in cases:
        kwargs = {"channel": "file", "recipient": "demo", "payload": {}, "dedup_key": "k1", **change}
        with pytest.raises(outbox.OutboxError) as err:
            outbox.enqueue(**kwargs)
        assert err.value.field == field
    # Dates and decimals are fine (Django's JSON encoder).
    import decimal

    m = outbox.enqueue(channel="file", recipient="demo", payload={"at": dt.date(2026, 11, 17), "kwh": decimal.Decimal("1.5")},
                       dedup_key="k-dates")
    m.refresh_from_db()
    assert m.payload == {"at": "2026-11-17", "kwh": "1.5"}


@pytest.mark.django_db
def test_the_database_refuses_a_second_row_with_the_same_key(env, frozen):
    _file("unique")
    with pytest.raises(IntegrityError), transaction.atomic():
        OutboxMessage.objects.create(channel="file", recipient="x", dedup_key="unique", created_at=frozen())


# --- backoff, attempts, leases ----------------------------------------------------

def test_backoff_doubles_with_jitter_up_to_the_cap():
    rng = random.Random(5)
    for attempts, full in [(1, 10), (2, 20), (3, 40), (4, 80), (8, 600), (30, 600)]:
        for _ in range(50):
            d = outbox.backoff_seconds(attempts, base=10, cap=600, rng=rng)
            assert full / 2 <= d <= full
    spread = {round(outbox.backoff_seconds(3, base=10, cap=600, rng=rng), 3) for _ in range(20)}
    assert len(spread) > 10  # messages that failed together do not come back together


@pytest.mark.django_db
def test_a_message_failing_every_time_fails_for_good_after_the_last_attempt(env, frozen):
    with HttpReceiver(fail_first=100) as receiver:
        m = outbox.enqueue(channel="webhook", recipient=receiver.url, payload={}, dedup_key="always-503")
        for _ in range(5):
            outbox.deliver(threads=1)
            m.refresh_from_db()
            if m.next_attempt_at:
                frozen.set(m.next_attempt_at)
    assert m.state == OutboxState.FAILED and m.attempts == 3 and "3" in m.last_error and "HTTP 503" in m.last_error
    assert len(receiver.requests) == 3
    waits = [(e.at) for e in m.events.filter(to_state="sending")]
    # Exponential: the second gap is longer than the first.
    assert (waits[2] - waits[1]) > (waits[1] - waits[0])


@pytest.mark.django_db
@pytest.mark.rule("N3a", "N3e")
def test_a_lapsed_lease_is_claimed_again_and_the_old_claims_outcome_is_ignored(env, frozen):
    m = _file("lease-1")
    claimed, _ = outbox.claim(batch=10)  # …and this worker dies mid-send
    assert [c.pk for c in claimed] == [m.pk] and claimed[0].attempts == 1
    m.refresh_from_db()
    assert m.state == OutboxState.SENDING and m.lease_until > frozen()
    assert outbox.claim(batch=10)[0] == []  # still leased
    frozen.set(m.lease_until + dt.timedelta(seconds=1))
    again, _ = outbox.claim(batch=10)
    assert [c.pk for c in again] == [m.pk] and again[0].attempts == 2 and again[0].claims == 2
    # The first worker comes back from the dead: its outcome is fenced off.
    assert outbox.record([Outcome(claimed[0], Result.refused("late"))]) == 0
    assert outbox.record([Outcome(again[0], Result.sent())]) == 1
    m.refresh_from_db()
    assert m.state == OutboxState.SENT and m.last_error == ""
    lapsed = m.events.get(from_state="sending", to_state="sending")
    assert lapsed.attempt == 2 and lapsed.detail == "前一个工作进程的租约已过期"  # the UI speaks Chinese


@pytest.mark.django_db
@pytest.mark.rule("N3e")
def test_a_message_whose_worker_keeps_dying_is_given_up(env, frozen):
    m = _file("poison")
    for _ in range(3):
        assert outbox.claim(batch=10)[0]
        m.refresh_from_db()
        frozen.set(m.lease_until + dt.timedelta(seconds=1))
    assert outbox.claim(batch=10)[0] == []
    m.refresh_from_db()
    assert m.state == OutboxState.FAILED and m.attempts == 3 and "3" in m.last_error


@pytest.mark.django_db
def test_a_stopping_worker_hands_back_what_it_has_not_sent(env, frozen):
    for i in range(4):
        _file(f"stop-{i}")
    claimed, _ = outbox.claim(batch=10)
    outbox.record([Outcome(claimed[0], Result.sent())])
    assert outbox.release(claimed[1:]) == 3
    rows = dict(OutboxMessage.objects.values_list("dedup_key", "state"))
    assert rows == {"stop-0": "sent", "stop-1": "pending", "stop-2": "pending", "stop-3": "pending"}
    assert set(OutboxMessage.objects.filter(state="pending").values_list("attempts", flat=True)) == {0}
    stopping = threading.Event()
    stopping.set()
    r = outbox.deliver_round(batch=10, stopping=stopping)
    assert r.more and r.handled == 0


@pytest.mark.django_db
def test_a_late_receipt_acknowledges_a_sent_message(env):
    m = _file("receipt")
    outbox.deliver(threads=1)
    assert outbox.acknowledge(dedup_key="receipt", ack="DELIVRD")
    assert not outbox.acknowledge(dedup_key="receipt", ack="again")
    m.refresh_from_db()
    assert m.state == OutboxState.ACKNOWLEDGED and m.ack == "DELIVRD" and m.acknowledged_at


@pytest.mark.django_db
def test_messages_of_a_throttled_channel_do_not_hold_up_another(env, frozen):
    env["HOTLINE_FILE_RATE"] = "1"
    for i in range(30):
        _file(f"slow-{i}")
    with HttpReceiver() as receiver:
        hook = outbox.enqueue(channel="webhook", recipient=receiver.url, payload={}, dedup_key="hook-after-backlog")
        outbox.deliver(threads=1, batch=10)
    hook.refresh_from_db()
    assert hook.state == OutboxState.SENT
    assert OutboxMessage.objects.filter(channel="file", state="sent").count() == 1


# --- admin ------------------------------------------------------------------------

@pytest.mark.django_db
@pytest.mark.rule("N3c")
def test_a_permanent_failure_shows_in_the_admin_and_can_be_retried_or_discarded(env, world):
    with HttpReceiver(status=410) as receiver:
        gone = outbox.enqueue(channel="webhook", recipient=receiver.url, payload={}, dedup_key="partner:gone")
        outbox.deliver(threads=1)
    ok = _file("fine")
    outbox.deliver(threads=1)
    c = Client()
    assert c.login(username=world.admin.username, password=PASSWORD)
    url = reverse("admin:core_outboxmessage_changelist")
    page = c.get(url, {"state": "failed"}).content.decode()
    assert receiver.url in page and "HTTP 410" in page
    assert c.get(url, {"state": "failed"}).context["cl"].result_count == 1
    assert c.get(url, {"q": "partner:gone"}).context["cl"].result_count == 1
    assert c.get(url, {"channel": "file"}).context["cl"].result_count == 1
    detail = c.get(reverse("admin:core_outboxmessage_change", args=[gone.pk])).content.decode()
    assert "HTTP 410" in detail and 'name="_save"' not in detail
    # Retry: pending again, attempts from zero, recorded with the admin's name.
    r = c.post(url, {"action": "retry_messages", "_selected_action": [gone.pk, ok.pk]}, follow=True)
    assert r.status_code == 200
    gone.refresh_from_db()
    assert gone.state == OutboxState.PENDING and gone.attempts == 0
    step = gone.events.order_by("-id").first()
    assert (step.from_state, step.to_state, step.actor_id) == ("failed", "pending", world.admin.pk)
    ok.refresh_from_db()
    assert ok.state == OutboxState.SENT  # a sent message is not sent again
    c.post(url, {"action": "discard_messages", "_selected_action": [gone.pk]})
    gone.refresh_from_db()
    assert gone.state == OutboxState.DISCARDED and gone.next_attempt_at is None
    assert gone.events.order_by("-id").first().actor_id == world.admin.pk
    outbox.deliver(threads=1)
    gone.refresh_from_db()
    assert gone.state == OutboxState.DISCARDED
    # Read-only otherwise.
    assert c.get(reverse("admin:core_outboxmessage_add")).status_code == 403
    assert c.post(reverse("admin:core_outboxmessage_delete", args=[gone.pk])).status_code == 403


@pytest.mark.django_db
def test_a_message_discarded_while_sending_keeps_its_discard(env, world):
    m = _file("discard-in-flight")
    claimed, _ = outbox.claim(batch=10)
    outbox.discard([m], actor=world.admin)
    assert outbox.record([Outcome(claimed[0], Result.sent())]) == 0
    m.refresh_from_db()
    assert m.state == OutboxState.DISCARDED


@pytest.mark.django_db
def test_outbox_events_are_append_only_in_postgresql(env):
    if connection.vendor != "postgresql":
        pytest.skip("the trigger is PostgreSQL's")
    _file("history")
    outbox.deliver(threads=1)
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE core_outboxevent SET detail = 'rewritten'")
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM core_outboxevent")
    assert OutboxEvent.objects.count() == 2


# --- a worker killed mid-send (PostgreSQL) ----------------------------------------

def _db_url() -> str:
    s = connection.settings_dict
    auth = s.get("USER") or "postgres"
    if s.get("PASSWORD"):
        auth += f":{s['PASSWORD']}"
    return f"postgres://{auth}@{s.get('HOST') or '127.0.0.1'}:{s.get('PORT') or 5432}/{s['NAME']}"


def _worker(tmp_path, name, extra_env):
    env = dict(os.environ, DATABASE_URL=_db_url(), HOTLINE_LOG_LEVEL="INFO", **extra_env)
    log = open(tmp_path / f"{name}.log", "w")
    return subprocess.Popen([sys.executable, "-m", "hotline", "worker", "--only", "outbox", "--max-seconds", "60"],
                            env=env, stdout=log, stderr=subprocess.STDOUT)


@pytest.mark.postgres
@pytest.mark.rule("N3a", "N3e")
def test_a_worker_killed_mid_send_loses_nothing_and_duplicates_nothing(transactional_db, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("multi-process outbox test needs PostgreSQL (CI runs it)")
    messages = 40
    block = threading.Event()
    with HttpReceiver(block=block) as receiver:
        outbox.enqueue_many([{"channel": "webhook", "recipient": receiver.url, "payload": {"i": i},
                              "dedup_key": f"kill:{i}"} for i in range(messages)])
        worker_env = {"HOTLINE_WEBHOOK_TIMEOUT": "3", "HOTLINE_OUTBOX_LEASE": "1", "HOTLINE_OUTBOX_BATCH": "2",
                      "HOTLINE_OUTBOX_THREADS": "2", "HOTLINE_OUTBOX_INTERVAL": "0.2", "HOTLINE_OUTBOX_BACKOFF": "0.5"}
        first = _worker(tmp_path, "w1", worker_env)
        second = None
        try:
            # The receiver holds the first requests unanswered: the worker is mid-send.
            assert receiver.held.wait(60), (tmp_path / "w1.log").read_text()
            first.send_signal(signal.SIGKILL)
            first.wait(10)
            in_flight = {r["key"] for r in receiver.requests}
            assert in_flight and OutboxMessage.objects.filter(state=OutboxState.SENDING).exists()
            block.set()
            second = _worker(tmp_path, "w2", worker_env)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if OutboxMessage.objects.filter(state=OutboxState.SENT).count() == messages:
                    break
                time.sleep(0.3)
        finally:
            for proc in (first, second):
                if proc is not None and proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
                    try:
                        proc.wait(15)
                    except subprocess.TimeoutExpired:
                        proc.kill()
        states = dict(OutboxMessage.objects.values_list("dedup_key", "state"))
        keys = [r["key"] for r in receiver.requests]
    assert set(states.values()) == {"sent"}, (tmp_path / "w2.log").read_text()
    # No loss: every message reached the receiver; no duplicate: it processed
    # each key once, the in-flight ones sent again under the same key.
    assert set(receiver.processed) == {f"kill:{i}" for i in range(messages)}
    assert len(receiver.processed) == messages
    repeated = {k for k in keys if keys.count(k) > 1}
    assert repeated == in_flight
    for key in in_flight:
        m = OutboxMessage.objects.get(dedup_key=key)
        assert m.attempts == 2 and m.events.filter(from_state="sending", to_state="sending").exists()
