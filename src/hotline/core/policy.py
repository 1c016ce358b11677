"""Policy numbers an administrator edits without a deploy (spec D0a).

The time limits of work orders are versioned policies of their own
(``catalog``); the other numbers of the spec — outage publication lead
times, the merge window, the guard on returns after a fault notice, the
frequent-outage thresholds, chase-up spacing — are declared here by the app
that uses them (``declare`` in its ``AppConfig.ready()``), with a default, a
kind and bounds. An administrator sets a value in the admin ("Policy
settings"); every change is audited and reaches every process within
seconds (the configuration generation of ``core.cache``). Unset, a value is
``settings.HOTLINE[setting]`` when the installation configured one, else
the declared default.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Declared:
    key: str
    default: Any
    label: Any
    kind: type = int  # int, float, bool or str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple = ()
    setting: str = ""  # the settings.HOTLINE key an installation may set instead
    help: Any = ""
    group: Any = field(default="", compare=False)


_declared: dict[str, Declared] = {}


def declare(key: str, default: Any, label, *, kind: type | None = None, minimum: float | None = None,
            maximum: float | None = None, choices: tuple = (), setting: str = "", help="", group="") -> Declared:
    d = Declared(key=key, default=default, label=label, kind=kind or type(default), minimum=minimum, maximum=maximum,
                 choices=tuple(choices), setting=setting, help=help, group=group)
    _declared[key] = d
    return d


def declared() -> dict[str, Declared]:
    return dict(_declared)


class PolicyError(ValueError):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def parse(key: str, raw: Any) -> Any:
    """The value of ``key`` from what an administrator typed, checked
    against its declaration; PolicyError (translated) when it does not fit."""
    from django.utils.translation import gettext

    d = _declared.get(key)
    if d is None:
        raise PolicyError(gettext("unknown policy setting “%(key)s”") % {"key": key})
    try:
        if d.kind is bool:
            value = raw if isinstance(raw, bool) else str(raw).strip().lower() in {"1", "true", "yes", "on", "是"}
        elif d.kind is int:
            value = int(str(raw).strip())
        elif d.kind is float:
            value = float(str(raw).strip())
        else:
            value = str(raw).strip()
    except (TypeError, ValueError):
        raise PolicyError(gettext("“%(value)s” is not a valid value for %(label)s") % {
            "value": raw, "label": d.label}) from None
    if d.choices and value not in d.choices:
        raise PolicyError(gettext("%(label)s must be one of: %(values)s") % {
            "label": d.label, "values": ", ".join(map(str, d.choices))})
    if d.minimum is not None and value < d.minimum:
        raise PolicyError(gettext("%(label)s must be at least %(n)s") % {"label": d.label, "n": d.minimum})
    if d.maximum is not None and value > d.maximum:
        raise PolicyError(gettext("%(label)s must be at most %(n)s") % {"label": d.label, "n": d.maximum})
    return value


def _stored() -> dict[str, Any]:
    from django.db import DatabaseError

    from hotline.core.models import PolicySetting

    try:
        return dict(PolicySetting.objects.values_list("key", "value"))
    except DatabaseError:  # before the first migrate
        return {}


def get(key: str) -> Any:
    """The value in force for ``key`` (cached per process, dropped on any
    configuration edit)."""
    from django.conf import settings

    from hotline.core import cache

    d = _declared[key]
    stored = cache.get(("policy-settings",), _stored)
    if key in stored:
        return stored[key]
    if d.setting and d.setting in getattr(settings, "HOTLINE", {}):
        return settings.HOTLINE[d.setting]
    return d.default


def set_value(*, key: str, value: Any, user) -> Any:
    """Set ``key`` (validated, audited, every process told)."""
    from django.db import transaction

    from hotline.core import cache
    from hotline.core import clock
    from hotline.core.audit import record
    from hotline.core.models import PolicySetting

    parsed = parse(key, value)
    with transaction.atomic():
        row = PolicySetting.objects.select_for_update().filter(key=key).first()
        before = row.value if row else None
        if row is None:
            row = PolicySetting(key=key)
        row.value, row.updated_at = parsed, clock.now()
        row.updated_by = user if getattr(user, "pk", None) else None
        row.save()
        record(user=user, action="policy_setting", obj=row, detail={"key": key, "old": before, "new": parsed})
        cache.bump()
    return parsed


def reset(*, key: str, user) -> None:
    """Back to the installation's or the declared default."""
    from django.db import transaction

    from hotline.core import cache
    from hotline.core.audit import record
    from hotline.core.models import PolicySetting

    with transaction.atomic():
        row = PolicySetting.objects.select_for_update().filter(key=key).first()
        if row is None:
            return
        record(user=user, action="policy_setting_reset", obj=row, detail={"key": key, "old": row.value})
        row.delete()
        cache.bump()


GROUP_LABELS = {"workorders": _("Work orders"), "outages": _("Outage notices")}
