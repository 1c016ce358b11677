"""Settings of the switch channel, from the environment:

| variable | default | meaning |
| --- | --- | --- |
| `HOTLINE_SWITCH_TIMEOUT` | `5` | seconds to wait for each step (connect, log-in, each answer) |
| `HOTLINE_SWITCH_TTL` | `120` | seconds after which a command not yet delivered is not sent any more (a pause arriving minutes late would contradict what the agent did since); it fails, and the desk says so |
| `HOTLINE_SWITCH_RATE` | `0` | commands per second across all workers (0: no limit) |

Where each switch is (host, port, user, secret) is its event source's
command connection, set by an administrator (docs/switch-commands.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from hotline.core.channels.base import ConfigError, float_setting


@dataclass(frozen=True)
class Config:
    timeout: float
    ttl: float
    rate: float


def load() -> Config:
    return Config(timeout=float_setting("HOTLINE_SWITCH_TIMEOUT", 5.0, minimum=0.1),
                  ttl=float_setting("HOTLINE_SWITCH_TTL", 120.0, minimum=1.0),
                  rate=float_setting("HOTLINE_SWITCH_RATE", 0.0))


def problems() -> list[str]:
    try:
        load()
    except ConfigError as exc:
        return [str(exc)]
    return []
