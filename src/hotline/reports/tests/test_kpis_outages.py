"""Outage-publication timeliness (C3o): every publication an outage owes,
by its due time, for the publishing units of the area a center serves."""

from __future__ import annotations

import datetime as dt

import pytest

from hotline.organisation import services as org
from hotline.organisation.models import Role
from hotline.outages import services as outages
from hotline.outages.models import OutageClass
from hotline.reports import kpis
from hotline.reports.kpis import Period, Ratio, Scope
from hotline.reports.tests.conftest import local, move_to
from hotline.testing import PASSWORD

pytestmark = pytest.mark.django_db
FRIDAY = Period(local(20), local(21))


def dispatcher(world, name):
    return org.create_user(username=name, password=PASSWORD, role=Role.UNIT_STAFF, unit=world.desk)


def notice(world, actor, cls, start, *, publish=False):
    data = outages.OutageInput(outage_class=cls, area_ids=[world.areas["t0"].pk], planned_start=start,
                               planned_end=start + dt.timedelta(hours=4), reason="10kV城关线检修")
    return outages.draft(actor=actor, data=data, publish=publish)


@pytest.fixture
def notices(world, other, frozen):
    """Publication due on Friday 20 (planned: 7 days before the start;
    temporary: 24 h before): p1 due 09:00, published Tue (in time); p3 due
    12:00, unpublished at 13:00 (late); p4 temporary due 10:00, published
    10:30 (late); p5 due 15:00, unpublished at 13:00 (pending); p6 due 09:30,
    called off; an arrears disconnection (no lead time); the other center's
    due 09:00, published in time."""
    desk, other_desk = dispatcher(world, "t-desk"), dispatcher(other, "o-desk")
    notice(world, desk, OutageClass.PLANNED, local(27, 9), publish=True)
    notice(other, other_desk, OutageClass.PLANNED, local(27, 9), publish=True)
    notice(world, desk, OutageClass.PLANNED, local(27, 12))
    notice(world, desk, OutageClass.PLANNED, local(27, 15))
    outages.cancel(outage=notice(world, desk, OutageClass.PLANNED, local(27, 9, 30)), actor=desk, reason="检修取消")
    outages.draft(actor=world.marketing_user, publish=True, data=outages.OutageInput(
        outage_class=OutageClass.ARREARS, area_ids=[world.areas["t0"].pk], planned_start=local(20, 10),
        planned_end=local(20, 18), reason="欠费停电"))
    move_to(frozen, local(19, 9))
    p4 = notice(world, desk, OutageClass.TEMPORARY, local(21, 10))
    move_to(frozen, local(20, 10, 30))
    outages.publish(outage=p4, actor=desk)
    move_to(frozen, local(20, 13))


@pytest.mark.rule("C3o")
def test_outage_publication_timeliness_is_notices_published_in_time_over_notices(world, notices):
    center = Scope(unit=world.center)
    # due Friday: p1 (in time), p3 (late, unpublished), p4 (late); p5 pending; p6 cancelled; arrears none
    assert kpis.outage_publication_timeliness(FRIDAY, center) == Ratio(1, 3, 1 / 3)
    assert kpis.outage_publication_timeliness(FRIDAY) == Ratio(2, 4, 0.5)
    assert kpis.outage_publication_timeliness(Period(local(20, 9), local(20, 10)), center) == Ratio(1, 1, 1.0)
    assert kpis.outage_publication_timeliness(Period(local(20, 10), local(20, 10, 0, 1)), center) == Ratio(0, 1, 0.0)
    assert kpis.outage_publication_timeliness(Period(local(20, 14), local(21)), center).rate is None  # p5 ahead
    assert kpis.outage_publication_timeliness(FRIDAY, Scope(unit=world.crews[0])).rate is None
