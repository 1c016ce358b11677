"""A small HTTP client for the HTTP channels: JSON POSTs over keep-alive
connections, one pool per sender thread (no locking), standard library only.

A connection reused from the pool may have been closed by the server while
idle; such a request fails before the server reads it, so it is sent once
more on a fresh connection. Either way the Idempotency-Key makes a repeat
harmless at a receiver that honours it."""

from __future__ import annotations

import http.client
import json
import ssl
import threading
from urllib.parse import urlsplit

from django.utils.translation import gettext as _

from hotline.core.channels.base import Message, Result, signed_headers

_local = threading.local()
_MAX_BODY = 64 * 1024


def _pool() -> dict:
    pool = getattr(_local, "connections", None)
    if pool is None:
        pool = _local.connections = {}
    return pool


def close_all() -> None:
    """Close this thread's connections."""
    for conn in _pool().values():
        conn.close()
    _pool().clear()


def post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> tuple[int, http.client.HTTPMessage, bytes]:
    parts = urlsplit(url)
    key = (parts.scheme, parts.hostname, parts.port, timeout)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    pool = _pool()
    for fresh_try in (False, True):
        conn = None if fresh_try else pool.get(key)
        reused = conn is not None
        if conn is None:
            if parts.scheme == "https":
                conn = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=timeout,
                                                   context=ssl.create_default_context())
            else:
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
            pool[key] = conn
        try:
            conn.request("POST", path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read(_MAX_BODY + 1)
            if resp.will_close or len(data) > _MAX_BODY:
                conn.close()
                pool.pop(key, None)
            return resp.status, resp.headers, data[:_MAX_BODY]
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            conn.close()
            pool.pop(key, None)
            if not reused:
                raise
        except BaseException:
            conn.close()
            pool.pop(key, None)
            raise
    raise AssertionError("unreachable")


def _retry_after(headers) -> float | None:
    raw = headers.get("Retry-After") if headers is not None else None
    try:
        return max(0.0, float(raw)) if raw else None
    except ValueError:
        return None  # an HTTP date: the backoff decides


def deliver(message: Message, *, url: str, document: dict, secret: str, timeout: float, ack_field: str = "") -> Result:
    """POST ``document`` as signed JSON with the message's idempotency key,
    and say how it went."""
    body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json; charset=utf-8", "Idempotency-Key": message.dedup_key,
               "User-Agent": "hotline-outbox"}
    if secret:
        headers.update(signed_headers(secret, body))
    try:
        status, resp_headers, data = post(url, body, headers, timeout)
    except TimeoutError:
        return Result.retry(_("No answer within %(s)g s; the outcome is unknown, so it is sent again with the same "
                              "Idempotency-Key.") % {"s": timeout})
    except (OSError, http.client.HTTPException) as exc:
        return Result.retry(_("Could not reach %(url)s: %(error)s") % {"url": url, "error": exc or type(exc).__name__})
    text = data.decode("utf-8", "replace")[:500]
    if 200 <= status < 300:
        ack = ""
        if ack_field and data:
            try:
                answer = json.loads(data)
                ack = str(answer.get(ack_field) or "") if isinstance(answer, dict) else ""
            except ValueError:
                ack = ""
        return Result.sent(ack=ack[:200])
    error = _("The receiver answered HTTP %(status)d: %(body)s") % {"status": status, "body": text}
    if status in (408, 425, 429) or status >= 500:
        return Result.retry(error, retry_after=_retry_after(resp_headers))
    # Any other 4xx (400 malformed, 404/410 gone, 401/403 refused): sending
    # the same request again cannot succeed.
    return Result.refused(error)
