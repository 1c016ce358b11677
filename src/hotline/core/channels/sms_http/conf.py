"""Settings of the SMS gateway channel, from the environment:

| variable | default | meaning |
| --- | --- | --- |
| `HOTLINE_SMS_URL` | (none) | the gateway's endpoint, http(s) |
| `HOTLINE_SMS_SECRET` | (none) | shared secret of the HMAC-SHA256 signature; required with a URL |
| `HOTLINE_SMS_TIMEOUT` | `10` | seconds to wait for the gateway |
| `HOTLINE_SMS_RATE` | `50` | messages per second across all workers (0: no limit) |
| `HOTLINE_SMS_ACK_FIELD` | `message_id` | field of the gateway's JSON answer kept as the receipt |
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hotline.core.channels.base import ConfigError, check_url, float_setting, setting

_PHONE = re.compile(r"^\+?[0-9]{5,20}$")


@dataclass(frozen=True)
class Config:
    url: str
    secret: str
    timeout: float
    rate: float
    ack_field: str


def load() -> Config:
    url = setting("HOTLINE_SMS_URL").strip()
    secret = setting("HOTLINE_SMS_SECRET")
    if url:
        check_url("HOTLINE_SMS_URL", url)
        if not secret:
            raise ConfigError("HOTLINE_SMS_SECRET", "is required when HOTLINE_SMS_URL is set (requests are signed)")
    return Config(url=url, secret=secret, timeout=float_setting("HOTLINE_SMS_TIMEOUT", 10.0, minimum=0.1),
                  rate=float_setting("HOTLINE_SMS_RATE", 50.0), ack_field=setting("HOTLINE_SMS_ACK_FIELD", "message_id"))


def problems() -> list[str]:
    try:
        load()
    except ConfigError as exc:
        return [str(exc)]
    return []


def normalise_phone(recipient: str) -> str | None:
    """The number as the gateway gets it, or None if it is no phone number."""
    number = re.sub(r"[\s\-()]", "", recipient or "")
    return number if _PHONE.match(number) else None
