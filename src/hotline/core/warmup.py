"""What a web process loads before it serves its first request.

Some parts load large tables lazily on first use (the duplicate finder's
Chinese word segmenter and its homophone table: over a second of CPU). In a
web server started under load, every new process paid that inside a live
request, while the others queued behind it. Apps register those loads here
(in ``AppConfig.ready``); ``hotline serve`` runs them once in the parent
process before the workers fork, so the workers share what was loaded.

A warm-up must not touch the database: connections opened before a fork
would be shared by the children.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

_loaders: dict[str, Callable[[], object]] = {}


def register(name: str, loader: Callable[[], object]) -> None:
    _loaders[name] = loader


def run() -> dict[str, float]:
    """Run every registered load; seconds each took. A load that fails is
    logged and skipped: the part then loads on first use, as before."""
    took = {}
    for name, loader in _loaders.items():
        start = time.monotonic()
        try:
            loader()
        except Exception:  # noqa: BLE001 — a warm-up is an optimisation, never a reason not to serve
            log.exception("warm-up %s failed; it will load on first use", name)
            continue
        took[name] = time.monotonic() - start
    return took
