"""Fixed-window request counters shared by every web process.

``hit(identity, window)`` counts one request of ``identity`` in the current
window of ``window`` seconds and answers the count so far (this one
included) and the seconds until the window ends. One ``INSERT … ON CONFLICT
DO UPDATE … RETURNING`` (PostgreSQL, SQLite ≥ 3.35) does it, in its own
autocommit statement: two processes never both count 3. Rows of ended
windows are deleted by the ``core.ratelimit`` periodic task.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import NamedTuple

from django.db import connection

from hotline.core import clock
from hotline.core.models import RateCounter


class Hit(NamedTuple):
    count: int
    seconds_left: int


def hit(identity: str, window: int, *, now: dt.datetime | None = None) -> Hit:
    if window <= 0:
        raise ValueError("a rate window must be a positive number of seconds")
    now = now or clock.now()
    ts = now.timestamp()
    number = int(ts // window)
    ends = dt.datetime.fromtimestamp((number + 1) * window, tz=dt.UTC)
    key = f"{identity}:{window}:{number}"[:200]
    table = RateCounter._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO {table} ("key", "count", "expires_at") VALUES (%s, 1, %s) '
            f'ON CONFLICT ("key") DO UPDATE SET "count" = {table}."count" + 1 RETURNING "count"',
            [key, connection.ops.adapt_datetimefield_value(ends)])
        count = cursor.fetchone()[0]
    return Hit(count=count, seconds_left=max(1, math.ceil((number + 1) * window - ts)))


def delete_ended(*, now: dt.datetime | None = None) -> int:
    deleted, _ = RateCounter.objects.filter(expires_at__lt=now or clock.now()).delete()
    return deleted


def cleanup_task(ctx) -> None:
    """The ``core.ratelimit`` periodic task."""
    delete_ended()
