"""Per-process caches for configuration read on every request.

Configuration (business types, time-limit policies, service areas, units,
API tokens, calendar overrides) changes rarely and through the admin or the
services, whose saves fire Django's model signals. Every such save bumps one
database counter (``ConfigGeneration``) in the saving transaction; each
process reads that counter at most every ``CHECK_SECONDS`` and drops its
whole cache when it moved. So an edit reaches every process within a couple
of seconds, and between edits the cache answers nearly every read, however
many keys (one per token, per service area…) there are. ``TTL_SECONDS``
bounds the life of an entry even if a change bypassed the signals (a raw
SQL edit). Published policy versions never change and are kept for good.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Hashable
from typing import Any

_lock = threading.Lock()
_entries: dict[Hashable, tuple[float, Any]] = {}
_seen = {"generation": None, "checked": float("-inf")}
TTL_SECONDS = 300.0
CHECK_SECONDS = 2.0
_TABLE = "core_configgeneration"


def get(key: Hashable, load: Callable[[], Any], *, ttl: float | None = TTL_SECONDS) -> Any:
    """The cached value for ``key``, loading it when absent or expired.
    ``ttl=None`` keeps it for the life of the process (or the next edit)."""
    now = time.monotonic()
    if now - _seen["checked"] >= CHECK_SECONDS:
        _check_generation(now)
    hit = _entries.get(key)
    if hit is not None and (hit[0] == 0 or hit[0] > now):
        return hit[1]
    generation = _seen["generation"]
    value = load()
    with _lock:
        # Another thread may have seen a newer generation while this one
        # loaded: then the value may predate the edit; use it, don't keep it.
        if _seen["generation"] == generation:
            _entries[key] = (0 if ttl is None else now + ttl, value)
    return value


def _check_generation(now: float) -> None:
    from django.db import DatabaseError, connection, transaction

    _seen["checked"] = now
    # Inside a caller's transaction, a savepoint: a failed read (no table
    # yet, during the first migrate) must not poison it. Outside, plain
    # autocommit: a transaction of our own would take SQLite's write lock.
    guard = transaction.atomic() if connection.in_atomic_block else contextlib.nullcontext()
    try:
        with guard, connection.cursor() as cursor:
            cursor.execute(f"SELECT value FROM {_TABLE} WHERE id = 1")
            row = cursor.fetchone()
    except DatabaseError:
        return
    generation = row[0] if row else None
    if generation != _seen["generation"]:
        with _lock:
            _entries.clear()
            _seen["generation"] = generation


def clear() -> None:
    """Forget everything in this process (tests; after an edit)."""
    with _lock:
        _entries.clear()
        _seen["generation"], _seen["checked"] = None, float("-inf")


def bump() -> None:
    """Tell every process that configuration changed (in the caller's
    transaction, so they see it when the edit commits)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {_TABLE} SET value = value + 1 WHERE id = 1")
    clear()


def clear_on_change(*models: type, ignore_fields: frozenset[str] = frozenset()) -> None:
    """Bump the generation whenever one of ``models`` is saved or deleted.
    A save that wrote only ``ignore_fields`` (a user's last login) is no
    configuration change."""
    from django.db.models.signals import post_delete, post_save

    def handler(sender, update_fields=None, **kwargs):
        if update_fields and ignore_fields and set(update_fields) <= ignore_fields:
            return
        bump()

    for model in models:
        post_save.connect(handler, sender=model, weak=False, dispatch_uid=f"cache-clear-{model._meta.label}-save")
        post_delete.connect(handler, sender=model, weak=False, dispatch_uid=f"cache-clear-{model._meta.label}-delete")
