"""Spec domain.md §0–§2 through the work-order services: what each business
type's order gets at intake (owner, clocks with the spec's numbers,
callback), the intake rules that change the type, and the life-cycle
(states, events, replay, ownership, returns). One test or more per rule ID."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest
from django.db.models import ProtectedError

from hotline.catalog import services as catalog_services
from hotline.catalog.lifecycle import STATES, TERMINAL_STATES
from hotline.catalog.models import BusinessType
from hotline.core import clock
from hotline.testing import handled
from hotline.organisation.models import MarkedNumber, SpecialMark
from hotline.timelimits.models import Clock, ClockStatus
from hotline.workorders import selectors, services
from hotline.workorders.errors import NotAllowed, OrderError, TransitionError
from hotline.workorders.models import State, WorkOrder, WorkOrderEvent

pytestmark = pytest.mark.django_db

SH = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2026, 11, 17, 9, 0, tzinfo=SH)  # the `frozen` fixture's Tuesday
SATISFIED = {"outcome": "satisfied", "note": "客户原话：很满意"}
MIN, HOUR = dt.timedelta(minutes=1), dt.timedelta(hours=1)


def create(world, actor=None, **kw) -> WorkOrder:
    return services.create_order(actor=actor or world.agent, intake=services.Intake(**kw))


def repair(world, customer="zhang", **kw) -> WorkOrder:
    fields = dict(business_type="repair", sub_class="lv", priority="normal", fault_scope="company", description="整栋楼停电",
                  customer_id=world.customers[customer].id)
    fields.update(kw)
    return create(world, **fields)


def walk(order, steps) -> WorkOrder:
    for action, actor, payload in steps:
        # A unit's resolve and reply carry the handling record its type asks.
        order = services.transition(order=order, action=action, actor=actor, payload=handled(order, action, payload))
    return order


def clocks(order) -> dict[str, Clock]:
    """The order's clocks by metric (latest round)."""
    return {c.metric: c for c in Clock.objects.filter(order=order).order_by("round")}


def span(c: Clock) -> dt.timedelta:
    return c.due_at - c.started_at


def local(value: dt.datetime) -> dt.datetime:
    return value.astimezone(SH)


def unit_work(world, order, unit_user, *, on_site=True) -> WorkOrder:
    steps = [("receive", unit_user, None)]
    if on_site:
        steps += [("arrive", unit_user, None), ("resolve", unit_user, None)]
    steps += [("reply", unit_user, {"note": "已处理"})]
    return walk(order, steps)


# --- §0 ---------------------------------------------------------------------------

@pytest.mark.rule("D0b")
def test_an_order_keeps_the_policy_version_it_was_created_under(world, frozen):
    old = repair(world)
    draft = catalog_services.draft_new_version(note="arrival 30", user=world.admin)
    draft.rules.filter(business_type__code="repair", metric="arrival", area_class="urban").update(amount=30)
    catalog_services.publish_version(version=draft, user=world.admin)
    new = repair(world)
    assert (old.policy_version.number, new.policy_version.number) == (1, 2)
    assert span(clocks(old)["arrival"]) == 45 * MIN
    assert span(clocks(new)["arrival"]) == 30 * MIN
    # A return and re-dispatch of the old order still runs under version 1.
    station = world.station_users[0]
    walk(old, [("return", station, {"reason": "outside_area"}), ("redispatch", world.agent, {"unit_id": world.stations[1].pk})])
    old.refresh_from_db()
    assert old.policy_version.number == 1
    assert {c.rule.version.number for c in Clock.objects.filter(order=old)} == {1}


@pytest.mark.rule("D0b")
def test_an_order_keeps_the_life_cycle_it_was_created_under(world, frozen):
    old = create(world, business_type="complaint", sub_class="service", description="营业厅态度差", customer_id=world.customers["li"].id)
    complaint = BusinessType.objects.get(code="complaint")
    lc = json.loads(json.dumps(complaint.lifecycle))
    lc["transitions"] = [t for t in lc["transitions"] if t["action"] != "rework"]
    complaint.lifecycle = lc
    catalog_services.save_business_type(business_type=complaint, user=world.admin)
    new = create(world, business_type="complaint", sub_class="service", description="又一次", customer_id=world.customers["li"].id)
    mk = world.marketing_user
    for order in (old, new):
        unit_work(world, order, mk, on_site=False)
    # The old order still has the rework its life-cycle had; the new one not.
    assert walk(old, [("rework", world.agent, {"reason": "答复不完整"})]).state == State.RECEIVED
    with pytest.raises(OrderError) as unknown:  # the new version has no rework: an unknown action
        walk(new, [("rework", world.agent, {"reason": "答复不完整"})])
    assert unknown.value.field == "action"


# --- §1 business types -------------------------------------------------------------

@pytest.mark.rule("D1a")
@pytest.mark.parametrize("customer,area_class,arrival,restoration", [
    ("zhang", "urban", 45 * MIN, 3 * HOUR), ("li", "rural", 90 * MIN, 4 * HOUR), ("wang", "remote", 120 * MIN, 4 * HOUR)])
def test_repair_limits_by_area_class(world, frozen, customer, area_class, arrival, restoration):
    order = repair(world, customer=customer)
    assert order.area_class == area_class
    # Default owner: the repair dispatch of the unit serving the address.
    assert order.assigned_unit == world.customers[customer].service_area.unit
    c = clocks(order)
    assert span(c["dispatch"]) == 5 * MIN and c["dispatch"].status == ClockStatus.MET
    assert span(c["accept"]) == 3 * MIN
    assert span(c["arrival"]) == arrival
    assert span(c["restoration"]) == restoration
    assert all(x.started_at == T0 for x in c.values())


@pytest.mark.rule("D1a")
def test_repair_callback_within_24_hours_for_every_merged_caller_too(world, frozen):
    master = repair(world, description="南街停电")
    frozen.advance(minutes=2)
    sub = repair(world, description="南街也停电", merge_into=master.number, caller_phone="13900002222", customer_id=None,
                 service_area_id=world.areas["t0"].id)
    assert sub.state == State.MERGED and sub.master == master
    frozen.advance(minutes=20)
    unit_work(world, master, world.station_users[0])
    replied_at = clock.now()
    for order in (master, sub):
        cb = clocks(order).get("callback")
        assert cb is not None, order.number
        assert (cb.started_at, span(cb), cb.status) == (replied_at, 24 * HOUR, ClockStatus.RUNNING)


@pytest.mark.rule("D1b")
def test_complaint_owner_and_limits(world, frozen):
    complaint = BusinessType.objects.get(code="complaint")
    assert [p[1] for p in complaint.priorities] == ["特殊", "重大", "重要", "一般"]
    order = create(world, business_type="complaint", sub_class="service", priority="special", description="服务态度差",
                   customer_id=world.customers["li"].id)
    assert order.assigned_unit == world.marketing  # the responsible department
    conduct = create(world, business_type="complaint", sub_class="conduct", description="抄表员索要好处",
                     customer_id=world.customers["li"].id)
    assert conduct.assigned_unit == world.discipline  # discipline for conduct
    c = clocks(order)
    assert span(c["dispatch"]) == 20 * MIN
    assert span(c["contact"]) == 24 * HOUR
    assert local(c["reply"].due_at) == dt.datetime(2026, 11, 22, 9, 0, tzinfo=SH)  # 5 days, a Sunday
    unit_work(world, order, world.marketing_user, on_site=False)
    walk(order, [("review", world.agent, None)])
    cb = clocks(order)["callback"]
    assert local(cb.due_at) == dt.datetime(2026, 11, 18, 9, 0, tzinfo=SH)  # 1 working day


@pytest.mark.rule("D1c")
def test_report_goes_to_discipline_replies_in_10_days_and_hides_the_reporter(world, frozen):
    order = create(world, business_type="report", sub_class="theft", description="有人窃电", caller_name="赵六",
                   caller_phone="13700001111")
    assert order.assigned_unit == world.discipline
    assert (order.caller_name, order.caller_phone) == ("", "")
    assert order.reporter.phone == "13700001111"
    assert local(clocks(order)["reply"].due_at) == dt.datetime(2026, 11, 27, 9, 0, tzinfo=SH)


@pytest.mark.rule("D1c", "D1d")
@pytest.mark.parametrize("code,sub", [("report", "theft"), ("opinion", "billing"), ("suggestion", "service")])
def test_callback_within_1_working_day_only_if_wanted(world, frozen, code, sub):
    unit_user = world.discipline_user if code == "report" else world.marketing_user
    wanted = create(world, business_type=code, sub_class=sub, description="内容", customer_id=world.customers["li"].id)
    unwanted = create(world, business_type=code, sub_class=sub, description="内容", customer_id=world.customers["li"].id,
                      reply_wanted=False)
    for order in (wanted, unwanted):
        unit_work(world, order, unit_user, on_site=False)
        walk(order, [("review", world.agent, None)])
    cb = clocks(wanted)["callback"]
    assert local(cb.due_at) == dt.datetime(2026, 11, 18, 9, 0, tzinfo=SH)
    assert "callback" not in clocks(unwanted)
    assert walk(unwanted, [("close", world.agent, None)]).state == State.CLOSED


@pytest.mark.rule("D1d")
@pytest.mark.parametrize("code,sub", [("opinion", "billing"), ("suggestion", "service")])
def test_opinion_and_suggestion_go_to_the_department_within_9_working_days(world, frozen, code, sub):
    order = create(world, business_type=code, sub_class=sub, description="建议增加缴费网点", customer_id=world.customers["li"].id)
    assert order.assigned_unit == world.marketing
    # Tue 17 Nov + 9 working days = Mon 30 Nov (two weekends skipped).
    assert local(clocks(order)["reply"].due_at) == dt.datetime(2026, 11, 30, 9, 0, tzinfo=SH)


@pytest.mark.rule("D1e")
def test_praise_verified_within_4_working_days_and_always_called_back(world, frozen):
    order = create(world, business_type="praise", sub_class="service", description="抢修及时", customer_id=world.customers["li"].id,
                   reply_wanted=False)
    assert order.assigned_unit == world.marketing
    assert local(clocks(order)["reply"].due_at) == dt.datetime(2026, 11, 23, 9, 0, tzinfo=SH)
    unit_work(world, order, world.marketing_user, on_site=False)
    walk(order, [("review", world.agent, None)])
    assert local(clocks(order)["callback"].due_at) == dt.datetime(2026, 11, 18, 9, 0, tzinfo=SH)
    with pytest.raises(TransitionError):
        walk(order, [("close", world.agent, None)])
    assert walk(order, [("callback", world.agent, SATISFIED), ("close", world.agent, None)]).state == State.CLOSED


@pytest.mark.rule("D1f")
def test_inquiry_answered_on_the_call_needs_no_callback(world, frozen):
    order = create(world, business_type="inquiry", sub_class="tariff", description="阶梯电价怎么算", customer_id=world.customers["zhang"].id)
    assert order.state == State.ACCEPTED and order.assigned_unit is None  # the agent owns it, on the call
    order = walk(order, [("answer", world.agent, {"note": "已解释阶梯电价"})])
    assert order.state == State.CLOSED
    assert not Clock.objects.filter(order=order, status=ClockStatus.RUNNING).exists()
    assert "callback" not in clocks(order)


@pytest.mark.rule("D1f")
def test_inquiry_not_answered_on_the_call_gets_a_department_answer_in_2_working_days_and_a_callback(world, frozen):
    order = create(world, business_type="inquiry", sub_class="policy", description="光伏补贴政策", customer_id=world.customers["zhang"].id)
    frozen.advance(minutes=10)
    order = walk(order, [("dispatch", world.agent, None)])
    assert order.assigned_unit == world.marketing
    reply = clocks(order)["reply"]
    assert (local(reply.started_at), local(reply.due_at)) == (T0 + 10 * MIN, dt.datetime(2026, 11, 19, 9, 10, tzinfo=SH))
    unit_work(world, order, world.marketing_user, on_site=False)
    walk(order, [("review", world.agent, None)])
    with pytest.raises(TransitionError):
        walk(order, [("close", world.agent, None)])  # not answered on the call: a callback is due
    assert "callback" in clocks(order)


@pytest.mark.rule("D1g")
def test_service_request_limits_and_owners(world, frozen):
    reconnect = create(world, business_type="service_request", sub_class="reconnection", description="已缴费，请复电",
                       customer_id=world.customers["zhang"].id)
    assert reconnect.assigned_unit == world.marketing
    assert span(clocks(reconnect)["restoration"]) == 24 * HOUR
    meter = create(world, business_type="service_request", sub_class="meter_test", description="电表走得快",
                   customer_id=world.customers["zhang"].id)
    assert meter.assigned_unit == world.metering
    five_working_days = dt.datetime(2026, 11, 24, 9, 0, tzinfo=SH)
    assert local(clocks(meter)["reply"].due_at) == five_working_days
    connection = create(world, business_type="service_request", sub_class="new_connection", description="居民新装",
                        customer_id=world.customers["zhang"].id)
    assert local(clocks(connection)["reply"].due_at) == five_working_days
    from hotline.organisation import services as org

    metering_user = org.create_user(username="t-metering", password="x-Long-pw-123", role="unit_staff", unit=world.metering)
    unit_work(world, meter, metering_user)
    walk(meter, [("review", world.agent, None)])
    assert local(clocks(meter)["callback"].due_at) == dt.datetime(2026, 11, 18, 9, 0, tzinfo=SH)  # ≤ 1 working day


@pytest.mark.rule("D1h")
def test_chase_up_goes_to_the_orders_unit_within_10_minutes(world, frozen):
    order = create(world, business_type="complaint", sub_class="service", description="投诉", customer_id=world.customers["li"].id)
    frozen.advance(minutes=30)
    chase = services.chase_up(order=order, actor=world.agent, note="客户催问进度")
    assert chase.business_type.code == "chase_up" and chase.chased_order == order
    assert chase.assigned_unit == order.assigned_unit == world.marketing
    c = clocks(chase)["dispatch"]
    assert span(c) == 10 * MIN and c.status == ClockStatus.MET


@pytest.mark.rule("D1h")
def test_chase_ups_are_5_minutes_apart_per_customer_and_at_most_2_per_non_repair_order(world, frozen):
    li = world.customers["li"].id
    first = create(world, business_type="complaint", sub_class="service", description="投诉一", customer_id=li)
    second = create(world, business_type="opinion", sub_class="billing", description="意见二", customer_id=li)
    services.chase_up(order=first, actor=world.agent, note="1")
    frozen.advance(minutes=4, seconds=59)
    with pytest.raises(TransitionError):
        services.chase_up(order=second, actor=world.agent2, note="same customer, another order")
    frozen.advance(seconds=1)
    services.chase_up(order=second, actor=world.agent2, note="5 minutes later")
    frozen.advance(minutes=5)
    services.chase_up(order=first, actor=world.agent, note="2")
    frozen.advance(minutes=5)
    with pytest.raises(TransitionError):
        services.chase_up(order=first, actor=world.agent, note="3")
    # Repair orders may be chased more often, still 5 minutes apart.
    fault = repair(world, customer="wang")
    for i in range(3):
        frozen.advance(minutes=5)
        services.chase_up(order=fault, actor=world.agent, note=f"催{i}")
    assert WorkOrder.objects.filter(chased_order=fault).count() == 3


@pytest.mark.rule("D1j")
def test_orders_of_a_type_the_center_added_follow_its_sub_class_tree_and_rules(world, frozen):
    from hotline.catalog.lifecycle import standard_lifecycle
    from hotline.catalog.models import SubClass, TimeLimitRule

    bt = BusinessType(code="energy_saving", name="节能服务", number_prefix="JN", routing="function", routing_function="marketing",
                      callback="never", priorities=[["urgent", "紧急"], ["normal", "一般"]],
                      lifecycle=standard_lifecycle(on_site=False, callback="never"))
    catalog_services.save_business_type(business_type=bt, user=world.admin)
    parent = catalog_services.save_sub_class(sub_class=SubClass(business_type=bt, code="audit", name="能效诊断"), user=world.admin)
    child = catalog_services.save_sub_class(sub_class=SubClass(business_type=bt, code="audit_home", name="居民能效诊断", parent=parent),
                                            user=world.admin)
    draft = catalog_services.draft_new_version(user=world.admin)
    catalog_services.save_rule(rule=TimeLimitRule(version=draft, business_type=bt, sub_class=parent, metric="reply", amount=3,
                                                  unit="working_days", start_on="create", stop_on="reply,cancel"), user=world.admin)
    catalog_services.publish_version(version=draft, user=world.admin)
    order = create(world, business_type="energy_saving", sub_class="audit_home", priority="urgent", description="想做节能诊断",
                   customer_id=world.customers["zhang"].id)
    assert order.number.startswith("JN") and order.sub_class == child and order.priority == "urgent"
    assert order.assigned_unit == world.marketing
    # The parent sub-class's rule applies to the child.
    assert local(clocks(order)["reply"].due_at) == dt.datetime(2026, 11, 20, 9, 0, tzinfo=SH)


@pytest.mark.rule("D1k")
@pytest.mark.parametrize("code,extra", [
    ("repair", dict(sub_class="lv", fault_scope="company")), ("complaint", dict(sub_class="service")),
    ("inquiry", dict(sub_class="outage"))])
def test_linkage_orders_of_any_type_are_tagged_with_the_partner(world, frozen, code, extra):
    order = create(world, business_type=code, description="12345转来", customer_id=world.customers["zhang"].id,
                   channel="linkage", partner="12345", partner_reference="HZ-2026-0042", **extra)
    order.refresh_from_db()
    assert (order.channel, order.partner, order.partner_reference) == ("linkage", "12345", "HZ-2026-0042")
    created = order.events.get(kind="create").payload
    assert (created.get("partner"), created.get("partner_reference")) == ("12345", "HZ-2026-0042")


@pytest.mark.rule("D1l")
def test_days_are_calendar_days_unless_the_policy_says_working_days(world):
    friday = dt.datetime(2026, 11, 20, 15, 0, tzinfo=SH)
    with clock.frozen(friday):
        complaint = create(world, business_type="complaint", sub_class="service", description="投诉", customer_id=world.customers["li"].id)
        opinion = create(world, business_type="opinion", sub_class="billing", description="意见", customer_id=world.customers["li"].id)
    assert clocks(complaint)["reply"].rule.unit == "calendar_days"
    assert local(clocks(complaint)["reply"].due_at) == dt.datetime(2026, 11, 25, 15, 0, tzinfo=SH)  # weekend counted
    assert clocks(opinion)["reply"].rule.unit == "working_days"
    assert local(clocks(opinion)["reply"].due_at) == dt.datetime(2026, 12, 3, 15, 0, tzinfo=SH)  # weekends skipped


@pytest.mark.rule("D1m")
def test_working_days_follow_the_holidays_and_adjusted_working_weekends(world):
    from hotline.calendars.models import DayOverride

    eve = dt.datetime(2026, 9, 30, 10, 0, tzinfo=SH)
    with clock.frozen(eve):
        opinion = create(world, business_type="opinion", sub_class="billing", description="节前意见", customer_id=world.customers["li"].id)
    # National Day 1–7 Oct is off; Saturday 10 Oct is an adjusted working day:
    # 8, 9, 10 (Sat), 12, 13, 14, 15, 16, 19 October.
    assert local(clocks(opinion)["reply"].due_at) == dt.datetime(2026, 10, 19, 10, 0, tzinfo=SH)
    # The administrator removes a working day (and adds one): new orders follow.
    DayOverride.objects.create(date=dt.date(2026, 10, 12), is_working_day=False, name="调整", created_by=world.admin)
    DayOverride.objects.create(date=dt.date(2026, 10, 11), is_working_day=True, name="调整", created_by=world.admin)
    with clock.frozen(eve):
        again = create(world, business_type="opinion", sub_class="billing", description="节前意见", customer_id=world.customers["li"].id)
    assert local(clocks(again)["reply"].due_at) == dt.datetime(2026, 10, 19, 10, 0, tzinfo=SH)  # 11 in, 12 out
    DayOverride.objects.filter(date=dt.date(2026, 10, 11)).delete()
    with clock.frozen(eve):
        third = create(world, business_type="opinion", sub_class="billing", description="节前意见", customer_id=world.customers["li"].id)
    assert local(clocks(third)["reply"].due_at) == dt.datetime(2026, 10, 20, 10, 0, tzinfo=SH)
    # The order created before the edits keeps its deadline.
    assert local(clocks(opinion)["reply"].due_at) == dt.datetime(2026, 10, 19, 10, 0, tzinfo=SH)


@pytest.mark.rule("D1n")
@pytest.mark.parametrize("flags", [dict(anonymous=True, customer_id=None), dict(reply_wanted=False), dict(virtual_number=True)])
def test_anonymous_no_reply_or_virtual_number_complaints_are_not_dispatched_as_complaints(world, frozen, flags):
    fields = dict(business_type="complaint", sub_class="service", description="投诉", customer_id=world.customers["li"].id,
                  caller_phone="13911112222")
    fields.update(flags)
    order = create(world, **fields)
    assert order.business_type.code == "opinion"  # recorded, as an opinion
    created = order.events.get(kind="create").payload
    assert (created["requested_type"], created["recorded_as"]) == ("complaint", "opinion")
    assert not order.events.filter(kind="dispatch", order__business_type__code="complaint").exists()
    assert not Clock.objects.filter(order=order, rule__business_type__code="complaint").exists()
    plain = create(world, business_type="complaint", sub_class="service", description="投诉", customer_id=world.customers["li"].id)
    assert plain.business_type.code == "complaint"


@pytest.mark.rule("D1o")
@pytest.mark.parametrize("mark", [SpecialMark.MALICIOUS, SpecialMark.THEFT, SpecialMark.ARREARS])
def test_a_complaint_from_a_marked_caller_is_recorded_as_an_opinion(world, frozen, mark):
    li = world.customers["li"]
    li.special_mark = mark
    li.save(update_fields=["special_mark"])
    order = create(world, business_type="complaint", sub_class="service", description="投诉", customer_id=li.id)
    assert order.business_type.code == "opinion"
    assert order.events.get(kind="create").payload["requested_type"] == "complaint"
    # Only while the mark lasts.
    li.special_mark = ""
    li.save(update_fields=["special_mark"])
    assert create(world, business_type="complaint", sub_class="service", description="投诉", customer_id=li.id).business_type.code == "complaint"


@pytest.mark.rule("D1o")
def test_a_complaint_from_a_marked_number_is_recorded_as_an_opinion(world, frozen):
    MarkedNumber.objects.create(number="13955556666", mark=SpecialMark.MALICIOUS, note="骚扰", reviewed_by=world.leader)
    order = create(world, business_type="complaint", sub_class="service", description="投诉", caller_phone="139 5555 6666")
    assert order.business_type.code == "opinion"
    other = create(world, business_type="complaint", sub_class="service", description="投诉", caller_phone="13955557777")
    assert other.business_type.code == "complaint"


@pytest.mark.rule("D1p")
def test_a_new_request_during_a_chase_up_or_a_callback_is_a_new_order(world, frozen):
    zhang = world.customers["zhang"].id
    order = create(world, business_type="complaint", sub_class="service", description="投诉", customer_id=zhang)
    before = order.description
    chase = services.chase_up(order=order, actor=world.agent, note="催办，并反映路灯不亮")
    assert chase.pk != order.pk and chase.number != order.number
    unit_work(world, order, world.marketing_user, on_site=False)
    walk(order, [("review", world.agent, None), ("callback", world.agent, SATISFIED)])
    # The new request raised on the callback: its own order, its own number and clocks.
    new = create(world, business_type="service_request", sub_class="meter_abnormal", description="回访时反映电表异常", customer_id=zhang)
    order.refresh_from_db()
    assert new.number != order.number and new.business_type.code == "service_request"
    assert order.business_type.code == "complaint" and order.description == before and order.state == State.CALLBACK
    assert clocks(new)["reply"].order_id == new.pk


@pytest.mark.rule("D1q")
def test_orders_of_low_star_agents_wait_for_the_shift_leader_before_dispatch(world, frozen, settings):
    world.agent.stars = 3
    world.agent.save(update_fields=["stars"])
    order = repair(world)
    assert order.state == State.DRAFT and order.assigned_unit is None
    assert not order.events.filter(kind="dispatch").exists()
    with pytest.raises(TransitionError):
        walk(order, [("dispatch", world.agent, None)])
    with pytest.raises(NotAllowed):
        walk(order, [("approve", world.agent, None)])
    order = walk(order, [("approve", world.leader, None), ("dispatch", world.agent, None)])
    assert order.state == State.DISPATCHED and order.assigned_unit == world.stations[0]
    # A four-star agent's orders go straight out …
    assert repair(world, actor=world.agent2).state == State.DISPATCHED
    # … and the threshold and the rule itself are configurable.
    settings.HOTLINE = {**settings.HOTLINE, "REVIEW_STARS": 4}
    assert repair(world, actor=world.agent2).state == State.DRAFT
    settings.HOTLINE = {**settings.HOTLINE, "REVIEW_LOW_STAR_AGENTS": False}
    assert repair(world).state == State.DISPATCHED


# --- §2 the life-cycle --------------------------------------------------------------

SPEC_STATES = ["draft", "accepted", "dispatched", "received", "on_site", "resolved", "replied", "reviewed", "callback", "closed",
               "merged", "returned", "cancelled"]


@pytest.mark.rule("D2a")
def test_the_states_and_their_order(world, frozen):
    assert list(STATES) == SPEC_STATES
    assert set(State.values) == set(SPEC_STATES)
    assert TERMINAL_STATES == {"closed", "merged", "cancelled"}
    order = repair(world)
    st = world.station_users[0]
    order = walk(order, [("receive", st, None), ("arrive", st, None), ("resolve", st, None), ("reply", st, {"note": "已修复"}),
                         ("review", world.agent, None), ("callback", world.agent, SATISFIED), ("close", world.agent, None)])
    path = [e.to_state for e in order.events.order_by("seq") if e.to_state]
    assert path == ["accepted", "dispatched", "received", "on_site", "resolved", "replied", "reviewed", "callback", "closed"]
    # A type skips the states it does not use: a complaint has no on-site work.
    complaint = create(world, business_type="complaint", sub_class="service", description="投诉", customer_id=world.customers["li"].id)
    complaint = unit_work(world, complaint, world.marketing_user, on_site=False)
    walk(complaint, [("review", world.agent, None), ("callback", world.agent, SATISFIED), ("close", world.agent, None)])
    assert [e.to_state for e in complaint.events.order_by("seq") if e.to_state] == [
        "accepted", "dispatched", "received", "replied", "reviewed", "callback", "closed"]


@pytest.mark.rule("D2b")
def test_a_unit_returns_a_wrongly_routed_order_with_a_reason_and_the_agent_redispatches(world, frozen):
    order = create(world, business_type="complaint", sub_class="service", description="投诉", customer_id=world.customers["li"].id)
    mk = world.marketing_user
    with pytest.raises(OrderError) as exc:
        walk(order, [("return", mk, {})])
    assert exc.value.field == "reason"
    order = walk(order, [("return", mk, {"reason": "属行风问题，应转纪检"})])
    assert order.state == State.RETURNED
    assert order.events.get(kind="return").payload["reason"] == "属行风问题，应转纪检"
    with pytest.raises(NotAllowed):
        walk(order, [("redispatch", mk, {"unit_id": world.discipline.pk})])  # the center re-dispatches, not the unit
    order = walk(order, [("redispatch", world.agent, {"unit_id": world.discipline.pk})])
    assert (order.state, order.assigned_unit) == (State.DISPATCHED, world.discipline)


@pytest.mark.rule("D2c")
def test_cancel_needs_a_reason_and_never_deletes(world, frozen):
    order = repair(world)
    with pytest.raises(OrderError):
        walk(order, [("cancel", world.agent, {})])
    order = walk(order, [("cancel", world.agent, {"reason": "客户来电撤销"})])
    assert order.state == State.CANCELLED
    assert WorkOrder.objects.filter(pk=order.pk).exists()
    assert order.events.get(kind="cancel").payload["reason"] == "客户来电撤销"
    assert {c.status for c in Clock.objects.filter(order=order)} <= {ClockStatus.MET, ClockStatus.CANCELLED}
    with pytest.raises((ProtectedError, RuntimeError)):
        WorkOrder.objects.filter(pk=order.pk).delete()
    assert WorkOrderEvent.objects.filter(order_id=order.pk).count() == order.last_seq


def _full_history(world, frozen) -> WorkOrder:
    """A repair order through return, re-dispatch, handover, chase-up, field
    work, review, a dissatisfied callback, reopen and closure."""
    order = repair(world)
    st0, st1 = world.station_users[0], world.station_users[1]
    frozen.advance(minutes=1)
    order = walk(order, [("return", st0, {"reason": "outside_area"})])
    frozen.advance(minutes=1)
    order = walk(order, [("redispatch", world.agent, {"unit_id": world.stations[1].pk})])
    frozen.advance(minutes=1)
    services.hand_over(order=order, actor=world.agent, to_user=world.agent2, reason="交班")
    frozen.advance(minutes=1)
    order = walk(order, [("receive", st1, None)])
    frozen.advance(minutes=10)
    services.chase_up(order=order, actor=world.agent2, note="客户催促")
    frozen.advance(minutes=10)
    order = walk(order, [("arrive", st1, None), ("progress", st1, {"note": "正在更换保险"}), ("resolve", st1, None),
                         ("reply", st1, {"note": "已恢复供电"})])
    frozen.advance(hours=1)
    order = walk(order, [("review", world.agent2, None),
                         ("callback", world.agent2, {"outcome": "dissatisfied", "note": "客户原话：来得太慢"}),
                         ("reopen", world.leader, {"reason": "客户不满意"})])
    frozen.advance(hours=1)
    order = walk(order, [("arrive", st1, None), ("resolve", st1, None), ("reply", st1, {"note": "已致歉"}), ("review", world.agent2, None),
                         ("callback", world.agent2, SATISFIED), ("close", world.agent2, None)])
    order.refresh_from_db()
    return order


@pytest.mark.rule("D2d")
def test_every_change_is_an_append_only_event_with_actor_role_time_states_and_payload(world, frozen):
    order = _full_history(world, frozen)
    events = list(order.events.order_by("seq"))
    kinds = [e.kind for e in events]
    for kind in ("create", "dispatch", "return", "redispatch", "handover", "receive", "chased", "arrive", "progress", "resolve",
                 "reply", "review", "callback", "reopen", "close"):
        assert kind in kinds, kind
    for e in events:
        assert e.at is not None and e.actor_role
        if e.kind in ("create", "dispatch", "redispatch", "review", "callback", "close"):
            assert e.actor in (world.agent, world.agent2) and e.actor_role == "agent"
    ret = next(e for e in events if e.kind == "return")
    assert (ret.actor, ret.actor_role, ret.actor_unit, ret.from_state, ret.to_state, ret.payload["reason"]) == (
        world.station_users[0], "unit_staff", world.stations[0], "dispatched", "returned", "outside_area")
    assert local(ret.at) == T0 + MIN
    reopen = next(e for e in events if e.kind == "reopen")
    assert (reopen.actor, reopen.actor_role, reopen.from_state, reopen.payload["reason"]) == (
        world.leader, "shift_leader", "callback", "客户不满意")
    with pytest.raises(RuntimeError):
        ret.payload = {"reason": "changed"}
        ret.save()
    with pytest.raises(RuntimeError):
        ret.delete()


@pytest.mark.rule("D2e")
def test_the_history_replays_the_order(world, frozen):
    order = _full_history(world, frozen)
    events = list(order.events.order_by("seq"))
    assert [e.seq for e in events] == list(range(1, len(events) + 1)) and order.last_seq == len(events)
    state, owner, unit, returns, closed_at = "", None, None, 0, None
    for e in events:
        if e.to_state:
            assert e.from_state == state, (e.seq, e.kind)
            state = e.to_state
        if e.kind == "create":
            owner = e.actor_id
        if e.kind == "handover":
            owner = e.payload["to_id"]
        if e.kind in ("dispatch", "redispatch"):
            unit = e.payload["unit_id"]
        if e.kind == "return":
            returns += 1
        if e.to_state in TERMINAL_STATES:
            closed_at = e.at
        elif e.to_state:
            closed_at = None
    assert (state, owner, unit, returns, closed_at) == (order.state, order.owner_id, order.assigned_unit_id, order.return_count,
                                                          order.closed_at)
    assert (state, owner, returns) == (State.CLOSED, world.agent2.pk, 1)


@pytest.mark.rule("D2f")
def test_the_accepting_agent_owns_the_order_until_closure_or_handover(world, frozen):
    order = create(world, business_type="complaint", sub_class="service", description="投诉", customer_id=world.customers["li"].id)
    assert order.owner == world.agent
    unit_work(world, order, world.marketing_user, on_site=False)
    walk(order, [("review", world.agent2, None)])  # others work on it; the owner stays
    order.refresh_from_db()
    assert order.owner == world.agent
    assert order in selectors.my_orders(world.agent) and order not in selectors.my_orders(world.agent2)
    with pytest.raises(NotAllowed):
        services.hand_over(order=order, actor=world.agent2, to_user=world.agent2, reason="我来接")
    order = services.hand_over(order=order, actor=world.leader, to_user=world.agent2, reason="座席下班")
    assert order.owner == world.agent2 and order in selectors.my_orders(world.agent2)
    walk(order, [("callback", world.agent2, SATISFIED), ("close", world.agent2, None)])
    with pytest.raises(TransitionError):
        services.hand_over(order=order, actor=world.leader, to_user=world.agent, reason="已归档")
    order.refresh_from_db()
    assert order.owner == world.agent2  # accountable for it in reports


@pytest.mark.rule("D2g")
def test_returns_and_redispatches_keep_the_number_and_the_clocks(world, frozen):
    order = repair(world)
    number = order.number
    before = {c.metric: (c.pk, c.started_at, c.due_at) for c in Clock.objects.filter(order=order)}
    frozen.advance(minutes=2)
    walk(order, [("return", world.station_users[0], {"reason": "outside_area"})])
    frozen.advance(minutes=2)
    order = walk(order, [("redispatch", world.agent, {"unit_id": world.stations[1].pk})])
    frozen.advance(minutes=1)
    walk(order, [("return", world.station_users[1], {"reason": "missing_information"})])
    order = walk(order, [("redispatch", world.agent, {"unit_id": world.stations[0].pk})])
    order.refresh_from_db()
    assert order.number == number and order.return_count == 2
    for metric in ("dispatch", "arrival", "restoration"):
        c = Clock.objects.get(order=order, metric=metric)  # still round 0, not restarted
        assert (c.pk, c.started_at, c.due_at) == before[metric], metric
    assert Clock.objects.filter(order=order, metric="accept").count() == 1
    arrival = Clock.objects.get(order=order, metric="arrival")
    assert arrival.responsible_unit == world.stations[0] and arrival.status == ClockStatus.RUNNING


@pytest.mark.rule("D2g")
def test_a_merge_keeps_both_numbers_and_the_masters_clocks(world, frozen):
    master = repair(world)
    before = {c.metric: (c.started_at, c.due_at) for c in Clock.objects.filter(order=master)}
    frozen.advance(minutes=3)
    sub = repair(world, description="同一台区停电", customer_id=None, caller_phone="13900003333", service_area_id=world.areas["t0"].id)
    sub_number = sub.number
    sub = walk(sub, [("merge", world.agent, {"master": master.number})])
    sub.refresh_from_db()
    assert (sub.number, sub.master, sub.state) == (sub_number, master, State.MERGED)
    assert {c.metric: (c.started_at, c.due_at) for c in Clock.objects.filter(order=master)} == before
    master.refresh_from_db()
    assert master.number.startswith("GZ") and master.state == State.DISPATCHED
