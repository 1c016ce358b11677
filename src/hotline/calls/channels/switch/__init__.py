"""Commands to the switch (C1a, C2d): an agent's state and transfers from
the desk, sent to the source's AMI or event socket."""

from hotline.calls.channels.switch import conf, transport
from hotline.core.channels.base import Channel

CHANNEL = Channel(name="switch", send=transport.send, rate=lambda: conf.load().rate,
                  timeout=lambda: conf.load().timeout * 6, problems=conf.problems)
