"""The access policy: the one place that decides who sees which orders and
customers, who may act on an order, whose phone numbers are masked and who
sees the reporter of a report (spec D4d, N4a–N4f).

Pages, the API and exports call these functions; none of them decides any
of this on its own.

Scope. A user sees the subtree of their unit (``Unit.path``):
- unit staff: orders assigned into that subtree (N4a);
- everyone else with a unit (center roles, inspectors, experts, a county's
  director): orders scoped to or assigned into it (N4b);
- administrators: everything.
Customers follow the service areas: a unit sees the customers of the areas
its subtree serves. A customer-service center serves the county it sits in
(it sits beside the stations, not above them; dispatch by hand is bounded by
the same county), so center roles on a center unit see the customers of the
areas that county's units serve, and customers without an area.

Calls. An order recorded at intake links to the call it came from (C2c)
only where ``contact_link_refusal`` allows it: an agent's own call, while it
lasts or for a while after it ended (after-call work); a shift leader or
director, any call of their center; an administrator, any.

Reporter identity. For an order of a type with ``restricted_reporter`` (a
report) — and a chase-up of one, which copies its customer and address —
the customer link, name, phone, account number and address are shown to
nobody by default: ``order_view`` hides them for every user, lists of a
customer's orders leave such orders out, and event payloads drop those keys.
The only way to them is ``reveal_reporter``, which checks
``can_see_reporter`` and records each reveal in the audit trail (N4e).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from hotline.core import cache, dispatch, phones, policy
from hotline.core.audit import record as audit
from hotline.organisation.models import CENTER_ROLES, Customer, Role, UnitKind, User
from hotline.organisation.selectors import subtree_unit_ids, user_scope_path
from hotline.workorders import policies
from hotline.workorders.errors import NotAllowed
from hotline.workorders.models import ReporterIdentity, WorkOrder

# Roles whose work needs no full phone number (N4f). Center roles call
# customers back and administrators configure; they see full numbers.
MASKED_ROLES = frozenset({Role.UNIT_STAFF, Role.INSPECTOR, Role.EXPERT})
# Who may see a report's reporter besides the discipline unit handling it.
REPORTER_ROLES = frozenset({Role.DIRECTOR, Role.ADMIN})
# Event payload keys that would name or locate the reporter.
REPORTER_KEYS = frozenset({"customer", "customer_id", "customer_name", "account_number", "caller_name", "caller_phone",
                           "caller_phone_ext", "phone", "name", "address", "id_number", "reporter"})
DISCIPLINE = "discipline"


def _is_admin(user: User) -> bool:
    return bool(user.is_superuser or user.role == Role.ADMIN)


# --- orders -----------------------------------------------------------------------

def order_scope(user: User, *, through: str = "") -> Q | None:
    """The condition on orders (reached through ``through``, e.g. ``"order__"``)
    that a user may see; None means everything."""
    prefix = user_scope_path(user)
    if prefix is None:
        return None
    units = subtree_unit_ids(prefix)
    assigned = Q(**{f"{through}assigned_unit_id__in": units})
    if user.role == Role.UNIT_STAFF:
        return assigned
    return Q(**{f"{through}scope_unit_id__in": units}) | assigned


def clock_scope(user: User) -> Q | None:
    """``order_scope`` over the copies of an order's scope that its clocks
    and notices carry (``scope_unit``, ``holder_unit``: the same center and
    the same holding unit, kept in the order's transactions), so that the
    boards count without reading the orders; None means everything."""
    prefix = user_scope_path(user)
    if prefix is None:
        return None
    units = subtree_unit_ids(prefix)
    held = Q(holder_unit_id__in=units)
    if user.role == Role.UNIT_STAFF:
        return held
    return Q(scope_unit_id__in=units) | held


def visible_orders(user: User) -> QuerySet[WorkOrder]:
    """The orders a user may see (N4a, N4b)."""
    condition = order_scope(user)
    qs = WorkOrder.objects.all()
    return qs if condition is None else qs.filter(condition)


def can_act(user: User, order: WorkOrder, by: str) -> str | None:
    """None if the user may take an action declared ``by`` ("unit", "center",
    "leader") on the order, else the reason, untranslated (translate it to
    show it): unit actions by unit staff on orders assigned into their
    subtree, center actions by center roles on orders of their subtree,
    leader actions by a shift leader or director among them."""
    if _is_admin(user):
        return None
    if user.unit_id is None:
        return gettext_noop("your account belongs to no unit")
    path = user.unit.path
    if by == "unit":
        if user.role != Role.UNIT_STAFF:
            return gettext_noop("only the handling unit's staff can do this")
        if not order.assigned_path or not order.assigned_path.startswith(path):
            return gettext_noop("this order is not assigned to your unit")
        return None
    if user.role not in CENTER_ROLES:
        return gettext_noop("only center staff can do this")
    if not order.scope_path.startswith(path):
        return gettext_noop("this order belongs to another center")
    if by == "leader" and user.role not in (Role.SHIFT_LEADER, Role.DIRECTOR):
        return gettext_noop("only a shift leader can do this")
    return None


# --- customers --------------------------------------------------------------------

def _territory(user: User) -> str:
    """The path whose units' service areas bound the customers a user sees."""
    path = user.unit.path
    if user.role in CENTER_ROLES and user.unit.kind == UnitKind.CENTER and user.unit.parent_id:
        return path[: path.rstrip("/").rfind("/") + 1]
    return path


def visible_customers(user: User) -> QuerySet[Customer]:
    """The customers a user may look up: those of the service areas served
    within their territory; center roles also those without an area."""
    qs = Customer.objects.all()
    if _is_admin(user):
        return qs
    if user.unit_id is None:
        return qs.none()
    condition = Q(service_area__unit_id__in=subtree_unit_ids(_territory(user)))
    if user.role in CENTER_ROLES:
        condition |= Q(service_area__isnull=True)
    return qs.filter(condition)


# --- the call an order comes from (C2c) ------------------------------------------

# Asked of the apps that know a contact's calls (``calls``): each receiver
# returns (agent user ids, center unit ids) of the contact — who answered
# any of its calls (a transferred call has several), and the centers of its
# queues. Work orders import no call code.
CONTACT_PARTIES = "workorders.contact_parties"
LEADER_ROLES = frozenset({Role.SHIFT_LEADER, Role.DIRECTOR})


def contact_parties(contact) -> tuple[set[int], set[int]]:
    """(agent user ids, center unit ids) of a contact: its own agent and
    what the receivers of ``CONTACT_PARTIES`` know of its calls."""
    agents = {contact.agent_id} if contact.agent_id else set()
    centers: set[int] = set()
    for found in dispatch.publish(CONTACT_PARTIES, contact=contact):
        if found:
            agents.update(found[0])
            centers.update(found[1])
    return agents, centers


def contact_link_refusal(user: User, contact, *, now: dt.datetime) -> str | None:
    """None if an order ``user`` records now may link to ``contact`` (C2c),
    else why not, translated. An agent: their own call (they answered it),
    in progress or ended at most ``workorders.contact_link_hours`` ago (a
    call whose end never arrived counts as in progress for
    ``workorders.contact_open_hours`` after it began). A shift leader or
    director: also any call of their center (answered by one of its agents,
    or of one of its queues), whenever. An administrator: any."""
    if _is_admin(user):
        return None
    agents, centers = contact_parties(contact)
    if user.pk in agents:
        if contact.ended_at is None:
            hours = policy.get(policies.CONTACT_OPEN_HOURS)
            if contact.started_at >= now - dt.timedelta(hours=hours):
                return None
            stale = _("this call began more than %(hours)s hours ago and its end never arrived: "
                      "an order links only to a current or recent call") % {"hours": f"{hours:g}"}
        else:
            hours = policy.get(policies.CONTACT_LINK_HOURS)
            if contact.ended_at >= now - dt.timedelta(hours=hours):
                return None
            stale = _("this call ended more than %(hours)s hours ago: "
                      "an order links only to a current or recent call") % {"hours": f"{hours:g}"}
        if user.role not in LEADER_ROLES:
            return stale
    if user.role in LEADER_ROLES and user.unit_id is not None:
        units = subtree_unit_ids(user.unit.path)
        if centers & set(units) or User.objects.filter(pk__in=agents, unit_id__in=units).exists():
            return None
        return _("this call belongs to another center: an order links only to a call of your center")
    if user.pk in agents:
        return stale
    return _("this call was taken by another agent: an order links only to your own call")


# --- phones -----------------------------------------------------------------------

def masks_phones(user: User) -> bool:
    return user.role in MASKED_ROLES and not user.is_superuser


def mask_phone(user: User, number: str) -> str:
    """The number as this user may see it (N4f): 138****5678 for roles that
    need no full number (an extension is dropped then), else unchanged."""
    if not number or not masks_phones(user):
        return number or ""
    return phones.mask(number.split("-", 1)[0])


# --- reporter identity ------------------------------------------------------------

def _restricted_type_ids() -> frozenset[int]:
    from hotline.catalog.models import BusinessType

    return cache.get(("restricted-reporter-types",),
                     lambda: frozenset(BusinessType.objects.filter(restricted_reporter=True).values_list("id", flat=True)))


def is_restricted(order: WorkOrder) -> bool:
    """A report, or a chase-up of one (it copies the report's customer)."""
    restricted = _restricted_type_ids()
    if order.business_type_id in restricted:
        return True
    if order.chased_order_id:
        if WorkOrder.chased_order.is_cached(order):
            return order.chased_order.business_type_id in restricted
        chased_type = WorkOrder.objects.filter(pk=order.chased_order_id).values_list("business_type_id", flat=True).first()
        return chased_type in restricted
    return False


def can_see_reporter(user: User, order: WorkOrder) -> bool:
    """Directors, administrators, and staff of the discipline unit the order
    is assigned to (D4d, N4d)."""
    if _is_admin(user) or user.role in REPORTER_ROLES:
        return True
    return (user.role == Role.UNIT_STAFF and user.unit_id is not None and user.unit.function == DISCIPLINE
            and bool(order.assigned_path) and order.assigned_path.startswith(user.unit.path))


def can_reveal(user: User, order: WorkOrder) -> bool:
    """Whether the page offers the (audited) reveal of this order's reporter."""
    return order.business_type_id in _restricted_type_ids() and can_see_reporter(user, order)


def order_view(user: User, order: WorkOrder) -> dict:
    """The order's customer and caller fields as this user may see them:
    phone masked per role, and for a restricted order the reporter's
    customer link, name, phone, account number and address left out."""
    if is_restricted(order):
        return {"reporter_hidden": True, "customer": None, "customer_id": None, "customer_name": "", "account_number": "",
                "caller_name": "", "caller_phone": "", "caller_phone_ext": "", "address": ""}
    customer = order.customer if order.customer_id else None
    masked = masks_phones(user)
    return {
        "reporter_hidden": False, "customer": customer, "customer_id": order.customer_id,
        "customer_name": customer.name if customer else "", "account_number": customer.account_number if customer else "",
        "caller_name": order.caller_name, "caller_phone": mask_phone(user, order.caller_phone),
        "caller_phone_ext": "" if masked else order.caller_phone_ext, "address": order.address,
    }


def event_payload(user: User, order: WorkOrder, payload: dict, *, restricted: bool | None = None) -> dict:
    """An event's payload without the reporter's keys on a restricted order;
    phone numbers in it masked per role. Pass ``restricted`` when known."""
    restricted = is_restricted(order) if restricted is None else restricted
    out = {}
    for key, value in (payload or {}).items():
        if restricted and key in REPORTER_KEYS:
            continue
        out[key] = mask_phone(user, value) if key in ("caller_phone", "phone") and isinstance(value, str) else value
    return out


def customer_link_visible() -> Q:
    """Orders whose link to their customer may be shown in a list of the
    customer's orders or counted for the customer: never a restricted one
    (that link is the reporter)."""
    restricted = list(_restricted_type_ids())
    return ~Q(business_type_id__in=restricted) & ~Q(chased_order__business_type_id__in=restricted)


def reporter_not_searched() -> Q:
    """Orders that a search by phone, name, account number or address may
    find (D4d): never a restricted one, for any role. Its customer, address
    and phone are the reporter's, and a hit would tell who reported without
    the audited reveal; such an order is found by its number, type or state."""
    return customer_link_visible()


@dataclass(frozen=True)
class Reporter:
    """What a reveal shows: the reporter's identity and the order's customer."""

    name: str
    phone: str
    id_number: str
    customer_id: int | None
    customer_name: str
    account_number: str
    address: str

    def __bool__(self) -> bool:
        return any((self.name, self.phone, self.id_number, self.customer_id, self.address))


def reveal_reporter(user: User, order: WorkOrder, *, via: str = "page") -> Reporter:
    """The reporter of a restricted order, for an authorised user only; each
    reveal is one audit entry (N4e), written in the caller's transaction."""
    if not is_restricted(order) or not can_see_reporter(user, order):
        raise NotAllowed(_("you may not see the reporter's identity"))
    identity = ReporterIdentity.objects.filter(order=order).first()
    if identity is None and order.chased_order_id:
        identity = ReporterIdentity.objects.filter(order_id=order.chased_order_id).first()
    customer = Customer.objects.filter(pk=order.customer_id).first() if order.customer_id else None
    audit(user=user, action="view_reporter", obj=order, detail={"number": order.number, "via": via})
    return Reporter(
        name=identity.name if identity else "", phone=identity.phone if identity else "",
        id_number=identity.id_number if identity else "", customer_id=order.customer_id,
        customer_name=customer.name if customer else "", account_number=customer.account_number if customer else "",
        address=order.address,
    )
