"""What ingest derived, read back in the shape the adapter tests write
their hand-worked expectations in (one place for every adapter's tests)."""

from __future__ import annotations

from collections.abc import Sequence

from hotline.calls.models import (
    AgentState,
    Call,
    CallEvent,
    CallRing,
    EventType,
    Placement,
    Reason,
)


def derived_calls(source, fields: Sequence[str]) -> dict[str, dict]:
    """The source's calls by call id, each as ``{field: value}``."""
    return {c["call_id"]: {k: c[k] for k in fields}
            for c in Call.objects.filter(source=source).values("call_id", *fields)}


def derived_rings(source) -> dict[str, list[tuple]]:
    """Every call's rings in order, as ``(agent_ref, outcome, ring_s)``."""
    out: dict[str, list] = {}
    for r in CallRing.objects.filter(call__source=source).order_by("call__call_id", "seq").values(
            "call__call_id", "agent_ref", "outcome", "ring_s"):
        out.setdefault(r["call__call_id"], []).append((r["agent_ref"], r["outcome"], r["ring_s"]))
    return out


def check_fixture_day(source, world, *, calls: dict, rings: dict, not_ready: tuple, logged_out_at,
                      unknown_event: str) -> None:
    """The adapters' fixture day: the calls and rings worked out by hand,
    the first agent not ready with ``not_ready = (reason, since)``, the
    second logged out at ``logged_out_at``, and the one line the adapter
    does not know kept as unplaced (C1i)."""
    fields = list(next(iter(calls.values())))
    assert derived_calls(source, fields) == calls
    assert derived_rings(source) == rings
    one, two = AgentState.objects.get(user=world.agent), AgentState.objects.get(user=world.agent2)
    assert (one.state, one.reason, one.since) == ("not_ready", *not_ready)
    assert (two.state, two.since) == ("logged_out", logged_out_at)
    unplaced = list(CallEvent.objects.filter(source=source, state=Placement.UNPLACED).values_list(
        "reason", "type", "payload"))
    assert [(r, t, p["event"]) for r, t, p in unplaced] == [(Reason.UNKNOWN_EVENT, EventType.UNKNOWN, unknown_event)]
