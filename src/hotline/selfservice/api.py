"""Public JSON API of the customer self-service (D7i), for an IVR or a
mini-program: no authentication, limited per client address
(``HOTLINE_PUBLIC_RATE``, shared with the page), no personal data in any
answer. POST with a JSON body, so numbers stay out of URLs and access logs.

Errors: 400 bad input (``detail`` in the caller's language, ``field``),
404 nothing found (one answer for every kind of miss), 429 over the limit
(with ``Retry-After``), 422 a body that is not the JSON described.
"""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy, pgettext_lazy
from ninja import Field, Router, Schema
from pydantic import ConfigDict

from hotline.selfservice import services, throttle
from hotline.selfservice.selectors import (
    OrderAnswer,
    OutageAnswer,
    Progress,
    PublicOutage,
)

router = Router(tags=[pgettext_lazy("API tag", "self-service")], auth=None)


class _In(Schema):
    # An IVR may send an account number or a tail as a JSON number.
    model_config = ConfigDict(coerce_numbers_to_str=True)


class OutageLookupIn(_In):
    kind: str = Field("", description=gettext_lazy("account, phone or address"))
    query: str = Field("", description=gettext_lazy("the account number, the phone number, or part of the address"))


class OrderProgressIn(_In):
    number: str = Field("", description=gettext_lazy("the work-order number, e.g. GZ26111700001"))
    phone_tail: str = Field("", description=gettext_lazy(
        "the last four digits of the caller's phone (or of the account's phone)"))


class ErrorOut(Schema):
    detail: str
    field: str | None = Field(None, description=gettext_lazy("the input at fault (400 only)"))


class ValidationItem(Schema):
    loc: list[str | int]
    msg: str
    type: str


class ValidationOut(Schema):
    detail: list[ValidationItem]


class QueryOut(Schema):
    kind: str
    masked: str = Field(description=gettext_lazy("the query as it may be echoed (account ****1234, phone 138****5678; "
                                                 "empty for an address)"))


class OutageOut(Schema):
    number: str
    outage_class: str
    outage_class_label: str
    status: str = Field(description=gettext_lazy("published, started or delayed"))
    status_label: str
    areas: list[str] = Field(description=gettext_lazy("names of the areas the notice names (at most 30)"))
    area_count: int
    planned_start: dt.datetime
    planned_end: dt.datetime = Field(description=gettext_lazy("after a delay, the new end"))
    delayed: bool
    original_end: dt.datetime | None = Field(None, description=gettext_lazy("the end first announced, when delayed"))
    delay_reason: str
    reason: str
    scope: str


class PlaceOut(Schema):
    area: str | None = Field(None, description=gettext_lazy(
        "the area an address matched; null for an account or a phone"))
    active: list[OutageOut]
    upcoming: list[OutageOut] = Field(description=gettext_lazy("published, starting within upcoming_days"))


class OutageAnswerOut(Schema):
    query: QueryOut
    checked_at: dt.datetime
    upcoming_days: int
    precise: bool = Field(description=gettext_lazy("false when an address matched only a township or village"))
    places: list[PlaceOut] = Field(description=gettext_lazy(
        "one per service area (a phone shared by several accounts: several)"))


class StepOut(Schema):
    kind: str = Field(description=gettext_lazy("dispatched, on_site, resolved, replied, closed, cancelled or reopened"))
    label: str
    at: dt.datetime


class ProgressOut(Schema):
    state: str = Field(description=gettext_lazy(
        "accepted, in_progress, on_site, resolved, replied, closed, merged or cancelled"))
    state_label: str
    last_step: StepOut | None
    estimated_restoration_at: dt.datetime | None


class OrderProgressOut(Schema):
    number: str
    business_type: str
    accepted_at: dt.datetime
    progress: ProgressOut
    master: ProgressOut | None = Field(None, description=gettext_lazy(
        "a merged order: the progress of the order it follows"))


ERRORS = {400: ErrorOut, 404: ErrorOut, 422: ValidationOut, 429: ErrorOut}


def limited(request: HttpRequest, response: HttpResponse):
    """(429, body) with Retry-After set when this client is over its limit, else None."""
    verdict = throttle.hit(request)
    if verdict.allowed:
        return None
    response["Retry-After"] = str(verdict.wait)
    return 429, {"detail": services.too_many_message(verdict)}


def _outage(o: PublicOutage) -> dict:
    return {"number": o.number, "outage_class": o.outage_class, "outage_class_label": o.outage_class_label,
            "status": o.status, "status_label": o.status_label, "areas": o.areas, "area_count": o.area_count,
            "planned_start": o.planned_start, "planned_end": o.planned_end, "delayed": o.delayed,
            "original_end": o.original_end, "delay_reason": o.delay_reason, "reason": o.reason, "scope": o.scope}


def outage_answer_out(answer: OutageAnswer) -> dict:
    return {"query": {"kind": answer.query.kind, "masked": answer.query.masked}, "checked_at": answer.checked_at,
            "upcoming_days": answer.upcoming_days, "precise": answer.precise,
            "places": [{"area": p.area or None, "active": [_outage(o) for o in p.active],
                        "upcoming": [_outage(o) for o in p.upcoming]} for p in answer.places]}


def _progress(p: Progress) -> dict:
    step = p.last_step
    return {"state": p.state, "state_label": p.state_label,
            "last_step": {"kind": step.kind, "label": step.label, "at": step.at} if step else None,
            "estimated_restoration_at": p.estimated_restoration_at}


def order_answer_out(answer: OrderAnswer) -> dict:
    return {"number": answer.number, "business_type": answer.business_type, "accepted_at": answer.accepted_at,
            "progress": _progress(answer.progress),
            "master": _progress(answer.master) if answer.master is not None else None}


@router.post("/outages/lookup", auth=None, response={200: OutageAnswerOut, **ERRORS},
             summary=gettext_lazy(
                 "Outages now and in the next days over an account's, a phone's or an address's place"))
def outage_lookup(request, response: HttpResponse, payload: OutageLookupIn):
    over = limited(request, response)
    if over:
        return over
    try:
        answer = services.outage_lookup(kind=payload.kind, query=payload.query)
    except services.BadQuery as exc:
        return 400, {"detail": exc.message, "field": exc.field}
    if answer is None:
        return 404, {"detail": services.outage_not_found(payload.kind.strip().lower())}
    return 200, outage_answer_out(answer)


@router.post("/orders/progress", auth=None, response={200: OrderProgressOut, **ERRORS},
             summary=gettext_lazy("A work order's progress by its number and the last four digits of a phone"))
def order_progress(request, response: HttpResponse, payload: OrderProgressIn):
    over = limited(request, response)
    if over:
        return over
    try:
        answer = services.order_progress(number=payload.number, phone_tail=payload.phone_tail)
    except services.BadQuery as exc:
        return 400, {"detail": exc.message, "field": exc.field}
    if answer is None:
        return 404, {"detail": services.order_not_found()}
    return 200, order_answer_out(answer)
