"""Reads only the pages need, on top of the domain selectors."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from hotline.catalog.models import BusinessType, SubClass
from hotline.organisation.models import Customer, ServiceArea, Unit, UnitKind, User
from hotline.organisation import selectors as organisation_selectors
from hotline.organisation.selectors import user_scope_path
from hotline.timelimits.models import Clock, Notice, NoticeKind
from hotline.workorders import access
from hotline.workorders.models import WorkOrder

# Chase-ups are raised from the order they chase, never at intake.
NOT_AT_INTAKE = ("chase_up",)
DISPATCH_TARGET_KINDS = (UnitKind.STATION, UnitKind.CREW, UnitKind.DEPARTMENT, UnitKind.DISPATCH_DESK)


def intake_types() -> QuerySet[BusinessType]:
    return BusinessType.objects.filter(active=True).exclude(code__in=NOT_AT_INTAKE).order_by("sort_order", "code")


def intake_type(code: str) -> BusinessType | None:
    return intake_types().filter(code=code).first() if code else None


def sub_classes(business_type: BusinessType | None) -> QuerySet[SubClass]:
    if business_type is None:
        return SubClass.objects.none()
    return business_type.sub_classes.filter(active=True).select_related("parent").order_by("sort_order", "code")


def customer(user: User, customer_id: int | None) -> Customer | None:
    """A customer the user may look up (access.visible_customers), else None."""
    if not customer_id:
        return None
    return (access.visible_customers(user).select_related("service_area", "service_area__unit").prefetch_related("phones")
            .filter(pk=customer_id).first())


def service_area(area_id: int | None) -> ServiceArea | None:
    return organisation_selectors.service_area(area_id) if area_id else None


def customer_orders(user: User, customer: Customer, *, limit: int = 8) -> list[WorkOrder]:
    """The customer's latest orders the user may see, open ones first; a
    report is never listed (its link to the customer is the reporter)."""
    from hotline.workorders.selectors import OPEN_STATES

    qs = (access.visible_orders(user).filter(customer=customer).filter(access.customer_link_visible())
          .select_related("business_type", "sub_class", "assigned_unit"))
    open_orders = list(qs.filter(state__in=OPEN_STATES).order_by("-created_at")[:limit])
    recent = list(qs.exclude(state__in=OPEN_STATES).order_by("-created_at")[: max(0, limit - len(open_orders))])
    return open_orders + recent


def order_clocks(order: WorkOrder) -> list[Clock]:
    return list(Clock.objects.filter(order=order).select_related("responsible_unit").order_by("started_at", "id"))


def dispatch_units(order: WorkOrder) -> QuerySet[Unit]:
    """Units an order may be sent to by hand: those of the center's county
    (the service refuses others)."""
    county = order.scope_unit.parent or order.scope_unit
    return Unit.objects.filter(path__startswith=county.path, active=True, kind__in=DISPATCH_TARGET_KINDS).order_by("path")


def _open_notices(user: User) -> QuerySet[Notice]:
    qs = Notice.objects.filter(kind=NoticeKind.SUPERVISION, answered_at__isnull=True)
    prefix = user_scope_path(user)
    if prefix is not None:
        qs = qs.filter(Q(unit__path__startswith=prefix) | Q(supervisor_unit__path__startswith=prefix))
    return qs.select_related("order", "order__business_type", "unit", "supervisor_unit")


def unit_open_notices(user: User, *, limit: int = 100) -> list[Notice]:
    """Unanswered supervision notices addressed to the user's unit (or a
    unit below it), or to it as supervisor."""
    return list(_open_notices(user).order_by("-level", "due_at")[:limit])


def unit_open_notice(user: User, notice_id: int) -> Notice | None:
    return _open_notices(user).filter(pk=notice_id).first()
