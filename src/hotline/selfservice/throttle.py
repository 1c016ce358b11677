"""Limits of the public lookups, which anyone may call without logging in.

- Per client address (``HOTLINE_PUBLIC_RATE``, e.g. 30 per minute): the page
  and the API share one counter, so a scraper gains nothing by switching.
  The client address is the login throttle's (``web.throttle.client_address``:
  X-Forwarded-For is believed only from ``HOTLINE_TRUSTED_PROXIES``).
- Per order number: after ``ORDER_FAILURE_LIMIT`` wrong phone tails the order
  answers "not found" to everyone for ``ORDER_LOCK_SECONDS``, so four digits
  cannot be guessed from many addresses at once. The answer is the same as
  for an unknown order, so the lock itself tells nothing.

Counts live in the shared database cache with their window in the key,
as the API's rate limit does (``hotline.api.RateLimit``); the database cache's
``incr`` reads then writes, so the limit can only err on the generous side.
"""

from __future__ import annotations

import hashlib
import math
from typing import NamedTuple

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

from hotline.core import clock
from hotline.web.throttle import client_address

ORDER_FAILURE_LIMIT = 10
ORDER_LOCK_SECONDS = 15 * 60


class Verdict(NamedTuple):
    allowed: bool
    wait: int  # seconds until the window ends (Retry-After)
    limit: int
    window: int


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _count(key: str, ttl: int) -> int:
    try:
        return cache.incr(key)
    except ValueError:  # the window's first hit
        return 1 if cache.add(key, 1, ttl) else cache.incr(key)


def rate() -> tuple[int, int]:
    limit, window = settings.HOTLINE.get("PUBLIC_RATE", (30, 60))
    return int(limit), int(window)


def hit(request: HttpRequest) -> Verdict:
    """Count one lookup of this client; allowed while within the limit."""
    limit, window = rate()
    if limit <= 0:
        return Verdict(True, 0, limit, window)
    ts = clock.now().timestamp()
    number = int(ts // window)
    count = _count(f"hotline:public:{_hash(client_address(request))}:{number}", window + 60)
    return Verdict(count <= limit, max(1, math.ceil((number + 1) * window - ts)), limit, window)


def _order_lock_key(number: str) -> str:
    return f"hotline:public:order-lock:{_hash(number)}"


def order_locked(number: str) -> bool:
    until = cache.get(_order_lock_key(number))
    return until is not None and clock.now().timestamp() < until


def order_failure(number: str) -> None:
    """A wrong tail for an existing order: lock the order at the limit."""
    ts = clock.now().timestamp()
    window = int(ts // ORDER_LOCK_SECONDS)
    count = _count(f"hotline:public:order-fail:{_hash(number)}:{window}", ORDER_LOCK_SECONDS + 60)
    if count >= ORDER_FAILURE_LIMIT:
        # The lock's end is kept as a value: the tests' clock, not the cache's, decides.
        cache.set(_order_lock_key(number), ts + ORDER_LOCK_SECONDS, ORDER_LOCK_SECONDS + 60)
