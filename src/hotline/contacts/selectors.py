"""Reads for contacts."""

from __future__ import annotations

from hotline.contacts.models import Contact


def contact(pk: int) -> Contact | None:
    return Contact.objects.select_related("agent").filter(pk=pk).first()
