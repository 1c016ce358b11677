"""KPIs that join the calls and the orders recorded from them: complaints
per answered call (C3s) and the omission rate (C3y), against a day of calls
sent through the ingest path and orders recorded from them."""

from __future__ import annotations

import datetime as dt

import pytest

from hotline.calls import services as calls
from hotline.calls.models import Call
from hotline.calls.tests.conftest import T0
from hotline.calls.tests.events import call
from hotline.organisation import services as org
from hotline.organisation.models import Role
from hotline.reports import kpis
from hotline.reports.kpis import Period, Ratio, Scope
from hotline.reports.tests.conftest import (
    act,
    complaint,
    inquiry,
    local,
    move_to,
)
from hotline.testing import PASSWORD

pytestmark = pytest.mark.django_db
TUESDAY = Period(local(17), local(18))


def from_call(frozen, call_id: str, make, **kw):
    """An order recorded from the call ``call_id`` just after it ended."""
    record = Call.objects.get(call_id=call_id)
    if record.ended_at and frozen() < record.ended_at:
        move_to(frozen, record.ended_at + dt.timedelta(seconds=30))
    return make(contact_id=record.contact_id, **kw)


@pytest.fixture
def calls_day(world, other, frozen, http_source):
    """Tuesday, queue 95598 unless said (agent 1001 = world.agent, 1002 = agent2,
    2001 the other center's):
    c1 (1001) a complaint and an inquiry answered on the call; c2 (1001) an
    inquiry answered; c3 (1002) a complaint; c4 abandoned; c5 (1001, queue
    repair) a complaint and a complaint cancelled; c7 (1001) no order; c9
    (1002) an opinion whose caller wanted a reply, closed without the callback;
    c8 (2001, another queue) the other center's complaint (calls carry no
    center: the center's figures have every queue's calls, its orders only); c6 (1001) Wed 00:01:40, an inquiry.
    From no call: w1 a web complaint; w2 a web opinion closed without its
    callback; w3 a web inquiry cancelled."""
    outsider = org.create_user(username="o-agent9", password=PASSWORD, role=Role.AGENT, unit=other.center,
                               agent_number="2001")
    # Both worlds number their agents 1001 and 1002: the switch's ids are said to be this center's.
    calls.set_agent_identity(source=http_source, agent_ref="1001", user=world.agent)
    calls.set_agent_identity(source=http_source, agent_ref="1002", user=world.agent2)
    wednesday = (local(18) - T0).total_seconds() + 100
    calls.ingest(http_source, call("c1", 0, answer=5, talk=100) + call("c2", 600, answer=5, talk=60)
                 + call("c3", 1200, answer=4, talk=90, agent="1002") + call("c4", 1800, abandon=20)
                 + call("c5", 2400, answer=3, talk=120, queue="repair") + call("c7", 3000, answer=2, talk=15)
                 + call("c9", 3600, answer=6, talk=200, agent="1002")
                 + call("c8", 4200, answer=3, talk=80, agent="2001", queue="o-95598")
                 + call("c6", wednesday, answer=5, talk=40))
    assert Call.objects.get(call_id="c3").agent == world.agent2

    from_call(frozen, "c1", lambda **kw: complaint(world, **kw))
    act(from_call(frozen, "c1", lambda **kw: inquiry(world, **kw)), "answer", world.agent)
    act(from_call(frozen, "c2", lambda **kw: inquiry(world, customer="li", **kw)), "answer", world.agent)
    from_call(frozen, "c3", lambda **kw: complaint(world, actor=world.agent2, customer="wang", **kw))
    from_call(frozen, "c5", lambda **kw: complaint(world, customer="zhang", **kw))
    act(from_call(frozen, "c5", lambda **kw: complaint(world, customer="zhang", description="重复", **kw)),
        "cancel", world.agent, reason="重复受理")
    opinion = from_call(frozen, "c9", lambda **kw: complaint(world, actor=world.agent2, business_type="opinion",
                                                            sub_class="billing", description="电费通知太晚", **kw))
    from_call(frozen, "c8", lambda **kw: complaint(other, actor=outsider, **kw))
    complaint(world, channel="web", description="网上投诉：营业厅排队太久")
    web_opinion = complaint(world, channel="web", business_type="opinion", sub_class="metering", description="电表走得快")
    act(inquiry(world, channel="web"), "cancel", world.agent, reason="误建")
    for order in (opinion, web_opinion):
        act(order, "receive", world.marketing_user)
        act(order, "reply", world.marketing_user)
        act(order, "review", world.agent)
        act(order, "close", world.agent)
    move_to(frozen, local(18, 0, 3))
    act(from_call(frozen, "c6", lambda **kw: inquiry(world, **kw)), "answer", world.agent)
    return world


@pytest.mark.rule("C3s")
def test_complaints_per_answered_call(world, calls_day):
    center = Scope(unit=world.center)
    # answered: c1, c2, c3, c5, c7, c9, c8; complaints from them taken by the center: c1, c3, c5
    # (not the cancelled one, not the web one, not the other center's from c8)
    assert kpis.complaints_per_answered_call(TUESDAY, center) == Ratio(3, 7, 3 / 7)
    assert kpis.complaints_per_answered_call(TUESDAY, Scope(unit=world.center, queue="95598")) == Ratio(2, 5, 0.4)
    assert kpis.complaints_per_answered_call(TUESDAY, Scope(unit=world.center, agent=world.agent2)) == Ratio(1, 2, 0.5)
    assert kpis.complaints_per_answered_call(TUESDAY) == Ratio(4, 7, 4 / 7)  # and the other center's c8
    assert kpis.complaints_per_answered_call(Period(local(18), local(19)), center) == Ratio(0, 1, 0.0)
    assert kpis.complaints_per_answered_call(Period(local(16), local(17)), center).rate is None


@pytest.mark.rule("C3s")
def test_complaints_per_answered_call_by_the_call_offer_time(world, calls_day):
    center = Scope(unit=world.center)
    c3 = Call.objects.get(call_id="c3").offered_at
    assert kpis.complaints_per_answered_call(Period(c3, c3 + dt.timedelta(seconds=1)), center) == Ratio(1, 1, 1.0)
    assert kpis.complaints_per_answered_call(Period(c3 - dt.timedelta(seconds=1), c3), center) == Ratio(0, 0, None)


@pytest.mark.rule("C3y")
def test_omission_rate_is_service_requests_left_unhandled_over_service_requests(world, calls_day):
    center = Scope(unit=world.center)
    # requests: c1, c2, c3, c5, c7, c9, c8 and the web orders w1, w2 (w3 cancelled);
    # unhandled: c7 (no order), c9 and w2 (closed without the callback the caller wanted)
    assert kpis.omission_rate(TUESDAY, center) == Ratio(3, 9, 1 / 3)
    # A queue's requests are its calls alone
    assert kpis.omission_rate(TUESDAY, Scope(unit=world.center, queue="95598")) == Ratio(2, 5, 0.4)
    assert kpis.omission_rate(TUESDAY, Scope(unit=world.center, queue="repair")) == Ratio(0, 1, 0.0)
    assert kpis.omission_rate(TUESDAY) == Ratio(3, 9, 1 / 3)  # the other center has no orders from no call
    assert kpis.omission_rate(Period(local(18), local(19)), center) == Ratio(0, 1, 0.0)
    assert kpis.omission_rate(Period(local(16), local(17)), center).rate is None


@pytest.mark.rule("C3y")
def test_a_step_merely_late_is_not_an_omission(world, calls_day, frozen):
    center = Scope(unit=world.center)
    late = complaint(world, channel="web", customer="wang", description="网上投诉：抄表不准")
    frozen.advance(days=30)  # its reply is long overdue, yet may still come
    assert kpis.omission_rate(TUESDAY, center) == Ratio(3, 9, 1 / 3)
    assert kpis.omission_rate(Period(local(18), local(19)), center) == Ratio(0, 2, 0.0)
    assert late.created_at >= local(18)



@pytest.mark.rule("C3s", "C3y")
def test_a_unit_with_no_center_takes_no_calls(world, calls_day):
    assert kpis.complaints_per_answered_call(TUESDAY, Scope(unit=world.stations[0])) == Ratio(0, 0, None)
    assert kpis.omission_rate(TUESDAY, Scope(unit=world.stations[0])) == Ratio(0, 0, None)
    # the county has a center, so its calls
    assert kpis.complaints_per_answered_call(TUESDAY, Scope(unit=world.county)) == Ratio(3, 7, 3 / 7)
