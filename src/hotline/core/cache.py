"""Small per-process caches for configuration read on every request.

Configuration (business types, the current policy version, calendar
overrides) changes rarely and is edited by an administrator; each entry
lives a few seconds, so every process sees an edit within that time without
any cross-process signalling. Published policy versions never change and are
cached for good.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any

_lock = threading.Lock()
_entries: dict[Hashable, tuple[float, Any]] = {}
TTL_SECONDS = 5.0


def get(key: Hashable, load: Callable[[], Any], *, ttl: float | None = TTL_SECONDS) -> Any:
    """The cached value for ``key``, loading it when absent or expired.
    ``ttl=None`` keeps it for the life of the process."""
    now = time.monotonic()
    hit = _entries.get(key)
    if hit is not None and (hit[0] == 0 or hit[0] > now):
        return hit[1]
    value = load()
    with _lock:
        _entries[key] = (0 if ttl is None else now + ttl, value)
    return value


def clear() -> None:
    """Forget everything (tests, and after an administrator's edit in this process)."""
    with _lock:
        _entries.clear()


def clear_on_change(*models: type) -> None:
    """Clear this process's cache whenever one of ``models`` is saved or
    deleted here (other processes see the edit when their entries expire)."""
    from django.db.models.signals import post_delete, post_save

    def handler(sender, **kwargs):
        clear()

    for model in models:
        post_save.connect(handler, sender=model, weak=False, dispatch_uid=f"cache-clear-{model._meta.label}-save")
        post_delete.connect(handler, sender=model, weak=False, dispatch_uid=f"cache-clear-{model._meta.label}-delete")
