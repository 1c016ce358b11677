"""The one in-process dispatcher for reactions across apps.

An app that owns a fact publishes it by topic name; other apps subscribe in
their ``AppConfig.ready()``. Receivers run synchronously, in the publisher's
transaction, in the order they subscribed, so a reaction commits or rolls
back with the fact that caused it, and an exception in a receiver aborts the
whole change (nothing is half done). Side effects that leave the building
go through the outbox, not here.

Topics in use (publisher → typical receivers):

- ``timelimits.history`` (the time-limit engine: warnings, notices,
  escalations, answers, reminders) → the app owning each subject type writes
  them into the subject's history; ``subject_type`` names it, exactly one
  receiver per subject type (``subscribe(..., key=subject_type)``).
- ``workorders.created`` (order, actor, at: a new order, numbered, its
  events and clocks written) and ``workorders.transition`` (order, action,
  actor, at: after each life-cycle action) → apps that follow orders.
- ``outages.event`` (every outage revision) → e.g. the publication
  lead-time clocks, subscribers' messages.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Receiver = Callable[..., Any]
_receivers: dict[str, list[tuple[str | None, Receiver]]] = {}


def subscribe(topic: str, receiver: Receiver, *, key: str | None = None) -> None:
    """Subscribe ``receiver`` to ``topic``. With ``key`` the receiver is the
    topic's one receiver for that key (``publish(..., key=…)`` calls only
    it); subscribing the same receiver twice is a no-op (``ready()`` may run
    twice in tests)."""
    entries = _receivers.setdefault(topic, [])
    for i, (k, r) in enumerate(entries):
        if r is receiver and k == key:
            return
        if key is not None and k == key:
            entries[i] = (key, receiver)  # a keyed receiver replaces the previous one
            return
    entries.append((key, receiver))


def unsubscribe(topic: str, receiver: Receiver) -> None:
    _receivers[topic] = [(k, r) for k, r in _receivers.get(topic, []) if r is not receiver]


def publish(topic: str, *, key: str | None = None, required: bool = False, **payload: Any) -> list[Any]:
    """Call the topic's receivers with ``payload`` and return their results.

    ``key``: only the receiver subscribed under that key. ``required``: fail
    when nobody receives it — for facts that must not be dropped silently,
    such as supervision history."""
    entries = _receivers.get(topic, [])
    if key is not None:
        entries = [(k, r) for k, r in entries if k == key]
    if required and not entries:
        raise LookupError(f"nobody receives {topic!r}" + (f" for {key!r}" if key else ""))
    return [receiver(**payload) for _k, receiver in entries]


def receivers(topic: str) -> list[Receiver]:
    return [r for _k, r in _receivers.get(topic, [])]
