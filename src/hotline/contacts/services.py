"""Writes for contacts. Each runs in the caller's transaction or its own."""

from __future__ import annotations

import datetime as dt
import uuid

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from hotline.contacts.models import Contact, ContactChannel
from hotline.core import clock, phones


class ContactError(ValueError):
    """Bad contact data: names the field and the reason."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def record_contact(*, channel: str = ContactChannel.PHONE, source: str, source_id: str = "", caller_number: str = "",
                   queue: str = "", agent=None, started_at: dt.datetime | None = None,
                   ended_at: dt.datetime | None = None, recording_ref: str = "") -> Contact:
    """The contact (source, source_id), created the first time it is seen.

    A repeat of the same pair returns the first record unchanged, filling in
    only what it lacked (an end time, a recording reference arriving later).
    Without a source id the contact is new by definition (a generated id).
    """
    if channel not in ContactChannel.values:
        raise ContactError("channel", _("must be one of: %(values)s") % {"values": ", ".join(ContactChannel.values)})
    source = (source or "").strip()
    if not source:
        raise ContactError("source", _("say where the contact comes from"))
    if len(source) > 60:
        raise ContactError("source", _("at most %(count)d characters") % {"count": 60})
    source_id = (source_id or "").strip() or uuid.uuid4().hex
    if len(source_id) > 120:
        raise ContactError("source_id", _("at most %(count)d characters") % {"count": 120})
    number = ""
    if caller_number:
        try:
            number = phones.normalise(caller_number).number
        except phones.PhoneError as exc:
            raise ContactError("caller_number", str(exc)) from exc
    started_at = started_at or clock.now()
    if ended_at is not None and ended_at < started_at:
        raise ContactError("ended_at", _("a contact cannot end before it starts"))
    fields = dict(channel=channel, caller_number=number, queue=(queue or "")[:60], agent=agent, started_at=started_at,
                  ended_at=ended_at, recording_ref=(recording_ref or "")[:300])
    try:
        with transaction.atomic():
            return Contact.objects.create(source=source, source_id=source_id, **fields)
    except IntegrityError:
        contact = Contact.objects.select_for_update().get(source=source, source_id=source_id)
        changed = []
        if ended_at is not None and contact.ended_at is None:
            contact.ended_at = ended_at
            changed.append("ended_at")
        if recording_ref and not contact.recording_ref:
            contact.recording_ref = recording_ref[:300]
            changed.append("recording_ref")
        if changed:
            contact.save(update_fields=changed)
        return contact


def sync_contacts(*, source: str, contacts: dict[str, dict]) -> dict[str, Contact]:
    """The phone contacts ``source_id → fields`` of one source, created or
    set to exactly these fields (caller_number, queue, agent_id,
    started_at, ended_at, recording_ref): for a record derived from a
    switch's events (``calls``), which knows more with each event and may
    learn of an earlier one late. Runs in the caller's transaction; returns
    the contacts by source id. A caller number that does not normalise is
    kept as the switch gave it."""
    out: dict[str, Contact] = {}
    ids = list(contacts)
    fields = ("caller_number", "queue", "agent_id", "started_at", "ended_at", "recording_ref")
    for i in range(0, len(ids), 500):
        chunk = ids[i: i + 500]
        existing = {c.source_id: c for c in Contact.objects.filter(source=source, source_id__in=chunk)}
        new, changed = [], []
        for source_id in chunk:
            wanted = dict(contacts[source_id])
            wanted["caller_number"] = _switch_number(wanted.get("caller_number", ""))
            wanted["queue"] = (wanted.get("queue") or "")[:60]
            wanted["recording_ref"] = (wanted.get("recording_ref") or "")[:300]
            contact = existing.get(source_id)
            if contact is None:
                new.append(Contact(channel=ContactChannel.PHONE, source=source, source_id=source_id,
                                   **{f: wanted.get(f) for f in fields}))
                continue
            if any(getattr(contact, f) != wanted.get(f) for f in fields):
                for f in fields:
                    setattr(contact, f, wanted.get(f))
                changed.append(contact)
            out[source_id] = contact
        if new:
            for contact in Contact.objects.bulk_create(new):
                out[contact.source_id] = contact
            if any(c.pk is None for c in new):  # a backend that returns no keys
                out.update({c.source_id: c for c in Contact.objects.filter(
                    source=source, source_id__in=[c.source_id for c in new])})
        if changed:
            Contact.objects.bulk_update(changed, fields)
    return out


def _switch_number(raw: str) -> str:
    raw = (raw or "").strip()
    if not raw:
        return ""
    try:
        return phones.normalise(raw).number
    except phones.PhoneError:
        return raw[:20]
