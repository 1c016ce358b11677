"""Settings of the webhook channel, from the environment:

| variable | default | meaning |
| --- | --- | --- |
| `HOTLINE_WEBHOOK_SECRET` | (none) | shared secret of the HMAC-SHA256 signature; unsigned without it |
| `HOTLINE_WEBHOOK_TIMEOUT` | `10` | seconds to wait for the receiver |
| `HOTLINE_WEBHOOK_RATE` | `0` | messages per second across all workers (0: no limit) |
| `HOTLINE_WEBHOOK_ACK_FIELD` | (none) | field of the receiver's JSON answer kept as the receipt |

The recipient of each message is the receiver's URL.
"""

from __future__ import annotations

from dataclasses import dataclass

from hotline.core.channels.base import ConfigError, float_setting, setting


@dataclass(frozen=True)
class Config:
    secret: str
    timeout: float
    rate: float
    ack_field: str


def load() -> Config:
    return Config(secret=setting("HOTLINE_WEBHOOK_SECRET"),
                  timeout=float_setting("HOTLINE_WEBHOOK_TIMEOUT", 10.0, minimum=0.1),
                  rate=float_setting("HOTLINE_WEBHOOK_RATE", 0.0), ack_field=setting("HOTLINE_WEBHOOK_ACK_FIELD", ""))


def problems() -> list[str]:
    try:
        load()
    except ConfigError as exc:
        return [str(exc)]
    return []
