"""KPIs counted from the orders and their events: complaints per million
customers (C3j), work-order correctness (C3n), dispatch accuracy (C3p),
first-call answer rate (C3q), restoration within commitment (C3t), repeat
requests (C3u). Hand-computed fixtures built through the services."""

from __future__ import annotations

import pytest

from hotline.reports import kpis
from hotline.reports.kpis import Period, Ratio, Scope
from hotline.reports.tests.conftest import (
    act,
    complaint,
    inquiry,
    local,
    move_to,
    repair,
)
from hotline.workorders import services

pytestmark = pytest.mark.django_db
TUESDAY = Period(local(17), local(18))


# --- C3j complaints per million customers -----------------------------------------------------

@pytest.fixture
def complaints_day(world, other, frozen):
    """Tue 17: two complaints, one cancelled, one anonymous (recorded as an
    opinion, D1n); Wed 18 00:00 one more; the other center one. Each world
    has 3 customers."""
    complaint(world)
    complaint(world, customer="zhang")
    act(complaint(world, customer="wang"), "cancel", world.agent, reason="重复受理")
    anonymous = complaint(world, anonymous=True)
    assert anonymous.business_type.code == "opinion"
    complaint(other)
    move_to(frozen, local(18))
    complaint(world, customer="wang")


@pytest.mark.rule("C3j")
def test_complaints_per_million_customers(world, complaints_day):
    assert kpis.complaints_per_million_customers(TUESDAY, Scope(unit=world.center)) == Ratio(
        2, 3, pytest.approx(2 / 3 * 1_000_000))
    # The county's customers are the center's (a center serves its parent's area)
    assert kpis.complaints_per_million_customers(TUESDAY, Scope(unit=world.county)).denominator == 3
    assert kpis.complaints_per_million_customers(TUESDAY) == Ratio(3, 6, 500_000)
    assert kpis.complaints_per_million_customers(Period(local(18), local(19)), Scope(unit=world.center)).numerator == 1
    # A unit serving no customer: empty, not 0 (nor infinite)
    assert kpis.complaints_per_million_customers(TUESDAY, Scope(unit=world.crews[0])) == Ratio(0, 0, None)


# --- C3n work-order correctness ------------------------------------------------------------

@pytest.fixture
def reviews(world, frozen):
    """Tue: n1 reviewed (complete); n2 sent back for rework (its latest
    decision); n3 reviewed but its record lacks the caller's name (no
    customer record); n4 reworked, replied again and reviewed; n5 reviewed
    Wed 00:00."""
    n = {"n1": complaint(world), "n2": complaint(world, customer="zhang"),
         "n3": complaint(world, customer_id=None, caller_phone="13900000002"),
         "n4": complaint(world, customer="wang"), "n5": complaint(world, description="服务态度差")}
    for order in n.values():
        act(order, "receive", world.marketing_user)
        act(order, "reply", world.marketing_user)
    move_to(frozen, local(17, 15))
    for name in ("n1", "n3", "n4"):
        act(n[name], "review" if name != "n4" else "rework", world.agent, reason="处理情况不完整")
    act(n["n2"], "rework", world.agent, reason="回复未说明处理结果")
    act(n["n4"], "reply", world.marketing_user)
    act(n["n4"], "review", world.agent)
    move_to(frozen, local(18))
    act(n["n5"], "review", world.agent)
    return n


@pytest.mark.rule("C3n")
def test_work_order_correctness_is_orders_passing_review_and_completeness_over_orders_checked(world, reviews):
    from hotline.workorders.records import completeness_problems

    assert completeness_problems(reviews["n3"]) == ["no_caller"]
    # checked Tue: n1, n2, n3, n4; correct: n1, n4
    assert kpis.work_order_correctness(TUESDAY, Scope(unit=world.center)) == Ratio(2, 4, 0.5)
    assert kpis.work_order_correctness(Period(local(18), local(19)), Scope(unit=world.center)) == Ratio(1, 1, 1.0)
    assert kpis.work_order_correctness(Period(local(16), local(17))).rate is None


@pytest.mark.rule("C3n")
def test_work_order_correctness_counts_an_order_in_the_period_of_its_latest_review(world, reviews, frozen):
    act(reviews["n2"], "reply", world.marketing_user)
    act(reviews["n2"], "review", world.agent)  # Wed 00:00: n2 moves out of Tuesday
    assert kpis.work_order_correctness(TUESDAY, Scope(unit=world.center)) == Ratio(2, 3, 2 / 3)
    assert kpis.work_order_correctness(Period(local(18), local(19)), Scope(unit=world.center)) == Ratio(2, 2, 1.0)
    assert kpis.work_order_correctness(TUESDAY, Scope(unit=world.stations[0])).rate is None


# --- C3p dispatch accuracy -----------------------------------------------------------------

@pytest.fixture
def dispatches(world, other, frozen):
    """Tue: d1 complaint (dispatched on acceptance), returned Wed 10:00 and
    re-dispatched; d2 complaint never returned, chased once (the chase-up is
    dispatched to the same unit); d3 repair returned as outside the area
    within its accept limit; an inquiry answered on the call; the other
    center's complaint; Wed 00:00 d4 complaint."""
    d = {"d1": complaint(world), "d2": complaint(world, customer="zhang")}
    move_to(frozen, local(17, 9, 30))
    d["d3"] = repair(world)
    services.chase_up(order=d["d2"].number, actor=world.agent, note="投诉处理到哪一步了")
    act(inquiry(world, customer="wang"), "answer", world.agent)
    complaint(other)
    move_to(frozen, local(17, 9, 31))
    act(d["d3"], "return", world.station_users[0], reason="outside_area")
    move_to(frozen, local(18))
    d["d4"] = complaint(world, customer="wang")
    move_to(frozen, local(18, 10))
    act(d["d1"], "return", world.marketing_user, reason="不属本部门")
    act(d["d1"], "redispatch", world.agent, unit_id=world.metering.id)
    return d


@pytest.mark.rule("C3p")
def test_dispatch_accuracy_is_one_minus_returned_over_dispatched(world, dispatches):
    # dispatched Tue: d1, d2, d3 (not the chase-up, not the inquiry); returned: d1 (on Wednesday), d3
    assert kpis.dispatch_accuracy(TUESDAY, Scope(unit=world.center)) == Ratio(1, 3, 1 / 3)
    assert kpis.dispatch_accuracy(TUESDAY) == Ratio(2, 4, 0.5)
    # By the first dispatch: d1's re-dispatch on Wednesday is not a second dispatched order
    assert kpis.dispatch_accuracy(Period(local(18), local(19)), Scope(unit=world.center)) == Ratio(1, 1, 1.0)
    assert kpis.dispatch_accuracy(Period(local(16), local(17))).rate is None


# --- C3q first-call answer rate ------------------------------------------------------------

@pytest.fixture
def inquiries(world, other, frozen):
    """Tue: q1 answered on the call; q2 dispatched to marketing; q3 a repair
    report of a planned outage, handled as an inquiry (D3.1d); q4 cancelled;
    a complaint; the other center's inquiry, dispatched; Wed 00:00 q5
    dispatched."""
    act(inquiry(world), "answer", world.agent)
    act(inquiry(world, customer="li"), "dispatch", world.agent)
    q3 = repair(world, customer="wang", fault_scope="planned_outage", description="计划停电什么时候来电")
    assert q3.business_type.code == "inquiry"
    act(inquiry(world, customer="wang", sub_class="tariff"), "cancel", world.agent, reason="误建")
    complaint(world)
    act(inquiry(other), "dispatch", other.agent)
    move_to(frozen, local(18))
    act(inquiry(world), "dispatch", world.agent)


@pytest.mark.rule("C3q")
def test_first_call_answer_rate_is_one_minus_inquiries_dispatched_over_received(world, inquiries):
    # received Tue: q1, q2, q3; dispatched: q2
    assert kpis.first_call_answer_rate(TUESDAY, Scope(unit=world.center)) == Ratio(2, 3, 2 / 3)
    assert kpis.first_call_answer_rate(TUESDAY) == Ratio(2, 4, 0.5)
    assert kpis.first_call_answer_rate(Period(local(18), local(19)), Scope(unit=world.center)) == Ratio(0, 1, 0.0)
    assert kpis.first_call_answer_rate(Period(local(16), local(17))).rate is None


# --- C3t restoration within commitment -------------------------------------------------------

def restore(order, world, user, *, at):
    act(order, "receive", user)
    act(order, "arrive", user)
    act(order, "resolve", user, at=at.isoformat())


@pytest.fixture
def restorations(world, other, frozen):
    """Accepted Tue 09:00: r1 urban (restoration due 12:00) restored 11:30;
    s1 a second caller of r1's fault, merged into it; r2 rural (due 13:00)
    recorded at 13:10 as restored at 12:55 (in limit by the crew's time);
    r3 remote (due 13:00) restored 13:30; r5 urban restored Wed 00:30; the
    other center's restored in limit."""
    r = {"r1": repair(world), "r2": repair(world, customer="li"), "r3": repair(world, customer="wang")}
    r["x"] = repair(other)
    move_to(frozen, local(17, 9, 5))
    r["s1"] = repair(world, caller_phone="13911112222", merge_into=r["r1"].number, description="南街停电了")
    r["r5"] = repair(world, description="南街12号又停电")
    move_to(frozen, local(17, 11, 30))
    restore(r["r1"], world, world.station_users[0], at=frozen())
    restore(r["x"], other, other.station_users[0], at=frozen())
    move_to(frozen, local(17, 13, 10))
    restore(r["r2"], world, world.station_users[1], at=local(17, 12, 55))
    move_to(frozen, local(17, 13, 30))
    restore(r["r3"], world, world.station_users[2], at=frozen())
    move_to(frozen, local(18, 0, 30))
    restore(r["r5"], world, world.station_users[0], at=frozen())
    return r


@pytest.mark.rule("C3t")
def test_restoration_within_commitment_is_repairs_restored_in_limit_over_repairs_restored(world, restorations):
    from hotline.timelimits.models import Clock, ClockStatus

    r2 = Clock.objects.get(order=restorations["r2"], metric="restoration")
    assert r2.due_at == local(17, 13) and r2.status == ClockStatus.BREACHED  # the clock stopped at the record
    assert restorations["s1"].master_id == restorations["r1"].pk
    # restored Tue: r1, r2 (12:55), r3; in limit: r1, r2 — the merged caller is r1's fault
    assert kpis.restoration_within_commitment(TUESDAY, Scope(unit=world.center)) == Ratio(2, 3, 2 / 3)
    assert kpis.restoration_within_commitment(TUESDAY) == Ratio(3, 4, 0.75)
    assert kpis.restoration_within_commitment(Period(local(18), local(19)), Scope(unit=world.center)) == Ratio(0, 1, 0.0)


@pytest.mark.rule("C3t")
def test_restoration_belongs_to_the_period_of_the_reported_restoration_time(world, restorations):
    scope = Scope(unit=world.center)
    # r2 was recorded at 13:10 but restored at 12:55: in [12:50, 13:00), not in [13:00, 13:20)
    assert kpis.restoration_within_commitment(Period(local(17, 12, 50), local(17, 13)), scope) == Ratio(1, 1, 1.0)
    assert kpis.restoration_within_commitment(Period(local(17, 13), local(17, 13, 20)), scope).rate is None
    assert kpis.restoration_within_commitment(Period(local(17, 11, 30), local(17, 11, 31)), scope) == Ratio(1, 1, 1.0)
    assert kpis.restoration_within_commitment(Period(local(17, 11), local(17, 11, 30)), scope).rate is None


# --- C3u repeat requests -------------------------------------------------------------------

@pytest.fixture
def month_of_orders(world, other, frozen):
    """November: 张伟 reports a low-voltage fault Tue 17 and again Wed 18
    (repeat); 李娜 a complaint and a billing inquiry (two matters) and a
    second billing inquiry, cancelled; 王芳 a complaint and a chase-up of it
    (calling again about it: repeat); a caller known by phone alone asks
    about a bill Mon 30 23:00 and again Tue 1 December 09:00 (two months);
    the other center's customer reports the same fault twice."""
    repair(world)
    complaint(world)
    act(inquiry(world, customer="li"), "answer", world.agent)
    act(inquiry(world, customer="li"), "cancel", world.agent, reason="重复")
    chased = complaint(world, customer="wang")
    move_to(frozen, local(17, 9, 10))
    services.chase_up(order=chased.number, actor=world.agent, note="催一下投诉")
    repair(other)
    repair(other, description="还是没电")
    move_to(frozen, local(18, 9))
    repair(world, description="又停电了")
    move_to(frozen, local(30, 23))
    act(inquiry(world, customer_id=None, caller_phone="13900000003", caller_name="赵先生"), "answer", world.agent)
    frozen.advance(hours=10)
    act(inquiry(world, customer_id=None, caller_phone="13900000003", caller_name="赵先生"), "answer", world.agent)


@pytest.mark.rule("C3u")
def test_repeat_requests_are_customers_calling_twice_in_a_month_about_the_same_matter(world, month_of_orders):
    november = Period(local(1), local(30) + (local(2) - local(1)))
    # customers with orders: 张伟, 李娜, 王芳, 13900000003; repeat: 张伟 (same fault), 王芳 (the chase-up)
    assert kpis.repeat_requests(november, Scope(unit=world.center)) == Ratio(2, 4, 0.5)
    assert kpis.repeat_requests(november) == Ratio(3, 5, 0.6)
    # Over both months the phone caller's two questions fall in two calendar months: still not a repeat
    import datetime as dt
    longer = Period(local(1), local(30) + dt.timedelta(days=2))
    assert kpis.repeat_requests(longer, Scope(unit=world.center)) == Ratio(2, 4, 0.5)
    # Tuesday alone: 张伟's second report is on Wednesday
    assert kpis.repeat_requests(TUESDAY, Scope(unit=world.center)) == Ratio(1, 3, 1 / 3)
    assert kpis.repeat_requests(Period(local(16), local(17))).rate is None
