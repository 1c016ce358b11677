"""Planning fixtures: the shared world plus queues, shift templates and a
deterministic history (identical weeks, so averages and forecasts are exact)."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from django.utils import timezone

from hotline.planning import services
from hotline.planning.models import IntervalStat, Queue

# A Monday with no public holiday in the two weeks before it or the week itself.
WEEK = dt.date(2026, 3, 16)
HISTORY_WEEKS = 2
PEAKS = {"repair": 40, "complaint": 6, "general": 20}  # calls per 30 minutes at the daily peak


def calls(peak: float, minute: int, weekday: int) -> int:
    """A day hump peaking at 10:00 and 15:00, quieter at weekends, a trickle at night."""
    hour = minute / 60
    shape = 0.08 + 0.92 * max(math.exp(-((hour - 10) / 2.2) ** 2), 0.8 * math.exp(-((hour - 15) / 2.5) ** 2))
    return round(peak * shape * (0.7 if weekday >= 5 else 1.0))


def history_rows(code: str, *, first: dt.date, days: int, interval: int = 30):
    """(start, offered, answered, aht, abandoned) rows of a queue."""
    for d in range(days):
        day = first + dt.timedelta(days=d)
        for minute in range(0, 24 * 60, interval):
            start = timezone.make_aware(dt.datetime.combine(day, dt.time(minute // 60, minute % 60)))
            offered = calls(PEAKS[code] * interval / 30, minute, day.weekday())
            abandoned = offered // 20
            yield start, offered, offered - abandoned, 280.0 if code != "complaint" else 420.0, abandoned


def add_history(queue: Queue, *, first: dt.date, days: int, interval: int = 30) -> None:
    IntervalStat.objects.bulk_create(
        IntervalStat(queue=queue, start=s, interval_minutes=interval, offered=o, answered=a, aht_seconds=h, abandoned=b)
        for s, o, a, h, b in history_rows(queue.code, first=first, days=days, interval=interval))


@pytest.fixture
def planning(world):
    """world + the three standard queues (default targets), standard shift templates, two weeks of history."""
    services.add_standard_queues()
    services.add_standard_templates()
    for queue in Queue.objects.all():
        add_history(queue, first=WEEK - dt.timedelta(weeks=HISTORY_WEEKS), days=7 * HISTORY_WEEKS)
    return world


@pytest.fixture
def login(client):
    """login(user) -> the test client, logged in as that user (as in web/tests)."""
    from hotline.testing import PASSWORD

    def _login(user):
        client.logout()
        assert client.login(username=user.username, password=PASSWORD)
        return client
    return _login


@pytest.fixture(autouse=True)
def _short_solver_runs(settings):
    # The roster MIP is symmetric in agents and rarely proves its gap: keep test runs short.
    settings.HOTLINE = {**settings.HOTLINE, "PLANNING_SOLVER_SECONDS": 4}
