"""Settings of the e-mail channel. The server is Django's ``EMAIL_*``
settings, which ``hotline.settings`` reads from ``HOTLINE_EMAIL_HOST``,
``HOTLINE_EMAIL_PORT``, ``HOTLINE_EMAIL_USER``, ``HOTLINE_EMAIL_PASSWORD``,
``HOTLINE_EMAIL_USE_TLS`` / ``HOTLINE_EMAIL_USE_SSL``, ``HOTLINE_EMAIL_TIMEOUT``
and ``HOTLINE_EMAIL_FROM``; besides:

| variable | default | meaning |
| --- | --- | --- |
| `HOTLINE_EMAIL_RATE` | `10` | messages per second across all workers (0: no limit) |
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from hotline.core.channels.base import ConfigError, float_setting


@dataclass(frozen=True)
class Config:
    sender: str
    timeout: float
    rate: float


def load() -> Config:
    timeout = getattr(settings, "EMAIL_TIMEOUT", None) or 30.0
    return Config(sender=settings.DEFAULT_FROM_EMAIL, timeout=float(timeout),
                  rate=float_setting("HOTLINE_EMAIL_RATE", 10.0))


def problems() -> list[str]:
    try:
        load()
    except ConfigError as exc:
        return [str(exc)]
    return []
