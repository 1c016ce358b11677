"""Where the engine writes a subject's history.

Every warning, supervision notice, escalation and answer is also an event
of the subject it concerns, written in the same transaction. The engine does
not know how a subject keeps its history: the app owning the subject type
subscribes a writer to the ``timelimits.history`` topic of the core
dispatcher, keyed by the subject type (``workorders.apps`` for work orders),
so this engine imports no domain app.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hotline.core import dispatch

TOPIC = "timelimits.history"


@dataclass
class HistoryEntry:
    subject_id: int
    kind: str
    at: dt.datetime
    payload: dict = field(default_factory=dict)
    actor: Any = None


Writer = Callable[[list[HistoryEntry]], None]


def register(subject_type: str, writer: Writer) -> None:
    """``writer(entries)`` appends the entries, in order, in the caller's
    transaction; one writer per subject type."""
    dispatch.subscribe(TOPIC, lambda entries: writer(entries), key=subject_type)


def append(subject_type: str, entries: list[HistoryEntry]) -> None:
    if not entries:
        return
    try:
        dispatch.publish(TOPIC, key=subject_type, required=True, entries=entries)
    except LookupError:
        # Losing supervision history silently would be worse than failing.
        raise RuntimeError(f"no history writer registered for {subject_type!r}") from None
