"""Who may publish and change outage notices (D7a), and on which areas.

Dispatch and operations publish production outages (the dispatch desk, the
supply stations), the marketing department publishes marketing ones
(arrears, theft, contract violation, orderly use); the center's shift
leaders and directors publish what they are told (seed 004 §31: the center
publishes what dispatch and production report); administrators anything.
Agents, experts, inspectors and other units read only.

A station acts on the areas it serves (its subtree); everyone else on the
areas of the company they work for (the nearest county, city or province
above their unit), so a county's dispatch desk covers the whole county.
"""

from __future__ import annotations

from hotline.organisation.models import Role, ServiceArea, Unit, UnitKind, User
from hotline.outages.models import MARKETING_CLASSES, PRODUCTION_CLASSES, Outage

# Who reads the notices in the pages: agents answer callers from them, the
# units publish them.
READER_ROLES = (Role.AGENT, Role.SHIFT_LEADER, Role.DIRECTOR, Role.UNIT_STAFF, Role.ADMIN)
CENTER_PUBLISHERS = frozenset({Role.SHIFT_LEADER, Role.DIRECTOR})
PRODUCTION_UNIT_KINDS = frozenset({UnitKind.DISPATCH_DESK, UnitKind.STATION})
COMPANY_KINDS = frozenset({UnitKind.PROVINCE, UnitKind.CITY, UnitKind.COUNTY})
MARKETING_FUNCTION = "marketing"


def is_admin(user: User) -> bool:
    return bool(user.is_superuser or user.role == Role.ADMIN)


def may_publish(user: User, outage_class: str | None = None) -> bool:
    """May ``user`` publish outages of this class (any class when None)?"""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if is_admin(user) or user.role in CENTER_PUBLISHERS:
        return True
    if user.role != Role.UNIT_STAFF or user.unit_id is None:
        return False
    unit = user.unit
    production = unit.kind in PRODUCTION_UNIT_KINDS
    marketing = unit.kind == UnitKind.DEPARTMENT and unit.function == MARKETING_FUNCTION
    if outage_class is None:
        return production or marketing
    if outage_class in PRODUCTION_CLASSES:
        return production
    if outage_class in MARKETING_CLASSES:
        return marketing
    return False


def operating_path(user: User) -> str | None:
    """Path prefix of the units whose areas ``user`` may publish for; None: all."""
    if is_admin(user):
        return None
    unit = user.unit
    if unit is None:
        return "/nothing/"
    if unit.kind in (UnitKind.STATION, UnitKind.CREW) or unit.kind in COMPANY_KINDS:
        return unit.path
    for ancestor in reversed(unit.ancestors()):
        if ancestor.kind in COMPANY_KINDS:
            return ancestor.path
    return unit.path


def areas_outside(user: User, areas: list[ServiceArea]) -> list[ServiceArea]:
    """The areas ``user`` may not publish for."""
    path = operating_path(user)
    if path is None:
        return []
    unit_paths = dict(Unit.objects.filter(id__in={a.unit_id for a in areas}).values_list("id", "path"))
    return [a for a in areas if not unit_paths.get(a.unit_id, "").startswith(path)]


def may_change(user: User, outage: Outage) -> bool:
    """May ``user`` act on this outage (its class, and its publisher within their reach)?"""
    if not may_publish(user, outage.outage_class):
        return False
    path = operating_path(user)
    return path is None or outage.publishing_unit.path.startswith(path)
