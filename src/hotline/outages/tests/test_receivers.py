"""What outages tell intake (D7k): each covering outage with the areas it
names, read in a fixed number of queries however many outages cover."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from hotline.outages import receivers
from hotline.outages.tests.factories import published

pytestmark = pytest.mark.django_db


@pytest.mark.rule("D7k")
def test_intake_facts_name_each_outages_areas_in_a_fixed_number_of_queries(world, desk, frozen, neighbour_t, town1_t):
    now = frozen()
    a = world.areas
    t0 = a["t0"]
    first = published(desk, [t0], start=now - dt.timedelta(hours=2))
    receivers.intake_facts(service_area_id=t0.pk, at=now)  # the ancestry and the area names are cached from here on
    with CaptureQueriesContext(connection) as one:
        facts = receivers.intake_facts(service_area_id=t0.pk, at=now)
    assert [(f["number"], f["areas"]) for f in facts["outages"]] == [(first.number, [str(t0)])]
    # Four more over the same place, naming other areas too (listed in code order).
    more = [published(desk, areas, start=now - dt.timedelta(minutes=90 - 10 * i))
            for i, areas in enumerate([[a["v0"]], [a["town0"]], [neighbour_t, t0], [town1_t, t0]])]
    receivers.intake_facts(service_area_id=t0.pk, at=now)
    with CaptureQueriesContext(connection) as five:
        facts = receivers.intake_facts(service_area_id=t0.pk, at=now)
    expected = [(o.number, [str(x) for x in sorted(o.areas.all(), key=lambda x: x.code)]) for o in [first, *more]]
    assert [(f["number"], f["areas"]) for f in facts["outages"]] == expected
    assert len(five) == len(one), [q["sql"][:80] for q in five]
