"""Reads: scope checks and customer lookup."""

from __future__ import annotations

import re

from django.db.models import Q, QuerySet

from hotline.core import cache, phones
from hotline.organisation.models import Customer, Role, ServiceArea, Unit, User


def user_scope_path(user: User) -> str | None:
    """The path prefix a user may see; None means everything (administrator)."""
    if user.is_superuser or user.role == Role.ADMIN:
        return None
    if user.unit_id is None:
        return "/nothing/"
    return user.unit.path


def subtree_unit_ids(prefix: str) -> list[int]:
    """Ids of the units at or below a path: a small table, so filtering big
    tables by ``unit_id IN (…)`` uses their plain indexes on both databases
    (a LIKE on a path column cannot use a btree under a non-C collation)."""
    return list(Unit.objects.filter(path__startswith=prefix).values_list("id", flat=True))


def find_customers(query: str, *, within: QuerySet[Customer], limit: int = 20) -> QuerySet[Customer]:
    """Look a customer up by phone, account number, name or address among
    ``within`` — the customers the caller may see (the access policy's
    ``workorders.access.visible_customers``; required, so no lookup forgets
    its scope)."""
    query = (query or "").strip()
    qs = within.select_related("service_area", "service_area__unit").prefetch_related("phones")
    if not query:
        return qs.none()
    conditions = Q()
    phone = phones.normalise_or_none(query) if re.search(r"\d{5,}", query) else None
    if phone is not None:
        conditions |= Q(phones__number=phone.number)
    if re.fullmatch(r"[0-9A-Za-z\-]{4,30}", query):
        conditions |= Q(account_number=query)
    if not re.fullmatch(r"[\d\s\-+()]+", query):
        conditions |= Q(address__contains=query) | Q(name=query)
    return qs.filter(conditions).distinct().order_by("account_number")[:limit]


def service_area(pk: int) -> ServiceArea | None:
    """A service area with its unit (cached a few seconds; areas are
    configuration). Shared between threads: read it, never change it."""
    return cache.get(("service-area", pk), lambda: ServiceArea.objects.select_related("unit").filter(pk=pk).first())


def child_area_ids(pk: int) -> list[int]:
    """Ids of the areas directly below one (cached a few seconds)."""
    return cache.get(("child-areas", pk), lambda: list(ServiceArea.objects.filter(parent_id=pk).values_list("id", flat=True)))


def find_service_areas(query: str, *, limit: int = 20) -> QuerySet[ServiceArea]:
    query = (query or "").strip()
    if not query:
        return ServiceArea.objects.none()
    return ServiceArea.objects.select_related("unit").filter(full_name__contains=query).order_by("level", "code")[:limit]


def area_for_address(address: str) -> ServiceArea | None:
    """The most specific service area whose full name the address mentions."""
    address = (address or "").replace(" ", "")
    if not address:
        return None
    best: ServiceArea | None = None
    # Townships first, then villages beneath them, then transformer areas.
    candidates = list(ServiceArea.objects.filter(parent__isnull=True).only("id", "name", "full_name", "level"))
    while candidates:
        hit = next((a for a in candidates if a.name and a.name in address), None)
        if hit is None:
            break
        best = hit
        candidates = list(ServiceArea.objects.filter(parent=hit).only("id", "name", "full_name", "level"))
    return service_area(best.pk) if best is not None else None
