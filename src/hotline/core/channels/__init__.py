"""Outbox channels, registered by name. Each channel is a folder of its own
(``transport.py``: ``send(message) -> Result``; ``conf.py``: its settings and
their validation); an app adds one with :func:`register` in its ready()."""

from __future__ import annotations

from importlib import import_module

from hotline.core.channels.base import Channel, ConfigError, Message, Result, sign, signed_headers, verify

__all__ = ["Channel", "ConfigError", "Message", "Result", "get", "names", "register", "sign", "signed_headers",
           "verify"]

_registry: dict[str, Channel] = {}
BUILT_IN = ("sms_http", "email", "webhook", "file")


def register(channel: Channel) -> Channel:
    _registry[channel.name] = channel
    return channel


def unregister(name: str) -> None:
    _registry.pop(name, None)


def get(name: str) -> Channel:
    try:
        return _registry[name]
    except KeyError:
        raise LookupError(f"channel: no outbox channel {name!r}; registered: {', '.join(sorted(_registry))}") from None


def names() -> list[str]:
    return list(_registry)


for _name in BUILT_IN:
    register(import_module(f"hotline.core.channels.{_name}").CHANNEL)
