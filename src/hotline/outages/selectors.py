"""Reads: which outages cover an area or a customer, frequent outages (D7h),
the lists the pages and the API show."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.utils import timezone

from hotline.core import cache, clock
from hotline.organisation.models import Customer, ServiceArea
from hotline.outages.models import ACTIVE_STATUSES, OFF_STATUSES, Outage, OutageArea, OutageStatus

_ANCESTOR_HOPS = 4  # parent joins per query; the tree is township → village → transformer area


# --- the area tree ----------------------------------------------------------------

def area_and_ancestor_ids(area_id: int) -> tuple[int, ...]:
    """The area and everything above it, nearest first (cached: areas are
    configuration, and every save of one clears the cache)."""

    def load() -> tuple[int, ...]:
        chain: list[int] = []
        current: int | None = area_id
        while current is not None and len(chain) < 64:
            hops = ["id"] + ["__".join(["parent"] * i) + "_id" for i in range(1, _ANCESTOR_HOPS + 1)]
            row = ServiceArea.objects.filter(pk=current).values_list(*hops).first()
            if row is None:
                break
            ids = [i for i in row if i is not None]
            chain.extend(i for i in ids if i not in chain)
            # All hops filled: the tree goes deeper; continue from the top one.
            current = row[-1] if len(ids) == len(row) else None
            if current is not None:
                chain.pop()
        return tuple(chain)

    return cache.get(("outage-area-ancestors", area_id), load)


def ancestor_ids(area_ids: Iterable[int]) -> set[int]:
    out: set[int] = set()
    for pk in area_ids:
        out.update(area_and_ancestor_ids(pk))
    return out


def descendant_ids(area_ids: Iterable[int]) -> set[int]:
    """The areas and everything below them: one query per level of the tree."""
    found = set(area_ids)
    frontier = set(found)
    while frontier:
        below: set[int] = set()
        for chunk in _chunks(sorted(frontier)):
            below.update(ServiceArea.objects.filter(parent_id__in=chunk).values_list("id", flat=True))
        frontier = below - found
        found |= frontier
    return found


def _chunks(ids: list[int], size: int = 2000) -> Iterable[list[int]]:
    # SQLite limits the parameters of one statement.
    for i in range(0, len(ids), size):
        yield ids[i:i + size]


# --- outages covering a place ------------------------------------------------------

def _area_of(service_area_id: int | None, customer: Customer | None) -> int | None:
    if customer is not None:
        return customer.service_area_id
    return service_area_id


def outages_naming_any(area_ids: Iterable[int]) -> QuerySet[Outage]:
    """Outages that name one of these areas (a semi-join over the area index,
    so an outage naming two of them comes once)."""
    return Outage.objects.filter(id__in=OutageArea.objects.filter(area_id__in=list(area_ids)).values("outage_id"))


def active_outages_covering(service_area_id: int | None = None, *, customer: Customer | None = None,
                            at: dt.datetime | None = None) -> QuerySet[Outage]:
    """Published outages over a place at ``at`` (default now): announced ones
    whose planned window covers ``at``, and ones with the power off that are
    not restored yet, however late. An outage of a township or village covers
    every area below it, so the place is widened to its ancestors (cached).

    Two indexed queries: the live outage–area links of those areas (a partial
    index: a handful of entries, however many outages there are or were),
    then those outages by primary key. One semi-join would leave the order to
    the planner, which scans every active outage when many are."""
    area_id = _area_of(service_area_id, customer)
    if area_id is None:
        return Outage.objects.none()
    at = at or clock.now()
    ids = list(OutageArea.objects.filter(area_id__in=area_and_ancestor_ids(area_id), live=True)
               .values_list("outage_id", flat=True))
    if not ids:
        return Outage.objects.none()
    window = Q(status=OutageStatus.PUBLISHED, planned_start__lte=at, planned_end__gte=at)
    off = Q(status__in=[OutageStatus.STARTED, OutageStatus.DELAYED]) & (
        Q(actual_start__lte=at) | Q(actual_start__isnull=True, planned_start__lte=at))
    return (Outage.objects.filter(pk__in=set(ids), status__in=ACTIVE_STATUSES).filter(window | off)
            .order_by("planned_start", "id"))


# --- frequent outage (D7h) ---------------------------------------------------------

@dataclass(frozen=True)
class FrequentOutage:
    outages: list[Outage]  # the ones that count, oldest first
    since: dt.datetime
    until: dt.datetime
    threshold: int
    min_minutes: float

    @property
    def count(self) -> int:
        return len(self.outages)

    @property
    def flagged(self) -> bool:
        return self.count >= self.threshold


def frequent_outage_settings() -> tuple[int, int, float]:
    """(outages that make it frequent, months looked back, shortest minutes that count)."""
    from hotline.core import policy
    from hotline.outages import policies

    return (int(policy.get(policies.FREQUENT_COUNT)), int(policy.get(policies.FREQUENT_MONTHS)),
            float(policy.get(policies.FREQUENT_MIN_MINUTES)))


def months_before(moment: dt.datetime, months: int) -> dt.datetime:
    """The same local wall time ``months`` calendar months earlier (the day
    clamped to the month's end: 31 December − 2 months = 31 October, 30 April
    − 2 months = 28/29 February)."""
    import calendar

    local = timezone.localtime(moment)
    month_index = local.year * 12 + local.month - 1 - months
    year, month = divmod(month_index, 12)
    day = min(local.day, calendar.monthrange(year, month + 1)[1])
    naive = local.replace(tzinfo=None, year=year, month=month + 1, day=day)
    return timezone.make_aware(naive, timezone.get_current_timezone())


def outage_span(outage: Outage) -> tuple[dt.datetime, dt.datetime]:
    """When the power was off: the actual times when both are known, else the
    planned window."""
    if outage.actual_start is not None and outage.actual_restoration is not None:
        return outage.actual_start, outage.actual_restoration
    return outage.planned_start, outage.planned_end


def frequent_outage_count(customer: Customer, at: dt.datetime | None = None) -> tuple[int, int, int]:
    """(outages that count, threshold, months) of ``frequent_outage``, counted
    in the database: what intake shows on every repair report, without
    loading the outages."""
    from django.db.models import Case, DurationField, ExpressionWrapper, F, When

    at = at or clock.now()
    threshold, months, min_minutes = frequent_outage_settings()
    if customer.service_area_id is None:
        return 0, threshold, months
    since = months_before(at, months)
    span = Case(
        When(actual_start__isnull=False, actual_restoration__isnull=False,
             then=ExpressionWrapper(F("actual_restoration") - F("actual_start"), output_field=DurationField())),
        default=ExpressionWrapper(F("planned_end") - F("planned_start"), output_field=DurationField()),
        output_field=DurationField())
    count = (outages_naming_any(area_and_ancestor_ids(customer.service_area_id))
             .filter(status__in=OFF_STATUSES)
             .filter(Q(actual_start__gte=since, actual_start__lte=at)
                     | Q(actual_start__isnull=True, planned_start__gte=since, planned_start__lte=at))
             .annotate(span=span).filter(span__gte=dt.timedelta(minutes=min_minutes)).count())
    return count, threshold, months


def frequent_outage(customer: Customer, at: dt.datetime | None = None) -> FrequentOutage:
    """Outages of the customer's supply in the months before ``at`` (D7h):
    the power went off (not announced only, not cancelled), it began in the
    window, and it lasted at least the shortest duration (flickers, e.g. an
    automatic reclose, do not count); flagged at the threshold."""
    at = at or clock.now()
    threshold, months, min_minutes = frequent_outage_settings()
    since = months_before(at, months)
    result: list[Outage] = []
    if customer.service_area_id is not None:
        candidates = (outages_naming_any(area_and_ancestor_ids(customer.service_area_id))
                      .filter(status__in=OFF_STATUSES)
                      # Coarse on the planned start (indexed); exact on the span below.
                      .filter(Q(actual_start__gte=since, actual_start__lte=at)
                              | Q(actual_start__isnull=True, planned_start__gte=since, planned_start__lte=at))
                      .order_by("planned_start", "id"))
        for outage in candidates:
            start, end = outage_span(outage)
            if (end - start).total_seconds() >= min_minutes * 60:
                result.append(outage)
        result.sort(key=lambda o: (outage_span(o)[0], o.id))
    return FrequentOutage(outages=result, since=since, until=at, threshold=threshold, min_minutes=min_minutes)


# --- lists -------------------------------------------------------------------------

def touching_area_ids(area_id: int) -> set[int]:
    """Areas whose outages concern ``area_id``: the area, the areas above it
    (their outages cover it) and below it (their outages cover part of it)."""
    return set(area_and_ancestor_ids(area_id)) | descendant_ids([area_id])


def outage_list(*, status: str = "", outage_class: str = "", area_id: int | None = None,
                day: dt.date | None = None) -> QuerySet[Outage]:
    qs = Outage.objects.select_related("publishing_unit")
    if status == "active":
        qs = qs.filter(status__in=ACTIVE_STATUSES)
    elif status:
        qs = qs.filter(status=status)
    if outage_class:
        qs = qs.filter(outage_class=outage_class)
    if area_id is not None:
        ids = touching_area_ids(area_id)
        qs = qs.filter(id__in=OutageArea.objects.filter(area_id__in=list(ids)).values("outage_id"))
    if day is not None:
        tz = timezone.get_current_timezone()
        start = timezone.make_aware(dt.datetime.combine(day, dt.time.min), tz)
        end = start + dt.timedelta(days=1)
        # The planned window overlaps the day.
        qs = qs.filter(planned_start__lt=end, planned_end__gte=start)
    return qs.order_by("-planned_start", "-id")


def get_outage(number: str) -> Outage | None:
    return (Outage.objects.select_related("publishing_unit", "created_by", "published_by")
            .filter(number=number).first())


def area_labels(outage: Outage) -> list[str]:
    return [str(a) for a in outage.areas.order_by("code")]
