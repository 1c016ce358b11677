"""Reactions of work orders to changes elsewhere (connected in apps.py)."""

from __future__ import annotations

from django.db.models import OuterRef, Subquery

from hotline.organisation.models import Unit
from hotline.workorders.models import WorkOrder


def _unit_path(column: str) -> Subquery:
    return Subquery(Unit.objects.filter(pk=OuterRef(column)).values("path")[:1])


def follow_moved_units(sender, *, unit_ids: list[int], **kwargs) -> None:
    """An order copies its center's and its handling unit's paths (the
    permission checks compare them with the user's unit path); after a move
    they are read again from the units, one UPDATE per column, in the move's
    transaction. Indexed by the unit ids."""
    WorkOrder.objects.filter(scope_unit_id__in=unit_ids).update(scope_path=_unit_path("scope_unit_id"))
    WorkOrder.objects.filter(assigned_unit_id__in=unit_ids).update(assigned_path=_unit_path("assigned_unit_id"))
