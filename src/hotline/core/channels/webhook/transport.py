"""POST ``{"id", "source", "data"}`` to the recipient URL, signed, with the
message's de-duplication key as ``Idempotency-Key``."""

from __future__ import annotations

from django.utils.translation import gettext as _

from hotline.core.channels import _http
from hotline.core.channels.base import ConfigError, Message, Result, check_url
from hotline.core.channels.webhook import conf


def send(message: Message) -> Result:
    try:
        cfg = conf.load()
    except ConfigError as exc:
        return Result.retry(str(exc))
    try:
        url = check_url("recipient", (message.recipient or "").strip())
    except ConfigError:
        return Result.refused(_("recipient: %(value)r is not an http:// or https:// URL.") % {"value": message.recipient})
    document = {"id": message.dedup_key, "source": message.source, "data": message.payload}
    return _http.deliver(message, url=url, document=document, secret=cfg.secret, timeout=cfg.timeout,
                         ack_field=cfg.ack_field)
