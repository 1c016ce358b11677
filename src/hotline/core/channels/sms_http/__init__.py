"""SMS through an HTTP gateway: a signed JSON POST per message."""

from hotline.core.channels.base import Channel
from hotline.core.channels.sms_http import conf, transport

CHANNEL = Channel(name="sms_http", send=transport.send, rate=lambda: conf.load().rate,
                  timeout=lambda: conf.load().timeout, problems=conf.problems)
