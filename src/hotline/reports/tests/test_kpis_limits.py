"""KPIs counted from the orders' time limits: callback rate (C3k),
complaint timeliness (C3l), supervision rate (C3m). Hand-computed
fixtures built through the services, the clock moved by hand."""

from __future__ import annotations

import pytest

from hotline.reports import kpis
from hotline.reports.kpis import Period, Scope
from hotline.reports.tests.conftest import act, complaint, create, local, move_to
from hotline.timelimits.models import Clock
from hotline.timelimits.services import sweep_until_idle

pytestmark = pytest.mark.django_db


def due_of(order, metric):
    return Clock.objects.filter(order=order, metric=metric).order_by("-round").first().due_at


def handled_and_reviewed(order, world, *, unit_user=None):
    unit_user = unit_user or world.marketing_user
    act(order, "receive", unit_user)
    act(order, "reply", unit_user)
    act(order, "review", world.agent)


# --- C3k callback rate ---------------------------------------------------------------------

@pytest.fixture
def callbacks(world, other, frozen):
    """Reviewed Tue 17 10:00, so each callback is due Wed 18 10:00 (1 working day):
    c1 called back Tue 15:00 (kept); c2 called back Wed 12:00 (late); c3 never
    (still waiting at Wed 12:00); c4 an opinion whose caller wanted a reply,
    closed Tue 15:00 without a callback; c5 reviewed Wed 10:00 (due Thu 10:00);
    x1 another center's, called back in time."""
    orders = {name: complaint(world) for name in ("c1", "c2", "c3")}
    orders["c4"] = complaint(world, business_type="opinion", sub_class="billing", description="电费通知太晚")
    orders["x1"] = complaint(other, customer="li")
    move_to(frozen, local(17, 10))
    for name, order in orders.items():
        handled_and_reviewed(order, other if name == "x1" else world)
    move_to(frozen, local(17, 15))
    act(orders["c1"], "callback", world.agent, outcome="satisfied", note="客户表示满意")
    act(orders["x1"], "callback", other.agent, outcome="unreachable", note="无人接听")
    act(orders["c4"], "close", world.agent)
    move_to(frozen, local(18, 10))
    orders["c5"] = complaint(world, customer="wang")
    handled_and_reviewed(orders["c5"], world)
    move_to(frozen, local(18, 12))
    act(orders["c2"], "callback", world.agent, outcome="basically_satisfied", note="基本满意")
    return orders


@pytest.mark.rule("C3k")
def test_callback_rate_is_callbacks_done_in_limit_over_callbacks_due(world, callbacks):
    assert due_of(callbacks["c1"], "callback") == local(18, 10)
    wednesday = Period(local(18), local(19))
    # due: c1, c2, c3, c4; done in limit: c1 (c2 late, c3 not yet, c4 closed without one)
    assert kpis.callback_rate(wednesday, Scope(unit=world.center)) == kpis.Ratio(1, 4, 0.25)
    # The other center's (an unreachable customer is a callback made) only in the whole installation's
    assert kpis.callback_rate(wednesday) == kpis.Ratio(2, 5, 0.4)


@pytest.mark.rule("C3k")
def test_callback_rate_counts_a_callback_by_its_due_time_half_open(world, callbacks):
    scope = Scope(unit=world.center)
    assert kpis.callback_rate(Period(local(18), local(18, 10)), scope).denominator == 0  # due at 10:00: not before it
    assert kpis.callback_rate(Period(local(18, 10), local(18, 10, 0, 1)), scope) == kpis.Ratio(1, 4, 0.25)
    # c5 is due Thu 10:00 and still ahead (now Wed 12:00): pending, counted nowhere yet — empty, not 0
    assert kpis.callback_rate(Period(local(19), local(20)), scope) == kpis.Ratio(0, 0, None)


@pytest.mark.rule("C3k")
def test_callback_rate_per_agent_is_of_the_orders_the_agent_owns(world, callbacks):
    wednesday = Period(local(18), local(19))
    assert kpis.callback_rate(wednesday, Scope(unit=world.center, agent=world.agent)).denominator == 4
    assert kpis.callback_rate(wednesday, Scope(unit=world.center, agent=world.agent2)).rate is None


# --- C3l complaint timeliness --------------------------------------------------------------

@pytest.fixture
def complaints(world, other, frozen):
    """k1–k3 accepted Tue 17 09:00 (reply due Sun 22 09:00): k1 replied Fri 20,
    k2 replied Mon 23 10:00 (late), k3 never; k4 accepted Wed 18 09:00 (due
    Mon 23 09:00), replied Mon 08:00; an inquiry dispatched Thu 19 09:00
    (reply due Mon 23 09:00, 2 working days) never replied; x1 another
    center's complaint replied late."""
    o = {name: complaint(world) for name in ("k1", "k2", "k3")}
    o["x1"] = complaint(other, customer="li")
    move_to(frozen, local(18, 9))
    o["k4"] = complaint(world, customer="wang")
    move_to(frozen, local(19, 9))
    o["q"] = create(world, business_type="inquiry", sub_class="policy", description="分时电价政策",
                    customer_id=world.customers["zhang"].id)
    act(o["q"], "dispatch", world.agent)
    move_to(frozen, local(20, 9))
    act(o["k1"], "receive", world.marketing_user)
    act(o["k1"], "reply", world.marketing_user)
    move_to(frozen, local(23, 8))
    act(o["k4"], "receive", world.marketing_user)
    act(o["k4"], "reply", world.marketing_user)
    move_to(frozen, local(23, 10))
    for name, user in (("k2", world.marketing_user), ("x1", other.marketing_user)):
        act(o[name], "receive", user)
        act(o[name], "reply", user)
    return o


@pytest.mark.rule("C3l")
def test_complaint_timeliness_is_complaints_replied_in_limit_over_complaints_due(world, complaints):
    assert due_of(complaints["k1"], "reply") == local(22, 9) and due_of(complaints["q"], "reply") == local(23, 9)
    sunday_monday = Period(local(22), local(24))
    # due: k1, k2, k3, k4 (the inquiry's reply is not a complaint's); in limit: k1, k4
    assert kpis.complaint_timeliness(sunday_monday, Scope(unit=world.center)) == kpis.Ratio(2, 4, 0.5)
    assert kpis.complaint_timeliness(sunday_monday) == kpis.Ratio(2, 5, 0.4)  # with the other center's late one


@pytest.mark.rule("C3l")
def test_complaint_timeliness_belongs_to_the_period_of_the_reply_due_time(world, complaints):
    scope = Scope(unit=world.center)
    assert kpis.complaint_timeliness(Period(local(22), local(22, 9)), scope).rate is None
    assert kpis.complaint_timeliness(Period(local(22, 9), local(22, 9, 0, 1)), scope) == kpis.Ratio(1, 3, 1 / 3)
    assert kpis.complaint_timeliness(Period(local(23), local(24)), scope) == kpis.Ratio(1, 1, 1.0)  # k4 alone
    # Accepted in the week, but due in the next: not in the week of acceptance
    assert kpis.complaint_timeliness(Period(local(16), local(22)), scope).rate is None


# --- C3m supervision rate ------------------------------------------------------------------

@pytest.fixture
def overdue(world, other, frozen):
    """Complaints, each dispatched on acceptance with 2 h for the unit to accept:
    o1 (09:00) never received, swept at 11:01 (supervision notice); o2 (09:00)
    received 10:00 (in limit); o5 (09:30) received 11:45 (late: the notice is
    raised on the stop); o3 (10:00) never received, due 12:00, not swept by
    12:01; x1 another center's (09:00), never received, swept at 11:01."""
    o = {"o1": complaint(world), "o2": complaint(world, customer="wang"), "x1": complaint(other, customer="li")}
    move_to(frozen, local(17, 9, 30))
    o["o5"] = complaint(world, customer="zhang")
    move_to(frozen, local(17, 10))
    o["o3"] = complaint(world, description="抄表员态度差")
    act(o["o2"], "receive", world.marketing_user)
    move_to(frozen, local(17, 11, 1))
    sweep_until_idle()
    move_to(frozen, local(17, 11, 45))
    act(o["o5"], "receive", world.marketing_user)
    move_to(frozen, local(17, 12, 1))
    return o


@pytest.mark.rule("C3m")
def test_supervision_rate_is_overdue_orders_with_a_notice_over_overdue_orders(world, overdue):
    morning = Period(local(17, 9), local(17, 13))
    # overdue: o1, o5, o3; supervised: o1 (swept), o5 (raised when stopped late); o3 not swept yet
    assert kpis.supervision_rate(morning, Scope(unit=world.center)) == kpis.Ratio(2, 3, 2 / 3)
    assert kpis.supervision_rate(morning) == kpis.Ratio(3, 4, 0.75)  # and the other center's x1
    sweep_until_idle()
    assert kpis.supervision_rate(morning, Scope(unit=world.center)) == kpis.Ratio(3, 3, 1.0)


@pytest.mark.rule("C3m")
def test_supervision_rate_counts_an_order_in_the_period_its_limit_fell_due(world, overdue):
    scope = Scope(unit=world.center)
    # o1's accept limit fell due at 11:00, o5's at 11:30, o3's at 12:00
    assert kpis.supervision_rate(Period(local(17, 9), local(17, 11)), scope).rate is None
    assert kpis.supervision_rate(Period(local(17, 11), local(17, 11, 30)), scope) == kpis.Ratio(1, 1, 1.0)
    assert kpis.supervision_rate(Period(local(17, 12), local(17, 13)), scope) == kpis.Ratio(0, 1, 0.0)
