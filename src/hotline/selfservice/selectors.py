"""Reads of the customer self-service (D7i): outages over the place of an
account, a phone or an address, and an order's progress by its number and
the last four digits of a phone.

Both answers are built here once for the page and the API and carry no
personal data: never a customer's name, account number, phone number or
address; the query is echoed masked. For an account or a phone, not even
the customer's service area is named: only the outages over it (with the
areas each outage names, which the notice itself publishes).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from hotline.core import clock, phones
from hotline.organisation.models import AreaLevel, Customer, CustomerPhone, ServiceArea
from hotline.organisation.selectors import area_for_address
from hotline.outages.models import EventKind, Outage, OutageEvent, OutageStatus
from hotline.outages.selectors import (
    active_outages_covering,
    area_and_ancestor_ids,
    outages_naming_any,
)
from hotline.workorders import access
from hotline.workorders.models import State, WorkOrder, WorkOrderEvent

UPCOMING_DAYS = 7
MAX_PLACES = 10  # a phone shared by many accounts (a landlord's) answers for this many places
MAX_AREA_NAMES = 30
ACCOUNT = re.compile(r"[0-9A-Za-z\-]{4,30}")
ORDER_NUMBER = re.compile(r"[0-9A-Za-z\-]{4,24}")
PHONE_MAX = 24
PHONE_CHARS = re.compile(r"[\d\s\-+()]+")
ADDRESS_MIN, ADDRESS_MAX = 2, 100
KINDS = ("account", "phone", "address")
_FULLWIDTH = str.maketrans("０１２３４５６７８９－＋（）　", "0123456789-+() ")


class BadQuery(ValueError):
    """Bad input: the field (the API's name) and a message in the active language."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


# --- outages ----------------------------------------------------------------------

@dataclass(frozen=True)
class OutageQuery:
    kind: str  # account | phone | address
    value: str  # normalised: the account number, the phone's key, the address
    masked: str  # what the answer may echo


def _text(value) -> str:
    return "" if value is None else str(value).translate(_FULLWIDTH).strip()


def mask_account(account: str) -> str:
    return "****" + account[-4:] if len(account) > 4 else "****"


def parse_outage_query(kind, value) -> OutageQuery:
    kind, text = _text(kind).lower(), _text(value)
    if kind not in KINDS:
        raise BadQuery("kind", _("Choose what to look up by: account number, phone or address."))
    if kind == "account":
        if not text:
            raise BadQuery("query", _("Enter the account number."))
        if not ACCOUNT.fullmatch(text):
            raise BadQuery("query", _("An account number has 4 to 30 letters, digits or dashes."))
        return OutageQuery(kind, text, mask_account(text))
    if kind == "phone":
        if not text:
            raise BadQuery("query", _("Enter the phone number."))
        if len(text) > PHONE_MAX:
            raise BadQuery("query", _("A phone number has at most %(n)d characters.") % {"n": PHONE_MAX})
        if not PHONE_CHARS.fullmatch(text):
            # phones.normalise would drop letters silently; a caller must hear of them.
            raise BadQuery("query", _("A phone number has digits only (spaces and dashes are fine)."))
        try:
            phone = phones.normalise(text)
        except phones.PhoneError as exc:
            raise BadQuery("query", str(exc)) from exc
        return OutageQuery(kind, phone.number, phones.mask(phone.number))
    text = re.sub(r"\s+", "", text)
    if len(text) < ADDRESS_MIN:
        raise BadQuery("query", _("Enter at least %(n)d characters of the address (township, village or community).")
                       % {"n": ADDRESS_MIN})
    if len(text) > ADDRESS_MAX:
        raise BadQuery("query", _("An address has at most %(n)d characters.") % {"n": ADDRESS_MAX})
    return OutageQuery(kind, text, "")


@dataclass
class PublicOutage:
    number: str
    outage_class: str
    outage_class_label: str
    status: str
    status_label: str
    areas: list[str]
    area_count: int
    planned_start: dt.datetime
    planned_end: dt.datetime
    reason: str
    scope: str
    delayed: bool = False
    original_end: dt.datetime | None = None
    delay_reason: str = ""


@dataclass
class Place:
    area: str  # named only for an address lookup (the caller typed it); else ""
    active: list[PublicOutage] = field(default_factory=list)
    upcoming: list[PublicOutage] = field(default_factory=list)


@dataclass
class OutageAnswer:
    query: OutageQuery
    places: list[Place]
    checked_at: dt.datetime
    upcoming_days: int = UPCOMING_DAYS
    precise: bool = True  # False: an address matched only a township or village


def upcoming_outages_covering(area_id: int, *, at: dt.datetime, days: int = UPCOMING_DAYS):
    """Published outages over the area starting after ``at`` and within
    ``days``: the same coverage as ``outages.selectors.active_outages_covering``
    (an outage of a township or village covers the areas below it)."""
    return (outages_naming_any(area_and_ancestor_ids(area_id))
            .filter(status=OutageStatus.PUBLISHED, planned_start__gt=at,
                    planned_start__lte=at + dt.timedelta(days=days))
            .order_by("planned_start", "id"))


_STATUS_LABELS = {
    "upcoming": pgettext_lazy("self-service outage", "Announced, not started yet"),
    "window": pgettext_lazy("self-service outage", "Outage under way as announced"),
    OutageStatus.STARTED: pgettext_lazy("self-service outage", "Power off"),
    OutageStatus.DELAYED: pgettext_lazy("self-service outage", "Restoration delayed"),
}


def _status_label(outage: Outage, at: dt.datetime) -> str:
    if outage.status == OutageStatus.PUBLISHED:
        return str(_STATUS_LABELS["upcoming" if outage.planned_start > at else "window"])
    return str(_STATUS_LABELS.get(outage.status, outage.get_status_display()))


def _delay(outage: Outage) -> tuple[dt.datetime | None, str]:
    """The end first announced and the latest delay's reason (from the
    outage's history: a delay moves ``planned_end``)."""
    events = list(OutageEvent.objects.filter(outage=outage, kind=EventKind.DELAYED).order_by("seq")
                  .values_list("payload", flat=True))
    if not events:
        return None, ""
    old = ((events[0] or {}).get("changes", {}).get("planned_end") or {}).get("old")
    return (parse_datetime(old) if isinstance(old, str) else None), str((events[-1] or {}).get("reason", ""))


def public_outage(outage: Outage, at: dt.datetime) -> PublicOutage:
    names = [str(a) for a in outage.areas.all()]
    out = PublicOutage(
        number=outage.number, outage_class=outage.outage_class,
        outage_class_label=str(outage.get_outage_class_display()), status=outage.status,
        status_label=_status_label(outage, at), areas=names[:MAX_AREA_NAMES], area_count=len(names),
        planned_start=outage.planned_start, planned_end=outage.planned_end, reason=outage.reason, scope=outage.scope)
    if outage.status == OutageStatus.DELAYED:
        out.delayed = True
        out.original_end, out.delay_reason = _delay(outage)
    return out


def _places(query: OutageQuery) -> list[tuple[int | None, ServiceArea | None]] | None:
    """(area id, the area when it may be named) of each place asked about;
    None when nothing matches. An id is None for a customer whose area is
    not known. Only an address's area is named: the caller typed it."""
    if query.kind == "account":
        customer = Customer.objects.filter(account_number=query.value).only("id", "service_area_id").first()
        return None if customer is None else [(customer.service_area_id, None)]
    if query.kind == "phone":
        ids = list(CustomerPhone.objects.filter(number=query.value).order_by("customer__service_area_id")
                   .values_list("customer__service_area_id", flat=True).distinct())
        return [(i, None) for i in ids] or None
    area = area_for_address(query.value)
    return None if area is None else [(area.pk, area)]


def outage_lookup(query: OutageQuery) -> OutageAnswer | None:
    """The outages now and in the coming days over the place asked about;
    None when no account, phone or address matches."""
    found = _places(query)
    if found is None:
        return None
    at = clock.now()
    known = list(dict.fromkeys((i, a) for i, a in found if i is not None))[:MAX_PLACES]
    places = []
    for area_id, area in known:
        active = active_outages_covering(area_id, at=at).prefetch_related("areas")
        upcoming = upcoming_outages_covering(area_id, at=at).prefetch_related("areas")
        places.append(Place(area=str(area) if area is not None else "",
                            active=[public_outage(o, at) for o in active],
                            upcoming=[public_outage(o, at) for o in upcoming]))
    precise = all(a is None or a.level == AreaLevel.TRANSFORMER_AREA for _, a in known)
    return OutageAnswer(query=query, places=places, checked_at=at, precise=precise)


# --- order progress ---------------------------------------------------------------

@dataclass(frozen=True)
class OrderQuery:
    number: str
    tail: str


def parse_order_query(number, tail) -> OrderQuery:
    number, tail = _text(number).upper().replace(" ", ""), _text(tail).replace(" ", "")
    if not number:
        raise BadQuery("number", _("Enter the order number."))
    if not ORDER_NUMBER.fullmatch(number):
        raise BadQuery("number", _("An order number has 4 to 24 letters and digits, e.g. GZ26111700001."))
    if not tail:
        raise BadQuery("phone_tail", _("Enter the last four digits of the phone number."))
    if not re.fullmatch(r"\d{4}", tail):
        raise BadQuery("phone_tail", _("Enter exactly the last four digits of the phone number."))
    return OrderQuery(number, tail)


# Customer-facing state names: the internal steps (received, returned,
# reviewed …) are the center's business, not the caller's.
PUBLIC_STATES = {
    State.DRAFT: ("accepted", pgettext_lazy("self-service state", "Accepted")),
    State.ACCEPTED: ("accepted", pgettext_lazy("self-service state", "Accepted")),
    State.DISPATCHED: ("in_progress", pgettext_lazy("self-service state", "Being handled")),
    State.RECEIVED: ("in_progress", pgettext_lazy("self-service state", "Being handled")),
    State.RETURNED: ("in_progress", pgettext_lazy("self-service state", "Being handled")),
    State.ON_SITE: ("on_site", pgettext_lazy("self-service state", "Staff on site")),
    State.RESOLVED: ("resolved", pgettext_lazy("self-service state", "Resolved")),
    State.REPLIED: ("replied", pgettext_lazy("self-service state", "Replied")),
    State.REVIEWED: ("replied", pgettext_lazy("self-service state", "Replied")),
    State.CALLBACK: ("replied", pgettext_lazy("self-service state", "Replied")),
    State.CLOSED: ("closed", pgettext_lazy("self-service state", "Closed")),
    State.MERGED: ("merged", pgettext_lazy("self-service state", "Handled together with the same fault")),
    State.CANCELLED: ("cancelled", pgettext_lazy("self-service state", "Cancelled")),
}

# Event kinds a caller is told of (a master's steps reach its sub-orders as
# the kinds on the right); everything else stays inside the center.
PUBLIC_STEPS = {
    "dispatch": ("dispatched", pgettext_lazy("self-service step", "Dispatched to the handling unit")),
    "redispatch": ("dispatched", pgettext_lazy("self-service step", "Dispatched to the handling unit")),
    "arrive": ("on_site", pgettext_lazy("self-service step", "Staff arrived on site")),
    "resolve": ("resolved", pgettext_lazy("self-service step", "Resolved")),
    "restoration": ("resolved", pgettext_lazy("self-service step", "Resolved")),
    "reply": ("replied", pgettext_lazy("self-service step", "Replied")),
    "master_reply": ("replied", pgettext_lazy("self-service step", "Replied")),
    "close": ("closed", pgettext_lazy("self-service step", "Closed")),
    "master_close": ("closed", pgettext_lazy("self-service step", "Closed")),
    "cancel": ("cancelled", pgettext_lazy("self-service step", "Cancelled")),
    "master_cancel": ("cancelled", pgettext_lazy("self-service step", "Cancelled")),
    "reopen": ("reopened", pgettext_lazy("self-service step", "Reopened")),
}


@dataclass(frozen=True)
class Step:
    kind: str
    label: str
    at: dt.datetime


@dataclass(frozen=True)
class Progress:
    state: str
    state_label: str
    last_step: Step | None
    estimated_restoration_at: dt.datetime | None


@dataclass(frozen=True)
class OrderAnswer:
    number: str
    business_type: str
    accepted_at: dt.datetime
    progress: Progress
    master: Progress | None  # a merged sub-order follows its master


def _last_step(order: WorkOrder) -> Step | None:
    event = (WorkOrderEvent.objects.filter(order=order, kind__in=list(PUBLIC_STEPS)).order_by("-seq")
             .only("kind", "at", "payload").first())
    if event is None:
        return None
    kind, label = PUBLIC_STEPS[event.kind]
    # A crew may record its arrival or completion a little later: say when it happened.
    reported = parse_datetime(event.payload.get("reported_at") or "") if isinstance(event.payload, dict) else None
    return Step(kind=kind, label=str(label), at=reported or event.at)


def _progress(order: WorkOrder) -> Progress:
    state, label = PUBLIC_STATES.get(order.state, PUBLIC_STATES[State.DISPATCHED])
    return Progress(state=state, state_label=str(label), last_step=_last_step(order),
                    estimated_restoration_at=order.estimated_restoration_at)


def _tail_matches(order: WorkOrder, tail: str) -> bool:
    numbers = [order.caller_phone]
    if order.customer_id:
        numbers += list(CustomerPhone.objects.filter(customer_id=order.customer_id).values_list("number", flat=True))
    return any(n and n.endswith(tail) for n in numbers)


def find_order(query: OrderQuery) -> tuple[WorkOrder | None, bool]:
    """(the order, whether the tail matches one of its phones). A report
    (and a chase-up of one) is never found: its caller is protected (N4e)."""
    order = (WorkOrder.objects.select_related("business_type", "master", "chased_order")
             .filter(number=query.number).first())
    if order is None or access.is_restricted(order):
        return None, False
    return order, _tail_matches(order, query.tail)


def order_answer(order: WorkOrder) -> OrderAnswer:
    master = order.master if order.master_id and order.state == State.MERGED else None
    return OrderAnswer(number=order.number, business_type=order.business_type.name, accepted_at=order.created_at,
                       progress=_progress(order), master=_progress(master) if master is not None else None)
