"""E-mail through Django's mail backends (SMTP in production)."""

from hotline.core.channels.base import Channel
from hotline.core.channels.email import conf, transport

CHANNEL = Channel(name="email", send=transport.send, rate=lambda: conf.load().rate,
                  timeout=lambda: conf.load().timeout, problems=conf.problems)
