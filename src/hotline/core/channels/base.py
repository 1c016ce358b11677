"""What every channel shares: the result of a send, the channel record the
registry keeps, settings read from the environment, HMAC signatures."""

from __future__ import annotations

import hashlib
import hmac
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol


class Message(Protocol):
    """What a transport reads of an outbox message."""

    id: int
    channel: str
    recipient: str
    payload: Any
    dedup_key: str
    source: str
    attempts: int


@dataclass(frozen=True)
class Result:
    """How one send ended. ``ok``: the receiver took it (``ack``: its receipt,
    when it gives one). Not ok: ``permanent`` means retrying cannot help (a
    bad address, HTTP 400/410); otherwise the outbox retries with backoff,
    no sooner than ``retry_after`` seconds when the receiver asked."""

    ok: bool
    permanent: bool = False
    error: str = ""
    ack: str = ""
    retry_after: float | None = None

    @classmethod
    def sent(cls, ack: str = "") -> Result:
        return cls(ok=True, ack=ack)

    @classmethod
    def retry(cls, error: str, retry_after: float | None = None) -> Result:
        return cls(ok=False, error=error, retry_after=retry_after)

    @classmethod
    def refused(cls, error: str) -> Result:
        return cls(ok=False, permanent=True, error=error)


class ConfigError(ValueError):
    """A channel setting is wrong; names the environment variable."""

    def __init__(self, variable: str, message: str):
        super().__init__(f"{variable}: {message}")
        self.variable = variable


@dataclass(frozen=True)
class Channel:
    name: str
    send: Callable[[Message], Result]
    # Messages per second across all workers (0: no limit).
    rate: Callable[[], float]
    # Longest one send may take (the claim's lease covers a batch of them).
    timeout: Callable[[], float]
    # Configuration problems, for ``hotline check`` (empty: fine).
    problems: Callable[[], list[str]]


def setting(name: str, default: str = "") -> str:
    """A channel setting: ``settings.HOTLINE_OUTBOX_ENV[name]`` (tests,
    local overrides) or else the environment variable ``name``."""
    from django.conf import settings

    overrides = getattr(settings, "HOTLINE_OUTBOX_ENV", None) or {}
    if name in overrides:
        return str(overrides[name])
    return os.environ.get(name, default)


def float_setting(name: str, default: float, *, minimum: float = 0.0) -> float:
    raw = setting(name, "")
    if raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(name, f"{raw!r} is not a number") from None
    if value < minimum:
        raise ConfigError(name, f"must be at least {minimum:g}")
    return value


def check_url(name: str, url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(name, f"{url!r} is not an http:// or https:// URL")
    return url


# --- signatures -----------------------------------------------------------------

SIGNATURE_HEADER = "X-Hotline-Signature"
TIMESTAMP_HEADER = "X-Hotline-Timestamp"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>`` of HMAC-SHA256 over ``timestamp + "." + body``: the
    timestamp is signed too, so an old request cannot be replayed as new."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def signed_headers(secret: str, body: bytes, *, now: float | None = None) -> dict[str, str]:
    ts = str(int(now if now is not None else time.time()))
    return {TIMESTAMP_HEADER: ts, SIGNATURE_HEADER: sign(secret, ts, body)}


def verify(secret: str, *, timestamp: str, signature: str, body: bytes, tolerance: float = 300,
           now: float | None = None) -> bool:
    """What a receiver checks: the signature matches and is recent."""
    try:
        age = abs((now if now is not None else time.time()) - int(timestamp))
    except (TypeError, ValueError):
        return False
    return age <= tolerance and hmac.compare_digest(sign(secret, timestamp, body), signature or "")
