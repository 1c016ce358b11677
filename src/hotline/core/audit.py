"""The audit trail: one call records who did what to which object.

Called inside the caller's transaction, so a change and its audit entry
commit together or not at all.
"""

from __future__ import annotations

from typing import Any

from hotline.core import clock


def record(*, user: Any, action: str, obj: Any, detail: dict | None = None) -> None:
    from hotline.core.models import AuditEntry

    if isinstance(obj, tuple):  # ("calendar_year", 2027): no model instance to name
        object_type, object_id = obj
    else:
        object_type, object_id = type(obj).__name__.lower(), getattr(obj, "pk", obj)
    AuditEntry.objects.create(at=clock.now(), user=user if getattr(user, "pk", None) else None, action=action,
                              object_type=str(object_type)[:40], object_id=str(object_id)[:40], detail=detail or {})
