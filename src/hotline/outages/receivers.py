"""What outages tell other apps through core.dispatch (subscribed in
``apps.py``): the facts intake classifies a repair report by (D3.1d, D7h,
D7k) and the guard on returns after a fault notice (D3.5c)."""

from __future__ import annotations

import datetime as dt

from hotline.organisation import selectors as organisation_selectors
from hotline.outages import selectors
from hotline.outages.models import (
    MARKETING_CLASSES,
    EventKind,
    OutageArea,
    OutageClass,
    OutageEvent,
)


def _labels(outages) -> dict[int, list[str]]:
    """Each outage's areas as ``selectors.area_labels`` names them (code
    order), for all of them in one query (it was one per outage); the names
    come from the area cache."""
    found: dict[int, list] = {}
    for outage_id, area_id in OutageArea.objects.filter(outage_id__in=[o.pk for o in outages]).values_list(
            "outage_id", "area_id"):
        area = organisation_selectors.service_area(area_id)
        if area is not None:
            found.setdefault(outage_id, []).append(area)
    return {pk: [str(a) for a in sorted(areas, key=lambda a: a.code)] for pk, areas in found.items()}


def _fact(outage, areas: list[str]) -> dict:
    return {
        "number": outage.number, "outage_class": outage.outage_class, "class_label": outage.get_outage_class_display(),
        "status": outage.status, "status_label": outage.get_status_display(), "reason": outage.reason,
        "scope": outage.scope, "planned_start": outage.planned_start, "planned_end": outage.planned_end,
        "actual_start": outage.actual_start, "marketing": outage.outage_class in MARKETING_CLASSES,
        "areas": areas,
    }


def intake_facts(*, service_area_id: int | None, customer=None, at: dt.datetime, **_kw) -> dict:
    """Published outages over the place now, and the customer's
    frequent-outage history."""
    facts: dict = {}
    if service_area_id is not None:
        covering = list(selectors.active_outages_covering(service_area_id, at=at)[:5])
        labels = _labels(covering) if covering else {}
        facts["outages"] = [_fact(o, labels.get(o.pk, [])) for o in covering]
    if customer is not None and customer.service_area_id is not None:
        count, threshold, months = selectors.frequent_outage_count(customer, at)
        facts["frequent"] = {"count": count, "threshold": threshold, "months": months, "flagged": count >= threshold}
    return facts


def fault_notice_guard_minutes() -> int:
    from hotline.core import policy

    return int(policy.get("workorders.return_guard_minutes"))


def return_guard(*, order, dispatched_at: dt.datetime | None, **_kw) -> str | None:
    """D3.5c: an order dispatched within 10 minutes after a matching fault
    outage notice was published may be merged but not returned — the unit
    knew of the fault. Returns the number of that notice, or None."""
    if dispatched_at is None or order.service_area_id is None:
        return None
    since = dispatched_at - dt.timedelta(minutes=fault_notice_guard_minutes())
    covering = selectors.outages_naming_any(selectors.area_and_ancestor_ids(order.service_area_id)).filter(
        outage_class=OutageClass.GRID_FAULT)
    published = (OutageEvent.objects.filter(outage__in=covering, kind=EventKind.PUBLISHED, at__gte=since,
                                            at__lte=dispatched_at)
                 .select_related("outage").order_by("-at").first())
    return published.outage.number if published else None
