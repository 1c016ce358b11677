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

Rate limits: a token bucket per rate-limited channel in the database
(``OutboxRate``), refilled for the time passed and debited in the claiming
transaction under the bucket row's lock, so all workers together stay
within the channel's messages per second.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import math
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from django.db import close_old_connections, connection, transaction
from django.db.models import F
from django.utils.translation import gettext as _

from hotline.core import channels, clock
from hotline.core.channels.base import Result
from hotline.core.models import OutboxEvent, OutboxMessage, OutboxRate, OutboxState
from hotline.core.outbox import conf
from hotline.core.outbox.services import ACTIVE, backoff_seconds

log = logging.getLogger("hotline.outbox")
_rotation = itertools.count()
_FIELDS = ("id", "channel", "recipient", "payload", "dedup_key", "source", "state", "attempts", "claims")


def due_exists(*, now: dt.datetime | None = None) -> bool:
    """A plain read: idle workers look often, and on SQLite a claiming
    transaction would take the write lock every time."""
    return OutboxMessage.objects.filter(state__in=ACTIVE, next_attempt_at__lte=now or clock.now()).exists()


def _take_tokens(name: str, rate: float, want: int, now: dt.datetime) -> tuple[OutboxRate, int, float]:
    """Lock the channel's bucket and say how many may go now (and, if none,
    seconds until one may). The caller debits what it really claimed."""
    capacity = max(1.0, rate)  # bursts of at most one second's worth
    OutboxRate.objects.bulk_create([OutboxRate(channel=name, tokens=capacity, refilled_at=now)], ignore_conflicts=True)
    bucket = OutboxRate.objects.select_for_update().get(channel=name)
    elapsed = max(0.0, (now - bucket.refilled_at).total_seconds())
    bucket.tokens = min(capacity, bucket.tokens + elapsed * rate)
    bucket.refilled_at = max(now, bucket.refilled_at)
    grant = min(want, math.floor(bucket.tokens + 1e-9))
    wait = 0.0 if grant else (1.0 - bucket.tokens) / rate
    return bucket, grant, wait


def claim(*, batch: int, now: dt.datetime | None = None) -> tuple[list[OutboxMessage], float | None]:
    """Claim up to ``batch`` due messages, channel by channel (rotating, so a
    backlog on one channel does not starve another). Returns them and, when
    a rate limit held any back, the seconds until it allows one more."""
    cfg = conf.load()
    now = now or clock.now()
    names = channels.names()
    start = next(_rotation) % max(1, len(names))
    names = names[start:] + names[:start]
    rate_wait: float | None = None
    with transaction.atomic():
        picked: list[tuple[int, str, int]] = []
        timeout = 0.0
        for name in names:
            remaining = batch - len(picked)
            if remaining <= 0:
                break
            channel = channels.get(name)
            try:
                rate, channel_timeout = channel.rate(), channel.timeout()
            except channels.ConfigError:
                rate, channel_timeout = 0.0, 30.0  # its sends fail with the reason
            bucket = None
            if rate > 0:
                bucket, remaining, wait = _take_tokens(name, rate, remaining, now)
                if not remaining:
                    # Only worth a wait if something of this channel is due.
                    if OutboxMessage.objects.filter(channel=name, state__in=ACTIVE, next_attempt_at__lte=now).exists():
                        rate_wait = wait if rate_wait is None else min(rate_wait, wait)
                    bucket.save(update_fields=["tokens", "refilled_at"])
                    continue
            qs = (OutboxMessage.objects.filter(channel=name, state__in=ACTIVE, next_attempt_at__lte=now)
                  .order_by("next_attempt_at", "id"))
            if connection.features.has_select_for_update_skip_locked:
                qs = qs.select_for_update(skip_locked=True)
            rows = list(qs.values_list("id", "state", "attempts")[:remaining])
            if bucket is not None:
                bucket.tokens -= len(rows)
                bucket.save(update_fields=["tokens", "refilled_at"])
            if rows:
                timeout = max(timeout, channel_timeout)
                picked.extend(rows)
        if not picked:
            return [], rate_wait
        # A message back from a lapsed lease on its last attempt: its worker
        # died sending it as often as it may be tried. Give up on it.
        exhausted = [(i, a) for i, s, a in picked if s == OutboxState.SENDING and a >= cfg.max_attempts]
        send_ids = [i for i, s, a in picked if not (s == OutboxState.SENDING and a >= cfg.max_attempts)]
        events = []
        if exhausted:
            error = _("The worker stopped during the last allowed attempt; given up after %(n)d attempts.")
            for i, a in exhausted:
                OutboxMessage.objects.filter(pk=i).update(
                    state=OutboxState.FAILED, next_attempt_at=None, lease_until=None, last_error=error % {"n": a})
                events.append(OutboxEvent(message_id=i, at=now, from_state=OutboxState.SENDING,
                                          to_state=OutboxState.FAILED, attempt=a, detail=error % {"n": a}))
        messages: list[OutboxMessage] = []
        if send_ids:
            # The lease covers the whole batch timing out one send after another.
            lease_until = now + dt.timedelta(seconds=cfg.lease + timeout * len(send_ids))
            OutboxMessage.objects.filter(id__in=send_ids).update(
                state=OutboxState.SENDING, attempts=F("attempts") + 1, claims=F("claims") + 1,
                lease_until=lease_until, next_attempt_at=lease_until)
            messages = list(OutboxMessage.objects.filter(id__in=send_ids).only(*_FIELDS).order_by("id"))
            previous = {i: s for i, s, _a in picked}
            for m in messages:
                events.append(OutboxEvent(message_id=m.id, at=now, from_state=previous[m.id],
                                          to_state=OutboxState.SENDING, attempt=m.attempts,
                                          detail="" if previous[m.id] == OutboxState.PENDING
                                          else _("the previous worker's lease lapsed")))
        OutboxEvent.objects.bulk_create(events)
    return messages, rate_wait


def send(message: OutboxMessage) -> Result:
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
    message: OutboxMessage
    result: Result


def record(outcomes: list[Outcome], *, now: dt.datetime | None = None) -> int:
    """Write how the sends ended. Only messages still ``sending`` under the
    same claim are changed. Returns how many were."""
    if not outcomes:
        return 0
    cfg = conf.load()
    now = now or clock.now()
    with transaction.atomic():
        ids = sorted(o.message.id for o in outcomes)
        live = dict(OutboxMessage.objects.select_for_update().filter(id__in=ids, state=OutboxState.SENDING)
                    .order_by("id").values_list("id", "claims"))
        mine = [o for o in outcomes if live.get(o.message.id) == o.message.claims]
        events = []
        plain = [o.message.id for o in mine if o.result.ok and not o.result.ack]
        if plain:
            OutboxMessage.objects.filter(id__in=plain).update(
                state=OutboxState.SENT, sent_at=now, next_attempt_at=None, lease_until=None, last_error="")
        for o in mine:
            m, r = o.message, o.result
            if r.ok:
                to = OutboxState.ACKNOWLEDGED if r.ack else OutboxState.SENT
                if r.ack:
                    OutboxMessage.objects.filter(pk=m.id).update(
                        state=to, sent_at=now, acknowledged_at=now, ack=r.ack[:200], next_attempt_at=None,
                        lease_until=None, last_error="")
                events.append(OutboxEvent(message_id=m.id, at=now, from_state=OutboxState.SENDING, to_state=to,
                                          attempt=m.attempts, detail=r.ack[:200]))
                continue
            error = r.error or _("failed")
            if r.permanent or m.attempts >= cfg.max_attempts:
                if not r.permanent:
                    error = _("%(error)s (given up after %(n)d attempts)") % {"error": error, "n": m.attempts}
                OutboxMessage.objects.filter(pk=m.id).update(
                    state=OutboxState.FAILED, next_attempt_at=None, lease_until=None, last_error=error)
                events.append(OutboxEvent(message_id=m.id, at=now, from_state=OutboxState.SENDING,
                                          to_state=OutboxState.FAILED, attempt=m.attempts, detail=error))
                continue
            delay = backoff_seconds(m.attempts, base=cfg.backoff, cap=cfg.backoff_max)
            if r.retry_after is not None:
                delay = max(delay, min(r.retry_after, cfg.backoff_max))
            OutboxMessage.objects.filter(pk=m.id).update(
                state=OutboxState.PENDING, next_attempt_at=now + dt.timedelta(seconds=delay), lease_until=None,
                last_error=error)
            events.append(OutboxEvent(message_id=m.id, at=now, from_state=OutboxState.SENDING,
                                      to_state=OutboxState.PENDING, attempt=m.attempts, detail=error))
        OutboxEvent.objects.bulk_create(events)
    return len(mine)


def release(messages: list[OutboxMessage], *, now: dt.datetime | None = None) -> int:
    """Hand back claimed messages that were not tried (the worker is
    stopping): pending again at once, the attempt not counted."""
    if not messages:
        return 0
    now = now or clock.now()
    with transaction.atomic():
        live = dict(OutboxMessage.objects.select_for_update().filter(
            id__in=[m.id for m in messages], state=OutboxState.SENDING).order_by("id").values_list("id", "claims"))
        mine = [m for m in messages if live.get(m.id) == m.claims]
        OutboxMessage.objects.filter(id__in=[m.id for m in mine]).update(
            state=OutboxState.PENDING, attempts=F("attempts") - 1, next_attempt_at=now, lease_until=None)
        OutboxEvent.objects.bulk_create([
            OutboxEvent(message_id=m.id, at=now, from_state=OutboxState.SENDING, to_state=OutboxState.PENDING,
                        attempt=m.attempts - 1, detail=_("handed back unsent: the worker is stopping"))
            for m in mine])
    return len(mine)


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
        if stopping.is_set():
            connection.close()
        from hotline.core.channels import _http

        if stopping.is_set():
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
