"""Spec domain.md §3 (repair reports) and §4 (complaints and reports):
intake classification, dispatch, arrival limits, duplicate merging,
returns and field progress."""

import datetime as dt

import pytest

from hotline.organisation import services as org
from hotline.testing import handled
from hotline.timelimits.models import Clock, ClockStatus
from hotline.timelimits.services import sweep_until_idle
from hotline.workorders import selectors, services
from hotline.workorders.errors import OrderError, TransitionError
from hotline.workorders.models import State, WorkOrder, WorkOrderEvent

pytestmark = pytest.mark.django_db


def create(world, actor=None, **kw):
    return services.create_order(actor=actor or world.agent, intake=services.Intake(**kw))


def repair(world, **kw):
    data = dict(business_type="repair", sub_class="lv", description="整栋楼停电，邻居家也没电", fault_scope="company",
                customer_id=world.customers["zhang"].id)
    data.update(kw)
    return create(world, **data)


def act(order, action, actor, **payload):
    # A unit's resolve and reply carry the handling record its type asks.
    return services.transition(order=order.number, action=action, actor=actor, payload=handled(order, action, payload))


def clock(order, metric):
    return Clock.objects.filter(order=order, metric=metric).order_by("-round").first()


# --- D3.1 intake ---------------------------------------------------------------

@pytest.mark.rule("D3.1a")
def test_intake_records_name_phone_address_account_and_phenomenon(world, frozen):
    order = repair(world, caller_name="张伟", caller_phone="138 1234 5678")
    assert (order.caller_name, order.caller_phone, order.address) == ("张伟", "13812345678", "城关镇南街社区12号")
    assert order.customer.account_number == "t0001" and order.description.startswith("整栋楼停电")
    with pytest.raises(OrderError) as err:
        repair(world, description=" ")
    assert err.value.field == "description"
    with pytest.raises(OrderError) as err:
        repair(world, fault_scope="")
    assert err.value.field == "fault_scope"


@pytest.mark.rule("D3.1b")
def test_company_fault_or_unknown_cause_is_dispatched(world, frozen):
    order = repair(world)
    assert order.business_type.code == "repair" and order.state == State.DISPATCHED
    assert order.assigned_unit == world.stations[0]


@pytest.mark.rule("D3.1c")
def test_customer_internal_fault_guided_or_dispatched_as_stated_paid_service(world, frozen):
    guided = repair(world, sub_class="customer_internal", fault_scope="customer_internal")
    assert guided.business_type.code == "inquiry" and guided.assigned_unit is None
    paid = repair(world, sub_class="customer_internal", fault_scope="customer_internal", paid_service=True)
    assert paid.business_type.code == "repair" and paid.state == State.DISPATCHED and paid.paid_service
    assert paid.events.get(kind="create").payload["paid_service_stated"] is True


@pytest.mark.rule("D3.1d")
@pytest.mark.parametrize("scope", ["planned_outage", "arrears"])
def test_outage_or_arrears_is_handled_as_an_inquiry_not_dispatched(world, frozen, scope):
    order = repair(world, fault_scope=scope)
    assert order.business_type.code == "inquiry" and order.assigned_unit is None
    assert order.state == State.CLOSED
    created = order.events.get(kind="create").payload
    assert created["recorded_as"] == "inquiry" and created["requested_type"] == "repair"
    assert not order.events.filter(kind="dispatch").exists()


# --- D3.2 dispatch -------------------------------------------------------------

@pytest.mark.rule("D3.2a")
def test_dispatch_within_five_minutes_of_acceptance(world, frozen):
    auto = repair(world)
    assert clock(auto, "dispatch").status == ClockStatus.MET
    held = repair(world, dispatch=False)
    dispatch = clock(held, "dispatch")
    assert dispatch.due_at - dispatch.started_at == dt.timedelta(minutes=5)
    frozen.advance(minutes=5, seconds=1)
    sweep_until_idle()
    act(held, "dispatch", world.agent)
    dispatch.refresh_from_db()
    assert dispatch.status == ClockStatus.BREACHED and dispatch.notices.filter(kind="supervision", level=1).exists()


@pytest.mark.rule("D3.2b")
def test_routing_by_service_area_else_the_county_dispatch_desk(world, frozen):
    assert repair(world).assigned_unit == world.stations[0]  # transformer area of 城关供电所
    village = repair(world, customer_id=None, caller_phone="13600000001", address="东山乡桃园村5组")
    assert village.service_area == world.areas["v1"] and village.assigned_unit == world.stations[1]
    nowhere = repair(world, customer_id=None, caller_phone="13600000002", address="外省某地")
    assert nowhere.service_area is None and nowhere.assigned_unit == world.desk


# --- D3.3 arrival ----------------------------------------------------------------

@pytest.mark.rule("D3.3a")
@pytest.mark.parametrize("customer,minutes", [("zhang", 45), ("li", 90), ("wang", 120)])
def test_arrival_limit_follows_the_area_class(world, frozen, customer, minutes):
    order = repair(world, customer_id=world.customers[customer].id)
    arrival = clock(order, "arrival")
    assert arrival.due_at - arrival.started_at == dt.timedelta(minutes=minutes)
    assert arrival.responsible_unit == order.assigned_unit


@pytest.mark.rule("D3.3b")
def test_customer_opinion_is_asked_after_the_repair(world, frozen):
    order = repair(world)
    st = world.station_users[0]
    for action in ("receive", "arrive", "resolve", "reply"):
        act(order, action, st)
    callback = clock(order, "callback")
    assert callback.status == ClockStatus.RUNNING and callback.due_at - callback.started_at == dt.timedelta(hours=24)
    act(order, "review", world.agent)
    with pytest.raises(OrderError):
        act(order, "callback", world.agent, outcome="satisfied")  # the customer's words are required
    act(order, "callback", world.agent, outcome="satisfied", note="客户说已来电，满意")
    assert clock(order, "callback").status == ClockStatus.MET


# --- D3.4 duplicates ---------------------------------------------------------------

def neighbour_area(world):
    return org.create_service_area(name="南街2号台区", code="t-a0t2", level="transformer_area", unit=world.stations[0],
                                   parent=world.areas["v0"])


@pytest.mark.rule("D3.4a")
def test_new_report_is_compared_with_open_repairs_at_the_fault_point(world, frozen):
    first = repair(world)
    frozen.advance(minutes=2)
    second = repair(world, customer_id=None, caller_phone="13600001111", service_area_id=world.areas["t0"].id,
                    description="整栋楼停电了", dispatch=False)
    proposals = second.events.get(kind="create").payload["duplicate_suggestions"]
    assert proposals[0]["number"] == first.number
    assert {"same_fault_point", "same_fault_class", "same_cause", "similar_phenomenon"} <= set(proposals[0]["reasons"])


@pytest.mark.rule("D3.4a", "D3.4d")
def test_neighbouring_transformer_area_is_neither_proposed_nor_merged(world, frozen):
    first = repair(world)
    t2 = neighbour_area(world)
    frozen.advance(minutes=1)
    other = repair(world, customer_id=None, caller_phone="13600001112", service_area_id=t2.id, dispatch=False)
    assert "duplicate_suggestions" not in other.events.get(kind="create").payload
    with pytest.raises(OrderError) as err:
        act(other, "merge", world.agent, master=first.number)
    assert err.value.field == "master"


@pytest.mark.rule("D3.4a")
def test_proposals_only_within_the_configured_window(world, frozen, settings):
    settings.HOTLINE = {**settings.HOTLINE, "MERGE_WINDOW_HOURS": 2}
    first = repair(world)
    frozen.advance(hours=2, minutes=1)
    late = repair(world, customer_id=None, caller_phone="13600001113", service_area_id=world.areas["t0"].id, dispatch=False)
    assert "duplicate_suggestions" not in late.events.get(kind="create").payload
    settings.HOTLINE = {**settings.HOTLINE, "MERGE_WINDOW_HOURS": 3}
    again = repair(world, customer_id=None, caller_phone="13600001114", service_area_id=world.areas["t0"].id, dispatch=False)
    # Within 3 hours the first report is a candidate again (beside the late one).
    assert first.number in [p["number"] for p in again.events.get(kind="create").payload["duplicate_suggestions"]]


@pytest.mark.rule("D3.4b")
def test_duplicate_merged_without_a_second_dispatch_into_the_first_accepted(world, frozen):
    first = repair(world)
    frozen.advance(minutes=1)
    dup = repair(world, customer_id=None, caller_phone="13600002222", service_area_id=world.areas["t0"].id,
                 merge_into=first.number)
    assert dup.state == State.MERGED and dup.master == first and dup.assigned_unit is None
    assert not dup.events.filter(kind="dispatch").exists()
    assert not Clock.objects.filter(order=dup, status=ClockStatus.RUNNING).exists()
    assert first.events.filter(kind="merged_in", payload__sub=dup.number).exists()
    # The first accepted is the master, never the other way round.
    later = repair(world, customer_id=None, caller_phone="13600002223", service_area_id=world.areas["t0"].id, dispatch=False)
    with pytest.raises(OrderError):
        act(first, "merge", world.agent, master=later.number)


@pytest.mark.rule("D3.4c")
def test_every_merged_caller_gets_the_restoration_and_a_callback(world, frozen):
    master = repair(world)
    frozen.advance(minutes=1)
    subs = [repair(world, customer_id=None, caller_phone=f"1360000333{i}", service_area_id=world.areas["t0"].id,
                   merge_into=master.number) for i in range(2)]
    st = world.station_users[0]
    for action in ("receive", "arrive", "resolve"):
        act(master, action, st)
    for sub in subs:
        assert sub.events.filter(kind="restoration", payload__master=master.number).count() == 1
    act(master, "reply", st)
    for sub in subs:
        callback = clock(sub, "callback")
        assert callback is not None and callback.status == ClockStatus.RUNNING
        assert callback.due_at - callback.started_at == dt.timedelta(hours=24)
    act(subs[0], "callback", world.agent, outcome="satisfied", note="客户确认已来电")
    assert clock(subs[0], "callback").status == ClockStatus.MET
    assert clock(subs[1], "callback").status == ClockStatus.RUNNING


@pytest.mark.rule("D3.4d")
def test_only_repairs_merge_and_not_into_an_archived_master(world, frozen):
    master = repair(world)
    with pytest.raises(OrderError):
        create(world, business_type="complaint", sub_class="service", description="服务态度差",
               customer_id=world.customers["zhang"].id, merge_into=master.number)
    act(master, "cancel", world.agent, reason="客户来电取消")
    with pytest.raises(OrderError):
        repair(world, customer_id=None, caller_phone="13600004444", service_area_id=world.areas["t0"].id,
               merge_into=master.number)


@pytest.mark.rule("D3.4b", "D3.4d")
def test_a_master_merged_into_another_takes_its_sub_orders_along(world, frozen):
    oldest = repair(world)
    frozen.advance(minutes=1)
    middle = repair(world, customer_id=None, caller_phone="13600005555", service_area_id=world.areas["t0"].id, dispatch=False)
    frozen.advance(minutes=1)
    sub = repair(world, customer_id=None, caller_phone="13600005556", service_area_id=world.areas["t0"].id,
                 merge_into=middle.number)
    act(middle, "merge", world.agent, master=oldest.number)
    sub.refresh_from_db()
    assert sub.master == oldest
    assert sub.events.filter(kind="remerge", payload__master=oldest.number, payload__previous_master=middle.number).exists()
    for action in ("receive", "arrive", "resolve"):
        act(oldest, action, world.station_users[0])
    assert sub.events.filter(kind="restoration").count() == 1 and middle.events.filter(kind="restoration").count() == 1


@pytest.mark.rule("D3.4d")
def test_master_cancel_and_close_pass_to_sub_orders(world, frozen):
    master = repair(world)
    sub = repair(world, customer_id=None, caller_phone="13600006666", service_area_id=world.areas["t0"].id,
                 merge_into=master.number)
    act(master, "cancel", world.agent, reason="误报")
    sub.refresh_from_db()
    assert sub.state == State.CANCELLED
    assert sub.events.get(kind="master_cancel").payload == {"master": master.number, "reason": "误报"}


@pytest.mark.rule("D3.4e")
def test_agent_overrides_the_proposal_either_way_and_the_decision_is_recorded(world, frozen):
    first = repair(world)
    frozen.advance(minutes=1)
    separate = repair(world, customer_id=None, caller_phone="13600007777", service_area_id=world.areas["t0"].id)
    payload = separate.events.get(kind="create").payload
    assert payload["duplicate_suggestions"][0]["number"] == first.number and payload["duplicate_decision"] == "separate"
    assert separate.state == State.DISPATCHED
    merged = repair(world, customer_id=None, caller_phone="13600007778", service_area_id=world.areas["t0"].id,
                    merge_into=first.number)
    assert merged.events.get(kind="create").payload["duplicate_decision"] == "merge"


@pytest.mark.rule("D3.4d")
def test_unmerge_with_a_reason_restarts_the_order(world, frozen):
    master = repair(world)
    sub = repair(world, customer_id=None, caller_phone="13600008888", service_area_id=world.areas["t0"].id,
                 merge_into=master.number)
    with pytest.raises(OrderError):
        act(sub, "unmerge", world.agent)
    frozen.advance(minutes=2)
    act(sub, "unmerge", world.agent, reason="不是同一故障点")
    sub.refresh_from_db()
    assert sub.state == State.ACCEPTED and sub.master is None and sub.closed_at is None
    assert master.events.filter(kind="sub_unmerged", payload__sub=sub.number).exists()
    act(sub, "dispatch", world.agent)
    sub.refresh_from_db()
    assert sub.state == State.DISPATCHED and sub.assigned_unit == world.stations[0]
    accept = clock(sub, "accept")
    assert accept.status == ClockStatus.RUNNING and accept.started_at == frozen()


# --- D3.5 returns ---------------------------------------------------------------------

@pytest.mark.rule("D3.5a")
def test_return_only_for_the_two_reasons_and_within_the_accept_limit(world, frozen):
    order = repair(world)
    st = world.station_users[0]
    with pytest.raises(OrderError):
        act(order, "return", st, reason="太忙了")
    frozen.advance(minutes=2, seconds=59)
    act(order, "return", st, reason="outside_area")
    order.refresh_from_db()
    assert order.state == State.RETURNED and order.return_count == 1
    late = repair(world, customer_id=world.customers["li"].id)
    frozen.advance(minutes=3, seconds=1)
    with pytest.raises(TransitionError):
        act(late, "return", world.station_users[1], reason="missing_information")


@pytest.mark.rule("D3.5b", "D2g")
def test_center_redispatches_within_three_minutes_keeping_number_and_clocks(world, frozen):
    order = repair(world)
    arrival = clock(order, "arrival")
    act(order, "return", world.station_users[0], reason="outside_area")
    redispatch = clock(order, "redispatch")
    assert redispatch.due_at - redispatch.started_at == dt.timedelta(minutes=3)
    frozen.advance(minutes=1)
    act(order, "redispatch", world.agent, unit_id=world.stations[1].id)
    redispatch.refresh_from_db()
    assert redispatch.status == ClockStatus.MET
    order.refresh_from_db()
    assert clock(order, "arrival").pk == arrival.pk and clock(order, "arrival").responsible_unit == world.stations[1]


# --- D3.6 field progress -------------------------------------------------------------

def on_site(world, frozen, **kw):
    order = repair(world, **kw)
    st = world.station_users[0]
    act(order, "receive", st)
    frozen.advance(minutes=20)
    act(order, "arrive", st)
    return order, st


@pytest.mark.rule("D3.6a", "D3.6d")
def test_arrival_and_completion_times_recorded_with_the_reported_time(world, frozen):
    order = repair(world)
    st = world.station_users[0]
    act(order, "receive", st)
    frozen.advance(minutes=20)
    arrived = (frozen() - dt.timedelta(minutes=5)).isoformat()
    act(order, "arrive", st, at=arrived)
    event = order.events.get(kind="arrive")
    assert dt.datetime.fromisoformat(event.payload["reported_at"]) == dt.datetime.fromisoformat(arrived)
    assert "recorded_late_seconds" not in event.payload  # exactly 5 minutes later is in time
    frozen.advance(minutes=60)
    finished = (frozen() - dt.timedelta(minutes=5, seconds=1)).isoformat()
    act(order, "resolve", st, at=finished)
    assert order.events.get(kind="resolve").payload["recorded_late_seconds"] == 301


@pytest.mark.rule("D3.6a")
def test_a_field_time_must_be_a_time_of_the_past_after_acceptance(world, frozen):
    order = repair(world)
    st = world.station_users[0]
    act(order, "receive", st)
    for bad in ("yesterday", (frozen() + dt.timedelta(minutes=5)).isoformat(),
                (order.created_at - dt.timedelta(minutes=1)).isoformat()):
        with pytest.raises(OrderError) as err:
            act(order, "arrive", st, at=bad)
        assert err.value.field == "at"
    order.refresh_from_db()
    assert order.state == State.RECEIVED and not order.events.filter(kind="arrive").exists()


@pytest.mark.rule("D3.6b")
def test_estimated_restoration_within_20_minutes_of_finding_the_fault_point(world, frozen):
    order, st = on_site(world, frozen)
    assert clock(order, "estimate") is None  # nothing to estimate before the fault is found
    act(order, "locate", st, note="10kV线路跌落式熔断器熔断")
    estimate = clock(order, "estimate")
    assert estimate.due_at - estimate.started_at == dt.timedelta(minutes=20)
    assert estimate.responsible_unit == world.stations[0]
    frozen.advance(minutes=20)
    eta = frozen() + dt.timedelta(hours=1, minutes=30)
    act(order, "estimate", st, estimated_at=eta.isoformat())
    estimate.refresh_from_db()
    assert estimate.status == ClockStatus.MET
    order.refresh_from_db()
    assert order.estimated_restoration_at == eta
    assert order.events.get(kind="estimate").payload["estimated_restoration_at"] == eta.isoformat()


@pytest.mark.rule("D3.6b")
def test_a_late_estimate_breaches_and_is_supervised(world, frozen):
    order, st = on_site(world, frozen)
    act(order, "locate", st)
    frozen.advance(minutes=21)
    sweep_until_idle()
    assert order.notices.filter(metric="estimate", kind="supervision", level=1).exists()
    act(order, "estimate", st, estimated_at=(frozen() + dt.timedelta(hours=1)).isoformat())
    assert clock(order, "estimate").status == ClockStatus.BREACHED


@pytest.mark.rule("D3.6b")
def test_an_estimate_needs_a_time_ahead(world, frozen):
    order, st = on_site(world, frozen)
    act(order, "locate", st)
    for payload, message in (({}, "请填写预计恢复时间"), ({"estimated_at": "soon"}, "请填写日期和时间，例如 2026-06-01 14:30"),
                             ({"estimated_at": (frozen() - dt.timedelta(minutes=10)).isoformat()}, "预计恢复时间应晚于当前时间")):
        with pytest.raises(OrderError) as err:
            act(order, "estimate", st, **payload)
        assert (err.value.field, err.value.message) == ("estimated_at", message)
    assert clock(order, "estimate").status == ClockStatus.RUNNING


@pytest.mark.rule("D3.6c")
def test_a_repair_past_4_hours_on_site_reports_progress_every_2_hours(world, frozen):
    order, st = on_site(world, frozen)
    first = clock(order, "progress_first")
    assert first.due_at - first.started_at == dt.timedelta(hours=4)
    frozen.advance(hours=4)
    act(order, "progress", st, note="更换电缆中")
    first.refresh_from_db()
    assert first.status == ClockStatus.MET
    chain = clock(order, "progress")
    assert chain.due_at - chain.started_at == dt.timedelta(hours=2)
    frozen.advance(hours=2, seconds=1)
    sweep_until_idle()
    assert order.notices.filter(metric="progress", kind="supervision").count() == 1
    act(order, "progress", st, note="电缆头制作中")
    assert clock(order, "progress").round == 1 and clock(order, "progress").status == ClockStatus.RUNNING
    frozen.advance(minutes=30)
    act(order, "resolve", st)
    assert not Clock.objects.filter(order=order, metric__in=("progress", "progress_first"), status=ClockStatus.RUNNING).exists()
    assert list(Clock.objects.filter(order=order, metric="progress").order_by("round").values_list("status", flat=True)) == [
        ClockStatus.BREACHED, ClockStatus.MET]


@pytest.mark.rule("D3.6c")
def test_an_early_progress_report_does_not_bring_the_next_one_forward(world, frozen):
    order, st = on_site(world, frozen)
    frozen.advance(hours=1)
    act(order, "progress", st, note="正在查找故障点")
    chain = clock(order, "progress")
    assert chain.due_at == clock(order, "progress_first").due_at  # 4 h after arrival, not 3 h
    frozen.advance(hours=2, minutes=30)
    act(order, "resolve", st)  # a repair of 3.5 h owed no second report
    assert clock(order, "progress").status == ClockStatus.MET


@pytest.mark.rule("D3.6c")
def test_a_short_repair_owes_no_progress_report(world, frozen):
    order, st = on_site(world, frozen)
    frozen.advance(hours=3)
    act(order, "resolve", st)
    assert clock(order, "progress_first").status == ClockStatus.MET
    assert clock(order, "progress") is None


def test_progress_before_arrival_starts_no_chain(world, frozen):
    order = repair(world)
    st = world.station_users[0]
    act(order, "receive", st)
    act(order, "progress", st, note="已出发")
    assert clock(order, "progress") is None


# --- §4 complaints and reports ----------------------------------------------------------

def complaint(world, **kw):
    data = dict(business_type="complaint", sub_class="service", description="营业厅工作人员态度恶劣",
                customer_id=world.customers["li"].id)
    data.update(kw)
    return create(world, **data)


@pytest.mark.rule("D4a")
def test_complaint_to_the_responsible_department_report_to_discipline_at_once(world, frozen):
    c = complaint(world)
    assert c.state == State.DISPATCHED and c.assigned_unit == world.marketing and c.dispatched_at == c.created_at
    conduct = complaint(world, sub_class="conduct", description="抄表员索要好处")
    assert conduct.assigned_unit == world.discipline
    r = create(world, business_type="report", sub_class="theft", description="隔壁私拉电线窃电", caller_phone="13700001234")
    assert r.assigned_unit == world.discipline and r.state == State.DISPATCHED


@pytest.mark.rule("D4b")
def test_reply_within_five_days_for_complaints_ten_for_reports(world, frozen):
    c = complaint(world)
    assert clock(c, "reply").due_at - c.created_at == dt.timedelta(days=5)
    r = create(world, business_type="report", sub_class="theft", description="窃电", caller_phone="13700001235")
    assert clock(r, "reply").due_at - r.created_at == dt.timedelta(days=10)


@pytest.mark.rule("D4c")
def test_agent_tracks_the_whole_process_on_their_own_list(world, frozen):
    c = complaint(world)
    assert c.owner == world.agent and c in selectors.my_orders(world.agent)
    frozen.advance(days=5, seconds=1)
    sweep_until_idle()
    board = selectors.shift_leader_board(world.leader)
    assert any(n.order.number == c.number and n.metric == "reply" for n in board["notices"])


@pytest.mark.rule("D4e")
def test_a_department_returns_only_with_a_reason(world, frozen):
    c = complaint(world)
    with pytest.raises(OrderError) as err:
        act(c, "return", world.marketing_user)
    assert err.value.field == "reason"
    act(c, "return", world.marketing_user, reason="属于计量中心职责")
    assert c.events.get(kind="return").payload["reason"] == "属于计量中心职责"


@pytest.mark.rule("D4f")
def test_each_return_is_counted_per_department(world, frozen):
    a = complaint(world)
    act(a, "return", world.marketing_user, reason="不属本部门")
    act(a, "redispatch", world.agent, unit_id=world.metering.id)
    act(a, "return", services_user(world, world.metering), reason="仍不属本部门")
    b = complaint(world, customer_id=world.customers["wang"].id)
    act(b, "return", world.marketing_user, reason="信息不全")
    counts = selectors.returns_by_unit()
    assert counts[world.marketing.id] == 2 and counts[world.metering.id] == 1
    a.refresh_from_db()
    assert a.return_count == 2


def services_user(world, unit):
    return org.create_user(username=f"u-{unit.code}", password="x-pw-12345", role="unit_staff", unit=unit)


# --- chase-ups, callbacks "if wanted", reopen ----------------------------------------------

@pytest.mark.rule("D1h")
def test_chase_ups_at_least_five_minutes_apart_per_customer_across_orders(world, frozen):
    first = repair(world)
    second = complaint(world, customer_id=world.customers["zhang"].id)
    services.chase_up(order=first.number, actor=world.agent, note="还没来人")
    frozen.advance(minutes=4, seconds=59)
    with pytest.raises(TransitionError):  # another order, same customer
        services.chase_up(order=second.number, actor=world.agent2, note="投诉怎么样了")
    frozen.advance(seconds=1)
    services.chase_up(order=second.number, actor=world.agent2, note="投诉怎么样了")
    # Another customer is not held up by this one.
    other = complaint(world)
    services.chase_up(order=other.number, actor=world.agent, note="进度？")


@pytest.mark.rule("D1h")
def test_chase_ups_by_phone_when_no_customer_record(world, frozen):
    a = repair(world, customer_id=None, caller_phone="13900000001", address="城关镇南街社区")
    b = complaint(world, customer_id=None, caller_phone="13900000001")
    services.chase_up(order=a.number, actor=world.agent, note="催一下")
    with pytest.raises(TransitionError):
        services.chase_up(order=b.number, actor=world.agent, note="也催一下")


@pytest.mark.rule("D1h")
def test_at_most_two_chase_ups_per_non_repair_order_none_for_repairs(world, frozen):
    c = complaint(world)
    for _ in range(2):
        services.chase_up(order=c.number, actor=world.agent, note="催办")
        frozen.advance(minutes=5)
    with pytest.raises(TransitionError):
        services.chase_up(order=c.number, actor=world.agent, note="第三次")
    r = repair(world)
    for _ in range(3):
        services.chase_up(order=r.number, actor=world.agent, note="抢修催办")
        frozen.advance(minutes=5)
    assert WorkOrder.objects.filter(chased_order=r).count() == 3


def finish(order, unit_user, center_user):
    for action in ("receive", "reply"):
        act(order, action, unit_user)
    act(order, "review", center_user)


@pytest.mark.rule("D1c", "D1d")
def test_no_callback_clock_when_the_caller_wants_none_for_if_wanted_types(world, frozen):
    wanted = complaint(world, business_type="opinion", sub_class="billing", description="电费通知太晚")
    unwanted = complaint(world, business_type="opinion", sub_class="billing", description="电费通知太晚", reply_wanted=False)
    for order in (wanted, unwanted):
        finish(order, world.marketing_user, world.agent)
    assert clock(wanted, "callback").status == ClockStatus.RUNNING
    assert clock(unwanted, "callback") is None
    act(unwanted, "close", world.agent)


@pytest.mark.rule("D1b")
def test_always_types_get_a_callback_clock_whatever_the_caller_said(world, frozen):
    c = complaint(world, business_type="praise", sub_class="service", description="抢修师傅很负责", reply_wanted=False)
    finish(c, world.marketing_user, world.agent)
    assert clock(c, "callback").status == ClockStatus.RUNNING


@pytest.mark.rule("D2a")
def test_reopen_clears_closed_at_and_restarts_the_clocks_its_state_needs(world, frozen):
    c = complaint(world)
    finish(c, world.marketing_user, world.agent)
    act(c, "callback", world.agent, outcome="dissatisfied", note="客户不满意处理结果")
    act(c, "close", world.agent)
    c.refresh_from_db()
    assert c.closed_at is not None
    frozen.advance(hours=1)
    act(c, "reopen", world.leader, reason="回访不满意，重新处理")
    c.refresh_from_db()
    assert c.state == State.RECEIVED and c.closed_at is None and c.reopened_at == frozen()
    reply = clock(c, "reply")
    assert reply.round == 1 and reply.status == ClockStatus.RUNNING and reply.started_at == frozen()
    assert clock(c, "dispatch").round == 0  # not needed again
    act(c, "reply", world.marketing_user)
    act(c, "review", world.agent)
    callback = clock(c, "callback")
    assert callback.round == 1 and callback.status == ClockStatus.RUNNING


@pytest.mark.rule("N4b", "D3.4d")
def test_intake_uses_only_customers_and_masters_within_the_agents_scope(world, frozen):
    from hotline.testing import build_world

    other = build_world(prefix="o")
    foreign = repair(other, actor=other.agent, customer_id=other.customers["zhang"].id)
    with pytest.raises(OrderError) as err:
        repair(world, customer_id=other.customers["zhang"].id)
    assert err.value.field == "customer_id"
    with pytest.raises(OrderError) as err:
        repair(world, customer_id=None, caller_phone="13600001234", service_area_id=world.areas["t0"].id,
               merge_into=foreign.number)
    assert err.value.field == "merge_into"
    mine = repair(world, dispatch=False)
    with pytest.raises(OrderError):
        act(mine, "merge", world.agent, master=foreign.number)
