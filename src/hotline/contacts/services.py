"""Writes for contacts. Each runs in the caller's transaction or its own."""

from __future__ import annotations

import datetime as dt
import uuid

from django.db import IntegrityError, connection, transaction
from django.utils.translation import gettext as _

from hotline.contacts.models import Contact, ContactChannel
from hotline.core import bulk, clock, phones


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


def sync_contacts(*, source: str, contacts: dict[str, dict]) -> dict[str, int]:
    """The phone contacts ``source_id → fields`` of one source, created or
    set to exactly these fields (caller_number, queue, agent_id,
    started_at, ended_at, recording_ref): for a record derived from a
    switch's events (``calls``), which knows more with each event and may
    learn of an earlier one late. Runs in the caller's transaction; returns
    the contacts' ids by source id. A caller number that does not normalise
    is kept as the switch gave it.

    On PostgreSQL one ``INSERT … ON CONFLICT DO UPDATE`` per 500 takes them
    all (a row whose fields are already these is left untouched), and the
    ids of those left untouched are read after it."""
    out: dict[str, int] = {}
    ids = list(contacts)
    fields = ("caller_number", "queue", "agent_id", "started_at", "ended_at", "recording_ref")
    for i in range(0, len(ids), 500):
        chunk = ids[i: i + 500]
        wanted = {}
        for source_id in chunk:
            values = dict(contacts[source_id])
            values["caller_number"] = _switch_number(values.get("caller_number", ""))
            values["queue"] = (values.get("queue") or "")[:60]
            values["recording_ref"] = (values.get("recording_ref") or "")[:300]
            wanted[source_id] = values
        if connection.vendor == "postgresql":
            out.update(_upsert_contacts(source, wanted, fields))
            continue
        existing = {c.source_id: c for c in Contact.objects.filter(source=source, source_id__in=chunk)}
        new, changed = [], []
        for source_id, values in wanted.items():
            contact = existing.get(source_id)
            if contact is None:
                new.append(Contact(channel=ContactChannel.PHONE, source=source, source_id=source_id,
                                   **{f: values.get(f) for f in fields}))
                continue
            if any(getattr(contact, f) != values.get(f) for f in fields):
                for f in fields:
                    setattr(contact, f, values.get(f))
                changed.append(contact)
            out[source_id] = contact.pk
        if new:
            for contact in Contact.objects.bulk_create(new):
                out[contact.source_id] = contact.pk
            if any(c.pk is None for c in new):  # a backend that returns no keys
                out.update(Contact.objects.filter(source=source, source_id__in=[c.source_id for c in new])
                           .values_list("source_id", "pk"))
        if changed:
            bulk.update(Contact, changed, fields)
    return out


def _upsert_contacts(source: str, wanted: dict[str, dict], fields: tuple[str, ...]) -> dict[str, int]:
    table = Contact._meta.db_table
    columns = ["source_id", "caller_number", "queue", "agent_id", "started_at", "ended_at", "recording_ref"]
    types = ["text", "text", "text", "bigint", "timestamptz", "timestamptz", "text"]
    arrays = [list(wanted), *([values.get(f) for values in wanted.values()] for f in fields)]
    sets = ", ".join(f"{c} = excluded.{c}" for c in columns[1:])
    mine = ", ".join(f"{table}.{c}" for c in columns[1:])
    theirs = ", ".join(f"excluded.{c}" for c in columns[1:])
    out: dict[str, int] = dict(bulk.pg_execute(
        f"INSERT INTO {table} (channel, source, {', '.join(columns)}) "
        f"SELECT %s, %s, * FROM unnest({', '.join(f'%b::{t}[]' for t in types)}) "
        f"ON CONFLICT (source, source_id) DO UPDATE SET {sets} WHERE ({mine}) IS DISTINCT FROM ({theirs}) "
        f"RETURNING source_id, id", [ContactChannel.PHONE.value, source, *arrays]))
    untouched = [source_id for source_id in wanted if source_id not in out]
    if untouched:
        out.update(bulk.pg_execute(f"SELECT source_id, id FROM {table} WHERE source = %s "
                                   "AND source_id = ANY(%b::text[])", [source, untouched]))
    return out


def _switch_number(raw: str) -> str:
    raw = (raw or "").strip()
    if not raw:
        return ""
    try:
        return phones.normalise(raw).number
    except phones.PhoneError:
        return raw[:20]
