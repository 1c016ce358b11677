"""One mail per message. Its Message-ID is derived from the de-duplication
key, so a mail sent again after an unknown outcome carries the same id and
a receiving system that de-duplicates by Message-ID keeps one."""

from __future__ import annotations

import hashlib
import smtplib

from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from hotline.core.channels.base import ConfigError, Message, Result
from hotline.core.channels.email import conf


def message_id(dedup_key: str, sender: str) -> str:
    domain = sender.rpartition("@")[2].strip(" >") or "hotline.invalid"
    return f"<{hashlib.sha256(dedup_key.encode()).hexdigest()[:40]}@{domain}>"


def _smtp_result(code: int, text, what: str) -> Result:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    error = _("The mail server refused the %(what)s: %(code)d %(text)s") % {"what": what, "code": code, "text": text}
    # 5xx: the server will refuse it again; 4xx: try later.
    return Result.refused(error) if 500 <= code < 600 else Result.retry(error)


def send(message: Message) -> Result:
    try:
        cfg = conf.load()
    except ConfigError as exc:
        return Result.retry(str(exc))
    to = (message.recipient or "").strip()
    try:
        validate_email(to)
    except ValidationError:
        return Result.refused(_("recipient: %(value)r is not an e-mail address.") % {"value": message.recipient})
    payload = message.payload if isinstance(message.payload, dict) else {}
    subject, body = payload.get("subject"), payload.get("body")
    if not isinstance(subject, str) or not subject.strip():
        return Result.refused(_("payload: the mail has no subject."))
    if not isinstance(body, str):
        return Result.refused(_("payload: the mail has no body."))
    mail = EmailMultiAlternatives(subject=subject.replace("\n", " "), body=body, from_email=cfg.sender, to=[to],
                                  headers={"Message-ID": message_id(message.dedup_key, cfg.sender),
                                           "X-Hotline-Idempotency-Key": message.dedup_key})
    if isinstance(payload.get("html"), str):
        mail.attach_alternative(payload["html"], "text/html")
    try:
        with get_connection(fail_silently=False) as connection:
            connection.send_messages([mail])
    except smtplib.SMTPRecipientsRefused as exc:
        code, text = next(iter(exc.recipients.values()), (550, b""))
        return _smtp_result(code, text, _("recipient"))
    except smtplib.SMTPAuthenticationError as exc:
        # The installation's credentials, not this message: retry once fixed.
        return Result.retry(_("The mail server refused the login: %(code)d %(text)s")
                            % {"code": exc.smtp_code, "text": exc.smtp_error.decode("utf-8", "replace")})
    except smtplib.SMTPSenderRefused as exc:
        return _smtp_result(exc.smtp_code, exc.smtp_error, _("sender"))
    except smtplib.SMTPResponseException as exc:
        return _smtp_result(exc.smtp_code, exc.smtp_error, _("message"))
    except TimeoutError:
        return Result.retry(_("The mail server did not answer within %(s)g s.") % {"s": cfg.timeout})
    except (OSError, smtplib.SMTPException) as exc:
        return Result.retry(_("Could not reach the mail server: %(error)s") % {"error": exc or type(exc).__name__})
    return Result.sent()
