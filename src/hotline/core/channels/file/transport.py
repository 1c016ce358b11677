"""Append ``{"at", "id", "to", "source", "attempt", "payload"}`` as one line.
One ``write`` of a whole line to a file opened for appending, so lines of
several workers never interleave."""

from __future__ import annotations

import json
import os
import sys

from django.core.serializers.json import DjangoJSONEncoder
from django.utils.translation import gettext as _

from hotline.core import clock
from hotline.core.channels.base import ConfigError, Message, Result
from hotline.core.channels.file import conf


def send(message: Message) -> Result:
    try:
        cfg = conf.load()
    except ConfigError as exc:
        return Result.retry(str(exc))
    line = json.dumps({"at": clock.now().isoformat(), "id": message.dedup_key, "to": message.recipient,
                       "source": message.source, "attempt": message.attempts, "payload": message.payload},
                      ensure_ascii=False, cls=DjangoJSONEncoder) + "\n"
    try:
        cfg.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(cfg.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)
    except OSError as exc:
        return Result.retry(_("Could not write %(path)s: %(error)s") % {"path": cfg.path, "error": exc})
    if cfg.echo:
        sys.stdout.write(f"outbox {message.channel} → {message.recipient}: {line}")
        sys.stdout.flush()
    return Result.sent()
