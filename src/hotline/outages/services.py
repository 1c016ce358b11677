"""Every write of outage notices: draft, publish, revise, start, delay,
restore, cancel (D7a); subscriptions and the subscribers' messages (D7j,
D1i); the bulk import of planned outages.

Each action runs in one transaction with the outage row locked, validates
its input (errors name the field, in the user's language), checks the
actor's role (``outages.access``), and writes exactly one
:class:`OutageEvent` through :func:`_record_event`; the messages to the
subscribers covered are written to the outbox in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from hotline.core import clock, dispatch, outbox, phones
from hotline.organisation.models import Customer, ServiceArea, Unit, User
from hotline.outages import access, imports, selectors
from hotline.outages.models import (
    FINAL_STATUSES,
    EventKind,
    Outage,
    OutageArea,
    OutageClass,
    OutageEvent,
    OutageStatus,
    Subscription,
    SubscriptionChannel,
)

TOPIC = "outages.event"  # core.dispatch: every outage event, after it is written
MAX_REASON = imports.MAX_REASON
MAX_SCOPE = imports.MAX_SCOPE
MAX_AREAS = 500
FAN_OUT_BATCH = 10_000  # messages per enqueue_many call: bounded memory for big fan-outs
NUMBER_PATTERN = re.compile(r"[\w.\-]{1,40}")
SYSTEM_NUMBER = re.compile(r"TD\d+")
DEFAULT_CHANNELS = {SubscriptionChannel.SMS: "sms_http", SubscriptionChannel.EMAIL: "email"}


class OutageError(ValueError):
    """Bad input: names the field (the API's name) and the reason (already
    in the active language)."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class OutageStateError(ValueError):
    """The action is not possible in the outage's status."""


class NotAllowed(PermissionError):
    """The user may not do this."""


# --- input ------------------------------------------------------------------------

@dataclass
class OutageInput:
    """What a draft says (and what a revision may change)."""

    outage_class: str
    area_ids: list[int]
    planned_start: dt.datetime | None
    planned_end: dt.datetime | None
    reason: str
    scope: str = ""
    lines: list[str] = field(default_factory=list)
    transformers: list[str] = field(default_factory=list)
    occurred_at: dt.datetime | None = None
    number: str = ""


REVISABLE = ("planned_start", "planned_end", "area_ids", "reason", "scope", "lines", "transformers", "occurred_at")


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and timezone.is_naive(value):
        return timezone.make_aware(value)
    return value


def _names(value: Any, field_name: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = imports.split_list(value)
    items = [str(v).strip() for v in value if str(v).strip()]
    if len(items) > imports.MAX_ITEMS or any(len(v) > imports.MAX_ITEM for v in items):
        raise OutageError(field_name, _("at most %(n)d names of at most %(length)d characters each.")
                          % {"n": imports.MAX_ITEMS, "length": imports.MAX_ITEM})
    return items


def _clean(actor: User, data: OutageInput, *, now: dt.datetime) -> tuple[OutageInput, list[ServiceArea]]:
    """The input checked and normalised, with its areas; OutageError names
    the first problem."""
    if data.outage_class not in OutageClass.values:
        raise OutageError("outage_class", _("Outage class: %(value)s is not an outage class.")
                          % {"value": data.outage_class})
    if not access.may_publish(actor, data.outage_class):
        raise NotAllowed(_("You may not publish outages of the class %(cls)s.")
                         % {"cls": OutageClass(data.outage_class).label})
    ids = sorted({int(i) for i in data.area_ids or []})
    if not ids:
        raise OutageError("area_ids", _("Affected areas: name at least one service area."))
    if len(ids) > MAX_AREAS:
        raise OutageError("area_ids", _("Affected areas: at most %(n)d areas per outage.") % {"n": MAX_AREAS})
    areas = list(ServiceArea.objects.filter(id__in=ids).order_by("code"))
    if len(areas) != len(ids):
        missing = sorted(set(ids) - {a.id for a in areas})
        raise OutageError("area_ids", _("Affected areas: no service area %(ids)s.")
                          % {"ids": ", ".join(map(str, missing))})
    outside = access.areas_outside(actor, areas)
    if outside:
        raise OutageError("area_ids", _("Affected areas: %(areas)s are outside the areas you publish for.")
                          % {"areas": "、".join(str(a) for a in outside)})
    occurred_at = _aware(data.occurred_at)
    if data.outage_class == OutageClass.GRID_FAULT:
        if occurred_at is None:
            raise OutageError("occurred_at", _("Trip time: a grid fault outage needs the time of the trip."))
        if occurred_at > now:
            raise OutageError("occurred_at", _("Trip time: the trip cannot be in the future."))
    start = _aware(data.planned_start) or (occurred_at if data.outage_class == OutageClass.GRID_FAULT else None)
    end = _aware(data.planned_end)
    if start is None:
        raise OutageError("planned_start", _("Planned start: enter when the power goes off."))
    if end is None:
        raise OutageError("planned_end", _("Planned end: enter when the power comes back."))
    if end <= start:
        raise OutageError("planned_end", _("Planned end: it must be after the planned start (%(start)s).")
                          % {"start": _fmt(start)})
    reason = (data.reason or "").strip()
    if not reason:
        raise OutageError("reason", _("Reason: say why the power goes off."))
    if len(reason) > MAX_REASON:
        raise OutageError("reason", _("Reason: at most %(n)d characters.") % {"n": MAX_REASON})
    scope = (data.scope or "").strip()
    if len(scope) > MAX_SCOPE:
        raise OutageError("scope", _("Scope: at most %(n)d characters.") % {"n": MAX_SCOPE})
    number = (data.number or "").strip()
    if number:
        _check_number(number, "number", prefix=_("Number: "))
    cleaned = OutageInput(outage_class=data.outage_class, area_ids=ids, planned_start=start, planned_end=end,
                          reason=reason, scope=scope, lines=_names(data.lines, "lines"),
                          transformers=_names(data.transformers, "transformers"), occurred_at=occurred_at,
                          number=number)
    return cleaned, areas


def _check_number(number: str, field_name: str, *, prefix: str = "") -> None:
    """A number given by dispatch: letters, digits, - _ . (it is part of page
    addresses); TD and digits are the system's own."""
    if not NUMBER_PATTERN.fullmatch(number):
        raise OutageError(field_name, prefix + _("at most 40 letters, digits, - _ or ."))
    if SYSTEM_NUMBER.fullmatch(number):
        raise OutageError(field_name, prefix + _("numbers TD followed by digits are given by the system; leave it "
                                                 "empty."))


def _fmt(moment: dt.datetime | None) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else ""


def _value(name: str, value: Any) -> Any:
    """A field's value as the history keeps it (JSON)."""
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).isoformat()
    return value


# --- the one event writer ---------------------------------------------------------

def _record_event(outage: Outage, kind: str, at: dt.datetime, actor: User | None, payload: dict) -> OutageEvent:
    """Append the outage's next event (the caller holds the outage's row
    lock, in its transaction) and tell the receivers of ``outages.event``.
    Every outage event is written here and only here."""
    outage.last_seq += 1
    Outage.objects.filter(pk=outage.pk).update(last_seq=outage.last_seq, updated_at=at)
    outage.updated_at = at
    event = OutageEvent.objects.create(outage=outage, seq=outage.last_seq, kind=kind, at=at, actor=actor,
                                       actor_role=getattr(actor, "role", "") or "", payload=payload)
    dispatch.publish(TOPIC, event=event, outage=outage)
    return event


def _locked(outage: Outage) -> Outage:
    return Outage.objects.select_for_update(of=("self",)).select_related("publishing_unit").get(pk=outage.pk)


def _check_actor(actor: User, outage: Outage) -> None:
    if not access.may_change(actor, outage):
        raise NotAllowed(_("You may not change outage %(number)s.") % {"number": outage.number})


def _not_final(outage: Outage) -> None:
    if outage.status in FINAL_STATUSES:
        raise OutageStateError(_("Outage %(number)s is %(status)s: it can no longer be changed.")
                               % {"number": outage.number, "status": outage.get_status_display()})


def _area_codes(ids: Iterable[int]) -> list[str]:
    return list(ServiceArea.objects.filter(id__in=list(ids)).order_by("code").values_list("code", flat=True))


# --- actions ----------------------------------------------------------------------

def _generated_number(outage: Outage) -> str:
    return f"TD{timezone.localtime(outage.created_at):%y%m%d}{outage.pk:05d}"


def _draft(*, actor: User, data: OutageInput, publishing_unit: Unit | None, now: dt.datetime) -> Outage:
    cleaned, areas = _clean(actor, data, now=now)
    unit = publishing_unit or actor.unit
    if unit is None:
        raise OutageError("publishing_unit", _("Publishing unit: you belong to no unit; name the publishing unit."))
    reach = access.operating_path(actor)
    if reach is not None and not unit.path.startswith(reach):
        raise OutageError("publishing_unit", _("Publishing unit: %(unit)s is outside your company.") % {"unit": unit})
    if cleaned.number and Outage.objects.filter(number=cleaned.number).exists():
        raise OutageError("number", _("Number: outage %(number)s exists already.") % {"number": cleaned.number})
    outage = Outage.objects.create(
        number=cleaned.number or f"new-{uuid.uuid4().hex}", outage_class=cleaned.outage_class,
        publishing_unit=unit, lines=cleaned.lines, transformers=cleaned.transformers,
        planned_start=cleaned.planned_start, planned_end=cleaned.planned_end, occurred_at=cleaned.occurred_at,
        reason=cleaned.reason, scope=cleaned.scope, created_at=now, created_by=actor, updated_at=now)
    if not cleaned.number:
        outage.number = _generated_number(outage)
        Outage.objects.filter(pk=outage.pk).update(number=outage.number)
    OutageArea.objects.bulk_create([OutageArea(outage=outage, area=a) for a in areas])
    changes = {"status": {"old": None, "new": OutageStatus.DRAFT}, "outage_class": {"old": None, "new": cleaned.outage_class},
               "areas": {"old": None, "new": [a.code for a in areas]},
               **{name: {"old": None, "new": _value(name, getattr(cleaned, name))}
                  for name in ("planned_start", "planned_end", "reason", "scope", "lines", "transformers", "occurred_at")
                  if getattr(cleaned, name) not in (None, "", [])}}
    _record_event(outage, EventKind.DRAFTED, now, actor, {"changes": changes, "area_ids": cleaned.area_ids})
    return outage


def draft(*, actor: User, data: OutageInput, publishing_unit: Unit | None = None, publish: bool = False) -> Outage:
    """A new outage notice (a draft, or published at once)."""
    now = clock.now()
    with transaction.atomic():
        outage = _draft(actor=actor, data=data, publishing_unit=publishing_unit, now=now)
        if publish:
            outage = _publish(outage=outage, actor=actor, now=now)
    return outage


def _publish(*, outage: Outage, actor: User, now: dt.datetime) -> Outage:
    if outage.status != OutageStatus.DRAFT:
        raise OutageStateError(_("Outage %(number)s is %(status)s: only a draft can be published.")
                               % {"number": outage.number, "status": outage.get_status_display()})
    area_ids = list(outage.area_links.values_list("area_id", flat=True))
    # The draft may be old: its areas and class are checked again for the publisher.
    _clean(actor, OutageInput(outage_class=outage.outage_class, area_ids=area_ids, planned_start=outage.planned_start,
                              planned_end=outage.planned_end, reason=outage.reason, scope=outage.scope,
                              lines=outage.lines, transformers=outage.transformers, occurred_at=outage.occurred_at),
           now=now)
    outage.status, outage.published_at, outage.published_by = OutageStatus.PUBLISHED, now, actor
    Outage.objects.filter(pk=outage.pk).update(status=outage.status, published_at=now, published_by=actor)
    event = _record_event(outage, EventKind.PUBLISHED, now, actor, {
        "changes": {"status": {"old": OutageStatus.DRAFT, "new": OutageStatus.PUBLISHED}},
        "area_ids": sorted(area_ids), "notice": _notice(outage, EventKind.PUBLISHED, area_ids)})
    _fan_out(event)
    return outage


def publish(*, outage: Outage, actor: User) -> Outage:
    now = clock.now()
    with transaction.atomic():
        outage = _locked(outage)
        _check_actor(actor, outage)
        return _publish(outage=outage, actor=actor, now=now)


def revise(*, outage: Outage, actor: User, changes: dict[str, Any], note: str = "") -> Outage:
    """Change times, areas, reason, scope, lines or transformers (the class
    too while a draft). Subscribers hear of a published outage's revision;
    those whose area the revision leaves out are told so."""
    now = clock.now()
    unknown = set(changes) - set(REVISABLE) - {"outage_class"}
    if unknown:
        raise OutageError(sorted(unknown)[0], _("This field cannot be revised."))
    with transaction.atomic():
        outage = _locked(outage)
        _check_actor(actor, outage)
        _not_final(outage)
        old_ids = sorted(outage.area_links.values_list("area_id", flat=True))
        if "outage_class" in changes and changes["outage_class"] != outage.outage_class \
                and outage.status != OutageStatus.DRAFT:
            raise OutageError("outage_class", _("Outage class: only a draft's class can be changed; cancel the "
                                                "outage and publish a new one."))
        current = OutageInput(outage_class=outage.outage_class, area_ids=old_ids, planned_start=outage.planned_start,
                              planned_end=outage.planned_end, reason=outage.reason, scope=outage.scope,
                              lines=list(outage.lines), transformers=list(outage.transformers),
                              occurred_at=outage.occurred_at)
        proposed = OutageInput(**{**current.__dict__, **{k: v for k, v in changes.items()}})
        cleaned, areas = _clean(actor, proposed, now=now)
        diff: dict[str, dict] = {}
        for name in ("outage_class", "planned_start", "planned_end", "reason", "scope", "lines", "transformers",
                     "occurred_at"):
            old, new = getattr(current, name), getattr(cleaned, name)
            if old != new:
                diff[name] = {"old": _value(name, old), "new": _value(name, new)}
        new_ids = cleaned.area_ids
        if new_ids != old_ids:
            diff["areas"] = {"old": _area_codes(old_ids), "new": [a.code for a in areas]}
        if not diff:
            raise OutageError("changes", _("Nothing changed: the revision equals the outage as it stands."))
        if outage.status in (OutageStatus.STARTED, OutageStatus.DELAYED):
            if "planned_start" in diff:
                raise OutageError("planned_start", _("Planned start: the power is off already; it cannot move."))
            if "planned_end" in diff:
                raise OutageError("planned_end", _("Planned end: the power is off already; announce a later "
                                                   "restoration with a delay."))
        fields = [name for name in diff if name != "areas"]
        for name in fields:
            setattr(outage, name, getattr(cleaned, name))
        if fields:
            outage.save(update_fields=fields)
        if "areas" in diff:
            OutageArea.objects.filter(outage=outage).exclude(area_id__in=new_ids).delete()
            OutageArea.objects.bulk_create([OutageArea(outage=outage, area_id=i) for i in set(new_ids) - set(old_ids)])
        payload: dict[str, Any] = {"changes": diff, "area_ids": new_ids}
        if note.strip():
            payload["note"] = note.strip()[:500]
        if outage.status != OutageStatus.DRAFT:
            payload["notice"] = _notice(outage, EventKind.REVISED, new_ids)
            if "areas" in diff:
                payload["previous_area_ids"] = old_ids
        event = _record_event(outage, EventKind.REVISED, now, actor, payload)
        if outage.status != OutageStatus.DRAFT:
            _fan_out(event)
    return outage


def _not_after_now(value: dt.datetime, now: dt.datetime, field_name: str, label: str) -> dt.datetime:
    value = _aware(value)
    if value > now:
        raise OutageError(field_name, _("%(field)s: it cannot be in the future.") % {"field": label})
    return value


def start(*, outage: Outage, actor: User, actual_start: dt.datetime | None = None) -> Outage:
    """The power went off (a grid fault's at its trip unless told otherwise)."""
    now = clock.now()
    with transaction.atomic():
        outage = _locked(outage)
        _check_actor(actor, outage)
        _not_final(outage)
        if outage.status != OutageStatus.PUBLISHED:
            raise OutageStateError(_("Outage %(number)s is %(status)s: only a published outage can start.")
                                   % {"number": outage.number, "status": outage.get_status_display()})
        when = actual_start or outage.occurred_at or now
        when = _not_after_now(when, now, "actual_start", _("Actual start"))
        outage.status, outage.actual_start = OutageStatus.STARTED, when
        outage.save(update_fields=["status", "actual_start"])
        _record_event(outage, EventKind.STARTED, now, actor, {"changes": {
            "status": {"old": OutageStatus.PUBLISHED, "new": OutageStatus.STARTED},
            "actual_start": {"old": None, "new": _value("actual_start", when)}}})
    return outage


def delay(*, outage: Outage, actor: User, new_end: dt.datetime, reason: str) -> Outage:
    """The power comes back later than announced: a new planned end."""
    now = clock.now()
    reason = (reason or "").strip()
    with transaction.atomic():
        outage = _locked(outage)
        _check_actor(actor, outage)
        _not_final(outage)
        if outage.status not in (OutageStatus.STARTED, OutageStatus.DELAYED):
            raise OutageStateError(_("Outage %(number)s is %(status)s: only an outage with the power off can be "
                                     "delayed; revise the planned times instead.")
                                   % {"number": outage.number, "status": outage.get_status_display()})
        new_end = _aware(new_end)
        if new_end is None:
            raise OutageError("new_end", _("New planned end: enter when the power comes back."))
        if new_end <= outage.planned_end:
            raise OutageError("new_end", _("New planned end: it must be after the announced end (%(end)s).")
                              % {"end": _fmt(outage.planned_end)})
        if new_end <= now:
            raise OutageError("new_end", _("New planned end: it must be in the future."))
        if not reason:
            raise OutageError("reason", _("Reason: say why the restoration is delayed."))
        if len(reason) > MAX_REASON:
            raise OutageError("reason", _("Reason: at most %(n)d characters.") % {"n": MAX_REASON})
        old_end, old_status = outage.planned_end, outage.status
        outage.planned_end, outage.status = new_end, OutageStatus.DELAYED
        outage.save(update_fields=["planned_end", "status"])
        changes = {"planned_end": {"old": _value("planned_end", old_end), "new": _value("planned_end", new_end)}}
        if old_status != OutageStatus.DELAYED:
            changes["status"] = {"old": old_status, "new": OutageStatus.DELAYED}
        area_ids = sorted(outage.area_links.values_list("area_id", flat=True))
        event = _record_event(outage, EventKind.DELAYED, now, actor, {
            "changes": changes, "reason": reason, "area_ids": area_ids,
            "notice": _notice(outage, EventKind.DELAYED, area_ids, old_end=old_end, delay_reason=reason)})
        _fan_out(event)
    return outage


def restore(*, outage: Outage, actor: User, actual_restoration: dt.datetime | None = None,
            actual_start: dt.datetime | None = None) -> Outage:
    """The power is back. An outage never marked as started needs its actual start."""
    now = clock.now()
    with transaction.atomic():
        outage = _locked(outage)
        _check_actor(actor, outage)
        _not_final(outage)
        if outage.status == OutageStatus.DRAFT:
            raise OutageStateError(_("Outage %(number)s is a draft: publish it first.") % {"number": outage.number})
        changes: dict[str, dict] = {"status": {"old": outage.status, "new": OutageStatus.RESTORED}}
        if outage.status == OutageStatus.PUBLISHED:
            if actual_start is None:
                raise OutageError("actual_start", _("Actual start: the outage was never marked as started; "
                                                    "enter when the power went off."))
            outage.actual_start = _not_after_now(actual_start, now, "actual_start", _("Actual start"))
            changes["actual_start"] = {"old": None, "new": _value("actual_start", outage.actual_start)}
        elif actual_start is not None and _aware(actual_start) != outage.actual_start:
            raise OutageError("actual_start", _("Actual start: it was recorded when the power went off."))
        when = _not_after_now(actual_restoration or now, now, "actual_restoration", _("Actual restoration"))
        if when < outage.actual_start:
            raise OutageError("actual_restoration", _("Actual restoration: it cannot be before the actual start "
                                                      "(%(start)s).") % {"start": _fmt(outage.actual_start)})
        outage.status, outage.actual_restoration = OutageStatus.RESTORED, when
        outage.save(update_fields=["status", "actual_start", "actual_restoration"])
        OutageArea.objects.filter(outage=outage).update(live=False)
        changes["actual_restoration"] = {"old": None, "new": _value("actual_restoration", when)}
        area_ids = sorted(outage.area_links.values_list("area_id", flat=True))
        event = _record_event(outage, EventKind.RESTORED, now, actor, {
            "changes": changes, "area_ids": area_ids, "notice": _notice(outage, EventKind.RESTORED, area_ids)})
        _fan_out(event)
    return outage


def cancel(*, outage: Outage, actor: User, reason: str) -> Outage:
    """Withdraw an outage before the power goes off."""
    now = clock.now()
    reason = (reason or "").strip()
    with transaction.atomic():
        outage = _locked(outage)
        _check_actor(actor, outage)
        _not_final(outage)
        if outage.status not in (OutageStatus.DRAFT, OutageStatus.PUBLISHED):
            raise OutageStateError(_("Outage %(number)s is %(status)s: the power is off already; restore it "
                                     "instead of cancelling.")
                                   % {"number": outage.number, "status": outage.get_status_display()})
        if not reason:
            raise OutageError("reason", _("Reason: say why the outage is cancelled."))
        if len(reason) > MAX_REASON:
            raise OutageError("reason", _("Reason: at most %(n)d characters.") % {"n": MAX_REASON})
        was = outage.status
        outage.status = OutageStatus.CANCELLED
        outage.save(update_fields=["status"])
        OutageArea.objects.filter(outage=outage).update(live=False)
        area_ids = sorted(outage.area_links.values_list("area_id", flat=True))
        payload: dict[str, Any] = {"changes": {"status": {"old": was, "new": OutageStatus.CANCELLED}},
                                   "reason": reason, "area_ids": area_ids}
        if was == OutageStatus.PUBLISHED:  # a draft's cancellation concerns nobody outside
            payload["notice"] = _notice(outage, EventKind.CANCELLED, area_ids, cancel_reason=reason)
        event = _record_event(outage, EventKind.CANCELLED, now, actor, payload)
        _fan_out(event)
    return outage


# --- the subscribers' messages (D7j, D1i) -------------------------------------------

def _area_text(area_ids: list[int], limit: int = 5) -> str:
    names = [str(a) for a in ServiceArea.objects.filter(id__in=area_ids).order_by("code")[:limit + 1]]
    if len(area_ids) > limit:
        return _("%(areas)s and %(n)d more areas") % {"areas": "、".join(names[:limit]), "n": len(area_ids) - limit}
    return "、".join(names)


def _notice(outage: Outage, kind: str, area_ids: list[int], **extra: Any) -> dict[str, str]:
    """The message subscribers get for this event, in Chinese (customers'
    language whatever the publisher's), kept in the event so a repeated
    fan-out sends exactly what the first one did."""
    with translation.override("zh-hans"):
        values = {"class": str(OutageClass(outage.outage_class).label), "areas": _area_text(area_ids),
                  "start": _fmt(outage.planned_start), "end": _fmt(outage.planned_end), "reason": outage.reason,
                  "number": outage.number,
                  "scope": (_("Scope: %(scope)s. ") % {"scope": outage.scope}) if outage.scope else ""}
        if kind == EventKind.PUBLISHED:
            subject = _("Outage notice: %(areas)s") % values
            text = _("[Outage notice] %(class)s: %(areas)s, power off from %(start)s to %(end)s. Reason: %(reason)s. "
                     "%(scope)sNotice %(number)s.") % values
        elif kind == EventKind.REVISED:
            subject = _("Outage notice changed: %(areas)s") % values
            text = _("[Outage notice changed] %(class)s %(number)s now reads: %(areas)s, power off from %(start)s "
                     "to %(end)s. Reason: %(reason)s. %(scope)s") % values
        elif kind == EventKind.DELAYED:
            values.update(old_end=_fmt(extra["old_end"]), delay_reason=extra["delay_reason"])
            subject = _("Restoration delayed: %(areas)s") % values
            text = _("[Restoration delayed] %(class)s %(number)s, %(areas)s: the power now comes back at %(end)s "
                     "instead of %(old_end)s. Reason: %(delay_reason)s.") % values
        elif kind == EventKind.RESTORED:
            values["restored"] = _fmt(outage.actual_restoration)
            subject = _("Power restored: %(areas)s") % values
            text = _("[Power restored] %(class)s %(number)s, %(areas)s: the power came back at %(restored)s.") % values
        elif kind == EventKind.CANCELLED:
            values["cancel_reason"] = extra["cancel_reason"]
            subject = _("Outage cancelled: %(areas)s") % values
            text = _("[Outage cancelled] %(class)s %(number)s, %(areas)s, from %(start)s to %(end)s, will not take "
                     "place. Reason: %(cancel_reason)s.") % values
        else:
            raise ValueError(kind)
        dropped = _("[Outage notice changed] %(class)s %(number)s no longer concerns the area you subscribed to; "
                    "it now covers %(areas)s.") % values
    return {"subject": subject, "text": text.strip(), "dropped_text": dropped}


def _channel_map() -> dict[str, str]:
    """Subscription channel → outbox channel: ``HOTLINE_OUTAGE_SMS_CHANNEL``
    (default ``sms_http``) and ``HOTLINE_OUTAGE_EMAIL_CHANNEL`` (``email``);
    e.g. ``file`` for a demo without a gateway."""
    from hotline.core.channels.base import setting

    return {SubscriptionChannel.SMS: setting("HOTLINE_OUTAGE_SMS_CHANNEL", DEFAULT_CHANNELS["sms"]).strip(),
            SubscriptionChannel.EMAIL: setting("HOTLINE_OUTAGE_EMAIL_CHANNEL", DEFAULT_CHANNELS["email"]).strip()}


def _subscribers(area_ids: Iterable[int]) -> set[tuple[str, str]]:
    """(channel, address) of the active subscriptions an outage of these
    areas concerns: accounts supplied in an area it covers (the areas and
    everything below them), and subscribed areas it touches (those too, and
    the areas above: an outage in part of a township concerns the township's
    subscribers). A few set-based queries, however many subscribers."""
    area_ids = list(area_ids)
    if not area_ids:
        return set()
    covered = selectors.descendant_ids(area_ids)
    touched = covered | selectors.ancestor_ids(area_ids)
    active = Subscription.objects.filter(active=True)
    found: set[tuple[str, str]] = set()
    for chunk in selectors._chunks(sorted(covered)):
        found.update(active.filter(customer__service_area_id__in=chunk).values_list("channel", "address"))
    for chunk in selectors._chunks(sorted(touched)):
        found.update(active.filter(area_id__in=chunk).values_list("channel", "address"))
    return found


def dedup_key(event: OutageEvent, channel: str, address: str) -> str:
    """One message per (outage event, channel, address): a person subscribed
    both for an account and for its village gets one notice, and a repeated
    fan-out of the event adds nothing."""
    digest = hashlib.sha256(address.encode()).hexdigest()[:20]
    return f"outage:{event.outage_id}:{event.seq}:{channel}:{digest}"


def _messages(event: OutageEvent, number: str, recipients: Iterable[tuple[str, str]], text: str,
              subject: str) -> Iterator[dict]:
    channels = _channel_map()
    source = f"outage:{number}:{event.kind}"
    for channel, address in recipients:
        if channel == SubscriptionChannel.EMAIL:
            payload = {"subject": subject, "body": text, "outage": number, "event": event.kind}
        else:
            payload = {"text": text, "outage": number, "event": event.kind}
        yield {"channel": channels[channel], "recipient": address, "payload": payload, "source": source,
               "dedup_key": dedup_key(event, channel, address)}


def _fan_out(event: OutageEvent) -> int:
    """Write the event's notice to every subscriber it concerns, in the
    caller's transaction. Returns the messages new to the outbox."""
    notice = event.payload.get("notice")
    if not notice:
        return 0
    number = event.outage.number
    current = _subscribers(event.payload.get("area_ids", []))
    batches = [_messages(event, number, sorted(current), notice["text"], notice["subject"])]
    if "previous_area_ids" in event.payload:
        dropped = _subscribers(event.payload["previous_area_ids"]) - current
        batches.append(_messages(event, number, sorted(dropped), notice["dropped_text"], notice["subject"]))
    created = 0
    batch: list[dict] = []
    for messages in batches:
        for message in messages:
            batch.append(message)
            if len(batch) >= FAN_OUT_BATCH:
                created += outbox.enqueue_many(batch)
                batch = []
    if batch:
        created += outbox.enqueue_many(batch)
    return created


def notify_subscribers(event: OutageEvent) -> int:
    """Send an event's notice again to whoever it concerns: the ones who had
    it get nothing new (same keys), subscribers added since get it."""
    with transaction.atomic():
        return _fan_out(event)


# --- subscriptions ------------------------------------------------------------------

def normalise_address(channel: str, address: str) -> str:
    address = (address or "").strip()
    if channel == SubscriptionChannel.SMS:
        try:
            phone = phones.normalise(address)
        except phones.PhoneError as exc:
            raise OutageError("address", _("Address: %(error)s") % {"error": exc}) from None
        if phone.kind != "mobile" or phone.extension:
            raise OutageError("address", _("Address: an SMS subscription needs a mobile number."))
        return phone.number
    if channel == SubscriptionChannel.EMAIL:
        try:
            validate_email(address)
        except ValidationError:
            raise OutageError("address", _("Address: %(value)s is not an e-mail address.") % {"value": address}) from None
        return address.lower()
    raise OutageError("channel", _("Channel: %(value)s is not a channel; use sms or email.") % {"value": channel})


def subscribe(*, channel: str, address: str, customer: Customer | None = None, area: ServiceArea | None = None,
              actor: User | None = None) -> Subscription:
    """Subscribe an account or a service area (D1i). Subscribing again is
    the same subscription (active again if it was cancelled)."""
    if (customer is None) == (area is None):
        raise OutageError("customer_id", _("Subscribe either an account or a service area."))
    if customer is not None and customer.service_area_id is None:
        raise OutageError("customer_id", _("Account: %(account)s has no service area, so no outage can be matched "
                                           "to it.") % {"account": customer.account_number})
    address = normalise_address(channel, address)
    now = clock.now()
    target = {"customer": customer} if customer is not None else {"area": area}
    with transaction.atomic():
        existing = Subscription.objects.select_for_update().filter(channel=channel, address=address, **target).first()
        if existing is not None:
            if not existing.active:
                existing.active, existing.cancelled_at = True, None
                existing.save(update_fields=["active", "cancelled_at"])
            return existing
        try:
            with transaction.atomic():
                return Subscription.objects.create(channel=channel, address=address, created_at=now,
                                                   created_by=actor, **target)
        except IntegrityError:  # the same subscription made at the same instant
            return Subscription.objects.get(channel=channel, address=address, **target)


def cancel_subscription(*, subscription: Subscription, actor: User | None = None) -> Subscription:
    now = clock.now()
    with transaction.atomic():
        subscription = Subscription.objects.select_for_update().get(pk=subscription.pk)
        if subscription.active:
            subscription.active, subscription.cancelled_at = False, now
            subscription.save(update_fields=["active", "cancelled_at"])
    return subscription


# --- bulk import ------------------------------------------------------------------

@dataclass(frozen=True)
class ImportResult:
    outages: list[Outage]


def import_outages(*, data: bytes, filename: str, actor: User) -> ImportResult:
    """Import a file of outages, each published with its events and
    messages, in one transaction; or, if any row is bad, nothing, and
    :class:`imports.ImportRejected` names every problem."""
    if not access.may_publish(actor):
        raise NotAllowed(_("You may not publish outages."))
    rows, errors = imports.parse(data, filename)
    errors = list(errors)
    # What only the database knows, for every row at once.
    codes = {code for r in rows for code in r.area_codes}
    areas = {a.code: a for a in ServiceArea.objects.filter(code__in=codes)} if codes else {}
    outside = {a.code for a in access.areas_outside(actor, list(areas.values()))}
    numbers = {r.number for r in rows if r.number}
    taken = set(Outage.objects.filter(number__in=numbers).values_list("number", flat=True)) if numbers else set()
    for r in rows:
        if r.number and r.number in taken and "number" not in r.failed:
            errors.append(imports.RowError(r.row, r.column("number"), _("outage %(number)s exists already.")
                                           % {"number": r.number}))
        if r.outage_class and "outage_class" not in r.failed and not access.may_publish(actor, r.outage_class):
            errors.append(imports.RowError(r.row, r.column("outage_class"),
                                           _("you may not publish outages of the class %(cls)s.")
                                           % {"cls": OutageClass(r.outage_class).label}))
        unknown = [c for c in r.area_codes if c not in areas]
        if unknown:
            errors.append(imports.RowError(r.row, r.column("area_codes"), _("no service area with the code %(codes)s.")
                                           % {"codes": "、".join(unknown)}))
        foreign = [c for c in r.area_codes if c in outside]
        if foreign:
            errors.append(imports.RowError(r.row, r.column("area_codes"),
                                           _("%(codes)s are outside the areas you publish for.")
                                           % {"codes": "、".join(foreign)}))
        if len(set(r.area_codes)) > MAX_AREAS:
            errors.append(imports.RowError(r.row, r.column("area_codes"), _("at most %(n)d areas per outage.")
                                           % {"n": MAX_AREAS}))
        if r.outage_class == OutageClass.GRID_FAULT and r.occurred_at and r.occurred_at > clock.now():
            errors.append(imports.RowError(r.row, r.column("occurred_at"), _("the trip cannot be in the future.")))
    if errors:
        raise imports.ImportRejected(sorted(errors, key=lambda e: (e.row, e.column)))
    now = clock.now()
    created: list[Outage] = []
    with transaction.atomic():
        for r in rows:
            data_row = OutageInput(outage_class=r.outage_class, area_ids=[areas[c].id for c in r.area_codes],
                                   planned_start=r.planned_start, planned_end=r.planned_end, reason=r.reason,
                                   scope=r.scope, lines=r.lines, transformers=r.transformers,
                                   occurred_at=r.occurred_at, number=r.number)
            try:
                outage = _draft(actor=actor, data=data_row, publishing_unit=None, now=now)
                created.append(_publish(outage=outage, actor=actor, now=now))
            except OutageError as exc:
                # Checked above; a rule only the service knows still names the row.
                raise imports.ImportRejected([imports.RowError(r.row, "", exc.message)]) from exc
    return ImportResult(outages=created)
