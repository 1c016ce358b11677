"""Handling records (处理记录): what a unit records when it resolves or
replies to an order, as its business type declares it (``catalog.HandlingField``:
a repair's fault cause, measures and restoration time; a complaint's
findings, handling, responsibility and the customer's acceptance).

``take`` checks what was sent against the declaration and reports every
problem at once (one ``OrderError`` per item, field ``record.<code>``, the
message naming the item by its label); ``entries`` turns the checked values
into the record kept in the action's event and on the order: one entry per
item, ``{"action", "code", "label", "kind", "value", "text"}``, the label and
the text as they read when recorded, so that the history says what the unit
was asked and answered even after the administrator renames or drops an
item.

The item that is the *time of the action* (a repair's restoration time) is
the action's reported time, ``at`` (D3.6d: the crew may record the
completion up to 5 minutes late; later records are kept with their delay):
its value becomes the step's ``at``, checked and recorded once by the
field-time handling of the services, and its entry shows that time.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.utils import timezone, translation
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from hotline.catalog import selectors as catalog_selectors
from hotline.catalog.models import FieldKind, HandlingField
from hotline.workorders.errors import OrderError

# The order of the record's parts on the order (a resolve's items before a reply's).
ACTION_ORDER = ("resolve", "reply")
# Clocks of phones and servers differ a little.
CLOCK_SLACK = dt.timedelta(minutes=1)
TRUE_WORDS = frozenset({"true", "yes", "1", "on", "是"})
FALSE_WORDS = frozenset({"false", "no", "0", "off", "否"})


def fields_for(order, action: str) -> list[HandlingField]:
    """The items the order's type asks on ``action`` (none: the action
    records nothing more than before)."""
    return catalog_selectors.handling_fields(order.business_type_id, action)


def error_field(code: str) -> str:
    """The field an item's error names (the API's ``loc``: record, code)."""
    return f"record.{code}"


# --- times ------------------------------------------------------------------------

def parse_time(raw: Any, *, field: str, label: str | None = None) -> dt.datetime | None:
    """A reported time: ISO 8601 (a browser's datetime-local too) or a
    datetime; None when empty; aware in the configured zone."""
    if raw in (None, ""):
        return None
    value = raw if isinstance(raw, dt.datetime) else parse_datetime(str(raw).strip()) if isinstance(raw, str) else None
    if value is None:
        raise OrderError(field, _named(label, _("give a date and time such as 2026-06-01 14:30")))
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value


def check_past_time(value: dt.datetime, *, field: str, order, now: dt.datetime, label: str | None = None) -> None:
    """A time the field reports lies in the past and not before the order
    was accepted."""
    if value > now + CLOCK_SLACK:
        raise OrderError(field, _named(label, _("this time is in the future")))
    if value < order.created_at:
        raise OrderError(field, _named(label, _("this time is before the order was accepted")))


def _named(label: str | None, message: str) -> str:
    return message if not label else _("%(field)s: %(problem)s") % {"field": label, "problem": message}


# --- checking what was sent -----------------------------------------------------

@dataclass
class Taken:
    """The checked values of one action's record, in the declared order."""

    items: list[HandlingField]
    values: dict[str, Any] = field(default_factory=dict)
    action_time: HandlingField | None = None

    def __bool__(self) -> bool:
        return bool(self.items)


def take(order, action: str, raw: Any, *, now: dt.datetime, at: Any = None) -> Taken:
    """Check ``raw`` (the ``record`` the unit sent: ``{code: value}``)
    against what the order's type asks on ``action``. Raises one OrderError
    carrying every problem; returns the values, typed. ``at``: the step's
    reported time if one came beside the record (it stands for the time of
    the action when the record leaves that item out)."""
    items = fields_for(order, action)
    if raw in (None, ""):
        raw = {}
    if not isinstance(raw, dict):
        raise OrderError("record", _("give the handling record as an object of item codes and values"))
    if not items and not raw:
        return Taken(items=[])
    errors: list[OrderError] = []
    known = {f.code for f in items}
    for code in raw:
        if code not in known:
            errors.append(OrderError(error_field(str(code)), _("%(type)s orders record no item “%(code)s” on “%(action)s”") % {
                "type": order.business_type.name, "code": code, "action": _action_label(action)}))
    taken = Taken(items=items)
    for item in items:
        try:
            value = _value(item, raw.get(item.code), order=order, now=now)
        except OrderError as exc:
            errors.append(exc)
            continue
        if value is None:
            if item.required and not (item.action_time and at not in (None, "")):
                errors.append(OrderError(error_field(item.code), _named(item.label, _required_message(item))))
            continue
        taken.values[item.code] = value
        if item.action_time:
            taken.action_time = item
    if errors:
        raise OrderError.gather(errors)
    return taken


def _required_message(item: HandlingField) -> str:
    if item.kind == FieldKind.CHOICE:
        return _("choose one")
    if item.kind == FieldKind.BOOLEAN:
        return _("answer yes or no")
    return _("must be filled in")


def _value(item: HandlingField, raw: Any, *, order, now: dt.datetime) -> Any:
    """The typed value of one item, None when not given; OrderError if bad."""
    name = error_field(item.code)
    if isinstance(raw, str):
        raw = raw.strip()
    if raw in (None, ""):
        return None
    if item.kind == FieldKind.TEXT:
        if not isinstance(raw, str):
            raise OrderError(name, _named(item.label, _("give a text")))
        if "\x00" in raw:
            raise OrderError(name, _named(item.label, _("a text may not contain a NUL character")))
        if len(raw) > item.max_length:
            raise OrderError(name, _named(item.label, _("at most %(limit)d characters (now %(count)d)") % {
                "limit": item.max_length, "count": len(raw)}))
        return raw
    if item.kind == FieldKind.CHOICE:
        if not isinstance(raw, str) or raw not in item.choice_codes():
            raise OrderError(name, _named(item.label, _("choose one of: %(choices)s") % {
                "choices": "、".join(f"{label}（{code}）" for code, label in item.choices)}))
        return raw
    if item.kind == FieldKind.BOOLEAN:
        if isinstance(raw, bool):
            return raw
        word = str(raw).lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise OrderError(name, _named(item.label, _("answer yes or no")))
    # a date and time
    value = parse_time(raw, field=name, label=item.label)
    check_past_time(value, field=name, order=order, now=now, label=item.label)
    return value


def _action_label(action: str) -> str:
    from hotline.catalog.lifecycle import ACTION_LABELS

    return str(ACTION_LABELS.get(action, action))


# --- what is kept ------------------------------------------------------------------

def entries(taken: Taken, *, action: str, action_at: dt.datetime) -> list[dict]:
    """The record of one action as it is kept: every item given (the time
    of the action always, ``action_at`` when none was sent), JSON-ready,
    with its label and text in the center's language."""
    out = []
    with translation.override(settings.LANGUAGE_CODE):  # the record reads the same to everyone
        for item in taken.items:
            value = action_at if item.action_time else taken.values.get(item.code)
            if value is None:
                continue
            out.append({"action": action, "code": item.code, "label": item.label, "kind": item.kind,
                        "value": value.isoformat() if isinstance(value, dt.datetime) else value,
                        "text": _text(item, value)})
    return out


def _text(item: HandlingField, value: Any) -> str:
    if item.kind == FieldKind.CHOICE:
        return item.choice_label(value)
    if item.kind == FieldKind.BOOLEAN:
        return _("Yes") if value else _("No")
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    return str(value)


def merged(current: list[dict] | None, action: str, new: list[dict]) -> list[dict]:
    """The order's record with ``action``'s part replaced by ``new`` (a
    resolve after a rework or reopen replaces the one before)."""
    kept = [e for e in (current or []) if isinstance(e, dict) and e.get("action") != action]

    def rank(e: dict) -> int:
        a = e.get("action")
        return ACTION_ORDER.index(a) if a in ACTION_ORDER else len(ACTION_ORDER)

    # A stable sort keeps each part's items in their order.
    return sorted([*kept, *new], key=rank)


def grouped(record: list[dict] | None) -> list[tuple[str, list[dict]]]:
    """The record by action, for a page: [(action, entries), …]."""
    out: list[tuple[str, list[dict]]] = []
    for entry in record or []:
        if not isinstance(entry, dict):
            continue
        if out and out[-1][0] == entry.get("action"):
            out[-1][1].append(entry)
        else:
            out.append((entry.get("action", ""), [entry]))
    return out
