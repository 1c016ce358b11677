"""The provisional-calendar banner on every page, for those it concerns."""

from __future__ import annotations

from django.http import HttpRequest

from hotline.calendars import services
from hotline.core import clock
from hotline.organisation.models import Role

BANNER_ROLES = frozenset({Role.ADMIN, Role.SHIFT_LEADER})


def calendar_banner(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    if not (user.is_superuser or user.role in BANNER_ROLES):
        return {}
    years = services.provisional_years(clock.localnow().date())
    if not years:
        return {}
    return {"calendar_banner": {"years": years, "can_enter": user.is_superuser or user.role == Role.ADMIN}}
