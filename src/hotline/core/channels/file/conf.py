"""Settings of the file channel, from the environment:

| variable | default | meaning |
| --- | --- | --- |
| `HOTLINE_OUTBOX_FILE` | `outbox.jsonl` | the file, relative to `HOTLINE_DATA_DIR` unless absolute |
| `HOTLINE_OUTBOX_ECHO` | off | also print each line on the worker's console |
| `HOTLINE_FILE_RATE` | `0` | messages per second (0: no limit) |
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from hotline.core.channels.base import ConfigError, float_setting, setting


@dataclass(frozen=True)
class Config:
    path: Path
    echo: bool
    rate: float


def load() -> Config:
    path = Path(setting("HOTLINE_OUTBOX_FILE", "outbox.jsonl"))
    if not path.is_absolute():
        path = Path(settings.DATA_DIR) / path
    echo = setting("HOTLINE_OUTBOX_ECHO", "").strip().lower() in {"1", "true", "yes", "on"}
    return Config(path=path, echo=echo, rate=float_setting("HOTLINE_FILE_RATE", 0.0))


def problems() -> list[str]:
    try:
        load()
    except ConfigError as exc:
        return [str(exc)]
    return []
