"""What the two command senders (AMI, ESL) share: the connection a source
names, values made safe for a line protocol, and how a send ended.

The senders run in the outbox's sender threads (``calls/channels/switch``),
outside any transaction: the source is read before the event loop starts,
the conversation with the switch is asyncio on a loop of the send's own,
and the answer is a ``core.channels.Result`` — ``sent(ack)`` when the switch
confirmed (the message becomes *acknowledged*), ``refused`` when it said no
(failed, with its words), ``retry`` when it could not be reached or dropped
the connection before answering a command that is safe to send again.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from django.utils.translation import gettext as _

from hotline.calls.models import DEFAULT_COMMAND_PORTS


class CommandValueError(ValueError):
    """A value that cannot go into a command line (a line break would start
    another header or command)."""


@dataclass(frozen=True)
class Connection:
    host: str
    port: int
    username: str
    secret: str

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"


def secret_of(value: str) -> str:
    """The secret as configured: ``env:NAME`` is the environment variable NAME."""
    value = value or ""
    if value.startswith("env:"):
        return os.environ.get(value[4:].strip(), "")
    return value


def connection_of(source) -> Connection:
    return Connection(host=source.command_host.strip(),
                      port=source.command_port or DEFAULT_COMMAND_PORTS.get(source.kind, 0),
                      username=source.command_username.strip(), secret=secret_of(source.command_secret))


def clean(value: str, *, spaces: bool = True) -> str:
    """A value for a header or a command argument: no control characters
    (and, where the protocol splits on them, no spaces or quotes)."""
    text = str(value or "").strip()
    if not text.isprintable() or (not spaces and any(c in text for c in " '\"")):
        raise CommandValueError(text)
    return text


def lost(where: str, exc: BaseException | None = None) -> str:
    detail = f"{type(exc).__name__}: {exc}" if exc is not None and str(exc) else (type(exc).__name__ if exc else "")
    return _("The switch at %(where)s closed the connection before answering%(detail)s") % {
        "where": where, "detail": f" ({detail})" if detail else ""}


def unreachable(where: str, exc: BaseException) -> str:
    return _("Cannot reach the switch at %(where)s: %(error)s") % {
        "where": where, "error": str(exc) or type(exc).__name__}


def run(coroutine):
    """Run a send's conversation on an event loop of its own: here (an
    outbox sender thread has none), or in a thread of its own when this
    thread already runs a loop (an async caller, Playwright's sync API)."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="switch-command") as pool:
        return pool.submit(asyncio.run, coroutine).result()
