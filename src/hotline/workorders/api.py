from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from ninja import Field, Path, Query, Router, Schema

from hotline.catalog.models import MAX_TEXT_LENGTH
from hotline.core import phones
from hotline.core.apitypes import DateTime, Id, Offset, described
from hotline.organisation.selectors import find_customers
from hotline.timelimits.models import Clock, Notice
from hotline.timelimits.services import answer_notice
from hotline.workorders import access, selectors, services
from hotline.workorders.models import State, WorkOrder

router = Router(tags=[pgettext_lazy("API tag", "work orders")])


class ContactIn(Schema):
    model_config = described(gettext_lazy("The contact an order comes from, as its source knows it."))

    source: str = Field(..., min_length=1, max_length=60, description=gettext_lazy("e.g. the switch's name"))
    source_id: str = Field("", max_length=120,
                           description=gettext_lazy("the source's id of the contact (a call's unique id)"))
    caller_number: str = Field("", max_length=40)
    queue: str = Field("", max_length=60)
    recording_ref: str = Field("", max_length=300)
    started_at: DateTime | None = None
    ended_at: DateTime | None = None


class OrderIn(Schema):
    business_type: str = Field(..., max_length=30, description=gettext_lazy(
        "repair, complaint, report, opinion, suggestion, praise, inquiry, service_request"))
    sub_class: str = Field("", max_length=40)
    priority: str = Field("", max_length=20)
    description: str = Field(..., min_length=1, max_length=4000)
    customer_id: Id | None = None
    caller_name: str = Field("", max_length=100)
    caller_phone: str = Field("", max_length=40)
    address: str = Field("", max_length=300)
    service_area_id: Id | None = None
    fault_scope: str = Field("", max_length=20)
    paid_service: bool = False
    anonymous: bool = False
    reply_wanted: bool = True
    virtual_number: bool = False
    dispatch: bool = True
    merge_into: str = Field("", max_length=24)
    assigned_unit_id: Id | None = None
    contact_id: Id | None = Field(None, description=gettext_lazy("an existing contact (e.g. the call that rang)"))
    contact: ContactIn | None = Field(None, description=gettext_lazy(
        "or the contact described; else the request itself is recorded"))


class ClockOut(Schema):
    metric: str
    round: int
    status: str
    responsible_unit: str | None
    started_at: dt.datetime
    warn_at: dt.datetime
    due_at: dt.datetime
    stopped_at: dt.datetime | None
    elapsed_seconds: int | None
    overdue_seconds: int | None
    stage: int


class HandlingEntryOut(Schema):
    model_config = described(gettext_lazy("One item of the handling record, as recorded."))

    action: str = Field(..., description=gettext_lazy("resolve or reply: the action it was recorded on"))
    code: str = Field(..., description=gettext_lazy("the item's code, as in the record sent"))
    label: str = Field(..., description=gettext_lazy("the item's label when recorded, e.g. 故障原因"))
    kind: str = Field(..., description=gettext_lazy("text, choice, datetime or boolean"))
    value: str | bool = Field(..., description=gettext_lazy("a choice's code, a text, a time (ISO 8601) or true/false"))
    text: str = Field(..., description=gettext_lazy("the value as people read it, e.g. 树障, 2026-11-17 10:30, 是"))


class OrderOut(Schema):
    number: str
    business_type: str
    sub_class: str | None
    priority: str
    state: str
    customer_id: int | None
    caller_name: str
    caller_phone: str
    address: str
    service_area: str | None
    area_class: str
    description: str
    fault_scope: str
    owner: str
    assigned_unit: str | None
    assigned_unit_id: int | None
    master: str | None
    chased_order: str | None
    return_count: int
    policy_version: int
    created_at: dt.datetime
    updated_at: dt.datetime
    dispatched_at: dt.datetime | None
    closed_at: dt.datetime | None
    allowed_actions: list[str]
    handling_record: list[HandlingEntryOut] = Field(
        default_factory=list, description=gettext_lazy(
            "what the unit recorded on its latest resolve and reply (a repair's fault cause, measures and restoration "
            "time; a complaint's findings, handling, responsibility and the customer's acceptance), items in the order "
            "the type declares them"))
    reporter_restricted: bool = Field(False, description=gettext_lazy(
        "a report: the reporter's customer, name, phone and address are left out; POST …/reporter reveals them "
        "(audited)"))


class ReporterOut(Schema):
    name: str
    phone: str
    id_number: str
    customer_id: int | None
    customer_name: str
    account_number: str
    address: str


class EventOut(Schema):
    seq: int
    kind: str
    at: dt.datetime
    actor: str | None
    actor_role: str
    from_state: str
    to_state: str
    payload: dict


COUNT_CAP = 10_000


class PageOut(Schema):
    count: int = Field(..., description=format_lazy(gettext_lazy("matching orders, counted up to {cap}"),
                                                    cap=COUNT_CAP))
    count_capped: bool = Field(..., description=format_lazy(gettext_lazy("true when more than {cap} match"),
                                                            cap=COUNT_CAP))
    limit: int
    offset: int
    items: list[OrderOut]


RecordValue = Annotated[str, Field(max_length=MAX_TEXT_LENGTH)] | bool | None


class TransitionIn(Schema):
    action: str = Field(..., max_length=20)
    reason: str = Field("", max_length=500)
    note: str = Field("", max_length=2000)
    unit_id: Id | None = None
    master: str = Field("", max_length=24)
    outcome: str = Field("", max_length=30)
    record: dict[Annotated[str, Field(max_length=40)], RecordValue] | None = Field(
        None, max_length=50,
        description=gettext_lazy(
            "The handling record the order's type asks on this action (resolve, reply), item code → value: a choice's "
            "code, a text, a date and time (ISO 8601), or true/false. GET /api/business-types/{code}/handling-fields "
            "lists the items; every problem comes back at once (422, loc \"record.<code>\"). A type that asks nothing "
            "takes none. The time of the action (a repair's restoration time) left out is the time of the request. "
            'E.g. a repair\'s resolve: {"cause": "tree", "measures": "清除树障，更换熔断器", '
            '"restored_at": "2026-11-17T10:30:00+08:00"}.'))


class ChaseIn(Schema):
    note: str = Field(..., min_length=1, max_length=2000)


class NoticeOut(Schema):
    id: int
    order: str
    kind: str
    level: int
    metric: str
    unit: str | None
    supervisor_unit: str | None
    due_at: dt.datetime
    created_at: dt.datetime
    answered_at: dt.datetime | None
    answer: str


class AnswerIn(Schema):
    answer: str = Field(..., min_length=1, max_length=500)


class CustomerOut(Schema):
    id: int
    account_number: str
    name: str
    address: str
    phones: list[str]
    service_area: str | None
    service_area_id: int | None
    unit: str | None
    special_mark: str


class ListFilters(Schema):
    state: list[State] | None = None
    business_type: str | None = Field(None, max_length=30)
    assigned_unit_id: Id | None = None
    mine: bool = False
    phone: str | None = Field(None, max_length=40)
    created_from: DateTime | None = None
    created_to: DateTime | None = None
    limit: int = Field(50, ge=1, le=500)
    offset: Offset = 0


def _order_out(request: HttpRequest, order: WorkOrder) -> dict:
    view = access.order_view(request.user, order)
    return {
        "number": order.number, "business_type": order.business_type.code,
        "sub_class": order.sub_class.code if order.sub_class_id else None, "priority": order.priority, "state": order.state,
        "customer_id": view["customer_id"], "caller_name": view["caller_name"], "caller_phone": view["caller_phone"],
        "address": view["address"], "reporter_restricted": view["reporter_hidden"],
        "service_area": str(order.service_area) if order.service_area_id else None, "area_class": order.area_class,
        "description": order.description, "fault_scope": order.fault_scope, "owner": str(order.owner),
        "assigned_unit": str(order.assigned_unit) if order.assigned_unit_id else None, "assigned_unit_id": order.assigned_unit_id,
        "master": order.master.number if order.master_id else None,
        "chased_order": order.chased_order.number if order.chased_order_id else None,
        "return_count": order.return_count, "policy_version": _policy_number(order.policy_version_id),
        "created_at": order.created_at, "updated_at": order.updated_at, "dispatched_at": order.dispatched_at,
        "closed_at": order.closed_at,
        "allowed_actions": [t.action for t in services.allowed_actions(order=order, user=request.user)],
        "handling_record": [e for e in order.handling_record or [] if isinstance(e, dict)],
    }


def _policy_number(version_id: int) -> int:
    from hotline.catalog.models import PolicyVersion
    from hotline.core import cache

    return cache.get(("policy-number", version_id), lambda: PolicyVersion.objects.values_list("number", flat=True).get(pk=version_id),
                     ttl=None)


def _get(request: HttpRequest, number: str) -> WorkOrder:
    order = selectors.get_visible_order(request.user, number)
    if order is None:
        from django.http import Http404

        raise Http404(_("Work order %(number)s not found in your scope.") % {"number": number})
    return order


@router.post("/orders", response={201: OrderOut}, summary=gettext_lazy("Record a work order"))
def create_order(request: HttpRequest, payload: OrderIn):
    key = request.headers.get("Idempotency-Key", "")
    data = payload.dict()
    contact = {k: v for k, v in (data.pop("contact") or {}).items() if v not in (None, "")}
    if not contact and data.get("contact_id") is None and key:
        # A retried request is one contact: the idempotency key names it.
        contact = {"source": f"api:{request.user.pk}", "source_id": key}
    intake = services.Intake(channel="api", contact=contact, **data)
    order = services.create_order(actor=request.user, intake=intake, idempotency_key=key)
    # The service hands back the order with everything in memory; reading it
    # again would cost a nine-table join whose planning alone is milliseconds.
    return 201, _order_out(request, order)


@router.get("/orders", response=PageOut, summary=gettext_lazy("List visible work orders"))
def list_orders(request: HttpRequest, filters: Query[ListFilters]):
    # Few joins (planning a wide join costs more than running it); the rest
    # comes by prefetch or from the configuration cache.
    qs = (selectors.visible_orders(request.user).select_related("business_type", "sub_class", "service_area", "assigned_unit")
          .prefetch_related("owner", "master", "chased_order"))
    if filters.state:
        qs = qs.filter(state__in=[s.value for s in filters.state])
    if filters.business_type:
        qs = qs.filter(business_type__code=filters.business_type)
    if filters.assigned_unit_id:
        qs = qs.filter(assigned_unit_id=filters.assigned_unit_id)
    if filters.mine:
        qs = qs.filter(owner=request.user)
    if filters.phone:
        p = phones.normalise_or_none(filters.phone)
        if p is None:
            from hotline.workorders.errors import OrderError

            raise OrderError("phone", _("not a valid phone number: %(value)s") % {"value": filters.phone.strip()})
        qs = qs.filter(caller_phone=p.number)
    if filters.created_from:
        qs = qs.filter(created_at__gte=filters.created_from)
    if filters.created_to:
        qs = qs.filter(created_at__lt=filters.created_to)
    qs = qs.order_by("-created_at", "-id")
    # Counting millions of rows for a pager nobody scrolls to the end of is
    # the slowest part of a list; stop counting at the cap.
    total = qs[: COUNT_CAP + 1].count()
    page = list(qs[filters.offset: filters.offset + filters.limit])
    return {"count": min(total, COUNT_CAP), "count_capped": total > COUNT_CAP, "limit": filters.limit, "offset": filters.offset, "items": [_order_out(request, o) for o in page]}


@router.get("/orders/{number}", response=OrderOut, summary=gettext_lazy("One work order"))
def get_order(request: HttpRequest, number: str):
    return _order_out(request, _get(request, number))


@router.post("/orders/{number}/transitions", response=OrderOut, summary=gettext_lazy("Act on a work order"),
             description=gettext_lazy(
                 "Actions follow the type's life-cycle; an illegal one answers 409 with the reason."))
def act(request: HttpRequest, number: str, payload: TransitionIn):
    order = _get(request, number)
    data = payload.dict()
    if data.get("record") is None:
        data.pop("record", None)
    order = services.transition(order=order, action=payload.action, actor=request.user, payload=data)
    return _order_out(request, order)


class ChoiceOut(Schema):
    code: str
    label: str


class HandlingFieldOut(Schema):
    action: str = Field(..., description=gettext_lazy("resolve or reply"))
    code: str
    label: str
    kind: str = Field(..., description=gettext_lazy("text, choice, datetime or boolean"))
    required: bool
    choices: list[ChoiceOut] = Field(..., description=gettext_lazy("a choice's codes and labels"))
    max_length: int | None = Field(..., description=gettext_lazy("a text's longest length"))
    action_time: bool = Field(..., description=gettext_lazy(
        "a datetime that is the action's own time (left out: the time of the request)"))
    hint: str


@router.get("/business-types/{code}/handling-fields", response=list[HandlingFieldOut],
            tags=[pgettext_lazy("API tag", "catalog")],
            summary=gettext_lazy("What a unit records on resolve and reply for a business type"),
            description=gettext_lazy("The handling record's items the type declares (administrators edit them), in "
                                     "the order asked; send them as ``record`` with the action."))
def handling_fields(request: HttpRequest, code: str = Path(..., max_length=30)):
    from django.http import Http404

    from hotline.catalog import selectors as catalog_selectors

    bt = catalog_selectors.business_type(code)
    if bt is None:
        raise Http404(_("No business type “%(code)s”.") % {"code": code})
    return [{"action": f.action, "code": f.code, "label": f.label, "kind": f.kind, "required": f.required,
             "choices": [{"code": c[0], "label": c[1]} for c in f.choices or []],
             "max_length": f.max_length if f.kind == "text" else None, "action_time": f.action_time, "hint": f.hint}
            for f in catalog_selectors.handling_fields(bt.pk)]


@router.get("/orders/{number}/events", response=list[EventOut], summary=gettext_lazy("The order's append-only history"))
def events(request: HttpRequest, number: str):
    order = _get(request, number)
    restricted = access.is_restricted(order)
    return [{"seq": e.seq, "kind": e.kind, "at": e.at, "actor": str(e.actor) if e.actor else None, "actor_role": e.actor_role,
             "from_state": e.from_state, "to_state": e.to_state,
             "payload": access.event_payload(request.user, order, e.payload, restricted=restricted)}
            for e in order.events.select_related("actor").order_by("seq")]


@router.post("/orders/{number}/reporter", response=ReporterOut,
             summary=gettext_lazy("Reveal a report's reporter (audited)"),
             description=gettext_lazy("Directors and the discipline unit handling the report only (403 otherwise); "
                                      "every call is recorded in the audit trail."))
def reporter(request: HttpRequest, number: str):
    from dataclasses import asdict

    return asdict(access.reveal_reporter(request.user, _get(request, number), via="api"))


@router.get("/orders/{number}/clocks", response=list[ClockOut], summary=gettext_lazy("The order's time-limit clocks"))
def clocks(request: HttpRequest, number: str):
    order = _get(request, number)
    return [{"metric": c.metric, "round": c.round, "status": c.status,
             "responsible_unit": str(c.responsible_unit) if c.responsible_unit_id else None, "started_at": c.started_at,
             "warn_at": c.warn_at, "due_at": c.due_at, "stopped_at": c.stopped_at, "elapsed_seconds": c.elapsed_seconds,
             "overdue_seconds": c.overdue_seconds, "stage": c.stage}
            for c in Clock.objects.filter(order=order).select_related("responsible_unit").order_by("started_at", "metric")]


@router.post("/orders/{number}/chase-ups", response={201: OrderOut},
             summary=gettext_lazy("Raise a chase-up (催办) order"))
def chase(request: HttpRequest, number: str, payload: ChaseIn):
    order = _get(request, number)
    chase_order = services.chase_up(order=order, actor=request.user, note=payload.note)
    return 201, _order_out(request, _get(request, chase_order.number))


def _notice_out(n: Notice) -> dict:
    return {"id": n.id, "order": n.order.number, "kind": n.kind, "level": n.level, "metric": n.metric,
            "unit": str(n.unit) if n.unit_id else None, "supervisor_unit": str(n.supervisor_unit) if n.supervisor_unit_id else None,
            "due_at": n.due_at, "created_at": n.created_at, "answered_at": n.answered_at, "answer": n.answer}


@router.get("/notices", response=list[NoticeOut], tags=[pgettext_lazy("API tag", "supervision")],
            summary=gettext_lazy("Open supervision notices in your scope"))
def notices(request: HttpRequest, kind: Literal["supervision", "warning", "manual"] = "supervision", open: bool = True,
            limit: int = Query(100, ge=1, le=500)):
    orders = selectors.visible_orders(request.user)
    qs = Notice.objects.filter(kind=kind, order__in=orders).select_related("order", "unit", "supervisor_unit")
    if open:
        qs = qs.filter(answered_at__isnull=True)
    return [_notice_out(n) for n in qs.order_by("-created_at")[:limit]]


@router.post("/notices/{notice_id}/answer", response=NoticeOut, tags=[pgettext_lazy("API tag", "supervision")],
             summary=gettext_lazy("Answer a supervision notice"))
def answer(request: HttpRequest, notice_id: Id, payload: AnswerIn):
    from hotline.timelimits.services import NoticeError

    notice = get_object_or_404(Notice.objects.select_related("order", "unit", "supervisor_unit"), pk=notice_id,
                               order__in=selectors.visible_orders(request.user))
    try:
        notice = answer_notice(notice=notice, user=request.user, text=payload.answer)
    except NoticeError as exc:
        from hotline.workorders.errors import TransitionError

        raise TransitionError(str(exc)) from exc
    return _notice_out(notice)


@router.get("/customers", response=list[CustomerOut], tags=[pgettext_lazy("API tag", "customers")],
            summary=gettext_lazy("Find customers in your scope by phone, account or address"))
def customers(request: HttpRequest, q: str = Query(..., min_length=1, max_length=100)):
    user = request.user
    return [{"id": c.id, "account_number": c.account_number, "name": c.name, "address": c.address,
             "phones": [access.mask_phone(user, str(p)) for p in c.phones.all()],
             "service_area": str(c.service_area) if c.service_area_id else None, "service_area_id": c.service_area_id,
             "unit": str(c.service_area.unit) if c.service_area_id else None, "special_mark": c.special_mark}
            for c in find_customers(q, within=access.visible_customers(user))]


class HandoverIn(Schema):
    to_username: str = Field(..., min_length=1, max_length=150)
    reason: str = Field(..., min_length=1, max_length=500)


@router.post("/orders/{number}/handover", response=OrderOut,
             summary=gettext_lazy("Hand first-contact ownership to another agent"))
def handover(request: HttpRequest, number: str, payload: HandoverIn):
    from hotline.organisation.models import User
    from hotline.workorders.errors import OrderError

    order = _get(request, number)
    to_user = User.objects.filter(username=payload.to_username).select_related("unit").first()
    if to_user is None:
        raise OrderError("to_username", _("no such user"))
    services.hand_over(order=order, actor=request.user, to_user=to_user, reason=payload.reason)
    return _order_out(request, _get(request, number))


class ReminderIn(Schema):
    text: str = Field(..., min_length=1, max_length=300, description=gettext_lazy("what the unit is reminded of"))


@router.post("/orders/{number}/reminders", response={201: NoticeOut}, tags=[pgettext_lazy("API tag", "supervision")],
             summary=gettext_lazy("Raise a manual reminder (催办) to the unit holding the order"))
def remind(request: HttpRequest, number: str, payload: ReminderIn):
    order = _get(request, number)
    notice = services.remind(order=order.number, actor=request.user, text=payload.text)
    notice = Notice.objects.select_related("order", "unit", "supervisor_unit").get(pk=notice.pk)
    return 201, _notice_out(notice)


class ContactOut(Schema):
    channel: str
    source: str
    source_id: str
    caller_number: str
    queue: str
    agent: str | None
    started_at: dt.datetime
    ended_at: dt.datetime | None
    recording_ref: str


class RecordOut(Schema):
    number: str
    contacts: list[ContactOut]
    satisfaction: str | None
    complete: bool
    problems: list[str]


@router.get("/orders/{number}/record", response=RecordOut,
            summary=gettext_lazy("The order's record: contacts with their recordings, satisfaction, completeness"))
def record(request: HttpRequest, number: str):
    from hotline.workorders.records import order_record

    rec = order_record(_get(request, number))
    user = request.user
    return {"number": rec.order.number, "satisfaction": rec.satisfaction, "complete": not rec.problems,
            "problems": rec.problems,
            "contacts": [{"channel": c.channel, "source": c.source, "source_id": c.source_id,
                          "caller_number": access.mask_phone(user, c.caller_number) if c.caller_number else "",
                          "queue": c.queue, "agent": str(c.agent) if c.agent_id else None, "started_at": c.started_at,
                          "ended_at": c.ended_at, "recording_ref": c.recording_ref} for c in rec.contacts]}
