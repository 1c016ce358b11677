"""Sending what the outbox holds.

A sender claims a batch of due messages in one short transaction (``FOR
UPDATE SKIP LOCKED`` on PostgreSQL, SQLite's write lock otherwise): they
become ``sending`` under a lease, and each claim bumps the message's
``claims`` counter. The sends happen after that transaction, outside any
lock; the outcomes are then recorded in a second short transaction, only
where ``claims`` still matches (a sender whose lease lapsed cannot
overwrite a later claim). A worker killed mid-send leaves its messages
``sending``; when the lease lapses they are due again and sent again with
the same idempotency key. So delivery is at least once, and exactly once at
a receiver that honours the key.

Ordering keys: a message with an ``order_key`` is due only while no older
message (a lower id) of its key is ``pending`` or ``sending`` — in backoff,
leased, or not yet tried. Failed for good, discarded, sent or acknowledged
older messages do not hold it: a "not ready" that can never go must not
keep the later "ready" back forever. The condition is part of the claiming
statement's WHERE, read in that statement's snapshot, and the rows it
passes are then locked with SKIP LOCKED. Why no younger message can get
through while an older one of its key is undelivered:

* the older one is visible to the claim: enqueues of one key take turns
  (``services._lock_order_keys``), so a key's ids follow its commit order,
  and a snapshot that holds a message holds every older one of its key;
* visible, it is ``pending`` or ``sending`` in any snapshot taken before it
  settled — it leaves those states only when its outcome is recorded —
  whether or not another claimer holds its row lock: the check reads rows,
  it does not lock them, so SKIP LOCKED never skips an older message out of
  the condition, only the candidate row itself;
* a snapshot older than the settling only blocks more (a row re-checked
  after a concurrent update keeps the statement's snapshot for the check);
* within one statement a key's second message sees its first still
  pending: one message per key per claim.

So a key has at most one message in flight and they go in id order, with
any number of workers and threads. SQLite claims in IMMEDIATE transactions,
one at a time, so the same condition holds there. The limits: a sender
whose lease lapses mid-send may still be sending when the next claim has
delivered the message and its successor (the lease covers every send of a
batch timing out); a message an administrator discards while it is being
sent frees its key at once; and an administrator's retry of an old failed
message puts it at the head of its key again, after younger ones that
went. Cost: each claim probes the key index once per due keyed message,
those held back included (5 µs each), so keys suit short sequences (an
agent's switch commands), not a backlog of many thousands under one key.

Rate limits: a token bucket per rate-limited channel in the database
(``OutboxRate``), refilled for the time passed and debited in the claiming
transaction under the bucket row's lock, so all workers together stay
within the channel's messages per second.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import logging
import math
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from django.db import close_old_connections, connection, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils.translation import gettext as _

from hotline.core import channels, clock
from hotline.core.channels.base import Result
from hotline.core.models import OutboxEvent, OutboxMessage, OutboxRate, OutboxState
from hotline.core.outbox import conf
from hotline.core.outbox.services import ACTIVE, TABLE, backoff_seconds

log = logging.getLogger("hotline.outbox")
_rotation = itertools.count()


def _older_undelivered():
    """An older message of the same ordering key still pending or sending
    (the partial index core_outbox_order_idx answers it)."""
    return Exists(OutboxMessage.objects.filter(order_key__isnull=False, order_key=OuterRef("order_key"),
                                               state__in=ACTIVE, id__lt=OuterRef("id")))


def _due(now: dt.datetime, **filters):
    """Messages that may be sent now: due, and first of their ordering key
    (a message without one is never held: ``order_key IS NULL`` is read first
    and the OR stops there)."""
    return OutboxMessage.objects.filter(Q(order_key__isnull=True) | ~_older_undelivered(), state__in=ACTIVE,
                                        next_attempt_at__lte=now, **filters)


def due_exists(*, now: dt.datetime | None = None) -> bool:
    """A plain read: idle workers look often, and on SQLite a claiming
    transaction would take the write lock every time."""
    return _due(now or clock.now()).exists()


def _refill(bucket: OutboxRate, rate: float, want: int, now: dt.datetime) -> tuple[int, float]:
    """How many of the channel's messages may go now (and, if none, seconds
    until one may). The bucket holds at most one second's worth, so a quiet
    hour does not allow a burst of an hour's messages."""
    capacity = max(1.0, rate)
    elapsed = max(0.0, (now - bucket.refilled_at).total_seconds())
    bucket.tokens = min(capacity, bucket.tokens + elapsed * rate)
    bucket.refilled_at = max(now, bucket.refilled_at)
    grant = min(want, math.floor(bucket.tokens + 1e-9))
    return grant, (0.0 if grant else (1.0 - bucket.tokens) / rate)


def _limits(names: list[str]) -> tuple[dict[str, float], dict[str, float]]:
    rates, timeouts = {}, {}
    for name in names:
        try:
            rates[name], timeouts[name] = channels.get(name).rate(), channels.get(name).timeout()
        except channels.ConfigError:
            rates[name], timeouts[name] = 0.0, 30.0  # its sends fail, giving the reason
    return rates, timeouts


def claim(*, batch: int, now: dt.datetime | None = None) -> tuple[list[Claimed], float | None]:
    """Claim up to ``batch`` due messages, channel by channel (rotating, so a
    backlog on one channel does not starve another). Returns them and, when
    a rate limit held any back, the seconds until it allows one more."""
    cfg = conf.load()
    now = now or clock.now()
    names = channels.names()
    start = next(_rotation) % max(1, len(names))
    names = names[start:] + names[:start]
    due = [n for n in names if _due(now, channel=n).exists()]
    if not due:
        return [], None
    rates, timeouts = _limits(due)
    limited = sorted(n for n in due if rates[n] > 0)
    if limited:
        # Created outside the claim (autocommit), so that two claims never
        # insert the same bucket rows in opposite orders.
        OutboxRate.objects.bulk_create([OutboxRate(channel=n, tokens=max(1.0, rates[n]), refilled_at=now)
                                        for n in limited], ignore_conflicts=True)
    rate_wait: float | None = None
    with transaction.atomic():
        # The buckets of the channels with due messages only, locked in name
        # order: claims of other channels never wait for them.
        buckets = {b.channel: b for b in OutboxRate.objects.select_for_update().filter(channel__in=limited)
                   .order_by("channel")}
        picked: list[tuple[int, str, int]] = []
        timeout = 0.0
        for name in due:
            remaining = batch - len(picked)
            if remaining <= 0:
                break
            bucket = buckets.get(name)
            if bucket is not None:
                remaining, wait = _refill(bucket, rates[name], remaining, now)
                if not remaining:
                    rate_wait = wait if rate_wait is None else min(rate_wait, wait)
                    bucket.save(update_fields=["tokens", "refilled_at"])
                    continue
            # The ordering-key condition is in this statement's WHERE: see the module's docstring.
            qs = _due(now, channel=name).order_by("next_attempt_at", "id")
            if connection.features.has_select_for_update_skip_locked:
                qs = qs.select_for_update(skip_locked=True)
            rows = list(qs.values_list("id", "state", "attempts")[:remaining])
            if bucket is not None:
                bucket.tokens -= len(rows)
                bucket.save(update_fields=["tokens", "refilled_at"])
            if rows:
                timeout = max(timeout, timeouts[name])
                picked.extend(rows)
        if not picked:
            return [], rate_wait
        # A message back from a lapsed lease on its last attempt: its worker
        # died sending it as often as it may be tried. Give up on it.
        exhausted = [(i, a) for i, st, a in picked if st == OutboxState.SENDING and a >= cfg.max_attempts]
        previous = {i: st for i, st, a in picked if not (st == OutboxState.SENDING and a >= cfg.max_attempts)}
        events: list[tuple] = []
        if exhausted:
            error = _("The worker stopped during the last allowed attempt; given up after %(n)d attempts.")
            for i, a in exhausted:
                OutboxMessage.objects.filter(pk=i).update(
                    state=OutboxState.FAILED, next_attempt_at=None, lease_until=None, last_error=error % {"n": a})
                events.append((i, OutboxState.SENDING, OutboxState.FAILED, a, error % {"n": a}))
        messages: list[Claimed] = []
        if previous:
            # The lease covers the whole batch timing out one send after another.
            lease_until = now + dt.timedelta(seconds=cfg.lease + timeout * len(previous))
            messages = _mark_sending(sorted(previous), lease_until)
            lapsed = _("the previous worker's lease lapsed")
            events.extend((m.id, previous[m.id], OutboxState.SENDING, m.attempts,
                           "" if previous[m.id] == OutboxState.PENDING else lapsed) for m in messages)
        write_events(events, at=now)
    return messages, rate_wait


@dataclass
class Claimed:
    """A claimed message, as a transport reads it (``Message``)."""

    id: int
    channel: str
    recipient: str
    payload: object
    dedup_key: str
    source: str
    attempts: int
    claims: int

    @property
    def pk(self) -> int:
        return self.id


def _placeholders(n: int) -> str:
    return ", ".join(["%s"] * n)


def _pg() -> bool:
    # PostgreSQL takes a batch as arrays: a few parameters instead of
    # hundreds, which the driver would otherwise parse out of each statement.
    return connection.vendor == "postgresql"


def _mark_sending(ids: list[int], lease_until: dt.datetime) -> list[Claimed]:
    """One UPDATE … RETURNING (PostgreSQL; SQLite 3.35+) for the whole batch."""
    lease = connection.ops.adapt_datetimefield_value(lease_until)
    where, params = ("id = ANY(%s)", [ids]) if _pg() else (f"id IN ({_placeholders(len(ids))})", ids)
    sql = (f"UPDATE {TABLE} SET state = 'sending', attempts = attempts + 1, claims = claims + 1, "
           f"lease_until = %s, next_attempt_at = %s WHERE {where} "
           "RETURNING id, channel, recipient, CAST(payload AS text), dedup_key, source, attempts, claims")
    with connection.cursor() as cursor:
        cursor.execute(sql, [lease, lease, *params])
        rows = cursor.fetchall()
    return sorted((Claimed(i, ch, r, json.loads(p) if p else None, k, src, a, c) for i, ch, r, p, k, src, a, c in rows),
                  key=lambda m: m.id)


_EVENT_SQL = (f"INSERT INTO {OutboxEvent._meta.db_table} (message_id, at, from_state, to_state, attempt, detail, "
              "actor_id) VALUES ")


def write_events(events: list[tuple], *, at: dt.datetime, actor_id: int | None = None) -> None:
    """Append (message id, from, to, attempt, detail) rows in one statement
    (the ORM's bulk_create would cost more than the rest of a claim)."""
    if not events:
        return
    ts = connection.ops.adapt_datetimefield_value(at)
    with connection.cursor() as cursor:
        if _pg():
            columns = list(zip(*events, strict=True))
            cursor.execute(_EVENT_SQL.replace(" VALUES ", " ") + "SELECT m, %s, f, t, a, d, %s FROM "
                           "unnest(%s::bigint[], %s::text[], %s::text[], %s::int[], %s::text[]) AS x(m, f, t, a, d)",
                           [ts, actor_id, *[list(c) for c in columns]])
            return
        for i in range(0, len(events), 500):
            chunk = events[i:i + 500]
            params: list = []
            for message_id, from_state, to_state, attempt, detail in chunk:
                params.extend((message_id, ts, from_state, to_state, attempt, detail, actor_id))
            cursor.execute(_EVENT_SQL + ", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * len(chunk)), params)


def send(message) -> Result:
    """One send, outside any transaction. A transport that raises is a bug
    or an outage; either way the message is retried."""
    try:
        return channels.get(message.channel).send(message)
    except LookupError as exc:
        return Result.retry(str(exc))
    except Exception as exc:  # noqa: BLE001 - kept as the message's error
        log.exception("outbox %s: channel %s raised", message.dedup_key, message.channel)
        return Result.retry(f"{type(exc).__name__}: {exc}")


@dataclass
class Outcome:
    message: Claimed
    result: Result


def record(outcomes: list[Outcome], *, now: dt.datetime | None = None) -> int:
    """Write how the sends ended. Only messages still ``sending`` under the
    same claim are changed (the ``claims`` fence). Returns how many were."""
    if not outcomes:
        return 0
    cfg = conf.load()
    now = now or clock.now()
    ts = connection.ops.adapt_datetimefield_value(now)
    events: list[tuple] = []
    with transaction.atomic():
        plain = sorted((o.message.id, o.message.claims) for o in outcomes if o.result.ok and not o.result.ack)
        done: set[int] = set()
        if plain:
            if _pg():
                pairs = "SELECT * FROM unnest(%s::bigint[], %s::bigint[])"
                params = [[i for i, _c in plain], [c for _i, c in plain]]
            else:
                pairs = "VALUES " + ", ".join(["(%s, %s)"] * len(plain))
                params = [v for pair in plain for v in pair]
            with connection.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {TABLE} SET state = 'sent', sent_at = %s, next_attempt_at = NULL, lease_until = NULL, "
                    f"last_error = '' WHERE state = 'sending' AND (id, claims) IN ({pairs}) RETURNING id", [ts, *params])
                done = {r[0] for r in cursor.fetchall()}
        changed = len(done)
        for o in sorted(outcomes, key=lambda o: o.message.id):
            m, r = o.message, o.result
            if r.ok and not r.ack:
                if m.id in done:
                    events.append((m.id, OutboxState.SENDING, OutboxState.SENT, m.attempts, ""))
                continue
            mine = OutboxMessage.objects.filter(pk=m.id, claims=m.claims, state=OutboxState.SENDING)
            if r.ok:
                to, detail = OutboxState.ACKNOWLEDGED, r.ack[:200]
                n = mine.update(state=to, sent_at=now, acknowledged_at=now, ack=detail, next_attempt_at=None,
                                lease_until=None, last_error="")
            else:
                detail = r.error or _("failed")
                if r.permanent or m.attempts >= cfg.max_attempts:
                    if not r.permanent:
                        detail = _("%(error)s (given up after %(n)d attempts)") % {"error": detail, "n": m.attempts}
                    to = OutboxState.FAILED
                    n = mine.update(state=to, next_attempt_at=None, lease_until=None, last_error=detail)
                else:
                    delay = backoff_seconds(m.attempts, base=cfg.backoff, cap=cfg.backoff_max)
                    if r.retry_after is not None:
                        delay = max(delay, min(r.retry_after, cfg.backoff_max))
                    to = OutboxState.PENDING
                    n = mine.update(state=to, next_attempt_at=now + dt.timedelta(seconds=delay), lease_until=None,
                                    last_error=detail)
            if n:
                changed += 1
                events.append((m.id, OutboxState.SENDING, to, m.attempts, detail))
        write_events(events, at=now)
    return changed


def release(messages: list, *, now: dt.datetime | None = None) -> int:
    """Hand back claimed messages that were not tried (the worker is
    stopping): pending again at once, the attempt not counted."""
    if not messages:
        return 0
    now = now or clock.now()
    events = []
    with transaction.atomic():
        for m in sorted(messages, key=lambda m: m.id):
            if OutboxMessage.objects.filter(pk=m.id, claims=m.claims, state=OutboxState.SENDING).update(
                    state=OutboxState.PENDING, attempts=F("attempts") - 1, next_attempt_at=now, lease_until=None):
                events.append((m.id, OutboxState.SENDING, OutboxState.PENDING, m.attempts - 1,
                               _("handed back unsent: the worker is stopping")))
        write_events(events, at=now)
    return len(events)


@dataclass
class Round:
    handled: int = 0
    more: bool = False  # stopped with due messages left (budget or stop)
    rate_wait: float | None = None


def deliver_round(*, batch: int, budget: float = 30.0, stopping: threading.Event | None = None) -> Round:
    """Claim, send and record batch after batch in this thread until nothing
    is due, ``budget`` seconds have passed, or the worker stops."""
    stopping = stopping or threading.Event()
    out = Round()
    until = time.monotonic() + budget
    while True:
        if stopping.is_set() or time.monotonic() >= until:
            out.more = True
            return out
        messages, out.rate_wait = claim(batch=batch)
        if not messages:
            return out
        outcomes = []
        for i, m in enumerate(messages):
            if stopping.is_set():
                release(messages[i:])
                break
            outcomes.append(Outcome(m, send(m)))
        out.handled += record(outcomes)
        if out.rate_wait is not None and len(messages) < batch:
            return out  # the rest waits for tokens


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _executor(threads: int) -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None or _pool._max_workers != threads:
            _pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="hotline-outbox")
        return _pool


def _sender(batch: int, budget: float, stopping: threading.Event) -> Round:
    from django.conf import settings
    from django.utils import translation

    # Errors are read by Chinese-speaking administrators.
    translation.activate(settings.LANGUAGE_CODE)
    close_old_connections()
    try:
        return deliver_round(batch=batch, budget=budget, stopping=stopping)
    finally:
        if stopping.is_set():  # else the thread keeps its connections for the next round
            from hotline.core.channels import _http

            connection.close()
            _http.close_all()


def deliver(*, batch: int | None = None, threads: int | None = None, budget: float = 30.0,
            stopping: threading.Event | None = None) -> Round:
    """One delivery round of this worker: ``threads`` senders side by side
    (each with its own database connection and keep-alive HTTP connections),
    so slow receivers and the claim/record transactions overlap. With one
    thread it runs in the caller's thread (and transaction)."""
    cfg = conf.load()
    batch, threads = batch or cfg.batch, threads or cfg.threads
    stopping = stopping or threading.Event()
    if threads <= 1:
        return deliver_round(batch=batch, budget=budget, stopping=stopping)
    if not due_exists():
        return Round()
    rounds = [f.result() for f in [_executor(threads).submit(_sender, batch, budget, stopping)
                                   for _ in range(threads)]]
    waits = [r.rate_wait for r in rounds if r.rate_wait is not None]
    return Round(handled=sum(r.handled for r in rounds), more=any(r.more for r in rounds),
                 rate_wait=min(waits) if waits else None)


def delivery_task(ctx) -> float | None:
    """The ``outbox`` periodic task."""
    cfg = conf.load()
    r = deliver(batch=cfg.batch, threads=cfg.threads, budget=min(30.0, ctx.budget_seconds), stopping=ctx.stopping)
    if r.handled:
        log.info("outbox: %d messages", r.handled)
    if r.more and not ctx.stopping.is_set():
        return 0.0
    if r.rate_wait is not None:
        return min(r.rate_wait, cfg.interval)
    return cfg.interval
