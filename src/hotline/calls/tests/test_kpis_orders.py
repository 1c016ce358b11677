"""The call KPIs that join the orders recorded from a call (C3f, C3r) and
the agents' state history (C3h), against figures worked out by hand."""

from __future__ import annotations

import datetime as dt

import pytest

from hotline.calls import kpis, services
from hotline.calls.models import Call
from hotline.calls.tests.conftest import T0
from hotline.calls.tests.events import call, ev
from hotline.workorders import services as orders

DAY = kpis.Period(T0 - dt.timedelta(hours=1), T0 + dt.timedelta(hours=23))


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def order_from(world, frozen, call_id: str, business_type: str, *, saved_at: float):
    """An order recorded from the call ``call_id``, saved ``saved_at`` s
    after T0 (the frozen clock stands at T0)."""
    frozen.advance(seconds=saved_at - (frozen() - T0).total_seconds())
    contact_id = Call.objects.get(call_id=call_id).contact_id
    kind = {"inquiry": dict(sub_class="bill", description="咨询电费"),
            "repair": dict(sub_class="lv", description="家里停电", fault_scope="company")}[business_type]
    return orders.create_order(actor=world.agent, intake=orders.Intake(
        business_type=business_type, customer_id=world.customers["zhang"].id, contact_id=contact_id, **kind))


@pytest.fixture
def day_of_orders(world, frozen, http_source):
    """c1: inquiry only, talk 100, ends at 105, order saved at 145 (40 s at the desk);
    c2: an inquiry and a repair, talk 200, ends at 1205, both saved during the call;
    c3: inquiry only, talk 60, ends at 2063, two inquiries, the last saved at 2073 (10 s);
    c4: answered, no order; c5: abandoned."""
    assert frozen() == T0
    services.ingest(http_source, call("c1", 0, answer=5, talk=100) + call("c2", 1000, answer=5, talk=200)
                    + call("c3", 2000, answer=3, talk=60) + call("c4", 3000, answer=2, talk=30)
                    + call("c5", 4000, abandon=12))
    order_from(world, frozen, "c1", "inquiry", saved_at=145)
    order_from(world, frozen, "c2", "inquiry", saved_at=1100)
    order_from(world, frozen, "c2", "repair", saved_at=1150)
    order_from(world, frozen, "c3", "inquiry", saved_at=2050)
    order_from(world, frozen, "c3", "inquiry", saved_at=2073)
    return world


@pytest.mark.rule("C3f")
def test_average_inquiry_time_is_the_talk_of_calls_whose_orders_are_all_inquiries(day_of_orders):
    # c1 (100 s) and c3 (60 s); c2 also gave a repair, c4 gave no order
    assert kpis.inquiry_talk(DAY) == pytest.approx((100 + 60) / 2)
    assert kpis.inquiry_talk(DAY, type_codes=("inquiry", "repair")) == pytest.approx((100 + 200 + 60) / 3)
    assert kpis.inquiry_talk(kpis.Period(at(4500), at(9000))) is None  # no such call: empty, not 0


@pytest.mark.rule("C3r")
def test_after_call_work_is_the_desk_time_after_the_call_per_answered_call(day_of_orders):
    # c1 40 s, c2 0 (saved while talking), c3 10 s (its last order), c4 none; 4 answered
    assert kpis.after_call_work(DAY) == pytest.approx((40 + 0 + 10) / 4)
    assert kpis.after_call_work(kpis.Period(at(-60), at(500))) == pytest.approx(40.0)  # c1 alone
    assert kpis.after_call_work(kpis.Period(at(3500), at(9000))) is None  # c5 abandoned: no answered call


@pytest.fixture
def agent_day(world, frozen, http_source):
    """Agent 1001: logged in and ready at 0; a call rings 10–12, talks
    12–112, after-call work 112–132; not ready (break) 200–500; ready again
    until the period ends at 600. The clock stands at 1000."""
    frozen.advance(seconds=1000)
    services.ingest(http_source, [ev("agent.login", 0, agent="1001"), ev("agent.ready", 0.0, agent="1001")]
                    + call("a1", 5, answer=7, ring=2, talk=100, wrap=20)
                    + [ev("agent.not_ready", 200, agent="1001", reason="break"),
                       ev("agent.ready", 500, agent="1001")])
    return world


@pytest.mark.rule("C3h")
def test_occupancy_is_handle_time_over_handle_and_ready_time(agent_day):
    result = kpis.occupancy(kpis.Period(T0, at(600)), agent=agent_day.agent)
    # handle: talk 100 + wrap 20; ready: 0–12 (ringing counts as available) + 132–200 + 500–600
    assert (result.handle_s, result.ready_s) == (pytest.approx(120), pytest.approx(12 + 68 + 100))
    assert result.rate == pytest.approx(120 / 300)
    # From the state the agent was in when the period starts (ready, no call since 132)
    later = kpis.occupancy(kpis.Period(at(150), at(600)), agent=agent_day.agent)
    assert (later.handle_s, later.ready_s, later.rate) == (0, pytest.approx(50 + 100), 0.0)
    # Up to now for a period still running; nobody ready or handling: empty, not 0
    assert kpis.occupancy(kpis.Period(at(550), at(5000))).ready_s == pytest.approx(450)
    assert kpis.occupancy(kpis.Period(at(2000), at(3000)), agent=agent_day.agent2).rate is None
