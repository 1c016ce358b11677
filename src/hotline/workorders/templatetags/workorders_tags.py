"""Display helpers for the work-order pages: labels for stored codes, clock
colours, durations."""

from __future__ import annotations

import datetime as dt

from django import template
from django.utils import timezone
from django.utils.translation import gettext as _

from hotline.timelimits.models import Clock, ClockStatus
from hotline.workorders import labels

register = template.Library()


@register.filter
def state_label(code: str) -> str:
    return labels.label(labels.STATES, code)


@register.filter
def action_label(code: str) -> str:
    return labels.label(labels.ACTIONS, code)


@register.filter
def event_label(code: str) -> str:
    return labels.label(labels.EVENTS, code)


@register.filter
def metric_label(code: str) -> str:
    return labels.label(labels.METRICS, code)


@register.filter
def priority_label(order) -> str:
    """The business type's own label for the order's priority code."""
    for code, text in order.business_type.priorities or []:
        if code == order.priority:
            return text
    return order.priority


@register.filter
def duration(seconds) -> str:
    """Compact: 3 min, 1 h 05 min, 2 d 4 h."""
    if seconds is None:
        return ""
    seconds = int(abs(seconds))
    minutes = seconds // 60
    if minutes < 1:
        return _("%(n)d s") % {"n": seconds}
    if minutes < 60:
        return _("%(n)d min") % {"n": minutes}
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return _("%(h)d h %(m)02d min") % {"h": hours, "m": minutes}
    days, hours = divmod(hours, 24)
    return _("%(d)d d %(h)d h") % {"d": days, "h": hours}


def overdue_text(seconds: float) -> str:
    """How long past a limit, in words a leader reads at a glance:
    超时 25 分钟, 超时 3 小时 5 分钟, 超时 6 天 3 小时."""
    minutes = int(abs(seconds)) // 60
    if minutes < 60:
        return _("%(m)d min overdue") % {"m": max(minutes, 1) if seconds else 0}
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return _("%(h)d h %(m)d min overdue") % {"h": hours, "m": minutes}
    days, hours = divmod(hours, 24)
    return _("%(d)d d %(h)d h overdue") % {"d": days, "h": hours}


@register.simple_tag
def deadline(due: dt.datetime | None, now: dt.datetime) -> dict:
    """A deadline as the inbox shows it: the time when it is today, the
    date and time when not, and how long past it when it passed."""
    if due is None:
        return {"text": "—", "tone": "muted", "title": ""}
    local, today = timezone.localtime(due), timezone.localtime(now).date()
    when = local.strftime("%H:%M") if local.date() == today else (
        local.strftime("%m-%d %H:%M") if local.year == today.year else local.strftime("%Y-%m-%d %H:%M"))
    if due < now:
        return {"text": overdue_text((now - due).total_seconds()), "tone": "overdue", "title": when}
    return {"text": when, "tone": "ok", "title": local.strftime("%Y-%m-%d %H:%M")}


@register.simple_tag
def clock_view(clk: Clock, now: dt.datetime) -> dict:
    """CSS tone and status text of one clock at ``now``."""
    if clk.status == ClockStatus.RUNNING:
        left = (clk.due_at - now).total_seconds()
        if left < 0:
            return {"tone": "overdue", "status": _("Overdue"), "text": overdue_text(-left)}
        tone = "warn" if now >= clk.warn_at else "ok"
        return {"tone": tone, "status": _("Near the limit") if tone == "warn" else _("Running"),
                "text": _("%(d)s left") % {"d": duration(left)}}
    if clk.status == ClockStatus.MET:
        return {"tone": "met", "status": labels.label(labels.CLOCK_STATUSES, clk.status),
                "text": _("in %(d)s") % {"d": duration(clk.elapsed_seconds or 0)}}
    if clk.status == ClockStatus.BREACHED:
        return {"tone": "overdue", "status": labels.label(labels.CLOCK_STATUSES, clk.status),
                "text": _("%(d)s late") % {"d": duration(clk.overdue_seconds or 0)}}
    return {"tone": "muted", "status": labels.label(labels.CLOCK_STATUSES, clk.status), "text": ""}


_VALUE_LABELS = {
    "reason": labels.REPAIR_RETURN_REASONS,
    "outcome": labels.OUTCOMES,
    "metric": labels.METRICS,
    "fault_scope": dict(labels.FAULT_SCOPES),
}


@register.filter
def lookup(mapping, key):
    """``mapping[key]`` in a template (None when absent)."""
    try:
        return mapping.get(key) if hasattr(mapping, "get") else None
    except TypeError:
        return None


@register.filter
def event_details(item: dict) -> list[tuple[str, str]]:
    """The payload entries of a timeline item worth showing, labelled; then
    the handling record the action carried (workorders.handling), each item
    by the label and text it was recorded with."""
    payload = item.get("payload") or {}
    record = [e for e in payload.get("record") or [] if isinstance(e, dict)]
    out = []
    for key, name in labels.PAYLOAD_FIELDS:
        value = payload.get(key)
        if value in (None, "", 0):
            continue
        if key == "reported_at" and any(e.get("value") == value for e in record):
            continue  # the record names that time (a repair's restoration)
        if key == "fault_scope" and item.get("kind") != "create":
            continue
        if key in _VALUE_LABELS:
            value = labels.label(_VALUE_LABELS[key], value)
        out.append((str(name), str(value)))
    out += [(str(e.get("label", "")), str(e.get("text", ""))) for e in record]
    return out
