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
from django.utils import timezone
from django.utils.translation import gettext as _

from hotline.catalog import selectors as catalog_selectors
from hotline.catalog.lifecycle import ACTION_LABELS, REASON_REQUIRED, Transition
from hotline.catalog.models import BusinessType, Routing, SubClass
from hotline.catalog.services import current_policy_version
from hotline.core import bulk, clock, dispatch, phones, policy
from hotline.organisation import selectors as organisation_selectors
from hotline.organisation.models import (
    CENTER_ROLES,
    Customer,
    Role,
    ServiceArea,
    SpecialMark,
    Unit,
    UnitKind,
    User,
)
from hotline.organisation.selectors import area_for_address
from hotline.workorders import access, handling
from hotline.workorders import clocks as order_clocks
from hotline.workorders import intake_check, policies
from hotline.workorders.errors import NotAllowed, OrderError, TransitionError
from hotline.workorders.models import (
    TERMINAL,
    FaultScope,
    IdempotencyKey,
    NumberCounter,
    OrderContact,
    ReporterIdentity,
    State,
    WorkOrder,
    WorkOrderEvent,
)

MAX_DESCRIPTION = 4000


# --- helpers -----------------------------------------------------------------
#
# Error messages are translated when raised (gettext, named placeholders): in
# a request the user's language is active, elsewhere the default language.

def _lifecycle(order: WorkOrder):
    """The life-cycle the order was created under (D0b)."""
    if order.lifecycle_version_id:
        return catalog_selectors.lifecycle_of_version(order.lifecycle_version_id)
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
    # Where no service area matches, the order goes to the county dispatch
    # desk: the intake page makes the agent confirm it (False until ticked);
    # None (API, imports) does not ask.
    desk_fallback: bool | None = None
    partner: str = ""
    partner_reference: str = ""
    reporter: dict = field(default_factory=dict)
    # The contact the order comes from: an existing one (a call the switch
    # reported), or one described here (source, source_id, caller_number,
    # recording_ref, started_at, queue); else the intake itself is recorded
    # as the contact (the agent, now, the caller's number).
    contact_id: int | None = None
    contact: dict = field(default_factory=dict)


def _validate(intake: Intake, actor: User) -> tuple[BusinessType, SubClass | None, Customer | None, ServiceArea | None, phones.Phone | None]:
    # Every problem is gathered (a page shows them all at once); the first
    # one is the error's own field and message.
    errors: list[OrderError] = []

    def fail(field: str, message: str) -> None:
        errors.append(OrderError(field, message))

    bt = catalog_selectors.business_type(intake.business_type) if intake.business_type else None
    if not intake.business_type:
        fail("business_type", _("choose a business type"))
    elif bt is None:
        fail("business_type", _("unknown business type “%(value)s”") % {"value": intake.business_type})
    elif bt.code == "chase_up":
        fail("business_type", _("chase-up orders are raised from the order they chase"))
    sub = None
    if bt is not None and intake.sub_class:
        sub = catalog_selectors.sub_class(bt.pk, intake.sub_class)
        if sub is None:
            fail("sub_class", _("“%(value)s” is not a sub-class of %(type)s") % {"value": intake.sub_class, "type": bt.name})
    elif bt is not None and catalog_selectors.has_sub_classes(bt.pk):
        fail("sub_class", _("choose a sub-class"))
    if bt is not None and intake.priority and intake.priority not in bt.priority_codes():
        if not bt.priority_codes():
            fail("priority", _("this business type has no priorities"))
        else:
            fail("priority", _("must be one of: %(values)s") % {"values": ", ".join(bt.priority_codes())})
    description = (intake.description or "").strip()
    if not description:
        fail("description", _("describe the request"))
    elif len(description) > MAX_DESCRIPTION:
        fail("description", _("at most %(count)d characters") % {"count": MAX_DESCRIPTION})
    customer = None
    if intake.customer_id is not None:
        # Only a customer the agent may see: an id from elsewhere is "no such customer".
        customer = access.visible_customers(actor).filter(pk=intake.customer_id).first()
        if customer is None:
            fail("customer_id", _("no such customer"))
    phone = None
    if intake.caller_phone:
        try:
            phone = phones.normalise(intake.caller_phone)
        except phones.PhoneError as exc:
            fail("caller_phone", str(exc))
    area = None
    if intake.service_area_id is not None:
        area = organisation_selectors.service_area(intake.service_area_id)
        if area is None:
            fail("service_area_id", _("no such service area"))
    elif customer is not None and customer.service_area_id:
        area = organisation_selectors.service_area(customer.service_area_id)
    elif intake.address:
        area = area_for_address(intake.address)
    is_repair = bt is not None and bt.code == "repair"
    if intake.fault_scope and intake.fault_scope not in FaultScope.values:
        fail("fault_scope", _("must be one of: %(values)s") % {"values": ", ".join(v for v in FaultScope.values if v)})
    elif is_repair and not intake.fault_scope:
        fail("fault_scope", _("classify the fault scope of a repair report"))
    elif bt is not None and not is_repair and intake.fault_scope:
        fail("fault_scope", _("only repair reports have a fault scope"))
    if not (intake.caller_phone or intake.customer_id is not None or intake.anonymous):
        fail("caller_phone", _("a phone number or a customer is required"))
    if (intake.desk_fallback is False and bt is not None and area is None and intake.service_area_id is None
            and _routes_by_area(bt, sub, intake)):
        fail("desk_fallback", _("no service area matches the address: correct it, choose the area, "
                                "or confirm that the order goes to the county dispatch desk"))
    if errors:
        raise OrderError.gather(errors)
    return bt, sub, customer, area, phone


def check_intake(*, actor: User, intake: Intake) -> None:
    """Raise what ``create_order`` would find wrong with the intake's fields
    (every problem, OrderError.errors), writing nothing."""
    _validate(intake, actor)


def _routes_by_area(bt: BusinessType, sub: SubClass | None, intake: Intake) -> bool:
    """Whether a new order would be dispatched to the unit serving its
    address (not to a department, a chosen unit, a master, or not at all)."""
    if bt.routing != Routing.AREA or (sub is not None and sub.routing_function) or not intake.dispatch:
        return False
    if intake.assigned_unit_id or intake.merge_into:
        return False
    if bt.code == "repair":  # inquiries (planned outage, arrears, customer-internal) are not dispatched
        return intake.fault_scope == FaultScope.COMPANY or (
            intake.fault_scope == FaultScope.CUSTOMER_INTERNAL and intake.paid_service)
    return True


def _intake_reclassification(intake: Intake, bt: BusinessType, customer: Customer | None, phone) -> tuple[str | None, str]:
    """Spec §1 intake rules and §3.1: the type an order is recorded as, and
    why (in the user's language: the history and the answer keep the text)."""
    marked = customer is not None and customer.special_mark in (SpecialMark.MALICIOUS, SpecialMark.THEFT, SpecialMark.ARREARS)
    if phone is not None and not marked:
        from hotline.organisation.models import MarkedNumber

        marked = MarkedNumber.objects.filter(number=phone.number).exists()
    if bt.code == "complaint":
        if intake.anonymous or not intake.reply_wanted or intake.virtual_number:
            return "opinion", _("anonymous, no-reply or virtual-number complaint is recorded, not dispatched as a complaint")
        if marked:
            return "opinion", _("caller carries a special-customer mark: complaint recorded as an opinion")
    if bt.code == "repair":
        if intake.fault_scope in (FaultScope.PLANNED_OUTAGE, FaultScope.ARREARS):
            return "inquiry", _("planned/published outage or arrears: handled as an inquiry, cause and restoration time told")
        if intake.fault_scope == FaultScope.CUSTOMER_INTERNAL and not intake.paid_service:
            return "inquiry", _("customer-internal fault: customer guided, no paid service requested")
    return None, ""


CONTACT_FIELDS = ("source", "source_id", "caller_number", "queue", "recording_ref", "started_at", "ended_at", "channel")
INTAKE_CONTACT_CHANNEL = {"phone": "phone", "web": "web", "api": "api", "linkage": "partner"}


def _contact_for(actor: User, intake: Intake, phone, now: dt.datetime):
    """The contact an order comes from (read or described; written by
    ``_link_contact`` inside the create's transaction)."""
    from hotline.contacts.models import Contact

    if intake.contact_id is not None:
        contact = Contact.objects.filter(pk=intake.contact_id).first()
        if contact is None:
            raise OrderError("contact_id", _("no such contact"))
        # C2c: only the agent's own current or recent call (the access policy).
        refusal = access.contact_link_refusal(actor, contact, now=now)
        if refusal:
            raise OrderError("contact_id", refusal)
        return contact
    data = dict(intake.contact or {})
    unknown = set(data) - set(CONTACT_FIELDS)
    if unknown:
        raise OrderError("contact", _("unknown fields: %(fields)s") % {"fields": ", ".join(sorted(unknown))})
    if data.get("source") and str(data.get("source_id") or "").strip():
        # A described contact that exists already is that contact (record_contact
        # returns it): the same rule as naming it by id.
        known = Contact.objects.filter(source=str(data["source"]).strip(),
                                       source_id=str(data["source_id"]).strip()).first()
        refusal = access.contact_link_refusal(actor, known, now=now) if known is not None else None
        if refusal:
            raise OrderError("contact", refusal)
    data.setdefault("channel", INTAKE_CONTACT_CHANNEL.get(intake.channel, "phone"))
    data.setdefault("source", "intake" if intake.channel in ("phone", "web") else intake.channel)
    data.setdefault("caller_number", phone.number if phone else "")
    data.setdefault("started_at", now)
    return data


def _link_contact(order: WorkOrder, contact, *, kind: str, at: dt.datetime) -> None:
    from hotline.contacts.services import ContactError, record_contact

    if isinstance(contact, dict):
        try:
            contact = record_contact(agent=order.owner, **contact)
        except ContactError as exc:
            raise OrderError(f"contact.{exc.field}", exc.message) from exc
    OrderContact.objects.create(order=order, contact=contact, kind=kind, linked_at=at)


@transaction.atomic
def link_call(*, order: WorkOrder, contact_id: int, actor: User, at: dt.datetime | None = None) -> bool:
    """A call about an order already recorded (the agent says so when
    wrapping the call up): its contact joins the order's contacts as a
    chase-up contact, and the link is an event of the order's history, so
    the order's page says the customer called again. False if it was
    linked already."""
    at = at or clock.now()
    _link, created = OrderContact.objects.get_or_create(
        order=order, contact_id=contact_id, defaults={"kind": OrderContact.Kind.CHASE, "linked_at": at})
    if created:
        record_event(order=order, kind="call_linked", actor=actor, at=at, payload={"contact_id": contact_id})
    return created


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
    contact: Any = None


def _prepare(*, actor: User, intake: Intake) -> _Prepared:
    bt, sub, customer, area, phone = _validate(intake, actor)
    center = _center_of(actor)
    original_type = bt.code
    new_type, reason = _intake_reclassification(intake, bt, customer, phone)
    if new_type:
        bt = catalog_selectors.business_type(new_type)
        sub = None
    if intake.merge_into:
        master = access.visible_orders(actor).filter(number=intake.merge_into).first()
        if master is None:
            raise OrderError("merge_into", _("no such order"))
        if not (bt.mergeable and master.business_type_id == bt.id):
            raise OrderError("merge_into", _("only repair reports merge, into a repair report"))
        if master.state in TERMINAL:
            raise OrderError("merge_into", _("the master order is already archived"))
    needs_review = (actor.role == Role.AGENT and actor.stars is not None and actor.stars <= policy.get(policies.REVIEW_STARS)
                    and settings.HOTLINE.get("REVIEW_LOW_STAR_AGENTS", True))
    lifecycle = catalog_selectors.lifecycle(bt)
    initial = "draft" if needs_review and lifecycle.find("approve", "draft") else lifecycle.initial
    now = clock.now()
    return _Prepared(actor=actor, intake=intake, now=now, center=center, business_type=bt, sub_class=sub,
                     customer=customer, area=area, phone=phone, original_type=original_type, new_type=new_type,
                     reason=reason, initial=initial, contact=_contact_for(actor, intake, phone, now))


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
        scope_path=p.center.path, policy_version=current_policy_version(),
        lifecycle_version=catalog_selectors.current_lifecycle_version(bt), partner=intake.partner,
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
    if intake.partner:  # D1k: a linkage order names its partner and their reference
        payload.update({"partner": intake.partner, "partner_reference": intake.partner_reference})
    if new_type:
        payload.update({"recorded_as": new_type, "requested_type": p.original_type, "reason": p.reason})
    if p.original_type == "repair":
        # D3.1/D7k: what the center knew about the place, what that proposed,
        # and what the agent chose (the fault scope), kept on the order.
        found = intake_check.check(service_area_id=area.pk if area else None, customer=customer, at=now)
        payload["fault_scope"] = intake.fault_scope
        payload["intake_check"] = found.payload()
        payload["intake_decision"] = intake_check.decision(found, intake.fault_scope)
    if bt.code == "repair":  # asked as a repair too: its fault scope is in the payload above
        if intake.fault_scope == FaultScope.CUSTOMER_INTERNAL:
            payload["paid_service_stated"] = True
        suggestions = suggest_duplicates(order)
        if suggestions:
            payload["duplicate_suggestions"] = suggestions
            payload["duplicate_decision"] = "merge" if intake.merge_into else "separate"
    record_event(order=order, kind="create", actor=actor, from_state="", to_state=initial, payload=payload, at=now, held=True)
    # The clocks just started stay in memory through the dispatch that
    # follows, and are inserted once at the end.
    clocks = order_clocks.on_event(order=order, kind="create", at=now, new_order=True)
    if intake.merge_into:
        _apply(order=order, action="merge", actor=actor, payload={"master": intake.merge_into}, now=now, clocks=clocks)
    elif order.state == State.ACCEPTED and new_type == "inquiry":
        _apply(order=order, action="answer", actor=actor, payload={"note": p.reason}, now=now, clocks=clocks)
    elif order.state == State.ACCEPTED and intake.dispatch and bt.routing != Routing.NONE:
        payload = {"unit_id": intake.assigned_unit_id} if intake.assigned_unit_id else {}
        if bt.code != "inquiry":
            _apply(order=order, action="dispatch", actor=actor, payload=payload, now=now, clocks=clocks)
    WorkOrderEvent.objects.bulk_create(order.__dict__.pop("_held_events"))
    for c in clocks:  # started before the dispatch: they carry the holder it chose
        c.holder_unit_id = order.assigned_unit_id
    order_clocks.save_new_clocks(clocks)
    # The per-day counter row is locked from here to COMMIT only: creates of
    # one type do not queue behind each other, and numbers stay gapless.
    _link_contact(order, p.contact, kind=OrderContact.Kind.ORIGIN, at=now)
    order.number = _next_number(bt.number_prefix, now)
    if order.master_id:
        record_event(order=order.master, kind="merged_in", actor=actor, at=now, payload={"sub": order.number})
    # One UPDATE carries the number, the event sequence and the dispatch.
    order.save(update_fields=["number", "last_seq", "state", "assigned_unit", "assigned_path", "dispatched_at",
                              "master", "closed_at", "updated_at"])
    dispatch.publish("workorders.created", order=order, actor=actor, at=now)
    return order


# --- duplicates (spec D3.4) -------------------------------------------------------

def merge_window() -> dt.timedelta:
    """How far back open repair orders are compared with a new report (the
    center's policy; business types carry no window of their own)."""
    return dt.timedelta(hours=float(policy.get(policies.MERGE_WINDOW_HOURS)))


def merge_point_level() -> str:
    """The fault point two reports must share to merge: the transformer area
    (default) or, where the center configures it, the village."""
    return policy.get(policies.MERGE_FAULT_POINT)


def _village_of(area: ServiceArea | None) -> int | None:
    if area is None:
        return None
    if area.level == "transformer_area":
        return area.parent_id
    return area.pk if area.level == "village" else None


def same_fault_point(a: ServiceArea | None, b: ServiceArea | None, *, level: str) -> bool:
    """D3.4d: only the same fault point merges. The same area always is one;
    at village level, areas of one village are too. A township names no
    point; neighbouring transformer areas are different points."""
    if a is None or b is None:
        return False
    if a.pk == b.pk:
        return a.level != "township"
    # A caller who could only name the village may be at a transformer area
    # of it: possibly the same point, for the agent to confirm.
    if (a.level, b.level) == ("village", "transformer_area") and b.parent_id == a.pk:
        return True
    if (a.level, b.level) == ("transformer_area", "village") and a.parent_id == b.pk:
        return True
    if level == "village":
        va, vb = _village_of(a), _village_of(b)
        return va is not None and va == vb
    return False


def preview_duplicates(*, actor: User, business_type: str, service_area_id: int | None, sub_class: str = "",
                       fault_scope: str = "", description: str = "", customer_id: int | None = None) -> list[dict]:
    """The proposals the intake form shows before the order exists: the
    report as typed so far, compared as ``suggest_duplicates`` will compare
    it when saved. Only candidates the agent may see."""
    bt = catalog_selectors.business_type(business_type)
    if bt is None or not bt.mergeable:
        return []
    if service_area_id is None and customer_id is not None:
        customer = access.visible_customers(actor).filter(pk=customer_id).first()
        service_area_id = customer.service_area_id if customer else None
    if service_area_id is None:
        return []
    sub = catalog_selectors.sub_class(bt.pk, sub_class) if sub_class else None
    draft = WorkOrder(business_type=bt, service_area_id=service_area_id, sub_class=sub, fault_scope=fault_scope,
                      description=description or "", created_at=clock.now())
    proposals = suggest_duplicates(draft)
    visible = set(access.visible_orders(actor).filter(number__in=[c["number"] for c in proposals])
                  .values_list("number", flat=True))
    return [c for c in proposals if c["number"] in visible]


def suggest_duplicates(order: WorkOrder, *, window: dt.timedelta | None = None) -> list[dict]:
    """Open repair orders that may be the same fault (spec D3.4a), scored by
    fault point, line, village, fault class, cause, time and the similarity
    of the phenomenon text (``workorders.duplicates``), best first. Only
    candidates at the same fault point (D3.4d) are proposed; each proposal
    carries its score and reasons (D3.4e)."""
    from hotline.workorders import duplicates

    if not order.business_type.mergeable or not order.service_area_id:
        return []
    bt = order.business_type
    window = window or merge_window()
    level = merge_point_level()
    area = organisation_selectors.service_area(order.service_area_id)
    if area is None or area.level == "township":
        return []
    village = _village_of(area)
    if level == "village" and village is not None:
        areas = {village, *organisation_selectors.child_area_ids(village)}
    elif area.level == "village":
        areas = {area.pk, *organisation_selectors.child_area_ids(area.pk)}
    else:
        areas = {area.pk, village} if village else {area.pk}
    # Index range scans on (service_area, created_at): a handful of rows per
    # area whatever the table size; the newest first, so that in a storm the
    # reports nearest in time are the ones compared.
    rows = list(WorkOrder.objects.filter(business_type=bt, service_area_id__in=areas, master__isnull=True,
                                         created_at__gte=order.created_at - window, created_at__lte=order.created_at)
                .exclude(pk=order.pk).exclude(state__in=TERMINAL).order_by("-created_at")
                .values_list("number", "service_area_id", "sub_class_id", "fault_scope", "description", "created_at")[:50])

    def report(area_obj, sub_class_id, fault_scope, text, created_at, key=None):
        return duplicates.Report(area_id=area_obj.pk if area_obj else None, area_level=area_obj.level if area_obj else "",
                                 village_id=_village_of(area_obj), sub_class_id=sub_class_id, fault_scope=fault_scope or "",
                                 text=text or "", created_at=created_at, key=key)

    new = report(area, order.sub_class_id, order.fault_scope, order.description, order.created_at)
    candidates = []
    for number, area_id, sub_class_id, fault_scope, description, created_at in rows:
        other = organisation_selectors.service_area(area_id)
        if not same_fault_point(area, other, level=level):
            continue
        candidates.append(report(other, sub_class_id, fault_scope, description, created_at, key=(number, str(other or ""))))
    policy = duplicates.DuplicatePolicy(merge_level=level, window=window)
    # Best first: the best-scoring candidate is the one most likely the same
    # fault, and it is older than this report, so the first accepted stays
    # the master (D3.4b). (Proposing the oldest first instead cost 2-5
    # points of precision on the labelled replays.)
    proposals = duplicates.propose(new, candidates, policy=policy)
    out = []
    for p in proposals:
        number, area_name = p.candidate.key
        out.append({"number": number, "area": area_name, "score": round(p.score, 2), "reasons": list(p.reasons),
                    "similarity": None if p.similarity is None else round(p.similarity, 2)})
    return out


# --- transitions -----------------------------------------------------------------
#
# Each life-cycle action with side effects has one registered handler; the
# life-cycle data decides where an action is allowed, the handler what it
# does. A merged sub-order has two exits of its own whatever its type's
# life-cycle: the merged caller's callback (D3.4c) and unmerge.

MERGED_TRANSITIONS = (
    Transition("callback", frozenset({State.MERGED.value}), None, "center"),
    Transition("unmerge", frozenset({State.MERGED.value}), State.ACCEPTED.value, "center"),
)
CALLBACK_OUTCOMES = ("satisfied", "basically_satisfied", "dissatisfied", "unreachable", "not_rated")
RETURN_REASONS_REPAIR = ("outside_area", "missing_information")
# What a master's action passes to its sub-orders (event kind on the sub).
PASSED_TO_SUBS = {"resolve": "restoration", "reply": "master_reply", "close": "master_close", "cancel": "master_cancel"}


def _find(order: WorkOrder, action: str) -> Transition | None:
    t = _lifecycle(order).find(action, order.state)
    if t is None and order.state == State.MERGED:
        t = next((m for m in MERGED_TRANSITIONS if m.action == action), None)
    return t


def allowed_actions(*, order: WorkOrder, user: User) -> list[Transition]:
    lc = _lifecycle(order)
    candidates = lc.actions_from(order.state)
    if order.state == State.MERGED:
        candidates = [*candidates, *MERGED_TRANSITIONS]
    return [t for t in candidates if _permitted(user, order, t) is None]


def _permitted(user: User, order: WorkOrder, t: Transition) -> str | None:
    """None if allowed, else the reason (untranslated: translate it to show it).
    The access policy decides (one place for pages, API and exports)."""
    return access.can_act(user, order, t.by)


def transition(*, order: WorkOrder | int | str, action: str, actor: User, payload: dict | None = None) -> WorkOrder:
    with transaction.atomic():
        locked = _lock(order)
        now = clock.now()
        _apply(order=locked, action=action, actor=actor, payload=payload or {}, now=now)
        # Other apps react in this transaction (core.dispatch).
        dispatch.publish("workorders.transition", order=locked, action=action, actor=actor, at=now)
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


@dataclass
class _Step:
    """One action being applied to a locked order."""

    order: WorkOrder
    action: str
    actor: User
    payload: dict
    now: dt.datetime
    event_payload: dict
    update_fields: list[str]
    deferred: bool
    # The action's reason and note (none for a reassign, which moves an
    # order outside the life-cycle through _dispatch only).
    reason: str = ""
    note: str = ""


_HANDLERS: dict[str, Any] = {}
_AFTER: dict[str, Any] = {}


def _handles(fn, *actions: str, after: bool = False) -> None:
    """Register ``fn`` as the side effect of ``actions``: before the state
    changes, or ``after`` the event and clocks are written. Called after each
    handler, not as a decorator: mutmut mutates undecorated functions only,
    and the handlers hold the transitions' rules (docs/testing.md)."""
    for a in actions:
        (_AFTER if after else _HANDLERS)[a] = fn


def _apply(*, order: WorkOrder, action: str, actor: User, payload: dict, now: dt.datetime,
           clocks: list | None = None) -> WorkOrderEvent:
    """Apply one life-cycle action to a locked order.

    ``clocks``: all of the order's clocks, when a create in progress has them
    in hand; then the order row and its new clocks are written by the
    create itself at its end (one UPDATE, one INSERT), not here.
    """
    deferred = clocks is not None
    t = _find(order, action)
    if t is None:
        known = {x.action for x in _lifecycle(order).transitions} | {m.action for m in MERGED_TRANSITIONS}
        if action not in known:  # a bad value, not a state the order is in: 422
            raise OrderError("action", _("%(type)s orders have no action “%(action)s”") % {
                "type": order.business_type.name, "action": _action_label(action)})
        raise TransitionError(_("cannot “%(action)s” an order in state “%(state)s”") % {
            "action": _action_label(action), "state": _state_label(order.state)})
    denied = _permitted(actor, order, t)
    if denied:
        raise NotAllowed(_(denied))
    payload = dict(payload)
    reason = str(payload.get("reason", "")).strip()
    if (action in REASON_REQUIRED or action == "unmerge") and not reason:
        raise OrderError("reason", _("“%(action)s” needs a reason") % {"action": _action_label(action)})
    note = str(payload.get("note", "")).strip()[:2000]
    event_payload: dict[str, Any] = {}
    if reason:
        event_payload["reason"] = reason[:500]
    if note:
        event_payload["note"] = note
    step = _Step(order=order, action=action, actor=actor, payload=payload, now=now, reason=reason, note=note,
                 event_payload=event_payload, update_fields=["state", "updated_at"], deferred=deferred)
    from_state = order.state
    # What the type asks the unit to record on this action, all problems at once.
    record = handling.take(order, action, payload.get("record"), now=now, at=payload.get("at"))
    if record.action_time is not None:
        payload["at"] = record.values[record.action_time.code]
    handler = _HANDLERS.get(action)
    if handler is not None:
        handler(step)
    if record:
        _keep_record(step, record)
    if t.target is not None:
        order.state = t.target
    if order.state in TERMINAL and from_state not in TERMINAL:
        order.closed_at = now
        step.update_fields.append("closed_at")
    order.updated_at = now
    if not deferred:
        order.save(update_fields=step.update_fields)
    event = record_event(order=order, kind=action, actor=actor, from_state=from_state, to_state=order.state,
                         payload=event_payload, at=now, held=deferred)
    order_clocks.on_event(order=order, kind=action, at=now, known_clocks=clocks)
    after = _AFTER.get(action)
    if after is not None:
        after(step)
    if action in PASSED_TO_SUBS and order.master_id is None:
        _pass_to_subs(step)
    return event


def _dispatch(step: _Step) -> None:
    order, payload = step.order, step.payload
    if payload.get("unit_id"):
        unit = Unit.objects.filter(pk=payload["unit_id"], active=True).first()
        if unit is None:
            raise OrderError("unit_id", _("no such active unit"))
        county = order.scope_unit.parent or order.scope_unit
        if not unit.path.startswith(county.path) and not step.actor.is_superuser:
            raise OrderError("unit_id", _("that unit is outside this center's county"))
    else:
        unit = route(order)
    if step.action == "redispatch" and unit.pk == order.assigned_unit_id and not payload.get("unit_id"):
        unit = dispatch_desk_for(order.scope_unit) or unit
    step.event_payload.update({"unit_id": unit.pk, "unit": unit.name})
    if order.assigned_unit_id:
        step.event_payload["previous_unit"] = order.assigned_unit.name
        step.event_payload["previous_unit_id"] = order.assigned_unit_id
    order.assigned_unit = unit
    order.assigned_path = unit.path
    step.update_fields += ["assigned_unit", "assigned_path"]
    if not step.deferred and step.event_payload.get("previous_unit_id") != unit.pk:
        order_clocks.follow_holder(order)  # the boards read the holder from clocks and notices
    if order.dispatched_at is None:
        order.dispatched_at = step.now
        step.update_fields.append("dispatched_at")


_handles(_dispatch, "dispatch", "redispatch")


def _latest_dispatch_at(order: WorkOrder) -> dt.datetime | None:
    return (WorkOrderEvent.objects.filter(order=order, kind__in=("dispatch", "redispatch"))
            .order_by("-seq").values_list("at", flat=True).first())


def _accept_window_end(order: WorkOrder) -> dt.datetime | None:
    """When the holding unit's accept limit ends: the accept rule's limit
    after the order's latest dispatch to that unit. None without a rule."""
    from hotline.calendars.services import add_duration

    rule = order_clocks.rules_for_order(order).get("accept")
    if rule is None:
        return None
    assigned_at = _latest_dispatch_at(order)
    if assigned_at is None:
        return None
    return add_duration(assigned_at, rule.amount, rule.unit)


def _return(step: _Step) -> None:
    order = step.order
    if order.business_type.code == "repair":
        # D3.5a: a repair order comes back only as outside the unit's area
        # or missing key information, and only within the accept limit.
        if step.reason not in RETURN_REASONS_REPAIR:
            raise OrderError("reason", _("a repair order may only be returned as outside_area or missing_information"))
        end = _accept_window_end(order)
        if end is not None and step.now > end:
            raise TransitionError(_("the accept limit has passed (%(time)s): the order can no longer be returned") % {
                "time": timezone.localtime(end).strftime("%H:%M:%S")})
        # D3.5c: dispatched just after a matching fault outage notice, the
        # unit knew of the fault; it may merge the order, not return it.
        guards = dispatch.publish("workorders.return_guard", order=order, dispatched_at=_latest_dispatch_at(order))
        notice = next((g for g in guards if g), None)
        if notice:
            raise TransitionError(_("dispatched within %(minutes)d minutes after the fault outage notice %(notice)s: "
                                    "merge the order instead of returning it") % {
                "minutes": int(policy.get(policies.RETURN_GUARD_MINUTES)), "notice": notice})
    order.return_count += 1
    step.update_fields.append("return_count")
    # D4f: returns are counted per department: the event names it.
    step.event_payload.update({"unit_id": order.assigned_unit_id,
                               "unit": order.assigned_unit.name})  # a return is the holding unit's


_handles(_return, "return")


def _merge(step: _Step) -> None:
    order = step.order
    number = str(step.payload.get("master", "")).strip()
    master = (access.visible_orders(step.actor).select_for_update(no_key=True).select_related("business_type")
              .filter(number=number).first()) if number else None
    check_merge(order=order, master=master)
    order.master = master
    step.update_fields.append("master")
    step.event_payload["master"] = master.number


_handles(_merge, "merge")


def check_merge(*, order: WorkOrder, master: WorkOrder | None) -> None:
    """D3.4b/d: only repair reports merge, into the first accepted report of
    the same fault point, while that one is not archived."""
    if master is None:
        raise OrderError("master", _("no such order"))
    if master.pk == order.pk or master.master_id:
        raise OrderError("master", _("merge into a master order, not into itself or a sub-order"))
    if master.business_type_id != order.business_type_id or not order.business_type.mergeable:
        raise OrderError("master", _("only repair reports merge, into a repair report"))
    if master.state in TERMINAL:
        raise OrderError("master", _("the master order is already archived"))
    if (master.created_at, master.pk) > (order.created_at, order.pk):
        raise OrderError("master", _("the first accepted report is the master: merge the later one into it"))
    level = merge_point_level()
    a = organisation_selectors.service_area(order.service_area_id) if order.service_area_id else None
    b = organisation_selectors.service_area(master.service_area_id) if master.service_area_id else None
    if not same_fault_point(a, b, level=level):
        raise OrderError("master", _("%(number)s is not at the same fault point") % {"number": master.number})


def _merge_after(step: _Step) -> None:
    # A master merged into another takes its sub-orders along (D3.4b).
    order, master = step.order, step.order.master
    for sub in WorkOrder.objects.select_for_update(no_key=True).filter(master=order).order_by("pk"):
        sub.master = master
        sub.updated_at = step.now
        sub.save(update_fields=["master", "updated_at"])
        record_event(order=sub, kind="remerge", actor=step.actor, at=step.now,
                     payload={"master": master.number, "previous_master": order.number})
    if not step.deferred:  # a create records it once its number is known (_write)
        record_event(order=master, kind="merged_in", actor=step.actor, at=step.now, payload={"sub": order.number})


_handles(_merge_after, "merge", after=True)


def _unmerge(step: _Step) -> None:
    order = step.order
    master = order.master
    step.event_payload["master"] = master.number if master else ""
    order.master = None
    order.closed_at = None
    order.reopened_at = step.now
    step.update_fields += ["master", "closed_at", "reopened_at"]
    if master is not None:
        record_event(order=master, kind="sub_unmerged", actor=step.actor, at=step.now,
                     payload={"sub": order.number, "reason": step.reason[:500]})


_handles(_unmerge, "unmerge")


def _ahead(order: WorkOrder) -> set[str]:
    """Actions the order's state can still reach on its way to closure
    (not counting returns, merges, cancels and reopens)."""
    lc = _lifecycle(order)
    side = {"return", "redispatch", "merge", "cancel", "reopen", "rework", "unmerge"}
    seen_states, actions, todo = {order.state}, set(), [order.state]
    while todo:
        state = todo.pop()
        for t in lc.actions_from(state):
            if t.action in side:
                continue
            actions.add(t.action)
            if t.target and t.target not in seen_states:
                seen_states.add(t.target)
                todo.append(t.target)
    return actions


def _restart_clocks(step: _Step) -> None:
    # Reopen and unmerge (D4, D3.4): the clocks the new state needs run again.
    order_clocks.restart_for(order=step.order, at=step.now, actions=_ahead(step.order))


_handles(_restart_clocks, "unmerge", "reopen", after=True)


def _reopen(step: _Step) -> None:
    order = step.order
    order.closed_at = None
    order.reopened_at = step.now
    step.update_fields += ["closed_at", "reopened_at"]


_handles(_reopen, "reopen")


def _callback(step: _Step) -> None:
    outcome = step.payload.get("outcome", "")
    if outcome not in CALLBACK_OUTCOMES:
        raise OrderError("outcome", _("one of satisfied, basically_satisfied, dissatisfied, unreachable, not_rated"))
    if not step.note:
        raise OrderError("note", _("record the customer's words"))
    step.event_payload["outcome"] = outcome


_handles(_callback, "callback")


def _reported_time(step: _Step, field: str, *, future: bool = False) -> dt.datetime | None:
    """A time the field reports (``step.payload[field]``: ISO 8601, or a
    datetime), parsed; None when absent. Field times lie in the past, an
    estimate in the future."""
    value = handling.parse_time(step.payload.get(field), field=field)
    if value is None:
        return None
    if not future and value > step.now + handling.CLOCK_SLACK:
        raise OrderError(field, _("this time is in the future"))
    if future and value < step.now - handling.CLOCK_SLACK:
        raise OrderError(field, _("the estimated restoration must lie ahead"))
    return value


def field_record_minutes() -> int:
    """D3.6a/d: arrival and completion are recorded within this many minutes."""
    return int(policy.get(policies.FIELD_RECORD_MINUTES))


def _field_time(step: _Step) -> None:
    """The crew may record the time it arrived, finished or found the fault
    a little later than it happened (D3.6a, D3.6d: at most 5 minutes); a
    later record is kept with its delay, for the unit's field-progress
    figures, and never replaces the time it happened."""
    at = _reported_time(step, "at")
    if at is None:
        return
    handling.check_past_time(at, field="at", order=step.order, now=step.now)
    step.event_payload["reported_at"] = at.isoformat()
    delay = (step.now - at).total_seconds()
    if delay > field_record_minutes() * 60:
        step.event_payload["recorded_late_seconds"] = int(delay)


_handles(_field_time, "arrive", "resolve", "locate")


def _keep_record(step: _Step, record: handling.Taken) -> None:
    """The handling record of this action: in its event (the history) and,
    replacing the action's part before, on the order (for reading). The time
    of the action is the time the step reported (``reported_at``), else now."""
    reported = step.event_payload.get("reported_at")
    if reported:
        action_at = handling.parse_time(reported, field="at")
    elif record.action_time is not None:  # an action without a field time of its own (a reply)
        action_at = record.values[record.action_time.code]
    else:
        action_at = step.now
    entries = handling.entries(record, action=step.action, action_at=action_at)
    step.event_payload["record"] = entries
    step.order.handling_record = handling.merged(step.order.handling_record, step.action, entries)
    step.update_fields.append("handling_record")


def _estimate(step: _Step) -> None:
    """D3.6b: the crew's estimated restoration time, kept on the order so
    the agent can tell every caller of this fault."""
    at = _reported_time(step, "estimated_at", future=True)
    if at is None:
        raise OrderError("estimated_at", _("give the estimated restoration time"))
    step.event_payload["estimated_restoration_at"] = at.isoformat()
    step.order.estimated_restoration_at = at
    step.update_fields.append("estimated_restoration_at")


_handles(_estimate, "estimate")


def _pass_to_subs(step: _Step) -> None:
    """A master's restoration, reply, archive and cancel pass to every
    merged caller (D3.4c): each sub-order gets the event; a reply starts the
    sub's own callback clock; a cancel cancels the subs."""
    order = step.order
    kind = PASSED_TO_SUBS[step.action]
    subs = list(WorkOrder.objects.select_for_update(no_key=True).select_related("business_type").filter(
        master=order, state=State.MERGED).order_by("pk"))
    if step.action == "resolve" and order.business_type.mergeable:
        notify_restoration(order, subs, at=step.now)
    record = step.event_payload.get("record")
    for sub in subs:
        payload = {"master": order.number}
        if step.reason:
            payload["reason"] = step.reason[:500]
        if record is not None and step.action != "cancel":
            # Every merged caller is told what was found and done (D3.4c).
            payload["record"] = record
            sub.handling_record = order.handling_record
            sub.save(update_fields=["handling_record"])
        if step.action == "cancel":
            sub.state = State.CANCELLED
            sub.updated_at = step.now
            sub.save(update_fields=["state", "updated_at"])
            record_event(order=sub, kind=kind, actor=step.actor, from_state=State.MERGED, to_state=State.CANCELLED,
                         payload=payload, at=step.now)
            order_clocks.on_event(order=sub, kind="cancel", at=step.now)
            continue
        record_event(order=sub, kind=kind, actor=step.actor, payload=payload, at=step.now)
        if step.action == "reply" and order_clocks.callback_wanted(sub):
            order_clocks.start_clock(order=sub, metric="callback", at=step.now)


def restoration_channel() -> str:
    """The outbox channel of restoration notices (``HOTLINE_RESTORATION_CHANNEL``,
    default ``sms_http``; ``file`` for a demo without a gateway)."""
    from hotline.core.channels.base import setting

    return setting("HOTLINE_RESTORATION_CHANNEL", "sms_http").strip() or "sms_http"


def _mobile_of(order: WorkOrder):
    """The mobile to text about an order: the caller's, else the customer's."""
    numbers = [order.caller_phone] if order.caller_phone else []
    if order.customer_id:
        numbers += list(order.customer.phones.values_list("number", flat=True))
    for number in numbers:
        phone = phones.normalise_or_none(number)
        if phone is not None and phone.kind == "mobile":
            return phone
    return None


def notify_restoration(master: WorkOrder, subs: list[WorkOrder], *, at: dt.datetime) -> int:
    """D3.4c: every caller of a merged group is told the supply is back —
    the master's and each merged caller's mobile, once each (one message per
    order and number, however often the repair is resolved again), written to
    the outbox in the resolve's transaction. Returns the messages new to it."""
    from hotline.core import outbox

    from django.utils import translation

    local = timezone.localtime(at)
    with translation.override(settings.LANGUAGE_CODE):  # customers read the center's language
        text = _("[Power supply] The fault you reported (order %(number)s) was repaired and the supply restored at "
                 "%(time)s. Thank you for your patience.")
    messages, seen = [], set()
    for order in [master, *subs]:
        phone = _mobile_of(order)
        if phone is None or phone.number in seen:
            continue
        seen.add(phone.number)
        messages.append({
            "channel": restoration_channel(), "recipient": phone.number, "source": f"order:{order.number}:restoration",
            "dedup_key": f"order:{order.number}:restoration:{phone.number}",
            "payload": {"text": text % {"number": order.number, "time": local.strftime("%m-%d %H:%M")},
                        "order": order.number, "event": "restoration"}})
    return outbox.enqueue_many(messages) if messages else 0


# --- chase-ups -------------------------------------------------------------------

def chase_up(*, order: WorkOrder | str, actor: User, note: str, contact_id: int | None = None) -> WorkOrder:
    """A chase-up (催办) order linked to the order it chases (spec D1h):
    at least 5 minutes apart per customer, at most 2 per non-repair order."""
    note = (note or "").strip()
    if not note:
        raise OrderError("note", _("say what the customer is chasing"))
    if actor.role not in CENTER_ROLES and not actor.is_superuser:
        raise NotAllowed(_("only center staff raise chase-ups"))
    with transaction.atomic():
        target = _lock(order)
        # The access policy decides the scope (an account of no unit chases nothing).
        denied = access.can_act(actor, target, "center")
        if denied:
            raise NotAllowed(_(denied))
        if target.state in TERMINAL:
            raise TransitionError(_("a closed, merged or cancelled order cannot be chased"))
        if target.business_type.code == "chase_up":
            raise TransitionError(_("chase the original order, not a chase-up"))
        now = clock.now()
        if target.business_type.code != "repair" and \
                WorkOrder.objects.filter(chased_order=target).count() >= policy.get(policies.CHASE_MAX_NON_REPAIR):
            raise TransitionError(_("at most %(count)d chase-ups per non-repair order") % {
                "count": policy.get(policies.CHASE_MAX_NON_REPAIR)})
        same_customer = _same_customer(target)
        if target.customer_id:
            # Serialise chase-ups of one customer across their orders.
            Customer.objects.select_for_update().filter(pk=target.customer_id).exists()
        last = (WorkOrder.objects.filter(same_customer, business_type__code="chase_up")
                .order_by("-created_at").values_list("created_at", flat=True).first()) if same_customer else None
        spacing = dt.timedelta(minutes=policy.get(policies.CHASE_SPACING_MINUTES))
        if last is not None and now - last < spacing:
            wait = int((spacing - (now - last)).total_seconds())
            raise TransitionError(_("chase-ups for one customer are at least %(minutes)d minutes apart; wait %(seconds)d s") % {
                "minutes": int(spacing.total_seconds() // 60), "seconds": wait})
        bt = catalog_selectors.business_type("chase_up")
        chase = WorkOrder.objects.create(
            number=_next_number(bt.number_prefix, now), business_type=bt, state=State.ACCEPTED, channel=target.channel,
            customer=target.customer, caller_name=target.caller_name, caller_phone=target.caller_phone,
            address=target.address, service_area=target.service_area, area_class=target.area_class,
            description=note[:MAX_DESCRIPTION], owner=actor, scope_unit=target.scope_unit, scope_path=target.scope_path,
            policy_version=current_policy_version(), lifecycle_version=catalog_selectors.current_lifecycle_version(bt),
            chased_order=target, created_at=now, updated_at=now,
        )
        record_event(order=chase, kind="create", actor=actor, to_state=State.ACCEPTED,
                     payload={"type": "chase_up", "chases": target.number}, at=now)
        order_clocks.on_event(order=chase, kind="create", at=now)
        record_event(order=target, kind="chased", actor=actor, payload={"chase_up": chase.number, "note": note[:500]}, at=now)
        # The chasing call belongs to both: the chase-up and the order it chases.
        contact = _contact_for(actor, Intake(business_type="chase_up", description=note, contact_id=contact_id,
                                             channel=target.channel if target.channel in ("phone", "web") else "phone"),
                               phones.normalise_or_none(target.caller_phone) if target.caller_phone else None, now)
        if isinstance(contact, dict):
            from hotline.contacts.services import record_contact

            contact = record_contact(agent=actor, **contact)
        _link_contact(chase, contact, kind=OrderContact.Kind.ORIGIN, at=now)
        _link_contact(target, contact, kind=OrderContact.Kind.CHASE, at=now)
        if target.assigned_unit_id:
            _apply(order=chase, action="dispatch", actor=actor, payload={"unit_id": target.assigned_unit_id}, now=now)
        return chase


def _same_customer(order: WorkOrder):
    """Orders of the customer behind ``order``: the customer record, else
    the caller's number. None when neither is known (an anonymous caller)."""
    from django.db.models import Q

    if order.customer_id:
        return Q(customer_id=order.customer_id)
    if order.caller_phone:
        return Q(caller_phone=order.caller_phone)
    return None


# --- manual reminders (D5d) ---------------------------------------------------------

REMINDER_ROLES = (Role.AGENT, Role.SHIFT_LEADER, Role.DIRECTOR)


def remind(*, order: WorkOrder | str, actor: User, text: str):
    """A manual reminder (催办) by an agent or shift leader to the unit that
    holds the order: a notice and an event of the order's history."""
    text = (text or "").strip()
    if not text:
        raise OrderError("text", _("say what the unit is reminded of"))
    if actor.role not in REMINDER_ROLES and not actor.is_superuser:
        raise NotAllowed(_("only agents and shift leaders raise reminders"))
    with transaction.atomic():
        target = _lock(order)
        denied = access.can_act(actor, target, "center")
        if denied:
            raise NotAllowed(_(denied))
        if target.state in TERMINAL:
            raise TransitionError(_("a closed, merged or cancelled order needs no reminder"))
        return order_clocks.raise_manual_notice(order=target, by=actor, text=text, at=clock.now())


# --- from the shift leader's board: reassign and escalate ---------------------------

# An order still with a unit that may be moved to another (a returned one is
# re-dispatched by its own action).
REASSIGN_STATES = (State.DISPATCHED, State.RECEIVED, State.ON_SITE)


def reassign(*, order: WorkOrder | str, actor: User, unit_id: int | None, reason: str) -> WorkOrder:
    """A shift leader sends an order to another unit with a reason: a
    returned order through its re-dispatch, one a unit holds by moving it
    there to be received anew. Number and clocks are kept (D2g); the unit's
    clocks follow it (clocks.on_event "redispatch")."""
    reason = (reason or "").strip()
    if not reason:
        raise OrderError("reason", _("say why the order goes to another unit"))
    if not unit_id:
        raise OrderError("unit_id", _("choose the unit"))
    with transaction.atomic():
        target = _lock(order)
        denied = access.can_act(actor, target, "leader")
        if denied:
            raise NotAllowed(_(denied))
        now = clock.now()
        if target.state == State.RETURNED:
            _apply(order=target, action="redispatch", actor=actor, payload={"unit_id": unit_id, "reason": reason}, now=now)
        else:
            if target.state not in REASSIGN_STATES:
                raise TransitionError(_("cannot “%(action)s” an order in state “%(state)s”") % {
                    "action": _action_label("redispatch"), "state": _state_label(target.state)})
            if unit_id == target.assigned_unit_id:
                raise OrderError("unit_id", _("the order is with that unit already"))
            step = _Step(order=target, action="redispatch", actor=actor, payload={"unit_id": unit_id}, now=now,
                         event_payload={"reason": reason[:500]}, update_fields=["state", "updated_at"], deferred=False)
            _dispatch(step)
            from_state, target.state, target.updated_at = target.state, State.DISPATCHED, now
            target.save(update_fields=step.update_fields)
            record_event(order=target, kind="redispatch", actor=actor, from_state=from_state, to_state=target.state,
                         payload=step.event_payload, at=now)
            order_clocks.on_event(order=target, kind="redispatch", at=now)
        dispatch.publish("workorders.transition", order=target, action="redispatch", actor=actor, at=now)
        return target


def escalate(*, order: WorkOrder | str, actor: User, text: str):
    """A shift leader's manual notice one level up: to the supervisor of the
    unit holding the order (a notice and an event of the order's history)."""
    text = (text or "").strip()
    if not text:
        raise OrderError("text", _("say what the supervisor is asked to see to"))
    with transaction.atomic():
        target = _lock(order)
        denied = access.can_act(actor, target, "leader")
        if denied:
            raise NotAllowed(_(denied))
        if target.state in TERMINAL:
            raise TransitionError(_("a closed, merged or cancelled order needs no reminder"))
        return order_clocks.raise_manual_notice(order=target, by=actor, text=text, at=clock.now(), escalate=True)


# --- history written by the time-limit engine -----------------------------------------

def append_engine_events(entries) -> None:
    """The time-limit engine's entries (warnings, notices, escalations,
    answers, reminders) as events of their orders, in the caller's
    transaction: one UPDATE numbers them all, one INSERT writes them."""
    counts: dict[int, int] = {}
    for e in entries:
        counts[e.subject_id] = counts.get(e.subject_id, 0) + 1
    table = WorkOrder._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Two arrays, not a VALUES list: the statement's text is the same
            # for every batch, so neither psycopg nor the server parses a
            # thousand placeholders again each round.
            cursor.execute(f'UPDATE {table} SET "last_seq" = {table}."last_seq" + v.n '
                           f'FROM unnest(%s::bigint[], %s::integer[]) AS v(id, n) WHERE {table}."id" = v.id '
                           f'RETURNING {table}."id", {table}."last_seq"', [list(counts), list(counts.values())])
        else:
            values = ", ".join(["(CAST(%s AS bigint), CAST(%s AS integer))"] * len(counts))
            params: list = []
            for order_id, n in counts.items():
                params += [order_id, n]
            cursor.execute(f'WITH v(id, n) AS (VALUES {values}) UPDATE {table} SET "last_seq" = {table}."last_seq" + v.n '
                           f'FROM v WHERE {table}."id" = v.id RETURNING {table}."id", {table}."last_seq"', params)
        last = dict(cursor.fetchall())
    next_seq = {order_id: last[order_id] - n + 1 for order_id, n in counts.items()}
    rows = []
    for e in entries:
        seq = next_seq[e.subject_id]
        next_seq[e.subject_id] = seq + 1
        actor = e.actor
        rows.append(WorkOrderEvent(order_id=e.subject_id, seq=seq, kind=e.kind, actor=actor,
                                   actor_role=getattr(actor, "role", "") if actor else "system",
                                   actor_unit_id=getattr(actor, "unit_id", None), at=e.at, payload=e.payload))
    bulk.insert(WorkOrderEvent, rows)


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
