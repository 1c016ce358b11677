"""Login throttling: after LOGIN_FAILURE_LIMIT failures for one username or
one client address within the window, refuse attempts for the lock time.

Counts live in Django's default cache. With the default per-process cache
each web process counts on its own; a shared cache (database or Redis)
makes the limit hold across processes.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

WINDOW_SECONDS = 15 * 60
LOCK_SECONDS = 15 * 60


def _limit() -> int:
    return int(settings.HOTLINE.get("LOGIN_FAILURE_LIMIT", 5))


def keys(request: HttpRequest, username: str) -> list[str]:
    # Hashed: usernames may hold characters a cache backend refuses in keys.
    user_key = hashlib.sha256((username or "").strip().lower().encode()).hexdigest()[:32]
    # REMOTE_ADDR only: a forwarded-for header is the client's to forge.
    ip = request.META.get("REMOTE_ADDR", "") or "unknown"
    return [f"hotline:login:user:{user_key}", f"hotline:login:ip:{ip}"]


def is_locked(counter_keys: list[str]) -> bool:
    return any(cache.get(k + ":locked") for k in counter_keys)


def record_failure(counter_keys: list[str]) -> None:
    for k in counter_keys:
        cache.add(k, 0, WINDOW_SECONDS)  # the window starts at the first failure
        try:
            count = cache.incr(k)
        except ValueError:  # the window expired between add and incr
            cache.set(k, 1, WINDOW_SECONDS)
            count = 1
        if count >= _limit():
            cache.set(k + ":locked", True, LOCK_SECONDS)
            cache.delete(k)


def record_success(counter_keys: list[str]) -> None:
    # Only the username's count: one good login must not reset an address
    # that is guessing other accounts.
    cache.delete(counter_keys[0])
