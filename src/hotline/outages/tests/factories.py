"""Outages made through the services, for the tests."""

import datetime as dt

from hotline.core import clock
from hotline.outages import services
from hotline.outages.models import EventKind, OutageClass, OutageEvent


def outage_input(areas, *, start=None, hours=8, cls=OutageClass.PLANNED, reason="10kV城关线检修", **extra):
    start = start or clock.now() + dt.timedelta(days=8)
    return services.OutageInput(outage_class=cls, area_ids=[a.pk for a in areas], planned_start=start,
                                planned_end=start + dt.timedelta(hours=hours), reason=reason, **extra)


def published(actor, areas, **kw):
    return services.draft(actor=actor, data=outage_input(areas, **kw), publish=True)


def own_events(outage):
    """The outage's own events, in order (other apps, such as the time-limit
    engine with its lead-time notices, write into the history too)."""
    return OutageEvent.objects.filter(outage=outage, kind__in=EventKind.values).order_by("seq")


def kinds(outage):
    return list(own_events(outage).values_list("kind", flat=True))
