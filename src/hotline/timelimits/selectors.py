"""Reads of clocks and notices."""

from __future__ import annotations

import datetime as dt

from django.db.models import Min

from hotline.timelimits.models import Clock


def next_check_at() -> dt.datetime | None:
    """When the sweep next has something to do (uses the partial sweep index)."""
    # A stopped clock has no next check, so the partial index answers alone.
    return Clock.objects.filter(next_check_at__isnull=False).aggregate(m=Min("next_check_at"))["m"]
