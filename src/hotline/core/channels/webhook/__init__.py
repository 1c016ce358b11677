"""Signed webhooks: a JSON POST to the recipient's own URL."""

from hotline.core.channels.base import Channel
from hotline.core.channels.webhook import conf, transport

CHANNEL = Channel(name="webhook", send=transport.send, rate=lambda: conf.load().rate,
                  timeout=lambda: conf.load().timeout, problems=conf.problems)
