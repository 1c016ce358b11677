"""POST ``{"id", "to", "text", …payload}`` to the gateway, signed, with the
message's de-duplication key as ``Idempotency-Key``."""

from __future__ import annotations

from django.utils.translation import gettext as _

from hotline.core.channels import _http
from hotline.core.channels.base import ConfigError, Message, Result
from hotline.core.channels.sms_http import conf


def send(message: Message) -> Result:
    try:
        cfg = conf.load()
    except ConfigError as exc:
        return Result.retry(str(exc))
    if not cfg.url:
        return Result.retry(_("The SMS gateway is not configured (HOTLINE_SMS_URL)."))
    number = conf.normalise_phone(message.recipient)
    if number is None:
        return Result.refused(_("recipient: %(value)r is not a phone number.") % {"value": message.recipient})
    payload = message.payload if isinstance(message.payload, dict) else {}
    text = payload.get("text")
    if not isinstance(text, str) or not text.strip():
        return Result.refused(_("payload: the SMS has no text."))
    document = {**payload, "id": message.dedup_key, "to": number, "text": text}
    return _http.deliver(message, url=cfg.url, document=document, secret=cfg.secret, timeout=cfg.timeout,
                         ack_field=cfg.ack_field)
