"""Outbox settings, from the environment (or ``settings.HOTLINE_OUTBOX_ENV``):

| variable | default | meaning |
| --- | --- | --- |
| `HOTLINE_OUTBOX_MAX_ATTEMPTS` | `8` | attempts before a message fails for good |
| `HOTLINE_OUTBOX_BACKOFF` | `30` | seconds before the first retry; doubled each time, with jitter |
| `HOTLINE_OUTBOX_BACKOFF_MAX` | `3600` | longest wait between two attempts |
| `HOTLINE_OUTBOX_LEASE` | `30` | seconds a claim holds its messages beyond the sends' own timeouts |
| `HOTLINE_OUTBOX_BATCH` | `20` | messages one sender claims at a time (their lease covers all of them timing out: a killed worker's messages go again after `LEASE` + `BATCH` × the channel's timeout) |
| `HOTLINE_OUTBOX_THREADS` | `4` | sender threads per worker |
| `HOTLINE_OUTBOX_INTERVAL` | `1` | seconds between two looks for due messages when idle |
"""

from __future__ import annotations

from dataclasses import dataclass

from hotline.core.channels.base import ConfigError, float_setting


@dataclass(frozen=True)
class Config:
    max_attempts: int
    backoff: float
    backoff_max: float
    lease: float
    batch: int
    threads: int
    interval: float


def load() -> Config:
    def whole(name: str, default: int, minimum: int = 1) -> int:
        value = float_setting(name, default, minimum=minimum)
        if value != int(value):
            raise ConfigError(name, "must be a whole number")
        return int(value)

    return Config(max_attempts=whole("HOTLINE_OUTBOX_MAX_ATTEMPTS", 8),
                  backoff=float_setting("HOTLINE_OUTBOX_BACKOFF", 30.0, minimum=0.0),
                  backoff_max=float_setting("HOTLINE_OUTBOX_BACKOFF_MAX", 3600.0, minimum=0.0),
                  lease=float_setting("HOTLINE_OUTBOX_LEASE", 30.0, minimum=1.0),
                  batch=whole("HOTLINE_OUTBOX_BATCH", 20), threads=whole("HOTLINE_OUTBOX_THREADS", 4),
                  interval=float_setting("HOTLINE_OUTBOX_INTERVAL", 1.0, minimum=0.05))
