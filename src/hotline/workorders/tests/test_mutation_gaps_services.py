"""Rules of the work-order service (workorders/services.py) that mutation
testing (scripts/mutation) showed no test checked: who may raise reminders
and escalations and what a refusal says, what an unmerge records and which
limits run again after it, what a reopen runs again, the merge action's refusals and records,
and the accept limit a return must keep."""

import datetime as dt

import pytest

from hotline.testing import build_world
from hotline.timelimits.models import Clock, ClockStatus, Notice, NoticeKind
from hotline.workorders import services
from hotline.workorders.errors import NotAllowed, OrderError, TransitionError
from hotline.workorders.models import State
from hotline.workorders.tests.test_rules_repair import act, clock, repair

pytestmark = pytest.mark.django_db


def clocks_of(order, metric):
    return list(Clock.objects.filter(order=order, metric=metric).order_by("round").values_list("round", "status"))


def refusal(exc_type, fn, **kw):
    with pytest.raises(exc_type) as err:
        fn(**kw)
    return err.value


# --- D5d, D5c: reminders and escalations ------------------------------------------------------

@pytest.mark.rule("D5d", "N1g")
def test_a_reminder_is_raised_by_center_staff_or_an_administrator_with_a_text(world, frozen):
    order = repair(world)
    err = refusal(OrderError, services.remind, order=order.number, actor=world.agent, text="  ")
    assert (err.field, err.message) == ("text", "请写明催办内容")
    err = refusal(NotAllowed, services.remind, order=order.number, actor=world.station_users[0], text="请尽快")
    assert str(err) == "只有座席员和值长可以催办"
    assert not Notice.objects.filter(order=order).exists()
    notice = services.remind(order=order.number, actor=world.admin, text="管理员催办")
    assert (notice.kind, notice.created_by, notice.message) == (NoticeKind.MANUAL, world.admin, "管理员催办")


@pytest.mark.rule("D5c", "D5d", "N1g")
def test_only_a_shift_leader_escalates_an_open_order_with_a_text(world, frozen):
    order = repair(world)
    err = refusal(OrderError, services.escalate, order=order.number, actor=world.leader, text="")
    assert (err.field, err.message) == ("text", "请写明需上级督办的事项")
    err = refusal(NotAllowed, services.escalate, order=order.number, actor=world.agent, text="请督促")
    assert str(err) == "只有值长可以执行此操作"
    assert not Notice.objects.filter(order=order).exists()
    notice = services.escalate(order=order.number, actor=world.director, text="请县公司督促")
    assert (notice.created_by, notice.level, notice.unit) == (world.director, 1, world.county)
    act(order, "cancel", world.agent, reason="客户来电取消")
    err = refusal(TransitionError, services.escalate, order=order.number, actor=world.leader, text="请督促")
    assert str(err) == "已归档、已合并或已取消的工单无需催办"
    err = refusal(TransitionError, services.remind, order=order.number, actor=world.leader, text="请督促")
    assert str(err) == "已归档、已合并或已取消的工单无需催办"


# --- D3.4d, D2d: unmerge -----------------------------------------------------------------------

@pytest.mark.rule("D3.4d", "D2d", "D2g")
def test_an_unmerged_order_records_both_sides_and_runs_its_unit_limits_again_when_dispatched(world, frozen):
    master = repair(world)
    frozen.advance(minutes=1)
    order = repair(world, customer_id=None, caller_phone="13600009999", service_area_id=world.areas["t0"].id)
    assert clocks_of(order, "accept") == [(0, ClockStatus.RUNNING)]
    act(order, "merge", world.agent, master=master.number)
    assert not Clock.objects.filter(order=order, status=ClockStatus.RUNNING).exists()
    frozen.advance(minutes=10)
    act(order, "unmerge", world.leader, reason="不是同一故障点")
    event = order.events.get(kind="unmerge")
    assert event.payload == {"master": master.number, "reason": "不是同一故障点"}
    back = master.events.get(kind="sub_unmerged")
    assert (back.actor, back.at, back.payload) == (world.leader, frozen(), {"sub": order.number, "reason": "不是同一故障点"})
    order.refresh_from_db()
    assert (order.state, order.reopened_at, order.closed_at) == (State.ACCEPTED, frozen(), None)
    frozen.advance(minutes=1)
    act(order, "dispatch", world.agent)
    # Dispatched again: the unit's limits run again from now (the merge had stopped them).
    for metric in ("accept", "arrival"):
        assert [r for r, _ in clocks_of(order, metric)] == [0, 1]
        assert (clock(order, metric).status, clock(order, metric).started_at) == (ClockStatus.RUNNING, frozen())


# --- D6g: what a reopen runs again -------------------------------------------------------------

@pytest.mark.rule("D6g", "D2g", "D3.3a")
def test_a_reopened_repair_runs_its_arrival_and_restoration_again_not_its_dispatch_or_accept(world, frozen):
    order = repair(world)
    st = world.station_users[0]
    for action in ("receive", "arrive", "resolve", "reply"):
        act(order, action, st)
    act(order, "review", world.agent)
    act(order, "callback", world.agent, outcome="dissatisfied", note="客户说仍然停电")
    frozen.advance(hours=1)
    act(order, "reopen", world.leader, reason="回访不满意，重新抢修")
    running = set(Clock.objects.filter(order=order, status=ClockStatus.RUNNING).values_list("metric", "round"))
    # The unit holds the order again (received): a return or a merge could
    # still stop the dispatch and accept limits, but neither is due again.
    assert running == {("arrival", 1), ("restoration", 1)}
    assert clocks_of(order, "accept") == [(0, ClockStatus.MET)] and clocks_of(order, "dispatch") == [(0, ClockStatus.MET)]


# --- D3.4b, D3.4d: the merge action on an order already recorded ----------------------------------

def t0_repair(world, phone, **kw):
    return repair(world, customer_id=None, caller_phone=phone, service_area_id=world.areas["t0"].id, **kw)


@pytest.mark.rule("D3.4b", "D3.4d", "N1g")
def test_the_merge_action_takes_only_the_first_accepted_open_repair_of_the_same_fault_point(world, frozen):
    from hotline.workorders.tests.test_rules_repair import complaint

    master = repair(world)
    cancelled = repair(world, customer_id=world.customers["zhang"].id, dispatch=False)
    act(cancelled, "cancel", world.agent, reason="误报")
    elsewhere = repair(world, customer_id=world.customers["li"].id, dispatch=False)  # another village
    other_type = complaint(world, customer_id=world.customers["zhang"].id)
    frozen.advance(minutes=1)
    sub = t0_repair(world, "13600001111", merge_into=master.number)
    order = t0_repair(world, "13600001112", dispatch=False)
    frozen.advance(minutes=1)
    later = t0_repair(world, "13600001113", dispatch=False)
    refused = [
        ("", "工单不存在"),
        ("GZ000000000", "工单不存在"),
        (order.number, "只能并入主工单，不能并入自身或子工单"),
        (sub.number, "只能并入主工单，不能并入自身或子工单"),
        (other_type.number, "只有故障报修可以合并，且只能并入故障报修"),
        (cancelled.number, "主工单已归档"),
        (later.number, "最先受理的报修为主单：请把后来的报修合并到它"),
        (elsewhere.number, f"{elsewhere.number} 不是同一故障点"),
    ]
    for number, message in refused:
        with pytest.raises(OrderError) as err:
            act(order, "merge", world.agent, master=number)
        assert (number, err.value.field, err.value.message) == (number, "master", message)
    order.refresh_from_db()
    assert (order.state, order.master) == (State.ACCEPTED, None)


@pytest.mark.rule("D3.4b", "D3.4e", "D2d")
def test_a_merge_and_a_remerge_are_recorded_on_every_order_they_touch(world, frozen):
    oldest = repair(world)
    frozen.advance(minutes=1)
    middle = t0_repair(world, "13600002221", dispatch=False)
    sub = t0_repair(world, "13600002222", merge_into=middle.number)
    frozen.advance(minutes=2)
    act(middle, "merge", world.leader, master=oldest.number)
    merge = middle.events.get(kind="merge")
    assert (merge.actor, merge.at, merge.payload) == (world.leader, frozen(), {"master": oldest.number})
    merged_in = oldest.events.get(kind="merged_in")
    assert (merged_in.actor, merged_in.at, merged_in.payload) == (world.leader, frozen(), {"sub": middle.number})
    remerge = sub.events.get(kind="remerge")
    assert (remerge.actor, remerge.at, remerge.payload) == (
        world.leader, frozen(), {"master": oldest.number, "previous_master": middle.number})
    # An intake that merges at once records the master's side once, with the sub's number.
    late = t0_repair(world, "13600002223", merge_into=oldest.number)
    assert list(oldest.events.filter(kind="merged_in").values_list("payload__sub", flat=True)) == [middle.number, late.number]
    assert middle.events.filter(kind="merged_in").values_list("payload__sub", flat=True).get() == sub.number


# --- D3.5a: the accept limit a return must keep ---------------------------------------------------

@pytest.mark.rule("D3.5a")
def test_the_accept_limit_of_a_return_runs_from_the_dispatch_not_from_the_receipt(world, frozen):
    order = repair(world)
    st = world.station_users[0]
    frozen.advance(minutes=2)
    act(order, "receive", st)  # the latest event, but the limit runs from the dispatch
    frozen.advance(minutes=1, seconds=1)
    with pytest.raises(TransitionError) as err:
        act(order, "return", st, reason="outside_area")
    assert str(err.value) == "接单时限已过（09:03:00），不能再退单"


@pytest.mark.rule("D3.5a", "D4f", "N1g")
def test_a_repair_returned_at_the_very_end_of_its_accept_limit_names_its_unit_and_a_wrong_reason_is_refused(world, frozen):
    order = repair(world)
    st = world.station_users[0]
    with pytest.raises(OrderError) as err:
        act(order, "return", st, reason="人手不够")
    assert (err.value.field, err.value.message) == ("reason", "故障报修只能以“非本单位管辖范围”或“关键信息缺失”退单")
    frozen.advance(minutes=3)  # exactly the limit: still within it
    act(order, "return", st, reason="missing_information")
    event = order.events.get(kind="return")
    assert event.payload == {"reason": "missing_information", "unit_id": world.stations[0].id, "unit": world.stations[0].name}


# --- D6e, D6f: a callback's outcome and the customer's words --------------------------------------

@pytest.mark.rule("D6e", "D6f", "N1g")
def test_a_callback_needs_one_of_the_outcomes_and_the_customers_words(world, frozen):
    order = repair(world)
    st = world.station_users[0]
    for action in ("receive", "arrive", "resolve", "reply"):
        act(order, action, st)
    act(order, "review", world.agent)
    for payload, field, message in [
        ({"note": "客户说满意"}, "outcome", "请选择回访结果：满意、基本满意、不满意、联系不上、不予评价"),
        ({"outcome": "happy", "note": "客户说满意"}, "outcome", "请选择回访结果：满意、基本满意、不满意、联系不上、不予评价"),
        ({"outcome": "satisfied", "note": "  "}, "note", "请记录客户原话"),
    ]:
        with pytest.raises(OrderError) as err:
            act(order, "callback", world.agent, **payload)
        assert (err.value.field, err.value.message) == (field, message)
    act(order, "callback", world.agent, outcome="basically_satisfied", note="客户说：基本满意")
    assert order.events.get(kind="callback").payload == {"note": "客户说：基本满意", "outcome": "basically_satisfied"}


# --- D3.4c: what a master passes on goes to its own sub-orders only ---------------------------------

@pytest.mark.rule("D3.4c")
def test_a_masters_restoration_reply_and_close_reach_its_own_sub_orders_only(world, frozen):
    master = repair(world)
    other_master = repair(world, customer_id=world.customers["li"].id)
    frozen.advance(minutes=1)
    sub = t0_repair(world, "13600003331", merge_into=master.number)
    other_sub = repair(world, customer_id=None, caller_phone="13600003332", service_area_id=other_master.service_area_id,
                       merge_into=other_master.number)
    st = world.station_users[0]
    for action in ("receive", "arrive", "resolve", "reply"):
        act(master, action, st)
    assert {e.kind for e in sub.events.all()} >= {"restoration", "master_reply"}
    assert not other_sub.events.filter(kind__in=("restoration", "master_reply")).exists()
    assert clocks_of(sub, "callback") == [(0, ClockStatus.RUNNING)] and clocks_of(other_sub, "callback") == []


@pytest.mark.rule("D3.4c")
def test_the_restoration_text_tells_the_time_of_the_resolve_and_a_cancel_sends_none(world, frozen, settings):
    from hotline.core.models import OutboxMessage

    settings.HOTLINE_OUTBOX_ENV = {"HOTLINE_RESTORATION_CHANNEL": "file"}
    cancelled = repair(world)
    t0_repair(world, "13900004441", merge_into=cancelled.number)
    act(cancelled, "cancel", world.agent, reason="误报")
    assert not OutboxMessage.objects.filter(source__endswith=":restoration").exists()
    area = world.customers["li"].service_area_id  # another fault point, another station
    master = repair(world, customer_id=None, caller_phone="13900004443", service_area_id=area)
    sub = repair(world, customer_id=None, caller_phone="13900004442", service_area_id=area, merge_into=master.number)
    st = world.station_users[1]
    act(master, "receive", st)
    act(master, "arrive", st)
    frozen.advance(hours=1, minutes=30)
    act(master, "resolve", st)
    texts = {m.payload["order"]: m.payload["text"] for m in OutboxMessage.objects.filter(source__endswith=":restoration")}
    assert set(texts) == {master.number, sub.number}
    assert all("11-17 10:30" in text for text in texts.values())


@pytest.mark.rule("D3.4c", "D2d")
def test_a_sub_order_is_told_what_the_master_found_on_its_reply_and_only_the_close_itself_on_its_close(world, frozen):
    master = repair(world)
    frozen.advance(minutes=1)
    sub = t0_repair(world, "13600004441", merge_into=master.number)
    st = world.station_users[0]
    for action in ("receive", "arrive", "resolve", "reply"):
        act(master, action, st)
    master.refresh_from_db()
    reply = sub.events.get(kind="master_reply")
    assert reply.payload["master"] == master.number and reply.payload["record"]
    act(master, "review", world.agent)
    act(master, "callback", world.agent, outcome="satisfied", note="客户说：满意")
    act(master, "close", world.agent)
    assert sub.events.get(kind="master_close").payload == {"master": master.number}
    sub.refresh_from_db()
    assert sub.handling_record == master.handling_record


@pytest.mark.rule("D3.4c", "D2d", "D6a")
def test_merged_callers_are_told_of_the_restoration_by_its_actor_and_owed_a_callback_from_the_reply(world, frozen):
    master = repair(world)
    frozen.advance(minutes=1)
    sub = t0_repair(world, "13600005551", merge_into=master.number)
    st = world.station_users[0]
    act(master, "receive", st)
    act(master, "arrive", st)
    frozen.advance(minutes=40)
    act(master, "resolve", st)
    restoration = sub.events.get(kind="restoration")
    assert (restoration.actor, restoration.at) == (st, frozen())
    assert clocks_of(sub, "callback") == []  # owed from the reply, not the restoration
    frozen.advance(minutes=10)
    act(master, "reply", st)
    assert (clock(sub, "callback").started_at, sub.events.get(kind="master_reply").at) == (frozen(), frozen())


@pytest.mark.rule("D3.4d", "D2c", "D2d")
def test_a_master_cancelled_after_a_rework_cancels_every_sub_order_and_stops_the_callbacks_they_were_owed(world, frozen):
    master = repair(world)
    frozen.advance(minutes=1)
    subs = [t0_repair(world, f"1360000666{i}", merge_into=master.number) for i in range(2)]
    st = world.station_users[0]
    for action in ("receive", "arrive", "resolve", "reply"):
        act(master, action, st)
    act(master, "rework", world.agent, reason="处理记录不全")
    frozen.advance(hours=1)
    act(master, "cancel", world.leader, reason="客户户内故障，非供电责任")
    for sub in subs:
        sub.refresh_from_db()
        event = sub.events.get(kind="master_cancel")
        assert (sub.state, event.actor, event.at, event.from_state, event.to_state) == (
            State.CANCELLED, world.leader, frozen(), State.MERGED, State.CANCELLED)
        callback = clock(sub, "callback")
        assert (callback.stopped_at, callback.stopped_by) == (frozen(), "cancel")


@pytest.mark.rule("D3.4c", "D3.4d")
def test_a_merged_order_offers_its_callback_and_unmerge_and_an_open_one_neither(world, frozen):
    master = repair(world)
    sub = t0_repair(world, "13600007771", merge_into=master.number)
    assert {t.action for t in services.allowed_actions(order=sub, user=world.agent)} == {"callback", "unmerge"}
    assert {t.action for t in services.allowed_actions(order=sub, user=world.station_users[0])} == set()
    offered = {t.action for t in services.allowed_actions(order=master, user=world.agent)}
    assert "unmerge" not in offered and "callback" not in offered and "merge" in offered


@pytest.mark.rule("D5d", "N4b", "N1g")
def test_a_reminder_of_another_centers_order_is_refused_saying_why(world, frozen):
    other = build_world(prefix="o")
    foreign = repair(other, actor=other.agent, customer_id=other.customers["zhang"].id)
    err = refusal(NotAllowed, services.remind, order=foreign.number, actor=world.agent, text="请尽快")
    assert str(err) == "该工单属于其他客服中心"
    assert not Notice.objects.filter(order=foreign).exists()


@pytest.mark.rule("D3.4d", "D0a")
def test_where_the_center_merges_by_village_the_merge_action_takes_another_transformer_area_of_it(world, frozen, settings):
    from hotline.workorders.tests.test_rules_repair import neighbour_area

    settings.HOTLINE = {**settings.HOTLINE, "MERGE_FAULT_POINT": "village"}
    master = repair(world)
    frozen.advance(minutes=1)
    other = repair(world, customer_id=None, caller_phone="13600008881", service_area_id=neighbour_area(world).id,
                   dispatch=False)
    act(other, "merge", world.agent, master=master.number)
    other.refresh_from_db()
    assert (other.state, other.master) == (State.MERGED, master)


# --- D2a: an action the order's life-cycle does not offer ---------------------------------------

@pytest.mark.rule("D2a", "N1g")
def test_an_action_outside_the_life_cycle_or_the_state_is_refused_saying_which(world, frozen):
    from hotline.catalog.lifecycle import ACTION_LABELS
    from hotline.workorders.tests.test_rules_repair import complaint

    order = complaint(world)
    with pytest.raises(OrderError) as err:
        act(order, "arrive", world.marketing_user)
    assert (err.value.field, err.value.message) == ("action", f"投诉工单没有“{ACTION_LABELS['arrive']}”操作")
    with pytest.raises(OrderError) as err:  # one no catalogue knows is named as asked
        act(order, "survey", world.marketing_user)
    assert (err.value.field, err.value.message) == ("action", "投诉工单没有“survey”操作")
    master = repair(world)
    sub = t0_repair(world, "13600009991", merge_into=master.number)
    with pytest.raises(TransitionError) as err:  # a merged order has its callback and unmerge only
        act(sub, "dispatch", world.agent)
    assert str(err.value) == f"工单当前状态为“已合并”，不能执行“{ACTION_LABELS['dispatch']}”"


@pytest.mark.rule("D3.4b")
def test_of_two_reports_accepted_in_the_same_instant_the_first_recorded_is_the_master(world, frozen):
    first = t0_repair(world, "13600001211", dispatch=False)
    second = t0_repair(world, "13600001212", dispatch=False)
    assert first.created_at == second.created_at
    with pytest.raises(OrderError) as err:
        act(first, "merge", world.agent, master=second.number)
    assert err.value.message == "最先受理的报修为主单：请把后来的报修合并到它"
    act(second, "merge", world.agent, master=first.number)


# --- D2d: other apps see every transition ------------------------------------------------------

@pytest.mark.rule("D2d")
def test_every_transition_is_published_with_its_order_action_actor_and_time(world, frozen):
    from hotline.core import dispatch

    seen = []

    def moved(**kw):
        seen.append((kw["order"].number, kw["order"].state, kw["action"], kw["actor"], kw["at"]))

    order = repair(world)
    frozen.advance(minutes=1)
    dispatch.subscribe("workorders.transition", moved)
    try:
        act(order, "receive", world.station_users[0])
    finally:
        dispatch.unsubscribe("workorders.transition", moved)
    assert seen == [(order.number, State.RECEIVED, "receive", world.station_users[0], frozen())]


# --- D1h: chase-ups --------------------------------------------------------------------------------

@pytest.mark.rule("D1h", "N4b", "N1g")
def test_a_chase_up_is_refused_saying_why_and_leaves_nothing_behind(world, frozen):
    from hotline.organisation import services as org
    from hotline.testing import PASSWORD, build_world
    from hotline.workorders.models import WorkOrder
    from hotline.workorders.tests.test_rules_repair import complaint

    order = complaint(world)
    foreign = repair(build_world(prefix="o"), customer_id=None, caller_phone="13700001234")
    no_unit = org.create_user(username="t-nounit", password=PASSWORD, role="agent", unit=None)
    cancelled = repair(world, customer_id=world.customers["wang"].id)
    act(cancelled, "cancel", world.agent, reason="客户来电取消")
    chase = services.chase_up(order=order.number, actor=world.agent, note="投诉进度如何")
    frozen.advance(minutes=3)
    refused = [
        (OrderError, {"order": order.number, "actor": world.agent, "note": "  "}, "请写明客户催办的事项"),
        (NotAllowed, {"order": order.number, "actor": world.marketing_user, "note": "催一下"}, "只有客服中心人员可以催办"),
        (NotAllowed, {"order": foreign.number, "actor": world.agent, "note": "催一下"}, "该工单属于其他客服中心"),
        (NotAllowed, {"order": foreign.number, "actor": no_unit, "note": "催一下"}, "您的账号未归属任何单位"),
        (TransitionError, {"order": cancelled.number, "actor": world.agent, "note": "催一下"}, "已归档、已合并或已撤销的工单不能催办"),
        (TransitionError, {"order": chase.number, "actor": world.agent, "note": "催一下"}, "请催办原工单，而不是催办单"),
        (TransitionError, {"order": order.number, "actor": world.agent2, "note": "再催"}, "同一客户两次催办须间隔5分钟，请120秒后再试"),
    ]
    for exc_type, kw, message in refused:
        err = refusal(exc_type, services.chase_up, **kw)
        assert (kw["order"], getattr(err, "message", None) or str(err)) == (kw["order"], message)
        assert getattr(err, "field", "note") == "note"  # the one field error: the note
    assert WorkOrder.objects.filter(business_type__code="chase_up").count() == 1


@pytest.mark.rule("D1h", "D2d")
def test_a_chase_up_carries_the_chased_orders_caller_and_place_and_goes_to_its_unit(world, frozen):
    order = repair(world, caller_name="张伟", caller_phone="13812345678")
    frozen.advance(minutes=10)
    chase = services.chase_up(order=order.number, actor=world.agent2, note="还没来人")
    chase.refresh_from_db()
    assert (chase.business_type.code, chase.state, chase.chased_order, chase.owner) == (
        "chase_up", State.DISPATCHED, order, world.agent2)
    assert (chase.customer, chase.caller_name, chase.caller_phone, chase.address, chase.service_area, chase.area_class,
            chase.channel) == (order.customer, "张伟", "13812345678", order.address, order.service_area, order.area_class,
                               order.channel)
    assert (chase.scope_unit, chase.scope_path, chase.assigned_unit) == (order.scope_unit, order.scope_path, world.stations[0])
    assert chase.lifecycle_version_id is not None and chase.description == "还没来人"
    assert chase.number.startswith("CB261117")  # the chase-up type's own numbers, of the day it was raised
    created, chased = chase.events.get(kind="create"), order.events.get(kind="chased")
    assert (created.actor, created.at, created.to_state, created.payload) == (
        world.agent2, frozen(), State.ACCEPTED, {"type": "chase_up", "chases": order.number})
    assert (chased.actor, chased.at, chased.payload) == (world.agent2, frozen(), {"chase_up": chase.number, "note": "还没来人"})
    assert clock(chase, "dispatch").status == ClockStatus.MET  # dispatched at once, within its 10 minutes


@pytest.mark.rule("D1h", "D11a")
def test_the_chasing_call_is_recorded_once_on_both_orders_with_the_callers_number_and_the_agent(world, frozen):
    from hotline.workorders.models import OrderContact

    order = repair(world, customer_id=None, caller_phone="13812345678", service_area_id=world.areas["t0"].id,
                   channel="web")
    chase = services.chase_up(order=order.number, actor=world.agent2, note="还没来人")
    links = OrderContact.objects.filter(order__in=[order, chase], kind__in=["origin", "chase"]).exclude(order=order, kind="origin")
    assert {(link.order_id, link.kind) for link in links} == {(chase.pk, "origin"), (order.pk, "chase")}
    assert chase.channel == "web"
    contact = links.first().contact
    assert {link.contact_id for link in links} == {contact.pk}
    assert (contact.caller_number, contact.agent, contact.channel, contact.started_at) == (
        "13812345678", world.agent2, "web", frozen())
    # An order that came by the API or from a partner is chased by a phone call to the center.
    for channel in ("api", "linkage"):
        extra = {"partner": "12345", "partner_reference": "R-9"} if channel == "linkage" else {}
        came = repair(world, customer_id=None, caller_phone="13812345000", service_area_id=world.areas["t0"].id,
                      channel=channel, **extra)
        chase = services.chase_up(order=came.number, actor=world.agent, note="还没来人")
        call = OrderContact.objects.get(order=chase, kind="origin").contact
        assert (call.channel, call.source, call.caller_number) == ("phone", "intake", "13812345000"), channel
        frozen.advance(minutes=6)  # the next chase-up of the same caller


@pytest.mark.rule("D1h")
def test_an_anonymous_callers_chase_up_waits_for_no_other_customer(world, frozen):
    known = repair(world)
    anonymous = repair(world, customer_id=None, caller_phone="", anonymous=True, service_area_id=world.areas["t0"].id)
    services.chase_up(order=known.number, actor=world.agent, note="还没来人")
    services.chase_up(order=anonymous.number, actor=world.agent2, note="匿名来电催办")


# --- D3.2b, D4a: routing at intake ---------------------------------------------------------------

def no_area_repair(w, **kw):
    return repair(w, customer_id=None, caller_phone="13700005555", address="查无此地", **kw)


@pytest.mark.rule("D3.2b", "N1g")
def test_an_address_no_area_serves_goes_to_its_own_countys_dispatch_desk_and_without_an_active_one_is_refused(world, frozen):
    from hotline.workorders.models import WorkOrder

    other = build_world(prefix="u")
    assert no_area_repair(world).assigned_unit == world.desk
    assert no_area_repair(other, actor=other.agent).assigned_unit == other.desk
    other.desk.active = False
    other.desk.save(update_fields=["active"])
    before = WorkOrder.objects.count()
    err = refusal(OrderError, no_area_repair, w=other, actor=other.agent)
    assert (err.field, err.message) == ("assigned_unit", "该地址没有对应的供电单位，且未配置县调度台")
    assert WorkOrder.objects.count() == before


def complaint_of(w, **kw):
    data = {"business_type": "complaint", "sub_class": "service", "description": "营业厅态度差", "customer_id": w.customers["li"].id}
    data.update(kw)
    return services.create_order(actor=w.agent, intake=services.Intake(**data))


@pytest.mark.rule("D4a", "D1j")
def test_a_complaint_goes_to_the_nearest_active_department_of_its_function_in_its_own_county(world, frozen):
    from hotline.organisation import services as org
    other = build_world(prefix="u")
    assert complaint_of(world).assigned_unit == world.marketing
    assert complaint_of(other).assigned_unit == other.marketing
    # A unit that is no department takes nothing by function, even under the center.
    org.create_unit(name="营销班", code="t-mkt-crew", kind="crew", parent=world.center, function="marketing")
    assert complaint_of(world).assigned_unit == world.marketing
    # An inactive department neither: the next one up serves.
    other.marketing.active = False
    other.marketing.save(update_fields=["active"])
    city_marketing = org.create_unit(name="市营销部", code="u-city-mkt", kind="department", parent=other.city,
                                     function="marketing")
    assert complaint_of(other).assigned_unit == city_marketing


@pytest.mark.rule("D1j", "D4a")
def test_a_type_without_sub_classes_goes_to_the_department_of_the_types_function(world, frozen):
    from hotline.catalog import services as catalog_services
    from hotline.catalog.lifecycle import standard_lifecycle
    from hotline.catalog.models import BusinessType

    bt = BusinessType(code="meter_check", name="表计核查", number_prefix="BJ", routing="function", routing_function="metering",
                      callback="never", lifecycle=standard_lifecycle(on_site=False, callback="never"))
    catalog_services.save_business_type(business_type=bt, user=world.admin)
    order = services.create_order(actor=world.agent, intake=services.Intake(
        business_type="meter_check", description="电表走字快", customer_id=world.customers["zhang"].id))
    assert (order.sub_class, order.assigned_unit) == (None, world.metering)


# --- D3.1a: what intake records ------------------------------------------------------------------

@pytest.mark.rule("D3.1a")
def test_intake_records_the_callers_extension_and_an_anonymous_call(world, frozen):
    order = repair(world, customer_id=None, caller_phone="0571-87654321-123", service_area_id=world.areas["t0"].id)
    order.refresh_from_db()
    assert (order.caller_phone, order.caller_phone_ext, order.anonymous) == ("057187654321", "123", False)
    anonymous = repair(world, customer_id=None, anonymous=True, service_area_id=world.areas["t0"].id)
    anonymous.refresh_from_db()
    assert (anonymous.anonymous, anonymous.caller_phone, anonymous.caller_phone_ext) == (True, "", "")


@pytest.mark.rule("D3.1a", "N4b")
def test_checking_an_intake_reads_the_customer_as_the_agent_may_see_it(world, frozen):
    other = build_world(prefix="u")
    intake = services.Intake(business_type="repair", sub_class="lv", description="停电", fault_scope="company",
                             customer_id=world.customers["zhang"].id)
    assert services.check_intake(actor=world.agent, intake=intake) is None
    err = refusal(OrderError, services.check_intake, actor=other.agent, intake=intake)
    assert (err.field, err.message) == ("customer_id", "客户不存在")


# --- D3.1a, D1j, N1g: every intake refusal ----------------------------------------------------------

def intake_errors(world, **kw):
    data = {"business_type": "repair", "sub_class": "lv", "description": "停电", "fault_scope": "company",
                "customer_id": world.customers["zhang"].id}
    data.update(kw)
    try:
        services.check_intake(actor=world.agent, intake=services.Intake(**data))
    except OrderError as err:
        return [(e.field, e.message) for e in err.errors]
    return []


@pytest.mark.rule("D3.1a", "D1j", "N1g")
def test_each_intake_refusal_names_its_field_and_says_why_in_chinese(world, frozen):
    cases = [
        ({"business_type": ""}, ("business_type", "请选择业务类型")),
        ({"business_type": "nosuch"}, ("business_type", "业务类型“nosuch”不存在")),
        ({"business_type": "nosuch", "priority": "urgent"}, ("business_type", "业务类型“nosuch”不存在")),
        ({"business_type": "chase_up", "sub_class": "", "fault_scope": ""}, ("business_type", "催办单须从被催办的工单发起")),
        ({"sub_class": "zz"}, ("sub_class", "“zz”不是故障报修的业务子类，请重新选择")),
        ({"sub_class": ""}, ("sub_class", "请选择业务子类")),
        ({"business_type": "opinion", "sub_class": "metering", "fault_scope": "", "priority": "urgent"},
         ("priority", "该业务类型不设紧急程度")),
        ({"priority": "soon"}, ("priority", "请从以下选项中选择：urgent, normal")),
        ({"description": " \n "}, ("description", "请描述来电诉求")),
        ({"description": "停" * 4001}, ("description", "不能超过4000个字符")),
        ({"customer_id": -1}, ("customer_id", "客户不存在")),
        ({"caller_phone": "12345abc"}, ("caller_phone", "电话号码只能包含数字（以及 - + 空格或括号）：12345abc")),
        ({"service_area_id": -1}, ("service_area_id", "供电区域不存在")),
        ({"fault_scope": "bogus"}, ("fault_scope", "请从以下选项中选择：company, customer_internal, planned_outage, arrears")),
        ({"fault_scope": ""}, ("fault_scope", "请选择故障报修的故障范围")),
        ({"business_type": "opinion", "sub_class": "metering"}, ("fault_scope", "只有故障报修才有故障范围")),
        ({"customer_id": None}, ("caller_phone", "请填写来电号码或选择客户")),
    ]
    for kw, expected in cases:
        assert intake_errors(world, **kw) == [expected], kw
    # Within the limits, and with a known phone, area or priority, nothing is wrong.
    assert intake_errors(world, description="停" * 4000, priority="urgent", caller_phone="13812345678",
                         service_area_id=world.areas["t0"].id) == []
    assert intake_errors(world, customer_id=None, anonymous=True) == []
    # Every problem at once, the first one the error's own.
    assert intake_errors(world, sub_class="zz", priority="soon", description="", customer_id=-1, fault_scope="") == [
        ("sub_class", "“zz”不是故障报修的业务子类，请重新选择"), ("priority", "请从以下选项中选择：urgent, normal"),
        ("description", "请描述来电诉求"), ("customer_id", "客户不存在"), ("fault_scope", "请选择故障报修的故障范围")]


@pytest.mark.rule("D3.2b", "D3.1c", "D3.1d", "N1g")
def test_the_desk_fallback_is_asked_only_of_an_order_the_address_would_route(world, frozen):
    from hotline.catalog import services as catalog_services
    from hotline.catalog.lifecycle import standard_lifecycle
    from hotline.catalog.models import BusinessType, SubClass

    asked = [("desk_fallback", "地址未匹配到供电区域：请更正地址、选择供电区域，或确认派往县调度台")]
    no_area = {"customer_id": None, "caller_phone": "13700005555", "address": "查无此地", "desk_fallback": False}
    assert intake_errors(world, **no_area) == asked
    assert intake_errors(world, **{**no_area, "desk_fallback": True}) == []
    assert intake_errors(world, **{**no_area, "desk_fallback": None}) == []
    assert intake_errors(world, **no_area, service_area_id=world.areas["t0"].id) == []
    assert intake_errors(world, **{**no_area, "address": "城关镇南街社区12号"}) == []  # the address finds an area
    assert intake_errors(world, **no_area, dispatch=False) == []
    assert intake_errors(world, **no_area, assigned_unit_id=world.stations[1].id) == []
    assert intake_errors(world, **no_area, merge_into="GZ26111700001") == []
    assert intake_errors(world, **no_area, sub_class="customer_internal", fault_scope="customer_internal") == []
    assert intake_errors(world, **no_area, sub_class="customer_internal", fault_scope="customer_internal",
                         paid_service=True) == asked
    assert intake_errors(world, **no_area, fault_scope="planned_outage") == []
    assert intake_errors(world, **no_area, business_type="complaint", sub_class="service", fault_scope="") == []
    # A sub-class of its own department goes there, wherever the caller is.
    repair_type = BusinessType.objects.get(code="repair")
    catalog_services.save_sub_class(sub_class=SubClass(business_type=repair_type, code="meter_box", name="表箱故障",
                                                       routing_function="metering"), user=world.admin)
    assert intake_errors(world, **no_area, sub_class="meter_box") == []
    # Any other type routed by address is asked too.
    bt = BusinessType(code="line_check", name="线路巡查", number_prefix="XC", routing="area", callback="never",
                      lifecycle=standard_lifecycle(on_site=True, callback="never"))
    catalog_services.save_business_type(business_type=bt, user=world.admin)
    assert intake_errors(world, **no_area, business_type="line_check", sub_class="", fault_scope="") == asked


# --- D3.1a, D4d, D1n: what the order row keeps -----------------------------------------------------

@pytest.mark.rule("D3.1a")
def test_intake_cuts_name_and_address_to_their_fields_and_leaves_unknown_ones_empty(world, frozen):
    order = repair(world, customer_id=None, caller_phone="13700005555", caller_name="  " + "张" * 120 + " ",
                   address="南" * 320, service_area_id=world.areas["t0"].id)
    order.refresh_from_db()
    assert (order.caller_name, order.address) == ("张" * 100, "南" * 300)
    nowhere = repair(world, customer_id=None, caller_phone="13700005555", desk_fallback=None)
    nowhere.refresh_from_db()
    assert (nowhere.address, nowhere.service_area, nowhere.area_class, nowhere.assigned_unit) == ("", None, "", world.desk)


@pytest.mark.rule("D1n", "D3.1d")
def test_only_a_repair_keeps_a_fault_scope_and_a_reclassified_order_no_priority(world, frozen):
    from hotline.workorders.tests.test_rules_repair import complaint

    inquiry = repair(world, fault_scope="planned_outage", priority="urgent")
    opinion = complaint(world, priority="major", anonymous=True)
    kept = complaint(world, priority="major")
    for order in (inquiry, opinion, kept):
        order.refresh_from_db()
    assert (inquiry.business_type.code, inquiry.fault_scope, inquiry.priority) == ("inquiry", "", "")
    assert (opinion.business_type.code, opinion.fault_scope, opinion.priority) == ("opinion", "", "")
    assert (kept.business_type.code, kept.fault_scope, kept.priority) == ("complaint", "", "major")
    assert inquiry.events.get(kind="create").payload["fault_scope"] == "planned_outage"  # the agent's choice, in the history
    # Answered on the call: closed at once, at the intake's time.
    answered = inquiry.events.get(kind="answer")
    assert (inquiry.state, inquiry.closed_at, answered.at, answered.to_state) == (State.CLOSED, frozen(), frozen(), State.CLOSED)


@pytest.mark.rule("D4d")
def test_a_reports_identity_is_kept_apart_whole_and_cut_to_its_fields(world, frozen):
    from hotline.workorders.models import ReporterIdentity

    def report(**kw):
        order = services.create_order(actor=world.agent, intake=services.Intake(
            business_type="report", sub_class="theft", description="有人窃电", **kw))
        order.refresh_from_db()
        return order, ReporterIdentity.objects.get(order=order)

    order, who = report(caller_name="王" * 120, caller_phone="0571-87654321-123")
    assert (order.caller_name, order.caller_phone, order.caller_phone_ext) == ("", "", "")
    assert (who.name, who.phone, who.id_number) == ("王" * 100, "057187654321", "")
    order, who = report(caller_phone="13700005555", reporter={"name": "匿" * 120, "phone": "1" * 30, "id_number": "3" * 40})
    assert (who.name, who.phone, who.id_number) == ("匿" * 100, "1" * 20, "3" * 30)


# --- D2d, D1k, D1n, D3.1d, D3.4e: the create event ---------------------------------------------------

def created(order):
    event = order.events.get(kind="create")
    payload = dict(event.payload)
    check = payload.pop("intake_check", None)
    return event, payload, check


@pytest.mark.rule("D2d", "D1k", "D1n", "D3.1d", "D3.4e")
def test_the_create_event_says_what_was_recorded_why_and_what_the_agent_decided(world, frozen):
    from hotline.workorders.tests.test_rules_repair import complaint

    linkage = complaint(world, channel="linkage", partner="12345", partner_reference="R-1")
    event, payload, check = created(linkage)
    assert (event.actor, event.at, event.from_state, event.to_state, event.seq) == (world.agent, frozen(), "", "accepted", 1)
    assert (payload, check) == ({"type": "complaint", "channel": "linkage", "partner": "12345", "partner_reference": "R-1"}, None)
    _, payload, check = created(complaint(world, anonymous=True))
    assert (payload, check) == ({"type": "opinion", "channel": "phone", "recorded_as": "opinion", "requested_type": "complaint",
                                 "reason": "匿名、不需回复或虚拟号码的投诉按意见记录，不按投诉派发"}, None)
    _, payload, check = created(repair(world, fault_scope="planned_outage"))
    assert payload == {"type": "inquiry", "channel": "phone", "recorded_as": "inquiry", "requested_type": "repair",
                       "reason": "计划停电、已发布的停电或欠费停电：按咨询处理，已告知原因和恢复送电时间",
                       "fault_scope": "planned_outage", "intake_decision": "none"}
    assert (check["proposal"], check["reasons"]) == ("", [])
    _, payload, _check = created(repair(world, fault_scope="customer_internal"))
    assert (payload["recorded_as"], payload["reason"]) == ("inquiry", "客户内部故障：已指导客户处理，客户未要求有偿服务")
    from hotline.organisation.models import SpecialMark

    marked = world.customers["wang"]
    marked.special_mark = SpecialMark.MALICIOUS
    marked.save(update_fields=["special_mark"])
    _, payload, _check = created(complaint(world, customer_id=marked.id))
    assert (payload["recorded_as"], payload["reason"]) == ("opinion", "来电客户有特殊客户标记：投诉按意见记录")
    first = repair(world)
    _, payload, check = created(first)
    assert payload == {"type": "repair", "channel": "phone", "fault_scope": "company", "intake_decision": "none"}
    assert check is not None
    second = repair(world, customer_id=None, caller_phone="13700001111", service_area_id=world.areas["t0"].id)
    _, payload, _check = created(second)
    assert ([s["number"] for s in payload["duplicate_suggestions"]], payload["duplicate_decision"]) == ([first.number], "separate")
    merged = repair(world, customer_id=None, caller_phone="13700001112", service_area_id=world.areas["t0"].id,
                    merge_into=first.number)
    _, payload, _check = created(merged)
    merged.refresh_from_db()
    assert ([s["number"] for s in payload["duplicate_suggestions"]], payload["duplicate_decision"]) == (
        [first.number, second.number], "merge")
    assert (merged.state, merged.master, merged.assigned_unit) == (State.MERGED, first, None)
    back = first.events.get(kind="merged_in")
    assert (back.actor, back.at, back.payload) == (world.agent, frozen(), {"sub": merged.number})


def test_a_new_order_is_published_numbered_with_its_actor_and_time(world, frozen):
    from hotline.core import dispatch

    seen = []

    def created(**kw):
        order = kw["order"]
        seen.append((order.number, order.events.count(), kw["actor"], kw["at"]))

    dispatch.subscribe("workorders.created", created)
    try:
        order = repair(world)
    finally:
        dispatch.unsubscribe("workorders.created", created)
    assert seen == [(order.number, 2, world.agent, frozen())]  # created and dispatched
    assert order.number.startswith("GZ261117")


# --- N1g: who records an order, and replays ---------------------------------------------------------

@pytest.mark.rule("D2f", "N1g")
def test_only_center_staff_or_a_superuser_record_an_order_and_a_key_is_one_request_of_one_user(world, frozen):
    from hotline.workorders.models import IdempotencyKey, WorkOrder

    intake = services.Intake(business_type="repair", sub_class="lv", description="停电", fault_scope="company",
                             customer_id=world.customers["zhang"].id)
    err = refusal(NotAllowed, services.create_order, actor=world.station_users[0], intake=intake)
    assert str(err) == "只有客服中心人员可以受理工单"
    boss = world.station_users[1]
    boss.is_superuser, boss.unit = True, world.center
    boss.save()
    assert services.create_order(actor=boss, intake=intake).owner == boss
    err = refusal(OrderError, services.create_order, actor=world.agent, intake=intake, idempotency_key="k" * 101)
    assert (err.field, err.message) == ("Idempotency-Key", "不能超过100个字符")
    first = services.create_order(actor=world.agent, intake=intake, idempotency_key="k" * 100)
    again = services.create_order(actor=world.agent, intake=intake, idempotency_key="k" * 100)
    assert again.pk == first.pk
    key = IdempotencyKey.objects.get(user=world.agent)
    assert (key.key, key.order, key.created_at, len(key.request_hash)) == ("k" * 100, first, first.created_at, 64)
    other = services.Intake(**{**intake.__dict__, "description": "又停电"})
    err = refusal(OrderError, services.create_order, actor=world.agent, intake=other, idempotency_key="k" * 100)
    assert (err.field, err.message) == ("Idempotency-Key", "该幂等键（Idempotency-Key）已用于内容不同的请求")
    # The same key of another agent is another request; a bad body with a used key is still refused for what it is.
    assert services.create_order(actor=world.agent2, intake=intake, idempotency_key="k" * 100).pk != first.pk
    bad = services.Intake(**{**intake.__dict__, "description": ""})
    err = refusal(OrderError, services.create_order, actor=world.agent, intake=bad, idempotency_key="k" * 100)
    assert err.field == "description"
    err = refusal(OrderError, services.create_order, actor=world.agent, intake=bad, idempotency_key="other")
    assert err.field == "description"
    assert WorkOrder.objects.count() == 3


@pytest.mark.rule("D3.1d", "D7k")
def test_the_intake_check_looks_at_the_area_the_agent_chose_not_only_the_customers(world, frozen):
    from hotline.organisation import services as org
    from hotline.organisation.models import Role
    from hotline.testing import PASSWORD
    from hotline.workorders.tests.test_intake_check import publish

    desk = org.create_user(username="t-desk", password=PASSWORD, role=Role.UNIT_STAFF, unit=world.desk)
    outage = publish(desk, [world.areas["v1"]])
    # 张伟's own area has no outage; the caller says the fault is at 桃园村, where one is published.
    order = repair(world, service_area_id=world.areas["v1"].id)
    check = order.events.get(kind="create").payload["intake_check"]
    assert (check["outages"], check["proposal"]) == ([outage.number], "inquiry")
    walk_in = repair(world, customer_id=None, caller_phone="13700005555", service_area_id=world.areas["v1"].id)
    assert walk_in.events.get(kind="create").payload["intake_check"]["outages"] == [outage.number]


# --- D3.4d, D3.1a: a merge asked at intake, the contact the order came from ------------------------

@pytest.mark.rule("D3.4d", "N1g", "N4b")
def test_a_merge_asked_at_intake_is_refused_on_its_field_saying_why_and_records_nothing(world, frozen):
    from hotline.workorders.models import WorkOrder
    from hotline.workorders.tests.test_rules_repair import complaint, create

    master = repair(world)
    foreign = repair(other := build_world(prefix="m"), customer_id=None, caller_phone="13600007770",
                     service_area_id=other.areas["t0"].id)
    grievance = complaint(world)
    before = WorkOrder.objects.count()

    def refused(**kw):
        with pytest.raises(OrderError) as err:
            t0_repair(world, "13600007771", **kw)
        return err.value.field, err.value.message

    assert refused(merge_into="GD-NOSUCH") == ("merge_into", "工单不存在")
    assert refused(merge_into=foreign.number) == ("merge_into", "工单不存在")  # another center's: not seen
    assert refused(merge_into=grievance.number) == ("merge_into", "只有故障报修可以合并，且只能并入故障报修")
    with pytest.raises(OrderError) as err:
        create(world, business_type="complaint", sub_class="service", description="服务态度差",
               customer_id=world.customers["zhang"].id, merge_into=master.number)
    assert (err.value.field, err.value.message) == ("merge_into", "只有故障报修可以合并，且只能并入故障报修")
    act(master, "cancel", world.agent, reason="客户来电取消")
    assert refused(merge_into=master.number) == ("merge_into", "主工单已归档")
    assert WorkOrder.objects.count() == before
    # The same report into an open repair of the same point is taken.
    open_master = t0_repair(world, "13600007772")
    sub = t0_repair(world, "13600007773", merge_into=open_master.number)
    sub.refresh_from_db()
    assert (sub.master, sub.state) == (open_master, State.MERGED)


@pytest.mark.rule("D3.1a")
def test_the_contact_an_order_comes_from_carries_the_callers_number(world, frozen):
    from hotline.workorders.models import OrderContact

    order = t0_repair(world, "0571-87654321-123")
    link = OrderContact.objects.select_related("contact").get(order=order)
    assert (link.kind, link.contact.caller_number, link.contact.started_at) == (
        OrderContact.Kind.ORIGIN, "057187654321", frozen())
    anonymous = repair(world, customer_id=None, anonymous=True, service_area_id=world.areas["t0"].id)
    assert OrderContact.objects.get(order=anonymous).contact.caller_number == ""


# --- D2g, D3.5: a shift leader's reassign ---------------------------------------------------------

@pytest.mark.rule("D2g", "N1g")
def test_a_reassign_needs_a_reason_a_unit_and_a_shift_leader_and_is_refused_saying_why(world, frozen):
    order = repair(world)
    st0, st1 = world.stations[0], world.stations[1]
    cases = [
        ({"unit_id": st1.pk, "reason": " \n"}, OrderError, ("reason", "请写明改派原因")),
        ({"unit_id": None, "reason": "地址在东山乡"}, OrderError, ("unit_id", "请选择单位")),
        ({"unit_id": st0.pk, "reason": "地址在东山乡"}, OrderError, ("unit_id", "工单已在该单位")),
    ]
    for kw, exc, expected in cases:
        err = refusal(exc, services.reassign, order=order.number, actor=world.leader, **kw)
        assert (err.field, err.message) == expected, kw
    err = refusal(NotAllowed, services.reassign, order=order.number, actor=world.agent, unit_id=st1.pk, reason="改派")
    assert str(err) == "只有值长可以执行此操作"
    order.refresh_from_db()
    assert (order.assigned_unit, order.events.filter(kind="redispatch").exists()) == (st0, False)
    for action in ("receive", "arrive", "resolve"):
        act(order, action, world.station_users[0])
    err = refusal(TransitionError, services.reassign, order=order.number, actor=world.leader, unit_id=st1.pk, reason="改派")
    order.refresh_from_db()
    assert str(err) == f"工单当前状态为“{order.get_state_display()}”，不能执行“重新派单”"
    assert order.assigned_unit == st0


@pytest.mark.rule("D2g", "D2d")
def test_a_reassigned_order_is_recorded_moved_and_published_its_unit_clocks_following_it(world, frozen):
    from hotline.core import dispatch

    order = repair(world)
    act(order, "receive", world.station_users[0])
    frozen.advance(minutes=3)
    seen = []

    def moved(**kw):
        seen.append((kw["order"].number, kw["order"].state, kw["action"], kw["actor"], kw["at"]))

    dispatch.subscribe("workorders.transition", moved)
    try:
        services.reassign(order=order.number, actor=world.leader, unit_id=world.stations[1].pk, reason="地" * 600)
    finally:
        dispatch.unsubscribe("workorders.transition", moved)
    order.refresh_from_db()
    assert (order.state, order.assigned_unit, order.assigned_path, order.updated_at) == (
        State.DISPATCHED, world.stations[1], world.stations[1].path, frozen())
    event = order.events.get(kind="redispatch")
    assert (event.actor, event.at, event.from_state, event.to_state) == (world.leader, frozen(), State.RECEIVED, State.DISPATCHED)
    assert event.payload["reason"] == "地" * 500 and event.payload["previous_unit_id"] == world.stations[0].pk
    assert seen == [(order.number, State.DISPATCHED, "redispatch", world.leader, frozen())]
    # The unit's running limits go with it, started when they were (D2g: clocks kept).
    running = Clock.objects.filter(order=order, status=ClockStatus.RUNNING)
    st1 = world.stations[1].pk
    assert sorted((c.metric, c.responsible_unit_id, c.holder_unit_id, c.started_at) for c in running) == [
        ("arrival", st1, st1, order.dispatched_at), ("restoration", st1, st1, order.dispatched_at)]
    # A returned order goes through its re-dispatch, the reason kept.
    returned = repair(world, customer_id=world.customers["li"].id)
    services.transition(order=returned, action="return", actor=world.station_users[1], payload={"reason": "outside_area"})
    services.reassign(order=returned.number, actor=world.leader, unit_id=world.stations[2].pk, reason="西岭乡的")
    returned.refresh_from_db()
    assert (returned.state, returned.assigned_unit) == (State.DISPATCHED, world.stations[2])
    assert returned.events.filter(kind="redispatch").latest("seq").payload["reason"] == "西岭乡的"


# --- D3.1b: first-contact ownership passes by a recorded handover only --------------------------------

@pytest.mark.rule("D3.1b", "N1g", "N4b")
def test_a_handover_is_refused_saying_why_and_taken_from_the_owner_a_leader_of_the_center_or_a_superuser(world, frozen):
    other = build_world(prefix="h")
    order = repair(world)
    before = (order.owner, order.updated_at)

    def refused(exc, actor, to_user, reason="交班"):
        err = refusal(exc, services.hand_over, order=order.number, actor=actor, to_user=to_user, reason=reason)
        return (err.field, err.message) if isinstance(err, OrderError) else str(err)

    assert refused(OrderError, world.agent, world.agent2, reason=" ") == ("reason", "请填写转交原因")
    for to_user in (world.station_users[0], world.admin):
        assert refused(OrderError, world.agent, to_user) == ("to_user", "只能转交给已启用的座席员或值长")
    world.agent2.is_active = False
    world.agent2.save()
    assert refused(OrderError, world.agent, world.agent2) == ("to_user", "只能转交给已启用的座席员或值长")
    world.agent2.is_active = True
    world.agent2.save()
    assert refused(OrderError, world.agent, other.agent2) == ("to_user", "新的首问责任人须属于该工单所在的客服中心")
    for actor in (world.agent2, other.leader, other.director):
        assert refused(NotAllowed, actor, world.agent2) == "只有首问责任人或值长可以转交工单"
    order.refresh_from_db()
    assert (order.owner, order.updated_at) == before and not order.events.filter(kind="handover").exists()

    frozen.advance(minutes=5)
    services.hand_over(order=order.number, actor=world.agent, to_user=world.agent2, reason="交" * 600)
    order.refresh_from_db()
    assert (order.owner, order.updated_at) == (world.agent2, frozen())
    event = order.events.get(kind="handover")
    assert (event.actor, event.at) == (world.agent, frozen())
    assert event.payload == {"from": str(world.agent), "to": str(world.agent2), "to_id": world.agent2.pk, "reason": "交" * 500}
    assert (event.from_state, event.to_state) == ("", "")  # no move in the life-cycle
    assert refused(OrderError, world.agent2, world.agent, reason=None) == ("reason", "请填写转交原因")
    # A shift leader or director of the center (or above it), or a superuser, hands over an order not theirs.
    for actor, to_user in ((world.leader, world.agent), (world.county_user, world.leader), (world.director, world.agent2)):
        services.hand_over(order=order.number, actor=actor, to_user=to_user, reason="座席下班")
        order.refresh_from_db()
        assert order.owner == to_user
    boss = other.station_users[0]
    boss.is_superuser = True
    boss.save()
    assert services.hand_over(order=order.number, actor=boss, to_user=world.county_user, reason="县公司接手").owner == world.county_user
    act(order, "cancel", world.agent, reason="客户来电取消")
    assert refused(TransitionError, world.leader, world.agent) == "已结束的工单不能转交"


@pytest.mark.rule("D2f")
def test_a_replay_is_known_by_its_own_users_key_and_body_whatever_the_order_of_its_fields(world, frozen):
    def intake(**contact):
        return services.Intake(business_type="repair", sub_class="lv", description="停电", fault_scope="company",
                               customer_id=world.customers["zhang"].id, contact=contact)

    started = frozen() - dt.timedelta(minutes=2)
    first = services.create_order(actor=world.agent, intake=intake(source="switch", source_id="c-1", started_at=started),
                                  idempotency_key="key-1")
    second = services.create_order(actor=world.agent, intake=intake(source="switch", source_id="c-2"), idempotency_key="key-2")
    theirs = services.create_order(actor=world.agent2, intake=intake(source="switch", source_id="c-3"), idempotency_key="key-2")
    assert len({first.pk, second.pk, theirs.pk}) == 3
    # The same body with its fields in another order (a client's JSON) is the same request.
    again = intake(started_at=started, source_id="c-1", source="switch")
    assert services.create_order(actor=world.agent, intake=again, idempotency_key="key-1").pk == first.pk
    assert services.create_order(actor=world.agent, intake=intake(source_id="c-2", source="switch"),
                                 idempotency_key="key-2").pk == second.pk
    assert services.create_order(actor=world.agent2, intake=intake(source="switch", source_id="c-3"),
                                 idempotency_key="key-2").pk == theirs.pk


# --- D3.4a, D3.4e: what the intake form proposes before the order exists ------------------------------

@pytest.mark.rule("D3.4a", "D3.4e", "N4b")
def test_the_intake_forms_proposals_are_those_the_saved_order_records_from_the_same_report(world, frozen):
    master = repair(world, description="整栋楼停电，邻居家也没电，跳闸了")
    frozen.advance(minutes=2)
    report = {"sub_class": "lv", "fault_scope": "company", "description": "我家整栋楼停电，邻居家也没电"}

    def preview(**kw):
        return services.preview_duplicates(actor=world.agent, business_type="repair", **{"service_area_id": None, **kw})

    # The area typed wins over the customer's; without one, the customer's (as the agent may see them).
    by_area = preview(service_area_id=world.areas["t0"].id, customer_id=world.customers["li"].id, **report)
    by_customer = preview(customer_id=world.customers["zhang"].id, **report)
    assert [p["number"] for p in by_area] == [master.number] and by_customer == by_area
    assert set(by_area[0]["reasons"]) >= {"same_fault_class", "same_cause", "similar_phenomenon"}
    saved = repair(world, customer_id=None, caller_phone="13600008881", service_area_id=world.areas["t0"].id, **report)
    assert saved.events.get(kind="create").payload["duplicate_suggestions"] == by_area
    # Another fault class, cause or phenomenon is scored as such, as the saved order would be.
    def masters_score(**kw):
        return next(p["score"] for p in preview(service_area_id=world.areas["t0"].id, **kw) if p["number"] == master.number)

    assert masters_score(**report) == by_area[0]["score"]
    for change in ({"sub_class": "hv"}, {"fault_scope": "planned_outage"}, {"description": "路灯不亮"}):
        assert masters_score(**{**report, **change}) < by_area[0]["score"], change
    # Nothing to propose: not a repair, no such type, no place known, a customer the agent may not see.
    other = build_world(prefix="p")
    assert services.preview_duplicates(actor=world.agent, business_type="complaint", service_area_id=world.areas["t0"].id) == []
    assert services.preview_duplicates(actor=world.agent, business_type="nosuch", service_area_id=world.areas["t0"].id) == []
    assert preview(**report) == []
    assert preview(customer_id=other.customers["zhang"].id, **report) == []


# --- D3.4c: the restoration text to every merged caller --------------------------------------------

@pytest.mark.rule("D3.4c")
def test_the_restoration_is_texted_once_to_each_callers_mobile_else_the_customers(world, frozen, settings):
    from hotline.core.models import OutboxMessage

    settings.HOTLINE_OUTBOX_ENV = {}
    assert services.restoration_channel() == "sms_http"
    settings.HOTLINE_OUTBOX_ENV = {"HOTLINE_RESTORATION_CHANNEL": "  "}
    assert services.restoration_channel() == "sms_http"
    settings.HOTLINE_OUTBOX_ENV = {"HOTLINE_RESTORATION_CHANNEL": " file "}
    assert services.restoration_channel() == "file"
    zhang = world.customers["zhang"].id  # mobile 13812345678, at t0
    master = t0_repair(world, "0571-88880000")  # a landline only: no text, the others still get theirs
    frozen.advance(minutes=1)
    own_mobile = repair(world, customer_id=zhang, caller_phone="13600001001", merge_into=master.number)
    same_mobile = t0_repair(world, "13600001001", merge_into=master.number)
    landline = repair(world, customer_id=zhang, caller_phone="0571-88881111", merge_into=master.number)
    st = world.station_users[0]
    for action in ("receive", "arrive", "resolve"):
        act(master, action, st)
    messages = OutboxMessage.objects.filter(source__endswith=":restoration")
    assert sorted((m.recipient, m.payload["order"]) for m in messages) == [
        ("13600001001", own_mobile.number), ("13812345678", landline.number)]
    sent = {m.recipient: m for m in messages}
    assert same_mobile.events.filter(kind="restoration").exists()  # told on its order, texted once per mobile
    m = sent["13812345678"]
    assert (m.channel, m.source, m.dedup_key) == (
        "file", f"order:{landline.number}:restoration", f"order:{landline.number}:restoration:13812345678")
    assert m.payload == {"order": landline.number, "event": "restoration",
                         "text": f"【供电服务】您反映的故障（工单 {landline.number}）已于 11-17 09:01 修复并恢复送电，感谢您的耐心等待。"}


# --- D3.6a, D3.6b: the times the crew reports, a clock's minute of slack ---------------------------

@pytest.mark.rule("D3.6a", "D3.6b", "N1g")
def test_a_reported_time_may_be_a_minute_off_the_servers_clock_and_no_more(world, frozen):
    minute, second = dt.timedelta(minutes=1), dt.timedelta(seconds=1)
    order = repair(world)
    st = world.station_users[0]
    act(order, "receive", st)
    frozen.advance(minutes=20)
    with pytest.raises(OrderError) as err:  # a field time later than now, beyond the slack
        act(order, "arrive", st, at=(frozen() + minute + second).isoformat())
    assert (err.value.field, err.value.message) == ("at", "该时间晚于当前时间")
    act(order, "arrive", st, at=(frozen() + minute).isoformat())  # a crew phone a minute fast
    frozen.advance(minutes=5)
    act(order, "locate", st)
    with pytest.raises(OrderError) as err:
        act(order, "estimate", st, estimated_at=(frozen() - minute - second).isoformat())
    assert (err.value.field, err.value.message) == ("estimated_at", "预计恢复时间应晚于当前时间")
    for at in (frozen() - minute, frozen() + 30 * second):  # within the minute, before or after now
        act(order, "estimate", st, estimated_at=at.isoformat())
        order.refresh_from_db()
        assert order.estimated_restoration_at == at


@pytest.mark.rule("D5d", "D5e")
def test_a_reminders_event_names_who_raised_it_and_their_unit(world, frozen):
    order = repair(world)
    services.remind(order=order.number, actor=world.leader, text="请尽快接单")
    event = order.events.exclude(kind__in=("create", "dispatch")).get()
    assert (event.actor, event.actor_role, event.actor_unit_id, event.at) == (
        world.leader, world.leader.role, world.center.id, frozen())


@pytest.mark.rule("D2d", "D2b")
def test_an_order_is_acted_on_by_its_number_row_or_id_and_a_system_event_says_so(world, frozen):
    order = repair(world)
    st = world.station_users[0]
    services.transition(order=order.pk, action="receive", actor=st, payload={})  # the demo builder's way
    services.transition(order=order, action="arrive", actor=st, payload={})
    order.refresh_from_db()
    assert order.state == State.ON_SITE
    frozen.advance(minutes=1)
    event = services.record_event(order=order, kind="note", actor=None, payload={"note": "系统记录"})
    assert (event.actor, event.actor_role, event.actor_unit_id, event.at, event.from_state, event.to_state) == (
        None, "system", None, frozen(), "", "")
    assert event.seq == order.events.count() and order.events.get(seq=event.seq).payload == {"note": "系统记录"}


@pytest.mark.rule("D3.4d")
def test_the_same_fault_point_is_one_area_or_a_village_and_its_transformer_area_or_one_village_where_configured(world):
    from hotline.organisation import services as org
    from hotline.organisation.models import AreaClass

    a = world.areas
    t0b = org.create_service_area(name="南街2号台区", code="t-a0t2", level="transformer_area", unit=world.stations[0],
                                  parent=a["v0"], area_class=AreaClass.URBAN)
    t1 = org.create_service_area(name="桃园1号台区", code="t-a1t", level="transformer_area", unit=world.stations[1],
                                 parent=a["v1"], area_class=AreaClass.RURAL)
    same = services.same_fault_point
    for level in ("transformer_area", "village"):
        assert not same(None, a["t0"], level=level) and not same(a["t0"], None, level=level) and not same(None, None, level=level)
        assert same(a["t0"], a["t0"], level=level) and same(a["v0"], a["v0"], level=level)
        assert not same(a["town0"], a["town0"], level=level)  # a township names no point
        # A caller who could name only the village may be at any transformer area of it; not of another village.
        assert same(a["v0"], a["t0"], level=level) and same(a["t0"], a["v0"], level=level)
        assert not same(a["v1"], a["t0"], level=level) and not same(a["t0"], a["v1"], level=level)
        assert not same(a["t0"], t1, level=level) and not same(a["town0"], a["v0"], level=level)
        assert not same(a["v0"], a["town0"], level=level)
    # Neighbouring transformer areas of one village: one point only where the center merges by village.
    assert not same(a["t0"], t0b, level="transformer_area")
    assert same(a["t0"], t0b, level="village") and same(t0b, a["t0"], level="village")


@pytest.mark.rule("D3.4a", "D3.4d")
def test_the_proposals_are_open_repairs_of_the_fault_point_within_the_window_before_the_report(world, frozen, settings):
    from hotline.workorders.tests.test_rules_repair import complaint, neighbour_area

    def proposed(order, **kw):
        return [p["number"] for p in services.suggest_duplicates(order, **kw)]

    old = t0_repair(world, "13600009001")
    frozen.advance(hours=3)
    master = t0_repair(world, "13600009002")
    frozen.advance(minutes=1)
    complaint(world, customer_id=world.customers["zhang"].id)  # another type at the same place
    village_report = repair(world, customer_id=None, caller_phone="13600009003", service_area_id=world.areas["v0"].id)
    neighbour = repair(world, customer_id=None, caller_phone="13600009004", service_area_id=neighbour_area(world).id)
    frozen.advance(minutes=1)
    report = t0_repair(world, "13600009005")
    window = dt.timedelta(hours=2)
    # The report's own transformer area and its village (a caller who could name only that), within the window.
    assert set(proposed(report, window=window)) == {master.number, village_report.number}
    assert set(proposed(report, window=dt.timedelta(hours=4))) == {master.number, village_report.number, old.number}
    assert master.number not in proposed(old, window=window)  # none reported after it
    # Where the center merges by village, the village's other transformer areas too.
    settings.HOTLINE = {**settings.HOTLINE, "MERGE_FAULT_POINT": "village"}
    assert set(proposed(report, window=window)) == {master.number, village_report.number, neighbour.number}
    # Only repairs are compared: a complaint at the same place proposes nothing.
    grievance = complaint(world, customer_id=world.customers["zhang"].id)
    assert grievance.service_area_id == world.areas["t0"].id and services.suggest_duplicates(grievance) == []


@pytest.mark.rule("D2c", "D6g")
def test_only_a_step_into_a_terminal_state_closes_an_order(world, frozen):
    order = repair(world)
    st = world.station_users[0]
    for action in ("receive", "arrive", "resolve", "reply"):
        act(order, action, st)
        order.refresh_from_db()
        assert order.closed_at is None, action
    other = repair(world, customer_id=world.customers["li"].id)
    frozen.advance(minutes=5)
    act(other, "cancel", world.agent, reason="客户来电取消")
    other.refresh_from_db()
    assert (other.state, other.closed_at) == (State.CANCELLED, frozen())


@pytest.mark.rule("D0b", "D2a")
def test_an_order_recorded_without_a_life_cycle_version_follows_its_types_life_cycle(world, frozen):
    from hotline.workorders.models import WorkOrder

    order = repair(world)
    WorkOrder.objects.filter(pk=order.pk).update(lifecycle_version=None)  # recorded before versions were kept
    act(order, "receive", world.station_users[0])
    order.refresh_from_db()
    assert order.state == State.RECEIVED


@pytest.mark.rule("D3.6d", "D2b")
def test_a_required_time_of_the_action_may_come_beside_the_record(world, frozen):
    from hotline.catalog.models import HandlingField
    from hotline.core import cache

    HandlingField.objects.filter(business_type__code="repair", code="restored_at").update(required=True)
    cache.clear()
    order = repair(world)
    st = world.station_users[0]
    act(order, "receive", st)
    act(order, "arrive", st)
    frozen.advance(minutes=30)
    with pytest.raises(OrderError) as err:
        services.transition(order=order.number, action="resolve", actor=st,
                            payload={"record": {"cause": "tree", "measures": "清除树障"}})
    assert [e.field for e in err.value.errors] == ["record.restored_at"]
    restored = frozen() - dt.timedelta(minutes=2)
    services.transition(order=order.number, action="resolve", actor=st,
                        payload={"at": restored.isoformat(), "record": {"cause": "tree", "measures": "清除树障"}})
    order.refresh_from_db()
    assert order.state == State.RESOLVED


@pytest.mark.rule("D3.2a", "N1g", "N4b")
def test_an_order_goes_only_to_an_active_unit_of_its_centers_county_saying_why(world, frozen):
    from hotline.organisation.models import Unit
    other = build_world(prefix="d")
    order = repair(world, dispatch=False)
    Unit.objects.filter(pk=world.stations[2].pk).update(active=False)
    for unit, message in ((world.stations[2], "单位不存在或已停用"), (other.stations[0], "该单位不在本中心所属县公司范围内")):
        with pytest.raises(OrderError) as err:
            act(order, "dispatch", world.agent, unit_id=unit.pk)
        assert (err.value.field, err.value.message) == ("unit_id", message)
    order.refresh_from_db()
    assert (order.state, order.assigned_unit) == (State.ACCEPTED, None)
    act(order, "dispatch", world.agent, unit_id=world.stations[1].pk)
    order.refresh_from_db()
    assert (order.state, order.assigned_unit) == (State.DISPATCHED, world.stations[1])
    # Once dispatched, a shift leader's reassign is held to the same rule.
    for unit, message in ((world.stations[2], "单位不存在或已停用"), (other.stations[0], "该单位不在本中心所属县公司范围内")):
        err = refusal(OrderError, services.reassign, order=order.number, actor=world.leader, unit_id=unit.pk, reason="改派")
        assert (err.field, err.message) == ("unit_id", message)


@pytest.mark.rule("D3.1a", "N1g")
def test_the_contact_an_intake_names_or_describes_is_refused_on_its_field_saying_why(world, frozen):
    from hotline.workorders.models import WorkOrder

    def refused(actor=None, **kw):
        intake = services.Intake(**{"business_type": "repair", "sub_class": "lv", "description": "停电", "fault_scope": "company",
                                    "customer_id": world.customers["zhang"].id, **kw})
        with pytest.raises((OrderError, NotAllowed)) as err:
            services.create_order(actor=actor or world.agent, intake=intake)
        e = err.value
        return (e.field, e.message) if isinstance(e, OrderError) else str(e)

    assert refused(contact_id=999999) == ("contact_id", "没有这个来电记录")
    assert refused(contact={"bogus": 1, "queue": "95598"}) == ("contact", "未知字段：bogus")
    assert refused(contact={"zz": 1, "aa": 2}) == ("contact", "未知字段：aa, zz")
    assert refused(contact={"channel": "pigeon"})[0] == "contact.channel"
    started = frozen() - dt.timedelta(minutes=1)
    assert refused(contact={"started_at": started, "ended_at": started - dt.timedelta(seconds=1)}) == (
        "contact.ended_at", "来电结束时间不能早于开始时间")
    world.agent.unit = None
    world.agent.save()
    assert refused(customer_id=None, caller_phone="13600001234", service_area_id=world.areas["t0"].id) == "您的账号未归属任何单位"
    assert not WorkOrder.objects.exists()


@pytest.mark.rule("D3.4c")
def test_restoration_texts_are_counted_new_once(world, frozen, settings):
    settings.HOTLINE_OUTBOX_ENV = {"HOTLINE_RESTORATION_CHANNEL": "file"}
    master = t0_repair(world, "13600001201")
    sub = t0_repair(world, "13600001202", merge_into=master.number)
    landline = t0_repair(world, "0571-88882222")
    assert services.notify_restoration(master, [sub], at=frozen()) == 2
    assert services.notify_restoration(master, [sub], at=frozen()) == 0  # the same texts: none new
    assert services.notify_restoration(landline, [], at=frozen()) == 0  # no mobile to text


@pytest.mark.rule("D3.6d", "D2b")
def test_a_time_of_the_action_an_administrator_adds_to_the_reply_is_kept_as_given(world, frozen):
    from hotline.catalog.models import BusinessType, FieldKind, HandlingField

    HandlingField.objects.create(business_type=BusinessType.objects.get(code="repair"), action="reply", code="replied_at",
                                 label="答复时间", kind=FieldKind.DATETIME, required=False, action_time=True, sort_order=9)
    order = repair(world)
    st = world.station_users[0]
    for action in ("receive", "arrive", "resolve"):
        act(order, action, st)
    frozen.advance(minutes=30)
    replied = frozen() - dt.timedelta(minutes=3)
    services.transition(order=order.number, action="reply", actor=st, payload={
        "record": {"customer_opinion": "satisfied", "replied_at": replied.isoformat()}})
    order.refresh_from_db()
    entry = {e["code"]: e for e in order.handling_record}["replied_at"]
    assert dt.datetime.fromisoformat(entry["value"]) == replied


@pytest.mark.rule("D3.4e")
def test_a_proposal_names_the_order_its_area_its_score_and_reasons_and_the_texts_likeness(world, frozen):
    master = t0_repair(world, "13600001301", description="整栋楼停电，邻居家也没电，跳闸了")
    frozen.advance(minutes=7)
    report = t0_repair(world, "13600001302", description="我家停电了，邻居也停电")
    (p,) = services.suggest_duplicates(report)
    assert set(p) == {"number", "area", "score", "reasons", "similarity"}
    assert (p["number"], p["area"]) == (master.number, str(world.areas["t0"]))
    assert isinstance(p["reasons"], list) and p["reasons"] and all(isinstance(r, str) for r in p["reasons"])
    for value in (p["score"], p["similarity"]):
        assert isinstance(value, float) and value == round(value, 2) and 0 < value


@pytest.mark.rule("D3.5a", "D3.2b", "D2d")
def test_a_returned_order_re_dispatched_without_a_unit_goes_to_the_desk_not_back_to_the_unit_that_returned_it(world, frozen):
    order = repair(world)
    st = world.station_users[0]
    act(order, "return", st, reason="outside_area")
    frozen.advance(minutes=1)
    act(order, "redispatch", world.agent)  # no unit named: the address would route it back to st0
    order.refresh_from_db()
    assert (order.state, order.assigned_unit) == (State.DISPATCHED, world.desk)
    event = order.events.get(kind="redispatch")
    assert (event.payload["unit_id"], event.payload["unit"]) == (world.desk.pk, world.desk.name)
    assert (event.payload["previous_unit_id"], event.payload["previous_unit"]) == (world.stations[0].pk, world.stations[0].name)
    # Named, the unit that returned it may have it back.
    again = repair(world, customer_id=world.customers["li"].id)
    act(again, "return", world.station_users[1], reason="outside_area")
    act(again, "redispatch", world.agent, unit_id=world.stations[1].pk)
    again.refresh_from_db()
    assert again.assigned_unit == world.stations[1]
    first = again.events.get(kind="dispatch").payload
    assert (first["unit_id"], first["unit"]) == (world.stations[1].pk, world.stations[1].name) and "previous_unit" not in first


@pytest.mark.rule("D3.1a", "D11a")
def test_a_web_forms_or_a_calls_contact_is_the_intakes_an_api_orders_its_own_channel(world, frozen):
    from hotline.workorders.models import OrderContact

    def contact_of(channel):
        order = repair(world, customer_id=None, caller_phone="13600001401", service_area_id=world.areas["t0"].id, channel=channel)
        c = OrderContact.objects.get(order=order, kind="origin").contact
        return c.channel, c.source, c.started_at

    assert contact_of("web") == ("web", "intake", frozen())
    assert contact_of("phone") == ("phone", "intake", frozen())
    assert contact_of("api") == ("api", "api", frozen())
