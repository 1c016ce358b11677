"""Ordering keys of the outbox: messages that share one are delivered one at
a time in the order they were written, with any number of workers and
sender threads; older ones failed for good or discarded no longer hold the
key. Against real parts: a local HTTP receiver, real worker processes and
concurrent claims on PostgreSQL (each on its own connection)."""

import random
import threading
import time

import pytest
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse

from hotline.core import outbox
from hotline.core.channels.base import Result
from hotline.core.models import OutboxMessage, OutboxState
from hotline.core.outbox.delivery import Outcome
from hotline.core.tests.receivers import HttpReceiver
from hotline.core.tests.workers import logs, outbox_workers
from hotline.testing import PASSWORD


@pytest.fixture
def env(settings, tmp_path):
    env = {"HOTLINE_OUTBOX_FILE": str(tmp_path / "outbox.jsonl"), "HOTLINE_OUTBOX_BACKOFF": "10",
           "HOTLINE_OUTBOX_MAX_ATTEMPTS": "3", "HOTLINE_OUTBOX_LEASE": "30", "HOTLINE_WEBHOOK_TIMEOUT": "2"}
    settings.HOTLINE_OUTBOX_ENV = env
    return env


def _hook(url, key, order_key=None, **payload):
    return outbox.enqueue(channel="webhook", recipient=url, payload=payload, dedup_key=key, order_key=order_key)


def _file(key, order_key=None):
    return outbox.enqueue(channel="file", recipient="demo", payload={}, dedup_key=key, order_key=order_key)


def _arrivals(receiver) -> list[str]:
    return [r["key"] for r in receiver.requests]


def _state(key) -> str:
    return OutboxMessage.objects.get(dedup_key=key).state


# --- the claim ---------------------------------------------------------------------

@pytest.mark.django_db
@pytest.mark.rule("N3c")
def test_a_keys_messages_are_claimed_one_at_a_time_oldest_first(env, frozen):
    a = [_file(f"a{i}", "agent:1") for i in range(3)]
    b = _file("b0", "agent:2")
    plain = _file("plain")
    claimed, _ = outbox.claim(batch=10)
    # One of each key, and every message without a key.
    assert sorted(c.dedup_key for c in claimed) == ["a0", "b0", "plain"]
    assert outbox.claim(batch=10)[0] == [] and not outbox.due_exists()  # a1 waits for a0, in flight
    by_key = {c.dedup_key: c for c in claimed}
    outbox.record([Outcome(by_key["a0"], Result.sent()), Outcome(by_key["b0"], Result.sent()),
                   Outcome(by_key["plain"], Result.sent())])
    assert [c.dedup_key for c in outbox.claim(batch=10)[0]] == ["a1"]
    assert a[2].order_key == "agent:1" and b.order_key == "agent:2" and plain.order_key is None


@pytest.mark.django_db
def test_an_ordering_key_is_checked_and_a_fan_out_keeps_the_order_given(env):
    for n, bad in enumerate(["", " ", "k" * 201, "two\nlines", 7]):
        with pytest.raises(outbox.OutboxError) as err:
            _file(f"bad-{n}", bad)
        assert err.value.field == "order_key"
    n = 1200  # above the COPY threshold on PostgreSQL: keyed rows still go in the order given
    order = list(range(n))
    random.Random(3).shuffle(order)
    assert outbox.enqueue_many([{"channel": "file", "recipient": "r", "payload": {}, "dedup_key": f"fan:{i}",
                                 "order_key": f"k{i % 7}"} for i in order]) == n
    ids = dict(OutboxMessage.objects.values_list("dedup_key", "id"))
    assert [ids[f"fan:{i}"] for i in order] == sorted(ids.values())


# --- failures ------------------------------------------------------------------------

@pytest.mark.django_db
@pytest.mark.rule("N3c")
def test_a_transient_failure_holds_the_keys_later_messages_until_it_succeeds(env, frozen):
    with HttpReceiver(fail_keys={"a0": [503, 503]}) as receiver:
        for i in range(3):
            _hook(receiver.url, f"a{i}", "agent:1", i=i)
            _hook(receiver.url, f"b{i}", "agent:2", i=i)
        outbox.deliver(threads=1)
        # b's go in order; a0 waits for its retry and a1, a2 behind it, untried.
        assert _arrivals(receiver) == ["a0", "b0", "b1", "b2"]
        assert [_state(k) for k in ("a0", "a1", "a2")] == ["pending"] * 3
        a0 = OutboxMessage.objects.get(dedup_key="a0")
        assert a0.attempts == 1 and OutboxMessage.objects.get(dedup_key="a1").attempts == 0
        frozen.set(a0.next_attempt_at)
        outbox.deliver(threads=1)
        assert _arrivals(receiver)[4:] == ["a0"] and _state("a1") == "pending"  # failed again
        a0.refresh_from_db()
        frozen.set(a0.next_attempt_at)
        outbox.deliver(threads=1)  # a0 goes, then a1 and a2 at once
        assert _arrivals(receiver)[5:] == ["a0", "a1", "a2"]
    assert list(receiver.processed) == ["b0", "b1", "b2", "a0", "a1", "a2"]
    assert set(OutboxMessage.objects.values_list("state", flat=True)) == {"sent"}


@pytest.mark.django_db
@pytest.mark.rule("N3c")
def test_a_message_failed_for_good_or_discarded_no_longer_holds_its_key(env, frozen, world):
    # A refusal, the last allowed attempt, a discard by hand: the key's next messages go.
    with HttpReceiver(fail_keys={"a0": [410], "b0": [503, 503, 503], "c0": [503]}) as receiver:
        for k in "abc":
            for i in range(2):
                _hook(receiver.url, f"{k}{i}", f"agent:{k}")
        outbox.deliver(threads=1)
        assert _state("a0") == "failed" and _state("a1") == "sent"  # in the same round
        assert _arrivals(receiver).index("a0") < _arrivals(receiver).index("a1")
        assert _state("b1") == _state("c1") == "pending"
        outbox.discard([OutboxMessage.objects.get(dedup_key="c0")], actor=world.admin)
        for _ in range(3):
            b0 = OutboxMessage.objects.get(dedup_key="b0")
            if b0.next_attempt_at:
                frozen.set(b0.next_attempt_at)
            outbox.deliver(threads=1)
        assert _state("b0") == "failed" and "3" in OutboxMessage.objects.get(dedup_key="b0").last_error
        assert [_state(k) for k in ("b1", "c0", "c1")] == ["sent", "discarded", "sent"]
        assert _arrivals(receiver).count("b0") == 3 and _arrivals(receiver).index("b1") > max(
            i for i, k in enumerate(_arrivals(receiver)) if k == "b0")
        # Retried by hand, a failed message is the head of its key again: a later one waits for it.
        outbox.retry([OutboxMessage.objects.get(dedup_key="a0")], actor=world.admin)
        _hook(receiver.url, "a2", "agent:a")
        outbox.deliver(threads=1)
        assert _arrivals(receiver)[-2:] == ["a0", "a2"]
    assert [_state(k) for k in ("a0", "a2")] == ["sent", "sent"]


@pytest.mark.django_db
def test_hurrying_makes_the_older_messages_of_a_key_that_wait_for_a_retry_due_now(env, frozen):
    with HttpReceiver(fail_keys={"a0": [503]}) as receiver:
        _hook(receiver.url, "a0", "agent:1")
        outbox.deliver(threads=1)
        later = _hook(receiver.url, "a1", "agent:1")
        assert outbox.hurry_older(order_key="agent:1", before=later.pk, detail="a later one waits") == 1
        outbox.deliver(threads=1)  # no clock moved
        assert _arrivals(receiver) == ["a0", "a0", "a1"]
    step = OutboxMessage.objects.get(dedup_key="a0").events.get(from_state="pending", to_state="pending")
    assert step.detail == "a later one waits" and step.actor is None


# --- the admin ------------------------------------------------------------------------

@pytest.mark.django_db
def test_the_admin_shows_the_key_and_why_a_message_waits(env, frozen, world):
    with HttpReceiver(fail_keys={"a0": [503]}) as receiver:
        first = _hook(receiver.url, "a0", "switch:1:SIP/1001")
        waiting = _hook(receiver.url, "a1", "switch:1:SIP/1001")
        outbox.deliver(threads=1)
    c = Client()
    assert c.login(username=world.admin.username, password=PASSWORD)
    url = reverse("admin:core_outboxmessage_changelist")
    page = c.get(url).content.decode()
    reason = f"等待同一顺序键的第 {first.pk} 号消息（失败 1 次，等待重试）"
    assert "switch:1:SIP/1001" in page and reason in page
    assert c.get(url, {"q": "switch:1:SIP/1001"}).context["cl"].result_count == 2
    detail = c.get(reverse("admin:core_outboxmessage_change", args=[waiting.pk])).content.decode()
    assert "顺序键" in detail and reason in detail
    # The head itself waits for nothing.
    head = c.get(reverse("admin:core_outboxmessage_change", args=[first.pk])).content.decode()
    assert "等待同一顺序键" not in head


# --- concurrent claims and enqueues (PostgreSQL) ---------------------------------------

def _pg():
    if connection.vendor != "postgresql":
        pytest.skip("row locks and SKIP LOCKED between connections: PostgreSQL")


def _in_thread(func, *args):
    """Run ``func`` in a thread of its own (its own database connection)."""
    out = {}

    def run():
        try:
            out["value"] = func(*args)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            out["error"] = exc
        finally:
            connection.close()
    thread = threading.Thread(target=run)
    thread.start()
    return thread, out


@pytest.mark.postgres
@pytest.mark.rule("N2b")
def test_a_claim_that_skips_a_locked_head_does_not_take_the_next_message_of_its_key(env, transactional_db):
    _pg()
    for i in range(3):
        _file(f"a{i}", "agent:1")
    _file("plain")
    locked, release = threading.Event(), threading.Event()

    def first_claimer():
        # Its claim's row locks held, uncommitted: as a claimer caught mid-claim.
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SELECT id FROM core_outboxmessage WHERE dedup_key = 'a0' FOR UPDATE")
            locked.set()
            release.wait(30)

    thread, out = _in_thread(first_claimer)
    assert locked.wait(30)
    try:
        # a0 is skipped (locked), and a1 is not taken in its place.
        claimed, _ = outbox.claim(batch=10)
        assert [c.dedup_key for c in claimed] == ["plain"]
    finally:
        release.set()
        thread.join(30)
    assert "error" not in out
    assert [c.dedup_key for c in outbox.claim(batch=10)[0]] == ["a0"]


@pytest.mark.postgres
@pytest.mark.rule("N2b")
def test_enqueues_of_one_key_take_turns_so_its_ids_follow_commit_order(env, transactional_db):
    _pg()
    inside, commit = threading.Event(), threading.Event()

    def slow_writer():
        with transaction.atomic():
            m = _file("first", "agent:1")
            inside.set()
            commit.wait(30)
        return m.pk

    thread, out = _in_thread(slow_writer)
    assert inside.wait(30)
    other_key = _file("other", "agent:2")  # another key does not wait
    second, done = _in_thread(lambda: _file("second", "agent:1").pk)
    time.sleep(0.5)
    assert second.is_alive()  # waits for the first writer's transaction
    commit.set()
    thread.join(30)
    second.join(30)
    assert "error" not in out and "error" not in done
    assert out["value"] < done["value"] and other_key.pk


# --- real workers ----------------------------------------------------------------------

@pytest.mark.postgres
@pytest.mark.rule("N2b", "N3a")
def test_two_workers_deliver_each_keys_messages_in_order_none_lost_none_twice(transactional_db, tmp_path):
    _pg()
    keys, per_key = 10, 20
    rng = random.Random(11)
    # A receiver that takes 0–20 ms to answer: eight senders overlap.
    with HttpReceiver(delay=lambda key: rng.uniform(0, 0.02)) as receiver:
        worker_env = {"HOTLINE_OUTBOX_THREADS": "4", "HOTLINE_OUTBOX_BATCH": "3", "HOTLINE_OUTBOX_INTERVAL": "0.1",
                      "HOTLINE_WEBHOOK_TIMEOUT": "5"}
        with outbox_workers(tmp_path, 2, worker_env):
            time.sleep(2)  # both up and idle before the messages commit
            items = []
            for i in range(per_key):
                for k in range(keys):
                    items.append({"channel": "webhook", "recipient": receiver.url, "payload": {"k": k, "i": i},
                                  "dedup_key": f"ordered:{k}:{i}", "order_key": f"key:{k}"})
                    # The control: the same traffic without keys, in the same workers.
                    items.append({"channel": "webhook", "recipient": receiver.url, "payload": {"k": k, "i": i},
                                  "dedup_key": f"free:{k}:{i}"})
            outbox.enqueue_many(items)
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                if OutboxMessage.objects.filter(state=OutboxState.SENT).count() == len(items):
                    break
                time.sleep(0.2)
        arrivals = _arrivals(receiver)
    assert set(OutboxMessage.objects.values_list("state", flat=True)) == {"sent"}, logs(tmp_path)
    ordered = [a for a in arrivals if a.startswith("ordered:")]
    # None lost, none twice.
    assert len(ordered) == len(set(ordered)) == keys * per_key
    for k in range(keys):
        seen = [int(a.rsplit(":", 1)[1]) for a in ordered if a.startswith(f"ordered:{k}:")]
        assert seen == list(range(per_key)), (k, seen)
    # Both workers sent, and the same traffic without keys did arrive out of
    # order: the test would see a reordering.
    assert all("outbox: " in (tmp_path / f"worker-{i}.log").read_text() for i in range(2)), logs(tmp_path)
    free = [a for a in arrivals if a.startswith("free:")]
    assert any([int(a.rsplit(":", 1)[1]) for a in free if a.startswith(f"free:{k}:")] != list(range(per_key))
               for k in range(keys))
