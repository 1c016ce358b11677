"""The one clock every rule reads.

Production code calls :func:`now`; tests move time with :func:`frozen` or
:func:`set_now`. A worker process may be started with ``HOTLINE_CLOCK_OFFSET``
(seconds, may be negative) so that multi-process tests can shift time too.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Callable, Iterator

from django.utils import timezone

_override: Callable[[], dt.datetime] | None = None


def _offset() -> dt.timedelta:
    raw = os.environ.get("HOTLINE_CLOCK_OFFSET")
    return dt.timedelta(seconds=float(raw)) if raw else dt.timedelta(0)


def now() -> dt.datetime:
    """Current aware datetime (UTC-based), honouring a test override."""
    if _override is not None:
        return _override()
    return timezone.now() + _offset()


def set_now(value: dt.datetime | Callable[[], dt.datetime] | None) -> None:
    global _override
    if value is None:
        _override = None
    elif callable(value):
        _override = value
    else:
        if timezone.is_naive(value):
            raise ValueError("clock.set_now needs an aware datetime")
        fixed = value
        _override = lambda: fixed  # noqa: E731


class FrozenClock:
    """A clock stuck at one instant that tests can move forward."""

    def __init__(self, start: dt.datetime):
        if timezone.is_naive(start):
            start = timezone.make_aware(start)
        self.current = start

    def __call__(self) -> dt.datetime:
        return self.current

    def advance(self, **kwargs: float) -> dt.datetime:
        self.current = self.current + dt.timedelta(**kwargs)
        return self.current

    def set(self, value: dt.datetime) -> None:
        if timezone.is_naive(value):
            value = timezone.make_aware(value)
        self.current = value


@contextlib.contextmanager
def frozen(start: dt.datetime) -> Iterator[FrozenClock]:
    global _override
    previous = _override
    clock = FrozenClock(start)
    _override = clock
    try:
        yield clock
    finally:
        _override = previous


def localnow() -> dt.datetime:
    return timezone.localtime(now())
