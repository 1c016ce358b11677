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
