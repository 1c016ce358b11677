"""Login throttling, keyed on the account AND the client address.

Three counters, each over a fixed 15-minute window, each locking for 15
minutes when it reaches its limit:

- (account, client address): ``LOGIN_FAILURE_LIMIT`` (5). The main limit.
  Keyed on the pair, not the account alone, so that someone typing wrong
  passwords for the director from one desk cannot lock the director out of
  every other desk.
- client address, any account: ``LOGIN_ADDRESS_LIMIT`` (30). Against password
  spraying (one common password tried on many accounts), which no pair
  counter ever sees twice. Coarser, because a whole call-center floor may
  share one NAT address and mistype at shift start.
- account, any address: ``LOGIN_ACCOUNT_LIMIT`` (20). Against a distributed
  guess at one account. One address adds at most 5 failures before its pair
  lock, so locking an account out takes at least four addresses.

The client address is REMOTE_ADDR, or, when REMOTE_ADDR is one of
``HOTLINE_TRUSTED_PROXIES``, the right-most address in X-Forwarded-For that
is not a trusted proxy: every hop right of it was written by a proxy we
trust, everything left of it by the client, who may forge it.

Counts live in Django's default cache, the database cache table every web
process shares. The database cache's ``incr`` reads then writes, so two
processes could both count 3 and write 4; instead every failure claims the
next free numbered slot with ``add``, which only one process wins (the
table's primary key decides), and the slot number is the count.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
from typing import NamedTuple

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

from hotline.core import clock

WINDOW_SECONDS = 15 * 60
LOCK_SECONDS = 15 * 60


class Counter(NamedTuple):
    key: str
    limit: int


def _limits() -> tuple[int, int, int]:
    h = settings.HOTLINE
    return (int(h.get("LOGIN_FAILURE_LIMIT", 5)), int(h.get("LOGIN_ADDRESS_LIMIT", 30)),
            int(h.get("LOGIN_ACCOUNT_LIMIT", 20)))


@functools.lru_cache(maxsize=8)
def _networks(proxies: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(p, strict=False) for p in proxies)


def _trusted(address: str) -> bool:
    networks = _networks(tuple(settings.HOTLINE.get("TRUSTED_PROXIES", ())))
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def client_address(request: HttpRequest) -> str:
    remote = request.META.get("REMOTE_ADDR", "") or "unknown"
    if not _trusted(remote):
        return remote  # a forwarded-for header is the client's to forge
    hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
    client = remote
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            break  # not written by a proxy: stop at the last address a trusted hop vouched for
        client = hop
        if not _trusted(hop):
            break
    return client


def _hash(text: str) -> str:
    # Cache backends refuse some characters in keys; usernames may hold them.
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def keys(request: HttpRequest, username: str) -> list[Counter]:
    """The counters one attempt counts against; the pair's comes first."""
    account = (username or "").strip().lower()
    address = client_address(request)
    pair_limit, address_limit, account_limit = _limits()
    return [
        Counter(f"hotline:login:pair:{_hash(account + chr(0) + address)}", pair_limit),
        Counter(f"hotline:login:addr:{_hash(address)}", address_limit),
        Counter(f"hotline:login:user:{_hash(account)}", account_limit),
    ]


def is_locked(counters: list[Counter]) -> bool:
    return any(cache.get_many([c.key + ":locked" for c in counters]).values())


def _window() -> tuple[int, int]:
    """(window number, seconds its keys must live): keys carry their window,
    so a slot is never reused once its window ended."""
    ts = int(clock.now().timestamp())
    return ts // WINDOW_SECONDS, WINDOW_SECONDS - ts % WINDOW_SECONDS + 60


def record_failure(counters: list[Counter]) -> None:
    window, ttl = _window()
    for c in counters:
        base = f"{c.key}:{window}"
        count = (cache.get(base) or 0) + 1  # a hint: may lag under races, add() corrects it
        while not cache.add(f"{base}:{count}", True, ttl):
            count += 1
        cache.set(base, count, ttl)
        if count >= c.limit:
            cache.set(c.key + ":locked", True, LOCK_SECONDS)


def record_success(counters: list[Counter]) -> None:
    # Only the pair's count: one good login must not reset an address that
    # is guessing other accounts, nor an account guessed from elsewhere.
    window, _ttl = _window()
    base = f"{counters[0].key}:{window}"
    count = cache.get(base) or 0
    cache.delete_many([base, *(f"{base}:{n}" for n in range(1, count + 1))])
