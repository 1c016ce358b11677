"""Writing to the outbox, and the administrator's retry and discard."""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils.translation import gettext as _

from hotline.core import channels, clock
from hotline.core.models import OutboxEvent, OutboxMessage, OutboxState

TABLE = OutboxMessage._meta.db_table
ACTIVE = (OutboxState.PENDING, OutboxState.SENDING)
_COPY_ABOVE = 500  # rows; fewer go in one multi-row INSERT


class OutboxError(ValueError):
    """A message cannot be enqueued; names the field and the reason."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def _row(*, channel: str, recipient: str, payload: Any, dedup_key: str, source: str, known: set[str],
         order_key: str | None = None) -> tuple:
    if channel not in known:
        raise OutboxError("channel", _("there is no outbox channel %(name)r") % {"name": channel})
    if not isinstance(dedup_key, str) or not dedup_key.strip() or len(dedup_key) > 200:
        raise OutboxError("dedup_key", _("a de-duplication key of 1 to 200 characters is required"))
    if not dedup_key.isprintable():
        # It travels as a header (Idempotency-Key): no line breaks.
        raise OutboxError("dedup_key", _("the de-duplication key may not contain line breaks or control characters"))
    if not isinstance(recipient, str) or not recipient.strip() or len(recipient) > 500:
        raise OutboxError("recipient", _("a recipient of 1 to 500 characters is required"))
    if len(source) > 200:
        raise OutboxError("source", _("the source may have at most 200 characters"))
    if order_key is not None and (not isinstance(order_key, str) or not order_key.strip() or len(order_key) > 200
                                  or not order_key.isprintable()):
        raise OutboxError("order_key", _("an ordering key is 1 to 200 printable characters, or none"))
    try:
        try:
            body = json.dumps(payload)  # ASCII escapes: the fastest encoder, the same JSON
        except TypeError:  # dates, decimals: Django's encoder (slower)
            body = json.dumps(payload, cls=DjangoJSONEncoder)
    except (TypeError, ValueError) as exc:
        raise OutboxError("payload", _("the payload cannot be written as JSON: %(error)s") % {"error": exc}) from None
    return (channel, recipient.strip(), body, dedup_key, source, order_key)


def _lock_order_keys(keys: Iterable[str | None]) -> None:
    """Enqueues of one ordering key take turns until their transactions end
    (PostgreSQL: a transaction-level advisory lock per key, in a fixed
    order). So a key's ids follow its commit order: a claimer that sees a
    message never later sees an older one of its key appear (SQLite: its
    single writer does the same)."""
    keys = sorted({k for k in keys if k is not None})
    if not keys or connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        # The second half of the 64-bit space: other advisory locks keep clear of it.
        cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(k, 0) | (1::bigint << 62)) "
                       "FROM unnest(%s::text[]) WITH ORDINALITY AS x(k, n) ORDER BY n", [keys])


def _insert_values(rows: list[tuple], now, *, returning: bool = False) -> tuple[int, list[int]]:
    """One multi-row INSERT … ON CONFLICT (dedup_key) DO NOTHING."""
    ts = connection.ops.adapt_datetimefield_value(now)
    json_cast = "::jsonb" if connection.vendor == "postgresql" else ""
    one = f"(%s, %s, %s{json_cast}, %s, %s, %s, 'pending', 0, 0, %s, %s, '', '')"
    sql = (f"INSERT INTO {TABLE} (channel, recipient, payload, dedup_key, source, order_key, state, attempts, claims, "
           f"created_at, next_attempt_at, ack, last_error) VALUES {', '.join([one] * len(rows))} "
           "ON CONFLICT (dedup_key) DO NOTHING" + (" RETURNING id" if returning else ""))
    params: list = []
    for r in rows:
        params.extend((*r, ts, ts))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        ids = [row[0] for row in cursor.fetchall()] if returning else []
        return (len(ids) if returning else cursor.rowcount), ids


def _insert_copy(rows: list[tuple], now) -> int:
    """PostgreSQL, many rows without ordering keys: COPY into a session's
    temporary table, then one INSERT … SELECT … ON CONFLICT (dedup_key) DO
    NOTHING."""
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE IF NOT EXISTS hotline_outbox_incoming "
                       "(channel text, recipient text, payload text, dedup_key text, source text)")
        cursor.execute("TRUNCATE hotline_outbox_incoming")
        with cursor.cursor.copy("COPY hotline_outbox_incoming (channel, recipient, payload, dedup_key, source) "
                                "FROM STDIN") as copy:
            for r in rows:
                copy.write_row(r[:5])
        cursor.execute(
            f"INSERT INTO {TABLE} (channel, recipient, payload, dedup_key, source, state, attempts, claims, "
            "created_at, next_attempt_at, ack, last_error) "
            "SELECT channel, recipient, payload::jsonb, dedup_key, source, 'pending', 0, 0, %s, %s, '', '' "
            "FROM hotline_outbox_incoming ON CONFLICT (dedup_key) DO NOTHING", [now, now])
        created = cursor.rowcount
        cursor.execute("TRUNCATE hotline_outbox_incoming")
        return created


def enqueue(*, channel: str, recipient: str, payload: Any, dedup_key: str, source: str = "",
            order_key: str | None = None) -> OutboxMessage:
    """Write one message in the caller's transaction. A key already there is
    a no-op that returns the existing message (``.created`` tells which).
    ``order_key``: the message goes only after every older message of that
    key was delivered or given up (``delivery``)."""
    row = _row(channel=channel, recipient=recipient, payload=payload, dedup_key=dedup_key, source=source,
               known=set(channels.names()), order_key=order_key)
    now = clock.now()
    with transaction.atomic():
        _lock_order_keys([order_key])
        if connection.features.can_return_columns_from_insert:
            _n, ids = _insert_values([row], now, returning=True)
            created = bool(ids)
        else:
            created = _insert_values([row], now)[0] == 1
        message = OutboxMessage.objects.get(dedup_key=dedup_key)
    message.created = created
    return message


def enqueue_many(messages: Iterable[Mapping[str, Any]], *, source: str = "") -> int:
    """Fan-out: write many messages (each a mapping of channel, recipient,
    payload, dedup_key and optionally source and order_key) in the caller's
    transaction, a key's messages in the order given. Keys already there are
    skipped. Returns how many were new."""
    known = set(channels.names())
    rows = [_row(channel=m["channel"], recipient=m["recipient"], payload=m.get("payload", {}),
                 dedup_key=m["dedup_key"], source=m.get("source", source), known=known,
                 order_key=m.get("order_key")) for m in messages]
    if not rows:
        return 0
    now = clock.now()
    created = 0
    ordered = any(r[5] is not None for r in rows)
    with transaction.atomic():
        _lock_order_keys(r[5] for r in rows)
        # Multi-row INSERTs number rows in the order given; COPY's INSERT … SELECT need not.
        if connection.vendor == "postgresql" and len(rows) > _COPY_ABOVE and not ordered:
            return _insert_copy(rows, now)
        for i in range(0, len(rows), _COPY_ABOVE):
            created += _insert_values(rows[i:i + _COPY_ABOVE], now)[0]
    return created


# --- backoff --------------------------------------------------------------------

def backoff_seconds(attempts: int, *, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Seconds before the next attempt after ``attempts`` failed ones:
    ``base · 2^(attempts-1)``, at most ``cap``, of which a random half
    ("equal jitter"), so a receiver coming back is not hit by every
    message at the same instant."""
    delay = min(cap, base * (2 ** max(0, attempts - 1)))
    return delay / 2 + (rng or random).uniform(0, delay / 2)


# --- what administrators do -----------------------------------------------------

def _change(messages, *, to_state: str, allowed: tuple[str, ...], actor, detail: str, **fields) -> int:
    now = clock.now()
    ids = [m.pk if isinstance(m, OutboxMessage) else int(m) for m in messages]
    with transaction.atomic():
        rows = list(OutboxMessage.objects.select_for_update().filter(id__in=ids, state__in=allowed).order_by("id"))
        if not rows:
            return 0
        OutboxMessage.objects.filter(id__in=[m.id for m in rows]).update(state=to_state, **fields)
        OutboxEvent.objects.bulk_create([
            OutboxEvent(message=m, at=now, from_state=m.state, to_state=to_state, attempt=m.attempts, detail=detail,
                        actor=actor) for m in rows])
    return len(rows)


def retry(messages, *, actor=None) -> int:
    """Send again now, with a fresh count of attempts: messages that failed
    for good or were discarded (and pending ones waiting for a retry)."""
    return _change(messages, to_state=OutboxState.PENDING, actor=actor, detail=_("retried by hand"),
                   allowed=(OutboxState.FAILED, OutboxState.DISCARDED, OutboxState.PENDING),
                   attempts=0, next_attempt_at=clock.now(), lease_until=None)


def discard(messages, *, actor=None) -> int:
    """Never send: pending, failing or failed messages. One being sent right
    now is discarded too; its worker's outcome is then ignored."""
    return _change(messages, to_state=OutboxState.DISCARDED, actor=actor, detail=_("discarded by hand"),
                   allowed=(OutboxState.PENDING, OutboxState.SENDING, OutboxState.FAILED),
                   next_attempt_at=None, lease_until=None)


def hurry_older(*, order_key: str, before: int, detail: str) -> int:
    """Older messages of ``order_key`` waiting for a retry become due now, so
    the one written later (id ``before``) need not wait out their backoff
    behind them. For a channel that decides at the send whether an older
    message still matters (a switch command a later one replaced): it is
    then settled at once. In the caller's transaction; recorded per message."""
    now = clock.now()
    with transaction.atomic():
        qs = OutboxMessage.objects.filter(order_key=order_key, state=OutboxState.PENDING, id__lt=before,
                                          attempts__gt=0, next_attempt_at__gt=now).order_by("id")
        if connection.features.has_select_for_update_skip_locked:
            qs = qs.select_for_update(skip_locked=True)  # a claimer holding one is about to send it anyway
        rows = list(qs.values_list("id", "attempts"))
        if not rows:
            return 0
        OutboxMessage.objects.filter(id__in=[i for i, _a in rows]).update(next_attempt_at=now)
        OutboxEvent.objects.bulk_create([
            OutboxEvent(message_id=i, at=now, from_state=OutboxState.PENDING, to_state=OutboxState.PENDING,
                        attempt=a, detail=detail) for i, a in rows])
    return len(rows)


def acknowledge(*, dedup_key: str, ack: str = "", actor=None) -> bool:
    """A receipt that came later (a delivery report): sent → acknowledged."""
    now = clock.now()
    with transaction.atomic():
        m = OutboxMessage.objects.select_for_update().filter(dedup_key=dedup_key, state=OutboxState.SENT).first()
        if m is None:
            return False
        OutboxMessage.objects.filter(pk=m.pk).update(state=OutboxState.ACKNOWLEDGED, acknowledged_at=now,
                                                     ack=(ack or m.ack)[:200])
        OutboxEvent.objects.create(message=m, at=now, from_state=m.state, to_state=OutboxState.ACKNOWLEDGED,
                                   attempt=m.attempts, detail=ack[:200], actor=actor)
    return True
