"""Outage notices over the JSON API. Thin: every rule lives in services.

Errors have the shape of the other routers: a field's problem answers 422
with ``detail: [{"loc": [field], "msg", "type"}]`` (an import's, one item
per problem with ``loc: ["file", row, column]``), an action the status does
not allow 409, a role that may not 403, an unknown outage 404.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator

from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from ninja import Field, File, Query, Router, Schema
from ninja.errors import HttpError, ValidationError
from ninja.files import UploadedFile

from hotline.core.apitypes import Date, DateTime, Id, Offset, described
from hotline.organisation.models import CENTER_ROLES, ServiceArea
from hotline.outages import access, imports, selectors, services
from hotline.outages.models import Outage, OutageClass, OutageStatus, Subscription, SubscriptionChannel
from hotline.workorders.access import visible_customers  # the one access policy for customers

TAG = pgettext_lazy("API tag", "outages")
router = Router(tags=[TAG])

MAX_UPLOAD_BYTES = 20 * 1024 * 1024


@contextlib.contextmanager
def _service_errors() -> Iterator[None]:
    try:
        yield
    except services.OutageError as exc:
        raise ValidationError([{"loc": [exc.field], "msg": exc.message, "type": "value_error"}]) from exc
    except services.OutageStateError as exc:
        raise HttpError(409, str(exc)) from exc
    except imports.ImportRejected as exc:
        raise ValidationError([{"loc": ["file", e.row, e.column], "msg": e.message, "type": "value_error"}
                               for e in exc.errors]) from exc


class OutageIn(Schema):
    outage_class: OutageClass
    area_ids: list[Id] = Field(..., min_length=1, max_length=services.MAX_AREAS,
                                description=gettext_lazy(
                                    "service areas; a township or village covers everything below it"))
    planned_start: DateTime | None = Field(None, description=gettext_lazy("a grid fault's defaults to its trip time"))
    planned_end: DateTime
    reason: str = Field(..., min_length=1, max_length=services.MAX_REASON)
    scope: str = Field("", max_length=services.MAX_SCOPE)
    lines: list[str] = Field(default_factory=list, max_length=imports.MAX_ITEMS)
    transformers: list[str] = Field(default_factory=list, max_length=imports.MAX_ITEMS)
    occurred_at: DateTime | None = Field(None, description=gettext_lazy("the trip time of a grid fault outage"))
    number: str = Field("", max_length=40, description=gettext_lazy("dispatch's number; empty: the system gives one"))
    publish: bool = Field(False, description=gettext_lazy("publish at once (else a draft)"))


class ReviseIn(Schema):
    model_config = described(gettext_lazy("Only the fields sent are changed."))

    outage_class: OutageClass | None = Field(None, description=gettext_lazy("a draft's only"))
    area_ids: list[Id] | None = Field(None, min_length=1, max_length=services.MAX_AREAS)
    planned_start: DateTime | None = None
    planned_end: DateTime | None = None
    reason: str | None = Field(None, min_length=1, max_length=services.MAX_REASON)
    scope: str | None = Field(None, max_length=services.MAX_SCOPE)
    lines: list[str] | None = Field(None, max_length=imports.MAX_ITEMS)
    transformers: list[str] | None = Field(None, max_length=imports.MAX_ITEMS)
    occurred_at: DateTime | None = None
    note: str = Field("", max_length=500)


class StartIn(Schema):
    actual_start: DateTime | None = Field(None, description=gettext_lazy("default: the trip time of a fault, else now"))


class DelayIn(Schema):
    new_end: DateTime
    reason: str = Field(..., min_length=1, max_length=services.MAX_REASON)


class RestoreIn(Schema):
    actual_restoration: DateTime | None = Field(None, description=gettext_lazy("default: now"))
    actual_start: DateTime | None = Field(None, description=gettext_lazy(
        "needed when the outage was never marked as started"))


class CancelIn(Schema):
    reason: str = Field(..., min_length=1, max_length=services.MAX_REASON)


class AreaOut(Schema):
    id: int
    code: str
    name: str


class OutageOut(Schema):
    number: str
    outage_class: str
    outage_class_label: str
    status: str
    status_label: str
    publishing_unit: str
    areas: list[AreaOut]
    lines: list[str]
    transformers: list[str]
    planned_start: dt.datetime
    planned_end: dt.datetime
    actual_start: dt.datetime | None
    actual_restoration: dt.datetime | None
    occurred_at: dt.datetime | None
    reason: str
    scope: str
    created_at: dt.datetime
    published_at: dt.datetime | None
    updated_at: dt.datetime


class OutagePageOut(Schema):
    count: int
    limit: int
    offset: int
    items: list[OutageOut]


class EventOut(Schema):
    seq: int
    kind: str  # the outage's own kinds, and what other apps write (the time-limit engine's notices)
    at: dt.datetime
    actor: str | None
    actor_role: str
    payload: dict


class ImportOut(Schema):
    imported: int
    numbers: list[str]


class SubscriptionIn(Schema):
    customer_id: Id | None = Field(None, description=gettext_lazy("subscribe an account …"))
    area_id: Id | None = Field(None, description=gettext_lazy("… or a service area"))
    channel: SubscriptionChannel
    address: str = Field(..., min_length=1, max_length=254,
                         description=gettext_lazy("a mobile number (sms) or an e-mail address"))


class SubscriptionOut(Schema):
    id: int
    customer_id: int | None
    area_id: int | None
    channel: str
    address: str
    active: bool
    created_at: dt.datetime
    cancelled_at: dt.datetime | None


class ListFilters(Schema):
    status: OutageStatus | None = None
    active: bool = Field(False, description=gettext_lazy("published, power off or delayed"))
    outage_class: OutageClass | None = None
    area_id: Id | None = Field(None, description=gettext_lazy("outages over, above or inside this area"))
    day: Date | None = Field(None, description=gettext_lazy("planned window overlapping this day"))
    limit: int = Field(50, ge=1, le=500)
    offset: Offset = 0


def _outage_out(outage: Outage) -> dict:
    return {
        "number": outage.number, "outage_class": outage.outage_class,
        "outage_class_label": str(outage.get_outage_class_display()), "status": outage.status,
        "status_label": str(outage.get_status_display()), "publishing_unit": str(outage.publishing_unit),
        "areas": [{"id": a.id, "code": a.code, "name": str(a)} for a in outage.areas.all()],
        "lines": outage.lines, "transformers": outage.transformers, "planned_start": outage.planned_start,
        "planned_end": outage.planned_end, "actual_start": outage.actual_start,
        "actual_restoration": outage.actual_restoration, "occurred_at": outage.occurred_at, "reason": outage.reason,
        "scope": outage.scope, "created_at": outage.created_at, "published_at": outage.published_at,
        "updated_at": outage.updated_at,
    }


def _get(number: str) -> Outage:
    outage = selectors.get_outage(number)
    if outage is None:
        raise Http404(_("Outage notice %(number)s not found.") % {"number": number})
    return outage


def _fresh(outage: Outage) -> dict:
    return _outage_out(Outage.objects.select_related("publishing_unit").prefetch_related("areas").get(pk=outage.pk))


def _require_publisher(request: HttpRequest) -> None:
    if not access.may_publish(request.user):
        raise services.NotAllowed(_("You may not publish outages."))


@router.get("/outages", response=OutagePageOut, summary=gettext_lazy("List outage notices"))
def list_outages(request: HttpRequest, filters: Query[ListFilters]):
    status = "active" if filters.active else (filters.status.value if filters.status else "")
    qs = selectors.outage_list(status=status, outage_class=filters.outage_class.value if filters.outage_class else "",
                               area_id=filters.area_id, day=filters.day).prefetch_related("areas")
    total = qs.count()
    page = list(qs[filters.offset: filters.offset + filters.limit])
    return {"count": total, "limit": filters.limit, "offset": filters.offset, "items": [_outage_out(o) for o in page]}


@router.get("/outages/covering", response=list[OutageOut], summary=gettext_lazy("Outages over a place now"),
            description=gettext_lazy(
                "Published outages whose planned window covers the moment, and outages with the power off not yet "
                "restored, over a service area or a customer's area (a township's or village's outage covers the areas "
                "below it)."))
def covering(request: HttpRequest, service_area_id: Id | None = None, customer_id: Id | None = None,
             at: DateTime | None = None):
    customer = get_object_or_404(visible_customers(request.user), pk=customer_id) if customer_id is not None else None
    if customer is None and service_area_id is None:
        raise ValidationError([{"loc": ["service_area_id"], "msg": _("Name a service area or a customer."),
                                "type": "value_error"}])
    qs = selectors.active_outages_covering(service_area_id, customer=customer, at=at)
    return [_outage_out(o) for o in qs.select_related("publishing_unit").prefetch_related("areas")]


@router.post("/outages", response={201: OutageOut}, summary=gettext_lazy("Draft (or publish) an outage notice"))
def create_outage(request: HttpRequest, payload: OutageIn):
    _require_publisher(request)
    data = payload.dict()
    publish = data.pop("publish")
    with _service_errors():
        outage = services.draft(actor=request.user, data=services.OutageInput(**data), publish=publish)
    return 201, _fresh(outage)


@router.post("/outages/import", response={201: ImportOut}, summary=gettext_lazy("Import planned outages (CSV or xlsx)"),
             description=gettext_lazy(
                 "Columns: 停电类型, 开始时间, 结束时间, 停电区域编码 (codes separated by ; or 、), 原因; optional 编号, 线路, "
                 "变压器, 停电范围, 跳闸时间. Every row is checked first: if any is bad nothing is imported and the answer "
                 "(422) names each problem's row and column; else every outage is published in one transaction."))
def import_file(request: HttpRequest, file: File[UploadedFile]):
    _require_publisher(request)
    if file.size > MAX_UPLOAD_BYTES:
        raise HttpError(413, _("The file is larger than 20 MB."))
    with _service_errors():
        result = services.import_outages(data=file.read(), filename=file.name or "", actor=request.user)
    return 201, {"imported": len(result.outages), "numbers": [o.number for o in result.outages]}


@router.get("/outages/{number}", response=OutageOut, summary=gettext_lazy("One outage notice"))
def get_outage(request: HttpRequest, number: str):
    return _fresh(_get(number))


@router.get("/outages/{number}/events", response=list[EventOut], summary=gettext_lazy("The outage's revision history"))
def events(request: HttpRequest, number: str):
    outage = _get(number)
    return [{"seq": e.seq, "kind": e.kind, "at": e.at, "actor": str(e.actor) if e.actor else None,
             "actor_role": e.actor_role, "payload": e.payload}
            for e in outage.events.select_related("actor").order_by("seq")]


@router.post("/outages/{number}/publish", response=OutageOut, summary=gettext_lazy("Publish a draft"))
def publish(request: HttpRequest, number: str):
    with _service_errors():
        outage = services.publish(outage=_get(number), actor=request.user)
    return _fresh(outage)


@router.post("/outages/{number}/revise", response=OutageOut,
             summary=gettext_lazy("Revise times, areas, reason, scope or devices"))
def revise(request: HttpRequest, number: str, payload: ReviseIn):
    data = payload.dict(exclude_unset=True)
    note = data.pop("note", "")
    with _service_errors():
        outage = services.revise(outage=_get(number), actor=request.user, changes=data, note=note)
    return _fresh(outage)


@router.post("/outages/{number}/start", response=OutageOut, summary=gettext_lazy("The power went off"))
def start(request: HttpRequest, number: str, payload: StartIn):
    with _service_errors():
        outage = services.start(outage=_get(number), actor=request.user, actual_start=payload.actual_start)
    return _fresh(outage)


@router.post("/outages/{number}/delay", response=OutageOut, summary=gettext_lazy("Delay the restoration"))
def delay(request: HttpRequest, number: str, payload: DelayIn):
    with _service_errors():
        outage = services.delay(outage=_get(number), actor=request.user, new_end=payload.new_end, reason=payload.reason)
    return _fresh(outage)


@router.post("/outages/{number}/restore", response=OutageOut, summary=gettext_lazy("The power is back"))
def restore(request: HttpRequest, number: str, payload: RestoreIn):
    with _service_errors():
        outage = services.restore(outage=_get(number), actor=request.user,
                                  actual_restoration=payload.actual_restoration, actual_start=payload.actual_start)
    return _fresh(outage)


@router.post("/outages/{number}/cancel", response=OutageOut,
             summary=gettext_lazy("Cancel an outage before the power goes off"))
def cancel(request: HttpRequest, number: str, payload: CancelIn):
    with _service_errors():
        outage = services.cancel(outage=_get(number), actor=request.user, reason=payload.reason)
    return _fresh(outage)


def _may_subscribe(request: HttpRequest) -> None:
    # Agents record a caller's subscription (订阅服务, D1i); the customers'
    # own pages call the service directly.
    user = request.user
    if not (user.role in CENTER_ROLES or access.is_admin(user)):
        raise services.NotAllowed(_("Only the center records subscriptions."))


def _subscription_out(s: Subscription) -> dict:
    return {"id": s.id, "customer_id": s.customer_id, "area_id": s.area_id, "channel": s.channel,
            "address": s.address, "active": s.active, "created_at": s.created_at, "cancelled_at": s.cancelled_at}


@router.post("/outage-subscriptions", response={201: SubscriptionOut}, tags=[TAG],
             summary=gettext_lazy("Subscribe an account or a service area to outage notices"))
def subscribe(request: HttpRequest, payload: SubscriptionIn):
    _may_subscribe(request)
    customer = (get_object_or_404(visible_customers(request.user), pk=payload.customer_id)
                if payload.customer_id is not None else None)
    area = get_object_or_404(ServiceArea, pk=payload.area_id) if payload.area_id is not None else None
    with _service_errors():
        subscription = services.subscribe(channel=payload.channel.value, address=payload.address, customer=customer,
                                          area=area, actor=request.user)
    return 201, _subscription_out(subscription)


@router.post("/outage-subscriptions/{subscription_id}/cancel", response=SubscriptionOut, tags=[TAG],
             summary=gettext_lazy("Cancel a subscription"))
def cancel_subscription(request: HttpRequest, subscription_id: Id):
    _may_subscribe(request)
    subscription = get_object_or_404(Subscription, pk=subscription_id)
    return _subscription_out(services.cancel_subscription(subscription=subscription, actor=request.user))
