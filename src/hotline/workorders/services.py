"""Every write to a work order: intake, transitions, chase-ups.

Each public function runs in one transaction: the order row, its new event
and its clocks change together or not at all.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from hotline.catalog import selectors as catalog_selectors
from hotline.catalog.lifecycle import ACTION_LABELS, REASON_REQUIRED, Transition
from hotline.catalog.models import BusinessType, Routing, SubClass
from hotline.catalog.services import current_policy_version
from hotline.core import clock, phones
from hotline.core.audit import record as audit
from hotline.organisation import selectors as organisation_selectors
from hotline.organisation.models import CENTER_ROLES, Customer, Role, ServiceArea, SpecialMark, Unit, UnitKind, User
from hotline.organisation.selectors import area_for_address
from hotline.timelimits import services as timelimits
from hotline.workorders.errors import NotAllowed, OrderError, TransitionError
from hotline.workorders.models import (
    TERMINAL,
    FaultScope,
    IdempotencyKey,
    NumberCounter,
    ReporterIdentity,
    State,
    WorkOrder,
    WorkOrderEvent,
)

MAX_DESCRIPTION = 4000
CHASE_MIN_SPACING = dt.timedelta(minutes=5)
CHASE_MAX_NON_REPAIR = 2


# --- helpers -----------------------------------------------------------------
#
# Error messages are translated when raised (gettext, named placeholders): in
# a request the user's language is active, elsewhere the default language.

def _lifecycle(order: WorkOrder):
    return catalog_selectors.lifecycle(order.business_type)


def _center_of(user: User) -> Unit:
    if user.unit_id is None:
        raise NotAllowed(_("your account belongs to no unit"))
    return user.unit


def _action_label(action: str) -> str:
    return str(ACTION_LABELS.get(action, action))


def _state_label(state: str) -> str:
    return str(dict(State.choices).get(state, state))


def _next_number(prefix: str, when: dt.datetime) -> str:
    """Per type and day sequence: GZ + yymmdd + 00001, by one upsert
    statement (PostgreSQL, SQLite ≥ 3.35). It locks the counter row until the
    caller's COMMIT, so callers take the number as their last write."""
    day = timezone.localtime(when).strftime("%y%m%d")
    key = f"{prefix}{day}"
    table = NumberCounter._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO {table} ("key", "last") VALUES (%s, 1) '
            f'ON CONFLICT ("key") DO UPDATE SET "last" = {table}."last" + 1 RETURNING "last"', [key])
        last = cursor.fetchone()[0]
    return f"{key}{last:05d}"


def record_event(*, order: WorkOrder, kind: str, actor: User | None, from_state: str = "", to_state: str = "",
                 payload: dict | None = None, at: dt.datetime | None = None, held: bool = False) -> WorkOrderEvent:
    """Append one event in the caller's transaction; the per-order sequence
    is bumped and read back in one statement, so it is gapless and unique.

    ``held``: the caller has just inserted the order in this transaction and
    will save ``last_seq`` itself, so the sequence is counted in memory and
    the event is inserted by the caller with the order's other new events.
    """
    at = at or clock.now()
    if held:
        seq = order.last_seq + 1
    else:
        table = WorkOrder._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(f'UPDATE {table} SET "last_seq" = "last_seq" + 1, "updated_at" = %s WHERE "id" = %s RETURNING "last_seq"',
                           [connection.ops.adapt_datetimefield_value(at), order.pk])
            seq = cursor.fetchone()[0]
    order.last_seq = seq
    order.updated_at = at
    event = WorkOrderEvent(
        order=order, seq=seq, kind=kind, actor=actor, actor_role=getattr(actor, "role", "") if actor else "system",
        actor_unit_id=getattr(actor, "unit_id", None), at=at, from_state=from_state, to_state=to_state, payload=payload or {},
    )
    if held:
        # Inserted with the create's other events in one statement (_write).
        order.__dict__.setdefault("_held_events", []).append(event)
    else:
        event.save(force_insert=True)
    return event




# --- routing -------------------------------------------------------------------

def dispatch_desk_for(unit: Unit) -> Unit | None:
    """The county dispatch desk above (or beside) ``unit``."""
    for ancestor in [unit, *reversed(unit.ancestors())]:
        desk = Unit.objects.filter(parent=ancestor, kind=UnitKind.DISPATCH_DESK, active=True).first()
        if desk is not None:
            return desk
    return None


def route(order: WorkOrder) -> Unit:
    """The unit an order goes to: the unit serving the address, or the
    department with the type's function; else the county dispatch desk."""
    bt = order.business_type
    function = (order.sub_class.routing_function if order.sub_class_id else "") or bt.routing_function
    center = order.scope_unit
    if order.chased_order_id and order.chased_order.assigned_unit_id:
        return order.chased_order.assigned_unit
    if bt.routing == Routing.AREA and not (order.sub_class_id and order.sub_class.routing_function):
        if order.service_area_id:
            return order.service_area.unit
    elif function:
        for ancestor in [center, *reversed(center.ancestors())]:
            dept = Unit.objects.filter(path__startswith=ancestor.path, kind=UnitKind.DEPARTMENT, function=function,
                                       active=True).order_by("depth").first()
            if dept is not None:
                return dept
    desk = dispatch_desk_for(center)
    if desk is None:
        raise OrderError("assigned_unit", _("no unit serves this address and no county dispatch desk is configured"))
    return desk


# --- intake --------------------------------------------------------------------

@dataclass
class Intake:
    business_type: str
    description: str
    sub_class: str = ""
    priority: str = ""
    customer_id: int | None = None
    caller_name: str = ""
    caller_phone: str = ""
    address: str = ""
    service_area_id: int | None = None
    fault_scope: str = ""
    paid_service: bool = False
    anonymous: bool = False
    reply_wanted: bool = True
    virtual_number: bool = False
    channel: str = "phone"
    dispatch: bool = True
    merge_into: str = ""
    assigned_unit_id: int | None = None
    partner: str = ""
    partner_reference: str = ""
    reporter: dict = field(default_factory=dict)


def _validate(intake: Intake) -> tuple[BusinessType, SubClass | None, Customer | None, ServiceArea | None, phones.Phone | None]:
    bt = catalog_selectors.business_type(intake.business_type)
    if bt is None:
        raise OrderError("business_type", _("unknown business type “%(value)s”") % {"value": intake.business_type})
    if bt.code == "chase_up":
        raise OrderError("business_type", _("chase-up orders are raised from the order they chase"))
    sub = None
    if intake.sub_class:
        sub = catalog_selectors.sub_class(bt.pk, intake.sub_class)
        if sub is None:
            raise OrderError("sub_class", _("“%(value)s” is not a sub-class of %(type)s") % {"value": intake.sub_class, "type": bt.name})
    elif catalog_selectors.has_sub_classes(bt.pk):
        raise OrderError("sub_class", _("choose a sub-class"))
    if intake.priority and intake.priority not in bt.priority_codes():
        if not bt.priority_codes():
            raise OrderError("priority", _("this business type has no priorities"))
        raise OrderError("priority", _("must be one of: %(values)s") % {"values": ", ".join(bt.priority_codes())})
    description = (intake.description or "").strip()
    if not description:
        raise OrderError("description", _("describe the request"))
    if len(description) > MAX_DESCRIPTION:
        raise OrderError("description", _("at most %(count)d characters") % {"count": MAX_DESCRIPTION})
    customer = None
    if intake.customer_id is not None:
        customer = Customer.objects.filter(pk=intake.customer_id).first()
        if customer is None:
            raise OrderError("customer_id", _("no such customer"))
    phone = None
    if intake.caller_phone:
        try:
            phone = phones.normalise(intake.caller_phone)
        except phones.PhoneError as exc:
            raise OrderError("caller_phone", str(exc)) from exc
    area = None
    if intake.service_area_id is not None:
        area = organisation_selectors.service_area(intake.service_area_id)
        if area is None:
            raise OrderError("service_area_id", _("no such service area"))
    elif customer is not None and customer.service_area_id:
        area = organisation_selectors.service_area(customer.service_area_id)
    elif intake.address:
        area = area_for_address(intake.address)
    if intake.fault_scope and intake.fault_scope not in FaultScope.values:
        raise OrderError("fault_scope", _("must be one of: %(values)s") % {"values": ", ".join(v for v in FaultScope.values if v)})
    if bt.code == "repair" and not intake.fault_scope:
        raise OrderError("fault_scope", _("classify the fault scope of a repair report"))
    if bt.code != "repair" and intake.fault_scope:
        raise OrderError("fault_scope", _("only repair reports have a fault scope"))
    if not (intake.caller_phone or customer or intake.anonymous):
        raise OrderError("caller_phone", _("a phone number or a customer is required"))
    return bt, sub, customer, area, phone


def _intake_reclassification(intake: Intake, bt: BusinessType, customer: Customer | None, phone) -> tuple[str | None, str]:
    """Spec §1 intake rules and §3.1: the type an order is recorded as."""
    marked = customer is not None and customer.special_mark in (SpecialMark.MALICIOUS, SpecialMark.THEFT, SpecialMark.ARREARS)
    if phone is not None and not marked:
        from hotline.organisation.models import MarkedNumber

        marked = MarkedNumber.objects.filter(number=phone.number).exists()
    if bt.code == "complaint":
        if intake.anonymous or not intake.reply_wanted or intake.virtual_number:
            return "opinion", "anonymous, no-reply or virtual-number complaint is recorded, not dispatched as a complaint"
        if marked:
            return "opinion", "caller carries a special-customer mark: complaint recorded as an opinion"
    if bt.code == "repair":
        if intake.fault_scope in (FaultScope.PLANNED_OUTAGE, FaultScope.ARREARS):
            return "inquiry", "planned/published outage or arrears: handled as an inquiry, cause and restoration time told"
        if intake.fault_scope == FaultScope.CUSTOMER_INTERNAL and not intake.paid_service:
            return "inquiry", "customer-internal fault: customer guided, no paid service requested"
    return None, ""


def _idempotency_hash(intake: Intake) -> str:
    return hashlib.sha256(json.dumps(intake.__dict__, sort_keys=True, default=str).encode()).hexdigest()


def create_order(*, actor: User, intake: Intake, idempotency_key: str = "") -> WorkOrder:
    if actor.role not in CENTER_ROLES and not actor.is_superuser:
        raise NotAllowed(_("only center staff record work orders"))
    if len(idempotency_key) > 100:
        raise OrderError("Idempotency-Key", _("at most %(count)d characters") % {"count": 100})
    request_hash = _idempotency_hash(intake) if idempotency_key else ""
    # Reads and validation first, outside the write transaction.
    try:
        prepared = _prepare(actor=actor, intake=intake)
    except OrderError:
        # A replay of a request that succeeded gets its order even if the
        # same body would no longer pass (a sub-class retired meanwhile).
        seen = _seen_key(actor, idempotency_key) if idempotency_key else None
        if seen is None or seen.request_hash != request_hash:
            raise
        return seen.order
    try:
        with transaction.atomic():
            order = _write(prepared)
            if idempotency_key:
                # The unique (user, key) row is the check: a replay rolls its
                # whole create back (number included) and answers below. No
                # read before the write, so a first request costs nothing extra.
                IdempotencyKey.objects.create(key=idempotency_key, user=actor, request_hash=request_hash,
                                              order=order, created_at=order.created_at)
            return order
    except IntegrityError:
        seen = _seen_key(actor, idempotency_key) if idempotency_key else None
        if seen is None:
            raise
        if seen.request_hash != request_hash:
            raise OrderError("Idempotency-Key", _("reused with a different request body")) from None
        return seen.order


def _seen_key(actor: User, key: str) -> IdempotencyKey | None:
    return (IdempotencyKey.objects.filter(user=actor, key=key)
            .select_related("order__business_type", "order__sub_class", "order__service_area", "order__assigned_unit",
                            "order__owner").first())


@dataclass
class _Prepared:
    actor: User
    intake: Intake
    now: dt.datetime
    center: Unit
    business_type: BusinessType
    sub_class: SubClass | None
    customer: Customer | None
    area: ServiceArea | None
    phone: phones.Phone | None
    original_type: str
    new_type: str | None
    reason: str
    initial: str


def _prepare(*, actor: User, intake: Intake) -> _Prepared:
    bt, sub, customer, area, phone = _validate(intake)
    center = _center_of(actor)
    original_type = bt.code
    new_type, reason = _intake_reclassification(intake, bt, customer, phone)
    if new_type:
        bt = catalog_selectors.business_type(new_type)
        sub = None
    if intake.merge_into:
        master = WorkOrder.objects.filter(number=intake.merge_into).first()
        if master is None:
            raise OrderError("merge_into", _("no such order"))
        if not (bt.mergeable and master.business_type_id == bt.id):
            raise OrderError("merge_into", _("only repair reports merge, into a repair report"))
        if master.state in TERMINAL:
            raise OrderError("merge_into", _("the master order is already archived"))
    needs_review = (actor.role == Role.AGENT and actor.stars is not None and actor.stars <= settings.HOTLINE.get("REVIEW_STARS", 3)
                    and settings.HOTLINE.get("REVIEW_LOW_STAR_AGENTS", True))
    lifecycle = catalog_selectors.lifecycle(bt)
    initial = "draft" if needs_review and lifecycle.find("approve", "draft") else lifecycle.initial
    return _Prepared(actor=actor, intake=intake, now=clock.now(), center=center, business_type=bt, sub_class=sub,
                     customer=customer, area=area, phone=phone, original_type=original_type, new_type=new_type,
                     reason=reason, initial=initial)


def _write(p: _Prepared) -> WorkOrder:
    actor, intake, now, bt, customer, area, phone = p.actor, p.intake, p.now, p.business_type, p.customer, p.area, p.phone
    new_type, initial = p.new_type, p.initial
    order = WorkOrder(
        # A unique placeholder: the readable number is allocated last (below).
        number="~" + uuid.uuid4().hex[:23], business_type=bt, sub_class=p.sub_class,
        priority=intake.priority if not new_type else "", state=initial, channel=intake.channel,
        customer=customer, caller_name=intake.caller_name.strip()[:100], caller_phone=phone.number if phone else "",
        caller_phone_ext=phone.extension if phone else "", address=(intake.address or (customer.address if customer else ""))[:300],
        service_area=area, area_class=area.area_class if area else "", description=intake.description.strip(),
        fault_scope=intake.fault_scope if bt.code == "repair" else "", paid_service=intake.paid_service,
        anonymous=intake.anonymous, reply_wanted=intake.reply_wanted, owner=actor, scope_unit=p.center,
        scope_path=p.center.path, policy_version=current_policy_version(), partner=intake.partner,
        partner_reference=intake.partner_reference, created_at=now, updated_at=now,
    )
    if bt.restricted_reporter:
        # The reporter's identity never sits on the order itself.
        reporter = {"name": order.caller_name, "phone": order.caller_phone, **(intake.reporter or {})}
        order.caller_name, order.caller_phone, order.caller_phone_ext = "", "", ""
    order.save()
    if bt.restricted_reporter:
        ReporterIdentity.objects.create(order=order, name=str(reporter.get("name", ""))[:100],
                                        phone=str(reporter.get("phone", ""))[:20], id_number=str(reporter.get("id_number", ""))[:30])
    payload: dict[str, Any] = {"type": bt.code, "channel": intake.channel}
    if new_type:
        payload.update({"recorded_as": new_type, "requested_type": p.original_type, "reason": p.reason})
    if bt.code == "repair":
        payload["fault_scope"] = intake.fault_scope
        if intake.fault_scope == FaultScope.CUSTOMER_INTERNAL:
            payload["paid_service_stated"] = True
        suggestions = suggest_duplicates(order)
        if suggestions:
            payload["duplicate_suggestions"] = suggestions
            payload["duplicate_decision"] = "merge" if intake.merge_into else "separate"
    record_event(order=order, kind="create", actor=actor, from_state="", to_state=initial, payload=payload, at=now, held=True)
    # The clocks just started stay in memory through the dispatch that
    # follows, and are inserted once at the end.
    clocks = timelimits.on_event(order=order, kind="create", at=now, new_order=True)
    if intake.merge_into:
        _apply(order=order, action="merge", actor=actor, payload={"master": intake.merge_into}, now=now, clocks=clocks)
    elif order.state == State.ACCEPTED and new_type == "inquiry":
        _apply(order=order, action="answer", actor=actor, payload={"note": p.reason}, now=now, clocks=clocks)
    elif order.state == State.ACCEPTED and intake.dispatch and bt.routing != Routing.NONE:
        payload = {"unit_id": intake.assigned_unit_id} if intake.assigned_unit_id else {}
        if bt.code != "inquiry":
            _apply(order=order, action="dispatch", actor=actor, payload=payload, now=now, clocks=clocks)
    WorkOrderEvent.objects.bulk_create(order.__dict__.pop("_held_events"))
    timelimits.save_new_clocks(clocks)
    # The per-day counter row is locked from here to COMMIT only: creates of
    # one type do not queue behind each other, and numbers stay gapless.
    order.number = _next_number(bt.number_prefix, now)
    # One UPDATE carries the number, the event sequence and the dispatch.
    order.save(update_fields=["number", "last_seq", "state", "assigned_unit", "assigned_path", "dispatched_at",
                              "master", "closed_at", "updated_at"])
    return order


def suggest_duplicates(order: WorkOrder, *, window: dt.timedelta = dt.timedelta(hours=24)) -> list[dict]:
    """Open repair orders that look like the same fault point (spec §3.4):
    the same transformer area, or the same village when one caller could
    only name the village; same fault type strengthens the match."""
    if not order.business_type.mergeable or not order.service_area_id:
        return []
    area = order.service_area
    if area.level == "transformer_area":
        same_point = {area.id}
        nearby = {area.parent_id} if area.parent_id else set()
    elif area.level == "village":
        same_point = {area.id}
        nearby = set(organisation_selectors.child_area_ids(area.id))
    else:
        same_point, nearby = {area.id}, set()
    # Index range scans on (service_area, created_at): a handful of rows per
    # area whatever the table size. Only the columns the suggestion shows.
    candidates = (WorkOrder.objects.filter(business_type=order.business_type, service_area_id__in=same_point | nearby,
                                           master__isnull=True, created_at__gte=order.created_at - window)
                  .exclude(pk=order.pk).exclude(state__in=TERMINAL).order_by("created_at")
                  .values_list("number", "service_area_id", "sub_class_id")[:10])
    out = []
    for number, area_id, sub_class_id in candidates:
        reasons = ["same fault point" if area_id in same_point else "same village"]
        if sub_class_id and sub_class_id == order.sub_class_id:
            reasons.append("same fault type")
        out.append({"number": number, "area": str(organisation_selectors.service_area(area_id) or ""), "reasons": reasons})
    return out


# --- transitions -----------------------------------------------------------------

def allowed_actions(*, order: WorkOrder, user: User) -> list[Transition]:
    lc = _lifecycle(order)
    return [t for t in lc.actions_from(order.state) if _permitted(user, order, t) is None]


def _permitted(user: User, order: WorkOrder, t: Transition) -> str | None:
    """None if allowed, else the reason (untranslated: translate it to show it)."""
    if user.is_superuser or user.role == Role.ADMIN:
        return None
    if user.unit_id is None:
        return gettext_noop("your account belongs to no unit")
    path = user.unit.path
    if t.by == "unit":
        if user.role != Role.UNIT_STAFF:
            return gettext_noop("only the handling unit's staff can do this")
        if not order.assigned_path or not order.assigned_path.startswith(path):
            return gettext_noop("this order is not assigned to your unit")
        return None
    if user.role not in CENTER_ROLES:
        return gettext_noop("only center staff can do this")
    if not order.scope_path.startswith(path):
        return gettext_noop("this order belongs to another center")
    if t.by == "leader" and user.role not in (Role.SHIFT_LEADER, Role.DIRECTOR):
        return gettext_noop("only a shift leader can do this")
    return None


def transition(*, order: WorkOrder | int | str, action: str, actor: User, payload: dict | None = None) -> WorkOrder:
    with transaction.atomic():
        locked = _lock(order)
        _apply(order=locked, action=action, actor=actor, payload=payload or {}, now=clock.now())
        return locked


def _lock(order: WorkOrder | int | str) -> WorkOrder:
    # FOR NO KEY UPDATE (PostgreSQL): rows that merely reference the order
    # (notices the sweep inserts) take KEY SHARE and are not blocked, so a
    # transition and a sweep can never deadlock on order ↔ clock locks.
    qs = WorkOrder.objects.select_for_update(of=("self",), no_key=True).select_related("business_type", "sub_class", "assigned_unit", "scope_unit", "owner__unit")
    if isinstance(order, WorkOrder):
        return qs.get(pk=order.pk)
    if isinstance(order, int):
        return qs.get(pk=order)
    return qs.get(number=order)


def _apply(*, order: WorkOrder, action: str, actor: User, payload: dict, now: dt.datetime,
           clocks: list | None = None) -> WorkOrderEvent:
    """Apply one life-cycle action to a locked order.

    ``clocks``: all of the order's clocks, when a create in progress has them
    in hand; then the order row and its new clocks are written by the
    create itself at its end (one UPDATE, one INSERT), not here.
    """
    deferred = clocks is not None
    lc = _lifecycle(order)
    t = lc.find(action, order.state)
    if t is None:
        if action not in {x.action for x in lc.transitions}:
            raise TransitionError(_("%(type)s orders have no action “%(action)s”") % {
                "type": order.business_type.name, "action": _action_label(action)})
        raise TransitionError(_("cannot “%(action)s” an order in state “%(state)s”") % {
            "action": _action_label(action), "state": _state_label(order.state)})
    denied = _permitted(actor, order, t)
    if denied:
        raise NotAllowed(_(denied))
    payload = dict(payload)
    reason = str(payload.get("reason", "")).strip()
    if action in REASON_REQUIRED and not reason:
        raise OrderError("reason", _("“%(action)s” needs a reason") % {"action": _action_label(action)})
    note = str(payload.get("note", "")).strip()[:2000]
    event_payload: dict[str, Any] = {}
    if reason:
        event_payload["reason"] = reason[:500]
    if note:
        event_payload["note"] = note
    from_state = order.state
    update_fields = ["state", "updated_at"]

    if action in ("dispatch", "redispatch"):
        unit = None
        if payload.get("unit_id"):
            unit = Unit.objects.filter(pk=payload["unit_id"], active=True).first()
            if unit is None:
                raise OrderError("unit_id", _("no such active unit"))
            county = order.scope_unit.parent or order.scope_unit
            if not unit.path.startswith(county.path) and not actor.is_superuser:
                raise OrderError("unit_id", _("that unit is outside this center's county"))
        else:
            unit = route(order)
        if action == "redispatch" and unit.pk == order.assigned_unit_id and not payload.get("unit_id"):
            unit = dispatch_desk_for(order.scope_unit) or unit
        event_payload.update({"unit_id": unit.pk, "unit": unit.name})
        if order.assigned_unit_id:
            event_payload["previous_unit"] = order.assigned_unit.name
        order.assigned_unit = unit
        order.assigned_path = unit.path
        update_fields += ["assigned_unit", "assigned_path"]
        if order.dispatched_at is None:
            order.dispatched_at = now
            update_fields.append("dispatched_at")
    elif action == "return":
        if reason not in ("outside_area", "missing_information") and order.business_type.code == "repair":
            raise OrderError("reason", _("a repair order may only be returned as outside_area or missing_information"))
        order.return_count += 1
        update_fields.append("return_count")
    elif action == "merge":
        master = WorkOrder.objects.select_for_update(no_key=True).filter(number=payload.get("master", "")).first()
        if master is None:
            raise OrderError("master", _("no such order"))
        if master.pk == order.pk or master.master_id:
            raise OrderError("master", _("merge into a master order, not into itself or a sub-order"))
        if master.business_type_id != order.business_type_id or not order.business_type.mergeable:
            raise OrderError("master", _("only repair reports merge, into a repair report"))
        if master.state in TERMINAL:
            raise OrderError("master", _("the master order is already archived"))
        order.master = master
        update_fields.append("master")
        event_payload["master"] = master.number
        # Sub-orders of a merged order follow it to the new master.
        WorkOrder.objects.filter(master=order).update(master=master)
    elif action == "callback":
        outcome = payload.get("outcome", "")
        if outcome not in ("satisfied", "basically_satisfied", "dissatisfied", "unreachable", "not_rated"):
            raise OrderError("outcome", _("one of satisfied, basically_satisfied, dissatisfied, unreachable, not_rated"))
        if not note:
            raise OrderError("note", _("record the customer's words"))
        event_payload["outcome"] = outcome
    elif action in ("arrive", "resolve") and payload.get("at"):
        event_payload["reported_at"] = str(payload["at"])[:40]

    if t.target is not None:
        order.state = t.target
    if order.state in TERMINAL:
        order.closed_at = now
        update_fields.append("closed_at")
    order.updated_at = now
    if not deferred:
        order.save(update_fields=update_fields)
    event = record_event(order=order, kind=action, actor=actor, from_state=from_state, to_state=order.state,
                         payload=event_payload, at=now, held=deferred)
    timelimits.on_event(order=order, kind=action, at=now, known_clocks=clocks)
    if action in ("reply", "resolve", "close", "cancel") and order.master_id is None:
        # Sub-orders follow their master: every merged caller gets the result.
        for sub in WorkOrder.objects.filter(master=order, state=State.MERGED):
            record_event(order=sub, kind="master_" + action, actor=actor, payload={"master": order.number}, at=now)
    return event


# --- chase-ups -------------------------------------------------------------------

def chase_up(*, order: WorkOrder | str, actor: User, note: str) -> WorkOrder:
    """A chase-up (催办) order linked to the order it chases (spec §1)."""
    note = (note or "").strip()
    if not note:
        raise OrderError("note", _("say what the customer is chasing"))
    if actor.role not in CENTER_ROLES and not actor.is_superuser:
        raise NotAllowed(_("only center staff raise chase-ups"))
    with transaction.atomic():
        target = _lock(order)
        if not target.scope_path.startswith(actor.unit.path if actor.unit_id else "/") and not actor.is_superuser:
            raise NotAllowed(_("this order belongs to another center"))
        if target.state in TERMINAL:
            raise TransitionError(_("a closed, merged or cancelled order cannot be chased"))
        if target.business_type.code == "chase_up":
            raise TransitionError(_("chase the original order, not a chase-up"))
        now = clock.now()
        previous = WorkOrder.objects.filter(chased_order=target).order_by("-created_at")
        if target.business_type.code != "repair" and previous.count() >= CHASE_MAX_NON_REPAIR:
            raise TransitionError(_("at most %(count)d chase-ups per non-repair order") % {"count": CHASE_MAX_NON_REPAIR})
        last = previous.first()
        if last is not None and now - last.created_at < CHASE_MIN_SPACING:
            wait = int((CHASE_MIN_SPACING - (now - last.created_at)).total_seconds())
            raise TransitionError(_("chase-ups for one customer are at least %(minutes)d minutes apart; wait %(seconds)d s") % {
                "minutes": int(CHASE_MIN_SPACING.total_seconds() // 60), "seconds": wait})
        bt = catalog_selectors.business_type("chase_up")
        chase = WorkOrder.objects.create(
            number=_next_number(bt.number_prefix, now), business_type=bt, state=State.ACCEPTED, channel=target.channel,
            customer=target.customer, caller_name=target.caller_name, caller_phone=target.caller_phone,
            address=target.address, service_area=target.service_area, area_class=target.area_class,
            description=note[:MAX_DESCRIPTION], owner=actor, scope_unit=target.scope_unit, scope_path=target.scope_path,
            policy_version=current_policy_version(), chased_order=target, created_at=now, updated_at=now,
        )
        record_event(order=chase, kind="create", actor=actor, to_state=State.ACCEPTED,
                     payload={"type": "chase_up", "chases": target.number}, at=now)
        timelimits.on_event(order=chase, kind="create", at=now)
        record_event(order=target, kind="chased", actor=actor, payload={"chase_up": chase.number, "note": note[:500]}, at=now)
        if target.assigned_unit_id:
            _apply(order=chase, action="dispatch", actor=actor, payload={"unit_id": target.assigned_unit_id}, now=now)
        return chase


def reveal_reporter(*, order: WorkOrder, user: User) -> ReporterIdentity | None:
    """Reporter identity for authorised roles only; every view is audited."""
    from hotline.workorders.selectors import can_see_reporter

    if not can_see_reporter(user, order):
        raise NotAllowed(_("you may not see the reporter's identity"))
    identity = ReporterIdentity.objects.filter(order=order).first()
    audit(user=user, action="view_reporter", obj=order, detail={"number": order.number})
    return identity


def hand_over(*, order: WorkOrder | str, actor: User, to_user: User, reason: str) -> WorkOrder:
    """First-contact ownership passes only by an explicit, recorded handover."""
    reason = (reason or "").strip()
    if not reason:
        raise OrderError("reason", _("say why the order is handed over"))
    if to_user.role not in CENTER_ROLES or not to_user.is_active:
        raise OrderError("to_user", _("hand over to an active agent or shift leader"))
    with transaction.atomic():
        target = _lock(order)
        if target.state in TERMINAL:
            raise TransitionError(_("a closed order has no owner to change"))
        is_leader = actor.role in (Role.SHIFT_LEADER, Role.DIRECTOR)
        if not (actor.is_superuser or target.owner_id == actor.id or (is_leader and actor.unit_id and target.scope_path.startswith(actor.unit.path))):
            raise NotAllowed(_("only the owner or a shift leader can hand an order over"))
        if to_user.unit_id is None or not target.scope_path.startswith(to_user.unit.path):
            raise OrderError("to_user", _("the new owner must work in the order's center"))
        previous = target.owner
        target.owner = to_user
        target.save(update_fields=["owner", "updated_at"])
        record_event(order=target, kind="handover", actor=actor,
                     payload={"from": str(previous), "to": str(to_user), "to_id": to_user.pk, "reason": reason[:500]})
        return target
