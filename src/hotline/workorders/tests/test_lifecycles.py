"""Each business type's life-cycle, intake rules, permissions, chase-ups."""

import pytest

from hotline.catalog.lifecycle import LifecycleError, parse_lifecycle
from hotline.catalog.models import BusinessType
from hotline.organisation.models import MarkedNumber, SpecialMark
from hotline.testing import handled
from hotline.timelimits.models import Clock
from hotline.workorders import access, selectors, services
from hotline.workorders.errors import NotAllowed, OrderError, TransitionError
from hotline.core.models import AuditEntry
from hotline.workorders.models import ReporterIdentity, State, WorkOrder

pytestmark = pytest.mark.django_db

NOTE = {"outcome": "satisfied", "note": "客户原话：满意"}


def create(world, actor=None, **kw):
    return services.create_order(actor=actor or world.agent, intake=services.Intake(**kw))


def walk(order, steps):
    for action, actor, payload in steps:
        # A unit's resolve and reply carry the handling record its type asks.
        order = services.transition(order=order, action=action, actor=actor, payload=handled(order, action, payload))
    return order


def test_complaint_goes_to_marketing_and_follows_its_life_cycle(world, frozen):
    order = create(world, business_type="complaint", sub_class="service", priority="normal", description="营业厅态度差",
                   customer_id=world.customers["li"].id)
    assert order.state == State.DISPATCHED and order.assigned_unit == world.marketing
    mk = world.marketing_user
    assert {c.metric for c in Clock.objects.filter(order=order)} == {"dispatch", "accept", "contact", "reply"}
    order = walk(order, [("receive", mk, None), ("contact", mk, {"note": "已联系客户"}), ("reply", mk, {"note": "已整改"}),
                         ("review", world.agent, None), ("callback", world.agent, NOTE), ("close", world.agent, None)])
    assert order.state == State.CLOSED
    with pytest.raises(OrderError) as unknown:  # not an action of the complaint's life-cycle: 422
        services.transition(order=order, action="arrive", actor=mk)
    assert unknown.value.field == "action"


def test_conduct_complaint_goes_to_discipline(world, frozen):
    order = create(world, business_type="complaint", sub_class="conduct", description="抄表员索要好处",
                   customer_id=world.customers["li"].id)
    assert order.assigned_unit == world.discipline


@pytest.mark.parametrize("code,sub", [("opinion", "billing"), ("suggestion", "service"), ("praise", "service")])
def test_department_types_reply_review_and_close(world, frozen, code, sub):
    order = create(world, business_type=code, sub_class=sub, description="内容", customer_id=world.customers["li"].id)
    assert order.assigned_unit == world.marketing
    order = walk(order, [("receive", world.marketing_user, None), ("reply", world.marketing_user, {"note": "答复"}),
                         ("review", world.agent, None)])
    bt = BusinessType.objects.get(code=code)
    if bt.callback == "always":
        order = walk(order, [("callback", world.agent, NOTE)])
    order = walk(order, [("close", world.agent, None)])
    assert order.state == State.CLOSED


def test_report_hides_the_reporter_and_audits_every_view(world, frozen):
    order = create(world, business_type="report", sub_class="theft", description="邻居私拉电线窃电",
                   caller_name="赵六", caller_phone="13700001111")
    assert order.assigned_unit == world.discipline
    assert order.caller_name == "" and order.caller_phone == ""
    assert ReporterIdentity.objects.get(order=order).phone == "13700001111"
    assert not selectors.can_see_reporter(world.agent, order)
    with pytest.raises(NotAllowed):
        access.reveal_reporter(world.agent, order)
    order.refresh_from_db()
    identity = access.reveal_reporter(world.discipline_user, order)
    assert identity.name == "赵六"
    assert AuditEntry.objects.filter(action="view_reporter", object_id=str(order.pk), user=world.discipline_user).count() == 1


def test_inquiry_answered_on_the_call_or_dispatched(world, frozen):
    order = create(world, business_type="inquiry", sub_class="bill", description="电费为什么高", customer_id=world.customers["zhang"].id)
    assert order.state == State.ACCEPTED  # inquiries stay with the agent
    order = walk(order, [("answer", world.agent, {"note": "已解释阶梯电价"})])
    assert order.state == State.CLOSED
    order2 = create(world, business_type="inquiry", sub_class="policy", description="光伏并网政策", customer_id=world.customers["zhang"].id)
    order2 = walk(order2, [("dispatch", world.agent, None)])
    assert order2.assigned_unit == world.marketing
    reply = Clock.objects.get(order=order2, metric="reply")
    assert reply.rule.unit == "working_days" and reply.rule.amount == 2


def test_service_request_sub_class_routes_to_metering(world, frozen):
    order = create(world, business_type="service_request", sub_class="meter_test", description="申请校验电表",
                   customer_id=world.customers["zhang"].id)
    assert order.assigned_unit == world.metering
    with pytest.raises(NotAllowed):
        services.transition(order=order, action="receive", actor=world.marketing_user)


def test_repair_planned_outage_is_handled_as_an_inquiry(world, frozen):
    order = create(world, business_type="repair", sub_class="lv", description="停电了", customer_id=world.customers["zhang"].id,
                   fault_scope="planned_outage")
    assert order.business_type.code == "inquiry" and order.state == State.CLOSED
    first = order.events.order_by("seq").first()
    assert first.payload["requested_type"] == "repair" and "停电" in first.payload["reason"]


def test_customer_internal_fault_dispatches_only_as_paid_service(world, frozen):
    guided = create(world, business_type="repair", sub_class="customer_internal", description="家里空开跳闸",
                    customer_id=world.customers["zhang"].id, fault_scope="customer_internal")
    assert guided.business_type.code == "inquiry"
    paid = create(world, business_type="repair", sub_class="customer_internal", description="家里空开跳闸，要求上门",
                  customer_id=world.customers["zhang"].id, fault_scope="customer_internal", paid_service=True)
    assert paid.business_type.code == "repair" and paid.state == State.DISPATCHED and paid.paid_service
    assert paid.events.get(kind="create").payload["paid_service_stated"] is True


def test_anonymous_complaint_is_recorded_as_opinion(world, frozen):
    order = create(world, business_type="complaint", sub_class="service", description="匿名投诉", anonymous=True)
    assert order.business_type.code == "opinion"


def test_marked_caller_complaint_is_recorded_as_opinion(world, frozen):
    MarkedNumber.objects.create(number="13900009999", mark=SpecialMark.MALICIOUS)
    order = create(world, business_type="complaint", sub_class="service", description="投诉", caller_phone="139-0000-9999")
    assert order.business_type.code == "opinion"


def test_low_star_agent_orders_wait_for_shift_leader_review(world, frozen):
    world.agent2.stars = 3
    world.agent2.save()
    order = create(world, actor=world.agent2, business_type="repair", sub_class="lv", description="停电",
                   customer_id=world.customers["zhang"].id, fault_scope="company")
    assert order.state == State.DRAFT and order.assigned_unit is None
    with pytest.raises(NotAllowed):
        services.transition(order=order, action="approve", actor=world.agent)
    order = walk(order, [("approve", world.leader, None), ("dispatch", world.agent2, None)])
    assert order.state == State.DISPATCHED


def test_scope_a_county_sees_its_subtree_a_station_only_its_own(world, frozen):
    o1 = create(world, business_type="repair", sub_class="lv", description="停电", customer_id=world.customers["zhang"].id,
                fault_scope="company")
    o2 = create(world, business_type="repair", sub_class="lv", description="停电", customer_id=world.customers["li"].id,
                fault_scope="company")
    assert set(selectors.visible_orders(world.county_user)) == {o1, o2}
    assert set(selectors.visible_orders(world.station_users[0])) == {o1}
    assert set(selectors.visible_orders(world.station_users[1])) == {o2}
    assert set(selectors.visible_orders(world.agent)) == {o1, o2}
    assert set(selectors.visible_orders(world.marketing_user)) == set()


def test_merge_duplicate_repair_reports(world, frozen):
    master = create(world, business_type="repair", sub_class="lv", description="整栋楼停电", customer_id=world.customers["zhang"].id,
                    fault_scope="company")
    frozen.advance(minutes=3)
    dup = create(world, business_type="repair", sub_class="lv", description="停电", caller_phone="13600001234",
                 address="城关镇南街社区5号", fault_scope="company", merge_into=master.number)
    assert dup.state == State.MERGED and dup.master == master and dup.assigned_unit is None
    payload = dup.events.get(kind="create").payload
    assert payload["duplicate_suggestions"][0]["number"] == master.number and payload["duplicate_decision"] == "merge"
    assert not Clock.objects.filter(order=dup, status="running").exists()
    st = world.station_users[0]
    walk(master, [("receive", st, None), ("arrive", st, None), ("resolve", st, None)])
    assert dup.events.filter(kind="restoration").exists()
    with pytest.raises(OrderError):
        create(world, business_type="complaint", sub_class="service", description="x", customer_id=world.customers["li"].id,
               merge_into=master.number)


def test_cancel_needs_a_reason_and_never_deletes(world, frozen):
    order = create(world, business_type="repair", sub_class="lv", description="停电", customer_id=world.customers["zhang"].id,
                   fault_scope="company")
    with pytest.raises(OrderError):
        walk(order, [("cancel", world.agent, None)])
    order = walk(order, [("cancel", world.agent, {"reason": "客户来电已恢复"})])
    assert order.state == State.CANCELLED and WorkOrder.objects.filter(pk=order.pk).exists()
    assert set(Clock.objects.filter(order=order).values_list("status", flat=True)) <= {"met", "cancelled"}


def test_events_are_append_only(world, frozen):
    order = create(world, business_type="repair", sub_class="lv", description="停电", customer_id=world.customers["zhang"].id,
                   fault_scope="company")
    event = order.events.first()
    event.payload = {"tampered": True}
    with pytest.raises(RuntimeError):
        event.save()
    with pytest.raises(RuntimeError):
        event.delete()


def test_chase_up_rules(world, frozen):
    repair = create(world, business_type="repair", sub_class="lv", description="停电", customer_id=world.customers["zhang"].id,
                    fault_scope="company")
    chase = services.chase_up(order=repair, actor=world.agent, note="客户催促")
    assert chase.business_type.code == "chase_up" and chase.chased_order == repair
    assert chase.assigned_unit == repair.assigned_unit and chase.state == State.DISPATCHED
    assert Clock.objects.get(order=chase, metric="dispatch").rule.amount == 10
    with pytest.raises(TransitionError, match="须间隔5分钟"):  # outside a request: the default language
        services.chase_up(order=repair, actor=world.agent, note="又催")
    for _ in range(3):  # repairs may be chased more than twice, 5 minutes apart
        frozen.advance(minutes=5)
        services.chase_up(order=repair, actor=world.agent, note="再催")
    complaint = create(world, business_type="complaint", sub_class="service", description="投诉", customer_id=world.customers["li"].id)
    services.chase_up(order=complaint, actor=world.agent, note="1")
    frozen.advance(minutes=6)
    services.chase_up(order=complaint, actor=world.agent, note="2")
    frozen.advance(minutes=6)
    with pytest.raises(TransitionError, match="最多催办2次"):
        services.chase_up(order=complaint, actor=world.agent, note="3")
    with pytest.raises(NotAllowed):
        services.chase_up(order=complaint, actor=world.station_users[0], note="x")
    assert repair.events.filter(kind="chased").count() == 4


def test_lifecycle_data_is_validated():
    with pytest.raises(LifecycleError):
        parse_lifecycle({"transitions": [{"action": "dispatch", "from": ["closed"], "to": "dispatched"}]})
    with pytest.raises(LifecycleError):
        parse_lifecycle({"transitions": [{"action": "warp", "from": ["accepted"], "to": "closed"}]})
    with pytest.raises(LifecycleError):
        parse_lifecycle({"transitions": [{"action": "dispatch", "from": ["accepted"], "to": "dispatched"},
                                         {"action": "dispatch", "from": ["accepted"], "to": "received"}]})
    for bt in BusinessType.objects.all():
        parse_lifecycle(bt.lifecycle)


def test_first_contact_ownership_changes_only_by_handover(world, frozen):
    order = create(world, business_type="complaint", sub_class="service", description="投诉", customer_id=world.customers["li"].id)
    assert order.owner == world.agent
    with pytest.raises(NotAllowed):
        services.hand_over(order=order, actor=world.agent2, to_user=world.agent2, reason="接手")
    with pytest.raises(OrderError):
        services.hand_over(order=order, actor=world.agent, to_user=world.station_users[0], reason="x")
    order = services.hand_over(order=order, actor=world.agent, to_user=world.agent2, reason="下班交接")
    assert order.owner == world.agent2
    assert order.events.get(kind="handover").payload["reason"] == "下班交接"
    assert list(selectors.my_orders(world.agent2)) == [order]


def test_address_without_service_area_goes_to_the_county_dispatch_desk(world, frozen):
    order = create(world, business_type="repair", sub_class="hv", description="路边电线杆倒了", caller_phone="13500002222",
                   address="某某工业园区北门", fault_scope="company")
    assert order.service_area is None and order.assigned_unit == world.desk
    arrival = Clock.objects.get(order=order, metric="arrival")
    assert (arrival.due_at - arrival.started_at).total_seconds() == 90 * 60  # no area class: the general rule


def test_address_resolves_to_the_most_specific_service_area(world, frozen):
    order = create(world, business_type="repair", sub_class="lv", description="停电", caller_phone="13500002222",
                   address="东山乡桃园村5组", fault_scope="company")
    assert order.service_area == world.areas["v1"] and order.assigned_unit == world.stations[1]
    assert order.area_class == "rural"


def test_report_life_cycle_with_optional_callback(world, frozen):
    order = create(world, business_type="report", sub_class="conduct", description="举报行风问题", caller_phone="13700001111",
                   reply_wanted=False)
    d = world.discipline_user
    order = walk(order, [("receive", d, None), ("reply", d, {"note": "已查处"}), ("review", world.agent, None),
                         ("close", world.agent, None)])
    assert order.state == State.CLOSED
    reply = Clock.objects.get(order=order, metric="reply")
    assert reply.rule.amount == 10 and reply.rule.unit == "calendar_days" and reply.status == "met"


def test_service_request_with_on_site_work(world, frozen):
    order = create(world, business_type="service_request", sub_class="reconnection", description="已缴费，申请复电",
                   customer_id=world.customers["zhang"].id)
    assert order.assigned_unit == world.marketing
    restoration = Clock.objects.get(order=order, metric="restoration")
    assert restoration.due_at - restoration.started_at == __import__("datetime").timedelta(hours=24)
    m = world.marketing_user
    order = walk(order, [("receive", m, None), ("arrive", m, None), ("resolve", m, None), ("reply", m, {"note": "已复电"}),
                         ("review", world.agent, None), ("callback", world.agent, NOTE), ("close", world.agent, None)])
    assert order.state == State.CLOSED


def test_returned_order_can_be_redispatched_and_counts_returns(world, frozen):
    order = create(world, business_type="complaint", sub_class="service", description="投诉", customer_id=world.customers["li"].id)
    order = walk(order, [("return", world.marketing_user, {"reason": "应由供电所处理"})])
    assert order.return_count == 1 and order.state == State.RETURNED
    with pytest.raises(OrderError):
        walk(order, [("redispatch", world.agent, {"unit_id": 999999})])
    order = walk(order, [("redispatch", world.agent, {"unit_id": world.stations[1].id})])
    assert order.assigned_unit == world.stations[1] and order.state == State.DISPATCHED and order.return_count == 1


def test_callback_needs_outcome_and_customer_words(world, frozen):
    order = create(world, business_type="praise", sub_class="service", description="表扬抢修队", customer_id=world.customers["li"].id)
    m = world.marketing_user
    order = walk(order, [("receive", m, None), ("reply", m, {"note": "已核实"}), ("review", world.agent, None)])
    with pytest.raises(OrderError) as e:
        walk(order, [("callback", world.agent, {"outcome": "satisfied"})])
    assert e.value.field == "note"
    with pytest.raises(OrderError) as e:
        walk(order, [("callback", world.agent, {"outcome": "happy", "note": "x"})])
    assert e.value.field == "outcome"
