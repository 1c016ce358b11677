"""The HTTP ingest of call events (C1d). Thin: every rule lives in services.

A switch adapter or a vendor ACD posts batches of normalised events with
its source's token (``Authorization: Bearer hs_…``; a source's token is
issued in the admin or with ``hotline calls source NAME --token``). Safe
to send again: each event is stored once per (source, id), a repeat is
counted as a duplicate (at-least-once delivery is enough), and events may
arrive late or out of order (C1h). The answer counts the batch's events
accepted, duplicate and unplaced (kept, with the reason, and tried again:
C1i).

Errors have the shape of the other routers: 422 with ``detail: [{"loc":
["events", index, field], "msg", "type"}]`` for an event the model does
not allow (nothing of the batch is stored), 401 without a valid source
token, 413 for a body over the size limit. Not rate-limited: a source is
a trusted switch and a storm's events must all get in.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy, pgettext_lazy
from ninja import Field, Router, Schema
from ninja.errors import ValidationError
from ninja.security import HttpBearer
from pydantic import BaseModel

from hotline.calls import services
from hotline.calls.models import EventType, Reason
from hotline.core.apitypes import DateTime


class SourceAuth(HttpBearer):
    """A source's own token, not a user's."""

    def authenticate(self, request, token):
        source = services.source_for_token(token)
        if source is None:
            request.hotline_bad_token = True
            return None
        request.calls_source = source
        request.hotline_rate_key = f"source:{source.pk}"
        return source


router = Router(tags=[pgettext_lazy("API tag", "calls")], auth=SourceAuth(), throttle=[])


# One event of a batch: a plain pydantic model, not a ninja Schema. A batch
# holds thousands, and a Schema's per-object validator (for Django objects,
# which a request body never is) and attribute look-up cost more than the
# rest of reading the batch.
class EventIn(BaseModel):
    id: str = Field(..., min_length=1, max_length=120, description="the event's id at the source (de-duplication)")
    type: EventType = Field(..., description="the normalised event (C1c)")
    at: DateTime = Field(..., description="when it happened; without an offset, the center's time zone")
    call_id: str = Field("", max_length=120, description="the switch's call id (call and survey/recording events)")
    agent: str = Field("", max_length=80, description="the agent as the switch names it (agent events, rings, answers)")
    queue: str = Field("", max_length=60)
    data: dict[str, Any] = Field(default_factory=dict, description=(
        "the event's own fields: caller_number, called_number (offered); wait_s, ring_s (answered, rings); "
        "talk_s, hung_up_by customer|agent (ended); wait_s, reason hangup|timeout|key|empty (abandoned); "
        "target, ends_call (transferred); reason (not_ready); answer 1|2|3 (survey); uri (recording)"))


class BatchIn(Schema):
    events: list[EventIn] = Field(..., min_length=1, max_length=services.MAX_BATCH)


class UnplacedOut(Schema):
    id: str
    reason: str
    reason_label: str


class BatchOut(Schema):
    accepted: int = Field(..., description="new events stored")
    duplicate: int = Field(..., description="events already stored (or twice in the batch): not applied again")
    unplaced: int = Field(..., description="new events kept but not placed yet (tried again)")
    unplaced_events: list[UnplacedOut]


@contextlib.contextmanager
def _event_errors() -> Iterator[None]:
    try:
        yield
    except services.CallEventError as exc:
        loc = ["events", exc.index, exc.field] if exc.index is not None else [exc.field]
        raise ValidationError([{"loc": loc, "msg": exc.message, "type": "value_error"}]) from exc


@router.post("/calls/events", response=BatchOut, summary=gettext_lazy("Send a batch of call events"),
             description=gettext_lazy("Normalised events of one source (its token), stored once each by (source, id); "
                                      "late, repeated and out-of-order events are safe."))
def post_events(request: HttpRequest, payload: BatchIn):
    source = request.calls_source
    with _event_errors():
        events = [services.check_event(services.EventIn(
            source_event_id=e.id, type=e.type.value, occurred_at=e.at, call_id=e.call_id, agent=e.agent,
            queue=e.queue, payload=dict(e.data)), index=i) for i, e in enumerate(payload.events)]
    result = services.ingest(source, events)
    labels = dict(Reason.choices)
    return {"accepted": result.accepted, "duplicate": result.duplicate, "unplaced": result.unplaced,
            "unplaced_events": [{"id": i, "reason": r, "reason_label": str(labels.get(r, r))}
                                for i, r in result.unplaced_events]}
