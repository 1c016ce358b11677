"""The demo channel: one JSON line per message in a file, optionally echoed."""

from hotline.core.channels.base import Channel
from hotline.core.channels.file import conf, transport

CHANNEL = Channel(name="file", send=transport.send, rate=lambda: conf.load().rate, timeout=lambda: 5.0,
                  problems=conf.problems)
