"""Where the engine writes a subject's history.

Every warning, supervision notice, escalation and answer is also an event
of the subject it concerns, written in the same transaction. The engine does
not know how a subject keeps its history: the app owning the subject
registers a writer at start-up (``workorders.apps``), so this engine imports
no domain's services.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class HistoryEntry:
    subject_id: int
    kind: str
    at: dt.datetime
    payload: dict = field(default_factory=dict)
    actor: Any = None


Writer = Callable[[list[HistoryEntry]], None]
_writers: dict[str, Writer] = {}


def register(subject: str, writer: Writer) -> None:
    """``writer`` appends the entries, in order, in the caller's transaction."""
    _writers[subject] = writer


def append(subject: str, entries: list[HistoryEntry]) -> None:
    if not entries:
        return
    try:
        writer = _writers[subject]
    except KeyError:
        # Losing supervision history silently would be worse than failing.
        raise RuntimeError(f"no history writer registered for {subject!r}") from None
    writer(entries)
